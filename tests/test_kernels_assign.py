"""assign_by_latency against an exact networkx min-cost flow with the same lexicographic objective."""
import networkx as nx
import numpy as np
from hypothesis import given, settings, strategies as st

from kernels import assign_by_latency

SLO_MS = 50.0


def _reference(demand, rtt, capacity, slo_ms):
    """Exact totals via network_simplex on integer data; tiers encoded with large integer weights."""
    m, n = rtt.shape
    finite = rtt[np.isfinite(rtt)]
    step = int(finite.sum()) + 1 if finite.size else 1  # > any change in total ms per unit
    # within-SLO first: not-within (late or unmet) costs late_w; unmet costs unmet_w more; then ms
    unmet_w, late_w = step * (m + n + 2), step * (m + n + 2) * (m + n + 3)
    g = nx.DiGraph()
    total = int(demand.sum())
    g.add_node("T", demand=total)
    for i in range(m):
        g.add_node(("m", i), demand=-int(demand[i]))
        g.add_edge(("m", i), "T", weight=unmet_w + late_w)
        for j in range(n):
            if np.isfinite(rtt[i, j]):
                w = int(rtt[i, j]) + (late_w if rtt[i, j] > slo_ms else 0)
                g.add_edge(("m", i), ("r", j), weight=w)
    for j in range(n):
        g.add_edge(("r", j), "T", weight=0, capacity=int(capacity[j]))
    flow = nx.min_cost_flow(g)
    within = late = cost = 0.0
    for i in range(m):
        for j in range(n):
            x = flow[("m", i)].get(("r", j), 0)
            cost += x * (rtt[i, j] if x else 0)
            if x and rtt[i, j] > slo_ms:
                late += x
            else:
                within += x
    return within, late, sum(flow[("m", i)]["T"] for i in range(m)), cost


@st.composite
def _cases(draw):
    m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    demand = np.array(draw(st.lists(st.integers(0, 9), min_size=m, max_size=m)), float)
    capacity = np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), float)
    rtt = np.array(draw(st.lists(st.sampled_from([10, 20, 40, 50, 60, 90, np.inf]), min_size=m * n,
                                 max_size=m * n)), float).reshape(m, n)
    return demand, rtt, capacity


@settings(max_examples=60, deadline=None)
@given(st.lists(_cases(), min_size=1, max_size=1))
def test_agrees_with_networkx_min_cost_flow(cases):
    demand, rtt, capacity = cases[0]
    batch = 3  # the same case three times, to exercise the batch axis
    got = assign_by_latency(np.tile(demand, (batch, 1)), np.tile(rtt, (batch, 1, 1)),
                            np.tile(capacity, (batch, 1)), SLO_MS)
    want = _reference(demand, rtt, capacity, SLO_MS)
    for b in range(batch):
        cost = float(np.sum(np.where(got.alloc[b] > 0, got.alloc[b] * np.where(np.isfinite(rtt), rtt, 0), 0)))
        have = (got.within_slo[b].sum(), got.late[b].sum(), got.unmet[b].sum(), cost)
        np.testing.assert_allclose(have, want, rtol=1e-6, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31))
def test_never_exceeds_capacity_and_balances_demand(seed):
    rng = np.random.default_rng(seed)
    b, m, n = 5, 4, 5
    demand = rng.uniform(0, 10, (b, m))
    capacity = rng.uniform(0, 8, (b, n))
    rtt = rng.uniform(5, 120, (b, m, n))
    rtt[rng.random((b, m, n)) < 0.2] = np.inf
    a = assign_by_latency(demand, rtt, capacity, SLO_MS)
    assert np.all(a.alloc >= 0) and np.all(a.unmet >= -1e-12)
    assert np.all(a.alloc.sum(axis=1) <= capacity + 1e-9)
    assert np.all(a.alloc[np.isinf(rtt)] == 0)
    np.testing.assert_allclose(a.within_slo + a.late + a.unmet, demand, rtol=1e-12, atol=1e-9)


def test_spills_to_next_region_when_nearest_is_full():
    a = assign_by_latency(np.array([10.0]), np.array([[20.0, 80.0, 200.0]]), np.array([4.0, 3.0, 100.0]), 100.0)
    np.testing.assert_allclose(a.alloc, [[4.0, 3.0, 3.0]])
    assert a.within_slo[0] == 7.0 and a.late[0] == 3.0 and a.unmet[0] == 0.0


def test_contention_prefers_within_slo_for_more_demand():
    # market 0 can use region 0 (10 ms) or 1 (30 ms); market 1 only region 0 (40 ms); SLO 50 ms
    rtt = np.array([[10.0, 30.0], [40.0, np.inf]])
    a = assign_by_latency(np.array([5.0, 5.0]), rtt, np.array([5.0, 5.0]), 50.0)
    np.testing.assert_allclose(a.alloc, [[0.0, 5.0], [5.0, 0.0]])
    greedy = assign_by_latency(np.array([5.0, 5.0]), rtt, np.array([5.0, 5.0]), 50.0, exact=False)
    assert greedy.alloc.sum() >= 5.0  # greedy is a valid start but need not be optimal
