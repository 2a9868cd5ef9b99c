"""Demand chain: calibration, solvers, Monte Carlo shocks, spend -> MW -> markets, traffic."""
from __future__ import annotations

import math
from pathlib import Path
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from sim.config import month_range
from sim.errors import InputError
from sim.model.demand import (DEFAULT_OPERATOR_SHARE_BY_BLOC, OPERATOR_GLOBAL_SHARE, CurveConfig, DemandConfig,
                              TrafficConfig, demand_paths, east_west_gbps, exponential_growth, industry_spend_usd,
                              industry_spend_usd_by_year, installed_mw_by_year, market_weights, solve_growth_per_year,
                              user_gbps_per_mw)

MONTHS = month_range("2025-01", "2030-12")
BLOC_WEIGHTS_2030 = {"north_america": 0.46, "china": 0.28, "europe": 0.12, "apac_ex_china": 0.10,
                     "middle_east": 0.02, "latin_america": 0.015, "africa": 0.005}


@dataclass(frozen=True)
class M:  # a Market stand-in (same fields)
    id: str
    name: str
    bloc: str
    lat: float
    lon: float
    weight: float


def markets() -> list[M]:
    return [M(b, b, b, 0.0, 0.0, w) for b, w in BLOC_WEIGHTS_2030.items()]


# --- calibration -----------------------------------------------------------------------------------
def test_base_curve_is_400bn_then_4tn_over_2026_2030():
    by_year = industry_spend_usd_by_year(DemandConfig())
    assert by_year["2025"] == 4.0e11
    later = sum(by_year[str(y)] for y in range(2026, 2031))
    assert later == pytest.approx(4.0e12, rel=1e-9)
    assert exponential_growth(DemandConfig().curves["base"]) == pytest.approx(0.2407, abs=5e-5)


def test_reading_with_2025_included_gives_35_percent():
    assert solve_growth_per_year(4e11, 4e12, 5, includes_start=True) == pytest.approx(0.3524, abs=5e-5)


def test_bear_and_bull_follow_the_published_table():
    curves = DemandConfig().curves
    years = np.arange(2026, 2031)
    bear = industry_spend_usd(curves["bear"], years) / 1e9
    bull = industry_spend_usd(curves["bull"], years) / 1e9
    assert bear == pytest.approx([448, 502, 562, 629, 705], abs=1.0)  # demand_sources §2.3
    assert bull == pytest.approx([600, 900, 1350, 2025, 3038], abs=1.0)


@settings(max_examples=60, deadline=None)
@given(g=st.floats(-0.6, 3.0), start=st.floats(1e9, 1e13), n=st.integers(1, 12), inc=st.booleans())
def test_solver_recovers_the_growth_it_was_given(g, start, n, inc):
    k = np.arange(0 if inc else 1, (0 if inc else 1) + n)
    cumulative = float(start * np.sum((1 + g) ** k))
    if inc and n == 1:
        return  # one year that is the start year: any growth fits
    assert solve_growth_per_year(start, cumulative, n, inc) == pytest.approx(g, abs=1e-9)


def test_logistic_from_cumulative_hits_the_total_and_stays_below_ceiling():
    curve = CurveConfig(family="logistic", ceiling_usd=2e12, cumulative_usd=4e12)
    spend = industry_spend_usd(curve, np.arange(2026, 2031))
    assert spend.sum() == pytest.approx(4e12, rel=1e-9)
    assert np.all(np.diff(spend) > 0) and spend.max() < 2e12
    mid = CurveConfig(family="logistic", ceiling_usd=1.6e12, midpoint_year=2028)
    assert industry_spend_usd(mid, np.array([2028.0]))[0] == pytest.approx(0.8e12)


def test_table_interpolates_log_linearly():
    curve = CurveConfig(family="table", table_usd={2025: 4e11, 2027: 9e11})
    assert industry_spend_usd(curve, np.array([2026]))[0] == pytest.approx(6e11)  # geometric mean
    with pytest.raises(ValueError, match="covers 2025..2027"):
        industry_spend_usd(curve, np.array([2028]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(family="logistic", ceiling_usd=3e11, growth_per_year=0.2), "must be above start_spend_usd"),
    (dict(growth_per_year=0.2, cumulative_usd=4e12), "exactly one of"),
    (dict(), "exactly one of"),
    (dict(family="table", table_usd={2026: 5e11}), "no value for start_year 2025"),
    (dict(family="table", table_usd={2025: 4e11, 2026: -1.0}), "must be > 0"),
    (dict(start_spend_usd=-1.0, growth_per_year=0.1), "greater than 0"),
    (dict(family="logistic", ceiling_usd=1e12, cumulative_usd=9e12), "must lie between"),
    (dict(family="logistic", ceiling_usd=1e12, midpoint_year=2020), "midpoint_year must be after"),
])
def test_impossible_curves_are_refused_with_a_reason(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        CurveConfig(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(cost_per_mw_usd=-45e6), "greater than 0"),
    (dict(operator_share_by_bloc={"china": 1.5}), r"must lie in \[0, 1\]"),
    (dict(sigma_per_year=-0.1), "greater than or equal to 0"),
    (dict(curves={}), "at least one curve"),
])
def test_impossible_demand_parameters_are_refused(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        DemandConfig(**kwargs)


def test_traffic_refuses_shares_above_one():
    with pytest.raises(ValidationError):
        TrafficConfig(inference_share=1.2)


# --- Monte Carlo -----------------------------------------------------------------------------------
def test_shock_median_stays_on_the_calibrated_curve():
    """P50 of the shocked spend = calibrated spend, within 4 standard errors of a sample median."""
    n, sigma = 4000, 0.15
    demand = DemandConfig(sigma_per_year=sigma)
    paths = demand_paths(demand, markets(), MONTHS, n, seed=11)
    calibrated = industry_spend_usd(demand.curves["base"], np.array(paths.years))
    log_ratio = np.log(paths.spend_usd[1] / calibrated)  # [s, y], normal with sd sigma*sqrt(t)
    sd = sigma * np.sqrt(np.arange(len(paths.years)))
    se_median = math.sqrt(math.pi / 2) * sd / math.sqrt(n)
    assert np.all(np.abs(np.median(log_ratio, axis=0)) <= 4 * se_median + 1e-12)
    assert np.all(log_ratio[:, 0] == 0)  # the anchor year carries no shock
    # the mean lies above the median by exp(sigma^2 t / 2): check the spread is really there
    assert np.std(log_ratio[:, -1]) == pytest.approx(sd[-1], rel=0.05)


def test_same_seed_same_paths_and_common_shocks_across_curves():
    a = demand_paths(DemandConfig(), markets(), MONTHS, 50, seed=3)
    b = demand_paths(DemandConfig(), markets(), MONTHS, 50, seed=3)
    assert np.array_equal(a.market_mw, b.market_mw)
    ratio_bear = a.spend_usd[0] / industry_spend_usd(DemandConfig().curves["bear"], np.array(a.years))
    ratio_bull = a.spend_usd[2] / industry_spend_usd(DemandConfig().curves["bull"], np.array(a.years))
    assert ratio_bear == pytest.approx(ratio_bull)


# --- spend -> MW -> markets ------------------------------------------------------------------------
def test_installed_mw_hand_computed():
    """1 MW of IT bought every year (cost x PUE per year): 6 in service (retire) or 3.5 (linear)."""
    spend = np.full((1, 12), 45e6 * 1.2)
    assert installed_mw_by_year(spend, DemandConfig())[0, -1] == pytest.approx(6.0)
    linear = DemandConfig(depreciation_profile="linear")
    assert installed_mw_by_year(spend, linear)[0, -1] == pytest.approx(1 + 5 / 6 + 4 / 6 + 3 / 6 + 2 / 6 + 1 / 6)


def test_monthly_values_interpolate_between_year_ends():
    paths = demand_paths(DemandConfig(sigma_per_year=0.0), markets(), MONTHS, 2, seed=0)
    inst = paths.installed_mw[1, 0].astype(float)
    dec24 = inst[0] - (inst[11] - inst[0]) / 11  # January is 1/12 of the way
    assert inst[5] == pytest.approx(dec24 + 0.5 * (inst[11] - dec24), rel=1e-5)
    # hand check of December 2025: vintages 2020..2025 of the base backcast, 45 M USD x 1.2 per IT MW
    spend = 4e11 * 1.2407 ** np.arange(-5, 1)
    assert inst[11] == pytest.approx(spend.sum() / (45e6 * 1.2), rel=1e-3)


def test_market_demand_is_installed_times_weight_times_share():
    demand = DemandConfig(sigma_per_year=0.0)
    paths = demand_paths(demand, markets(), MONTHS, 2, seed=0)
    share = sum(w * DEFAULT_OPERATOR_SHARE_BY_BLOC[b] for b, w in BLOC_WEIGHTS_2030.items())
    assert paths.operator_total_mw()[1, 0] == pytest.approx(paths.installed_mw[1, 0] * share, rel=1e-5)


def test_default_bloc_shares_average_to_the_capex_share():
    share = sum(w * DEFAULT_OPERATOR_SHARE_BY_BLOC[b] for b, w in BLOC_WEIGHTS_2030.items())
    assert OPERATOR_GLOBAL_SHARE == pytest.approx(0.044, abs=5e-4)
    assert share == pytest.approx(OPERATOR_GLOBAL_SHARE, rel=0.02)
    assert max(DEFAULT_OPERATOR_SHARE_BY_BLOC, key=DEFAULT_OPERATOR_SHARE_BY_BLOC.get) in (
        "china", "apac_ex_china", "middle_east")


def test_weights_by_year_interpolate_and_refuse_unknown_blocs():
    table = {2025: dict(BLOC_WEIGHTS_2030), 2030: dict(BLOC_WEIGHTS_2030)}
    table[2030].update(north_america=0.41, middle_east=0.07)
    w = market_weights(DemandConfig(weights_by_year=table), markets(), MONTHS)
    assert np.allclose(w.sum(axis=1), 1.0)
    assert w[0, 4] == pytest.approx(0.02) and w[-1, 4] == pytest.approx(0.07 * 1.0, rel=0.02)
    bad = {2025: {**BLOC_WEIGHTS_2030, "mars": 0.1}}
    with pytest.raises(InputError, match="unknown bloc"):
        market_weights(DemandConfig(weights_by_year=bad), markets(), MONTHS)


def test_missing_bloc_share_is_an_input_error():
    demand = DemandConfig(operator_share_by_bloc={"china": 0.1})
    with pytest.raises(InputError, match="no share for bloc"):
        demand_paths(demand, markets(), MONTHS, 2, seed=0)


# --- traffic ---------------------------------------------------------------------------------------
def test_user_gbps_hand_computed():
    t = TrafficConfig(gpus_per_mw=1000, output_tokens_per_s_per_gpu=1000, bytes_per_token=10,
                      inference_share=0.5, multimodal_multiplier=2)
    assert user_gbps_per_mw(t) == pytest.approx(1000 * 1000 * 10 * 8 * 0.5 * 2 / 1e9)  # 0.08
    assert user_gbps_per_mw(TrafficConfig()) == pytest.approx(1.4034, rel=1e-3)


def test_east_west_gravity_hand_case():
    cap = np.array([[100.0, 200.0, 0.0], [10.0, 10.0, 10.0]])
    dist = np.array([[0, 1000, 500], [1000, 0, 2000], [500, 2000, 0]], dtype=float)
    flows = east_west_gbps(cap, dist, TrafficConfig(east_west_gbps_per_mw=2.0))
    assert flows.shape == (2, 3, 3)
    assert np.allclose(flows, np.swapaxes(flows, -1, -2)) and np.all(np.diagonal(flows, 0, -2, -1) == 0)
    assert flows.sum(axis=(-2, -1)) == pytest.approx([600.0, 60.0])
    assert flows[0, 0, 1] == pytest.approx(300.0) and flows[0, 0, 2] == 0  # only one pair has capacity
    # gravity: equal capacities, so flow is inversely proportional to distance (floor 100 km)
    assert flows[1, 0, 2] / flows[1, 0, 1] == pytest.approx(2.0)
    assert np.all(east_west_gbps(np.array([5.0, 0.0]), dist[:2, :2], TrafficConfig()) == 0)


def test_write_demand_outputs_files_and_table(tmp_path):
    from sim.model.scenario import scenario_from_dict
    from sim.outputs.demand_report import write_demand_outputs

    scenario = scenario_from_dict({"name": "t", "horizon": {"start": "2025-01", "end": "2026-12"}})
    text = write_demand_outputs(scenario, tmp_path, samples=20, seed=1)
    assert "2026" in text and "base" in text and "Operator AI demand" in text
    for name in ("demand.csv", "supply.csv", "spend.csv", "demand_fan.png"):
        assert (tmp_path / name).stat().st_size > 0
    import pandas as pd
    demand = pd.read_csv(tmp_path / "demand.csv")
    assert set(demand["quantile"]) == {"p10", "p50", "p90"} and "all" in set(demand["market_id"])


def test_demand_command_uses_the_scenarios_graphml_sites(tmp_path):
    """A GraphML scenario's sites and markets are its nodes, in `infrasim demand` as in `infrasim regions`
    and `infrasim run` (one world assembly), not the packaged catalogue's."""
    import pandas as pd

    from sim.model.scenario import scenario_from_dict
    from sim.model.world import build_world
    from sim.outputs.demand_report import write_demand_outputs

    graph = Path(__file__).parent / "data" / "directed_multi.graphml"
    scenario = scenario_from_dict({"name": "zoo", "horizon": {"start": "2025-01", "end": "2025-12"},
                                   "topology": {"graphml": str(graph)}})
    write_demand_outputs(scenario, tmp_path, samples=8, seed=1)
    world = build_world(scenario)
    supply = pd.read_csv(tmp_path / "supply.csv")
    assert set(supply.region_id) == {r.id for r in world.regions} | {"all"}
    assert len(world.regions) == 3
    demand = pd.read_csv(tmp_path / "demand.csv")
    assert set(demand.market_id) == {m.id for m in world.markets} | {"all"}
    at_start = supply[(supply.month == "2025-01") & (supply.region_id == "all")].capacity_mw
    assert at_start.iloc[0] == pytest.approx(sum(r.capacity_mw for r in world.regions))
