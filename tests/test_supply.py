"""Supply: capex -> MW, lead time, openings, allocation policies, monotone capacity."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from sim.config import month_range
from sim.errors import InputError
from sim.model.catalogue import Expansion, Region
from sim.model.demand import DemandPaths
from sim.model.supply import SupplyConfig, _water_fill, capex_it_mw_per_month, supply_plan

MONTHS = month_range("2025-01", "2030-12")


def region(rid: str, zones: int = 2, opens: str | None = None, mw: float = 60.0) -> Region:
    return Region(rid, rid, "X", 0.0, 0.0, zones, "new" if opens else "existing", opens, mw)


def hand_plan(**kw) -> SupplyConfig:
    """720 M CNY in 2025 at 7.2 -> 100 M USD; 10 M USD per facility MW at PUE 1 -> 10 MW; nothing after."""
    base = dict(capex_cny=720e6, capex_start_year=2025, capex_years=1, cny_per_usd=7.2,
                capex_share_capacity=1.0, cost_per_mw_usd=10e6, pue=1.0, lead_time_months=0,
                post_pledge="stop")
    return SupplyConfig(**{**base, **kw})


def test_capex_converts_to_mw_by_hand():
    delivered = capex_it_mw_per_month(hand_plan(), MONTHS)
    assert delivered[:12] == pytest.approx(np.full(12, 10 / 12)) and delivered[12:].sum() == 0
    half = capex_it_mw_per_month(hand_plan(capex_share_capacity=0.5, pue=1.25), MONTHS)
    assert half.sum() == pytest.approx(10 * 0.5 / 1.25)


def test_lead_time_delays_deliveries():
    delivered = capex_it_mw_per_month(hand_plan(lead_time_months=18), MONTHS)
    assert delivered[:18].sum() == 0 and delivered[18] == pytest.approx(10 / 12)
    assert delivered.sum() == pytest.approx(10.0)


def test_default_pledge_is_about_53bn_usd_and_780_mw():
    cfg = SupplyConfig(post_pledge="stop")
    assert cfg.capex_cny / cfg.cny_per_usd == pytest.approx(52.8e9, rel=1e-3)
    long = month_range("2025-01", "2032-12")
    assert capex_it_mw_per_month(cfg, long).sum() == pytest.approx(52.78e9 * 0.8 / 54e6, rel=1e-3)


def test_after_the_pledge_spending_continues_at_its_rate_grown_each_year():
    """By hand: 10 MW a year during the pledge (2025); 'continue' at growth 0.5 buys 15 MW in 2026 and
    22.5 MW in 2027, delivered after the lead time; 'stop' buys nothing after 2025."""
    months = month_range("2025-01", "2027-12")
    grown = capex_it_mw_per_month(hand_plan(post_pledge="continue", post_pledge_growth_per_year=0.5), months)
    assert grown[:12] == pytest.approx(np.full(12, 10 / 12))
    assert grown[12:24] == pytest.approx(np.full(12, 15 / 12)) and grown[24:] == pytest.approx(np.full(12, 22.5 / 12))
    late = capex_it_mw_per_month(hand_plan(post_pledge="continue", lead_time_months=6), months)
    assert late[:6].sum() == 0 and late[6:].sum() == pytest.approx(10 / 12 * 30)  # due by 2027-12: 30 months
    assert capex_it_mw_per_month(hand_plan(), months)[12:].sum() == 0


def test_default_build_continues_after_the_pledge_at_its_rate():
    """The default (operator: spending beyond the RMB 380 bn pledge) keeps the pledge's monthly rate:
    2028's spend, delivered 18 months later in 2029-07..2030-06, equals the pledge's monthly MW."""
    delivered = capex_it_mw_per_month(SupplyConfig(), MONTHS)
    pledge_month = 380e9 / 36 / 7.2 * 0.8 / 54e6
    assert SupplyConfig().post_pledge == "continue"
    assert delivered[MONTHS.index("2026-07")] == pytest.approx(pledge_month)
    assert delivered[MONTHS.index("2029-07"):] == pytest.approx(np.full(18, pledge_month))


def test_plan_allocation_by_zones_and_openings():
    regions = [region("a", 2), region("b", 6), region("c", 2, opens="2026-06", mw=30.0)]
    cap = supply_plan(hand_plan(capex_funds_new_sites=False), regions, MONTHS)
    assert cap.shape == (1, len(MONTHS), 3)
    assert cap[0, 16, 2] == 0 and cap[0, 17, 2] == pytest.approx(30 + 10 * 0.2)  # 2026-06 opens
    assert cap[0, -1, :2] == pytest.approx([60 + 2.0, 60 + 6.0])


def test_new_sites_are_paid_from_the_pledge():
    regions = [region("a", 2), region("c", 2, opens="2025-03", mw=4.0)]
    cap = supply_plan(hand_plan(), regions, MONTHS)
    assert cap[0, -1].sum() == pytest.approx(60 + 4 + 10 - 4, rel=1e-5)  # 10 MW of pledge in all
    exp = [Expansion("a+2026", "a", 1, "2026-01", 30.0)]
    cap = supply_plan(hand_plan(), regions, MONTHS, expansions=exp)
    assert cap[0, 11].sum() == pytest.approx(60 + 10, rel=1e-5)
    # the expansion outruns the pledge: the 6 MW already built stay, nothing is taken away
    assert cap[0, 12].sum() == pytest.approx(60 + 4 + 30 + 6, rel=1e-5)


def test_unknown_region_in_plan_weights_is_refused():
    with pytest.raises(InputError, match="unknown region id"):
        supply_plan(SupplyConfig(plan_weights={"nowhere": 1.0}), [region("a")], MONTHS)


@pytest.mark.parametrize("kwargs", [dict(capex_cny=-1.0), dict(capex_share_capacity=1.5),
                                    dict(cost_per_mw_usd=0.0), dict(lead_time_months=-1),
                                    dict(allocation="random")])
def test_impossible_supply_parameters_are_refused(kwargs):
    with pytest.raises(ValidationError):
        SupplyConfig(**kwargs)


def test_water_fill_levels_the_largest_gaps_first():
    given = _water_fill(np.array([10.0, 4.0, 1.0, -3.0]), 8.0)
    assert given.sum() == pytest.approx(8.0)
    assert given == pytest.approx([7.0, 1.0, 0.0, 0.0])  # both end at a gap of 3
    assert _water_fill(np.array([2.0, 1.0]), 5.0) == pytest.approx([2.0, 1.0])


def fake_demand(market_mw: np.ndarray) -> DemandPaths:
    c, s, t, m = market_mw.shape
    return DemandPaths([f"c{k}" for k in range(c)], MONTHS[:t], [2025], [f"m{k}" for k in range(m)],
                       np.ones((c, s, 1)), market_mw.sum(-1), market_mw.astype(np.float32))


def test_demand_allocation_goes_where_the_gap_is():
    regions = [region("a", 2, mw=60.0), region("b", 2, mw=60.0)]
    mw = np.zeros((1, 3, len(MONTHS), 2))
    mw[..., 1] = 200.0  # the market nearest b needs far more than b has
    cap = supply_plan(hand_plan(allocation="demand"), regions, MONTHS, fake_demand(mw), np.array([0, 1]))
    assert cap[0, -1, 0] == pytest.approx(60.0) and cap[0, -1, 1] == pytest.approx(70.0)
    with pytest.raises(InputError, match="needs the demand forecast"):
        supply_plan(hand_plan(allocation="demand"), regions, MONTHS)


@settings(max_examples=40, deadline=None)
@given(capex=st.floats(0, 1e12), share=st.floats(0, 1), lead=st.integers(0, 40),
       start=st.integers(2020, 2030), years=st.integers(1, 6), policy=st.sampled_from(["plan", "demand"]),
       funds=st.booleans(), seed=st.integers(0, 2**16), opens=st.sampled_from([None, "2026-04", "2031-01"]),
       after=st.sampled_from(["stop", "continue"]), growth=st.floats(-0.9, 2.0))
def test_capacity_never_decreases(capex, share, lead, start, years, policy, funds, seed, opens, after, growth):
    rng = np.random.default_rng(seed)
    regions = [region("a", 3), region("b", 1), region("c", 2, opens=opens, mw=20.0)]
    cfg = SupplyConfig(capex_cny=capex, capex_share_capacity=share, lead_time_months=lead,
                       capex_start_year=start, capex_years=years, allocation=policy,
                       capex_funds_new_sites=funds, post_pledge=after, post_pledge_growth_per_year=growth)
    demand = fake_demand(rng.uniform(0, 400, (2, 5, len(MONTHS), 4)))
    exp = [Expansion("b+", "b", 1, "2027-02", 30.0)]
    cap = supply_plan(cfg, regions, MONTHS, demand, np.array([0, 1, 2, 2]), exp)
    assert np.all(cap >= 0) and np.all(np.diff(cap, axis=1) >= -1e-3)


def test_default_operator_demand_against_capacity():
    """Sanity of the defaults: below capacity in 2025; with the pledge alone, base P50 demand passes
    total capacity within 2027-2030; continuing after the pledge adds 18 months of the pledge's rate
    by 2030-12 (spend of 2028-01..2029-06), which keeps base below the global total but not bull."""
    from sim.model.catalogue import FootprintConfig, MarketsConfig, load_footprint, load_markets
    from sim.model.demand import DemandConfig, demand_paths

    regions, expansions = load_footprint(FootprintConfig())
    paths = demand_paths(DemandConfig(), load_markets(MarketsConfig()), MONTHS, 400, seed=5)
    pledge_only = supply_plan(SupplyConfig(post_pledge="stop"), regions, MONTHS, expansions=expansions)[0].sum(axis=1)
    default = supply_plan(SupplyConfig(), regions, MONTHS, expansions=expansions)[0].sum(axis=1)
    p50 = {c: np.median(paths.operator_total_mw()[k], axis=0) for k, c in enumerate(paths.curves)}
    assert pledge_only[0] == pytest.approx(2730.0)
    assert p50["base"][11] < pledge_only[11]
    above = np.nonzero(p50["base"] > pledge_only)[0]
    assert above.size and "2027-01" <= MONTHS[above[0]] <= "2030-12"
    assert (default >= pledge_only - 1e-3).all()
    assert default[-1] - pledge_only[-1] == pytest.approx(18 * 380e9 / 36 / 7.2 * 0.8 / 54e6, rel=1e-4)
    assert (p50["base"] < default).all() and (p50["bull"] > default).any()
