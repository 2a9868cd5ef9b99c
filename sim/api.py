"""The Python API: `run` a scenario and get a :class:`~sim.outputs.results.Results` back.

>>> import sim
>>> results = sim.run("scenarios/alibaba-2025.yaml", samples=200, backend="numpy")
>>> results.tables["new_zones"].head()
>>> results.plot_saturation()

The command line (`infrasim run`) is this function plus printing.
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
