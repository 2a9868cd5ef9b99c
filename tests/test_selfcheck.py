"""`infrasim selfcheck`: every check passes on the model as built, and each one fails on a broken input."""
from __future__ import annotations

import json

import pytest

import sim.validation.selfcheck as sc
from sim.validation.selfcheck import CheckResult, format_table, main, run_checks


def _failed(rows: list[CheckResult]) -> list[str]:
    assert rows, "the check produced no rows"
    return [r.name for r in rows if not r.passed]


def test_quick_selfcheck_passes_and_writes_the_page(tmp_path, capsys):
    out = tmp_path / "validation"
    assert main(out, quick=True) == 0
    printed = capsys.readouterr().out
    for word in ("expected", "got", "tolerance", "Little", "Erlang C", "events/s", "faster"):
        assert word in printed
    page = (tmp_path / "validation.md").read_text()
    assert "| check" in page and "FAIL" not in page
    for png in ("wait_vs_rho.png", "wait_tail.png", "rtt_scatter.png", "network.png"):
        assert (out / png).stat().st_size > 10_000
        assert f"validation/{png}" in page
    rows = json.loads((out / "checks.json").read_text())
    assert {r["name"][0] for r in rows} == set("1234567") and all(r["passed"] for r in rows)


def test_wrong_service_rate_fails_check_1():
    rows = run_checks(True, only=["mm_wait"], rhos=(0.5,), micro_service_scale=1.1)
    assert len(_failed(rows)) == 2  # both M/M/1 and M/M/4


def test_a_loose_interval_cannot_pass(monkeypatch):
    """Too few customers: theory may sit in the interval, but the interval is too wide to count."""
    monkeypatch.setitem(sc.RUN_LENGTHS, (1, 0.5), (2000, 2000))
    rows = run_checks(True, only=["mm_wait"], rhos=(0.5,), workers=1)
    assert "1 mean wait M/M/1 rho=0.5" in _failed(rows)


def test_wrong_arrival_rate_fails_check_2():
    assert _failed(run_checks(True, only=["little"], little_queues=[(1, 0.5)], micro_arrival_scale=1.05))


def test_wrong_service_rate_fails_check_3():
    assert _failed(run_checks(True, only=["tail"], micro_service_scale=0.95))


def test_wrong_link_rate_fails_check_4():
    failed = _failed(run_checks(True, only=["network"], macro_rate_scale=0.9))
    assert any("utilisation" in name for name in failed)


def test_greedy_assignment_fails_check_5():
    assert _failed(run_checks(True, only=["assign"], assign_exact=False))


def test_wrong_latency_factor_fails_check_6():
    from sim.model.latency import LatencyConfig

    rows = run_checks(True, only=["latency"], latency_config=LatencyConfig(route_factor_terrestrial=2.0))
    assert any(name.startswith("6 RTT median APE, routed") for name in _failed(rows))
    assert any("out of sample" in name for name in _failed(rows))


def test_wrong_growth_rate_fails_check_7():
    from sim.model.demand import CurveConfig, DemandConfig

    wrong = DemandConfig(curves={"base": CurveConfig(growth_per_year=0.30)})
    assert _failed(run_checks(True, only=["demand"], demand_config=wrong)) == [
        "7 industry AI spend 2026-2030 (USD bn)"]


def test_main_exits_1_when_a_check_fails(monkeypatch, capsys):
    bad = CheckResult("x", "1", "2", "±0%", False, "broken on purpose")
    monkeypatch.setattr(sc, "_run", lambda quick: ([bad], sc._Extras()))
    assert main(None, quick=True) == 1
    assert "FAIL" in capsys.readouterr().out


def test_bad_selection_and_overrides_are_refused():
    with pytest.raises(ValueError):
        run_checks(True, only=["nope"])
    with pytest.raises(TypeError):
        run_checks(True, only=["demand"], no_such_override=1)


def test_table_has_one_row_per_check():
    rows = [CheckResult("a", "1", "1", "±1%", True), CheckResult("b", "1", "3", "±1%", False)]
    lines = format_table(rows).splitlines()
    assert len(lines) == 4 and "pass" in lines[2] and "FAIL" in lines[3]
