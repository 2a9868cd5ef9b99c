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


def test_spill_paths_and_helpers_parity():
    from kernels.backend import unique_inverse
    from kernels.paths import loads_by_state, paths_differ
    from kernels.spill import assign_nearest_first, region_order

    rng = np.random.default_rng(3)
    rtt = rng.uniform(1.0, 200.0, (3, 6, 5))
    rtt[rng.random(rtt.shape) < 0.2] = np.inf
    demand, capacity = rng.uniform(0, 50, (40, 6)), rng.uniform(0, 60, (40, 5))
    state = rng.integers(0, 3, 40)
    want = assign_nearest_first(demand, capacity, rtt, region_order(rtt), state)
    got = assign_nearest_first(cupy.asarray(demand), cupy.asarray(capacity), cupy.asarray(rtt),
                               region_order(cupy.asarray(rtt)), cupy.asarray(state))
    np.testing.assert_allclose(kernels.to_numpy(got.unmet), want.unmet, atol=1e-9)
    np.testing.assert_allclose(kernels.to_numpy(got.dense(5)), want.dense(5), atol=1e-9)
    w = rng.uniform(1, 10, (3, 9, 9))
    w[rng.random(w.shape) > 0.4] = np.inf
    _, next_hop = kernels.apsp(w)
    arc_index = np.where(np.eye(9, dtype=bool), -1, np.arange(81).reshape(9, 9))
    b, s, d = rng.integers(0, 4, 50), rng.integers(0, 9, 50), rng.integers(0, 9, 50)
    flows, st = rng.random(50), rng.integers(0, 3, 4)
    want_loads = loads_by_state(b, s, d, flows, st, next_hop, arc_index, 81, 4)
    got_loads = loads_by_state(*(cupy.asarray(x) for x in (b, s, d, flows, st, next_hop, arc_index)), 81, 4)
    np.testing.assert_allclose(kernels.to_numpy(got_loads), want_loads, rtol=1e-12)
    np.testing.assert_array_equal(kernels.to_numpy(paths_differ(cupy.asarray(next_hop), cupy.asarray(next_hop[0]))),
                                  paths_differ(next_hop, next_hop[0]))
    keys = rng.integers(0, 1000, 500)
    for got_part, want_part in zip(unique_inverse(cupy, cupy.asarray(keys)), np.unique(keys, return_inverse=True)):
        np.testing.assert_array_equal(kernels.to_numpy(got_part), want_part)
    lam = rng.uniform(0, 2, 20)
    np.testing.assert_allclose(kernels.to_numpy(kernels.mm1_wait(cupy.asarray(lam), 1.0)), kernels.mm1_wait(lam, 1.0))
