"""The run-folder schema is defined once (sim.outputs.schema): real runs and the synthetic fixture agree
with it column for column, and the fixture's identifiers look like a real run's."""
from __future__ import annotations

import pandas as pd
import pytest
from fixtures_run import write_run_folder
from test_engine import two_region_scenario

import sim
from sim.outputs.report import read_run_folder
from sim.outputs.schema import RUN_TABLES, conform


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A small real run folder (tables and summary; no plots)."""
    folder = tmp_path_factory.mktemp("real")
    raw = two_region_scenario(folder)
    raw["horizon"] = {"start": "2025-01", "end": "2026-12"}
    sim.run(raw, samples=3, seed=1, backend="numpy", progress=False, out_dir=folder / "run", report=False)
    return folder / "run"


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory):
    return write_run_folder(tmp_path_factory.mktemp("fixture"))


def _header(folder, name: str) -> tuple[str, ...]:
    return tuple(pd.read_csv(folder / f"{name}.csv", nrows=0).columns)


@pytest.mark.parametrize("which", ["real_run", "fixture_run"])
def test_every_table_has_exactly_the_schema_columns(which, request):
    folder = request.getfixturevalue(which)
    for name, columns in RUN_TABLES.items():
        assert _header(folder, name) == columns, (which, name)


@pytest.mark.parametrize("which", ["real_run", "fixture_run"])
def test_site_ids_name_footprint_regions(which, request):
    """new_zones.region_id is the region the site belongs to (a footprint region), the site its own id."""
    run = read_run_folder(request.getfixturevalue(which))
    known = set(run["tables"]["footprint_regions"].region_id)
    for name in ("regions", "new_zones"):
        assert set(run["tables"][name].region_id) <= known, name
    assert set(run["summary"]["new_zones"]) <= known


def test_conform_refuses_a_table_that_disagrees_with_the_schema():
    frame = pd.DataFrame(columns=list(RUN_TABLES["links"]))
    assert list(conform("links", frame[list(reversed(frame.columns))]).columns) == list(RUN_TABLES["links"])
    with pytest.raises(ValueError, match="missing"):
        conform("links", frame.drop(columns=["utilisation"]))
    with pytest.raises(ValueError, match="extra"):
        conform("links", frame.assign(surprise=1.0))
