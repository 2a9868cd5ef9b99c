"""Capacity and risk by system: segments, corridors, scripted cuts by name and N-1 shared-risk rows."""
from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.engine.calendar import Engine

QUIET = {"name": "shared risk", "footprint": {"catalogue": "alibaba"}, "failures": {"enabled": False},
         "horizon": {"start": "2027-01", "end": "2027-06"}, "analysis": {"n_minus_1": False}}


def engine(raw=QUIET, samples=2) -> Engine:
    return Engine(sim.scenario_from_dict(raw), samples, 1, np, False)


def link_index(arrays, a, b) -> int:
    return next(i for i, lid in enumerate(arrays.link_ids) if set(lid.split("~")) == {a, b})


def test_state_arrays_keep_capacity_by_system_and_take_a_link_out_only_when_all_are_down():
    eng = engine()
    net, arrays = eng.network, eng.world.arrays
    sg_fra = link_index(arrays, "ap-southeast-1", "eu-central-1")
    dxb_fra = link_index(arrays, "me-east-1", "eu-central-1")
    hk_sg = link_index(arrays, "cn-hongkong", "ap-southeast-1")
    segments = net.bits_of("link", arrays.link_ids[sg_fra])
    bits = np.zeros((6, net.n_bits), bool)
    bits[1, segments[0]] = True  # one of its three systems
    bits[2, segments] = True  # all of them
    bits[3, net.bits_of("corridor", "Red Sea / Suez")] = True
    bits[4, net.bits_of("system", "SMW5")] = True  # SMW5 on every link it carries
    bits[5, net.bits_of("region", "eu-central-1")] = True
    out, capacity, down = net.state_arrays(bits)
    full = arrays.capacity_gbps[sg_fra]
    assert capacity[0, sg_fra] == full and not out[0].any() and not down[0].any()
    assert capacity[1, sg_fra] == pytest.approx(full * 2 / 3) and not out[1, sg_fra]
    assert out[2, sg_fra] and capacity[2, sg_fra] == 0 and not out[2, hk_sg]
    assert out[3, sg_fra] and out[3, dxb_fra] and not out[3, hk_sg]  # every system through the Red Sea
    assert capacity[4, sg_fra] == pytest.approx(full * 2 / 3) and capacity[4, dxb_fra] == arrays.capacity_gbps[dxb_fra]
    at_frankfurt = [i for i, lid in enumerate(arrays.link_ids) if "eu-central-1" in lid.split("~")]
    assert out[5, at_frankfurt].all() and (capacity[5, at_frankfurt] == 0).all()


def test_a_failed_system_changes_the_state_even_when_routes_do_not():
    eng = engine()
    net = eng.network
    from sim.engine.batches import pack_bits

    base = np.zeros(net.n_bits, bool)
    one = base.copy()
    one[net.bits_of("system", "SMW5")] = True
    intact, degraded = net.canonical([pack_bits(base), pack_bits(one)])
    assert intact != degraded  # same next hops, less capacity: not the intact network
    states = net.states([intact, degraded])
    np.testing.assert_array_equal(np.asarray(states.next_hop[0]), np.asarray(states.next_hop[1]))


def by(table, **where):
    for key, value in where.items():
        table = table[table[key] == value]
    return table


def run(events, samples=3):
    raw = dict(QUIET, events=events)
    return sim.run(raw, samples=samples, seed=5, backend="numpy", progress=False, report=False)


def test_a_scripted_corridor_cut_works_end_to_end():
    calm = run([])
    cut = run([{"kind": "corridor_cut", "targets": ["Red Sea / Suez"], "start": "2027-03-01", "duration_days": 61}])
    links = cut.tables["footprint_links"]
    red_sea = links[links["corridors"].str.contains("Red Sea / Suez")]["link_id"].tolist()
    assert len(red_sea) == 2
    during = {"2027-03", "2027-04"}
    for link_id in red_sea:
        util = by(cut.tables["links"], quantile="p50", curve="base", link_id=link_id)
        assert (util[util["month"].isin(during)]["load_gbps"] == 0).all()
        assert (util[~util["month"].isin(during)]["load_gbps"] > 0).all()
    # the Asia - Europe traffic goes round the other way: something else carries more
    a = by(calm.tables["links"], quantile="p50", curve="base")
    b = by(cut.tables["links"], quantile="p50", curve="base")
    march = (a["month"] == "2027-03").to_numpy()
    assert (b["load_gbps"].to_numpy()[march] > a["load_gbps"].to_numpy()[march] + 1e-6).any()


def test_a_scripted_system_cut_leaves_the_link_with_less_capacity():
    calm = run([])
    cut = run([{"kind": "system_cut", "targets": ["SMW5"], "start": "2027-02-01", "duration_days": 28}])
    link = next(lid for lid in calm.tables["footprint_links"]["link_id"]
                if set(lid.split("~")) == {"ap-southeast-1", "eu-central-1"})
    a = by(calm.tables["links"], quantile="p50", curve="base", link_id=link, month="2027-02")
    b = by(cut.tables["links"], quantile="p50", curve="base", link_id=link, month="2027-02")
    assert b["load_gbps"].iloc[0] == pytest.approx(a["load_gbps"].iloc[0])  # same routes
    assert b["utilisation"].iloc[0] == pytest.approx(1.5 * a["utilisation"].iloc[0], rel=1e-9)  # 2 of 3 systems


@pytest.mark.parametrize("kind, target", [("corridor_cut", "Red Sea"), ("system_cut", "SMW9")])
def test_unknown_corridor_or_system_is_a_clear_error(kind, target):
    with pytest.raises(sim.InputError, match="events.0.targets"):
        run([{"kind": kind, "targets": [target], "start": "2027-02", "duration_days": 3}], samples=1)


def test_n_minus_1_has_system_and_corridor_rows():
    raw = dict(QUIET, analysis={"n_minus_1": True, "n_minus_1_months": ["2027-06"]})
    n1 = sim.run(raw, samples=2, seed=1, backend="numpy", progress=False, report=False).tables["n_minus_1"]
    kinds = set(n1["failure_kind"])
    assert kinds == {"link", "system", "corridor", "region"}
    failures = set(n1["failure"])
    assert {"corridor:Red Sea / Suez", "corridor:Luzon Strait", "system:SMW5", "system:APG"} <= failures
    assert not any("over land" in f for f in failures if f.startswith("system:"))  # rule routes are their links
    red_sea = by(n1, failure="corridor:Red Sea / Suez", curve="base")
    assert (red_sea["unmet_mw"] >= -1e-9).all()


def test_random_faults_hit_segments_and_corridors():
    raw = dict(QUIET, failures={"enabled": True, "corridor_events_per_year": 5.0})
    eng = engine(raw, samples=20)
    net, tl = eng.network, eng.timeline
    assert tl.bit.min() >= 0 and tl.bit.max() < net.n_bits
    corridors = (tl.bit >= net.n_segments) & (tl.bit < net.region_bit0)
    segments = tl.bit < net.n_segments
    assert corridors.any() and segments.any() and (tl.bit >= net.region_bit0).any()


def test_twins_share_the_assignment_and_give_the_same_metrics():
    """Elements that differ only in link capacities are assigned once (batches.twins); every metric equals
    an evaluation that assigns each element on its own."""
    from sim.engine.batches import pack_bits, twins
    from sim.engine.evaluate import Batch, Metrics

    eng = engine(dict(QUIET, horizon={"start": "2029-01", "end": "2029-12"}), samples=3)
    net, t = eng.network, 11
    base = np.zeros(net.n_bits, bool)
    base[net.region_bit0:] = eng.open_month > t
    keys = [pack_bits(base)]
    for name, what in (("SMW5", "system"), ("APG", "system"), ("Luzon Strait", "corridor")):
        bits = base.copy()
        bits[net.bits_of(what, name)] = True
        keys.append(pack_bits(bits))
    fingerprints = list(dict.fromkeys(net.canonical(keys)))
    states = net.states(fingerprints)
    assert len(set(states.topology)) < len(fingerprints)  # the system cuts keep the intact routes
    samples = np.repeat(np.arange(3), len(fingerprints))
    state = np.tile(np.arange(len(fingerprints)), 3)
    up = np.asarray(states.region_up)[state]
    demand = eng.paths.market_at(t, samples)[1].astype(float)
    capacity = eng.capacity_mw[1, t][None, :] * up
    twin = twins(1, samples, state, states.topology)
    assert (twin != np.arange(len(twin))).any()
    alone = net.evaluate(states, Batch(state, demand, capacity))
    shared = net.evaluate(states, Batch(state, demand, capacity, twin=twin))
    for name in Metrics.FIELDS:
        np.testing.assert_allclose(getattr(shared, name), getattr(alone, name), rtol=1e-12, atol=1e-12, err_msg=name)
