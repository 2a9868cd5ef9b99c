"""`infrasim advise` and `infrasim support` from the command line and the Python API: the folder they
write, the report that shows it (alone or beside a run), and one-line errors."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import sim
from sim.cli import main
from test_advise import DATA, small_scenario


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "small.yaml"
    path.write_text(yaml.safe_dump(small_scenario()))
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory, scenario_file) -> Path:
    """One folder holding a run, its advice and its staffing (in that order)."""
    out = tmp_path_factory.mktemp("planning") / "out"
    sim.run(sim.load_scenario(scenario_file), samples=2, out_dir=out, progress=False, backend="numpy", report=False)
    assert main(["advise", str(scenario_file), "--candidates", str(DATA / "candidates.csv"), "--top", "2",
                 "--samples", "4", "--opens", "2025-01", "--out", str(out)]) == 0
    assert main(["support", str(scenario_file), "--samples", "4", "--out", str(out)]) == 0
    return out


def test_one_folder_holds_the_run_the_advice_and_the_staffing(folder):
    for name in ("summary.json", "markets.csv", "advise.json", "advise_candidates.csv", "advise_picks.csv",
                 "support.json", "support_hourly.csv", "support_closures.csv", "plots/advise_map.png",
                 "plots/support_agents.svg", "plots/map.png"):
        assert (folder / name).is_file(), name
    page = (folder / "report.html").read_text()
    assert 'id="advise"' in page and 'id="support"' in page and "The answers" in page
    picks = pd.read_csv(folder / "advise_picks.csv")
    assert len(picks) == 2 and all(name in page for name in picks.name)


def test_the_report_redraws_a_planning_only_folder(tmp_path, scenario_file, capsys):
    out = tmp_path / "advice"
    assert main(["advise", str(scenario_file), "--candidates", str(DATA / "candidates.csv"), "--top", "1",
                 "--samples", "3", "--opens", "2025-01", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("1. ") >= 1 and "MW of demand within the 100 ms SLO" in printed
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert 'id="advise"' in page and "data:image/png;base64," in page and "The answers" not in page


def test_a_folder_of_another_scenario_is_refused(tmp_path, scenario_file, capsys):
    out = tmp_path / "other"
    out.mkdir()
    (out / "scenario.yaml").write_text("name: another\n")
    code = main(["support", str(scenario_file), "--samples", "2", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"{out}: scenario.yaml: the folder holds results of another scenario")
    assert "\n" not in err


def test_bad_candidates_exit_2_with_one_line(tmp_path, scenario_file, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lat,lon\nAtlantis,99,0\n")
    code = main(["advise", str(scenario_file), "--candidates", str(bad), "--samples", "2"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"{bad}: row 2.lat: outside [-90, 90]: '99'"


def test_the_python_api_returns_tables(scenario_file):
    staffing = sim.support(scenario_file, samples=2, service_level=0.9)
    assert staffing.summary["service_level_target"] == 0.9
    assert (staffing.centres.service_level.dropna() >= 0.9 - 1e-9).all()
    assert set(staffing.tables) == {"support_hourly", "support_centres", "support_closures", "support_routing",
                                    "support_markets"}
