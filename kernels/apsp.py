"""Batched all-pairs shortest paths (min-plus Floyd-Warshall) with next hops, NumPy or CuPy.

``weight[..., n, n]`` holds non-negative arc weights (e.g. latency in ms); ``inf`` means no arc. The
leading axes are a batch (samples x failure states). The result keeps float64 for float64 input and uses
float32 otherwise. ``next_hop[..., i, j]`` (int32) is the first node after i on a shortest path i -> j,
``i`` on the diagonal and -1 where j is unreachable from i. Ties keep the first path found (lowest
pivot), identically on both backends.

NumPy: Floyd-Warshall over the batch in chunks small enough for L2 cache, with a preallocated temporary
and in-place ufuncs: memory traffic, not arithmetic, is the cost on a CPU (see KERNELS.md). Chunks run
on a few threads (NumPy ufuncs release the GIL), so every core works.
CuPy (``apsp_cuda.py``): one RawKernel launch for the whole batch for small graphs (one block per graph,
the matrix in shared memory); a batched per-pivot elementwise kernel for large graphs.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .backend import xp_of

L2_CHUNK_BYTES = 1 << 20  # working set per chunk; 4 MiB L2 per core pair on the CI machine (assumption)
MAX_THREADS = 8  # NumPy chunks in flight at once (each is single-threaded inside its ufuncs)


def _prepare(weight):
    """Float working copy of the weights with a zero diagonal, shaped [batch, n, n]."""
    xp = xp_of(weight)
    w = xp.asarray(weight)
    if w.ndim < 2 or w.shape[-1] != w.shape[-2]:
        raise ValueError(f"weight must have shape [..., n, n], got {tuple(w.shape)}")
    dtype = xp.float64 if w.dtype == xp.float64 else xp.float32
    n = w.shape[-1]
    arcs = w.reshape((-1, n, n)).astype(dtype, copy=True)
    idx = xp.arange(n)
    arcs[:, idx, idx] = 0
    return xp, arcs


def apsp(weight):
    """All-pairs shortest paths over the last two axes: returns ``(dist, next_hop)``.

    Weights must be > 0 off the diagonal (latencies); ``inf`` = no arc; the diagonal is taken as 0.
    Distances come from Floyd-Warshall; next hops from one pass over each node's arcs afterwards
    (:func:`next_hops_from_dist`), which costs far less than tracking them inside the pivot loop.
    """
    xp, arcs = _prepare(weight)
    shape = xp.asarray(weight).shape
    dist = arcs.copy()
    if dist.shape[0] and dist.shape[1]:
        if xp is np:
            _fw_numpy(dist)
        else:
            from .apsp_cuda import fw_cupy  # noqa: PLC0415 (CuPy-only module)

            fw_cupy(dist)
    next_hop = next_hops_from_dist(arcs, dist)
    return dist.reshape(shape), next_hop.reshape(shape)


def _best_neighbour(dist, order, nbr_w, next_hop) -> None:
    """Fill next_hop[b, i, j] with argmin over slots s of nbr_w[b, i, s] + dist[b, order[b, i, s], j]."""
    xp = xp_of(dist)
    batch, n, _ = dist.shape
    flat_rows = (xp.arange(batch, dtype=xp.int32) * n)[:, None]  # row v of graph b = flat row b*n + v
    dist_rows = dist.reshape((batch * n, n))
    best = xp.full(dist.shape, xp.inf, dtype=dist.dtype)
    cand = xp.empty_like(best)
    better = xp.empty(dist.shape, dtype=bool)
    for slot in range(order.shape[-1]):
        v = order[:, :, slot]  # [b, n]: the slot-th neighbour of each node i
        xp.take(dist_rows, (flat_rows + v).reshape(-1), axis=0, out=cand.reshape((batch * n, n)))
        cand += nbr_w[:, :, slot:slot + 1]  # w[i, v] + D[v, j]
        xp.less(cand, best, out=better)
        xp.minimum(best, cand, out=best)
        xp.copyto(next_hop, xp.broadcast_to(v[:, :, None], next_hop.shape), where=better)


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


def _fw_numpy(dist: np.ndarray) -> None:
    """In-place Floyd-Warshall on a [batch, n, n] float array, chunked over the batch for cache."""
    batch, n, _ = dist.shape
    chunk = int(max(1, min(batch, L2_CHUNK_BYTES // (2 * n * n * dist.itemsize))))

    def work(start: int, stop: int) -> None:
        d = dist[start:stop]
        c = np.empty_like(d)
        for k in range(n):  # row k and column k do not change during pivot k (D[k, k] = 0)
            np.add(d[:, :, k:k + 1], d[:, k:k + 1, :], out=c)
            np.minimum(d, c, out=d)

    _in_threads(work, batch, chunk)


def next_hops_from_dist(arcs, dist):
    """Next hops from final distances: NH[i, j] = the neighbour v of i minimising w[i, v] + D[v, j].

    Loops over neighbour slots (the maximum out-degree, known on the host), not over all n nodes, so
    it is cheap on sparse graphs. Ties go to the lowest-numbered neighbour. NH[i, i] = i; -1 when j is
    unreachable from i. ``arcs``/``dist`` are [batch, n, n] with a zero diagonal.
    """
    xp = xp_of(arcs, dist)
    batch, n, _ = arcs.shape
    is_arc = arcs < xp.inf
    idx = xp.arange(n)
    is_arc[:, idx, idx] = False
    degree = is_arc.sum(axis=-1)
    max_degree = int(degree.max()) if batch else 0
    # order[b, i, s] = the s-th neighbour of i (node order); padding slots point at i with weight inf
    order = xp.broadcast_to(idx.astype(xp.int32)[None, :, None], (batch, n, max_degree)).copy()
    gb, gi, gj = xp.nonzero(is_arc)
    slot = (xp.cumsum(is_arc, axis=-1, dtype=xp.int32) - 1)[gb, gi, gj]
    order[gb, gi, slot] = gj.astype(xp.int32)
    nbr_w = xp.full((batch, n, max_degree), xp.inf, dtype=dist.dtype)
    nbr_w[gb, gi, slot] = arcs[gb, gi, gj]
    next_hop = xp.full(dist.shape, -1, dtype=xp.int32)
    if xp is not np:
        _best_neighbour(dist, order, nbr_w, next_hop)
    else:
        chunk = int(max(1, min(batch, L2_CHUNK_BYTES // (n * n * 13))))
        _in_threads(lambda a, b: _best_neighbour(dist[a:b], order[a:b], nbr_w[a:b], next_hop[a:b]), batch, chunk)
    next_hop[:, idx, idx] = idx.astype(xp.int32)
    return next_hop


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
