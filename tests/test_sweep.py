"""Sweeps on Dask: one result per variant, reruns skip, interruptions keep finished work, failures stay local.

Most tests use a fake runner (it writes a small summary.json and one table, with saturation months
given by a closed formula of the varied values), so they test the sweep, not the engine; one test at
the end runs the real engine on a tiny scenario.
"""
from __future__ import annotations

import json
import math
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from sim.config import add_months
from sim.errors import InputError
from sim.sweep import (SAT_MEAN, STATUS_FAILED, STATUS_NOT_RUN, STATUS_OK, STATUS_SKIPPED, combinations, headline,
                       make_client, parse_varies, parse_vary, run_sweep, split_values, variant_hash)

distributed = pytest.importorskip("distributed")

START, END = "2025-01", "2027-12"
SCENARIO = f"name: sweep test\nsamples: 5\nhorizon: {{start: '{START}', end: '{END}'}}\n"
CALLS: list[float] = []
LOCK = threading.Lock()


def fake_months(cost_per_mw_usd: float, ceiling: float) -> tuple[int, int]:
    """P50 saturation months after START of the two fake new zones."""
    a = round(cost_per_mw_usd / 5e6)  # 35e6 -> 7, 60e6 -> 12
    return a + round(10 * ceiling), 2 * a


def fake_runner(scenario, *, samples, seed, backend, out_dir, progress, max_memory_gb):
    """Stands in for sim.run: writes summary.json and a table, refuses costs below 20e6 while running."""
    cost, ceiling = scenario.demand.cost_per_mw_usd, scenario.analysis.utilisation_ceiling
    with LOCK:
        CALLS.append(cost)
    if cost < 20e6:
        raise ValueError("fake engine: cost too low")
    one, two = fake_months(cost, ceiling)
    summary = {"horizon": {"start": START, "end": END}, "samples": samples, "seed": seed, "backend": backend,
               "new_zones": {"zz-one": {"saturation": {"base": {"p50": add_months(START, one)}}},
                             "zz-two": {"saturation": {"base": {"p50": add_months(START, two)}}}},
               "served_within_slo_share": {"base": {"p50": ceiling}}, "unmet_mw_p50": {"base": cost / 1e6},
               "max_link_utilisation": {"base": {"p50": 0.5}}, "runtime_s": 0.01}
    out_dir.mkdir(parents=True)
    (out_dir / "summary.json").write_text(json.dumps(summary))
    pd.DataFrame({"region_id": ["zz-one"], "load_mw": [cost / 1e6]}).to_csv(out_dir / "regions.csv", index=False)
    return SimpleNamespace(summary=summary)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None)
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


@pytest.fixture
def scenario(tmp_path) -> Path:
    CALLS.clear()
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO)
    return path


GRID = ["demand.cost_per_mw_usd=35e6,60e6", "analysis.utilisation_ceiling=0.8,0.9"]


def _sweep(scenario, out, client, vary=GRID, **kw):
    return run_sweep(scenario, vary, out_dir=out, runner=fake_runner, client=client, progress=False, **kw)


def _folders(out: Path) -> list[Path]:
    return sorted((out / "variants").iterdir())


def test_grid_sweep_writes_one_result_per_variant_and_the_table(scenario, tmp_path, client):
    out = tmp_path / "out"
    table = _sweep(scenario, out, client)
    assert len(table) == 4 and set(table.status) == {STATUS_OK}
    folders = _folders(out)
    assert len(folders) == 4 and not any(f.name.endswith(".partial") for f in folders)
    for folder in folders:
        assert {"summary.json", "regions.csv", "variant.json"} <= {p.name for p in folder.iterdir()}
        meta = json.loads((folder / "variant.json").read_text())
        assert meta["hash"].startswith(folder.name) and meta["samples"] == 5
    written = pd.read_csv(out / "sweep.csv")
    assert list(written.variant) == list(table.variant)
    for row in written.itertuples():
        cost, ceiling = getattr(row, "_2"), getattr(row, "_3")  # the two varied columns
        one, two = fake_months(cost, ceiling)
        assert row.status == STATUS_OK
        assert getattr(row, SAT_MEAN) == pytest.approx((one + two) / 2)
    assert written["saturation_p50_months.zz-two"].tolist() == [14, 14, 24, 24]


def test_tornado_ranks_the_key_that_moves_saturation_most(scenario, tmp_path, client):
    out = tmp_path / "out"
    _sweep(scenario, out, client)
    tornado = pd.read_csv(out / "tornado.csv")
    assert list(tornado.key) == ["demand.cost_per_mw_usd", "analysis.utilisation_ceiling"]
    assert set(tornado.method) == {"one-at-a-time"}
    # cost 35e6 -> 60e6 moves zone one by 5 and zone two by 10 months: the mean by 7.5
    assert tornado.range_months.tolist() == pytest.approx([7.5, 0.5])
    assert (out / "tornado.png").stat().st_size > 5000


def test_rerun_skips_every_finished_variant(scenario, tmp_path, client):
    out = tmp_path / "out"
    first = _sweep(scenario, out, client)
    CALLS.clear()
    again = _sweep(scenario, out, client)
    assert CALLS == [] and set(again.status) == {STATUS_SKIPPED}
    pd.testing.assert_series_equal(first[SAT_MEAN], again[SAT_MEAN])


def test_interrupted_sweep_keeps_finished_variants_and_rerun_finishes(scenario, tmp_path, client):
    out = tmp_path / "out"

    def ctrl_c_after_first(row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(scenario, GRID, out_dir=out, runner=fake_runner, client=client, progress=ctrl_c_after_first)
    kept = [f for f in _folders(out) if not f.name.endswith(".partial")]
    assert len(kept) == 1
    partial_table = pd.read_csv(out / "sweep.csv")
    assert sorted(partial_table.status) == [STATUS_NOT_RUN] * 3 + [STATUS_OK]
    table = _sweep(scenario, out, client)
    assert sorted(table.status) == [STATUS_OK] * 3 + [STATUS_SKIPPED]
    assert len(_folders(out)) == 4


def slow_runner(scenario, **kw):
    time.sleep(0.4)
    return fake_runner(scenario, **kw)


def test_rerun_on_the_same_client_survives_a_cancellation_still_in_flight(scenario, tmp_path, client, monkeypatch):
    """Dask cancels asynchronously. Here the interrupted sweep's cancellation reaches the scheduler only
    after the rerun has submitted its first task: a rerun that reused the interrupted tasks' keys would
    be cancelled with them (it came back 'failed' in CI). Submission keys are unique, so the late
    cancellation only hits the old tasks and the rerun runs every unfinished variant."""
    out = tmp_path / "out"
    in_flight: list[list] = []
    real_cancel, real_submit = client.cancel, client.submit

    def cancel_later(futures, *args, **kwargs):
        in_flight.append(list(futures))

    def submit_then_deliver(*args, **kwargs):
        future = real_submit(*args, **kwargs)
        while in_flight:
            real_cancel(in_flight.pop())
        return future

    monkeypatch.setattr(client, "cancel", cancel_later)
    monkeypatch.setattr(client, "submit", submit_then_deliver)

    def stop(row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(scenario, GRID, out_dir=out, runner=slow_runner, client=client, progress=stop)
    table = run_sweep(scenario, GRID, out_dir=out, runner=slow_runner, client=client, progress=False)
    assert sorted(table.status) == [STATUS_OK] * 3 + [STATUS_SKIPPED], table.error.tolist()


def test_runner_interrupted_on_second_variant_in_process(scenario, tmp_path):
    out = tmp_path / "out"
    calls = []

    def interrupting_runner(scenario, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return fake_runner(scenario, **kw)

    with pytest.raises(KeyboardInterrupt):
        run_sweep(scenario, GRID, out_dir=out, runner=interrupting_runner, scheduler="sync", progress=False)
    assert len(_folders(out)) == 1 and not list((out / "variants").glob("*.partial"))
    table = run_sweep(scenario, GRID, out_dir=out, runner=fake_runner, scheduler="sync", progress=False)
    assert sorted(table.status) == [STATUS_OK] * 3 + [STATUS_SKIPPED]


def test_failing_variants_are_reported_and_do_not_stop_the_others(scenario, tmp_path, client):
    out = tmp_path / "out"
    vary = ["demand.cost_per_mw_usd=35e6,13e6", "analysis.utilisation_ceiling=0.8,1.5"]
    table = _sweep(scenario, out, client, vary=vary).set_index(["demand.cost_per_mw_usd",
                                                               "analysis.utilisation_ceiling"])
    assert table.loc[(35e6, 0.8), "status"] == STATUS_OK
    assert table.loc[(13e6, 0.8), "status"] == STATUS_FAILED
    assert "fake engine: cost too low" in table.loc[(13e6, 0.8), "error"]
    for cost in (35e6, 13e6):  # refused by validation, never submitted
        assert table.loc[(cost, 1.5), "status"] == STATUS_FAILED
        assert "analysis.utilisation_ceiling" in table.loc[(cost, 1.5), "error"]
    assert sorted(CALLS) == [13e6, 35e6]
    assert len(_folders(out)) == 1


def test_zip_pairs_values_and_refuses_unequal_lengths(scenario, tmp_path, client):
    out = tmp_path / "out"
    table = _sweep(scenario, out, client, vary=GRID, mode="zip")
    assert list(zip(table["demand.cost_per_mw_usd"], table["analysis.utilisation_ceiling"])) == [(35e6, 0.8),
                                                                                                 (60e6, 0.9)]
    with pytest.raises(InputError, match="--zip needs as many values"):
        _sweep(scenario, out, client, vary=["seed=1,2", "samples=3"], mode="zip")


def test_identical_variants_run_once(scenario, tmp_path, client):
    table = _sweep(scenario, tmp_path / "out", client, vary=["demand.cost_per_mw_usd=35e6,35000000,3.5e7"])
    assert len(CALLS) == 1 and table.variant.nunique() == 1 and set(table.status) == {STATUS_OK}


@pytest.mark.parametrize("spec, field, reason", [
    ("demand.cost_per_mw=1,2", "demand.cost_per_mw", "did you mean 'cost_per_mw_usd'"),
    ("nothing=1", "nothing", "unknown key"),
    ("events.0.start=2026-01", "events.0.start", "index 0 is beyond the list"),
    ("analysis.slo_rtt_ms.x=1", "analysis.slo_rtt_ms.x", "not supported"),
    ("demand.cost_per_mw_usd", "demand.cost_per_mw_usd", "expected KEY.PATH=V1,V2"),
    ("seed=1,,2", "seed", "empty value"),
])
def test_bad_vary_is_one_input_error(spec, field, reason):
    with pytest.raises(InputError) as err:
        parse_varies([spec], {"name": "x"})
    assert err.value.file == "--vary" and err.value.field == field and reason in err.value.reason


def test_cli_exit_codes_and_output(scenario, tmp_path, client, capsys):
    from sim.cli import main
    from sim.sweep import sweep_cli

    assert main(["sweep", str(scenario), "--vary", "demand.cost_per_mw=1", "--out", str(tmp_path / "o")]) == 2
    assert "--vary: demand.cost_per_mw: unknown key" in capsys.readouterr().err
    args = SimpleNamespace(scenario=str(scenario), vary=["demand.cost_per_mw_usd=35e6,13e6"], grid=False, zip=False,
                           scheduler=None, workers=None, samples=None, seed=None, backend="numpy", max_memory=None,
                           out=str(tmp_path / "cli"))
    assert sweep_cli(args, runner=fake_runner, client=client) == 1  # one variant failed
    text = capsys.readouterr().out
    assert "1 ok" in text and "1 failed" in text and "sweep.csv" in text
    args.vary = ["demand.cost_per_mw_usd=35e6"]
    assert sweep_cli(args, runner=fake_runner, client=client) == 0
    assert "already finished" in capsys.readouterr().out


def test_missing_dask_is_one_line_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(InputError, match=r"pip install 'infrasim\[dist\]'"):
        make_client(None, 1)


def test_bad_scheduler_address_is_one_input_error():
    with pytest.raises(InputError, match="cannot connect to the Dask scheduler"):
        make_client("nonsense::", None)


def test_headline_counts_unsaturated_zones_as_the_month_after_the_horizon():
    summary = {"horizon": {"start": "2025-01", "end": "2025-12"},
               "new_zones": {"a": {"saturation": {"base": {"p50": "2025-07"}, "bull": {"p50": "2025-02"}}},
                             "b": {"saturation": {"base": {"p50": "not within horizon"}}}}}
    row = headline(summary)
    assert row["saturation_p50_months.a"] == 6 and math.isnan(row["saturation_p50_months.b"])
    assert row[SAT_MEAN] == (6 + 12) / 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(-10**9, 10**9), st.floats(allow_nan=False, allow_infinity=False)),
                min_size=1, max_size=5))
def test_numbers_round_trip_through_vary(values):
    key, parsed = parse_vary("seed=" + ",".join(repr(v) for v in values))
    assert key == "seed" and parsed == values
    assert all(type(p) is type(v) for p, v in zip(parsed, values))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3))
def test_grid_is_the_product_and_zip_the_diagonal(lengths):
    from sim.sweep import Vary

    varies = [Vary(f"k{i}", (f"k{i}",), tuple(range(n))) for i, n in enumerate(lengths)]
    assert len(combinations(varies, "grid")) == math.prod(lengths)
    assert len({tuple(c.values()) for c in combinations(varies, "grid")}) == math.prod(lengths)
    same = [Vary(v.key, v.parts, tuple(range(lengths[0]))) for v in varies]
    assert [set(c.values()) for c in combinations(same, "zip")] == [{i} for i in range(lengths[0])]


def test_split_keeps_commas_inside_brackets_and_quotes():
    assert split_values("[a, b],[],'x,y', 3") == ["[a, b]", "[]", "'x,y'", "3"]


def test_hash_depends_on_the_resolved_scenario_not_on_spelling():
    from sim.model.scenario import scenario_from_dict

    one = scenario_from_dict({"name": "x", "demand": {"cost_per_mw_usd": 35e6}, "seed": 1}).model_dump_json()
    two = scenario_from_dict({"seed": 1, "demand": {"cost_per_mw_usd": "35000000"}, "name": "x"}).model_dump_json()
    other = scenario_from_dict({"name": "x", "demand": {"cost_per_mw_usd": 36e6}, "seed": 1}).model_dump_json()
    assert variant_hash(one, 5, 1, "numpy") == variant_hash(two, 5, 1, "numpy")
    assert len({variant_hash(one, 5, 1, "numpy"), variant_hash(other, 5, 1, "numpy"),
                variant_hash(one, 6, 1, "numpy"), variant_hash(one, 5, 2, "numpy"),
                variant_hash(one, 5, 1, "cupy")}) == 5


def test_real_engine_sweep_end_to_end(tmp_path, client):
    """Two variants of a tiny real scenario through sim.run: folders, table and headline from the engine."""
    sim = pytest.importorskip("sim")
    if not hasattr(sim, "run"):
        pytest.skip("sim.run is not available")
    path = tmp_path / "tiny.yaml"
    path.write_text("name: tiny sweep\nsamples: 20\nseed: 3\nhorizon: {start: '2025-01', end: '2025-04'}\n"
                    "analysis: {n_minus_1: false}\n")
    out = tmp_path / "out"
    table = run_sweep(path, ["demand.cost_per_mw_usd=35e6,60e6"], out_dir=out, client=client, progress=False)
    assert list(table.status) == [STATUS_OK, STATUS_OK], table.error.tolist()
    for variant in table.variant:
        folder = out / "variants" / variant
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["samples"] == 20 and summary["seed"] == 3
        assert (folder / "regions.csv").is_file() and (folder / "new_zones.csv").is_file()
    assert table["served_within_slo_share_p50"].between(0, 1).all()
    assert math.isfinite(table[SAT_MEAN].iloc[0])
    # the second variant against the base one (first values): delta tables and what moved
    compared = out / "compare" / table.variant.iloc[1]
    assert (compared / "saturation_delta.csv").is_file() and (compared / "compare.txt").is_file()
    assert not (out / "compare" / table.variant.iloc[0]).exists()
    lines = (compared / "compare.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("demand.cost_per_mw_usd=60000000.0 (20 samples, seed 3) against "
                               "demand.cost_per_mw_usd=35000000.0 (20 samples, seed 3)")
    assert table.vs_base.iloc[1] == lines[2].removeprefix("- ")
    assert table.sites_moved_vs_base.iloc[1] >= 0 and table.sites_moved_vs_base.iloc[0] == 0
    assert table.vs_base.iloc[0] == "(the base variant)"
