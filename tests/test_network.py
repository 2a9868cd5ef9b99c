"""The default backbone and its arrays (sim.model.network, sim.model.backbone)."""
import csv
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.engine.routes import path_rtt_matrix_ms
from sim.errors import InputError
from sim.model.backbone import CONTINENTS, KINDS, land_group, load_backbone, load_systems, route_km
from sim.model.catalogue import FootprintConfig, Region, load_regions
from sim.model.geo import fibre_floor_rtt_ms, sea_share
from sim.model.latency import LatencyConfig
from sim.model.network import TopologyConfig, build_network, links_table, network_arrays

REGIONS = load_regions(FootprintConfig())
NET = build_network(REGIONS)
DATA = Path(__file__).resolve().parents[1] / "sim" / "data"
# every catalogued region, closed and excluded ones too (the table covers them all)
ALL = load_regions(FootprintConfig(include=["cn-zhongwei", "cn-wuhan-lr", "ap-south-1", "ap-southeast-2"]))
NET_ALL = build_network(ALL)


def site(rid: str, lat: float, lon: float, country: str = "") -> Region:
    return Region(rid, rid, country, lat, lon, 1, "existing", None, 30.0)


def test_nodes_follow_the_region_order_and_graph_is_connected():
    assert list(NET.nodes) == [r.id for r in REGIONS]
    assert nx.is_connected(NET) and not NET.is_directed() and nx.number_of_selfloops(NET) == 0


def test_link_attributes_are_consistent():
    cfg, topology = LatencyConfig(), TopologyConfig()
    for a, b, d in NET.edges(data=True):
        assert d["link_id"] == f"{a}~{b}" and d["kind"] in KINDS and d["systems"]
        assert math.isclose(d["length_km"], d["terrestrial_km"] * cfg.route_factor_terrestrial
                            + d["submarine_km"] * cfg.route_factor_submarine)
        assert d["terrestrial_km"] + d["submarine_km"] >= d["gc_km"] - 1e-6  # a route is never shorter
        assert math.isclose(2 * d["one_way_ms"], fibre_floor_rtt_ms(d["length_km"]) + cfg.per_hop_ms)
        assert d["capacity_gbps"] == sum(topology.capacity_gbps(k) for k in d["system_kinds"])
        assert len(d["system_kinds"]) == len(d["systems"]) == len(d["system_capacity_gbps"])


def test_every_table_row_with_both_ends_present_is_a_link_with_its_systems_and_corridors():
    rows = list(csv.DictReader(open(DATA / "backbone.csv", encoding="utf-8")))
    ids = {r.id for r in ALL}
    for row in rows:
        assert row["a"] in ids and row["b"] in ids, row  # the table only names catalogued regions
        d = NET_ALL.edges[row["a"], row["b"]]
        assert d["origin"] == "table" and d["kind"] == row["kind"]
        assert list(d["systems"]) == [s.strip() for s in row["systems"].split(";")]
        assert list(d["corridors"]) == [c.strip() for c in row["corridors"].split(";") if c.strip()]
    present = {r.id for r in REGIONS}
    skipped = [r for r in rows if not {r["a"], r["b"]} <= present]
    assert skipped and all(not NET.has_edge(r["a"], r["b"]) for r in skipped if r["a"] in present and r["b"] in present)


def test_every_named_system_is_described_with_a_source():
    systems = load_systems()
    for _, _, d in NET_ALL.edges(data=True):
        if d["origin"] == "table":
            for name, kind in zip(d["systems"], d["system_kinds"]):
                assert name in systems and systems[name]["source"].startswith("http") and kind in KINDS


def test_the_table_and_the_rule_reach_every_catalogued_region():
    # no link of the full catalogue had to be made up to join pieces: every region is on the table or the rule
    assert nx.is_connected(NET_ALL)
    assert not [(a, b) for a, b, d in NET_ALL.edges(data=True) if d["added"]]


def test_nothing_crosses_a_sea_unless_a_cable_carries_it():
    country = {r.id: r.country for r in ALL}
    for a, b, d in NET_ALL.edges(data=True):
        if d["origin"] == "overland":
            assert land_group(country[a]) == land_group(country[b])
            la, lo = NET_ALL.nodes[a], NET_ALL.nodes[b]
            assert sea_share(la["lat"], la["lon"], lo["lat"], lo["lon"])[0] <= 0.5
            assert d["kind"] == "terrestrial" and d["submarine_km"] == 0
        else:
            assert d["origin"] == "table" and d["source"]
    # a link's kind comes from what carries it: Qingdao - Shanghai crosses the Yellow Sea on a great circle,
    # but no cable joins them; they are joined over land through Nanjing
    assert not NET.has_edge("cn-qingdao", "cn-shanghai") or NET.edges["cn-qingdao", "cn-shanghai"]["kind"] == "terrestrial"
    assert nx.shortest_path_length(NET, "cn-qingdao", "cn-shanghai") == 2


def test_south_east_asia_is_joined_to_hong_kong_and_japan_directly():
    assert NET.edges["cn-hongkong", "ap-southeast-1"]["systems"] == ("APG", "SJC", "SJC2", "ADC")
    assert NET.has_edge("ap-southeast-6", "cn-hongkong") and NET.has_edge("ap-southeast-6", "ap-northeast-1")
    assert "Luzon Strait" in NET.edges["cn-hongkong", "ap-northeast-1"]["corridors"]


def _regions_on_path(net, a, b):
    w = nx.get_edge_attributes(net, "one_way_ms")
    return nx.shortest_path(net, a, b, weight=lambda u, v, d: w[(u, v)] if (u, v) in w else w[(v, u)])


@pytest.mark.parametrize("regions,net", [(REGIONS, NET), (ALL, NET_ALL)], ids=["default", "full catalogue"])
def test_no_two_regions_of_a_continent_route_through_another_continent(regions, net):
    continent = {r.id: CONTINENTS[r.country] for r in regions}
    arrays = network_arrays(net)
    from kernels import apsp
    _, next_hop = apsp(arrays.weight_ms)
    ids = arrays.node_ids
    for i, a in enumerate(ids):
        for j, b in enumerate(ids):
            if i == j or continent[a] != continent[b]:
                continue
            k, path = i, []
            while k != j:
                k = int(next_hop[k, j])
                path.append(ids[k])
            off = [p for p in path if continent[p] != continent[a]]
            assert not off, f"{a} -> {b} ({continent[a]}) routes through {off}"


def test_far_apart_pieces_are_joined():
    regions = [site("a1", 10, 10, "X"), site("a2", 10, 11, "X"), site("b1", 45, 100, "Y"), site("b2", 45, 101, "Y")]
    net = build_network(regions, TopologyConfig(nearest_neighbours=1))
    assert nx.is_connected(net)
    added = [(a, b) for a, b, d in net.edges(data=True) if d["added"]]
    assert added == [("a2", "b1")]  # the shortest gap
    assert net.edges["a1", "a2"]["origin"] == "overland"  # same country over land: the rule


def test_a_site_without_country_joins_no_group():
    regions = [site("a", 10, 10), site("b", 10, 11)]  # both in the Sahara, no country
    net = build_network(regions)
    assert net.edges["a", "b"]["added"] and net.edges["a", "b"]["origin"] == "joined"


def test_single_region_network():
    net = build_network([site("only", 10, 10)])
    assert list(net.nodes) == ["only"] and net.number_of_edges() == 0


def test_network_arrays():
    arrays = network_arrays(NET, [r.id for r in REGIONS])
    n, e = len(REGIONS), NET.number_of_edges()
    w = arrays.weight_ms
    assert w.shape == (n, n) and np.array_equal(w, w.T) and np.all(np.diag(w) == 0)
    assert np.isfinite(w).sum() == n + 2 * e
    assert arrays.n_arcs == 2 * e and sorted(arrays.arc_index[arrays.arc_index >= 0]) == list(range(2 * e))
    for k in range(e):
        u, v = arrays.edge_u[k], arrays.edge_v[k]
        assert arrays.arc_index[u, v] == 2 * k and arrays.arc_index[v, u] == 2 * k + 1
        assert w[u, v] == NET.edges[arrays.node_ids[u], arrays.node_ids[v]]["one_way_ms"]
    assert len(links_table(NET)) == e
    # segments: one per (link, system), capacities add up to the links'
    assert arrays.n_segments == sum(len(d["systems"]) for _, _, d in NET.edges(data=True))
    assert np.allclose(np.bincount(arrays.seg_link, arrays.seg_capacity_gbps, minlength=e), arrays.capacity_gbps)
    red_sea = arrays.corridor_member[arrays.corridor_names.index("Red Sea / Suez")]
    assert sorted(set(arrays.seg_system[s] for s in np.flatnonzero(red_sea))) == \
        ["AAE-1", "EIG", "IMEWE", "SMW4", "SMW5"]


def test_links_table_names_systems_and_corridors():
    row = next(r for r in links_table(NET) if r["link_id"] == "ap-southeast-1~eu-central-1")
    assert row["systems"] == "SMW4; SMW5; AAE-1" and row["corridors"] == "Malacca Strait; Red Sea / Suez"
    assert row["capacity_gbps"] == 3 * TopologyConfig().capacity_gbps_submarine


def test_route_km_splits_backhaul_from_the_cable():
    # Tokyo -> Chikura landing -> Los Angeles landing -> Silicon Valley
    t_km, s_km = route_km((35.68, 139.69), (37.34, -121.89), "submarine", [(34.95, 139.95), (33.86, -118.40)])
    assert 80 < s_km - 8700 < 200 and 400 < t_km < 600
    assert route_km((0, 0), (0, 1), "terrestrial", [])[1] == 0.0


@pytest.mark.parametrize("line, field", [
    ("ra,rb,cable,X,,,http://s\n", "row 2.kind"),
    ("ra,ra,submarine,X,,,http://s\n", "row 2.b"),
    ("ra,rb,submarine,,,,http://s\n", "row 2.systems"),
    ("ra,rb,submarine,X;X,,,http://s\n", "row 2.systems"),
    ("ra,rb,submarine,X,,,\n", "row 2.source"),
    ("ra,rb,submarine,X,,1 2;north 3,http://s\n", "row 2.via"),
    ("ra,rb,submarine,X,,95 2,http://s\n", "row 2.via"),
    ("ra,rb,submarine,X,,,http://s\nrb,ra,terrestrial,Y,,,http://s\n", "row 3.b"),
])
def test_bad_backbone_rows_are_refused(tmp_path, line, field):
    path = tmp_path / "bb.csv"
    path.write_text("a,b,kind,systems,corridors,via,source\n" + line)
    with pytest.raises(InputError) as err:
        load_backbone({"ra": (0.0, 0.0), "rb": (0.0, 1.0)}, path)
    assert err.value.file == str(path) and err.value.field == field


def test_a_user_backbone_table_replaces_the_packaged_one(tmp_path):
    path = tmp_path / "bb.csv"
    path.write_text("a,b,kind,systems,corridors,via,source\n"
                    "ap-southeast-1,ap-northeast-1,submarine,My cable,My strait,,my contract\n")
    regions = [r for r in REGIONS if r.id in ("ap-southeast-1", "ap-northeast-1", "cn-hongkong")]
    net = build_network(regions, TopologyConfig(backbone=path))
    assert net.edges["ap-southeast-1", "ap-northeast-1"]["systems"] == ("My cable",)
    assert network_arrays(net).named_systems == ["My cable"]
    assert not net.has_edge("cn-hongkong", "ap-southeast-1") or net.edges["cn-hongkong", "ap-southeast-1"]["added"]


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(0, len(REGIONS) - 1), min_size=2, max_size=len(REGIONS)), st.integers(1, 4))
def test_shortest_path_rtts_obey_the_triangle_inequality(subset, k):
    regions = [REGIONS[i] for i in sorted(subset)]
    net = build_network(regions, TopologyConfig(nearest_neighbours=k))
    rtt = path_rtt_matrix_ms(net)
    assert np.all(np.isfinite(rtt)) and np.allclose(rtt, rtt.T)
    via = rtt[:, :, None] + rtt[None, :, :]  # i -> j -> k
    assert np.all(rtt[:, None, :] <= via + 1e-9)


def test_topology_config_refuses_bad_values():
    with pytest.raises(ValueError):
        TopologyConfig(nearest_neighbours=0)
    with pytest.raises(ValueError):
        TopologyConfig(capacity_gbps_submarine=0)
    with pytest.raises(ValueError):
        TopologyConfig(missing_coordinates="guess")
    with pytest.raises(ValueError):
        TopologyConfig(corridors=True)  # the hand-picked corridor list is gone: the table replaces it
