"""`infrasim compare`: delta tables and the lines that say what moved (sim.outputs.compare), on synthetic
run folders changed by hand and on the Paris-late variant of the default footprint."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from fixtures_run import write_run_folder
from hypothesis import given, settings, strategies as st

import sim
from sim.cli import main
from sim.config import month_name, month_number, month_range
from sim.outputs.compare import compare_runs, month_ranges, write_comparison

LONDON_MONTHS = ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A synthetic base and a variant in which London (eu-west-1) runs above the ceiling in
    2026-08..2026-12 (base curve, P50), saturates then, and one more MW is unmet at the horizon end."""
    base = write_run_folder(tmp_path_factory.mktemp("base"))
    variant = write_run_folder(tmp_path_factory.mktemp("variant"))
    regions = pd.read_csv(variant / "regions.csv", dtype={"month": str})
    london = (regions.region_id == "eu-west-1") & (regions.curve == "base")
    regions.loc[london & (regions["quantile"] == "p50"), "utilisation"] = 0.5
    regions.loc[london & (regions["quantile"] == "p50") & regions.month.isin(LONDON_MONTHS), "utilisation"] = 0.9
    regions.to_csv(variant / "regions.csv", index=False)
    base_regions = pd.read_csv(base / "regions.csv", dtype={"month": str})
    base_regions.loc[london & (base_regions["quantile"] == "p50"), "utilisation"] = 0.5
    base_regions.to_csv(base / "regions.csv", index=False)
    for folder, sat_p50, above in ((base, "not within horizon", 0), (variant, "2026-08", 5)):
        sat = pd.read_csv(folder / "saturation.csv", dtype=str)
        row = (sat.site == "eu-west-1") & (sat.curve == "base")
        sat.loc[row, ["saturation_p10", "saturation_p50", "saturation_p90"]] = [sat_p50] * 3
        sat.loc[row, "months_above_p50"] = str(above)
        sat.to_csv(folder / "saturation.csv", index=False)
    summary = json.loads((variant / "summary.json").read_text())
    summary["unmet_mw_p50"]["base"] += 1.0
    summary["scenario_name"] = "paris-late"
    (variant / "summary.json").write_text(json.dumps(summary))
    return base, variant


def test_month_ranges_by_example():
    assert month_ranges([]) == ""
    assert month_ranges(["2026-08", "2026-09", "2026-10", "2028-01"]) == "2026-08..2026-10, 2028-01"
    assert month_ranges(["2026-12", "2027-01", "2026-11"]) == "2026-11..2027-01"


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(month_number("2025-01"), month_number("2030-12")), max_size=40))
def test_month_ranges_expand_back_to_the_same_months(numbers):
    months = [month_name(n) for n in numbers]
    expanded = set()
    for part in filter(None, month_ranges(months).split(", ")):
        first, _, last = part.partition("..")
        expanded |= set(month_range(first, last or first))
    assert expanded == set(months)


def test_delta_table_puts_london_first_with_its_months_above_the_ceiling(pair):
    base, variant = pair
    comparison = compare_runs(base, variant)
    sat = comparison.tables["saturation_delta"]
    first = sat[sat.curve == "base"].iloc[0]
    assert (first.site, first.moved) == ("eu-west-1", True)
    assert first.above_ceiling_p50_path_base == "" and first.above_ceiling_p50_path_variant == "2026-08..2026-12"
    assert (first.saturation_p50_base, first.saturation_p50_variant) == ("not within horizon", "2026-08")
    assert first.months_above_p50_delta == 5
    assert comparison.lines[1] == "What moved:"
    assert comparison.lines[2].startswith("- eu-west-1 (London): above the 85 % ceiling (P50 utilisation) in "
                                          "2026-08..2026-12 (base: no month)")
    unmet = comparison.tables["headline_delta"].query("curve == 'base' and metric.str.startswith('unmet')")
    assert unmet.delta.item() == pytest.approx(1.0) and unmet.moved.item()
    assert comparison.sites_moved == 1
    # every other site and figure stayed: listed under what did not move
    still = comparison.lines[comparison.lines.index("What did not move:") + 1]
    assert still.startswith(f"- {len(sat[sat.curve == 'base']) - 1} of {len(sat[sat.curve == 'base'])} sites")


def test_a_run_against_itself_moves_nothing(pair):
    base, _ = pair
    comparison = compare_runs(base, base)
    assert comparison.lines[1:3] == ["What moved:", "- nothing at the precision the report prints."]
    assert not comparison.tables["saturation_delta"].moved.any()
    assert (comparison.tables["headline_delta"].delta.fillna(0) == 0).all()
    assert (comparison.tables["links_delta"].utilisation_delta == 0).all()


def test_cli_writes_the_tables_plot_and_page(pair, tmp_path, capsys):
    base, variant = pair
    out = tmp_path / "cmp"
    assert main(["compare", str(base), str(variant), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "eu-west-1 (London)" in printed.splitlines()[2]
    for name in ("saturation_delta.csv", "regions_delta.csv", "headline_delta.csv", "links_delta.csv",
                 "markets_delta.csv", "n_minus_1_delta.csv", "compare.txt", "compare.png", "compare.svg",
                 "compare.html"):
        assert (out / name).stat().st_size > 0, name
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "2026-08..2026-12" in page


def test_cli_refuses_a_folder_that_is_not_a_run_with_one_line(pair, tmp_path, capsys):
    base, _ = pair
    assert main(["compare", str(base), str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "summary.json: not found" in err
    assert main(["compare", str(base), str(base), "--curve", "sideways", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("--curve: sideways: not a curve of both runs")


def test_paris_late_against_the_default_shows_london_first(tmp_path):
    """The question of the issue, end to end on the default footprint: Paris opening in 2027-06 instead
    of 2026-06 pushes London above its ceiling from mid 2026, and the comparison says so first."""
    raw = {"name": "default", "horizon": {"start": "2026-01", "end": "2027-06"}, "failures": {"enabled": False},
           "analysis": {"n_minus_1": False}}
    late = dict(raw, name="paris-late", footprint={"overrides": {"eu-west-2": {"opens": "2027-06"}}})
    for name, scenario in (("base", raw), ("late", late)):
        sim.run(scenario, samples=8, seed=1, backend="numpy", progress=False, report=False, out_dir=tmp_path / name)
    comparison = compare_runs(tmp_path / "base", tmp_path / "late")
    london = comparison.lines[2]
    assert london.startswith("- eu-west-1 (London): above the 85 % ceiling (P50 utilisation) in 2026-")
    assert "(base: no month)" in london
    paris = comparison.tables["saturation_delta"].query("site == 'eu-west-2' and curve == 'base'").iloc[0]
    assert (paris.opens_base, paris.opens_variant, paris.moved) == ("2026-06", "2027-06", True)
