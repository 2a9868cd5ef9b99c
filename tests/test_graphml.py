"""GraphML topologies: small fixtures and all 276 Internet Topology Zoo files (sim.model.network)."""
from pathlib import Path

import networkx as nx
import pytest

from sim.errors import InputError
from sim.model.network import TopologyConfig, graphml_markets, load_graphml

DATA = Path(__file__).parent / "data"
ZOO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "topologyzoo"


def check_loaded(regions, graph):
    assert [r.id for r in regions] == list(graph.nodes) and len(set(graph.nodes)) == len(regions)
    assert nx.is_connected(graph) and nx.number_of_selfloops(graph) == 0 and not graph.is_directed()
    for r in regions:
        assert -90 <= r.lat <= 90 and -180 <= r.lon <= 180


def test_missing_coordinates_are_placed_from_neighbours():
    regions, graph = load_graphml(DATA / "partial_coords.graphml")
    check_loaded(regions, graph)
    by_id = {r.id: r for r in regions}
    assert by_id["Middle"].lat == pytest.approx(0, abs=1e-9) and by_id["Middle"].lon == pytest.approx(5)
    assert (by_id["Spur"].lat, by_id["Spur"].lon) == pytest.approx((by_id["Middle"].lat, by_id["Middle"].lon))
    assert "placed" in by_id["Spur"].source and "placed" not in by_id["West"].source
    assert "East-2" in by_id  # duplicate label made unique
    assert not graph.has_edge("East-2", "East-2")  # self loop dropped
    assert graph.edges["East", "Island"]["added"]  # disconnected site joined by its shortest gap
    assert by_id["West"].country == "Nowhere" and by_id["West"].status == "existing"


def test_refuse_policy_names_the_node():
    with pytest.raises(InputError) as err:
        load_graphml(DATA / "partial_coords.graphml", TopologyConfig(missing_coordinates="refuse"))
    assert "Middle" in str(err.value) and err.value.field == "node 1"


def test_unplaceable_node_is_refused_by_name():
    with pytest.raises(InputError) as err:
        load_graphml(DATA / "orphan.graphml")
    assert "Lost" in str(err.value) and err.value.field == "node c"


def test_directed_multigraph_collapses_to_simple_undirected():
    regions, graph = load_graphml(DATA / "directed_multi.graphml")
    check_loaded(regions, graph)
    assert sorted(map(sorted, graph.edges)) == [["Osaka", "Seoul"], ["Osaka", "Tokyo"]]


@pytest.mark.parametrize("name, words", [("not_a_graph", "not a readable GraphML"),
                                         ("empty", "not a readable GraphML"),
                                         ("no_nodes", "no nodes"), ("bad_latitude", "outside"),
                                         ("does_not_exist", "cannot read")])
def test_bad_files_are_clean_input_errors(name, words):
    with pytest.raises(InputError) as err:
        load_graphml(DATA / f"{name}.graphml")
    assert words in str(err.value) and name in err.value.file


def test_markets_one_per_site_with_equal_weights():
    regions, _ = load_graphml(DATA / "directed_multi.graphml")
    markets = graphml_markets(regions)
    assert [m.id for m in markets] == [r.id for r in regions]
    assert sum(m.weight for m in markets) == pytest.approx(1.0) and len({m.weight for m in markets}) == 1


@pytest.mark.skipif(not ZOO.is_dir(), reason="shared Topology Zoo data not present")
def test_every_topology_zoo_file_loads_or_is_refused_cleanly():
    files = sorted(ZOO.glob("*.graphml"))
    assert len(files) == 276
    loaded, refused = 0, []
    for path in files:
        try:
            regions, graph = load_graphml(path)
        except InputError as err:
            assert err.file == str(path)
            assert err.field.startswith("node ") or "no node has Latitude" in err.reason
            refused.append(path.name)
            continue
        check_loaded(regions, graph)
        loaded += 1
        if path.name == "Kdl.graphml":
            assert len(regions) == 754
    assert loaded + len(refused) == 276 and loaded >= 250  # 256 load, 20 refused when written
