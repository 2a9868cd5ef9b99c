"""Figures of a finished run, drawn from the run folder's tables (docs/ARCHITECTURE.md, "Run folder").

One function per figure; each takes ``tables`` (run-folder CSV name without ``.csv`` -> DataFrame) and the
optional ``summary`` dict, and returns a :class:`matplotlib.figure.Figure` built without pyplot (so no
global state, safe in threads and headless; saving uses the Agg canvas). :func:`save_all` writes every
figure as PNG and SVG.

Style rules every figure keeps: units on every axis, curves told apart by line style as well as colour
(bear dashed, base solid, bull dotted; their colours also differ in lightness), utilisation on a
sequential colour map where darker means busier (readable in grayscale), and a visible message instead
of an empty panel when a table is missing or has no rows.
"""
from __future__ import annotations

import functools
import json
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.model.geo import land_geojson_path

matplotlib.use("Agg", force=False)

NOT_WITHIN = "not within horizon"
DEFAULT_SLO_RTT_MS = 100.0  # DESIGN §1: interactive inference target
DEFAULT_CEILING = 0.85  # DESIGN §1: utilisation ceiling

STYLE = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7,
         "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.grid": True, "grid.color": "#DDDDDD",
         "grid.linewidth": 0.5, "axes.spines.top": False, "axes.spines.right": False,
         "axes.axisbelow": True, "figure.dpi": 100, "savefig.dpi": 130, "svg.fonttype": "none",
         "font.family": "DejaVu Sans"}

# Colours differ in lightness (light blue, mid red, dark purple) and line styles differ too.
CURVE_STYLE = {"bear": {"color": "#4F9BCF", "linestyle": "--"},
               "base": {"color": "#C0392B", "linestyle": "-"},
               "bull": {"color": "#3B0F4F", "linestyle": ":"}}
_EXTRA_STYLES = [{"color": "#1B7837", "linestyle": "-."}, {"color": "#8C510A", "linestyle": (0, (5, 1))}]
# magma reversed, pale end trimmed so low values still show on white: darker = busier.
UTIL_CMAP = ListedColormap(matplotlib.colormaps["magma_r"](np.linspace(0.1, 0.95, 256)),
                           name="util").with_extremes(over="#000000", bad="#BBBBBB")  # grey: no data
UTIL_NORM = Normalize(vmin=0.0, vmax=1.0)


# ----------------------------------------------------------------------------------------- helpers
def curve_style(curve: str, index: int = 0) -> dict:
    """Colour and line style of a demand curve (unknown curves get distinct fallbacks)."""
    return CURVE_STYLE.get(curve, _EXTRA_STYLES[index % len(_EXTRA_STYLES)])


def curves_of(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Curves present in the run, bear/base/bull first in that order."""
    found: set[str] = set()
    for name in ("demand", "regions", "links", "markets", "new_zones"):
        frame = tables.get(name)
        if frame is not None and "curve" in frame:
            found |= set(frame["curve"].astype(str))
    known = [c for c in CURVE_STYLE if c in found]
    return known + sorted(found - set(known))


def main_curve(tables: Mapping[str, pd.DataFrame]) -> str:
    """The curve single-curve figures show: 'base' when present."""
    curves = curves_of(tables)
    return "base" if "base" in curves else (curves[0] if curves else "base")


def months_to_dates(months) -> np.ndarray:
    """'YYYY-MM' strings -> datetime64[D] (first of the month), which matplotlib plots as dates."""
    return np.asarray(months, dtype="datetime64[M]").astype("datetime64[D]")


def analysis_settings(scenario: Mapping | None) -> tuple[float, float]:
    """(slo_rtt_ms, utilisation ceiling) from a resolved scenario mapping, else DESIGN §1 defaults."""
    analysis = (scenario or {}).get("analysis") or {}
    return (float(analysis.get("slo_rtt_ms", DEFAULT_SLO_RTT_MS)),
            float(analysis.get("utilisation_ceiling", DEFAULT_CEILING)))


def _has_rows(tables: Mapping[str, pd.DataFrame], *names: str) -> bool:
    return all(tables.get(n) is not None and len(tables[n]) > 0 for n in names)


def _message_figure(title: str, message: str) -> Figure:
    """A small figure that says why there is nothing to draw (never an empty panel)."""
    fig = Figure(figsize=(7, 2.2), layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title, loc="left")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, color="#444444",
            transform=ax.transAxes, wrap=True)
    return fig


def _select(frame: pd.DataFrame, **equal) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in equal.items():
        mask &= frame[column].astype(str).to_numpy() == str(value)
    return frame[mask]


def _styled(builder: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a figure builder inside the shared style (rcParams apply when artists are created)."""
    @functools.wraps(builder)
    def wrapper(*args, **kwargs) -> Figure:
        with matplotlib.rc_context(STYLE):
            return builder(*args, **kwargs)
    return wrapper


def _date_axis(ax) -> None:
    locator = matplotlib.dates.YearLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%Y"))


def _short_city(city: str) -> str:
    return str(city).split(" (")[0]


# ------------------------------------------------------------------------------------- geography
@lru_cache(maxsize=1)
def land_polygons() -> tuple[np.ndarray, ...]:
    """Outer rings (lon, lat) of the packaged Natural Earth 1:110m land polygons (public domain)."""
    data = json.loads(land_geojson_path().read_text())
    rings = []
    for feature in data["features"]:
        geom = feature["geometry"]
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        rings += [np.asarray(poly[0], dtype=float) for poly in polys]
    return tuple(rings)


def great_circle_points(lat1: float, lon1: float, lat2: float, lon2: float, n: int = 64) -> np.ndarray:
    """n points (lon, lat in degrees, lon unwrapped) along the shorter great circle, by slerp."""
    p = np.radians([[lat1, lon1], [lat2, lon2]])
    xyz = np.stack([np.cos(p[:, 0]) * np.cos(p[:, 1]), np.cos(p[:, 0]) * np.sin(p[:, 1]),
                    np.sin(p[:, 0])], axis=1)
    omega = np.arccos(np.clip(xyz[0] @ xyz[1], -1.0, 1.0))
    t = np.linspace(0.0, 1.0, n)[:, None]
    if omega < 1e-9:
        pts = np.repeat(xyz[:1], n, axis=0)
    else:
        pts = (np.sin((1 - t) * omega) * xyz[0] + np.sin(t * omega) * xyz[1]) / np.sin(omega)
    lat = np.degrees(np.arcsin(np.clip(pts[:, 2], -1, 1)))
    lon = np.unwrap(np.degrees(np.arctan2(pts[:, 1], pts[:, 0])), period=360.0)
    return np.stack([lon, lat], axis=1)


def split_antimeridian(lonlat: np.ndarray) -> list[np.ndarray]:
    """Cut an unwrapped (lon, lat) polyline where it crosses +-180 deg; pieces have lon in [-180, 180].

    Each point lies in the 360-degree cell ``floor((lon + 180) / 360)``; where two neighbours lie in
    different cells the line crosses the antimeridian: the crossing latitude is interpolated, the piece
    ends on one edge of the map and the next starts on the other.
    """
    lon_u, lat = lonlat[:, 0], lonlat[:, 1]
    cell = np.floor((lon_u + 180.0) / 360.0)
    lon_w = lon_u - 360.0 * cell
    pieces, current = [], [(lon_w[0], lat[0])]
    for i in range(1, len(lon_u)):
        if cell[i] != cell[i - 1]:
            boundary = 360.0 * max(cell[i], cell[i - 1]) - 180.0
            u1, u2 = lon_u[i - 1], lon_u[i]
            lat_c = lat[i - 1] + (boundary - u1) / (u2 - u1) * (lat[i] - lat[i - 1])
            edge = 180.0 if u2 > u1 else -180.0
            current.append((edge, lat_c))
            pieces.append(np.asarray(current))
            current = [(-edge, lat_c)]
        current.append((lon_w[i], lat[i]))
    pieces.append(np.asarray(current))
    return pieces


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _contains(box, lon: float, lat: float) -> bool:
    """True for the marker box of the labelled point itself (a label may touch its own marker)."""
    return abs((box[0] + box[2]) / 2 - lon) < 1e-9 and abs((box[1] + box[3]) / 2 - lat) < 1e-9


def _place_labels(ax, points: list[tuple[float, float, str]], markers: np.ndarray) -> None:
    """Label points, trying four offsets and taking the first whose box clears the labels placed so far
    and the other markers (``markers``: lon, lat rows); the first offset when none is clear."""
    placed = [(x - 2.0, y - 2.0, x + 2.0, y + 2.0) for x, y in markers]
    offsets = [(2.5, 2.0, "left", "bottom"), (2.5, -2.0, "left", "top"),
               (-2.5, 2.0, "right", "bottom"), (-2.5, -2.0, "right", "top")]
    for lon, lat, text in points:
        width, height = 2.2 * len(text) + 2.0, 5.5  # degrees at 7 pt on an 11-inch world map (approx.)
        for dx, dy, ha, va in offsets:
            x0 = lon + dx if ha == "left" else lon + dx - width
            y0 = lat + dy if va == "bottom" else lat + dy - height
            box = (x0, y0, x0 + width, y0 + height)
            if not any(_overlap(box, b) and not _contains(b, lon, lat) for b in placed):
                break
        else:
            dx, dy, ha, va = offsets[0]
            box = (lon + dx, lat + dy, lon + dx + width, lat + dy + height)
        placed.append(box)
        ax.annotate(text, (lon, lat), xytext=(lon + dx, lat + dy), ha=ha, va=va, fontsize=7, zorder=7,
                    fontweight="bold", color="#111111",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})


# -------------------------------------------------------------------------------------- 1. map
def _peak(frame: pd.DataFrame, key: str, curve: str, column: str = "utilisation") -> pd.Series:
    sel = _select(frame, curve=curve, quantile="p50")
    return sel.groupby(key)[column].max()


@_styled
def plot_map(tables: Mapping[str, pd.DataFrame], summary: Mapping | None = None) -> Figure:
    """World map: regions sized by capacity and coloured by peak P50 utilisation, links as great-circle
    arcs coloured by peak P50 utilisation, new regions as squares, new zones as rings, markets as '+'."""
    if not _has_rows(tables, "footprint_regions"):
        return _message_figure("Footprint", "no footprint_regions.csv in this run folder")
    curve = main_curve(tables)
    regions = tables["footprint_regions"].copy()
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    ax = fig.add_subplot()
    ax.add_collection(PolyCollection(land_polygons(), facecolor="#E4E4E4", edgecolor="#C8C8C8",
                                     linewidth=0.3, zorder=0))
    _draw_links(ax, tables, regions, curve)
    cap = _region_capacity(tables, regions, curve)
    util = (_peak(tables["regions"], "region_id", curve) if _has_rows(tables, "regions")
            else pd.Series(dtype=float)).reindex(regions.region_id).to_numpy(dtype=float)
    sizes = _marker_area(cap, np.nanmax(cap))
    is_new = regions.status.astype(str).eq("new").to_numpy()
    for mask, marker in ((~is_new, "o"), (is_new, "s")):
        ax.scatter(regions.lon[mask], regions.lat[mask], s=sizes[mask], c=util[mask], cmap=UTIL_CMAP,
                   norm=UTIL_NORM, marker=marker, edgecolors="black", linewidths=0.6, zorder=4)
    zone_sites = _new_zone_sites(tables, regions)
    if len(zone_sites):
        ring = _marker_area(cap[regions.region_id.isin(zone_sites.region_id).to_numpy()], np.nanmax(cap))
        ax.scatter(zone_sites.lon, zone_sites.lat, s=ring * 2.5 + 40, facecolors="none",
                   edgecolors="black", linewidths=1.2, linestyle="--", zorder=5)
    if _has_rows(tables, "footprint_markets"):
        mk = tables["footprint_markets"]
        ax.scatter(mk.lon, mk.lat, marker="+", s=14, c="#666666", linewidths=0.7, zorder=3)
    _place_labels(ax, _new_labels(tables, regions), regions[["lon", "lat"]].to_numpy(dtype=float))
    _map_frame(ax, fig, curve, cap)
    return fig


def _marker_area(cap_mw, max_mw: float):
    """Scatter marker area (pt^2) ~ capacity: 10 pt^2 floor, 170 pt^2 for the largest region."""
    return 10 + 160 * np.asarray(cap_mw, dtype=float) / max(float(max_mw), 1e-9)


def _region_capacity(tables, regions: pd.DataFrame, curve: str) -> np.ndarray:
    """Capacity at the horizon end (P50 of the main curve) when regions.csv has it, else at the start."""
    if _has_rows(tables, "regions"):
        sel = _select(tables["regions"], curve=curve, quantile="p50")
        last = sel[sel.month == sel.month.max()].set_index("region_id").capacity_mw
        cap = last.reindex(regions.region_id).to_numpy(dtype=float)
        return np.where(np.isfinite(cap), cap, regions.capacity_mw.to_numpy(dtype=float))
    return regions.capacity_mw.to_numpy(dtype=float)


def _draw_links(ax, tables, regions: pd.DataFrame, curve: str) -> None:
    if not _has_rows(tables, "footprint_links"):
        return
    pos = regions.set_index("region_id")[["lat", "lon"]]
    links = tables["footprint_links"]
    util = (_peak(tables["links"], "link_id", curve) if _has_rows(tables, "links")
            else pd.Series(dtype=float))
    segments, values = [], []
    for link in links.itertuples():
        if link.a not in pos.index or link.b not in pos.index:
            continue
        arc = great_circle_points(*pos.loc[link.a], *pos.loc[link.b])
        for piece in split_antimeridian(arc):
            segments.append(piece)
            values.append(float(util.get(link.link_id, np.nan)))
    order = np.argsort(np.nan_to_num(values, nan=-1))  # busiest drawn last, on top
    lc = LineCollection([segments[i] for i in order], cmap=UTIL_CMAP, norm=UTIL_NORM,
                        linewidths=1.6, zorder=2, capstyle="round")
    lc.set_array(np.asarray(values)[order])
    ax.add_collection(lc)


def _new_zone_sites(tables, regions: pd.DataFrame) -> pd.DataFrame:
    """Existing regions that receive new zones (new_zones rows of kind 'zones')."""
    if not _has_rows(tables, "new_zones"):
        return regions.iloc[0:0]
    nz = tables["new_zones"]
    parents = {catchment_region(r, regions.region_id) for r in nz[nz.kind.astype(str) == "zones"].region_id}
    return regions[regions.region_id.isin(parents)]


def _new_labels(tables, regions: pd.DataFrame) -> list[tuple[float, float, str]]:
    new = regions[regions.status.astype(str) == "new"]
    sites = pd.concat([new, _new_zone_sites(tables, regions)]).drop_duplicates("region_id")
    return [(r.lon, r.lat, _short_city(r.city)) for r in sites.sort_values("lat").itertuples()]


def _map_frame(ax, fig: Figure, curve: str, cap: np.ndarray) -> None:
    ax.set_xlim(-180, 180)
    ax.set_ylim(-58, 78)
    ax.set_aspect("equal")
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.set_title(f"Footprint: peak utilisation over the horizon ({curve} curve, P50); "
                 "marker area ~ capacity at horizon end", loc="left")
    sm = matplotlib.cm.ScalarMappable(norm=UTIL_NORM, cmap=UTIL_CMAP)
    cbar = fig.colorbar(sm, ax=ax, fraction=0.025, pad=0.01, shrink=0.72, extend="max")
    cbar.set_label("peak utilisation (load / capacity; >1 = overloaded)")
    ref = [v for v in (50, 200, 500) if v <= max(np.nanmax(cap), 1)] or [float(np.nanmax(cap))]
    handles = [Line2D([], [], marker="o", ls="", mfc="#BBBBBB", mec="black", label="existing region"),
               Line2D([], [], marker="s", ls="", mfc="#BBBBBB", mec="black", label="new region"),
               Line2D([], [], marker="o", ls="", mfc="none", mec="black", ms=10,
                      label="region gaining new zones"),
               Line2D([], [], marker="+", ls="", mec="#666666", label="demand market"),
               Line2D([], [], color="#7A2A6E", lw=1.6, label="link (great circle)")]
    handles += [Line2D([], [], marker="o", ls="", mfc="white", mec="black",
                       ms=np.sqrt(_marker_area(v, np.nanmax(cap))),
                       label=f"{v:,.0f} MW") for v in ref]
    ax.legend(handles=handles, loc="lower left", framealpha=0.9, ncol=2, labelspacing=1.0)


# ------------------------------------------------------------------------------------- 2. fans
def catchment_region(region_id: str, known_ids) -> str:
    """The regions.csv row a new site is measured by: itself, or its parent for added zones ('x+2026')."""
    known = set(map(str, known_ids))
    return region_id if region_id in known else str(region_id).split("+")[0]


def _quantile_band(ax, frame: pd.DataFrame, value: str, curve: str, k: int, scale: float = 1.0,
                   alpha: float = 0.15, label: str | None = None) -> None:
    """One curve's P10-P90 band (drawn between the lower and the higher of the two) and P50 line of
    ``value`` x ``scale`` over months."""
    style = curve_style(curve, k)
    rows = {q: _select(frame, curve=curve, quantile=q).sort_values("month") for q in ("p10", "p50", "p90")}
    if rows["p50"].empty:
        return
    dates = months_to_dates(rows["p50"].month)
    if len(rows["p10"]) == len(rows["p90"]) == len(dates):
        p10, p90 = rows["p10"][value].to_numpy(), rows["p90"][value].to_numpy()
        ax.fill_between(dates, np.minimum(p10, p90) * scale, np.maximum(p10, p90) * scale, color=style["color"],
                        alpha=alpha, linewidth=0)
    ax.plot(dates, rows["p50"][value] * scale, lw=1.4, label=label, **style)


def _fan(ax, frame: pd.DataFrame, value: str, curves: list[str]) -> None:
    """P10-P90 band and P50 line of ``value`` per curve; capacity (P50) as a black step line."""
    for k, curve in enumerate(curves):
        _quantile_band(ax, frame, value, curve, k)
    caps = [(_select(frame, curve=c, quantile="p50").sort_values("month")) for c in curves]
    caps = [c for c in caps if not c.empty]
    if caps:
        ax.step(months_to_dates(caps[0].month), caps[0].capacity_mw, where="post", color="black", lw=1.3)
        for other in caps[1:]:  # capacity differs by curve only under a demand-driven build plan
            if not np.allclose(other.capacity_mw.to_numpy(), caps[0].capacity_mw.to_numpy()):
                ax.step(months_to_dates(other.month), other.capacity_mw, where="post", color="black",
                        lw=0.8, alpha=0.6)
    _date_axis(ax)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))


@_styled
def plot_fans(tables: Mapping[str, pd.DataFrame], summary: Mapping | None = None) -> Figure:
    """Demand against capacity, P10-P90 fans per curve: globally (demand.csv) and for each new site's
    catchment region (regions.csv load_mw against that region's capacity_mw)."""
    if not _has_rows(tables, "demand"):
        return _message_figure("Demand against capacity", "no demand.csv in this run folder")
    curves = curves_of(tables)
    sites = _fan_sites(tables)
    n = 1 + len(sites)
    ncols = 1 if n == 1 else 3
    nrows = int(np.ceil((n - 1) / ncols)) + 1 if n > 1 else 1
    fig = Figure(figsize=(11, 2.3 * nrows + 1.6), layout="constrained")
    grid = fig.add_gridspec(nrows, ncols, height_ratios=[1.5] + [1] * (nrows - 1))
    ax = fig.add_subplot(grid[0, :])
    _fan(ax, tables["demand"], "demand_mw", curves)
    ax.set_title("Global: operator demand vs installed capacity", loc="left")
    ax.set_ylabel("IT power (MW)")
    for k, (rid, title, opens) in enumerate(sites):
        sub = fig.add_subplot(grid[1 + k // ncols, k % ncols])
        _fan(sub, _select(tables["regions"], region_id=rid), "load_mw", curves)
        if isinstance(opens, str) and len(opens) == 7:
            sub.axvline(months_to_dates([opens])[0], color="#555555", lw=0.8, ls=(0, (1, 2)))
        sub.set_title(title, loc="left", fontsize=8)
        sub.set_ylabel("load (MW)")
    handles = [Line2D([], [], lw=1.4, label=f"{c} curve P50", **curve_style(c, k))
               for k, c in enumerate(curves)]
    handles += [Patch(color="#999999", alpha=0.35, label="P10-P90 band"),
                Line2D([], [], color="black", lw=1.3, label="capacity (P50)")]
    if sites:
        handles.append(Line2D([], [], color="#555555", lw=0.8, ls=(0, (1, 2)), label="site opens"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    fig.suptitle("Demand against capacity (catchments: load served by the region that hosts the site)",
                 x=0.01, ha="left", fontsize=10)
    return fig


def _fan_sites(tables) -> list[tuple[str, str, str]]:
    """(catchment region id, panel title, opening month) for each new site that regions.csv covers."""
    if not _has_rows(tables, "new_zones", "regions"):
        return []
    known = tables["regions"].region_id.astype(str).unique()
    out = []
    for row in tables["new_zones"].drop_duplicates("region_id").itertuples():
        rid = catchment_region(str(row.region_id), known)
        if rid in set(known):
            what = "new zones in" if str(row.kind) == "zones" else "new region"
            out.append((rid, f"{_short_city(row.city)}: {what} {rid}\n(opens {row.opens})", row.opens))
    return out


# ------------------------------------------------------------------------------- 3. saturation
@_styled
def plot_saturation(tables: Mapping[str, pd.DataFrame], summary: Mapping | None = None) -> Figure:
    """One row per new site: P10-P90 bar of the month it first runs above its utilisation ceiling, per
    curve, P50 as a diamond; an arrow at the horizon end means 'later than the horizon'."""
    if not _has_rows(tables, "new_zones"):
        return _message_figure("Saturation of new sites", "no new sites in this run (new_zones.csv empty)")
    nz = tables["new_zones"].copy()
    curves = [c for c in curves_of(tables) if c in set(nz.curve.astype(str))]
    start, end = _horizon(tables, summary)
    sites = nz.drop_duplicates("region_id").sort_values(["opens", "region_id"], ascending=False)
    fig = Figure(figsize=(10, (0.2 * max(1, len(curves)) + 0.1) * len(sites) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    height = 0.8 / max(len(curves), 1)
    end_date = months_to_dates([end])[0] + np.timedelta64(31, "D")
    for row_index, site in enumerate(sites.itertuples()):
        for k, curve in enumerate(curves):
            y = row_index + (len(curves) / 2 - k - 0.5) * height
            rec = _select(nz, region_id=site.region_id, curve=curve)
            if not rec.empty:
                _saturation_bar(ax, rec.iloc[0], y, height, curve_style(curve, k), end_date)
        if isinstance(site.opens, str) and len(site.opens) == 7:
            ax.plot([months_to_dates([site.opens])[0]] * 2, [row_index - 0.42, row_index + 0.42],
                    color="#333333", lw=1.0)
    ax.axvline(end_date, color="#333333", lw=0.8, ls="--")
    ax.text(end_date, len(sites) - 0.45, " horizon end", fontsize=7, va="bottom", ha="right")
    ax.set_yticks(range(len(sites)), [f"{_short_city(s.city)}  ({s.region_id}, {s.kind})"
                                      for s in sites.itertuples()])
    ax.set_ylim(-0.6, len(sites) - 0.2)
    ax.set_xlim(months_to_dates([start])[0], end_date + np.timedelta64(60, "D"))
    _date_axis(ax)
    ax.set_xlabel("month of saturation (first month above the utilisation ceiling)")
    ax.grid(axis="y", visible=False)
    handles = [Patch(color=curve_style(c, k)["color"], label=f"{c}: P10-P90") for k, c in enumerate(curves)]
    handles += [Line2D([], [], marker="D", ls="", mfc="white", mec="black", label="P50"),
                Line2D([], [], marker=">", ls="", mfc="black", mec="black", label="beyond horizon"),
                Line2D([], [], color="#333333", lw=1.0, label="site opens")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title("Saturation timeline of new sites (Monte Carlo P10-P90 per demand curve)", loc="left")
    return fig


def _horizon(tables, summary: Mapping | None) -> tuple[str, str]:
    horizon = (summary or {}).get("horizon") or {}
    if "start" in horizon and "end" in horizon:
        return str(horizon["start"]), str(horizon["end"])
    months = tables["demand"].month.astype(str) if _has_rows(tables, "demand") else pd.Series(["2025-01"])
    return months.min(), months.max()


def _saturation_bar(ax, rec: pd.Series, y: float, height: float, style: dict, end_date) -> None:
    """Bar P10..P90 (clipped at the horizon end, arrow when P90 is beyond), diamond at P50."""
    p10, p50, p90 = (str(rec[f"saturation_{q}"]) for q in ("p10", "p50", "p90"))
    if p10 == NOT_WITHIN:
        ax.text(end_date - np.timedelta64(10, "D"), y, "not within horizon ", fontsize=6.5, ha="right",
                va="center", color=style["color"], fontweight="bold")
        ax.plot([end_date], [y], marker=">", color=style["color"], ms=6, mec="black", mew=0.5)
        return
    left = months_to_dates([p10])[0]
    right = end_date if p90 == NOT_WITHIN else months_to_dates([p90])[0] + np.timedelta64(15, "D")
    ax.barh(y, right - left, left=left, height=height * 0.85, color=style["color"], alpha=0.85,
            edgecolor="black", linewidth=0.4)
    if p90 == NOT_WITHIN:
        ax.plot([end_date], [y], marker=">", color="black", ms=5)
    if p50 != NOT_WITHIN:
        ax.plot([months_to_dates([p50])[0] + np.timedelta64(15, "D")], [y], marker="D", ms=4.5,
                mfc="white", mec="black", mew=0.8)


# ------------------------------------------------------------------------------------ 4. links
HEATMAP_MAX_LINKS = 60


@_styled
def plot_links(tables: Mapping[str, pd.DataFrame], summary: Mapping | None = None, *,
               top_k: int = 12, scenario: Mapping | None = None) -> Figure:
    """Left: heat map of P50 utilisation per link and month (main curve), busiest links at the top.
    Right: the ``top_k`` most congested corridors, peak P50 utilisation per curve with P10-P90 whiskers."""
    if not _has_rows(tables, "links"):
        return _message_figure("Link utilisation", "no links.csv in this run folder")
    curve = main_curve(tables)
    sel = _select(tables["links"], curve=curve, quantile="p50")
    grid = sel.pivot_table(index="link_id", columns="month", values="utilisation", aggfunc="max")
    grid = grid.loc[grid.max(axis=1).sort_values(ascending=False).index]
    shown = grid.iloc[:HEATMAP_MAX_LINKS]
    fig = Figure(figsize=(11, max(4.0, 0.13 * len(shown) + 1.6)), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.5, 1])
    _heatmap(left, fig, shown, curve, len(grid))
    _corridors(right, tables["links"], top_k, curves_of(tables), analysis_settings(scenario)[1])
    return fig


def _heatmap(ax, fig: Figure, grid: pd.DataFrame, curve: str, n_total: int) -> None:
    dates = matplotlib.dates.date2num(months_to_dates(list(grid.columns)))
    step = dates[1] - dates[0] if len(dates) > 1 else 30.0
    image = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap=UTIL_CMAP, norm=UTIL_NORM,
                      interpolation="nearest",
                      extent=(dates[0], dates[-1] + step, len(grid) - 0.5, -0.5))
    ax.xaxis_date()
    _date_axis(ax)
    ax.set_yticks(range(len(grid)), grid.index, fontsize=max(4.5, min(7, 300 / max(len(grid), 1))))
    ax.grid(False)
    ax.set_xlabel("month")
    more = f" (top {len(grid)} of {n_total})" if len(grid) < n_total else ""
    ax.set_title(f"Link utilisation, {curve} curve, P50{more}", loc="left")
    cbar = fig.colorbar(image, ax=ax, extend="max", fraction=0.05, pad=0.01)
    cbar.set_label("utilisation (load / capacity)")


def _corridors(ax, links: pd.DataFrame, top_k: int, curves: list[str], ceiling: float) -> None:
    peak = links.groupby(["curve", "quantile", "link_id"]).utilisation.max()
    main = "base" if "base" in curves else curves[0]
    ranked = peak.get((main, "p50"), pd.Series(dtype=float)).sort_values(ascending=False)
    top = list(ranked.index[:top_k])[::-1]
    height = 0.8 / max(len(curves), 1)
    for k, curve in enumerate(curves):
        style = curve_style(curve, k)
        y = np.arange(len(top)) + (len(curves) / 2 - k - 0.5) * height
        get = lambda q: np.array([peak.get((curve, q, lid), np.nan) for lid in top], dtype=float)
        p50, p10, p90 = get("p50"), get("p10"), get("p90")
        ax.barh(y, p50 * 100, height=height * 0.9, color=style["color"], label=curve,
                edgecolor="black", linewidth=0.3)
        err = np.vstack([np.clip(p50 - p10, 0, None), np.clip(p90 - p50, 0, None)]) * 100
        ax.errorbar(p50 * 100, y, xerr=np.nan_to_num(err), fmt="none", ecolor="#222222", lw=0.7, capsize=1.5)
    ax.axvline(100, color="black", lw=0.9, ls="--")
    ax.text(100, len(top) - 0.4, " capacity", fontsize=6.5, va="bottom")
    ax.axvline(ceiling * 100, color="#555555", lw=0.8, ls=":")
    ax.text(ceiling * 100, len(top) - 0.4, f"ceiling {ceiling:.0%} ", fontsize=6.5, va="bottom", ha="right")
    ax.set_yticks(range(len(top)), top)
    ax.set_ylim(-0.6, len(top) - 0.1)
    ax.set_xlabel("peak utilisation over the horizon (%)")
    ax.grid(axis="y", visible=False)
    ax.legend(title="curve: bar P50, whisker P10-P90", loc="upper center", bbox_to_anchor=(0.5, -0.07),
              ncol=len(curves), frameon=False)
    ax.set_title(f"Most congested corridors (top {len(top)})", loc="left")


# ---------------------------------------------------------------------------------- 5. latency
@_styled
def plot_latency(tables: Mapping[str, pd.DataFrame], summary: Mapping | None = None, *,
                 scenario: Mapping | None = None) -> Figure:
    """Left: per-market RTT at the horizon end (P10-P90 bar, P50 dot; hollow: P50 at the start) against
    the SLO. Right: share of demand served within the SLO over time, per curve (P10-P90 band)."""
    if not _has_rows(tables, "markets"):
        return _message_figure("Latency", "no markets.csv in this run folder")
    slo_ms, _ = analysis_settings(scenario)
    markets = tables["markets"]
    fig = Figure(figsize=(11, max(4.5, 0.16 * markets.market_id.nunique() + 1.4)), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.2])
    _rtt_ranges(left, tables, main_curve(tables), slo_ms)
    _slo_share(right, markets, curves_of(tables), slo_ms)
    return fig


def _rtt_ranges(ax, tables, curve: str, slo_ms: float) -> None:
    sel = _select(tables["markets"], curve=curve)
    first, last = sel.month.min(), sel.month.max()
    end = sel[sel.month == last].pivot_table(index="market_id", columns="quantile", values="rtt_ms")
    start = sel[(sel.month == first) & (sel["quantile"] == "p50")].set_index("market_id").rtt_ms
    end = end.sort_values("p50", ascending=False)
    names = _market_names(tables)
    y = np.arange(len(end))
    values = end.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    x_cap = max(float(finite.max()) if finite.size else slo_ms, slo_ms) * 1.1  # unreachable: drawn at the edge
    clipped = end.clip(upper=x_cap)
    ax.hlines(y, clipped.get("p10", clipped.p50), clipped.get("p90", clipped.p50), color="#777777", lw=2.5)
    late = end.p50.to_numpy() > slo_ms
    ax.plot(clipped.p50[~late], y[~late], "o", color="#2166AC", ms=4, label="P50 within SLO")
    ax.plot(clipped.p50[late], y[late], "s", color="#B2182B", ms=4, label="P50 above SLO")
    ax.plot(start.reindex(end.index).clip(upper=x_cap), y, "o", mfc="none", mec="black", ms=4, mew=0.6,
            label=f"P50 at {first}")
    for row in np.flatnonzero(~np.isfinite(end.p50.to_numpy())):
        ax.text(x_cap * 0.98, y[row], "unreachable", fontsize=6.5, ha="right", va="center", color="#B2182B")
    ax.axvline(slo_ms, color="black", ls="--", lw=0.9)
    ax.text(slo_ms, len(end) - 0.3, f" SLO {slo_ms:g} ms", fontsize=7, va="bottom")
    ax.set_yticks(y, [names.get(m, m) for m in end.index])
    ax.set_ylim(-0.8, len(end) + 0.6)
    ax.set_xlim(0, x_cap)
    ax.set_xlabel("round-trip time to the serving region (ms)")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper right", framealpha=0.9, title="bar: P10-P90")
    ax.set_title(f"RTT per market at {last} ({curve} curve)", loc="left")


def _market_names(tables) -> dict[str, str]:
    if not _has_rows(tables, "footprint_markets"):
        return {}
    return dict(zip(tables["footprint_markets"].market_id, tables["footprint_markets"].name.map(_short_name)))


def _short_name(name: str) -> str:
    return str(name).split(" / ")[0]


def slo_share_by_month(markets: pd.DataFrame) -> pd.DataFrame:
    """Demand-weighted share within the SLO per curve, quantile and month: sum(within_slo_mw) /
    sum(demand_mw) over markets. Summing per-market quantiles approximates the quantile of the sum (the
    markets' shocks are shared by the industry curve, so the approximation is close; it is labelled so)."""
    sums = markets.groupby(["curve", "quantile", "month"])[["within_slo_mw", "demand_mw"]].sum()
    share = sums.within_slo_mw / sums.demand_mw.where(sums.demand_mw > 0)
    return share.rename("share").reset_index()


def _slo_share(ax, markets: pd.DataFrame, curves: list[str], slo_ms: float) -> None:
    share = slo_share_by_month(markets)
    for k, curve in enumerate(curves):
        _quantile_band(ax, share, "share", curve, k, scale=100.0, alpha=0.18, label=f"{curve} P50")
    _date_axis(ax)
    ax.set_ylim(0, 100)
    ax.set_ylabel(f"demand served within {slo_ms:g} ms RTT (%)")
    ax.set_xlabel("month")
    ax.legend(loc="lower left", framealpha=0.9, title="band: P10-P90 (summed over markets)")
    ax.set_title("Share of demand served within the SLO", loc="left")


# ------------------------------------------------------------------------------------ 6. N-1
@_styled
def plot_n_minus_1(tables: Mapping[str, pd.DataFrame], summary: Mapping | None = None,
                   top_k: int = 12) -> Figure:
    """The ``top_k`` worst single failures of the main curve (worst month each): unmet demand (MW) and
    share of demand pushed out of the SLO (percentage points), links hatched, regions solid."""
    if not _has_rows(tables, "n_minus_1"):
        return _message_figure("N-1 failures", "no N-1 analysis in this run (n_minus_1.csv absent or empty)")
    curve = main_curve(tables)
    sel = _select(tables["n_minus_1"], curve=curve)
    if sel.empty:
        sel, curve = tables["n_minus_1"], str(tables["n_minus_1"].curve.iloc[0])
    worst = sel.sort_values(["unmet_mw", "slo_share_lost"], ascending=False).drop_duplicates("failure")
    worst = worst.head(top_k).iloc[::-1]
    if worst[["unmet_mw", "slo_share_lost"]].abs().sum().sum() == 0:
        return _message_figure("N-1 failures", f"no single failure causes unmet demand or SLO loss ({curve})")
    fig = Figure(figsize=(10, 0.28 * len(worst) + 1.6), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(worst))
    kinds = worst.failure_kind.astype(str).to_numpy()
    for ax, values, label in ((left, worst.unmet_mw, "unmet demand (MW)"),
                              (right, worst.slo_share_lost * 100, "demand pushed out of the SLO (pp)")):
        for kind, colour, hatch in (("link", "#8FB8DE", "////"), ("region", "#3B0F4F", "")):
            mask = kinds == kind
            ax.barh(y[mask], values.to_numpy()[mask], color=colour, hatch=hatch, edgecolor="black",
                    linewidth=0.4, label=f"{kind} failure")
        other = ~np.isin(kinds, ["link", "region"])
        if other.any():
            ax.barh(y[other], values.to_numpy()[other], color="#BBBBBB", edgecolor="black", linewidth=0.4,
                    label="other failure")
        ax.set_xlabel(label)
        ax.grid(axis="y", visible=False)
    left.set_yticks(y, [f"{f}  [{m}]" for f, m in zip(worst.failure, worst.month)])
    left.legend(loc="lower right", framealpha=0.9)
    fig.suptitle(f"N-1: worst single failures by unmet demand ({curve} curve; worst month in brackets)",
                 x=0.01, ha="left", fontsize=10)
    left.set_title("Unmet demand", loc="left")
    right.set_title("Share of demand pushed out of its SLO", loc="left")
    return fig


# ------------------------------------------------------------------------------------ save all
PLOTS: dict[str, Callable[..., Figure]] = {
    "map": plot_map, "fans": plot_fans, "saturation": plot_saturation, "links": plot_links,
    "latency": plot_latency, "n_minus_1": plot_n_minus_1}


def save_all(tables: Mapping[str, pd.DataFrame], summary: Mapping | None, out_dir: Path, *,
             scenario: Mapping | None = None) -> list[Path]:
    """Draw every figure and write ``out_dir/<name>.png`` and ``.svg``; return the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, builder in PLOTS.items():
        kwargs = {"scenario": scenario} if builder in (plot_latency, plot_links) else {}
        fig = builder(tables, summary, **kwargs)
        with matplotlib.rc_context(STYLE):
            _freeze_layout(fig)
            for ext in ("png", "svg"):
                path = out_dir / f"{name}.{ext}"
                fig.savefig(path, format=ext, facecolor="white")
                written.append(path)
    return written


def _freeze_layout(fig: Figure) -> None:
    """Run the constrained layout once, then fix it, so saving twice does not lay the figure out twice
    (the layout solver is most of the drawing time)."""
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine("none")
