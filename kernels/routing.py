"""Routing origin-destination traffic onto directed arcs along next-hop shortest paths (DESIGN §7).

All OD pairs of all graphs walk their paths together, one hop per step (at most n - 1 steps), and each
step scatter-adds the carried traffic onto arcs with one ``bincount`` over flattened (batch, arc)
indices. Every unit that enters a path leaves it at its destination, so traffic is conserved exactly;
OD pairs with no path (next_hop = -1) are dropped and reported by :func:`unrouted`.
"""
from __future__ import annotations

import numpy as np

from .backend import to_numpy, xp_of


def _flatten(flows, next_hop):
    xp = xp_of(flows, next_hop)
    flows, next_hop = xp.asarray(flows), xp.asarray(next_hop)
    n = next_hop.shape[-1]
    if flows.shape[-2:] != (n, n) or next_hop.shape[-2] != n:
        raise ValueError(f"flows {tuple(flows.shape)} and next_hop {tuple(next_hop.shape)} must end in [n, n]")
    batch_shape = np.broadcast_shapes(flows.shape[:-2], next_hop.shape[:-2])
    f = xp.broadcast_to(flows, batch_shape + (n, n)).reshape((-1, n, n))
    nh = xp.broadcast_to(next_hop, batch_shape + (n, n)).reshape((-1, n, n))
    return xp, f, nh, batch_shape


def link_loads(flows, next_hop, arc_index, n_arcs: int):
    """Traffic per directed arc, shape ``[..., n_arcs]``.

    ``flows[..., s, d]`` = traffic from node s to node d (any unit, e.g. Gbit/s); ``next_hop`` from
    :func:`kernels.apsp`; ``arc_index[u, v]`` = id of the directed arc u -> v, or -1. The batch axes of
    ``flows`` and ``next_hop`` broadcast. Every hop a path takes must be an arc in ``arc_index``
    (ValueError otherwise). On NumPy the set of walking pairs is compacted each hop (work = total path
    length); on CuPy all pairs stay in place, masked, so the hop loop never synchronises.
    """
    xp, f, nh, batch_shape = _flatten(flows, next_hop)
    batch, n = f.shape[0], f.shape[-1]
    arcs = xp.asarray(arc_index).astype(xp.int64)
    bins = n_arcs + 1  # last bin collects hops that have no arc id (an error, checked once at the end)
    arcs = xp.where(arcs < 0, n_arcs, arcs).reshape(-1)
    b, s, d = (a.reshape(-1) for a in xp.meshgrid(xp.arange(batch), xp.arange(n), xp.arange(n), indexing="ij"))
    carried = f.reshape(-1)
    walking = (s != d) & (nh.reshape(-1) >= 0) & (carried != 0)
    loads = xp.zeros(batch * bins, dtype=xp.float64)
    compact = xp is np
    if compact:
        b, s, d, carried = b[walking], s[walking], d[walking], carried[walking]
    else:
        carried = xp.where(walking, carried, 0)
    flat_nh = nh.reshape(-1)
    for _ in range(max(n - 1, 0)):
        if compact and b.size == 0:
            break
        nxt = flat_nh[(b * n + s) * n + d]
        loads += xp.bincount(b * bins + arcs[s * n + xp.maximum(nxt, 0)], weights=carried, minlength=batch * bins)
        s = xp.where(nxt >= 0, nxt, d)  # a broken chain (should not happen) ends the walk
        if compact:
            going = s != d
            b, s, d, carried = b[going], s[going], d[going], carried[going]
        else:
            carried = xp.where(s != d, carried, 0)
    loads = loads.reshape((batch, bins))
    if float(to_numpy(xp.abs(loads[:, n_arcs]).sum())) > 0:
        raise ValueError("a shortest path uses a hop u -> v with arc_index[u, v] = -1")
    out_dtype = f.dtype if f.dtype.kind == "f" else xp.float64
    return loads[:, :n_arcs].astype(out_dtype).reshape(batch_shape + (n_arcs,))


def unrouted(flows, next_hop):
    """Total OD traffic with no path (next_hop = -1, off the diagonal), per batch element: shape ``[...]``."""
    xp, f, nh, batch_shape = _flatten(flows, next_hop)
    lost = xp.where(nh < 0, f, 0).sum(axis=(-2, -1))
    return lost.reshape(batch_shape)
