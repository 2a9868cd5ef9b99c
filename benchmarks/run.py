"""Time infrasim's kernels against the strongest alternative a user would call, check answers agree.

    python benchmarks/run.py [--backend numpy|cupy|auto] [--json OUT] [--quick]

Sizes scale down on CPU so the script finishes in minutes on 2 cores (--quick: seconds).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kernels  # noqa: E402

# Machine limits (GPU from vendor datasheets, see KERNELS.md; CPU bandwidth is measured below).
GPU_LIMITS = {"H100 SXM memory bandwidth GB/s": 3350.0,  # NVIDIA H100 datasheet
              "H100 min-plus relaxations/s (derived)": 16.7e12}  # 132 SMs x 64 min/clk x 1.98 GHz


def timed(fn, repeats, xp):
    """Median seconds of ``fn()`` over repeats (CUDA events via cupyx on CuPy)."""
    if xp is not np:
        from cupyx.profiler import benchmark  # noqa: PLC0415

        res = benchmark(fn, n_repeat=repeats, n_warmup=1)
        return float(np.median(res.gpu_times))
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paired(baseline, scale, ours, xp, pairs=5):
    """Baseline seconds (x scale) and the median ratio baseline / ours over interleaved runs.

    Interleaving keeps a noisy neighbour or a clock change from landing on one side only."""
    ratios, times = [], []
    for _ in range(pairs):
        tb = timed(baseline, 1, np) * scale
        t = timed(ours, 1, xp)
        times.append(tb)
        ratios.append(tb / t)
    return statistics.median(times), statistics.median(ratios)


def copy_bandwidth_gbs():
    """Measured numpy copy bandwidth (read + write), the CPU memory-bandwidth reference."""
    a = np.ones(32 * 2**20 // 8)
    b = np.empty_like(a)
    t = timed(lambda: np.copyto(b, a), 5, np)
    return 2 * a.nbytes / t / 1e9


def backbone(rng, batch, n, degree=4):
    """Batch of sparse geographic-like graphs: each node linked to its `degree` nearest; failures drop links."""
    pts = rng.uniform(0, 100, (n, 2))
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    w = np.full((n, n), np.inf)
    near = np.argsort(d, axis=1)[:, 1:degree + 1]
    rows = np.repeat(np.arange(n), degree)
    w[rows, near.ravel()] = d[rows, near.ravel()]
    w = np.minimum(w, w.T)
    ws = np.broadcast_to(w, (batch, n, n)).copy()
    fail = rng.random((batch, n, n)) < 0.02
    fail = fail | np.swapaxes(fail, 1, 2)
    ws[fail] = np.inf
    return ws.astype(np.float32)


def bench_apsp(xp, rows, batch, n, repeats, baselines):
    from scipy.sparse.csgraph import floyd_warshall, shortest_path  # noqa: PLC0415

    w = backbone(np.random.default_rng(n), batch, n)
    wx = xp.asarray(w)
    t = timed(lambda: kernels.apsp(wx), repeats, xp)
    dist = kernels.to_numpy(kernels.apsp(wx)[0])
    gbs = 3 * w.nbytes * n / t / 1e9  # per pivot: read D, write cand, read-modify D (lower bound)
    rows.append([f"apsp {xp.__name__}", f"{batch} x {n}", t * 1e3, batch * n**3 / t, f"{gbs:.3g}", "-"])
    dense = [np.where(np.isinf(g), 0, g).astype(np.float64) for g in w]
    few = dense[: max(1, min(batch, baselines))]
    scale = batch / len(few)
    # apsp returns next hops too: the like-for-like call asks scipy for predecessors as well
    for name, fn in (("scipy floyd_warshall", lambda g: floyd_warshall(g, directed=False)),
                     ("scipy floyd_warshall + predecessors",
                      lambda g: floyd_warshall(g, directed=False, return_predecessors=True)[0]),
                     ("scipy shortest_path (auto)", lambda g: shortest_path(g, directed=False))):
        tb, ratio = paired(lambda: [fn(g) for g in few], scale, lambda: kernels.apsp(wx), xp)
        ref = np.stack([fn(g) for g in few])
        ok = np.allclose(ref, dist[: len(few)], rtol=1e-5)
        rows.append([name + " per graph", f"{batch} x {n}", tb * 1e3, batch * n**3 / tb, "-",
                     f"{ratio:.1f}x slower, agree={ok}"])
    try:
        import networkx as nx  # noqa: PLC0415

        graphs = [nx.from_numpy_array(g) for g in few[: max(1, len(few) // 4)]]
        tb, ratio = paired(lambda: [nx.floyd_warshall_numpy(g) for g in graphs], batch / len(graphs),
                           lambda: kernels.apsp(wx), xp, pairs=3)
        ok = np.allclose(nx.floyd_warshall_numpy(graphs[0]), dist[0], rtol=1e-5)
        rows.append(["networkx floyd_warshall_numpy per graph", f"{batch} x {n}", tb * 1e3,
                     batch * n**3 / tb, "-", f"{ratio:.1f}x slower, agree={ok}"])
    except ImportError:
        pass


def bench_routing(xp, rows, batch, n, repeats):
    w = backbone(np.random.default_rng(1), batch, n)
    _, nh = kernels.apsp(xp.asarray(w))
    arc_index = np.where(np.isfinite(w[0]) | (w.min(0) < np.inf), np.arange(n * n).reshape(n, n), -1)
    np.fill_diagonal(arc_index, -1)
    flows = xp.asarray(np.random.default_rng(2).random((batch, n, n)))
    t = timed(lambda: kernels.link_loads(flows, nh, xp.asarray(arc_index), n * n), repeats, xp)
    rows.append([f"link_loads {xp.__name__}", f"{batch} x {n}", t * 1e3, batch * n * n / t, "-",
                 "OD pairs/s in the throughput column"])


def bench_assign(xp, rows, batch, m, n, repeats, exact_batch):
    rng = np.random.default_rng(3)
    dem, rtt, cap = rng.uniform(0, 10, (batch, m)), rng.uniform(5, 200, (batch, m, n)), rng.uniform(0, 8, (batch, n))
    args = [xp.asarray(a) for a in (dem, rtt, cap)]
    t = timed(lambda: kernels.assign_by_latency(*args, 100.0, exact=False), repeats, xp)
    rows.append(["assign_by_latency exact=False (greedy)", f"{batch} x {m} x {n}", t * 1e3, batch / t, "-",
                 "batch elements/s"])
    sub = [a[:exact_batch] for a in args]  # the exact solver is slow on CPU: time a sub-batch
    t = timed(lambda: kernels.assign_by_latency(*sub, 100.0), 1, xp)
    rows.append(["assign_by_latency exact=True", f"{exact_batch} x {m} x {n}", t * 1e3, exact_batch / t, "-",
                 "batch elements/s"])


def bench_queueing(xp, rows, size, repeats):
    rng = np.random.default_rng(4)
    c = rng.integers(1, 2000, size)
    a = c * rng.uniform(0.5, 0.99, size)
    cx, ax = xp.asarray(c), xp.asarray(a)
    t = timed(lambda: kernels.erlang_c(cx, ax), repeats, xp)
    got = kernels.to_numpy(kernels.erlang_c(cx, ax))
    few = min(size, 200)

    def loop():
        out = []
        for ci, ai in zip(c[:few].tolist(), a[:few].tolist()):
            b = 1.0
            for k in range(1, ci + 1):
                b = ai * b / (k + ai * b)
            out.append(ci * b / (ci - ai * (1 - b)))
        return out

    tb = timed(loop, 1, np) * size / few
    ok = np.allclose(loop(), got[:few], rtol=1e-9)
    rows.append([f"erlang_c {xp.__name__}", f"{size} queues, c<2000", t * 1e3, size / t, "-", "queues/s"])
    rows.append(["python loop erlang_c", f"{size} queues", tb * 1e3, size / tb, "-",
                 f"{tb / t:.1f}x slower, agree={ok}"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="auto", choices=["auto", "numpy", "cupy"])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    xp = kernels.get_xp(args.backend)
    gpu = xp is not np
    rows = []
    reps = 3 if args.quick else 5
    apsp_cases = [(2000, 40), (200, 200)] if not gpu else [(2000, 40), (100_000, 37), (10_000, 200)]
    if args.quick:
        apsp_cases = [(400, 40)] if not gpu else apsp_cases[:1]
    for batch, n in apsp_cases:
        bench_apsp(xp, rows, batch, n, reps, baselines=200 if not args.quick else 50)
    bench_routing(xp, rows, 200 if not gpu else 10_000, 37, reps)
    bench_assign(xp, rows, 3000, 25, 40, reps, exact_batch=3000 if gpu else (10 if args.quick else 100))
    bench_queueing(xp, rows, 2000 if not gpu else 100_000, reps)
    limits = {"numpy copy bandwidth GB/s (measured)": copy_bandwidth_gbs()} if not gpu else GPU_LIMITS
    print(tabulate(rows, headers=["kernel", "size", "ms", "throughput /s", "GB/s", "note"],
                   floatfmt=".3g"))
    print("\nlimits:", ", ".join(f"{k} = {v:.3g}" for k, v in limits.items()))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "limits": limits, "backend": xp.__name__}, indent=1))


if __name__ == "__main__":
    main()
