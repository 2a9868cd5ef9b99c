"""Time the planning commands on the default scenario: `infrasim advise` and `infrasim support`.

    python benchmarks/planning_bench.py [--repeats 3] [--top 3] [--samples 32] [--backend numpy]

Prints wall and CPU seconds (CPU time moves less than wall time on a shared machine) of:
- one greedy step of advise: every candidate of the default set (GeoNames metros) across samples, curves
  and checkpoint months in one batched evaluation (graphs built, shortest paths, assignment);
- the whole `advise` (``--top`` picks, each with its month-by-month saturation check);
- the whole `support` (six years, every centre closed in turn).
``--check-full-runs N`` instead compares the first step's batched gains of the N best candidates (each
open from the horizon start, every month) with full engine runs that add the candidate to the scenario:
random failures, the scripted cable cut and link queueing included.
Figures are in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sim.engine.calendar import simulate
from sim.model.catalogue import load_regions
from sim.model.scenario import load_scenario, scenario_from_dict
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


def full_run_gain_mw(scenario, site, samples: int) -> float:
    """Mean MW within the SLO over the horizon, samples and curves, of a full run with ``site`` added
    (open from the start, its MW on top of the plan: the plan keeps the other regions' zone weights)."""
    raw = scenario.model_dump(mode="json")
    raw["analysis"]["n_minus_1"] = False  # N-1 does not enter the totals
    if site is not None:
        raw["footprint"]["add"] = [{"id": site.id, "lat": site.lat, "lon": site.lon, "capacity_mw": site.capacity_mw}]
        raw["supply"]["plan_weights"] = {r.id: r.zones for r in load_regions(scenario.footprint)}
    engine, state, _, _ = simulate(scenario_from_dict(raw, source=scenario.source), samples, backend="numpy",
                                   progress=False)
    return float(state.totals["within"].mean() / engine.month_start_day[-1])


def check_full_runs(scenario, count: int, samples: int) -> None:
    base = PlanningBase.prepare(scenario, samples)
    cands = geonames_candidates(base.regions, 60.0, base.months[0])
    months, weights = checkpoint_months(base, 0, "all")
    out = base.evaluate([[]] + [[c] for c in cands], months, weights)
    batched = out.mean_over_months(out.within_mw[1:] - out.within_mw[:1]).mean(axis=(1, 2))
    reference = full_run_gain_mw(scenario, None, samples)
    print(f"{'candidate':<24} {'batched gain MW':>16} {'full-run gain MW':>17}")
    for k in np.argsort(-batched)[:count]:
        full = full_run_gain_mw(scenario, cands[k], samples) - reference
        print(f"{cands[k].name + ', ' + cands[k].jurisdiction:<24} {batched[k]:16.1f} {full:17.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES)
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--check-full-runs", type=int, default=0, metavar="N")
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    if args.check_full_runs:
        check_full_runs(scenario, args.check_full_runs, args.samples)
        return
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
