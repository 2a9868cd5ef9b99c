"""The default backbone and its arrays (sim.model.network)."""
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.engine.routes import path_rtt_matrix_ms
from sim.model.catalogue import FootprintConfig, Region, load_regions
from sim.model.geo import fibre_floor_rtt_ms
from sim.model.latency import LatencyConfig
from sim.model.network import CORRIDORS, TopologyConfig, build_network, corridor_pairs, links_table, network_arrays

REGIONS = load_regions(FootprintConfig())
NET = build_network(REGIONS)


def site(rid: str, lat: float, lon: float) -> Region:
    return Region(rid, rid, "", lat, lon, 1, "existing", None, 30.0)


def test_nodes_follow_the_region_order_and_graph_is_connected():
    assert list(NET.nodes) == [r.id for r in REGIONS]
    assert nx.is_connected(NET) and not NET.is_directed() and nx.number_of_selfloops(NET) == 0


def test_link_attributes_are_consistent():
    cfg = LatencyConfig()
    topology = TopologyConfig()
    for a, b, d in NET.edges(data=True):
        assert d["link_id"] == f"{a}~{b}" and d["kind"] in ("terrestrial", "submarine")
        assert math.isclose(d["length_km"], d["gc_km"] * cfg.route_factor(d["kind"]))
        assert math.isclose(2 * d["one_way_ms"], fibre_floor_rtt_ms(d["length_km"]) + cfg.per_hop_ms)
        assert d["capacity_gbps"] == topology.capacity_gbps(d["kind"])


def test_every_region_has_its_nearest_neighbours_and_the_corridors():
    k = TopologyConfig().nearest_neighbours
    assert min(dict(NET.degree).values()) >= k
    for a, b in corridor_pairs(list(NET.nodes)):
        assert NET.has_edge(a, b)
    assert NET.edges["us-east-1", "eu-west-1"]["kind"] == "submarine"  # trans-Atlantic
    assert NET.edges["ap-northeast-1", "us-west-1"]["kind"] == "submarine"  # trans-Pacific


def test_corridors_with_a_missing_end_are_skipped():
    assert corridor_pairs(["us-east-1"]) == []
    assert ("us-east-1", "eu-west-1") in corridor_pairs(["us-east-1", "eu-west-1"])
    assert all(len(pairs) for pairs in CORRIDORS.values())


def test_far_apart_pieces_are_joined():
    regions = [site("a1", 0, 0), site("a2", 0, 1), site("b1", 0, 100), site("b2", 0, 101)]
    net = build_network(regions, TopologyConfig(nearest_neighbours=1, corridors=False))
    assert nx.is_connected(net)
    added = [(a, b) for a, b, d in net.edges(data=True) if d["added"]]
    assert added == [("a2", "b1")]  # the shortest gap


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
