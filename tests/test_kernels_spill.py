"""The engine's nearest-first assignment and the per-state path walks."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import apsp, assign_by_latency, link_loads
from kernels.paths import loads_by_state, path_sums_by_state, paths_differ
from kernels.spill import assign_nearest_first, region_order


def random_case(seed: int, B=6, M=5, N=4, unreachable=0.2):
    rng = np.random.default_rng(seed)
    rtt = rng.uniform(1.0, 200.0, size=(2, M, N))
    rtt[rng.random(rtt.shape) < unreachable] = np.inf
    demand = rng.uniform(0.0, 50.0, size=(B, M))
    capacity = rng.uniform(0.0, 80.0, size=(B, N))
    state = rng.integers(0, 2, size=B)
    return demand, capacity, rtt, state


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_conserves_demand_and_never_exceeds_capacity(seed):
    demand, capacity, rtt, state = random_case(seed)
    spill = assign_nearest_first(demand, capacity, rtt, region_order(rtt), state)
    alloc = spill.dense(capacity.shape[1])
    assert alloc.sum(axis=2) + spill.unmet == pytest.approx(demand, abs=1e-9)
    assert (alloc.sum(axis=1) <= capacity + 1e-9).all()
    assert (spill.unmet >= -1e-12).all()
    # nothing goes to an unreachable region, and RTTs are the ones asked for
    assert np.isfinite(spill.rtt).all()
    assert spill.rtt == pytest.approx(rtt[state[spill.element], spill.market, spill.region])
    # unmet demand only when every reachable region is full
    reach = np.isfinite(rtt[state])  # [B, M, N]
    left = capacity - alloc.sum(axis=1)
    starving = spill.unmet > 1e-9
    assert not (starving[:, :, None] & reach & (left[:, None, :] > 1e-9)).any()


def test_nearest_first_by_hand():
    # one market, three regions at 5, 20, 40 ms with 10, 10, 100 MW: 25 MW fill the first two, 5 spill on
    rtt = np.array([[[20.0, 5.0, 40.0]]])
    spill = assign_nearest_first(np.array([[25.0]]), np.array([[10.0, 10.0, 100.0]]), rtt, region_order(rtt),
                                 np.array([0]))
    assert spill.dense(3)[0, 0] == pytest.approx([10.0, 10.0, 5.0])


def test_round_priority_serves_a_regions_own_market_first():
    # region 0 is market 0's nearest and market 1's second choice: market 0 keeps it
    rtt = np.array([[[1.0, 50.0], [10.0, 2.0]]])
    spill = assign_nearest_first(np.array([[10.0, 20.0]]), np.array([[10.0, 10.0]]), rtt, region_order(rtt),
                                 np.array([0]))
    alloc = spill.dense(2)[0]
    assert alloc[0] == pytest.approx([10.0, 0.0]) and alloc[1] == pytest.approx([0.0, 10.0])
    assert spill.unmet[0] == pytest.approx([0.0, 10.0])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_single_market_agrees_with_the_exact_optimum(seed):
    demand, capacity, rtt, state = random_case(seed, M=1, unreachable=0.0)
    spill = assign_nearest_first(demand, capacity, rtt, region_order(rtt), state)
    exact = assign_by_latency(demand, rtt[state], capacity, 100.0)
    assert spill.dense(capacity.shape[1]) == pytest.approx(np.asarray(exact.alloc), abs=1e-7)


def random_graph(seed: int, n=7, states=3):
    rng = np.random.default_rng(seed)
    weight = np.full((states, n, n), np.inf)
    for u in range(n):
        for v in range(u + 1, n):
            if rng.random() < 0.45 or v == u + 1:
                weight[:, u, v] = weight[:, v, u] = rng.uniform(1, 10)
    for s in range(1, states):  # other states: one link cut
        u = int(rng.integers(0, n - 1))
        weight[s, u, u + 1] = weight[s, u + 1, u] = np.inf
    weight[:, range(n), range(n)] = 0.0
    arc = -np.ones((n, n), dtype=np.int64)
    pairs = [(u, v) for u in range(n) for v in range(n) if u != v and np.isfinite(weight[0, u, v])]
    for k, (u, v) in enumerate(pairs):
        arc[u, v] = k
    return weight, arc, len(pairs)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_loads_by_state_match_link_loads(seed):
    weight, arc, n_arcs = random_graph(seed)
    _, next_hop = apsp(weight)
    rng = np.random.default_rng(seed)
    state = rng.integers(0, weight.shape[0], size=5)
    flows = rng.uniform(0, 5, size=(5, weight.shape[1], weight.shape[1])) * (rng.random((5, 7, 7)) < 0.5)
    b, s, d = np.nonzero(flows)
    ours = loads_by_state(b, s, d, flows[b, s, d], state, next_hop, arc, n_arcs, 5)
    reference = link_loads(flows, next_hop[state], arc, n_arcs)
    assert ours == pytest.approx(np.asarray(reference), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_path_sums_walk_the_shortest_paths(seed):
    weight, arc, n_arcs = random_graph(seed)
    dist, next_hop = apsp(weight)
    # arc value = its weight: the path sum is the shortest distance
    values = np.zeros((3, n_arcs))
    for u in range(7):
        for v in range(7):
            if arc[u, v] >= 0:
                values[:, arc[u, v]] = weight[0, u, v]
    state = np.arange(3)
    b, s, d = (x.ravel() for x in np.meshgrid(np.arange(3), np.arange(7), np.arange(7), indexing="ij"))
    sums = path_sums_by_state(values, state, next_hop, arc, b, s, d)
    assert sums == pytest.approx(np.asarray(dist)[b, s, d], rel=1e-5)


def _path(next_hop, i, j):
    nodes = [i]
    while nodes[-1] != j and next_hop[nodes[-1], j] >= 0 and len(nodes) <= len(next_hop):
        nodes.append(int(next_hop[nodes[-1], j]))
    return nodes if nodes[-1] == j else None


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_paths_differ_matches_walking_both_paths(seed):
    weight, _, _ = random_graph(seed, n=9, states=4)
    _, next_hop = apsp(weight)
    differ = paths_differ(next_hop, next_hop[0])
    n = weight.shape[-1]
    for s in range(next_hop.shape[0]):
        for i in range(n):
            for j in range(n):
                assert differ[s, i, j] == (_path(next_hop[s], i, j) != _path(next_hop[0], i, j)), (s, i, j)
    assert not differ[0].any()


def test_a_hop_with_no_arc_id_is_dropped_not_misfiled():
    """Line 0-1-2: with arc 1->2 missing from the index, 0->2 traffic loads 0->1 only, in its own element."""
    w = np.full((1, 3, 3), np.inf)
    w[0, 0, 1] = w[0, 1, 0] = w[0, 1, 2] = w[0, 2, 1] = 1.0
    _, next_hop = apsp(w)
    arc = -np.ones((3, 3), dtype=np.int64)
    arc[0, 1], arc[1, 0], arc[2, 1] = 0, 1, 2
    b, s, d = np.array([1, 0]), np.array([0, 2]), np.array([2, 1])
    loads = loads_by_state(b, s, d, np.array([5.0, 3.0]), np.zeros(2, dtype=np.int64), next_hop, arc, 3, 2)
    np.testing.assert_allclose(loads, [[0.0, 0.0, 3.0], [5.0, 0.0, 0.0]])
