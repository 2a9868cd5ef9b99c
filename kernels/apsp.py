"""Batched all-pairs shortest paths (min-plus Floyd-Warshall) with next hops, NumPy or CuPy.

``weight[..., n, n]`` holds non-negative arc weights (e.g. latency in ms); ``inf`` means no arc. The
leading axes are a batch (samples x failure states). ``dist`` is float64 for float64 input and float32
otherwise; ``next_hop[..., i, j]`` (int32) is the first node after i on a shortest path i -> j, ``i`` on
the diagonal and -1 where j is unreachable from i.

How: next hops ride inside the distances. Each arc weight is rounded to an integer grid and packed into
one unsigned key, ``key = dist_ticks << hop_bits | next_hop`` (uint32 for float32 input and n < 64,
uint64 otherwise), so Floyd-Warshall's ``min(D[i,j], D[i,k] + D[k,j])`` becomes
``min(K[i,j], K[i,k] + (K[k,j] & ~hop_mask))``: the sum carries the next hop of i -> k, and the minimum
compares distance first and breaks exact ties towards the lowest next hop (KERNELS.md's packing idea).
Tracking next hops then costs one small mask per pivot instead of a second pass, and because the
arithmetic is exact integer arithmetic, every next-hop walk ends at j with exactly the distance reported
and ties resolve identically on both backends.

Precision: the grid of graph b is about ``bound_b / 2**dist_bits``, where ``bound_b`` (sum over nodes of
the longest arc entering them) bounds every shortest path, so none is mistaken for "no path". A path of h
arcs is off by at most h grid steps: about 1e-6 relative with uint32 keys (float32 input, n < 64) and
far below float32 resolution with uint64 keys (float64 input or n >= 64).

NumPy: the pivot loop runs over cache-sized chunks of the batch with a preallocated temporary and
in-place ufuncs (memory traffic, not arithmetic, is the cost on a CPU), on a few threads (NumPy ufuncs
release the GIL). CuPy (``apsp_cuda.py``): one RawKernel launch for the whole batch for small graphs; a
batched per-pivot elementwise kernel for large ones.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .backend import xp_of

L2_CHUNK_BYTES = 1 << 20  # working set per chunk; 4 MiB L2 per core pair on the CI machine (assumption)
MAX_THREADS = 8  # NumPy chunks in flight at once (each is single-threaded inside its ufuncs)
NARROW_HOP_BITS = 6  # uint32 keys up to 63 nodes (grid ~1e-6 relative); wider graphs use uint64


@dataclass(frozen=True)
class KeyLayout:
    """How (distance ticks, next hop) share one unsigned key for graphs of ``n`` nodes."""

    n: int
    dist_dtype: type  # float32 or float64: what distances come back as
    key_dtype: type  # uint32 or uint64
    hop_bits: int

    @classmethod
    def of(cls, xp, n: int, dtype) -> KeyLayout:
        dist_dtype = xp.float64 if dtype == xp.float64 else xp.float32
        hop_bits = max(1, int(n).bit_length())  # next hops 0..n-1, and all ones as the "self" mark
        wide = dist_dtype == xp.float64 or hop_bits > NARROW_HOP_BITS
        return cls(n, dist_dtype, xp.uint64 if wide else xp.uint32, hop_bits)

    @property
    def hop_mask(self) -> int:
        return (1 << self.hop_bits) - 1

    @property
    def no_path(self) -> int:
        """Distance ticks meaning "unreachable": keys stay below 2**(bits - 1), so a sum cannot wrap, and
        the value is exact in ``dist_dtype`` (weights are scaled in floating point, inf clipped to it)."""
        top = (1 << (8 * np.dtype(self.key_dtype).itemsize - 1 - self.hop_bits)) - 1
        as_float = np.array(top, dtype=self.dist_dtype)
        if int(as_float) > top:
            as_float = np.nextafter(as_float, self.dist_dtype(0))
        return int(as_float)

    @property
    def longest(self) -> int:
        """Ticks the longest shortest path may take. Sums are min'd against values <= no_path, so a
        relaxation past no_path simply loses: only final distances must stay below it. 8n ticks absorb
        rounding each arc up."""
        return self.no_path - 1 - 8 * self.n


def encode(w, layout: KeyLayout):
    """[B, n, n] weights -> (keys [B, n, n], ticks_per_unit [B] float64)."""
    xp = xp_of(w)
    n = layout.n
    nodes = xp.arange(n)
    arc_w = xp.where(w < xp.inf, w, 0).astype(layout.dist_dtype, copy=False)
    arc_w[:, nodes, nodes] = 0
    # A simple path enters each node at most once: the longest arc into each node, summed, bounds it
    # (reducing over rows keeps the inner loop contiguous).
    bound = arc_w.max(axis=1).astype(xp.float64).sum(axis=1)  # [B]
    ticks_per_unit = layout.longest / xp.where(bound > 0, bound, 1.0)
    ticks = w.astype(layout.dist_dtype) * ticks_per_unit.astype(layout.dist_dtype)[:, None, None]
    xp.rint(ticks, out=ticks)
    xp.clip(ticks, 1, layout.no_path, out=ticks)  # >= 1 tick per arc: next-hop walks cannot cycle; inf -> none
    key = ticks.astype(layout.key_dtype)
    key <<= layout.key_dtype(layout.hop_bits)
    key |= nodes.astype(layout.key_dtype)  # arc i -> j: next hop j (no arc: ticks are no_path, hop moot)
    key[:, nodes, nodes] = layout.hop_mask  # distance 0; all-ones hop so a tie never routes i -> i -> j
    return key, ticks_per_unit


def decode(key, ticks_per_unit, layout: KeyLayout, dist, next_hop) -> None:
    """Fill ``dist`` [B, n, n] and ``next_hop`` [B, n, n] (int32) from solved keys."""
    xp = xp_of(key)
    nodes = xp.arange(layout.n)
    ticks = key >> layout.key_dtype(layout.hop_bits)
    unreachable = ticks >= layout.no_path
    dist[...] = ticks  # to float first: uint x float would go through float64
    dist *= (1.0 / ticks_per_unit).astype(layout.dist_dtype)[:, None, None]
    dist[unreachable] = xp.inf
    xp.bitwise_and(key, layout.key_dtype(layout.hop_mask), out=next_hop, casting="unsafe")
    next_hop[unreachable] = -1
    next_hop[:, nodes, nodes] = nodes.astype(xp.int32)


def apsp(weight):
    """All-pairs shortest paths over the last two axes: returns ``(dist, next_hop)``.

    Weights must be >= 0 (latencies); ``inf`` = no arc; the diagonal is taken as 0. A zero-weight arc
    counts as one grid step, so walking next hops always ends. Ties between paths of equal length (on
    the grid) go to the lowest-numbered next hop.
    """
    xp = xp_of(weight)
    w = xp.asarray(weight)
    if w.ndim < 2 or w.shape[-1] != w.shape[-2]:
        raise ValueError(f"weight must have shape [..., n, n], got {tuple(w.shape)}")
    if w.size and not float(w.min()) >= 0:  # NaN fails this too
        raise ValueError("weight must be >= 0 or inf (no arc); found a negative or NaN weight")
    shape, n = w.shape, w.shape[-1]
    w = w.reshape((-1, n, n))
    layout = KeyLayout.of(xp, n, w.dtype)
    dist = xp.empty(w.shape, dtype=layout.dist_dtype)
    next_hop = xp.empty(w.shape, dtype=xp.int32)

    def solve(start: int, stop: int) -> None:
        key, ticks_per_unit = encode(w[start:stop], layout)
        if xp is np:
            _fw_numpy(key, layout.hop_mask)
        else:
            from .apsp_cuda import fw_cupy  # noqa: PLC0415 (CuPy-only module)

            fw_cupy(key, layout.hop_mask)
        decode(key, ticks_per_unit, layout, dist[start:stop], next_hop[start:stop])

    if w.shape[0] and n:
        if xp is np:  # cache-sized chunks, encoded, solved and decoded while hot, on every core
            chunk = int(max(1, min(w.shape[0], L2_CHUNK_BYTES // (2 * n * n * np.dtype(layout.key_dtype).itemsize))))
            _in_threads(solve, w.shape[0], chunk)
        else:
            solve(0, w.shape[0])
    return dist.reshape(shape), next_hop.reshape(shape)


def _threads(batch: int, chunk: int) -> int:
    """Worker threads for NumPy chunks: ufuncs release the GIL, so chunks run on every core."""
    return max(1, min(os.cpu_count() or 1, MAX_THREADS, -(-batch // chunk)))


def _in_threads(work, batch: int, chunk: int) -> None:
    """Run ``work(start, stop)`` over [0, batch) in chunks, on a few threads when it pays."""
    spans = [(start, min(batch, start + chunk)) for start in range(0, batch, chunk)]
    threads = _threads(batch, chunk)
    if threads == 1:
        for span in spans:
            work(*span)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda span: work(*span), spans))


def _fw_numpy(key: np.ndarray, hop_mask: int) -> None:
    """In-place Floyd-Warshall on packed [batch, n, n] keys (one cache-sized chunk)."""
    n = key.shape[-1]
    dist_only = ~key.dtype.type(hop_mask)
    cand = np.empty_like(key)
    row = np.empty((key.shape[0], 1, n), dtype=key.dtype)
    for k in range(n):  # row k and column k do not change during pivot k (D[k, k] = 0)
        np.bitwise_and(key[:, k:k + 1, :], dist_only, out=row)  # D[k, j] without its next hop
        np.add(key[:, :, k:k + 1], row, out=cand)  # D[i, k] + D[k, j], next hop of i -> k
        np.minimum(key, cand, out=key)


def apsp_repair(dist, next_hop, u, v, weight):
    """Exact update of (dist, next_hop) after an undirected edge u - v of weight w is repaired or added.

    D' = min(D, D[:, u] + w + D[v, :], D[:, v] + w + D[u, :]); a pair that improves through u -> v
    takes next hop NH[i, u] (or v when i == u), and symmetrically through v -> u. O(n^2) per graph.
    ``u``, ``v``, ``weight`` are scalars or arrays over the batch shape. Only valid when weights fall
    (repairs, new edges); a failure needs :func:`apsp` again. Returns new arrays.
    """
    xp = xp_of(dist, next_hop)
    d, nh = xp.asarray(dist), xp.asarray(next_hop)
    shape, n = d.shape, d.shape[-1]
    d = d.reshape((-1, n, n))
    nh = nh.reshape((-1, n, n))
    rows = xp.arange(d.shape[0])
    batch_shape = shape[:-2]
    u = xp.broadcast_to(xp.asarray(u), batch_shape).reshape(-1)
    v = xp.broadcast_to(xp.asarray(v), batch_shape).reshape(-1)
    w = xp.broadcast_to(xp.asarray(weight, dtype=d.dtype), batch_shape).reshape(-1)
    nodes = xp.arange(n)
    for a, b in ((u, v), (v, u)):  # i -> ... -> a -> b -> ... -> j
        to_a = d[rows, :, a]  # [B, n]: D[i, a]
        from_b = d[rows, b, :]  # [B, n]: D[b, j]
        cand = (to_a + w[:, None])[:, :, None] + from_b[:, None, :]
        better = cand < d
        first = xp.where(nodes[None, :] == a[:, None], b[:, None], nh[rows, :, a]).astype(xp.int32)
        d = xp.where(better, cand, d)
        nh = xp.where(better, first[:, :, None], nh)
    return d.reshape(shape), nh.reshape(shape)
