"""The engine end to end: a two-region case checked by hand, conservation, failures, determinism."""
from __future__ import annotations

import json

import numpy as np
import pytest

import kernels
import sim
from sim.cli import main
from sim.engine.calendar import Engine
from sim.model.latency import link_one_way_ms

TWO_REGIONS = """region_id,city,country,lat,lon,zones,status,opens,kind,note,source
ra,Alpha,Testland,0.0,0.0,1,existing,,region,,test
rb,Beta,Testland,0.0,9.0,1,new,2026-01,region,,test
"""
ONE_MARKET = """market_id,name,bloc,lat,lon,weight
ma,Alpha market,china,0.0,0.0,1.0
"""


def two_region_scenario(tmp_path, **extra) -> dict:
    (tmp_path / "regions.csv").write_text(TWO_REGIONS)
    (tmp_path / "markets.csv").write_text(ONE_MARKET)
    scenario = {
        "name": "two regions",
        "footprint": {"catalogue": str(tmp_path / "regions.csv"), "mw_per_zone": 30},
        "markets": {"catalogue": str(tmp_path / "markets.csv")},
        "topology": {"nearest_neighbours": 1},
        "demand": {"sigma_per_year": 0.0, "curves": {"base": {"family": "exponential",
                                                              "growth_per_year": 0.5}},
                   "operator_share_by_bloc": {"china": 0.002}},
        "supply": {"capex_cny": 0.0},
        "failures": {"enabled": False},
        "analysis": {"n_minus_1": True},
    }
    scenario.update(extra)
    return scenario


def by(table, **where):
    for key, value in where.items():
        table = table[table[key] == value]
    return table


def test_two_regions_by_hand(tmp_path):
    scenario = sim.scenario_from_dict(two_region_scenario(tmp_path))
    results = sim.run(scenario, samples=8, seed=1, backend="numpy", progress=False)
    engine = Engine(scenario, 8, 1, np, False)
    market = np.stack([engine.paths.market_at(t) for t in range(len(engine.months))], axis=2)  # [c, s, t, m]
    demand = market[0, 0, :, 0].astype(float)  # sigma 0: every sample the same
    assert np.allclose(market[0], market[0, :1])
    months = engine.months
    cap_b = np.array([30.0 if m >= "2026-01" else 0.0 for m in months])
    expect_a = np.minimum(demand, 30.0)
    expect_b = np.minimum(np.maximum(demand - 30.0, 0.0), cap_b)
    expect_unmet = demand - expect_a - expect_b
    regions = by(results.tables["regions"], quantile="p50")
    load_a = by(regions, region_id="ra")["load_mw"].to_numpy()
    load_b = by(regions, region_id="rb")["load_mw"].to_numpy()
    assert load_a == pytest.approx(expect_a, abs=1e-6)
    assert load_b == pytest.approx(expect_b, abs=1e-6)
    markets = by(results.tables["markets"], quantile="p50")
    assert markets["unmet_mw"].to_numpy() == pytest.approx(expect_unmet, abs=1e-6)
    assert markets["spilled_mw"].to_numpy() == pytest.approx(expect_b, abs=1e-6)
    # saturation of the new region rb: first month its own load passes 85 % of its 30 MW
    over = np.flatnonzero((expect_b > 0.85 * 30.0) & (cap_b > 0))
    expected = months[over[0]] if over.size else "not within horizon"
    assert results.summary["new_zones"]["rb"]["saturation"]["base"]["p50"] == expected
    assert expected != "not within horizon"  # the case is built so that it saturates
    # RTT: the market sits on ra (access leg: the users' last mile only); what rb serves crosses the link there and back,
    # twice its one-way time, plus queueing on both directions (at most twice the busier one's wait);
    # the engine keeps RTTs in float32 from integer shortest-path ticks: 2e-5 relative
    link = results.tables["footprint_links"].iloc[0]
    assert {link["a"], link["b"]} == {"ra", "rb"}
    rtt_b = 2.0 * link_one_way_ms(float(link["length_km"]), scenario.latency)
    assert rtt_b > 10.0  # 9 degrees of longitude on the equator: ~1000 km, not a rounding matter
    served = expect_a + expect_b
    last_mile = scenario.latency.last_mile_rtt_ms
    assert last_mile > 0
    expect_rtt = np.where(served > 0, last_mile + expect_b * rtt_b / np.where(served > 0, served, 1.0), np.nan)
    queue_ms = by(results.tables["links"], quantile="p50")["queue_delay_ms"].to_numpy()
    got_rtt = markets["rtt_ms"].to_numpy()
    assert (got_rtt >= expect_rtt * (1 - 2e-5)).all()
    assert (got_rtt <= expect_rtt * (1 + 2e-5) + 2 * queue_ms).all()


def test_zones_added_to_a_full_region_saturate_when_it_is_full_again(tmp_path):
    """ra is above its ceiling before zones ra+2026 add 30 MW in 2026-06; the zones' saturation month is
    the first month from their opening in which ra is above its ceiling again (not "at opening"), and
    every region has a row: ra from the start, rb from its opening."""
    raw = two_region_scenario(tmp_path)
    (tmp_path / "regions.csv").write_text(TWO_REGIONS + "ra+2026,Alpha,Testland,0.0,0.0,1,new,2026-06,zones,,test\n")
    raw["demand"]["operator_share_by_bloc"] = {"china": 0.001}
    scenario = sim.scenario_from_dict(raw)
    results = sim.run(scenario, samples=4, seed=1, backend="numpy", progress=False, report=False)
    engine = Engine(scenario, 4, 1, np, False)
    months = engine.months
    demand = np.array([float(engine.paths.market_at(t)[0, 0, 0]) for t in range(len(months))])
    cap_a = np.array([60.0 if m >= "2026-06" else 30.0 for m in months])
    over = np.minimum(demand, cap_a) / cap_a > 0.85  # ra serves its own market first
    assert over[months.index("2026-05")] and not over[months.index("2026-06")]  # full before, not after
    zones_month = months[int(np.flatnonzero(over & (np.array(months) >= "2026-06"))[0])]
    assert zones_month > "2026-06"
    sat = by(results.tables["saturation"], curve="base")
    zones = by(sat, site="ra+2026").iloc[0]
    assert (zones.region_id, zones.kind, zones.status, zones.opens) == ("ra", "zones", "new", "2026-06")
    assert zones.saturation_p10 == zones.saturation_p50 == zones.saturation_p90 == zones_month
    assert zones.months_above_p50 == int(over[months.index("2026-06"):].sum())
    region = by(sat, site="ra").iloc[0]
    assert region.saturation_p50 == months[int(np.flatnonzero(over)[0])]
    assert region.months_above_p50 == int(over.sum()) and region.status == "existing"
    assert set(sat.site) == {"ra", "rb", "ra+2026"}
    assert results.summary["new_zones"]["ra"]["saturation"]["base"]["p50"] == zones_month
    assert list(results.tables["new_zones"].site) == ["rb", "ra+2026"]


def test_idle_capacity_is_reported_when_no_demand_is_short(tmp_path):
    """Both regions open, demand below ra's capacity: nothing is late or unmet, so nothing is stranded,
    but rb sits idle the whole horizon and ra partly; idle capacity says so, per region and in total."""
    raw = two_region_scenario(tmp_path)
    (tmp_path / "regions.csv").write_text(TWO_REGIONS.replace("1,new,2026-01,region", "1,existing,,region"))
    raw["demand"]["operator_share_by_bloc"] = {"china": 0.0001}
    scenario = sim.scenario_from_dict(raw)
    results = sim.run(scenario, samples=4, seed=1, backend="numpy", progress=False, report=False)
    engine = Engine(scenario, 4, 1, np, False)
    demand = np.array([float(engine.paths.market_at(t)[0, 0, 0]) for t in range(len(engine.months))])
    assert demand.max() < 30.0
    regions = by(results.tables["regions"], quantile="p50", curve="base")
    assert by(regions, region_id="rb")["idle_mw"].to_numpy() == pytest.approx(30.0)
    assert by(regions, region_id="ra")["idle_mw"].to_numpy() == pytest.approx(30.0 - demand, abs=1e-6)
    assert (regions["stranded_mw"] == 0).all()
    days = np.diff(engine.month_start_day)
    summary = results.summary
    assert summary["stranded_mw_p50"]["base"] == 0.0
    assert summary["idle_mw_p50"]["base"] == pytest.approx(60.0 - demand[-1], abs=1e-6)
    assert summary["idle_mw_mean_p50"]["base"] == pytest.approx(60.0 - demand @ days / days.sum(), abs=1e-6)
    assert summary["most_idle_regions"]["base"][0] == {"region_id": "rb", "city": "Beta",
                                                       "idle_mw_mean_p50": pytest.approx(30.0), "idle_share": 1.0}
    sat = by(results.tables["saturation"], curve="base")
    assert by(sat, site="rb")["idle_mw_mean_p50"].item() == pytest.approx(30.0)


def test_one_samples_figures_add_up_and_the_last_month_share(tmp_path):
    """The summary's decomposition is one sample's own figures (the sample with the median demand in the
    last month): demand = within + late + unmet and capacity = load + idle, which per-column P50s are
    not. The last month's on-time share is that month's, beside the horizon's."""
    raw = two_region_scenario(tmp_path, failures={"enabled": True, "region_outages_per_year": 3.0})
    raw["demand"]["sigma_per_year"] = 0.3
    scenario = sim.scenario_from_dict(raw)
    results = sim.run(scenario, samples=9, seed=4, backend="numpy", progress=False, report=False)
    engine = Engine(scenario, 9, 4, np, False)
    last = len(engine.months) - 1
    demand = engine.paths.market_at(last).astype(float).sum(axis=2)[0]  # [S], base curve
    one = results.summary["decomposition_p50_sample"]["base"]
    assert one["month"] == engine.months[last] and one["demand_mw"] == pytest.approx(demand[one["sample"]])
    assert one["demand_mw"] == pytest.approx(np.quantile(demand, 0.5, method="inverted_cdf"))
    assert one["demand_mw"] == pytest.approx(one["within_slo_mw"] + one["late_mw"] + one["unmet_mw"], rel=1e-9)
    assert one["capacity_mw"] == pytest.approx(one["load_mw"] + one["idle_mw"], rel=1e-9)
    assert one["load_mw"] == pytest.approx(one["within_slo_mw"] + one["late_mw"], rel=1e-9)
    markets = by(results.tables["markets"], curve="base", month=engine.months[last])
    share = results.summary["served_within_slo_share_last_month"]["base"]
    assert share["p10"] <= share["p50"] <= share["p90"] <= 1.0
    p50 = by(markets, quantile="p50")  # one market: the P50 share of the month is the table's
    assert share["p50"] == pytest.approx(p50["within_slo_share"].item(), rel=1e-9)
    assert "do not add up" in results.summary["quantile_note"]


def test_conservation_and_link_loads(tmp_path):
    results = sim.run(two_region_scenario(tmp_path), samples=4, seed=2, backend="numpy", progress=False)
    m = by(results.tables["markets"], quantile="p50")
    total = m["within_slo_mw"] + m["late_mw"] + m["unmet_mw"]
    assert total.to_numpy() == pytest.approx(m["demand_mw"].to_numpy(), rel=1e-9, abs=1e-9)
    # the only link carries the spill (back to the market) plus half the east-west traffic
    scenario = sim.scenario_from_dict(two_region_scenario(tmp_path))
    engine = Engine(scenario, 4, 2, np, False)
    gbps_per_mw = engine.network.user_gbps_per_mw
    links = by(results.tables["links"], quantile="p50")
    regions = by(results.tables["regions"], quantile="p50")
    cap_total = by(regions, region_id="ra")["capacity_mw"].to_numpy() + by(regions, region_id="rb")["capacity_mw"].to_numpy()
    both_open = by(regions, region_id="rb")["capacity_mw"].to_numpy() > 0
    east_west_each_way = np.where(both_open, scenario.traffic.east_west_gbps_per_mw * cap_total / 2, 0.0)
    spill = by(regions, region_id="rb")["load_mw"].to_numpy()
    assert links["load_gbps"].to_numpy() == pytest.approx(east_west_each_way + spill * gbps_per_mw, rel=1e-5)


def test_same_seed_same_tables_and_other_seed_differs(tmp_path):
    raw = two_region_scenario(tmp_path, failures={"enabled": True, "region_outages_per_year": 2.0})
    raw["demand"]["sigma_per_year"] = 0.2
    a = sim.run(raw, samples=16, seed=7, backend="numpy", progress=False)
    b = sim.run(raw, samples=16, seed=7, backend="numpy", progress=False)
    c = sim.run(raw, samples=16, seed=8, backend="numpy", progress=False)
    for name in ("regions", "links", "markets", "new_zones", "n_minus_1"):
        assert a.tables[name].equals(b.tables[name]), name
    assert not a.tables["markets"].equals(c.tables["markets"])


def test_failures_never_help(tmp_path):
    calm = sim.run(two_region_scenario(tmp_path), samples=4, seed=3, backend="numpy", progress=False)
    cut = two_region_scenario(tmp_path, events=[{"kind": "region_outage", "targets": ["rb"],
                                                   "start": "2028-01-01", "duration_months": 6}])
    hurt = sim.run(cut, samples=4, seed=3, backend="numpy", progress=False)
    a = by(calm.tables["markets"], quantile="p50")
    b = by(hurt.tables["markets"], quantile="p50")
    assert (b["unmet_mw"].to_numpy() >= a["unmet_mw"].to_numpy() - 1e-9).all()
    assert (b["unmet_mw"].to_numpy() > a["unmet_mw"].to_numpy() + 1e-6).any()
    during = (b["month"] >= "2028-01") & (b["month"] < "2028-06")
    assert (by(hurt.tables["regions"], quantile="p50", region_id="rb")["load_mw"].to_numpy()[during.to_numpy()] == 0).all()


def test_n_minus_1_lists_every_single_failure(tmp_path):
    results = sim.run(two_region_scenario(tmp_path), samples=4, seed=3, backend="numpy", progress=False)
    n1 = results.tables["n_minus_1"]
    assert set(n1["failure"]) == {"link:ra~rb", "region:ra", "region:rb"}
    assert (n1["unmet_mw"] >= -1e-9).all()
    assert set(n1["month"]) == {f"{y}-12" for y in range(2025, 2031)}


def test_unknown_event_target_is_a_clear_error(tmp_path, capsys):
    raw = two_region_scenario(tmp_path, events=[{"kind": "link_cut", "targets": ["ra~zz"], "start": "2026-01",
                                                   "duration_days": 3}])
    with pytest.raises(sim.InputError, match="events.0.targets"):
        sim.run(raw, samples=2, backend="numpy", progress=False)


def test_cli_run_writes_every_promised_file(tmp_path, capsys):
    import yaml

    raw = two_region_scenario(tmp_path)
    raw["horizon"] = {"start": "2025-01", "end": "2026-12"}
    raw["description"] = "Paris § São Paulo"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--samples", "3", "--seed", "5", "--backend", "numpy", "--quiet",
                 "--out", str(out)]) == 0
    # the scenario exactly as run (the command line's samples and seed, the backend), text as written
    as_run = (out / "scenario.yaml").read_text(encoding="utf-8")
    assert "samples: 3\n" in as_run and "seed: 5\n" in as_run and "backend numpy" in as_run
    assert "Paris § São Paulo" in as_run
    rerun = sim.load_scenario(out / "scenario.yaml")
    assert (rerun.samples, rerun.seed, rerun.description) == (3, 5, "Paris § São Paulo")
    page = (out / "report.html").read_text(encoding="utf-8")
    scenario_block = page[page.index('<pre id="scenario">'):]
    assert "samples: 3\n" in scenario_block and "Paris § São Paulo" in scenario_block
    for name in ("summary.json", "run.json", "scenario.yaml", "report.html", "regions.csv", "links.csv",
                 "markets.csv", "new_zones.csv", "n_minus_1.csv", "demand.csv", "footprint_regions.csv"):
        assert (out / name).is_file(), name
    assert list((out / "plots").glob("*.png"))
    summary = json.loads((out / "summary.json").read_text())
    for key in ("industry_spend_usd_by_year", "new_zones", "served_within_slo_share", "unmet_mw_p50",
                "max_link_utilisation", "backend", "samples", "seed", "runtime_s"):
        assert key in summary, key
    assert summary["samples"] == 3 and summary["seed"] == 5 and summary["backend"] == "numpy"
    assert not (tmp_path / "out.partial").exists()
    capsys.readouterr()
    try:
        kernels.get_xp("cupy")
        gpu = True
    except RuntimeError:
        gpu = False
    code = main(["run", str(path), "--samples", "3", "--backend", "cupy", "--quiet", "--out", str(tmp_path / "o2")])
    if gpu:  # the same run on the GPU, and it says so
        assert code == 0
        assert json.loads((tmp_path / "o2" / "summary.json").read_text())["backend"] == "cupy"
    else:  # no GPU: refused with one line, exit 2, nothing written
        assert code == 2
        err = capsys.readouterr().err
        assert err.startswith("--backend: backend 'cupy' unavailable") and err.count("\n") == 1
        assert not (tmp_path / "o2").exists()


def test_a_run_that_cannot_fit_is_refused_before_it_starts(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("name: big\n")
    assert main(["run", str(path), "--samples", "2000000", "--max-memory", "1", "--backend", "numpy",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("--max-memory:") and "lower --samples" in err
    assert not (tmp_path / "o").exists()


def test_interrupted_run_keeps_the_months_before_the_interruption(tmp_path, monkeypatch):
    """Ctrl-C while months are evaluated side by side: every month before it is kept, none after."""
    from sim.engine.calendar import RunState

    evaluate = RunState._evaluate_month

    def interrupt_at_month_5(self, t, segments):
        if t == 5:
            raise KeyboardInterrupt
        return evaluate(self, t, segments)

    monkeypatch.setattr(RunState, "_evaluate_month", interrupt_at_month_5)
    results = sim.run(two_region_scenario(tmp_path), samples=4, seed=2, backend="numpy", progress=False)
    assert results.meta["interrupted"] and results.meta["months_done"] == 5
    months = sorted(set(results.tables["markets"]["month"]))
    assert months == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]


def test_east_west_moved_by_difference_equals_routing_everything():
    """East-west traffic of failure states routed as a difference from the intact network (only the
    pairs whose path changed move) gives the same loads and metrics as routing every state in full."""
    from sim.engine.batches import pack_bits
    from sim.engine.evaluate import Batch, Metrics

    scenario = sim.scenario_from_dict({"name": "default footprint", "footprint": {"catalogue": "alibaba"}})
    engine = Engine(scenario, 3, 1, np, False)
    net, t = engine.network, 60
    base = np.zeros(net.n_bits, bool)
    base[net.region_bit0:] = engine.open_month > t
    keys = [pack_bits(base)]
    hk_sg = list(net.bits_of("link", "cn-hongkong~ap-southeast-1"))
    # four segment faults (one system each), one of the four systems of Hong Kong - Singapore (capacity
    # only: the link stays), a corridor event and a region outage
    for bit in [0, 3, 7, 11, hk_sg[0], net.n_segments + 1, net.region_bit0 + 2]:
        bits = base.copy()
        bits[bit] = True
        keys.append(pack_bits(bits))
    both = base.copy()
    both[[1, 5]] = True  # two cuts at once
    keys.append(pack_bits(both))
    fingerprints = list(dict.fromkeys(net.canonical(keys)))
    states = net.states(fingerprints)
    state = np.repeat(np.arange(len(fingerprints)), 3)
    up = np.asarray(states.region_up)[state]
    demand = np.tile(engine.paths.market_at(t, np.arange(3))[1], (len(fingerprints), 1)).astype(float)
    capacity = engine.capacity_mw[1, t][None, :] * up
    full = net.evaluate(states, Batch(state, demand, capacity))
    moved = net.evaluate(states, Batch(state, demand, capacity, np.zeros(len(state), int), fingerprints[0]))
    for name in Metrics.FIELDS:
        np.testing.assert_allclose(getattr(moved, name), getattr(full, name), rtol=1e-9, atol=1e-9, err_msg=name)


def test_sorted_quantiles_equal_numpy_quantile():
    """The engine's quantiles (one sort) equal np.quantile bit for bit, with inf and NaN samples."""
    from sim.engine.calendar import QUANTILES, _quantiles

    rng = np.random.default_rng(0)
    for trial in range(200):
        a = rng.normal(size=tuple(rng.integers(1, [4, 40, 6]))) * 10.0 ** rng.integers(-3, 4)
        for value, every in ((np.inf, 3), (np.nan, 5), (-np.inf, 7)):
            if trial % every == 0:
                a[rng.random(a.shape) < 0.1] = value
        with np.errstate(invalid="ignore"):
            want = np.quantile(a, QUANTILES, axis=1)
        np.testing.assert_array_equal(_quantiles(a), want)
    constant = np.broadcast_to(rng.random((3, 1, 4)), (3, 50, 4))
    np.testing.assert_array_equal(_quantiles(constant), np.quantile(constant, QUANTILES, axis=1))


def test_a_tiny_memory_budget_gives_the_same_tables():
    """With a 2 MB budget the states go in groups of a few and the state cache evicts and recomputes;
    the tables are those of a run with room to spare."""
    raw = {"name": "tiny cache", "footprint": {"catalogue": "alibaba"},
           "horizon": {"start": "2027-01", "end": "2027-06"}}
    roomy = sim.run(raw, samples=12, seed=4, backend="numpy", progress=False, report=False)
    tight = sim.run(raw, samples=12, seed=4, backend="numpy", progress=False, report=False, max_memory_gb=0.002)
    for name in ("regions", "links", "markets", "n_minus_1"):
        a, b = roomy.tables[name], tight.tables[name]
        num = a.select_dtypes("number").columns
        assert a.drop(columns=num).equals(b.drop(columns=num)), name
        np.testing.assert_allclose(b[num].to_numpy(float), a[num].to_numpy(float), rtol=1e-9, atol=1e-9,
                                   err_msg=name)
