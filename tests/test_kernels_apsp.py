"""apsp / apsp_repair / link_loads: laws that hold for any graph, and agreement with scipy."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.sparse.csgraph import floyd_warshall

from kernels import apsp, apsp_repair, link_loads, unrouted


def _random_graphs(seed, batch=4, n=9, density=0.3, symmetric=True, dtype=np.float64):
    rng = np.random.default_rng(seed)
    w = rng.uniform(1, 10, (batch, n, n))
    w[rng.random((batch, n, n)) > density] = np.inf
    w[:, : n // 3, n // 3:] = np.inf  # first third only reaches itself: disconnected parts
    if symmetric:
        w = np.minimum(w, np.swapaxes(w, 1, 2))
    return w.astype(dtype)


def _walk_lengths(w, dist, next_hop):
    """Length of the walk along next hops for every reachable pair (asserts that it reaches j)."""
    batch, n, _ = w.shape
    lengths = np.zeros(dist.shape)
    for b in range(batch):
        for i in range(n):
            for j in range(n):
                if np.isinf(dist[b, i, j]):
                    assert next_hop[b, i, j] == -1
                    continue
                node = i
                for _ in range(n):
                    if node == j:
                        break
                    nxt = next_hop[b, node, j]
                    lengths[b, i, j] += w[b, node, nxt]
                    node = nxt
                assert node == j
    return lengths


def _scipy(w):
    return np.stack([floyd_warshall(np.where(np.isinf(g), 0, g), directed=True) for g in w])


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31), st.booleans(), st.sampled_from([np.float32, np.float64]))
def test_matches_scipy_and_keeps_dtype(seed, symmetric, dtype):
    w = _random_graphs(seed, symmetric=symmetric, dtype=dtype)
    dist, next_hop = apsp(w)
    assert dist.dtype == dtype and next_hop.dtype == np.int32
    np.testing.assert_allclose(dist, _scipy(w.astype(np.float64)), rtol=1e-5)
    if symmetric:
        np.testing.assert_array_equal(dist, np.swapaxes(dist, 1, 2))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31))
def test_triangle_inequality_and_next_hop_paths(seed):
    w = _random_graphs(seed, symmetric=False)
    dist, next_hop = apsp(w)
    assert np.all(dist[:, :, None, :] <= dist[:, :, :, None] + dist[:, None, :, :] + 1e-9)
    n = w.shape[-1]
    assert np.all(next_hop[:, np.arange(n), np.arange(n)] == np.arange(n))
    reachable = np.isfinite(dist)
    np.testing.assert_allclose(_walk_lengths(w, dist, next_hop)[reachable], dist[reachable], rtol=1e-12)


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**31))
def test_wide_graphs_use_wide_keys_and_stay_exact(seed):
    """n >= 64 packs next hops into uint64 keys: float32 distances agree with scipy to float32 precision."""
    w = _random_graphs(seed, batch=2, n=70, density=0.08, dtype=np.float32)
    dist, next_hop = apsp(w)
    np.testing.assert_allclose(dist, _scipy(w.astype(np.float64)), rtol=1e-6)
    reachable = np.isfinite(dist)
    walked = _walk_lengths(w.astype(np.float64), dist, next_hop)
    np.testing.assert_allclose(walked[reachable], dist[reachable], rtol=1e-5)


def test_zero_weight_arcs_still_give_walks_that_end():
    w = np.full((1, 4, 4), np.inf)
    for a, b in ((0, 1), (1, 2), (2, 3)):
        w[0, a, b] = w[0, b, a] = 0.0
    dist, next_hop = apsp(w)
    assert np.all(dist < 1e-9)
    _walk_lengths(w, dist, next_hop)  # every walk reaches its end


def test_ties_go_to_the_lowest_next_hop():
    """A square 0-1-3, 0-2-3 with equal sides: both routes 0 -> 3 tie; node 1 wins, on any batch slot."""
    w = np.full((3, 4, 4), np.inf, dtype=np.float32)
    for a, b in ((0, 1), (1, 3), (0, 2), (2, 3)):
        w[:, a, b] = w[:, b, a] = 2.5
    _, next_hop = apsp(w)
    assert np.all(next_hop[:, 0, 3] == 1) and np.all(next_hop[:, 3, 0] == 1)


@pytest.mark.parametrize("bad", [-1.0, np.nan])
def test_refuses_negative_or_nan_weights(bad):
    w = np.full((3, 3), 1.0)
    w[0, 1] = bad
    with pytest.raises(ValueError, match="negative or NaN"):
        apsp(w)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31))
def test_repair_equals_recompute(seed):
    w = _random_graphs(seed)
    rng = np.random.default_rng(seed)
    n = w.shape[-1]
    u, v = rng.choice(n, 2, replace=False)
    weight = rng.uniform(0.5, 5)
    dist, next_hop = apsp(w)
    fixed = w.copy()
    fixed[:, u, v] = fixed[:, v, u] = np.minimum(fixed[:, u, v], weight)
    want, _ = apsp(fixed)
    got_d, got_nh = apsp_repair(dist, next_hop, u, v, weight)
    np.testing.assert_allclose(got_d, want, rtol=1e-12)
    hop_len = np.take_along_axis(fixed, np.maximum(got_nh, 0), axis=-1)  # w[i, nh[i, j]]
    rows = np.maximum(got_nh, 0)
    rest = np.take_along_axis(got_d, rows, axis=1)  # D[nh[i, j], j]
    ok = (got_nh >= 0) & ~np.eye(n, dtype=bool)
    np.testing.assert_allclose((hop_len + rest)[ok], got_d[ok], rtol=1e-12)


def _all_arcs(n):
    arc_index = -np.ones((n, n), dtype=np.int64)
    off = ~np.eye(n, dtype=bool)
    arc_index[off] = np.arange(off.sum())
    return arc_index, int(off.sum())


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31))
def test_link_loads_conserve_flow(seed):
    w = _random_graphs(seed, batch=3, n=8, density=0.4)
    rng = np.random.default_rng(seed)
    flows = rng.uniform(0, 5, w.shape)
    _, next_hop = apsp(w)
    arc_index, n_arcs = _all_arcs(w.shape[-1])
    loads = link_loads(flows, next_hop, arc_index, n_arcs)
    src, dst = np.nonzero(arc_index >= 0)
    routed = np.where(next_hop >= 0, flows, 0)
    routed[:, np.arange(8), np.arange(8)] = 0
    out_minus_in = np.zeros((3, 8))
    np.add.at(out_minus_in, (slice(None), src), loads[:, arc_index[src, dst]])
    np.add.at(out_minus_in, (slice(None), dst), -loads[:, arc_index[src, dst]])
    np.testing.assert_allclose(out_minus_in, routed.sum(2) - routed.sum(1), atol=1e-9)
    assert np.all(loads >= 0)
    lost = flows.sum((1, 2)) - np.trace(flows, axis1=1, axis2=2) - routed.sum((1, 2))
    np.testing.assert_allclose(unrouted(flows, next_hop), lost, atol=1e-9)


def test_link_loads_on_a_line():
    w = np.full((3, 3), np.inf)
    w[0, 1] = w[1, 0] = w[1, 2] = w[2, 1] = 1.0
    _, next_hop = apsp(w)
    arc_index = -np.ones((3, 3), dtype=int)
    arc_index[0, 1], arc_index[1, 2], arc_index[2, 1], arc_index[1, 0] = 0, 1, 2, 3
    flows = np.zeros((3, 3))
    flows[0, 2] = 5.0
    flows[2, 0] = 1.0
    np.testing.assert_allclose(link_loads(flows, next_hop, arc_index, 4), [5.0, 5.0, 1.0, 1.0])
    arc_index[1, 2] = -1
    with pytest.raises(ValueError):
        link_loads(flows, next_hop, arc_index, 4)
