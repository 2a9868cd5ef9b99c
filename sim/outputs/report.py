"""report.html and the plots of a finished run, from its run folder alone (nothing is re-run).

:func:`read_run_folder` loads a run folder (docs/ARCHITECTURE.md, "Run folder") into DataFrames;
:func:`headline` turns summary.json into the five plain-sentence answers of DESIGN §1 (saturation,
latency, links, shortfall, resilience); :func:`write_report` redraws every figure into ``plots/`` and
writes one self-contained ``report.html`` (images embedded as base64 PNG, inline CSS, no script or
resource from the network).
"""
from __future__ import annotations

import base64
import html
import json
import math
import numbers
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import yaml

from sim.errors import InputError
from sim.outputs.schema import QUANTILE_NOTE, RUN_TABLES, TABLES, TEXT_COLUMNS

NOT_WITHIN = "not within horizon"


# ---------------------------------------------------------------------------------------- reading
def read_run_folder(run_dir: Path) -> dict[str, Any]:
    """Load a run folder: ``{'tables': {name: DataFrame}, 'summary': dict, 'meta': dict,
    'scenario_yaml': str}``. Tables absent from the folder are absent from ``tables``.

    Raises InputError(run_dir, 'summary.json', ...) when the folder or its summary is missing or
    unreadable, and InputError(run_dir, '<file>', ...) for a table or run.json that cannot be parsed.
    """
    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise InputError(str(run_dir), "summary.json",
                         "not found: not a finished run folder (run `infrasim run SCENARIO --out DIR` first)")
    summary = _read_json(run_dir, "summary.json")
    meta = _read_json(run_dir, "run.json") if (run_dir / "run.json").is_file() else {}
    scenario_path = run_dir / "scenario.yaml"
    scenario_yaml = scenario_path.read_text(encoding="utf-8") if scenario_path.is_file() else ""
    tables = {name: _read_csv(run_dir, name) for name in TABLES if (run_dir / f"{name}.csv").is_file()}
    return {"tables": tables, "summary": summary, "meta": meta, "scenario_yaml": scenario_yaml}


def _read_json(run_dir: Path, name: str) -> dict:
    try:
        data = json.loads((run_dir / name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(str(run_dir), name, f"cannot be read as JSON: {err}") from err
    if not isinstance(data, dict):
        raise InputError(str(run_dir), name, "must hold a JSON object")
    return data


def _read_csv(run_dir: Path, name: str) -> pd.DataFrame:
    """A run-folder CSV with identifier and month columns kept as text ('inf' parses as infinity)."""
    path = run_dir / f"{name}.csv"
    try:
        header = pd.read_csv(path, nrows=0).columns
        dtypes = {c: str for c in header if c in TEXT_COLUMNS}
        frame = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise InputError(str(run_dir), f"{name}.csv", f"cannot be read as CSV: {err}") from err
    missing = [c for c in RUN_TABLES[name] if c not in frame.columns]
    if missing:
        raise InputError(str(run_dir), f"{name}.csv", f"missing columns {', '.join(missing)}")
    return frame


def scenario_mapping(scenario_yaml: str) -> dict:
    """The resolved scenario as a mapping ({} when absent or not YAML)."""
    try:
        data = yaml.safe_load(scenario_yaml) if scenario_yaml else {}
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


# -------------------------------------------------------------------------------------- headline
def fmt_share(value: float) -> str:
    """0.8734 -> '87.3 %'."""
    return f"{100 * float(value):.1f} %"


def fmt_mw(value: float) -> str:
    """1234.5 -> '1,234 MW' (IT power)."""
    return f"{float(value):,.0f} MW"


def _fig(key: str, value: Any, text: str) -> str:
    """A headline figure tagged with the summary.json key it comes from (tests check the two agree)."""
    return (f'<span class="fig" data-key="{html.escape(key)}" data-value="{html.escape(str(value))}">'
            f"{html.escape(text)}</span>")


def _curves(mapping: Mapping) -> list[str]:
    order = [c for c in ("bear", "base", "bull") if c in mapping]
    return order + sorted(set(mapping) - set(order))


def _saturation_sentence(summary: Mapping) -> str:
    zones = summary.get("new_zones") or {}
    if not zones:
        return "This run has no new sites, so no saturation dates."
    parts = []
    for rid, info in zones.items():
        by_curve = info.get("saturation") or {}
        curve = "base" if "base" in by_curve else next(iter(by_curve), "base")
        p50 = str((by_curve.get(curve) or {}).get("p50", NOT_WITHIN))
        city = html.escape(str(info.get("city", rid)).split(" (")[0])
        label = (f"new zones in {city}" if info.get("kind") == "zones" else city) + f" ({html.escape(rid)})"
        key = f"new_zones.{rid}.saturation.{curve}.p50"
        text = (f"{label}: {_fig(key, p50, 'not within the horizon')}" if p50 == NOT_WITHIN
                else f"{label} in {_fig(key, p50, p50)}")
        parts.append(("9999-99" if p50 == NOT_WITHIN else p50, text))
    return ("Saturation (P50 month each new site first runs above its utilisation ceiling, base curve, "
            "earliest first): " + "; ".join(t for _, t in sorted(parts)) + ".")


def _slo_sentence(summary: Mapping) -> str:
    share = summary.get("served_within_slo_share") or {}
    if not share:
        return "Latency: the run reports no latency results."
    parts = [f"{c} {_sfig(summary, f'served_within_slo_share.{c}.p50', fmt_share)}"
             for c in _curves(share) if "p50" in share[c]]
    text = "Latency: share of demand served within its RTT target over the whole horizon (P50): " + ", ".join(parts)
    last = summary.get("served_within_slo_share_last_month") or {}
    end = html.escape(str((summary.get("horizon") or {}).get("end", "the last month")))
    parts = [f"{c} {_sfig(summary, f'served_within_slo_share_last_month.{c}.p50', fmt_share)}"
             for c in _curves(last) if "p50" in last[c]]
    if parts:
        text += f"; in {end} alone: " + ", ".join(parts)
    return text + "."


def _sfig(summary: Mapping, key: str, fmt=str) -> str:
    """_fig for the summary value at dotted ``key``, formatted by ``fmt``."""
    value = summary_value(summary, key)
    return _fig(key, value, fmt(value))


def _links_sentence(summary: Mapping) -> str:
    peak = summary.get("max_link_utilisation") or {}
    top = summary.get("most_congested_links") or []
    if not peak:
        return "Links: the run reports no link utilisation."
    parts = [f"{c} {_sfig(summary, f'max_link_utilisation.{c}.p50', fmt_share)}"
             for c in _curves(peak) if "p50" in peak[c]]
    text = "Links: the busiest link peaks at (P50) " + ", ".join(parts) + " of its capacity"
    if top:
        text += (f"; the most congested corridor is {_sfig(summary, 'most_congested_links.0.link_id')}"
                 f" ({html.escape(str(top[0].get('curve', '')))} curve, "
                 f"{_sfig(summary, 'most_congested_links.0.utilisation_p50', fmt_share)})")
    return text + "."


def _shortfall_sentence(summary: Mapping) -> str:
    unmet = summary.get("unmet_mw_p50") or {}
    if not unmet:
        return "Shortfall: the run reports no unmet-demand figures."
    end = (summary.get("horizon") or {}).get("end", "the horizon end")
    parts = [f"{c} {_sfig(summary, f'unmet_mw_p50.{c}', fmt_mw)}" for c in _curves(unmet)]
    text = f"Shortfall: unmet demand at {html.escape(str(end))} (P50): " + ", ".join(parts)
    if "base" in (summary.get("spilled_mw_p50") or {}):
        text += f"; base curve demand spilled to a farther region {_sfig(summary, 'spilled_mw_p50.base', fmt_mw)}"
    if "base" in (summary.get("stranded_mw_p50") or {}):
        text += f", stranded capacity {_sfig(summary, 'stranded_mw_p50.base', fmt_mw)}"
    if "base" in (summary.get("idle_mw_mean_p50") or {}):
        text += (f"; idle capacity (unused, whether or not demand is short) "
                 f"{_sfig(summary, 'idle_mw_mean_p50.base', fmt_mw)} on average over the horizon")
    return text + "."


def _resilience_sentence(summary: Mapping) -> str:
    worst = summary.get("n_minus_1_worst") or []
    if not worst:
        return "Resilience: no N-1 analysis in this run."
    when = html.escape(f"{worst[0].get('curve', '')} curve, {worst[0].get('month', '')}")
    return (f"Resilience: the worst single failure is {_sfig(summary, 'n_minus_1_worst.0.failure')} "
            f"({when}): {_sfig(summary, 'n_minus_1_worst.0.unmet_mw', fmt_mw)} unmet, "
            f"{_sfig(summary, 'n_minus_1_worst.0.slo_share_lost', fmt_share)} of demand pushed out of its SLO.")


def headline(summary: Mapping) -> dict[str, str]:
    """The five answers of DESIGN §1 as HTML sentences; every number is a span tagged with its
    summary.json key (``data-key``, dotted path) and raw value (``data-value``)."""
    return {"saturation": _saturation_sentence(summary), "latency": _slo_sentence(summary),
            "links": _links_sentence(summary), "shortfall": _shortfall_sentence(summary),
            "resilience": _resilience_sentence(summary)}


def summary_value(summary: Mapping, dotted_key: str) -> Any:
    """Look up 'a.b.0.c' in summary.json (list indices as integers)."""
    node: Any = summary
    for part in dotted_key.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


# ---------------------------------------------------------------------------------------- tables
def _format_cell(value: Any, column: str) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "overloaded (∞)" if "delay" in column or "rtt" in column else "∞"
        if math.isnan(value):
            return "–"
        if column.endswith("_mw"):
            return f"{value:,.1f}"
        if column == "queue_delay_ms":
            return f"{value:.3g}"  # microseconds to seconds: significant digits, not decimals
        if column.endswith("_ms"):
            return f"{value:,.1f}"
        if "share" in column or "utilisation" in column:
            return f"{100 * value:.1f} %"
        return f"{value:,.2f}"
    return str(value)


def _align(value: Any) -> str:
    return "num" if isinstance(value, numbers.Real) and not isinstance(value, bool) else "txt"


def html_table(frame: pd.DataFrame, caption: str = "") -> str:
    """A small DataFrame as an HTML table: MW with one decimal, shares and utilisation in %, text escaped."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = "".join(f'<td class="{_align(v)}">{html.escape(_format_cell(v, str(c)))}</td>'
                        for v, c in zip(record, frame.columns))
        rows.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<div class="tw"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            "</table></div>")


def _main_curve(frame: pd.DataFrame) -> str:
    curves = set(frame["curve"].astype(str))
    return "base" if "base" in curves else sorted(curves)[0]


def report_tables(tables: Mapping[str, pd.DataFrame], top: int = 10,
                  summary: Mapping | None = None) -> list[tuple[str, pd.DataFrame]]:
    """(caption, top rows) for the report: new sites, every region that saturates, the most idle regions,
    busiest regions and links, worst-served markets, one sample's figures that add up (from ``summary``),
    worst single failures. Tables missing from the run are skipped."""
    out = []
    if len(tables.get("new_zones", ())):
        nz = tables["new_zones"].assign(city=lambda f: f.city.astype(str).str.split(" (", regex=False).str[0])
        out.append(("Saturation month of each new site (P10 / P50 / P90 over samples) and months above the "
                    "ceiling from its opening (P50)",
                    nz[["site", "city", "kind", "opens", "curve", "saturation_p10", "saturation_p50",
                        "saturation_p90", "months_above_p50", "share_saturated"]]))
    if len(tables.get("saturation", ())):
        sat = tables["saturation"]
        sel = sat[(sat.curve == _main_curve(sat)) & (sat.saturation_p50 != NOT_WITHIN)]
        sel = sel.assign(city=sel.city.astype(str).str.split(" (", regex=False).str[0])
        out.append((f"Every region and new site that runs above its ceiling within the horizon "
                    f"({_main_curve(sat)} curve, P50 month; earliest first)",
                    sel.sort_values(["saturation_p50", "site"])[
                        ["site", "city", "status", "opens", "saturation_p10", "saturation_p50", "saturation_p90",
                         "months_above_p50", "share_saturated"]]))
        idle = sat[(sat.curve == _main_curve(sat)) & (sat.kind == "region")]
        idle = idle.sort_values("idle_mw_mean_p50", ascending=False).head(top)
        idle = idle.assign(city=idle.city.astype(str).str.split(" (", regex=False).str[0])
        out.append((f"Most idle regions: capacity unused on average from opening, whether or not demand is "
                    f"short elsewhere ({_main_curve(sat)} curve, P50)",
                    idle[["site", "city", "status", "opens", "idle_mw_mean_p50", "saturation_p50"]]))
    if len(tables.get("regions", ())):
        rg = tables["regions"]
        sel = rg[(rg.curve == _main_curve(rg)) & (rg["quantile"] == "p50")]
        peak = sel.sort_values("utilisation", ascending=False).drop_duplicates("region_id").head(top)
        out.append((f"Busiest regions: month of peak utilisation ({_main_curve(rg)} curve, P50)",
                    peak[["region_id", "month", "capacity_mw", "load_mw", "utilisation", "idle_mw", "stranded_mw"]]))
    if len(tables.get("links", ())):
        lk = tables["links"]
        sel = lk[(lk.curve == _main_curve(lk)) & (lk["quantile"] == "p50")]
        peak = sel.sort_values("utilisation", ascending=False).drop_duplicates("link_id").head(top)
        out.append((f"Most congested links: month of peak utilisation ({_main_curve(lk)} curve, P50)",
                    peak[["link_id", "month", "load_gbps", "utilisation", "queue_delay_ms"]]))
    if len(tables.get("markets", ())):
        mk = tables["markets"]
        sel = mk[(mk.curve == _main_curve(mk)) & (mk["quantile"] == "p50") & (mk.month == mk.month.max())]
        worst = sel.sort_values("within_slo_share").head(top)
        out.append((f"Worst-served markets at {mk.month.max()} ({_main_curve(mk)} curve, P50)",
                    worst[["market_id", "demand_mw", "within_slo_mw", "late_mw", "unmet_mw", "rtt_ms",
                           "within_slo_share"]]))
    if len(tables.get("markets", ())) and summary and summary.get("decomposition_p50_sample"):
        one = pd.DataFrame([{"curve": c, **v} for c, v in summary["decomposition_p50_sample"].items()])
        out.append((f"One sample's own figures at {one.month.iloc[0]} (per curve, the sample with the median "
                    "demand): demand = within + late + unmet, capacity = load + idle",
                    one.drop(columns=["month"])))
    if len(tables.get("n_minus_1", ())):
        n1 = tables["n_minus_1"]
        worst = n1.sort_values(["unmet_mw", "slo_share_lost"], ascending=False).head(top)
        out.append(("Worst single failures (N-1), all curves and months",
                    worst[["failure", "failure_kind", "curve", "month", "unmet_mw", "slo_share_lost",
                           "max_link_utilisation", "most_loaded_link"]]))
    return out


# ----------------------------------------------------------------------------------------- page
CAPTIONS = {
    "map": ("Footprint", "Regions sized by capacity at the horizon end and coloured by their peak P50 "
            "utilisation (darker = busier, black = overloaded); links as great-circle arcs coloured the same "
            "way; new regions are squares, regions gaining new zones are ringed, '+' marks demand markets."),
    "fans": ("Demand against capacity", "P10-P90 bands and P50 lines per demand curve, against installed "
             "capacity: globally, then for the region that hosts each new site (load served there)."),
    "saturation": ("Saturation timeline", "For each new site and curve, the P10-P90 range of the first "
                   "month above the utilisation ceiling; the diamond is the P50, an arrow means later than "
                   "the horizon."),
    "links": ("Link utilisation", "P50 utilisation of each link by month (busiest at the top), and the "
              "most congested corridors per curve."),
    "latency": ("Latency", "RTT from each market to the region serving it at the horizon end, and the share "
                "of demand served within the RTT target over time."),
    "n_minus_1": ("Resilience (N-1)", "The single link or region failures that leave the most demand unmet, "
                  "with the share of demand pushed out of its latency target."),
}

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1180px;margin:24px auto;
padding:0 16px;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:2em}
.sub{color:#555;margin-top:4px}
#headline{background:#f5f5f0;border-left:4px solid #444;padding:12px 16px 12px 34px}
#headline li{margin:6px 0}.fig{font-weight:600;white-space:nowrap}
figure{margin:16px 0}figure img{max-width:100%;height:auto;border:1px solid #e2e2e2}
figcaption{color:#444;font-size:.92em}
table{border-collapse:collapse;margin:12px 0 20px;font-size:.86em}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;white-space:nowrap}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.tw{overflow-x:auto}pre{background:#f7f7f7;padding:10px;overflow:auto;font-size:.85em;border:1px solid #e2e2e2}
"""


def _image(png: Path, name: str, captions: tuple[str, str] | None = None) -> str:
    title, caption = captions or CAPTIONS.get(name, (name, ""))
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return (f'<figure id="fig-{name}"><img src="data:image/png;base64,{data}" alt="{html.escape(title)}">'
            f"<figcaption><b>{html.escape(title)}.</b> {html.escape(caption)} "
            f'(Vector version: plots/{name}.svg.)</figcaption></figure>')


def _meta_rows(meta: Mapping, summary: Mapping) -> pd.DataFrame:
    keys = ("seed", "samples", "backend", "runtime_s", "started_at")
    rows = [(k, meta.get(k, summary.get(k, "–"))) for k in keys]
    versions = meta.get("versions") or {}
    if isinstance(versions, Mapping):
        rows += [(f"version: {k}", v) for k, v in versions.items()]
    rows += [(k, v) for k, v in meta.items() if k not in keys and k != "versions"]
    return pd.DataFrame(rows, columns=["field", "value"]).astype(str)


def render_html(run: Mapping[str, Any], pngs: Mapping[str, Path], extra: str = "") -> str:
    """The report page for a loaded run folder (see :func:`read_run_folder`) and its PNG figures;
    ``extra`` is HTML of further sections (the planning results the folder holds)."""
    summary, meta = run["summary"], run["meta"]
    name = summary.get("scenario_name") or scenario_mapping(run["scenario_yaml"]).get("name", "run")
    horizon = summary.get("horizon") or {}
    answers = headline(summary)
    items = "".join(f'<li data-topic="{t}">{s}</li>' for t, s in answers.items())
    notes = [s for s in summary.get("headline") or [] if isinstance(s, str)]
    notes_html = ("<h3>Notes from the run</h3><ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in notes)
                  + "</ul>") if notes else ""
    figures = "".join(_image(path, key) for key, path in pngs.items())
    tables = "".join(html_table(frame, caption) for caption, frame in report_tables(run["tables"], summary=summary))
    note = html.escape(str(summary.get("quantile_note") or QUANTILE_NOTE))
    sub = (f"Horizon {html.escape(str(horizon.get('start', '?')))} to {html.escape(str(horizon.get('end', '?')))}"
           f" · {html.escape(str(meta.get('samples', summary.get('samples', '?'))))} samples"
           f" · seed {html.escape(str(meta.get('seed', summary.get('seed', '?'))))}"
           f" · backend {html.escape(str(meta.get('backend', summary.get('backend', '?'))))}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>infrasim report: {html.escape(str(name))}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body><h1>infrasim report: {html.escape(str(name))}</h1><p class="sub">{sub}</p>
<h2>The answers</h2><ol id="headline">{items}</ol>{notes_html}
<h2>Figures</h2>{figures}
<h2>Tables</h2><p>Top rows; every table is in full in the run folder as CSV
(load with <code>sim.Results.read(DIR)</code> or pandas).</p><p id="quantile-note">{note}</p>{tables}
{extra}
<h2>Scenario as run</h2><pre id="scenario">{html.escape(run["scenario_yaml"] or "(scenario.yaml missing)")}</pre>
<h2>Run</h2>{html_table(_meta_rows(meta, summary))}
</body></html>
"""


def write_report(run_dir: Path) -> Path:
    """Redraw every figure (PNG + SVG into ``run_dir/plots/``) and write ``run_dir/report.html`` from a
    finished run's tables, without re-running anything; return the report's path. Planning results in
    the folder (``infrasim advise`` / ``infrasim support``) get their own sections; a folder with only
    those gets a page of its own."""
    from sim.outputs import planning_report, plots  # matplotlib is imported only when a report is drawn

    run_dir = Path(run_dir)
    planning = planning_report.read_planning(run_dir)  # advise / support results, when the folder has them
    extra_pngs = planning_report.save_plots(planning, run_dir / "plots") if planning else {}
    extra = planning_report.sections_html(planning, extra_pngs, html_table, _image) if planning else ""
    if planning and not (run_dir / "summary.json").is_file():  # planning results only: no run here
        page = planning_report.planning_page(run_dir, planning, extra, CSS,
                                             html_table(planning_report.meta_frame(planning)))
    else:
        run = read_run_folder(run_dir)
        scenario = scenario_mapping(run["scenario_yaml"])
        written = plots.save_all(run["tables"], run["summary"], run_dir / "plots", scenario=scenario)
        pngs = {p.stem: p for p in written if p.suffix == ".png"}
        page = render_html(run, pngs, extra)
    target = run_dir / "report.html"
    partial = target.with_suffix(".html.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(target)
    return target
