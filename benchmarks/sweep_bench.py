"""Sweep throughput: variants per minute on a local Dask cluster vs one process running them in turn.

Runs the same sweep twice into fresh folders:

1. sequential: ``run_sweep(..., scheduler="sync")``, every variant one after another in this process
   (no Dask at all: the baseline a sweep must beat);
2. dask: a local cluster of ``--workers`` worker processes (one thread each), started before the clock
   starts and made to import the engine; that start-up time is reported on its own, not included.

By default each variant is a real run of a tiny scenario (``--samples`` samples over ``--months``
months, N-1 study off); ``--fake-seconds S`` instead uses a runner that burns S seconds of CPU in pure
Python, which isolates the sweep's own overhead (scheduling, file transfer, atomic writes).

Usage: ``PYTHONPATH=. python benchmarks/sweep_bench.py [--workers 2] [--samples 20] [--months 6]``
Figures depend on free cores: on a shared machine, run it when it is otherwise idle.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

VARY = ["demand.cost_per_mw_usd=35e6,40e6,45e6,50e6", "supply.lead_time_months=12,18"]  # 8 variants


def scenario_text(samples: int, months: int) -> str:
    end_year, end_month = 2025 + (months - 1) // 12, (months - 1) % 12 + 1
    return (f"name: sweep benchmark\nsamples: {samples}\nseed: 7\n"
            f"horizon: {{start: '2025-01', end: '{end_year}-{end_month:02d}'}}\n"
            "analysis: {n_minus_1: false}\n")


def burn_runner(seconds: float):
    """A runner that holds the CPU (and the GIL) for ``seconds`` and writes a minimal summary."""

    def run(scenario, *, samples, seed, backend, out_dir, progress, max_memory_gb):
        stop, count = time.perf_counter() + seconds, 0
        while time.perf_counter() < stop:
            count += 1
        summary = {"horizon": {"start": scenario.horizon.start, "end": scenario.horizon.end}, "samples": samples,
                   "new_zones": {}, "runtime_s": seconds}
        out_dir.mkdir(parents=True)
        (out_dir / "summary.json").write_text(json.dumps(summary))
        return SimpleNamespace(summary=summary)

    return run


def _warm_up() -> None:
    import sim.api  # noqa: F401 - numpy, pandas, simpy, networkx and the engine

    _ = sim.api


def timed_sweep(path: Path, out: Path, **kw) -> tuple[float, int, float]:
    """Wall time of the sweep, number of variants, mean wall time of one variant inside its task."""
    from sim.sweep import run_sweep

    started = time.perf_counter()
    table = run_sweep(path, VARY, out_dir=out, progress=False, **kw)
    elapsed = time.perf_counter() - started
    bad = table[table.status != "ok"]
    if len(bad):
        raise SystemExit(f"{len(bad)} variant(s) did not run: {bad.error.iloc[0]}")
    task_s = [json.loads(p.read_text())["task_s"] for p in (out / "variants").glob("*/variant.json")]
    return elapsed, len(table), sum(task_s) / len(task_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--fake-seconds", type=float, help="use a CPU-burning fake runner instead of sim.run")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    runner = burn_runner(args.fake_seconds) if args.fake_seconds else None
    what = f"fake runner {args.fake_seconds} s" if runner else f"sim.run, {args.samples} samples, {args.months} months"
    work = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    try:
        path = work / "scenario.yaml"
        path.write_text(scenario_text(args.samples, args.months))
        seq_s, n, seq_task_s = timed_sweep(path, work / "seq", scheduler="sync", runner=runner)
        started = time.perf_counter()
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
        client.run(_warm_up)  # workers import the engine before the clock starts, as a warm cluster would
        startup_s = time.perf_counter() - started
        try:
            dask_s, _, dask_task_s = timed_sweep(path, work / "dask", client=client, runner=runner)
        finally:
            client.close()
            cluster.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"sweep of {n} variants ({what})")
    print(f"sequential, one process : {seq_s:7.2f} s  {60 * n / seq_s:7.1f} variants/min  "
          f"(one variant {seq_task_s:.2f} s)")
    print(f"dask, {args.workers} worker processes: {dask_s:7.2f} s  {60 * n / dask_s:7.1f} variants/min  "
          f"(one variant {dask_task_s:.2f} s; speed-up {seq_s / dask_s:.2f}x; cluster start-up and imports {startup_s:.1f} s not included)")


if __name__ == "__main__":
    main()
