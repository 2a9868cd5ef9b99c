"""Time the planning commands on the default scenario: `infrasim advise` and `infrasim support`.

    python benchmarks/planning_bench.py [--repeats 3] [--top 3] [--samples 32] [--backend numpy]

Prints wall and CPU seconds (CPU time moves less than wall time on a shared machine) of:
- one greedy step of advise: every candidate of the default set (GeoNames metros) across samples, curves
  and checkpoint months in one batched evaluation (graphs built, shortest paths, assignment);
- the whole `advise` (``--top`` picks, each with its month-by-month saturation check);
- the whole `support` (six years, every centre closed in turn).
Figures are in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim.model.scenario import load_scenario
from sim.planning.advise import DEFAULT_SAMPLES, advise, checkpoint_months
from sim.planning.candidates import geonames_candidates
from sim.planning.support import support
from sim.planning.variants import PlanningBase

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "alibaba-2025.yaml"


def timed(label: str, call):
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    print(f"{label:<58} {time.perf_counter() - wall:8.2f} s wall {time.process_time() - cpu:8.2f} s CPU", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES)
    parser.add_argument("--backend", default="numpy")
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    base = PlanningBase.prepare(scenario, args.samples, backend=args.backend)
    opens = "2026-07"
    cands = geonames_candidates(base.regions, 60.0, opens)
    months, weights = checkpoint_months(base, base.month_index(opens), "december")
    elements = (len(cands) + 1) * len(months) * len(base.curves) * args.samples
    print(f"{len(cands)} candidates, {len(months)} months x {len(base.curves)} curves x {args.samples} samples: "
          f"{elements:,} elements (variant x month x curve x sample) per step, backend {args.backend}")
    for r in range(args.repeats):
        timed(f"[{r + 1}] one greedy step (all candidates, one batch)",
              lambda: base.evaluate([[]] + [[c] for c in cands], months, weights))
        timed(f"[{r + 1}] advise --top {args.top} (whole command, no --out)",
              lambda: advise(scenario, top=args.top, samples=args.samples, backend=args.backend))
        timed(f"[{r + 1}] support (whole command, no --out)", lambda: support(scenario, backend=args.backend))


if __name__ == "__main__":
    main()
