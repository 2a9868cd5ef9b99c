"""The `infrasim` command line: a thin face over the Python API.

Each sub-command parses its arguments, calls one API function and prints. Bad input of any kind ends
with one line ``FILE: field.path: reason`` on stderr and exit code 2; Ctrl-C ends with code 130 after
the API has kept what it finished.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sim.errors import EXIT_INPUT, InputError

DEFAULT_SCENARIO = Path("scenarios") / "alibaba-2025.yaml"
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a Unix tool whose reader closed early


def _scenario(path: str | None):
    from sim.model.scenario import load_scenario, scenario_from_dict

    if path is None:
        return scenario_from_dict({"name": "default footprint"})
    return load_scenario(path)


def cmd_validate(args) -> int:
    scenario = _scenario(args.scenario)
    print(f"{args.scenario}: ok ({scenario.name})")
    return 0


def cmd_schema(args) -> int:
    from sim.model.scenario import json_schema

    print(json_schema())
    return 0


def cmd_regions(args) -> int:
    from tabulate import tabulate

    from sim.model.world import build_world

    world = build_world(_scenario(args.scenario))
    rows = world.footprint_rows()
    print(tabulate(rows, headers="keys", floatfmt=".0f"))
    existing = [r for r in world.regions if r.status == "existing"]
    print(f"\n{len(existing)} regions open at the start with {sum(r.zones for r in existing)} zones; "
          f"{len(world.regions) - len(existing)} new regions and {len(world.expansions)} zone expansions announced.")
    return 0


def cmd_latency(args) -> int:
    from sim.engine.routes import write_latency_csv

    out = Path(args.out) if args.out else None
    text = write_latency_csv(_scenario(args.scenario), Path(args.pairs), out)
    if text:
        print(text, end="")
    return 0


def cmd_demand(args) -> int:
    from sim.outputs.demand_report import write_demand_outputs

    scenario = _scenario(args.scenario)
    samples = args.samples or min(scenario.samples, 1000)
    seed = scenario.seed if args.seed is None else args.seed
    print(write_demand_outputs(scenario, Path(args.out), samples, seed))
    return 0


def cmd_run(args) -> int:
    """`infrasim run`: simulate, write the run folder, print the headline."""
    from sim.api import run

    out_dir = Path(args.out)
    results = run(_scenario(args.scenario), samples=args.samples, seed=args.seed, backend=args.backend,
                  out_dir=out_dir, progress=None if not args.quiet else False, max_memory_gb=args.max_memory)
    for line in results.summary.get("headline", []):
        print(line)
    print(f"wrote {out_dir}/ (summary.json, tables, plots, report.html) in {results.summary['runtime_s']:.1f} s")
    if results.meta.get("interrupted"):
        raise KeyboardInterrupt
    return 0


def cmd_report(args) -> int:
    from sim.outputs.report import write_report

    path = write_report(Path(args.run_dir))
    print(f"wrote {path}")
    return 0


def cmd_compare(args) -> int:
    """`infrasim compare`: what moved between two finished run folders."""
    from sim.outputs.compare import compare_runs, write_comparison

    comparison = compare_runs(Path(args.base_dir), Path(args.variant_dir), curve=args.curve)
    out_dir = write_comparison(comparison, Path(args.out))
    print("\n".join(comparison.lines))
    print(f"wrote {out_dir}/ (delta tables, compare.png, compare.html)")
    return 0


def cmd_selfcheck(args) -> int:
    from sim.validation.selfcheck import main as selfcheck_main

    return selfcheck_main(out_dir=Path(args.out) if args.out else None, quick=args.quick)


def cmd_advise(args) -> int:
    """`infrasim advise`: where to build next; the picks' sentences and the best candidates."""
    from tabulate import tabulate

    from sim.api import advise

    advice = advise(_scenario(args.scenario), candidates=args.candidates, top=args.top, capacity_mw=args.capacity_mw,
                    opens=args.opens, samples=args.samples, seed=args.seed, backend=args.backend,
                    min_population=args.min_population, months=args.months, rank_by=args.rank_by,
                    out_dir=args.out)
    s = advice.summary
    print(f"{s['candidates']} candidates ({s['candidate_source']}), {s['capacity_mw']:g} MW from {s['opens']}, "
          f"{s['samples']} samples x {len(s['curves'])} curves x {len(s['months_evaluated'])} months; "
          f"{s['runtime_s']:.1f} s\n")
    for line in advice.sentences:
        print(line)
    first = advice.candidates[(advice.candidates.step == 1) & (advice.candidates.curve == s["curves"][
        s["curves"].index("base") if "base" in s["curves"] else 0])].sort_values("rank").head(10)
    print("\nBest candidates of the first step (gain within the SLO, MW):")
    print(tabulate(first[["rank", "name", "country", "score", "gain_within_slo_mw_p10", "gain_within_slo_mw_p50",
                          "gain_within_slo_mw_p90", "rtt_cut_top_markets"]],
                   headers=["#", "candidate", "country", "expected", "P10", "P50", "P90", "RTT cut most"],
                   showindex=False, floatfmt=".1f"))
    if args.out:
        print(f"\nwrote {args.out}/ (advise_*.csv, advise.json, plots/advise_map.png, report.html)")
    return 0


def cmd_support(args) -> int:
    """`infrasim support`: agents per centre, and what each centre's closure does to the others."""
    from tabulate import tabulate

    from sim.api import support

    staffing = support(_scenario(args.scenario), centres=args.centres, samples=args.samples, seed=args.seed,
                       curve=args.curve, tickets_per_mw_month=args.tickets_per_mw_month,
                       handle_minutes=args.handle_minutes, service_level=args.service_level,
                       answer_within_s=args.answer_within_s, backend=args.backend, out_dir=args.out)
    centres = staffing.centres
    table = centres.pivot_table(index="centre_id", columns="year", values="agents_fte", sort=False)
    print(f"Full-time agents per centre and year ({staffing.summary['curve']} curve, P50 served demand):")
    print(tabulate(table.reset_index(), headers="keys", showindex=False, floatfmt=".1f"))
    print()
    for line in staffing.sentences:
        print(line)
    if args.out:
        print(f"\nwrote {args.out}/ (support_*.csv, support.json, plots/support_agents.png, report.html)")
    return 0


def cmd_sweep(args) -> int:
    from sim.sweep import sweep_cli

    return sweep_cli(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="infrasim", description="Simulate an AI cloud footprint: saturation, "
                                     "latency, link congestion and failures, over Monte Carlo demand.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run a scenario and write tables, plots and report.html")
    p.add_argument("scenario", nargs="?", default=str(DEFAULT_SCENARIO))
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--samples", type=int, help="Monte Carlo samples (default: the scenario's)")
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    p.add_argument("--backend", choices=["auto", "numpy", "cupy"], default="auto")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--max-memory", type=float, dest="max_memory", metavar="GB",
                   help="memory budget: batches are chunked to fit, a run that cannot fit is refused "
                        "(default: the scenario's analysis.max_memory_gb, 2)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a scenario file")
    p.add_argument("scenario")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("regions", help="the footprint as a table")
    p.add_argument("scenario", nargs="?")
    p.set_defaults(func=cmd_regions)

    p = sub.add_parser("latency", help="predict round-trip times for pairs of places")
    p.add_argument("scenario")
    p.add_argument("--pairs", required=True, help="CSV with columns a_lat,a_lon,b_lat,b_lon")
    p.add_argument("--out", help="output CSV (default: print to stdout)")
    p.set_defaults(func=cmd_latency)

    p = sub.add_parser("demand", help="demand fans and the build-out plan, without the network")
    p.add_argument("scenario", nargs="?", default=str(DEFAULT_SCENARIO))
    p.add_argument("--out", default="out-demand")
    p.add_argument("--samples", type=int)
    p.add_argument("--seed", type=int)
    p.set_defaults(func=cmd_demand)

    p = sub.add_parser("report", help="rebuild plots and report.html from a finished run folder")
    p.add_argument("run_dir")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="what changes between two finished runs: delta tables, a plot, a summary")
    p.add_argument("base_dir", help="run folder of the base scenario")
    p.add_argument("variant_dir", help="run folder of the variant")
    p.add_argument("--out", default="compare-out", help="output folder (default: compare-out)")
    p.add_argument("--curve", help="demand curve the summary lines describe (default: base)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("selfcheck", help="validate the model against theory and measurement")
    p.add_argument("--out", help="folder for the plots; the page is written beside it as DIR.md")
    p.add_argument("--quick", action="store_true", help="shorter simulations (looser, for smoke tests)")
    p.set_defaults(func=cmd_selfcheck)

    p = sub.add_parser("advise", help="where to build the next regions (greedy over candidate metros)")
    p.add_argument("scenario", nargs="?", default=str(DEFAULT_SCENARIO))
    p.add_argument("--candidates", metavar="CSV", help="candidate sites: name,lat,lon[,jurisdiction,cost_per_mw_usd] "
                   "(default: GeoNames metros)")
    p.add_argument("--top", type=int, default=3, help="sites to pick, in greedy order (default 3)")
    p.add_argument("--capacity-mw", type=float, dest="capacity_mw", help="IT MW of each new site "
                   "(default: two zones)")
    p.add_argument("--opens", metavar="YYYY-MM", help="opening month (default: horizon start + supply lead time)")
    p.add_argument("--min-population", type=int, dest="min_population", help="GeoNames candidates: inhabitants "
                   "(default 1,500,000)")
    p.add_argument("--months", choices=["december", "all"], default="december",
                   help="months evaluated while the site is open (default: each December)")
    p.add_argument("--rank-by", choices=["gain", "gain_per_cost"], default="gain", dest="rank_by")
    p.add_argument("--samples", type=int, help="Monte Carlo samples per candidate (default 32)")
    p.add_argument("--seed", type=int)
    p.add_argument("--backend", choices=["auto", "numpy", "cupy"], default="numpy")
    p.add_argument("--out", help="folder to add advise_*.csv, the map and report.html to")
    p.set_defaults(func=cmd_advise)

    p = sub.add_parser("support", help="agents per support centre and hour, and each centre closed in turn")
    p.add_argument("scenario", nargs="?", default=str(DEFAULT_SCENARIO))
    p.add_argument("--centres", metavar="CSV", help="support centres (default: the packaged ones)")
    p.add_argument("--curve", default="base", help="demand curve staffed for (default base)")
    p.add_argument("--tickets-per-mw-month", type=float, dest="tickets_per_mw_month")
    p.add_argument("--handle-minutes", type=float, dest="handle_minutes")
    p.add_argument("--service-level", type=float, dest="service_level", help="share answered in time (default 0.8)")
    p.add_argument("--answer-within-s", type=float, dest="answer_within_s", help="seconds (default 60)")
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--seed", type=int)
    p.add_argument("--backend", choices=["auto", "numpy", "cupy"], default="numpy")
    p.add_argument("--out", help="folder to add support_*.csv, the plot and report.html to")
    p.set_defaults(func=cmd_support)

    p = sub.add_parser("sweep", help="run many variants of a scenario on Dask")
    p.add_argument("scenario")
    p.add_argument("--vary", action="append", default=[], metavar="KEY.PATH=V1,V2,...")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--grid", action="store_true", help="all combinations (default)")
    mode.add_argument("--zip", action="store_true", help="the i-th values together")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    p.add_argument("--workers", type=int, help="local cluster workers")
    p.add_argument("--samples", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--backend", choices=["auto", "numpy", "cupy"], default="numpy")
    p.add_argument("--max-memory", type=float, dest="max_memory", help="GB per variant")
    p.add_argument("--out", default="sweep-out")
    p.set_defaults(func=cmd_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader that left early shows up here, not in the interpreter's last flush
        return code
    except InputError as err:
        print(str(err), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted: finished work was kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_gone()


def _reader_gone() -> int:
    """The reader of stdout closed early (``infrasim regions | head -3``): stop quietly, as a Unix tool
    killed by SIGPIPE does. stdout is pointed at /dev/null so the interpreter's final flush of what is
    still buffered cannot raise again (the recipe of the Python signal module's documentation)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
