"""Engine benchmark: wall time and peak memory of whole runs, how they grow, and where time goes.

    python benchmarks/engine_bench.py                       # default scenario, 100 and 1000 samples
    python benchmarks/engine_bench.py --samples 100,1000,10000 --no-failures
    python benchmarks/engine_bench.py --sites               # 37 sites vs Topology Zoo graphs of ~200 and 754 nodes
    python benchmarks/engine_bench.py --profile             # cProfile of one default run
    python benchmarks/engine_bench.py --compare-exact       # nearest-first policy vs the exact optimum
    python benchmarks/engine_bench.py --against OTHER --pairs 3   # this checkout vs another, run for run

Each measured run is a fresh subprocess, so its peak resident memory is its own. Times are wall-clock
seconds of the whole simulation (`sim.run`, report not drawn), as a user waits for them.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT.parent / "shared" / "data" / "topologyzoo"
CHILD = """
import json, resource, sys, time
import sim
t = time.perf_counter()
r = sim.run(sys.argv[1], samples=int(sys.argv[2]), seed=1, backend=sys.argv[3], progress=False, report=False,
            max_memory_gb=float(sys.argv[4]))
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall_s": time.perf_counter() - t, "cpu_s": use.ru_utime + use.ru_stime, "peak_mb": use.ru_maxrss / 1024,
                  "sites": len(r.tables["footprint_regions"]), "links": len(r.tables["footprint_links"])}))
"""


def measure(scenario: Path, samples: int, backend: str, max_memory_gb: float, root: Path = ROOT) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-c", CHILD, str(scenario), str(samples), backend, str(max_memory_gb)],
                         capture_output=True, text=True, env=env, check=False, cwd=root)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def scenario_file(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\n{body}")
    return path


def table(rows: list[dict]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers="keys", floatfmt=".1f")


def bench_samples(args, folder: Path) -> list[dict]:
    body = "" if not args.no_failures else "failures: {enabled: false}\n"
    path = scenario_file(folder, "default", "footprint: {catalogue: alibaba}\n" + body) if body else \
        ROOT / "scenarios" / "alibaba-2025.yaml"
    rows = []
    for samples in (int(x) for x in args.samples.split(",")):
        r = measure(path, samples, args.backend, args.max_memory)
        rows.append({"scenario": "alibaba-2025" + (" (no random failures)" if args.no_failures else ""),
                     "samples": samples, **r})
        print(table(rows[-1:]), flush=True)
    return rows


def bench_against(args) -> list[dict]:
    """Whole processes of the default scenario run for run against another checkout (``--against``, e.g.
    ``git worktree add ../base COMMIT``), alternating A B A B ..., each with its own scenario file, so
    that a machine whose speed drifts weighs on both sides; the ratio is the median of the pair ratios."""
    other = Path(args.against).resolve()
    samples = int(args.samples.split(",")[-1])
    rows = []
    for k in range(args.pairs):
        pair = {}
        for side, root in (("A (other)", other), ("B (this)", ROOT)):
            r = measure(root / "scenarios" / "alibaba-2025.yaml", samples, args.backend, args.max_memory, root)
            rows.append({"pair": k + 1, "side": side, "samples": samples, **r})
            pair[side] = r
            print(table(rows[-1:]), flush=True)
    for key in ("wall_s", "cpu_s"):
        ratios = [b[key] / a[key] for a, b in zip(rows[0::2], rows[1::2]) if key in a and key in b]
        if ratios:
            print(f"{key}: B / A, median of {len(ratios)} pairs = {sorted(ratios)[len(ratios) // 2]:.3f} "
                  f"(pairs: {', '.join(f'{x:.3f}' for x in ratios)})")
    return rows


def bench_sites(args, folder: Path) -> list[dict]:
    horizon = "horizon: {start: 2025-01, end: 2025-12}\n"
    cases = [("37 sites (default)", "", ""),
             ("~200 sites (Cogentco)", f"topology: {{graphml: {ZOO / 'Cogentco.graphml'}}}\n", "Cogentco"),
             ("754 sites (Kdl)", f"topology: {{graphml: {ZOO / 'Kdl.graphml'}}}\n", "Kdl")]
    rows = []
    for label, topo, name in cases:
        if name and not (ZOO / f"{name}.graphml").exists():
            rows.append({"case": label, "error": "Topology Zoo file not found"})
            continue
        for mode, extra in (("none", "failures: {enabled: false}\nanalysis: {n_minus_1: false}\n"),
                            ("random failures", "analysis: {n_minus_1: false}\n"),
                            ("failures + N-1", "")):
            if mode == "failures + N-1" and name == "Kdl" and not args.kdl_n_minus_1:
                rows.append({"case": label, "failures": mode, "error": "skipped: one 754-node APSP per "
                             "single failure (1,649 states) is hours on a CPU; --kdl-n-minus-1 to run it"})
                continue
            path = scenario_file(folder, f"sites-{len(rows)}", horizon + topo + extra)
            r = measure(path, args.site_samples, args.backend, args.max_memory)
            rows.append({"case": label, "failures": mode, "samples": args.site_samples, "months": 12, **r})
            print(table(rows[-1:]), flush=True)
    return rows


class InlineExecutor:
    """Stands in for the engine's month threads so that cProfile (which sees one thread) sees all the
    work: every month is evaluated on the calling thread, as it is submitted."""

    def __init__(self, *args, **kwargs):
        pass

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future

        future = Future()
        future.set_result(fn(*args, **kwargs))
        return future

    def shutdown(self, **kwargs):
        pass


def profile(args) -> None:
    import cProfile
    import pstats

    import sim
    import sim.engine.calendar

    sim.engine.calendar.ThreadPoolExecutor = InlineExecutor  # one thread, so the profile is complete (CPU, not wall)
    profiler = cProfile.Profile()
    profiler.enable()
    sim.run(ROOT / "scenarios" / "alibaba-2025.yaml", samples=int(args.samples.split(",")[0]), seed=1,
            backend=args.backend, progress=False, report=False)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats("sim/|kernels/", 25)


def compare_exact(args) -> None:
    """Within-SLO MW and MW x ms of nearest-first vs the exact lexicographic optimum, on the intact
    network at each December, for the first samples of every curve."""
    import numpy as np
    from tabulate import tabulate

    import sim
    from kernels import assign_by_latency
    from kernels.spill import assign_nearest_first
    from sim.engine.batches import pack_bits
    from sim.engine.calendar import Engine

    scenario = sim.load_scenario(ROOT / "scenarios" / "alibaba-2025.yaml")
    engine = Engine(scenario, args.exact_samples, 1, np, False)
    net, rows = engine.network, []
    for t, month in enumerate(engine.months):
        if not month.endswith("-12"):
            continue
        bits = np.zeros(net.n_bits, bool)
        bits[net.region_bit0:] = engine.open_month > t
        states = net.states(net.canonical([pack_bits(bits)]))
        demand = engine.paths.market_at(t).reshape(-1, net.n_markets).astype(float)
        cap = np.repeat(engine.capacity_mw[:, t, :], args.exact_samples, axis=0) * np.asarray(states.region_up[0])
        state = np.zeros(len(demand), dtype=int)
        fast = assign_nearest_first(demand, cap, states.rtt_ms, states.order, state)
        *_, fast_rtt, fast_mw = fast.grants()
        exact = assign_by_latency(demand, states.rtt_ms[0][None], cap, scenario.analysis.slo_rtt_ms)
        slo = scenario.analysis.slo_rtt_ms
        fast_within = (fast_mw * (fast_rtt <= slo)).sum()
        total = demand.sum()
        fast_cost = (fast_mw * fast_rtt).sum()
        exact_cost = (np.asarray(exact.alloc) * np.where(np.isfinite(states.rtt_ms[0]), states.rtt_ms[0], 0)).sum()
        rows.append({"month": month, "demand MW": total, "within SLO fast %": 100 * fast_within / total,
                     "within SLO exact %": 100 * float(np.asarray(exact.within_slo).sum()) / total,
                     "unmet fast MW": float(fast.unmet.sum()), "unmet exact MW": float(np.asarray(exact.unmet).sum()),
                     "mean RTT fast ms": fast_cost / max(fast_mw.sum(), 1e-9),
                     "mean RTT exact ms": exact_cost / max(float(np.asarray(exact.alloc).sum()), 1e-9)})
        print(tabulate(rows[-1:], headers="keys", floatfmt=".2f"), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", default="100,1000")
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy", "auto"])
    parser.add_argument("--max-memory", type=float, default=2.0)
    parser.add_argument("--no-failures", action="store_true")
    parser.add_argument("--sites", action="store_true", help="scale with the number of sites")
    parser.add_argument("--site-samples", type=int, default=20)
    parser.add_argument("--kdl-n-minus-1", action="store_true", help="also run N-1 on the 754-node graph")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--compare-exact", action="store_true")
    parser.add_argument("--exact-samples", type=int, default=4)
    parser.add_argument("--against", help="a checkout of another commit: run the default scenario here and there in turn")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--json", help="write the measured rows here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.profile:
        profile(args)
        return 0
    if args.compare_exact:
        compare_exact(args)
        return 0
    if args.against:
        rows = bench_against(args)
        print(table(rows))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench_sites(args, Path(tmp)) if args.sites else bench_samples(args, Path(tmp))
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
