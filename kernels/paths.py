"""Walking shortest paths of many topology states at once: link loads and delays along paths.

The engine evaluates thousands of batch elements per step but only a few hundred distinct topology
states, so these kernels take the next hops *per state* (``next_hop[U, n, n]``) and a state index per
batch element, instead of a copy of the next hops per element. Only origin-destination pairs that
carry something walk, and the set of walkers is compacted every hop (on NumPy), so the work is the
total length of the paths in use, not ``batch x n^3``.

Pure array code: NumPy or CuPy (not yet run on a GPU; on CuPy the compaction syncs once per hop).
"""
from __future__ import annotations

from typing import NamedTuple

from kernels.backend import scatter_add, xp_of

HOPS_PER_FLUSH = 4_000_000  # hop records held before they are summed into loads (~64 MB)


def _walk(xp, next_hop, arc_index, state, s, d, n_hops: int):
    """Yield (walker index, arc id) for every hop of the given walkers' paths. A walk stops where j is
    unreachable; a hop along a node pair with no arc id (``arc_index`` -1) is not yielded."""
    n = next_hop.shape[-1]
    arcs = xp.asarray(arc_index).reshape(-1)
    hops = next_hop.reshape(-1)
    alive = xp.arange(s.size)
    toward = state * (n * n) + d  # next_hop[state, s, d] is hops[toward + s * n]
    for _ in range(n_hops):  # host-known bound (n - 1)
        if alive.size == 0:
            break
        row = s * n
        nxt = hops[toward + row]
        if bool((nxt < 0).any()):  # unreachable pairs (rare): they stop here
            ok = nxt >= 0
            alive, toward, row, nxt, d = alive[ok], toward[ok], row[ok], nxt[ok], d[ok]
        arc = arcs[row + nxt]
        if bool((arc < 0).any()):
            yield alive[arc >= 0], arc[arc >= 0]
        else:
            yield alive, arc
        going = nxt != d
        alive, toward, s, d = alive[going], toward[going], nxt[going], d[going]


class Hops(NamedTuple):
    """Every hop of a set of walks: walk ``walker[h]`` crosses arc ``arc[h]``; ``unreachable[k]``
    marks walks k with no path."""

    walker: object
    arc: object
    unreachable: object


def walk_arcs(state, s, d, next_hop, arc_index) -> Hops:
    """The arcs of the path s[k] -> d[k] routed by ``next_hop[state[k]]``, for every k at once.

    Walk once, use the hops many times: loads are a scatter of flows over the hops, delays along a path
    a gather and sum over the same hops.
    """
    xp = xp_of(next_hop)
    n = next_hop.shape[-1]
    state = xp.asarray(state)
    walkers, arcs = [], []
    for walker, arc in _walk(xp, next_hop, arc_index, state, s, d, max(n - 1, 0)):
        walkers.append(walker)
        arcs.append(arc)
    unreachable = (next_hop.reshape(-1)[(state * n + s) * n + d] < 0) & (s != d)
    if not walkers:
        return Hops(xp.zeros(0, dtype=xp.int64), xp.zeros(0, dtype=xp.int64), unreachable)
    return Hops(xp.concatenate(walkers), xp.concatenate(arcs), unreachable)


def loads_on_hops(hops: Hops, b, carried, n_arcs: int, batch: int):
    """Traffic per directed arc ``[batch, n_arcs]``: walk k carries ``carried[k]`` in element ``b[k]``."""
    xp = xp_of(carried)
    loads = xp.zeros(batch * n_arcs, dtype=xp.float64)
    scatter_add(xp, loads, b[hops.walker] * n_arcs + hops.arc, carried[hops.walker].astype(xp.float64))
    return loads.reshape(batch, n_arcs)


def sums_on_hops(hops: Hops, b, arc_values):
    """Per walk k: the sum of ``arc_values[b[k], arc]`` over its arcs; inf propagates; no path: inf."""
    xp = xp_of(arc_values)
    total = xp.zeros(hops.unreachable.size, dtype=xp.float64)
    scatter_add(xp, total, hops.walker, arc_values[b[hops.walker], hops.arc])
    return xp.where(hops.unreachable, xp.inf, total)


def loads_by_state(b, s, d, carried, state, next_hop, arc_index, n_arcs: int, batch: int):
    """Traffic per directed arc ``[batch, n_arcs]`` of sparse OD flows: ``carried[k]`` from node
    ``s[k]`` to ``d[k]`` in element ``b[k]``, which routes by ``next_hop[state[b]]``. Flow of pairs
    with no path is dropped (conservation otherwise exact). Hops are summed in batches of at most
    ``HOPS_PER_FLUSH``, so memory does not grow with path length x walkers."""
    xp = xp_of(carried, next_hop)
    keep = (s != d) & (carried != 0)
    b, s, d, carried = b[keep], s[keep], d[keep], carried[keep].astype(xp.float64)
    loads = xp.zeros(batch * n_arcs, dtype=xp.float64)
    slots, flows, held = [], [], 0
    for walker, arc in _walk(xp, next_hop, arc_index, xp.asarray(state)[b], s, d, max(next_hop.shape[-1] - 1, 0)):
        slots.append(b[walker] * n_arcs + arc)
        flows.append(carried[walker])
        held += walker.size
        if held >= HOPS_PER_FLUSH:
            scatter_add(xp, loads, xp.concatenate(slots), xp.concatenate(flows))
            slots, flows, held = [], [], 0
    if slots:
        scatter_add(xp, loads, xp.concatenate(slots), xp.concatenate(flows))
    return loads.reshape(batch, n_arcs)


def path_sums_by_state(arc_values, state, next_hop, arc_index, b, s, d):
    """Sum of ``arc_values[b, arc]`` along the path s -> d of element b (routing ``next_hop[state[b]]``),
    for each listed (b, s, d); inf values propagate; unreachable pairs give inf."""
    xp = xp_of(arc_values, next_hop)
    return sums_on_hops(walk_arcs(xp.asarray(state)[b], s, d, next_hop, arc_index), b, arc_values)


def paths_differ(next_hop, reference):
    """``[G, n, n]`` bool: does the path i -> j under ``next_hop[g]`` differ from the one under
    ``reference`` ``[n, n]``?

    It does exactly when some node on the reference path (before j) has another next hop toward j;
    never for i == j (both routings keep ``next_hop[i, i] = i``).
    Pointer doubling along the reference paths checks a path of h hops in log2(h) steps. Used to move
    only the traffic whose route a failure changed, instead of routing everything again.
    """
    xp = xp_of(next_hop, reference)
    n = reference.shape[-1]
    cols = xp.arange(n)[None, :]
    jump = xp.where(reference >= 0, reference, cols)  # unreachable: jump straight to j (the end)
    differ = next_hop != reference[None]
    for _ in range(max(n - 1, 1).bit_length()):  # host-known bound: 2**steps >= n - 1 hops
        if bool((jump == cols).all()):  # every walk has reached its end
            break
        differ = differ | differ[:, jump, cols]
        jump = jump[jump, cols]
    return differ
