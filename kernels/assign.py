"""Capacity-constrained assignment of market demand to regions by latency (DESIGN §7), batched.

The problem per batch element is a transportation problem: market i has demand d_i (MW), region j has
capacity K_j (MW), serving i from j costs rtt_ij (ms; inf = unreachable, never used). Demand may stay
unmet. The objective is lexicographic, in this order:

1. maximise the MW served within the latency target (rtt_ij <= slo_ms);
2. then maximise the MW served at all (late service beats none);
3. then minimise the total MW x ms of the service.

This is "nearest region first, spilling to the next" made precise when markets compete for a region.

Algorithm (exact): a greedy start in global (late, rtt) order, then negative-cycle cancelling on the
residual graph (markets, regions, one sink T; arcs market->region, region->T, market->T for unmet),
vectorised over the batch: Bellman-Ford with lexicographic (integer tier, float ms) arc costs finds a
negative cycle in every element that has one, the cycle is cancelled, repeat; an element leaves the loop
when its Bellman-Ford converges, which proves optimality. Integer tiers make objectives 1-2 exact; ms
costs compare with a relative tolerance of 1e-12. Python loops run over rounds and cycle steps with
bounds known on the host, never over samples. On NumPy the active elements are compacted each round.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .backend import stable_argsort, xp_of

BIG_TIER = 1 << 40  # marks a missing arc in the integer tier component
MAX_CANCEL_ROUNDS = 10_000  # guard against an endless loop (a bug); raises RuntimeError if reached


class Assignment(NamedTuple):
    """alloc[..., m, n] MW of market i served by region j; within_slo, late, unmet [..., m] MW."""

    alloc: object
    within_slo: object
    late: object
    unmet: object


def assign_by_latency(demand, rtt, capacity, slo_ms, *, exact: bool = True) -> Assignment:
    """Assign each market's demand [..., m] to regions by rtt [..., m, n] within capacity [..., n].

    Batch axes broadcast. ``exact=False`` returns the greedy start only (nearest-first in global RTT
    order, within-target pairs first): optimal whenever no market is displaced by another's claim on a
    region, and cheaper, but not guaranteed optimal under contention.
    """
    xp = xp_of(demand, rtt, capacity)
    dem, lat, cap = (xp.asarray(a, dtype=xp.float64) for a in (demand, rtt, capacity))
    m, n = lat.shape[-2:]
    batch_shape = np.broadcast_shapes(dem.shape[:-1], lat.shape[:-2], cap.shape[:-1])
    dem = xp.broadcast_to(dem, batch_shape + (m,)).reshape((-1, m))
    lat = xp.broadcast_to(lat, batch_shape + (m, n)).reshape((-1, m, n))
    cap = xp.broadcast_to(cap, batch_shape + (n,)).reshape((-1, n))
    if bool(xp.any(dem < 0)) or bool(xp.any(cap < 0)) or bool(xp.any(lat < 0)):
        raise ValueError("demand, capacity and rtt must be >= 0")
    reach = lat < xp.inf
    late_arc = reach & (lat > slo_ms)
    alloc, unmet = _greedy(xp, dem, lat, cap, reach, late_arc)
    if exact and m and n:
        _cancel_cycles(xp, alloc, unmet, lat, cap, reach, late_arc)
    within = xp.where(reach & ~late_arc, alloc, 0).sum(axis=-1)
    late = xp.where(late_arc, alloc, 0).sum(axis=-1)
    return Assignment(alloc.reshape(batch_shape + (m, n)), within.reshape(batch_shape + (m,)),
                      late.reshape(batch_shape + (m,)), unmet.reshape(batch_shape + (m,)))


def _greedy(xp, dem, lat, cap, reach, late_arc):
    """Fill pairs in (late, rtt) order: each takes min(remaining demand, remaining capacity)."""
    batch, m, n = lat.shape
    finite_max = float(xp.where(reach, lat, 0).max()) if lat.size else 0.0
    key = xp.where(reach, lat + late_arc * (2 * finite_max + 1), xp.inf).reshape((batch, m * n))
    order = stable_argsort(xp, key)
    rows = xp.arange(batch)
    rem_d, rem_c = dem.copy(), cap.copy()
    alloc = xp.zeros((batch, m, n))
    usable = xp.take_along_axis(key, order, axis=-1) < xp.inf
    for p in range(m * n):
        i, j = order[:, p] // n, order[:, p] % n
        amount = xp.where(usable[:, p], xp.minimum(rem_d[rows, i], rem_c[rows, j]), 0)
        alloc[rows, i, j] += amount
        rem_d[rows, i] -= amount
        rem_c[rows, j] -= amount
    return alloc, rem_d


def _lexmin(tier, cost, valid, axis):
    """Lexicographic min of (tier, cost) over ``axis`` among valid entries: (tier, cost, argmin)."""
    xp = xp_of(tier)
    tier = xp.where(valid, tier, BIG_TIER)
    best_tier = tier.min(axis=axis)
    cost = xp.where(tier == xp.expand_dims(best_tier, axis), cost, xp.inf)
    arg = cost.argmin(axis=axis)
    return best_tier, xp.take_along_axis(cost, xp.expand_dims(arg, axis), axis).squeeze(axis), arg


class _Residual(NamedTuple):
    """Residual graph of the active elements: node ids markets 0..m-1, regions m..m+n-1, sink m+n."""

    tier: object  # [b, m, n] int64 tier of arc i -> j (W if late else 0)
    cost: object  # [b, m, n] ms of arc i -> j (0 where unreachable)
    reach: object
    back: object  # [b, m, n] bool: x_ij > 0 (arc j -> i exists)
    to_sink: object  # [b, n] bool: load_j < cap_j
    from_sink: object  # [b, n] bool: load_j > 0
    unmet_back: object  # [b, m] bool: unmet_i > 0 (arc T -> i exists)
    unmet_tier: int  # tier of arc i -> T
    tol: float


def _relax_round(xp, g: _Residual, dt, dc, pred):
    """One Bellman-Ford round on all nodes; returns the mask of nodes whose label improved."""
    b = dt.shape[0]
    m, n = g.tier.shape[1:]
    mt, mc, tt, tc = dt[:, :m], dc[:, :m], dt[:, m + n], dc[:, m + n]
    rt, rc = dt[:, m:m + n], dc[:, m:m + n]
    # regions: from markets (forward arcs) or from T (undo region->T flow)
    t1, c1, a1 = _lexmin(mt[:, :, None] + g.tier, mc[:, :, None] + g.cost, g.reach, axis=1)
    cand_r = _pick(xp, (t1, c1, a1), (xp.broadcast_to(tt[:, None], (b, n)), xp.broadcast_to(tc[:, None], (b, n)),
                                      xp.full((b, n), m + n)), t1 < BIG_TIER, g.from_sink)
    # markets: from regions (backward arcs) or from T (undo unmet)
    t2, c2, a2 = _lexmin(rt[:, None, :] - g.tier, rc[:, None, :] - g.cost, g.back, axis=2)
    cand_m = _pick(xp, (t2, c2, a2 + m), (xp.broadcast_to(tt[:, None] - g.unmet_tier, (b, m)),
                                         xp.broadcast_to(tc[:, None], (b, m)), xp.full((b, m), m + n)),
                   t2 < BIG_TIER, g.unmet_back)
    # sink: from regions with spare capacity, or from markets (unmet arc, always there)
    t3, c3, a3 = _lexmin(rt, rc, g.to_sink, axis=1)
    t4, c4, a4 = _lexmin(mt + g.unmet_tier, mc, xp.ones(mt.shape, dtype=bool), axis=1)
    cand_t = _pick(xp, (t3, c3, a3 + m), (t4, c4, a4), t3 < BIG_TIER, xp.ones(b, dtype=bool))
    new_t = xp.concatenate([cand_m[0], cand_r[0], cand_t[0][:, None]], axis=1)
    new_c = xp.concatenate([cand_m[1], cand_r[1], cand_t[1][:, None]], axis=1)
    new_p = xp.concatenate([cand_m[2], cand_r[2], cand_t[2][:, None]], axis=1)
    better = (new_t < BIG_TIER) & ((new_t < dt) | ((new_t == dt) & (new_c < dc - g.tol)))
    dt[...] = xp.where(better, new_t, dt)
    dc[...] = xp.where(better, new_c, dc)
    pred[...] = xp.where(better, new_p, pred)
    return better


def _pick(xp, first, second, ok1, ok2):
    """Lexicographic min of two (tier, cost, pred) candidates with validity masks."""
    t1 = xp.where(ok1, first[0], BIG_TIER)
    t2 = xp.where(ok2, second[0], BIG_TIER)
    use2 = (t2 < t1) | ((t2 == t1) & (second[1] < first[1]))
    return tuple(xp.where(use2, s, f) for f, s in zip((t1, first[1], first[2]), (t2, second[1], second[2])))


def _residual(xp, alloc, unmet, cap, tier, cost, reach, unmet_tier, tol, flow_tol) -> _Residual:
    load = alloc.sum(axis=1)
    return _Residual(tier, cost, reach, alloc > flow_tol, load < cap - flow_tol, load > flow_tol,
                     unmet > flow_tol, unmet_tier, tol)


def _cancel_cycles(xp, alloc, unmet, lat, cap, reach, late_arc) -> None:
    """Cancel negative cycles in place until every element's Bellman-Ford converges."""
    batch, m, n = lat.shape
    nodes = m + n + 1
    width = 2 * nodes + 1  # tier = late_count * width + unmet_count; |unmet part| <= nodes on any path
    tier = xp.where(late_arc, width, 0).astype(xp.int64)
    cost = xp.where(reach, lat, 0.0)
    tol = 1e-12 * (1.0 + float(cost.max()) * nodes)
    flow_tol = 1e-12 * (1.0 + float(unmet.max() + alloc.sum(axis=(1, 2)).max()))
    active = xp.arange(batch)
    for _ in range(MAX_CANCEL_ROUNDS):
        if active.size == 0:
            return
        g = _residual(xp, alloc[active], unmet[active], cap[active], tier[active], cost[active],
                      reach[active], width + 1, tol, flow_tol)
        has_cycle, pred, start = _bellman_ford(xp, g, nodes)
        active, pred, start = active[has_cycle], pred[has_cycle], start[has_cycle]
        if active.size:
            _cancel_one(xp, alloc, unmet, cap, active, pred, start, m, n, flow_tol)
    raise RuntimeError("assign_by_latency: cycle cancelling did not converge")


def _bellman_ford(xp, g: _Residual, nodes: int):
    """Bellman-Ford from a virtual source (all labels 0). Returns (has_cycle, pred, a node on a cycle)."""
    b = g.tier.shape[0]
    dt = xp.zeros((b, nodes), dtype=xp.int64)
    dc = xp.zeros((b, nodes))
    pred = xp.full((b, nodes), -1, dtype=xp.int64)
    changed = xp.ones((b, nodes), dtype=bool)
    for _ in range(nodes + 1):
        changed = _relax_round(xp, g, dt, dc, pred)
        if not bool(changed.any()):
            break
    has_cycle = changed.any(axis=1)
    node = changed.argmax(axis=1)
    rows = xp.arange(b)
    for _ in range(nodes):  # walk back far enough to stand on the cycle
        node = xp.where(has_cycle, pred[rows, node], node)
    return has_cycle, pred, node


def _arc_capacity(xp, p, q, alloc, unmet, cap, load, m, n, rows):
    """Residual capacity of arc p -> q (inf for uncapacitated arcs)."""
    sink = m + n
    qi = xp.clip(q, 0, m - 1)
    pj, qj = xp.clip(p - m, 0, n - 1), xp.clip(q - m, 0, n - 1)
    res = xp.full(p.shape, xp.inf)
    res = xp.where((p >= m) & (p < sink) & (q < m), alloc[rows, qi, pj], res)  # region -> market
    res = xp.where((p >= m) & (p < sink) & (q == sink), cap[rows, pj] - load[rows, pj], res)
    res = xp.where((p == sink) & (q >= m) & (q < sink), load[rows, qj], res)
    res = xp.where((p == sink) & (q < m), unmet[rows, qi], res)
    return res


def _cancel_one(xp, alloc, unmet, cap, active, pred, start, m, n, flow_tol) -> None:
    """Push the bottleneck amount around the cycle through ``start`` in each active element."""
    sub_a, sub_u, sub_c = alloc[active], unmet[active], cap[active]
    load = sub_a.sum(axis=1)
    rows = xp.arange(active.size)
    nodes = m + n + 1
    delta = xp.full(active.shape, xp.inf)
    q, on = start, xp.ones(active.shape, dtype=bool)
    for _ in range(nodes):
        p = pred[rows, q]
        res = _arc_capacity(xp, p, q, sub_a, sub_u, sub_c, load, m, n, rows)
        delta = xp.where(on, xp.minimum(delta, res), delta)
        q = p
        on = on & (q != start)
    delta = xp.where(xp.isfinite(delta), xp.maximum(delta, 0), 0)
    q, on = start, xp.ones(active.shape, dtype=bool)
    for _ in range(nodes):
        p = pred[rows, q]
        step = xp.where(on, delta, 0)
        fwd = (p < m) & (q >= m) & (q < m + n)
        bwd = (p >= m) & (p < m + n) & (q < m)
        xp.add.at(sub_a, (rows, xp.clip(p, 0, m - 1), xp.clip(q - m, 0, n - 1)), xp.where(fwd, step, 0))
        xp.add.at(sub_a, (rows, xp.clip(q, 0, m - 1), xp.clip(p - m, 0, n - 1)), -xp.where(bwd, step, 0))
        xp.add.at(sub_u, (rows, xp.clip(p, 0, m - 1)), xp.where((p < m) & (q == m + n), step, 0))
        xp.add.at(sub_u, (rows, xp.clip(q, 0, m - 1)), -xp.where((p == m + n) & (q < m), step, 0))
        q = p
        on = on & (q != start)
    sub_a[sub_a < flow_tol] = 0.0
    sub_u[sub_u < flow_tol] = 0.0
    alloc[active] = sub_a
    unmet[active] = sub_u
