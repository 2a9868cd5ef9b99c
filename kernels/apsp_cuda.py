"""CuPy Floyd-Warshall kernels for :func:`kernels.apsp.apsp` on packed (distance, next hop) keys.

Not yet run on a GPU: written against the CuPy RawKernel API and reviewed by hand; no CUDA device was
available when this was written. Only imported when the input is a CuPy array.

A key is ``dist_ticks << hop_bits | next_hop`` (uint32 or uint64, see ``apsp.py``); the relaxation is
``K[i,j] = min(K[i,j], K[i,k] + (K[k,j] & ~hop_mask))``, the same integer arithmetic as on NumPy, so
both backends return identical distances and next hops.

- Small graphs (``n (n + 1)`` keys fit in shared memory): one launch for the whole batch, one thread
  block per graph, the matrix in shared memory with row stride n + 1 (against bank conflicts). Row k and
  column k do not change during pivot k (D[k, k] = 0), so one barrier per pivot suffices.
- Large graphs: a batched per-pivot elementwise kernel (grid over batch x n x n), launched n times.
"""
from __future__ import annotations

import cupy

THREADS = 256
SHARED_LIMIT_BYTES = 96 * 1024  # opt-in dynamic shared memory per block; sm_80/sm_90 allow up to 163/227 KiB

_SHARED_SRC = r"""
extern "C" __global__ void fw_shared(T* key, const int n, const T dist_only) {
    extern __shared__ unsigned char smem_raw[];
    T* s = reinterpret_cast<T*>(smem_raw);
    const int stride = n + 1;
    const long long base = (long long)blockIdx.x * n * n;
    const int nn = n * n;
    for (int e = threadIdx.x; e < nn; e += blockDim.x) {
        s[(e / n) * stride + (e % n)] = key[base + e];
    }
    __syncthreads();
    for (int k = 0; k < n; ++k) {
        for (int e = threadIdx.x; e < nn; e += blockDim.x) {
            const int i = e / n, j = e % n;
            const T cand = s[i * stride + k] + (s[k * stride + j] & dist_only);
            if (cand < s[i * stride + j]) s[i * stride + j] = cand;
        }
        __syncthreads();
    }
    for (int e = threadIdx.x; e < nn; e += blockDim.x) {
        key[base + e] = s[(e / n) * stride + (e % n)];
    }
}
"""

_PIVOT = cupy.ElementwiseKernel(
    "raw T d, int32 n, int32 k, T dist_only", "",
    """
    const long long g = i / ((long long)n * n);
    const int r = (i / n) % n, c = i % n;
    const long long base = g * n * n;
    const T cand = d[base + r * n + k] + (d[base + k * n + c] & dist_only);
    if (cand < d[i]) d[i] = cand;
    """,
    "fw_pivot_keys",
)

_kernels: dict[str, cupy.RawKernel] = {}


def _shared_kernel(dtype) -> cupy.RawKernel:
    ctype = "unsigned long long" if dtype == cupy.uint64 else "unsigned int"
    if ctype not in _kernels:
        src = f"typedef {ctype} T;\n" + _SHARED_SRC
        kernel = cupy.RawKernel(src, "fw_shared")
        kernel.max_dynamic_shared_size_bytes = SHARED_LIMIT_BYTES
        _kernels[ctype] = kernel
    return _kernels[ctype]


def fw_cupy(key: cupy.ndarray, hop_mask: int) -> None:
    """In-place Floyd-Warshall on contiguous packed [batch, n, n] uint32/uint64 CuPy keys."""
    batch, n, _ = key.shape
    dist_only = ~key.dtype.type(hop_mask)
    shared_bytes = n * (n + 1) * key.itemsize
    if shared_bytes <= SHARED_LIMIT_BYTES:
        kernel = _shared_kernel(key.dtype)
        kernel((batch,), (THREADS,), (key, cupy.int32(n), dist_only), shared_mem=shared_bytes)
        return
    for k in range(n):  # row k / column k are fixed during pivot k: in-place update is race-free
        _PIVOT(key, cupy.int32(n), cupy.int32(k), dist_only, size=key.size)
