"""Tests of sim.outputs.plots against a synthetic run folder (tests/fixtures_run.py) and on analytic cases."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from fixtures_run import write_run_folder
from hypothesis import given, settings, strategies as st
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from sim.outputs import plots
from sim.outputs.report import read_run_folder

UNITS = ("(MW)", "(ms)", "(%)", "(°)", "(pp)", "utilisation", "month")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    """The synthetic run folder, loaded once for the module."""
    return read_run_folder(write_run_folder(tmp_path_factory.mktemp("run")))


def _luminance(colour) -> float:
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


# ------------------------------------------------------------------------------------- geometry
lat_st = st.floats(-80, 80, allow_nan=False)
lon_st = st.floats(-180, 180, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(lat_st, lon_st, lat_st, lon_st)
def test_great_circle_arc_ends_at_both_sites_and_splits_cleanly(lat1, lon1, lat2, lon2):
    arc = plots.great_circle_points(lat1, lon1, lat2, lon2, n=48)
    assert np.allclose(arc[0, 1], lat1, atol=1e-6) and np.allclose(arc[-1, 1], lat2, atol=1e-6)
    assert np.isclose((arc[0, 0] - lon1 + 180) % 360 - 180, 0, atol=1e-6) or abs(lat1) > 89.9
    assert np.isclose((arc[-1, 0] - lon2 + 180) % 360 - 180, 0, atol=1e-6) or abs(lat2) > 89.9
    pieces = plots.split_antimeridian(arc)
    for piece in pieces:
        assert np.all(piece[:, 0] >= -180 - 1e-9) and np.all(piece[:, 0] <= 180 + 1e-9)
        assert np.all(np.abs(np.diff(piece[:, 0])) < 180)  # no line drawn across the whole map
    # Each cut adds exactly one point on each side of the antimeridian.
    assert sum(len(p) for p in pieces) == len(arc) + 2 * (len(pieces) - 1)


def test_trans_pacific_arc_is_cut_at_the_antimeridian_at_one_latitude():
    """San Jose -> Tokyo crosses 180 deg: two pieces meeting at +-180 at the same latitude."""
    pieces = plots.split_antimeridian(plots.great_circle_points(37.34, -121.89, 35.68, 139.69))
    assert len(pieces) == 2
    assert {pieces[0][-1, 0], pieces[1][0, 0]} == {-180.0, 180.0}
    assert pieces[0][-1, 1] == pytest.approx(pieces[1][0, 1])
    assert pieces[0][-1, 1] > 40  # the great circle bows north of both cities


def test_great_circle_midpoint_is_equidistant():
    arc = plots.great_circle_points(0.0, 0.0, 0.0, 90.0, n=3)
    assert arc[1] == pytest.approx([45.0, 0.0])


def test_land_outline_is_packaged():
    rings = plots.land_polygons()
    assert len(rings) > 100
    assert all(r.shape[1] == 2 for r in rings)
    assert min(r[:, 0].min() for r in rings) >= -180 - 1e-9
    assert max(r[:, 0].max() for r in rings) <= 180 + 1e-9


# ----------------------------------------------------------------------------------------- style
def test_utilisation_colours_get_darker_as_load_rises_so_grayscale_reads():
    lum = np.array([_luminance(plots.UTIL_CMAP(x)) for x in np.linspace(0, 1, 21)])
    assert np.all(np.diff(lum) < 0)
    assert lum[0] - lum[-1] > 0.6


def test_curves_differ_in_lightness_and_line_style():
    styles = [plots.curve_style(c) for c in ("bear", "base", "bull")]
    lum = sorted(_luminance(s["color"]) for s in styles)
    assert min(np.diff(lum)) > 0.1
    assert len({str(s["linestyle"]) for s in styles}) == 3


def test_catchment_of_added_zones_is_their_region():
    assert plots.catchment_region("ap-northeast-1+2026", ["ap-northeast-1", "x"]) == "ap-northeast-1"
    assert plots.catchment_region("sa-east-1", ["sa-east-1"]) == "sa-east-1"


# ---------------------------------------------------------------------------------------- figures
@pytest.mark.parametrize("name", list(plots.PLOTS))
def test_every_figure_has_data_in_every_panel_and_units(run, name):
    fig = plots.PLOTS[name](run["tables"], run["summary"])
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert axes
    for ax in axes:
        assert ax.has_data(), f"{name}: empty panel {ax.get_title()!r}"
        assert ax.get_title(loc="left"), f"{name}: panel without title"
    labels = " ".join(ax.get_xlabel() + " " + ax.get_ylabel() for ax in axes)
    assert any(unit in labels for unit in UNITS), f"{name}: no unit on any axis: {labels!r}"


def test_map_colours_regions_by_their_peak_utilisation(run):
    fig = plots.plot_map(run["tables"])
    regions = run["tables"]["footprint_regions"]
    sel = run["tables"]["regions"].query("curve == 'base' and quantile == 'p50'")
    peak = sel.groupby("region_id").utilisation.max()
    existing = regions[regions.status != "new"]
    scatter = next(c for c in fig.axes[0].collections
                   if hasattr(c, "get_offsets") and len(c.get_offsets()) == len(existing))
    assert np.allclose(scatter.get_array(), peak.reindex(existing.region_id).to_numpy())


def test_map_draws_every_link_at_least_once(run):
    fig = plots.plot_map(run["tables"])
    lines = [c for c in fig.axes[0].collections if isinstance(c, matplotlib.collections.LineCollection)]
    n_links = len(run["tables"]["footprint_links"])
    assert len(lines) == 1 and len(lines[0].get_segments()) > n_links  # the trans-Pacific arcs are cut


def test_saturation_marks_sites_that_never_saturate(run):
    fig = plots.plot_saturation(run["tables"], run["summary"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    nz = run["tables"]["new_zones"]
    never = (nz.saturation_p10 == plots.NOT_WITHIN).sum()
    assert never > 0 and texts.count("not within horizon ") == never
    assert len(fig.axes[0].get_yticklabels()) == nz.region_id.nunique()


def test_fans_have_a_panel_per_new_site_plus_the_global_one(run):
    fig = plots.plot_fans(run["tables"], run["summary"])
    assert len(fig.axes) == 1 + run["tables"]["new_zones"].region_id.nunique()


def test_slo_share_by_month_is_demand_weighted():
    markets = pd.DataFrame({"curve": ["base"] * 2, "quantile": ["p50"] * 2, "month": ["2025-01"] * 2,
                            "market_id": ["a", "b"], "within_slo_mw": [9.0, 0.0], "demand_mw": [10.0, 90.0]})
    share = plots.slo_share_by_month(markets)
    assert share.share.iloc[0] == pytest.approx(0.09)


@pytest.mark.parametrize("name", list(plots.PLOTS))
def test_missing_tables_give_a_message_not_an_empty_panel(name):
    fig = plots.PLOTS[name]({}, None)
    text = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "no " in text


def test_save_all_writes_png_and_svg_for_every_figure(tmp_path: Path):
    paths = plots.save_all({}, None, tmp_path / "plots")
    assert sorted(p.name for p in paths) == sorted(f"{n}.{e}" for n in plots.PLOTS for e in ("png", "svg"))
    for path in paths:
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            assert ET.fromstring(data).tag.endswith("svg")


def test_unreachable_market_is_labelled_not_dropped(run):
    tables = dict(run["tables"])
    markets = tables["markets"].copy()
    markets.loc[markets.market_id == "af-lagos", "rtt_ms"] = np.inf
    tables["markets"] = markets
    fig = plots.plot_latency(tables)
    assert [t.get_text() for t in fig.axes[0].texts].count("unreachable") == 1
    assert np.isfinite(fig.axes[0].get_xlim()).all()
