"""NumPy / CuPy parity: skipped cleanly without CuPy or a GPU."""
import numpy as np
import pytest

cupy = pytest.importorskip("cupy")
try:
    HAVE_GPU = cupy.cuda.runtime.getDeviceCount() > 0
except Exception:
    HAVE_GPU = False
pytestmark = pytest.mark.skipif(not HAVE_GPU, reason="no CUDA device")

import kernels  # noqa: E402


@pytest.mark.parametrize("n", [12, 200])
def test_apsp_and_routing_parity(n):
    rng = np.random.default_rng(n)
    w = rng.uniform(1, 10, (6, n, n)).astype(np.float32)
    w[rng.random(w.shape) > 0.2] = np.inf
    d, nh = kernels.apsp(w)
    gd, gnh = kernels.apsp(cupy.asarray(w))
    np.testing.assert_allclose(kernels.to_numpy(gd), d, rtol=1e-6)
    arc_index = np.where(np.eye(n, dtype=bool), -1, np.arange(n * n).reshape(n, n))
    flows = rng.random((6, n, n))
    want = kernels.link_loads(flows, nh, arc_index, n * n)
    got = kernels.link_loads(cupy.asarray(flows), gnh, cupy.asarray(arc_index), n * n)
    np.testing.assert_allclose(kernels.to_numpy(got), want, rtol=1e-9)


def test_queueing_and_assign_parity():
    c = np.array([14, 15, 1000])
    a = np.array([10.0, 10.0, 950.0])
    np.testing.assert_allclose(kernels.to_numpy(kernels.erlang_c(cupy.asarray(c), cupy.asarray(a))),
                               kernels.erlang_c(c, a), rtol=1e-12)
    rng = np.random.default_rng(0)
    dem, rtt, cap = rng.uniform(0, 5, (4, 3)), rng.uniform(5, 90, (4, 3, 4)), rng.uniform(0, 4, (4, 4))
    want = kernels.assign_by_latency(dem, rtt, cap, 50.0)
    got = kernels.assign_by_latency(cupy.asarray(dem), cupy.asarray(rtt), cupy.asarray(cap), 50.0)
    np.testing.assert_allclose(kernels.to_numpy(got.unmet), want.unmet, atol=1e-9)
