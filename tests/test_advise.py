"""`infrasim advise`: the batched evaluation of footprint variants against full engine runs, the greedy
pick against exhaustive search, the laws of adding a site, and the candidates' input checks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels.spill import assign_nearest_first, region_order
from sim.engine.calendar import simulate
from sim.errors import InputError
from sim.model.catalogue import load_regions
from sim.model.scenario import scenario_from_dict
from sim.planning.advise import advise, checkpoint_months
from sim.planning.candidates import METRO_KM, geonames_candidates, read_candidates
from sim.planning.variants import PlanningBase, Site

DATA = Path(__file__).parent / "data" / "planning"
SAMPLES = 6


def small_scenario(**extra) -> dict:
    """Five regions, six markets, two years; demand around the capacity so sites compete for it; links
    so large that queueing is nil (the variants leave queueing out, a run does not)."""
    scenario = {
        "name": "small", "horizon": {"start": "2025-01", "end": "2026-12"}, "samples": SAMPLES,
        "footprint": {"catalogue": str(DATA / "catalogue.csv")},
        "markets": {"catalogue": str(DATA / "markets.csv")},
        "topology": {"nearest_neighbours": 2, "capacity_gbps_terrestrial": 1e9, "capacity_gbps_submarine": 1e9},
        "demand": {"operator_share_by_bloc": {b: 0.013 for b in (
            "north_america", "europe", "apac_ex_china", "latin_america", "middle_east")}},
        "supply": {"capex_cny": 5e9},
        "failures": {"enabled": False}, "analysis": {"n_minus_1": False},
    }
    scenario.update(extra)
    return scenario


@pytest.fixture(scope="module")
def scenario():
    return scenario_from_dict(small_scenario())


@pytest.fixture(scope="module")
def base(scenario):
    return PlanningBase.prepare(scenario, SAMPLES)


def engine_within_mw_days(raw: dict, site: Site | None) -> np.ndarray:
    """A full engine run (every month, queueing on) with ``site`` added as the scenario would add it,
    its MW on top of the plan: total MW-days within the SLO per (curve, sample)."""
    raw = dict(raw)
    regions = load_regions(scenario_from_dict(raw).footprint)
    if site is not None:
        raw["footprint"] = dict(raw["footprint"], add=[{"id": site.id, "lat": site.lat, "lon": site.lon,
                                                        "capacity_mw": site.capacity_mw}])
        # the plan keeps the other regions' weights (zones) and gives the added site none
        raw["supply"] = dict(raw["supply"], plan_weights={r.id: r.zones for r in regions})
    _, state, _, _ = simulate(scenario_from_dict(raw), SAMPLES, backend="numpy", progress=False)
    return state.totals["within"]


def test_variants_equal_full_engine_runs_and_greedy_pick_equals_exhaustive_search(base):
    """Exhaustive search with whole engine runs (one per candidate, with the site added to the scenario)
    picks the same site as the batched greedy step, and the gains agree to rounding: the batch computes
    what the engine computes (queueing is nil here by construction)."""
    raw = small_scenario()
    cands = read_candidates(DATA / "candidates.csv", 60.0, "2025-01")
    months, weights = checkpoint_months(base, 0, "all")
    out = base.evaluate([[]] + [[c] for c in cands], months, weights)
    batched = out.mean_over_months(out.within_mw[1:] - out.within_mw[:1]).mean(axis=(1, 2))
    days = base.engine.month_start_day[-1]
    reference = engine_within_mw_days(raw, None)
    exhaustive = np.array([(engine_within_mw_days(raw, c) - reference).mean() / days for c in cands])
    assert np.ptp(exhaustive) > 1.0  # the candidates differ, so the pick means something
    np.testing.assert_allclose(batched, exhaustive, rtol=1e-6, atol=1e-6)
    pick = advise(scenario_from_dict(raw), candidates_csv=DATA / "candidates.csv", top=1, capacity_mw=60.0,
                  opens="2025-01", samples=SAMPLES, months="all")
    assert pick.picks.candidate_id[0] == cands[int(np.argmax(exhaustive))].id


def test_greedy_second_pick_is_conditioned_on_the_first(base, scenario):
    """Step 2 starts from the footprint with pick 1: its gains are measured against that footprint, and
    a site beside pick 1 is worth less than it was at step 1."""
    advice = advise(scenario, candidates_csv=DATA / "candidates.csv", top=2, capacity_mw=60.0,
                    opens="2025-01", samples=SAMPLES)
    first, second = advice.picks.candidate_id
    rows = advice.candidates[advice.candidates.curve == "base"].set_index(["step", "candidate_id"])
    assert first != second
    assert rows.loc[(2, second), "score"] == pytest.approx(rows.xs(2).score.max())
    cands = read_candidates(DATA / "candidates.csv", 60.0, "2025-01")
    by_id = {c.id: c for c in cands}
    months, weights = checkpoint_months(base, 0, "december")
    out = base.evaluate([[by_id[first]], [by_id[first], by_id[second]]], months, weights)
    gain = out.mean_over_months(out.within_mw[1:] - out.within_mw[:1]).mean()
    assert gain == pytest.approx(rows.loc[(2, second), "score"], rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(lat=st.floats(-60, 70), lon=st.floats(-180, 180), capacity_mw=st.floats(0.5, 500))
def test_adding_a_site_never_lowers_served_demand(base, lat, lon, capacity_mw):
    """Law: with the site linked in, every (month, curve, sample) serves at least as much demand
    (served = min(demand, capacity) under nearest-first on a connected network)."""
    site = Site("x", "X", "", lat, lon, capacity_mw, "2025-06")
    out = base.evaluate([[], [site]], list(range(0, 24, 5)))
    assert np.all(out.served_mw[1] >= out.served_mw[0] - 1e-6)
    assert np.all(out.unmet_mw[1] <= out.unmet_mw[0] + 1e-6)


def test_nearest_first_can_lower_demand_within_the_slo():
    """Why a gain can be negative: market A (10 MW) moves to a new 1 MW site nearest to it and then
    competes in round 1 for region R1, which it used to hold in round 0, with B's late spill; A's rest
    goes further out, beyond the SLO. Within the SLO: 15 MW before, less after."""
    slo = 50.0
    # regions R1 (10 MW), R2 (5 MW), R3 (100 MW), V (new, 1 MW); markets A, B (10 MW each)
    rtt = np.array([[[10.0, 90.0, 95.0, 5.0],    # A: V, R1 near; R2, R3 beyond the SLO
                     [60.0, 10.0, 99.0, np.inf]]])  # B: R2 near, R1 late (V absent before)
    before_rtt = rtt.copy()
    before_rtt[..., 3] = np.inf
    demand = np.array([[10.0, 10.0]])

    def within(r, capacity):
        order = region_order(r)
        spill = assign_nearest_first(demand, np.array([capacity]), r, order, np.array([0]))
        b, m, region, got_rtt, mw = spill.grants()
        return float((mw * (got_rtt <= slo)).sum())

    assert within(before_rtt, [10.0, 5.0, 100.0, 0.0]) == pytest.approx(15.0)
    assert within(rtt, [10.0, 5.0, 100.0, 1.0]) < 15.0 - 1.0


def test_december_checkpoints_start_at_the_opening(base):
    months, weights = checkpoint_months(base, base.month_index("2025-03"), "december")
    assert [base.months[t] for t in months] == ["2025-12", "2026-12"]
    assert weights.sum() == pytest.approx(1.0)
    months, weights = checkpoint_months(base, 3, "all")
    assert months[0] == 3 and weights[0] == pytest.approx(30 / (base.engine.month_start_day[-1] - 90))


# ------------------------------------------------------------------------------------ candidates
def test_geonames_candidates_are_large_metros_free_of_regions(scenario):
    regions = load_regions(scenario.footprint)
    sites = geonames_candidates(regions, 60.0, "2026-01", 3_000_000)
    names = {s.name for s in sites}
    assert {"Mumbai", "Lagos", "Sao Paulo", "Jakarta"} <= names or {"Mumbai", "Lagos", "Jakarta"} <= names
    assert "Singapore" not in names and "London" not in names and "Tokyo" not in names  # hosts a region
    assert "Yokohama" not in names  # same metro as Tokyo (within METRO_KM)
    assert all(s.population >= 3_000_000 for s in sites)
    assert len({s.id for s in sites}) == len(sites)
    lat = np.array([s.lat for s in sites])
    lon = np.array([s.lon for s in sites])
    from sim.model.geo import great_circle_km
    km = great_circle_km(lat[:, None], lon[:, None], lat[None], lon[None]) + np.eye(len(sites)) * 1e9
    assert km.min() >= METRO_KM


@pytest.mark.parametrize("text, field, reason", [
    ("name,lat\nA,1\n", "", "missing column(s) lon"),
    ("name,lat,lon,colour\nA,1,2,red\n", "colour", "unknown column"),
    ("name,lat,lon\nA,north,2\n", "row 2.lat", "not a number"),
    ("name,lat,lon\nA,91,2\n", "row 2.lat", "outside [-90, 90]"),
    ("name,lat,lon\nA,1,2\nA,3,4\n", "row 3.name", "appears twice"),
    ("name,lat,lon\n ,1,2\n", "row 2.name", "empty"),
    ("name,lat,lon,cost_per_mw_usd\nA,1,2,-5\n", "row 2.cost_per_mw_usd", "must be > 0"),
    ("name,lat,lon,cost_per_mw_usd\nA,1,2,nan\n", "row 2.cost_per_mw_usd", "not a finite number"),
    ("name,lat,lon\n", "", "no candidate rows"),
    ("", "", "cannot read CSV"),
])
def test_candidate_csv_errors_are_one_line(tmp_path, text, field, reason):
    path = tmp_path / "c.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_candidates(path, 60.0, None)
    assert err.value.field == field and reason in str(err.value)
    assert "\n" not in str(err.value) and str(err.value).startswith(str(path))


def test_candidate_csv_reads_optional_columns():
    sites = read_candidates(DATA / "candidates.csv", 60.0, "2026-01")
    assert [s.name for s in sites][:2] == ["Mumbai", "Sydney"]
    assert sites[0].jurisdiction == "IN" and sites[0].cost_per_mw_usd == 40e6 and sites[0].opens == "2026-01"


@pytest.mark.parametrize("kwargs, field", [
    ({"opens": "2031-01"}, "--opens"), ({"opens": "2026-13"}, "--opens"), ({"capacity_mw": 0.0}, "--capacity-mw"),
    ({"top": 0}, "--top"), ({"rank_by": "cheapest"}, "--rank-by"), ({"samples": 0}, "--samples"),
    ({"months": "weekly"}, "--months"),
])
def test_bad_parameters_are_input_errors(scenario, kwargs, field):
    args = dict(candidates_csv=DATA / "candidates.csv", samples=SAMPLES, top=1)
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        advise(scenario, **args)
    assert err.value.file == field


def test_gain_per_cost_ranking_needs_every_cost(tmp_path, scenario):
    path = tmp_path / "c.csv"
    path.write_text("name,lat,lon,cost_per_mw_usd\nMumbai,19.08,72.88,40e6\nSydney,-33.87,151.21,\n")
    with pytest.raises(InputError, match="needs cost_per_mw_usd for every candidate"):
        advise(scenario, candidates_csv=path, rank_by="gain_per_cost", samples=SAMPLES, top=1)
    ranked = advise(scenario, candidates_csv=DATA / "candidates.csv", rank_by="gain_per_cost",
                    samples=SAMPLES, top=1, opens="2025-01")
    rows = ranked.candidates[ranked.candidates.step == 1]
    gain = rows.groupby("candidate_id").gain_within_slo_mw_mean.mean()  # curves weighted alike
    first = rows.groupby("candidate_id").first()
    np.testing.assert_allclose(first.score * first.capex_usd / 1e9, gain.loc[first.index], rtol=1e-9)
    assert ranked.picks.candidate_id[0] == first.score.idxmax()
