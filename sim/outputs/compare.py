"""`infrasim compare BASE_DIR VARIANT_DIR`: what changes between two finished runs, side by side.

A planner asks "what if Paris opens a year late?" and runs the variant next to the base. This module
reads the two run folders (nothing is re-run) and answers with delta tables, a figure and a few lines
saying what moved and what did not:

* ``saturation_delta.csv``: every site (region or zone expansion) and curve: saturation month P10/P50/P90
  in each run, the P50 month's shift, the months above the ceiling (P50 over samples of each sample's
  count), and the months in which the P50 utilisation path is above the ceiling, as ranges;
* ``regions_delta.csv``: P50 utilisation, load and idle capacity per region and month in both runs;
* ``headline_delta.csv``: on-time share (horizon and last month), unmet, spilled, stranded and idle MW,
  peak link utilisation, the worst single failure and how many existing regions saturate;
* ``links_delta.csv``: each link's peak P50 utilisation; ``markets_delta.csv``: each market's on-time
  share, unmet and spilled MW (means of the monthly P50 rows); ``n_minus_1_delta.csv``: each single
  failure's extra unmet MW and on-time share lost, checkpoint by checkpoint;
* ``compare.txt`` (the lines printed), ``compare.png|svg`` and a self-contained ``compare.html``.

"Moved" means a change visible at the precision the report prints (a month, 1 MW, 0.1 point of share,
1 point of utilisation): a presentation rule, not a significance test. Both runs' samples and seeds are
printed; with common random numbers (same seed and samples) small changes are the scenario's, not noise.
"""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from sim.config import month_number
from sim.errors import InputError
from sim.outputs.report import CSS, html_table, read_run_folder, scenario_mapping
from sim.outputs.schema import QUANTILE_NOTE

NOT_WITHIN = "not within horizon"
DEFAULT_CEILING = 0.85  # DESIGN §1, used only when a run folder does not record its own
SHARE_STEP = 0.001  # 0.1 point: the precision shares are printed at
MW_STEP = 1.0  # 1 MW: the precision MW are printed at
UTIL_STEP = 0.01  # 1 point of utilisation
TOP_LINES = 8  # sites listed by name under "what moved"


@dataclass
class Run:
    """One run folder, loaded: its tables, summary, run metadata and the settings the comparison needs."""

    path: Path
    tables: dict[str, pd.DataFrame]
    summary: dict
    meta: dict
    ceiling: float
    name: str

    @classmethod
    def read(cls, path: str | Path) -> "Run":
        run = read_run_folder(Path(path))
        summary, meta = run["summary"], run["meta"]
        analysis = scenario_mapping(run["scenario_yaml"]).get("analysis") or {}
        ceiling = float(summary.get("utilisation_ceiling", analysis.get("utilisation_ceiling", DEFAULT_CEILING)))
        name = str(summary.get("scenario_name") or Path(path).name)
        for needed in ("saturation", "regions"):
            if needed not in run["tables"]:
                raise InputError(str(path), f"{needed}.csv", "not found: the comparison needs it (a run folder "
                                 "written by this version of infrasim has it)")
        return cls(Path(path), run["tables"], summary, meta, ceiling, name)

    def label(self) -> str:
        samples = self.meta.get("samples", self.summary.get("samples", "?"))
        seed = self.meta.get("seed", self.summary.get("seed", "?"))
        return f"{self.name} ({samples} samples, seed {seed})"


@dataclass
class Comparison:
    """The delta tables of two runs and the lines that say what moved (see the module docstring)."""

    base: Run
    variant: Run
    curve: str
    tables: dict[str, pd.DataFrame]
    lines: list[str] = field(default_factory=list)

    @property
    def sites_moved(self) -> int:
        """Sites of the main curve whose saturation month or months above the ceiling changed."""
        sat = self.tables["saturation_delta"]
        return int(sat[(sat.curve == self.curve) & sat.moved].site.nunique())


# --------------------------------------------------------------------------------- month ranges
def month_ranges(months: list[str]) -> str:
    """Months as consecutive ranges: ['2026-08', '2026-09', '2026-10', '2028-01'] -> '2026-08..2026-10,
    2028-01'; '' for none."""
    numbers = sorted(month_number(m) for m in months)
    ranges, start = [], None
    for k, number in enumerate(numbers):
        if start is None:
            start = number
        if k + 1 == len(numbers) or numbers[k + 1] != number + 1:
            ranges.append((start, number))
            start = None
    name = {n: m for m, n in zip(months, (month_number(m) for m in months))}
    return ", ".join(name[a] if a == b else f"{name[a]}..{name[b]}" for a, b in ranges)


def _months_index(month: str, horizon_end: str) -> float:
    """A saturation month as a month number; 'not within horizon' as the month after the horizon."""
    return float(month_number(month)) if month != NOT_WITHIN else float(month_number(horizon_end) + 1)


# --------------------------------------------------------------------------------- the tables
def _p50(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["quantile"] == "p50"]


def regions_delta(base: Run, variant: Run) -> pd.DataFrame:
    """P50 utilisation, load and idle MW per region, curve and month, side by side (outer join: a region
    or month in one run only has blanks on the other side)."""
    keys = ["region_id", "curve", "month"]
    columns = keys + ["capacity_mw", "load_mw", "utilisation", "idle_mw"]
    a = _p50(base.tables["regions"])[columns]
    b = _p50(variant.tables["regions"])[columns]
    both = a.merge(b, on=keys, how="outer", suffixes=("_base", "_variant"))
    both["utilisation_delta"] = both.utilisation_variant - both.utilisation_base
    return both.sort_values(keys).reset_index(drop=True)


def _above(regions: pd.DataFrame, side: str, ceiling: float) -> dict[tuple[str, str], list[str]]:
    """Per (region, curve): the months whose P50 utilisation is above the ceiling."""
    over = regions[regions[f"utilisation_{side}"] > ceiling]
    return {key: list(part.month) for key, part in over.groupby(["region_id", "curve"])}


def _site_above(above: dict, region_id: str, curve: str, opens) -> str:
    """A site's months above the ceiling from its opening (zones: the parent region's, from the zones')."""
    months = above.get((region_id, curve), [])
    if isinstance(opens, str) and opens:
        months = [m for m in months if m >= opens]
    return month_ranges(months)


def _merged_sites(base: Run, variant: Run) -> pd.DataFrame:
    """saturation.csv of both runs on (site, curve), one copy of the descriptive columns (the variant's
    where present) and both runs' opening months."""
    keys = ["site", "curve"]
    info = ["region_id", "city", "kind", "status", "opens"]
    values = ["saturation_p10", "saturation_p50", "saturation_p90", "months_above_p50", "share_saturated"]
    both = base.tables["saturation"][keys + info + values].merge(
        variant.tables["saturation"][keys + info + values], on=keys, how="outer", suffixes=("_base", "_variant"))
    for column in info[:-1]:
        both[column] = both[f"{column}_variant"].fillna(both[f"{column}_base"])
        both = both.drop(columns=[f"{column}_base", f"{column}_variant"])
    return both


def _add_paths(both: pd.DataFrame, base: Run, variant: Run, regions: pd.DataFrame) -> None:
    """Each run's months above the ceiling on the P50 utilisation path (from the site's opening) and the
    path's peak, per site and curve."""
    parent = both.region_id.astype(str)
    for side, run in (("base", base), ("variant", variant)):
        above = _above(regions, side, run.ceiling)
        both[f"above_ceiling_p50_path_{side}"] = [_site_above(above, r, c, o) for r, c, o in
                                                  zip(parent, both.curve, both[f"opens_{side}"])]
        peak = regions.groupby(["region_id", "curve"])[f"utilisation_{side}"].max()
        both[f"peak_utilisation_p50_{side}"] = [peak.get((r, c), np.nan) for r, c in zip(parent, both.curve)]


def saturation_delta(base: Run, variant: Run, regions: pd.DataFrame) -> pd.DataFrame:
    """Every site and curve of either run: saturation months, months above the ceiling, and whether the
    site moved (saturation month, months above the ceiling, P50 months above it or opening changed; a site
    in one run only moved). Moved sites first, largest change first."""
    both = _merged_sites(base, variant)
    end = max(_horizon_end(base), _horizon_end(variant))
    both["saturation_p50_shift_months"] = [
        (_months_index(v, end) - _months_index(u, end)) if isinstance(u, str) and isinstance(v, str) else np.nan
        for u, v in zip(both.saturation_p50_base, both.saturation_p50_variant)]
    both["months_above_p50_delta"] = both.months_above_p50_variant - both.months_above_p50_base
    _add_paths(both, base, variant, regions)
    both["moved"] = ((both.saturation_p50_shift_months.fillna(1) != 0) | (both.months_above_p50_delta.fillna(1) != 0)
                     | (both.above_ceiling_p50_path_base != both.above_ceiling_p50_path_variant)
                     | (both.opens_base.fillna("") != both.opens_variant.fillna("")))
    size = both.months_above_p50_delta.abs().fillna(99) + both.saturation_p50_shift_months.abs().fillna(99)
    order = both.assign(_size=size).sort_values(["moved", "_size", "site"], ascending=[False, False, True])
    return order.reset_index(drop=True)[_SATURATION_COLUMNS]


_SATURATION_COLUMNS = ["site", "region_id", "city", "kind", "status", "curve", "opens_base", "opens_variant",
                       "saturation_p10_base", "saturation_p50_base", "saturation_p90_base",
                       "saturation_p10_variant", "saturation_p50_variant", "saturation_p90_variant",
                       "saturation_p50_shift_months", "months_above_p50_base", "months_above_p50_variant",
                       "months_above_p50_delta", "above_ceiling_p50_path_base", "above_ceiling_p50_path_variant",
                       "peak_utilisation_p50_base", "peak_utilisation_p50_variant", "share_saturated_base",
                       "share_saturated_variant", "moved"]


def _horizon_end(run: Run) -> str:
    end = (run.summary.get("horizon") or {}).get("end")
    return str(end) if end else str(run.tables["regions"].month.max())


def _peak_links(run: Run) -> pd.DataFrame:
    links = _p50(run.tables.get("links", pd.DataFrame(columns=["quantile", "curve", "link_id", "month",
                                                                  "utilisation"])))
    if links.empty:
        return pd.DataFrame(columns=["link_id", "curve", "utilisation", "month"])
    peak = links.loc[links.groupby(["link_id", "curve"]).utilisation.idxmax()]
    return peak[["link_id", "curve", "utilisation", "month"]]


def links_delta(base: Run, variant: Run) -> pd.DataFrame:
    """Each link's peak P50 utilisation over the horizon (and its month) in both runs, largest change first."""
    both = _peak_links(base).merge(_peak_links(variant), on=["link_id", "curve"], how="outer",
                                   suffixes=("_base", "_variant"))
    both = both.rename(columns={"utilisation_base": "peak_utilisation_p50_base",
                                "utilisation_variant": "peak_utilisation_p50_variant",
                                "month_base": "peak_month_base", "month_variant": "peak_month_variant"})
    both["utilisation_delta"] = both.peak_utilisation_p50_variant - both.peak_utilisation_p50_base
    return both.reindex(both.utilisation_delta.abs().sort_values(ascending=False).index).reset_index(drop=True)


def _market_means(run: Run) -> pd.DataFrame:
    mk = _p50(run.tables.get("markets", pd.DataFrame()))
    if mk.empty:
        return pd.DataFrame(columns=["market_id", "curve", "within_slo_share", "unmet_mw", "spilled_mw"])
    return mk.groupby(["market_id", "curve"], as_index=False)[["within_slo_share", "unmet_mw", "spilled_mw"]].mean()


def markets_delta(base: Run, variant: Run) -> pd.DataFrame:
    """Per market and curve: the horizon means of its monthly P50 on-time share, unmet and spilled MW."""
    both = _market_means(base).merge(_market_means(variant), on=["market_id", "curve"], how="outer",
                                     suffixes=("_base", "_variant"))
    for column in ("within_slo_share", "unmet_mw", "spilled_mw"):
        both[f"{column}_delta"] = both[f"{column}_variant"] - both[f"{column}_base"]
    return both.reindex(both.within_slo_share_delta.abs().sort_values(ascending=False).index).reset_index(drop=True)


def n_minus_1_delta(base: Run, variant: Run) -> pd.DataFrame:
    """Each single failure at each checkpoint: extra unmet MW and on-time share lost in both runs."""
    keys = ["failure", "failure_kind", "curve", "month"]
    columns = keys + ["unmet_mw", "slo_share_lost"]
    a = base.tables.get("n_minus_1", pd.DataFrame(columns=columns))[columns]
    b = variant.tables.get("n_minus_1", pd.DataFrame(columns=columns))[columns]
    both = a.merge(b, on=keys, how="outer", suffixes=("_base", "_variant"))
    both["unmet_mw_delta"] = both.unmet_mw_variant - both.unmet_mw_base
    both["slo_share_lost_delta"] = both.slo_share_lost_variant - both.slo_share_lost_base
    return both.reindex(both.unmet_mw_delta.abs().sort_values(ascending=False).index).reset_index(drop=True)


HEADLINE = (  # (metric, summary key, how to read a curve's value, step below which it did not move)
    ("on-time share over the horizon (P50)", "served_within_slo_share", "p50", SHARE_STEP),
    ("on-time share in the last month (P50)", "served_within_slo_share_last_month", "p50", SHARE_STEP),
    ("unmet MW at the horizon end (P50)", "unmet_mw_p50", None, MW_STEP),
    ("spilled MW at the horizon end (P50)", "spilled_mw_p50", None, MW_STEP),
    ("stranded MW at the horizon end (P50)", "stranded_mw_p50", None, MW_STEP),
    ("idle MW on average over the horizon (P50)", "idle_mw_mean_p50", None, MW_STEP),
    ("peak link utilisation (P50)", "max_link_utilisation", "p50", UTIL_STEP),
)


def _summary_figure(summary: Mapping, key: str, curve: str, leaf: str | None) -> float:
    block = (summary.get(key) or {}).get(curve)
    value = block.get(leaf) if isinstance(block, Mapping) and leaf else block
    return float(value) if isinstance(value, (int, float)) else np.nan


def _worst_failure(run: Run, curve: str) -> tuple[str, float]:
    n1 = run.tables.get("n_minus_1")
    if n1 is None or n1.empty or curve not in set(n1.curve):
        return "", np.nan
    row = n1[n1.curve == curve].sort_values(["unmet_mw", "slo_share_lost"], ascending=False).iloc[0]
    return f"{row.failure} ({row.month})", float(row.unmet_mw)


def headline_delta(base: Run, variant: Run, curves: list[str]) -> pd.DataFrame:
    """The headline figures of both runs per curve, with the change and whether it moved."""
    rows = []
    for curve in curves:
        for metric, key, leaf, step in HEADLINE:
            a = _summary_figure(base.summary, key, curve, leaf)
            b = _summary_figure(variant.summary, key, curve, leaf)
            rows.append(dict(metric=metric, curve=curve, base=a, variant=b, delta=b - a,
                             moved=bool(abs(b - a) >= step) if np.isfinite(b - a) else a != b, note=""))
        (fa, ua), (fb, ub) = _worst_failure(base, curve), _worst_failure(variant, curve)
        rows.append(dict(metric="worst single failure: extra unmet MW", curve=curve, base=ua, variant=ub,
                         delta=ub - ua, moved=bool(fa != fb or abs(ub - ua) >= MW_STEP),
                         note=f"{fa} -> {fb}" if fa != fb else fa))
        counts = [_existing_saturating(run, curve) for run in (base, variant)]
        rows.append(dict(metric="existing regions above the ceiling within the horizon (P50)", curve=curve,
                         base=counts[0], variant=counts[1], delta=counts[1] - counts[0],
                         moved=counts[0] != counts[1], note=""))
    return pd.DataFrame(rows)


def _existing_saturating(run: Run, curve: str) -> float:
    sat = run.tables["saturation"]
    sel = sat[(sat.curve == curve) & (sat.status == "existing") & (sat.saturation_p50 != NOT_WITHIN)]
    return float(len(sel))


# --------------------------------------------------------------------------------- comparing
def _curves(base: Run, variant: Run) -> list[str]:
    common = set(base.tables["saturation"].curve) & set(variant.tables["saturation"].curve)
    order = [c for c in ("bear", "base", "bull") if c in common]
    return order + sorted(common - set(order))


def compare_runs(base_dir: str | Path, variant_dir: str | Path, curve: str | None = None,
                 names: tuple[str, str] | None = None) -> Comparison:
    """Load two run folders and build every delta table and the lines (``curve``: the one the lines
    describe, 'base' by default; ``names``: what to call the two runs, else their scenario names). Bad
    folders raise InputError naming the folder and file."""
    base, variant = Run.read(base_dir), Run.read(variant_dir)
    if names:
        base.name, variant.name = names
    curves = _curves(base, variant)
    if not curves:
        raise InputError(str(variant_dir), "saturation.csv", f"no demand curve in common with {base_dir}")
    chosen = curve or ("base" if "base" in curves else curves[0])
    if chosen not in curves:
        raise InputError("--curve", chosen, f"not a curve of both runs (common: {', '.join(curves)})")
    regions = regions_delta(base, variant)
    tables = {"saturation_delta": saturation_delta(base, variant, regions), "regions_delta": regions,
              "headline_delta": headline_delta(base, variant, curves), "links_delta": links_delta(base, variant),
              "markets_delta": markets_delta(base, variant), "n_minus_1_delta": n_minus_1_delta(base, variant)}
    comparison = Comparison(base, variant, chosen, tables)
    comparison.lines = describe(comparison)
    return comparison


# --------------------------------------------------------------------------------- the lines
def _site_line(r, ceiling: float) -> str:
    """One moved site: its months above the ceiling (P50 path) in both runs, then its saturation month."""
    parts = []
    above_b, above_v = r.above_ceiling_p50_path_base, r.above_ceiling_p50_path_variant
    if above_b or above_v:
        text = (f"above the {100 * ceiling:.0f} % ceiling (P50 utilisation) in {above_v or 'no month'} "
                f"(base: {above_b or 'no month'})")
        if np.isfinite(r.peak_utilisation_p50_variant) and np.isfinite(r.peak_utilisation_p50_base) and \
                abs(r.peak_utilisation_p50_variant - r.peak_utilisation_p50_base) >= UTIL_STEP:
            text += (f", peak P50 utilisation {100 * r.peak_utilisation_p50_base:.0f} % -> "
                     f"{100 * r.peak_utilisation_p50_variant:.0f} %")
        parts.append(text)
    if r.saturation_p50_base != r.saturation_p50_variant:
        parts.append(f"saturation P50 {r.saturation_p50_base} -> {r.saturation_p50_variant}")
    if r.months_above_p50_delta and np.isfinite(r.months_above_p50_delta):
        parts.append(f"months above the ceiling (P50 over samples) {r.months_above_p50_base:.0f} -> "
                     f"{r.months_above_p50_variant:.0f}")
    if isinstance(r.opens_base, str) and r.opens_base != r.opens_variant:
        parts.append(f"opens {r.opens_base or 'at the start'} -> {r.opens_variant or 'at the start'}")
    if not (above_b or above_v):
        parts.append("not above the ceiling (P50 utilisation) in either run")
    return f"{r.site} ({str(r.city).split(' (')[0]}): " + "; ".join(parts) + "."


def _figure_line(r) -> str:
    if "share" in r.metric:
        return f"{r.metric}: {100 * r.base:.1f} % -> {100 * r.variant:.1f} % ({100 * r.delta:+.1f} points)"
    if "utilisation" in r.metric:
        return f"{r.metric}: {100 * r.base:.0f} % -> {100 * r.variant:.0f} % ({100 * r.delta:+.0f} points)"
    if "regions" in r.metric:
        return f"{r.metric}: {r.base:.0f} -> {r.variant:.0f}"
    return f"{r.metric}: {r.base:,.0f} -> {r.variant:,.0f} MW ({r.delta:+,.0f})" + (f", {r.note}" if r.note else "")


def _detail_lines(comparison: Comparison, top: int = 3) -> list[str]:
    """The links, markets and single failures that moved most (at the printed precision)."""
    curve, lines = comparison.curve, []
    links = comparison.tables["links_delta"]
    links = links[(links.curve == curve) & (links.utilisation_delta.abs() >= UTIL_STEP)].head(top)
    if len(links):
        lines.append("- links, peak P50 utilisation: " + ", ".join(
            f"{r.link_id} {100 * r.peak_utilisation_p50_base:.0f} % -> {100 * r.peak_utilisation_p50_variant:.0f} %"
            for r in links.itertuples()) + ".")
    markets = comparison.tables["markets_delta"]
    markets = markets[(markets.curve == curve) & (markets.within_slo_share_delta.abs() >= SHARE_STEP)].head(top)
    if len(markets):
        lines.append("- markets, on-time share (mean of monthly P50s): " + ", ".join(
            f"{r.market_id} {100 * r.within_slo_share_base:.1f} % -> {100 * r.within_slo_share_variant:.1f} %"
            for r in markets.itertuples()) + ".")
    n1 = comparison.tables["n_minus_1_delta"]
    n1 = n1[(n1.curve == curve) & (n1.unmet_mw_delta.abs() >= MW_STEP)].head(top)
    if len(n1):
        lines.append("- single failures, extra unmet MW: " + ", ".join(
            f"{r.failure} ({r.month}) {r.unmet_mw_base:,.0f} -> {r.unmet_mw_variant:,.0f}"
            for r in n1.itertuples()) + ".")
    return lines


def describe(comparison: Comparison) -> list[str]:
    """What moved and what did not, on the comparison's curve, moved sites first (largest change first)."""
    base, variant, curve = comparison.base, comparison.variant, comparison.curve
    sat = comparison.tables["saturation_delta"]
    sat = sat[sat.curve == curve]
    moved = sat[sat.moved]
    figures = comparison.tables["headline_delta"]
    figures = figures[figures.curve == curve]
    lines = [f"{variant.label()} against {base.label()}: {curve} curve."]
    lines.append("What moved:")
    lines += [f"- {_site_line(r, variant.ceiling)}" for r in moved.head(TOP_LINES).itertuples()]
    if len(moved) > TOP_LINES:
        lines.append(f"- {len(moved) - TOP_LINES} more site(s): see saturation_delta.csv.")
    lines += [f"- {_figure_line(r)}." for r in figures[figures.moved].itertuples()]
    lines += _detail_lines(comparison)
    if len(lines) == 2:
        lines.append("- nothing at the precision the report prints.")
    lines.append("What did not move:")
    still = sat[~sat.moved]
    if len(still):
        lines.append(f"- {len(still)} of {len(sat)} sites: same saturation month, months above the ceiling and "
                     "P50 months above it.")
    lines += [f"- {_figure_line(r)}." for r in figures[~figures.moved].itertuples()]
    if base.ceiling != variant.ceiling:
        lines.append(f"Note: the utilisation ceilings differ ({base.ceiling} vs {variant.ceiling}).")
    return lines


# --------------------------------------------------------------------------------- the figure
def _moved_regions(comparison: Comparison, top: int = 4) -> list[str]:
    """Regions of the sites that moved most (by months above the ceiling, then saturation shift)."""
    sat = comparison.tables["saturation_delta"]
    moved = sat[(sat.curve == comparison.curve) & sat.moved]
    return list(dict.fromkeys(moved.region_id.astype(str)))[:top]


def plot_comparison(comparison: Comparison):
    """Left: P50 utilisation of the regions that moved most, base dashed, variant solid, against the
    ceiling. Right: months above the ceiling (P50 over samples) per moved site in each run."""
    import matplotlib
    from matplotlib.figure import Figure

    from sim.outputs.plots import STYLE, _date_axis, months_to_dates

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(11, 4.2), layout="constrained")
        left, right = fig.subplots(1, 2, width_ratios=[1.5, 1])
        _utilisation_panel(left, comparison, months_to_dates, _date_axis)
        _months_above_panel(right, comparison)
        fig.suptitle(f"{comparison.variant.name} against {comparison.base.name} ({comparison.curve} curve)",
                     x=0.01, ha="left", fontsize=10)
    return fig


def _utilisation_panel(ax, comparison: Comparison, months_to_dates, date_axis) -> None:
    regions = comparison.tables["regions_delta"]
    regions = regions[regions.curve == comparison.curve]
    colours = matplotlib_colours()
    for k, region_id in enumerate(_moved_regions(comparison)):
        rows = regions[regions.region_id == region_id]
        dates = months_to_dates(rows.month.astype(str))
        for side, style, width in (("base", "--", 1.1), ("variant", "-", 1.6)):
            open_ = rows[f"capacity_mw_{side}"] > 0  # no line before the region opens
            ax.plot(dates, np.where(open_, 100 * rows[f"utilisation_{side}"], np.nan), color=colours[k], ls=style,
                    lw=width, label=f"{region_id} {side}")
    ax.axhline(100 * comparison.variant.ceiling, color="#333333", lw=0.8, ls=":")
    ax.text(0.99, 100 * comparison.variant.ceiling, "ceiling ", transform=ax.get_yaxis_transform(),
            va="bottom", ha="right", fontsize=7)
    if not _moved_regions(comparison):
        ax.text(0.5, 0.5, "no region moved", ha="center", va="center", transform=ax.transAxes)
    date_axis(ax)
    ax.set_ylabel("utilisation, P50 over samples (%)")
    ax.set_xlabel("month")
    ax.set_title("Regions that moved most: base dashed, variant solid", loc="left")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, frameon=False)


def _months_above_panel(ax, comparison: Comparison, top: int = 12) -> None:
    sat = comparison.tables["saturation_delta"]
    moved = sat[(sat.curve == comparison.curve) & sat.moved].head(top)
    if moved.empty:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no site moved", ha="center", va="center", transform=ax.transAxes)
        return
    y = np.arange(len(moved))[::-1]
    for side, shift, colour in (("base", 0.2, "#BBBBBB"), ("variant", -0.2, "#C0392B")):
        months = moved[f"months_above_p50_{side}"].fillna(0).to_numpy()
        ax.barh(y + shift, months, height=0.4, color=colour, label=side)
        for yy, value in zip(y + shift, months):
            ax.text(value, yy, f" {value:.0f}", va="center", fontsize=7)
    ax.set_yticks(y, [str(s) for s in moved.site])
    ax.set_xlabel("months above the ceiling (P50 over samples, month)")
    ax.set_xlim(0, max(1.0, float(moved[["months_above_p50_base", "months_above_p50_variant"]].max().max())) * 1.15)
    ax.set_title("Sites that moved", loc="left")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, frameon=False)


def matplotlib_colours() -> list[str]:
    """Four colours that also differ in lightness (readable in grayscale)."""
    return ["#3B0F4F", "#C0392B", "#4F9BCF", "#E6A23C"]


# --------------------------------------------------------------------------------- writing
def write_comparison(comparison: Comparison, out_dir: str | Path, plot: bool = True) -> Path:
    """Write the delta tables (CSV), compare.txt and, with ``plot``, compare.png|svg and compare.html."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(str(out_dir), "", f"cannot create the output folder ({err.strerror or err})") from None
    for name, table in comparison.tables.items():
        table.to_csv(out_dir / f"{name}.csv", index=False)
    (out_dir / "compare.txt").write_text("\n".join(comparison.lines) + "\n", encoding="utf-8")
    if plot:
        fig = plot_comparison(comparison)
        png = io.BytesIO()
        fig.savefig(png, format="png", facecolor="white")
        (out_dir / "compare.png").write_bytes(png.getvalue())
        fig.savefig(out_dir / "compare.svg", format="svg", facecolor="white")
        (out_dir / "compare.html").write_text(render_html(comparison, png.getvalue()), encoding="utf-8")
    return out_dir


SITE_VIEW = ["site", "city", "status", "opens_base", "opens_variant", "saturation_p50_base", "saturation_p50_variant",
             "months_above_p50_base", "months_above_p50_variant", "above_ceiling_p50_path_base",
             "above_ceiling_p50_path_variant"]


def render_html(comparison: Comparison, png: bytes) -> str:
    """A self-contained page: the lines, the figure (embedded) and the top rows of each delta table."""
    title = f"infrasim compare: {comparison.variant.name} against {comparison.base.name}"
    items = "".join(f"<li>{html.escape(line[2:])}</li>" if line.startswith("- ") else
                    f"</ul><h3>{html.escape(line)}</h3><ul>" for line in comparison.lines[1:])
    sat = comparison.tables["saturation_delta"]
    curve = comparison.curve
    figures = comparison.tables["headline_delta"].query("curve == @curve")
    shown = [("Sites: saturation month (P50), months above the ceiling (P50 over samples) and the months the "
              "P50 utilisation is above it; moved first",
              sat[sat.curve == curve][SITE_VIEW].head(15)),
             ("Headline figures", pd.DataFrame({"figure": [_figure_line(r) for r in figures.itertuples()],
                                                "moved": figures.moved.map({True: "yes", False: "no"})})),
             ("Links: peak P50 utilisation (largest change first)",
              comparison.tables["links_delta"].query("curve == @curve").head(10)),
             ("Markets: horizon means of monthly P50 figures (largest change in on-time share first)",
              comparison.tables["markets_delta"].query("curve == @curve").head(10)),
             ("Single failures (N-1): largest change in extra unmet MW first",
              comparison.tables["n_minus_1_delta"].query("curve == @curve").head(10))]
    tables = "".join(html_table(frame, caption) for caption, frame in shown)
    data = base64.b64encode(png).decode("ascii")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body><h1>{html.escape(title)}</h1><p class="sub">{html.escape(comparison.lines[0])}</p>
<div id="headline"><ul>{items}</ul></div>
<figure><img src="data:image/png;base64,{data}" alt="comparison"><figcaption>P50 utilisation of the regions
that moved most, base dashed and variant solid, against the ceiling; months above the ceiling per site in
each run. (Vector version: compare.svg.)</figcaption></figure>
<h2>Tables</h2><p>Top rows; every table is in full beside this page as CSV. {html.escape(QUANTILE_NOTE)}</p>
{tables}</body></html>
"""
