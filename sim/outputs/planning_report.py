"""Planning results in a folder (``infrasim advise --out``, ``infrasim support --out``) and the report
sections that show them.

Conventions of a run folder: tidy CSV tables, a JSON summary, figures as ``plots/*.png`` and ``.svg``,
``report.html``. A planning command adds its files to the folder (``advise_*.csv`` and ``advise.json``,
or ``support_*.csv`` and ``support.json``; each file written whole, then renamed into place) and leaves
the rest alone, so one folder can hold a run, its advice and its staffing, and ``report.html`` shows
every part the folder has. A folder that already holds another scenario's results is refused.
"""
from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Callable, Mapping

import matplotlib
import pandas as pd
import yaml

from sim.errors import InputError
from sim.outputs.planning_plots import PLOTS
from sim.outputs.plots import STYLE

KINDS = {"advise": ("advise_candidates", "advise_picks", "advise_footprint"),
         "support": ("support_hourly", "support_centres", "support_closures", "support_routing", "support_markets")}
FIGURES = {"advise": ("advise_map",), "support": ("support_agents",)}
TEXT_COLUMNS = {"candidate_id", "name", "country", "jurisdiction", "opens", "curve", "centre_id", "city",
                "closed_centre", "market_id", "language", "day_utc", "local_time", "hours", "languages",
                "peak_hour_utc", "region_id", "status", "timezone", "saturation_before", "saturation_after"}
CAPTIONS = {
    "advise_map": ("Where to build next", "Each candidate metro coloured by its expected gain in demand served "
                   "within the latency SLO at the first greedy step (darker = more); squares are the footprint's "
                   "regions, stars the picks in greedy order."),
    "support_agents": ("Agents by hour", "Agents each support centre needs on duty, hour by hour (UTC), on a "
                       "weekday and on a Sunday of the reference week of the horizon's last year."),
}


# ------------------------------------------------------------------------------------ writing
def _replace(path: Path, text: str) -> None:
    """Write ``path`` whole: into a temporary file beside it, then renamed over it."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write_planning(out_dir: str | Path, kind: str, tables: Mapping[str, pd.DataFrame], summary: Mapping,
                   scenario_yaml: str) -> Path:
    """Add a planning result (``kind`` 'advise' or 'support') to ``out_dir`` (created when missing)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = out_dir / "scenario.yaml"
    if existing.is_file() and not _same_scenario(existing.read_text(encoding="utf-8"), scenario_yaml):
        raise InputError(str(out_dir), "scenario.yaml", "the folder holds results of another scenario "
                         "(or of other settings); choose another --out folder")
    for name, frame in tables.items():
        _replace(out_dir / f"{name}.csv", frame.to_csv(index=False))
    # numpy scalars become plain numbers; a NaN or infinity in a summary is a bug, so it raises
    _replace(out_dir / f"{kind}.json", json.dumps(dict(summary), indent=2, allow_nan=False,
                                                   default=lambda value: value.item()))
    if not existing.is_file():
        _replace(existing, scenario_yaml)
    return out_dir


def _same_scenario(written_yaml: str, scenario_yaml: str) -> bool:
    """Two resolved scenarios describe the same world: equal but for the samples and seed, which a run
    folder's scenario.yaml records as run (the command line may have set them) and planning sets itself."""
    def world(text: str) -> dict:
        mapping = yaml.safe_load(text) or {}
        return {k: v for k, v in mapping.items() if k not in ("samples", "seed")} if isinstance(mapping, dict) else {}

    return world(written_yaml) == world(scenario_yaml)


# ------------------------------------------------------------------------------------ reading
def read_planning(run_dir: Path) -> dict[str, dict]:
    """The planning results a folder holds: {kind: {'tables': {name: DataFrame}, 'summary': dict}}."""
    run_dir = Path(run_dir)
    found = {}
    for kind, names in KINDS.items():
        summary_path = run_dir / f"{kind}.json"
        if not summary_path.is_file():
            continue
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(str(run_dir), f"{kind}.json", f"cannot be read as JSON: {err}") from err
        tables = {name: _read_csv(run_dir, name) for name in names if (run_dir / f"{name}.csv").is_file()}
        found[kind] = {"tables": tables, "summary": summary}
    return found


def _read_csv(run_dir: Path, name: str) -> pd.DataFrame:
    path = run_dir / f"{name}.csv"
    try:
        header = pd.read_csv(path, nrows=0).columns
        return pd.read_csv(path, dtype={c: str for c in header if c in TEXT_COLUMNS}, keep_default_na=False,
                           na_values=[""])
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise InputError(str(run_dir), f"{name}.csv", f"cannot be read as CSV: {err}") from err


# ------------------------------------------------------------------------------------ figures
def save_plots(planning: Mapping[str, dict], out_dir: Path) -> dict[str, Path]:
    """Draw the planning figures (PNG and SVG into ``out_dir``); return {figure name: PNG path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = {}
    for kind, part in planning.items():
        for name in FIGURES[kind]:
            fig = PLOTS[name](part["tables"], part["summary"])
            with matplotlib.rc_context(STYLE):
                for ext in ("png", "svg"):
                    fig.savefig(out_dir / f"{name}.{ext}", format=ext, facecolor="white")
            pngs[name] = out_dir / f"{name}.png"
    return pngs


# ------------------------------------------------------------------------------------ report sections
def sections_html(planning: Mapping[str, dict], pngs: Mapping[str, Path], table: Callable[..., str],
                  image: Callable[[Path, str, tuple[str, str]], str]) -> str:
    """HTML sections for the planning results; ``table(frame, caption)`` and ``image(png, name, captions)``
    are the report's own renderers (passed in: this module does not import the report)."""
    out = []
    if "advise" in planning:
        out.append(_advise_html(planning["advise"], pngs, table, image))
    if "support" in planning:
        out.append(_support_html(planning["support"], pngs, table, image))
    return "".join(out)


def _sentences(summary: Mapping) -> str:
    items = "".join(f"<li>{html.escape(str(s))}</li>" for s in summary.get("headline") or [])
    return f"<ol>{items}</ol>" if items else ""


def _advise_html(part: dict, pngs, table, image) -> str:
    summary, tables = part["summary"], part["tables"]
    intro = (f"<p>Greedy choice of {len(summary.get('picks', []))} new site(s) of "
             f"{html.escape(str(summary.get('capacity_mw', '?')))} MW opening "
             f"{html.escape(str(summary.get('opens', '?')))}, among {summary.get('candidates', '?')} candidates "
             f"({html.escape(str(summary.get('candidate_source', '')))}), each step one batched evaluation over "
             f"{summary.get('samples', '?')} samples, the curves {html.escape(', '.join(summary.get('curves', [])))} "
             f"and the months {html.escape(', '.join(summary.get('months_evaluated', [])))}. Gains are against the "
             "footprint of the step (with the earlier picks); the intact network, propagation RTT only "
             "(see docs/MODEL.md).</p>")
    parts = [f'<h2 id="advise">Where to build next</h2>{intro}{_sentences(summary)}']
    if "advise_map" in pngs:
        parts.append(image(pngs["advise_map"], "advise_map", CAPTIONS["advise_map"]))
    if "advise_picks" in tables:
        parts.append(table(tables["advise_picks"].drop(columns=["sentence"], errors="ignore"), "The picks"))
    cands = tables.get("advise_candidates")
    if cands is not None and not cands.empty:
        first = cands[(cands.step == cands.step.min()) & (cands.curve == _main_curve(cands))].sort_values("rank")
        cols = ["rank", "name", "country", "score", "gain_within_slo_mw_p10", "gain_within_slo_mw_p50",
                "gain_within_slo_mw_p90", "unmet_avoided_mw_p50", "rtt_cut_top_markets"]
        parts.append(table(first[cols].head(15), f"Best candidates of the first step ({_main_curve(cands)} curve "
                                                 "quantiles; score = expected gain over samples and curves)"))
    return "".join(parts)


def _support_html(part: dict, pngs, table, image) -> str:
    summary, tables = part["summary"], part["tables"]
    intro = (f"<p>Follow-the-sun routing by language to the nearest open centre, Erlang C staffing to "
             f"{100 * float(summary.get('service_level_target', 0)):.0f} % answered within "
             f"{summary.get('answer_within_s', '?')} s; {summary.get('tickets_per_mw_month', '?')} tickets per MW "
             f"served per month, {summary.get('handle_minutes', '?')} min per ticket, served demand of the "
             f"{html.escape(str(summary.get('curve', '')))} curve (P50). Assumptions in sim/data/SOURCES.md.</p>")
    parts = [f'<h2 id="support">Support centres</h2>{intro}{_sentences(summary)}']
    if "support_agents" in pngs:
        parts.append(image(pngs["support_agents"], "support_agents", CAPTIONS["support_agents"]))
    centres = tables.get("support_centres")
    if centres is not None and not centres.empty:
        parts.append(table(centres[centres.year == centres.year.max()].drop(columns=["year"]),
                           f"Centres in {int(centres.year.max())}"))
        per_year = centres.pivot_table(index="year", columns="centre_id", values="agents_fte", sort=False)
        parts.append(table(per_year.reset_index(), "Full-time agents (FTE) per centre and year"))
    if "support_closures" in tables:
        parts.append(table(tables["support_closures"], "Each centre closed in turn: who absorbs its tickets"))
    return "".join(parts)


def _main_curve(frame: pd.DataFrame) -> str:
    curves = list(dict.fromkeys(frame.curve.astype(str)))
    return "base" if "base" in curves else curves[0]


def planning_page(run_dir: Path, planning: Mapping[str, dict], sections: str, css: str, meta_table: str) -> str:
    """A report page for a folder that holds planning results only."""
    summary = next(iter(planning.values()))["summary"]
    name = html.escape(str(summary.get("scenario_name", Path(run_dir).name)))
    scenario_path = Path(run_dir) / "scenario.yaml"
    scenario = scenario_path.read_text(encoding="utf-8") if scenario_path.is_file() else "(scenario.yaml missing)"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>infrasim report: {name}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{css}</style></head>
<body><h1>infrasim report: {name}</h1><p class="sub">Planning results ({html.escape(', '.join(planning))})</p>
{sections}
<h2>Scenario</h2><pre id="scenario">{html.escape(scenario)}</pre>
<h2>Runs</h2>{meta_table}
</body></html>
"""


def meta_frame(planning: Mapping[str, dict]) -> pd.DataFrame:
    """Seed, samples, backend and runtime of each planning result, for the report's run table."""
    rows = []
    for kind, part in planning.items():
        s = part["summary"]
        rows += [(f"{kind}: {key}", s.get(key, "–")) for key in ("samples", "seed", "backend", "runtime_s")]
    return pd.DataFrame(rows, columns=["field", "value"]).astype(str)
