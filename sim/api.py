"""The Python API: `run` a scenario and get a :class:`~sim.outputs.results.Results` back; `advise` where
to build next and `support` how to staff the support centres.

>>> import sim
>>> results = sim.run("scenarios/alibaba-2025.yaml", samples=200, backend="numpy")
>>> results.tables["new_zones"].head()
>>> results.plot_saturation()
>>> advice = sim.advise("scenarios/alibaba-2025.yaml", top=3)
>>> advice.picks, advice.sentences
>>> staffing = sim.support("scenarios/alibaba-2025.yaml")
>>> staffing.centres, staffing.closures

The command line (`infrasim run`, `advise`, `support`) is these functions plus printing.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sim.engine.calendar import simulate
from sim.model.scenario import Scenario, load_scenario, scenario_from_dict
from sim.outputs.results import Results
from sim.outputs.tables import build_results


def _as_scenario(scenario: Any) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return scenario_from_dict(scenario)
    return load_scenario(scenario)


def run(scenario: Scenario | str | Path | dict, *, samples: int | None = None, seed: int | None = None,
        backend: str = "auto", out_dir: str | Path | None = None, progress: bool | None = None,
        max_memory_gb: float | None = None, report: bool = True) -> Results:
    """Simulate a scenario and return its results; write the run folder when ``out_dir`` is given.

    An interrupted run (Ctrl-C) returns, and writes, the months it finished, with
    ``results.meta["interrupted"] = True``.
    """
    scenario = _as_scenario(scenario)
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    engine, state, backend_name, runtime_s = simulate(scenario, samples, seed, backend, progress, max_memory_gb)
    results = build_results(engine, state, backend_name, runtime_s, started_at)
    if out_dir is not None:
        results.write(out_dir, report=report)
    return results


def _write_planning(kind: str, tables, summary, scenario: Scenario, out_dir) -> None:
    """Add a planning result to ``out_dir`` and redraw its report.html."""
    from sim.model.scenario import dump_resolved
    from sim.outputs.planning_report import write_planning
    from sim.outputs.report import write_report

    write_planning(out_dir, kind, tables, summary, dump_resolved(scenario))
    write_report(Path(out_dir))


def advise(scenario: Scenario | str | Path | dict, *, candidates: str | Path | None = None, top: int = 3,
           capacity_mw: float | None = None, opens: str | None = None, samples: int | None = None,
           seed: int | None = None, backend: str = "numpy", min_population: int | None = None,
           months: str = "december", rank_by: str = "gain", out_dir: str | Path | None = None):
    """Where to build next: greedy choice of ``top`` new sites among candidate metros (GeoNames) or the
    ``candidates`` CSV; returns a :class:`sim.planning.advise.Advice` (tables, picks, sentences) and
    adds it to ``out_dir`` when given. See sim/planning/advise.py for the method."""
    from sim.planning import advise as planning

    scenario = _as_scenario(scenario)
    advice = planning.advise(scenario, candidates_csv=candidates, top=top, capacity_mw=capacity_mw, opens=opens,
                             samples=planning.DEFAULT_SAMPLES if samples is None else samples, seed=seed,
                             backend=backend, months=months, rank_by=rank_by,
                             min_population=planning.DEFAULT_MIN_POPULATION if min_population is None
                             else min_population)
    if out_dir is not None:
        _write_planning("advise", advice.tables, advice.summary, scenario, out_dir)
    return advice


def support(scenario: Scenario | str | Path | dict, *, centres: str | Path | None = None, samples: int = 100,
            seed: int | None = None, curve: str = "base", tickets_per_mw_month: float | None = None,
            handle_minutes: float | None = None, service_level: float | None = None,
            answer_within_s: float | None = None, backend: str = "numpy", out_dir: str | Path | None = None):
    """How to staff the support centres: agents per centre and hour (Erlang C, follow-the-sun by language)
    and each centre closed in turn; returns a :class:`sim.planning.support.Support` and adds it to
    ``out_dir`` when given. See sim/planning/support.py for the model and its assumptions."""
    from sim.planning import support as planning

    given = dict(tickets_per_mw_month=tickets_per_mw_month, handle_minutes=handle_minutes,
                 service_level=service_level, answer_within_s=answer_within_s)
    params = planning.Params(**{k: float(v) for k, v in given.items() if v is not None})
    scenario = _as_scenario(scenario)
    staffing = planning.support(scenario, centres_csv=centres, samples=samples, seed=seed, curve=curve,
                                params=params, backend=backend)
    if out_dir is not None:
        _write_planning("support", staffing.tables, staffing.summary, scenario, out_dir)
    return staffing
