"""The results of a run: tidy tables, the headline summary, and the run folder on disk.

A :class:`Results` holds pandas DataFrames (one per CSV of the run folder, see docs/ARCHITECTURE.md),
the ``summary`` dict (summary.json) and ``meta`` (run.json). ``write`` puts them on disk atomically:
into ``DIR.partial`` first, renamed to ``DIR`` when complete, so a folder that exists is whole.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


def _json_safe(value: Any) -> Any:
    """JSON without NaN/inf: infinite values become the string "inf" (overloaded), NaN None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _json_safe(value.item())
    return value


@dataclass
class Results:
    """Everything a run produced. Tables are tidy: one row per (curve, month, quantile, element)."""

    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    meta: dict[str, Any]
    scenario_yaml: str = ""
    scenario: Any = None
    extra_files: dict[str, bytes] = field(default_factory=dict)

    def write(self, out_dir: str | Path, report: bool = True) -> Path:
        """Write the run folder atomically; then plots and report.html (unless ``report`` is False)."""
        out_dir = Path(out_dir)
        partial = out_dir.with_name(out_dir.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for name, table in self.tables.items():
            table.to_csv(partial / f"{name}.csv", index=False)
        (partial / "summary.json").write_text(json.dumps(_json_safe(self.summary), indent=2))
        (partial / "run.json").write_text(json.dumps(_json_safe(self.meta), indent=2))
        (partial / "scenario.yaml").write_text(self.scenario_yaml, encoding="utf-8")
        for name, data in self.extra_files.items():
            (partial / name).write_bytes(data)
        if report:
            from sim.outputs.report import write_report

            write_report(partial)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(partial, out_dir)
        return out_dir

    @classmethod
    def read(cls, run_dir: str | Path) -> "Results":
        """Load a finished run folder (tables as DataFrames, ids and months kept as text)."""
        from sim.outputs.report import read_run_folder

        run = read_run_folder(Path(run_dir))
        return cls(run["tables"], run["summary"], run["meta"], run.get("scenario_yaml", ""))

    # Plots for notebooks: each returns a matplotlib Figure (see sim.outputs.plots).
    def _plot(self, name: str, **options):
        from sim.outputs import plots

        return getattr(plots, name)(self.tables, self.summary, **options)

    def _scenario_mapping(self) -> dict:
        if self.scenario is not None:
            return self.scenario.model_dump()
        import yaml

        return yaml.safe_load(self.scenario_yaml) or {}

    def plot_map(self):
        return self._plot("plot_map")

    def plot_fans(self):
        return self._plot("plot_fans")

    def plot_saturation(self):
        return self._plot("plot_saturation")

    def plot_links(self):
        return self._plot("plot_links", scenario=self._scenario_mapping())

    def plot_latency(self):
        return self._plot("plot_latency", scenario=self._scenario_mapping())

    def plot_n_minus_1(self):
        return self._plot("plot_n_minus_1")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}[{len(v)}]" for k, v in self.tables.items())
        return f"Results({self.summary.get('scenario_name', '?')}: {sizes})"
