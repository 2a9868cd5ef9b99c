"""Scenario files: the strict schema and the one-line refusals of hostile input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import InputError
from sim.model.scenario import json_schema, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "alibaba-2025.yaml"

HOSTILE = {
    "empty": (b"", "file is empty"),
    "blank": (b"   \n\n", "file is empty"),
    "list": (b"- a\n- b\n", "top level must be a mapping"),
    "scalar": (b"42\n", "top level must be a mapping"),
    "binary": (b"\x00\x01\x02\xff", "binary"),
    "latin1": ("name: caf\xe9".encode("latin-1"), "UTF-8"),
    "alias_bomb": (b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\nname: x\n", "aliases are not allowed"),
    "nan": (b"name: x\nsamples: .nan\n", "samples"),
    "nan_float": (b"name: x\nanalysis: {slo_rtt_ms: .nan}\n", "analysis.slo_rtt_ms"),
    "inf": (b"name: x\nanalysis: {slo_rtt_ms: .inf}\n", "analysis.slo_rtt_ms"),
    "text_number": (b"name: x\nsamples: many\n", "samples"),
    "unknown_top": (b"name: x\nsampels: 10\n", "did you mean 'samples'"),
    "unknown_nested": (b"name: x\nanalysis: {slo_rtt: 80}\n", "did you mean 'slo_rtt_ms'"),
    "missing_graphml": (b"name: x\ntopology: {graphml: nowhere.graphml}\n", "topology.graphml"),
    "duplicate": (b"name: x\nname: y\n", "duplicate key"),
    "bad_month": (b"name: x\nhorizon: {start: 2025-13}\n", "horizon.start"),
    "reversed": (b"name: x\nhorizon: {start: 2026-01, end: 2025-01}\n", "before start"),
    "negative_share": (b"name: x\nanalysis: {utilisation_ceiling: 1.5}\n", "utilisation_ceiling"),
    "yaml_syntax": (b"name: [x\n", "line"),
    "no_name": (b"samples: 10\n", "name"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_are_refused_in_one_line(case, tmp_path, capsys):
    content, fragment = HOSTILE[case]
    path = tmp_path / f"{case}.yaml"
    path.write_bytes(content)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # exactly one line
    assert err.startswith(str(path) + ":"), err
    assert fragment in err
    assert "Traceback" not in err


def test_missing_file_is_refused(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_minimal_scenario_is_one_line(tmp_path):
    path = tmp_path / "min.yaml"
    path.write_text("name: minimal\n")
    scenario = load_scenario(path)
    assert scenario.samples == 1000 and scenario.analysis.slo_rtt_ms == 100.0
    assert scenario.horizon.start == "2025-01" and scenario.horizon.end == "2030-12"


def test_graphml_path_is_relative_to_the_scenario(tmp_path):
    (tmp_path / "sub").mkdir()
    graph = ROOT / "tests" / "data" / "partial_coords.graphml"
    (tmp_path / "sub" / "g.graphml").write_bytes(graph.read_bytes())
    path = tmp_path / "sub" / "s.yaml"
    path.write_text("name: g\ntopology: {graphml: g.graphml}\n")
    assert Path(load_scenario(path).topology.graphml) == tmp_path / "sub" / "g.graphml"


def test_default_scenario_validates():
    scenario = load_scenario(DEFAULT)
    assert scenario.name == "alibaba-2025"
    assert scenario.events[0].days == pytest.approx(5 * 365.25 / 12)


def test_dates_stay_text():
    scenario = scenario_from_dict({"name": "x", "events": [
        {"kind": "region_outage", "targets": ["cn-hongkong"], "start": "2026-12-18", "duration_days": 0.6}]})
    assert scenario.events[0].start == "2026-12-18"


def test_event_needs_exactly_one_duration():
    with pytest.raises(InputError, match="exactly one"):
        scenario_from_dict({"name": "x", "events": [{"kind": "link_cut", "targets": ["a~b"], "start": "2026-01"}]})


def test_schema_is_json_with_every_section():
    schema = json.loads(json_schema())
    for section in ("footprint", "topology", "latency", "demand", "supply", "failures", "analysis", "events"):
        assert section in schema["properties"]
    assert schema["additionalProperties"] is False
