"""The network: regions joined by fibre links, as an undirected networkx graph (DESIGN §3, §4).

Default backbone (:mod:`sim.model.backbone`). The links of the backbone table whose two regions are in the
footprint (named cable systems and routes, their corridors and a source per row), plus the rule over
land: each region to its ``nearest_neighbours`` nearest regions of the same land group, by a terrestrial
route of its own. If that leaves the graph in pieces (a site the table does not know on an island, say),
the two closest nodes of different pieces are joined until it is connected (links ``added``; their kind
comes from geometry, as for GraphML).

A user's topology. ``topology.graphml`` names a GraphML file in the Internet Topology Zoo format (nodes
with ``Latitude``/``Longitude``, ``label``, ``Country``). Directed graphs and multigraphs are collapsed
to simple undirected graphs, self loops dropped, duplicate labels made unique (``Name``, ``Name-2``...).
Nodes without coordinates follow ``missing_coordinates``:

- ``place`` (default): a node without coordinates is put at the centre (on the sphere) of its
  neighbours that have them, repeated outwards so chains of unplaced nodes are filled in; a node with
  no placed node anywhere in its connected piece cannot be placed and is refused (InputError naming it).
- ``refuse``: the first node without coordinates is refused (InputError naming it).
GraphML links name no systems: each link is its own system, of the kind its great circle suggests
(:func:`sim.model.geo.path_kind`).

Every link has ``gc_km``; ``kind`` (terrestrial | submarine: what carries it); ``terrestrial_km`` and
``submarine_km`` (great-circle km of its route over land and at sea); ``length_km`` = terrestrial_km x
the terrestrial route factor + submarine_km x the submarine one; ``systems`` (names), ``system_kinds``
and ``system_capacity_gbps`` (per system: the capacity the operator holds on it, an assumption by kind),
``capacity_gbps`` (their sum); ``corridors`` (shared-risk groups); ``one_way_ms`` = propagation along
``length_km`` + ``per_hop_ms / 2`` (so RTT = 2 x the path's one-way sum); ``link_id`` ``a~b`` (ends in
node order, as ``graph.edges`` lists them); ``origin`` ('table' | 'overland' | 'graphml' | 'joined'),
``source``; and ``added`` (True for links joining disconnected pieces).
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import networkx as nx
import numpy as np
from pydantic import Field, FilePath

from sim.config import StrictModel
from sim.errors import InputError
from sim.model.backbone import LinkSpec, load_backbone, load_systems, overland_links, route_km, system_kinds
from sim.model.catalogue import Market, Region, load_regions
from sim.model.geo import great_circle_km, mean_position, path_kind
from sim.model.latency import LatencyConfig, link_one_way_ms

# Capacity the operator holds on one system (a cable system or a terrestrial route), by kind, in Gbit/s
# (assumption: "a few Tbit/s per system of an operator's backbone"; leased spectrum on a shared submarine
# cable taken as half a terrestrial route's). A link's capacity is the sum over its systems.
DEFAULT_CAPACITY_GBPS_TERRESTRIAL = 4000.0
DEFAULT_CAPACITY_GBPS_SUBMARINE = 2000.0
DEFAULT_GRAPHML_SITE_MW = 30.0  # one availability zone at 30 MW of IT load (DESIGN §3, assumption)


class TopologyConfig(StrictModel):
    """Where the network comes from and what its links carry."""

    graphml: FilePath | None = None
    backbone: FilePath | None = Field(default=None, description=(
        "a backbone table in the format of the packaged sim/data/backbone.csv (one row per link: a, b, kind, "
        "systems, corridors, via, source); default: the packaged table"))
    nearest_neighbours: int = Field(default=3, ge=1, le=20, description=(
        "rule over land: each region is joined to this many nearest regions of its land group"))
    capacity_gbps_terrestrial: float = Field(default=DEFAULT_CAPACITY_GBPS_TERRESTRIAL, gt=0, description=(
        "Gbit/s the operator holds on each terrestrial route (assumption)"))
    capacity_gbps_submarine: float = Field(default=DEFAULT_CAPACITY_GBPS_SUBMARINE, gt=0, description=(
        "Gbit/s the operator holds on each submarine cable system (assumption)"))
    graphml_site_capacity_mw: float = Field(default=DEFAULT_GRAPHML_SITE_MW, gt=0)
    missing_coordinates: Literal["place", "refuse"] = "place"

    def capacity_gbps(self, kind: str) -> float:
        """Capacity held on one system of this kind."""
        return self.capacity_gbps_submarine if kind == "submarine" else self.capacity_gbps_terrestrial


# ------------------------------------------------------------------------------------------ links

def link_id(a: str, b: str) -> str:
    return f"{a}~{b}"


def _add_spec(graph: nx.Graph, spec: LinkSpec, kinds: dict[str, str], topology: TopologyConfig,
              latency: LatencyConfig) -> None:
    """Add one link (with every attribute) between existing nodes, ends in node order."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    a, b = (spec.a, spec.b) if order[spec.a] < order[spec.b] else (spec.b, spec.a)
    na, nb = graph.nodes[a], graph.nodes[b]
    gc = float(great_circle_km(na["lat"], na["lon"], nb["lat"], nb["lon"]))
    length = latency.route_length_km(spec.terrestrial_km, spec.submarine_km)
    system_kinds_ = tuple(kinds.get(s, spec.kind) for s in spec.systems)
    capacity = tuple(topology.capacity_gbps(k) for k in system_kinds_)
    graph.add_edge(a, b, gc_km=gc, terrestrial_km=spec.terrestrial_km, submarine_km=spec.submarine_km,
                   length_km=length, kind=spec.kind, systems=spec.systems, system_kinds=system_kinds_,
                   system_capacity_gbps=capacity, capacity_gbps=float(sum(capacity)), corridors=spec.corridors,
                   one_way_ms=float(link_one_way_ms(length, latency)), link_id=link_id(a, b), origin=spec.origin,
                   source=spec.source, added=spec.origin == "joined")


def _geometric_specs(graph: nx.Graph, pairs: list[tuple[str, str]], origin: str) -> list[LinkSpec]:
    """Links that name no system (GraphML, pieces joined): each its own system, kind from geometry."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    pairs = [(a, b) if order[a] < order[b] else (b, a) for a, b in pairs]  # ends in node order
    pairs = list(dict.fromkeys((a, b) for a, b in pairs if a != b and not graph.has_edge(a, b)))
    if not pairs:
        return []
    lat = np.array([[graph.nodes[a]["lat"], graph.nodes[b]["lat"]] for a, b in pairs])
    lon = np.array([[graph.nodes[a]["lon"], graph.nodes[b]["lon"]] for a, b in pairs])
    kinds = path_kind(lat[:, 0], lon[:, 0], lat[:, 1], lon[:, 1])
    specs = []
    for (a, b), kind, la, lo in zip(pairs, kinds, lat, lon):
        t_km, s_km = route_km((la[0], lo[0]), (la[1], lo[1]), str(kind), [])
        specs.append(LinkSpec(a, b, str(kind), (link_id(a, b),), (), t_km, s_km, origin))
    return specs


def _add_links(graph: nx.Graph, pairs: list[tuple[str, str]], topology: TopologyConfig,
               latency: LatencyConfig, added: bool = False) -> None:
    """Add links that name no system between existing nodes (kinds classified in one batch)."""
    for spec in _geometric_specs(graph, pairs, "joined" if added else "graphml"):
        _add_spec(graph, spec, {}, topology, latency)


def _distance_matrix(graph: nx.Graph) -> tuple[list[str], np.ndarray]:
    nodes = list(graph.nodes)
    lat = np.array([graph.nodes[n]["lat"] for n in nodes], dtype=float)
    lon = np.array([graph.nodes[n]["lon"] for n in nodes], dtype=float)
    return nodes, great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])


def connect_components(graph: nx.Graph, topology: TopologyConfig, latency: LatencyConfig) -> None:
    """Join disconnected pieces by their shortest gaps until the graph is connected (links ``added``)."""
    if graph.number_of_nodes() < 2 or nx.is_connected(graph):
        return
    nodes, dist = _distance_matrix(graph)
    index = {n: i for i, n in enumerate(nodes)}
    while not nx.is_connected(graph):
        pieces = list(nx.connected_components(graph))
        main = np.array([index[n] for n in max(pieces, key=len)])
        rest = np.setdiff1d(np.arange(len(nodes)), main)
        sub = dist[np.ix_(main, rest)]
        i, j = np.unravel_index(np.argmin(sub), sub.shape)
        _add_links(graph, [(nodes[main[i]], nodes[rest[j]])], topology, latency, added=True)


# ------------------------------------------------------------------------------ default backbone

def backbone_specs(regions: list[Region], topology: TopologyConfig) -> tuple[list[LinkSpec], dict[str, str]]:
    """The table's links among ``regions`` and the rule's links over land; the kind of every system."""
    positions = {r.id: (float(r.lat), float(r.lon)) for r in regions}
    table = load_backbone(positions, topology.backbone)
    kinds = system_kinds(table, load_systems() if topology.backbone is None else {})
    linked = {frozenset((s.a, s.b)) for s in table}
    lat = np.array([r.lat for r in regions], dtype=float)
    lon = np.array([r.lon for r in regions], dtype=float)
    rule = overland_links([r.id for r in regions], lat, lon, [r.country for r in regions],
                          topology.nearest_neighbours, linked)
    return table + rule, kinds


def build_network(regions: list[Region], topology: TopologyConfig | None = None,
                  latency: LatencyConfig | None = None) -> nx.Graph:
    """The default backbone over ``regions``: the table's links, the rule over land, always connected."""
    topology, latency = topology or TopologyConfig(), latency or LatencyConfig()
    graph = nx.Graph()
    for region in regions:
        graph.add_node(region.id, lat=float(region.lat), lon=float(region.lon))
    specs, kinds = backbone_specs(regions, topology)
    for spec in specs:
        _add_spec(graph, spec, kinds, topology, latency)
    connect_components(graph, topology, latency)
    return graph


# ------------------------------------------------------------------------------------- GraphML

def _read_graphml(path: Path) -> nx.Graph:
    name = str(path)
    try:
        raw = nx.read_graphml(path)
    except (ET.ParseError, nx.NetworkXError, ValueError, KeyError, TypeError, IndexError, AttributeError) as err:
        raise InputError(name, "", f"not a readable GraphML file ({' '.join(str(err).split()) or type(err).__name__})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(name, "", f"cannot read ({err})") from None
    simple = nx.Graph()
    simple.add_nodes_from(raw.nodes(data=True))
    simple.add_edges_from((u, v) for u, v in raw.edges() if u != v)  # directed/multi -> simple undirected
    if simple.number_of_nodes() == 0:
        raise InputError(name, "", "the graph has no nodes")
    return simple


def _coordinate(data: dict, key: str, limit: float, path: Path, node: str) -> float | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(str(path), f"node {node}.{key}", f"not a number: {value!r}") from None
    if not math.isfinite(number) or abs(number) > limit:
        raise InputError(str(path), f"node {node}.{key}", f"outside [-{limit:g}, {limit:g}]: {value!r}")
    return number


def _node_name(data: dict, node: str) -> str:
    label = str(data.get("label", "")).strip()
    return f"{label} (id {node})" if label else f"id {node}"


def _known_positions(raw: nx.Graph, path: Path) -> dict[str, tuple[float, float]]:
    known = {}
    for node, data in raw.nodes(data=True):
        lat = _coordinate(data, "Latitude", 90.0, path, node)
        lon = _coordinate(data, "Longitude", 180.0, path, node)
        if lat is not None and lon is not None:
            known[node] = (lat, lon)
    return known


def place_missing(raw: nx.Graph, known: dict[str, tuple[float, float]], path: Path) -> dict:
    """Positions for every node: unknown ones at the centre of placed neighbours, wave by wave."""
    if not known:
        raise InputError(str(path), "", "no node has Latitude/Longitude: cannot place the sites on the map")
    placed = dict(known)
    missing = [n for n in raw.nodes if n not in placed]
    while missing:
        wave = {}
        for node in missing:
            around = [placed[m] for m in raw.neighbors(node) if m in placed]
            if around:
                wave[node] = mean_position([p[0] for p in around], [p[1] for p in around])
        if not wave:
            node = missing[0]
            raise InputError(str(path), f"node {node}", f"{_node_name(raw.nodes[node], node)} has no Latitude/"
                             "Longitude and nothing in its connected piece of the graph has: cannot place it")
        placed.update(wave)
        missing = [n for n in missing if n not in placed]
    return placed


def _unique_labels(raw: nx.Graph) -> dict[str, str]:
    """Site id per node: its label (or node id), made unique with -2, -3... in file order."""
    ids, used = {}, set()
    for node, data in raw.nodes(data=True):
        base = str(data.get("label", "")).strip() or str(node)
        candidate, k = base, 1
        while candidate in used:
            k += 1
            candidate = f"{base}-{k}"
        used.add(candidate)
        ids[node] = candidate
    return ids


def load_graphml(path: Path, topology: TopologyConfig | None = None,
                 latency: LatencyConfig | None = None) -> tuple[list[Region], nx.Graph]:
    """Sites and links from a GraphML file (see the module docstring for the rules)."""
    topology, latency = topology or TopologyConfig(), latency or LatencyConfig()
    path = Path(path)
    raw = _read_graphml(path)
    known = _known_positions(raw, path)
    if topology.missing_coordinates == "refuse" and len(known) < raw.number_of_nodes():
        node = next(n for n in raw.nodes if n not in known)
        raise InputError(str(path), f"node {node}", f"{_node_name(raw.nodes[node], node)} has no Latitude/Longitude "
                         "(topology.missing_coordinates is 'refuse'; use 'place' to place it from its neighbours)")
    positions = place_missing(raw, known, path)
    ids = _unique_labels(raw)
    regions = [Region(ids[n], str(d.get("label", "")).strip() or ids[n], str(d.get("Country", "")).strip(),
                      positions[n][0], positions[n][1], 1, "existing", None, topology.graphml_site_capacity_mw,
                      f"{path.name} node {n}" + ("" if n in known else " (placed from its neighbours)"))
               for n, d in raw.nodes(data=True)]
    graph = nx.Graph()
    for region in regions:
        graph.add_node(region.id, lat=region.lat, lon=region.lon)
    _add_links(graph, [(ids[u], ids[v]) for u, v in raw.edges()], topology, latency)
    connect_components(graph, topology, latency)
    return regions, graph


def graphml_markets(regions: list[Region]) -> list[Market]:
    """Default markets for a GraphML topology: one per site, equal weights, all in the bloc
    ``graphml`` (which takes the operator's global share of demand; documented default)."""
    weight = 1.0 / len(regions) if regions else 0.0
    return [Market(r.id, r.city, "graphml", r.lat, r.lon, weight) for r in regions]


# ------------------------------------------------------------------------------ engine arrays

@dataclass(frozen=True)
class NetworkArrays:
    """The graph as arrays for the kernels (node order = ``node_ids``; edges in graph order).

    Capacity and risk are by *segment*: one system on one link (link ``seg_link[s]`` carried by system
    ``seg_system[s]``). A link's capacity is the sum over its segments in service; it leaves the graph when
    none is. Corridors are shared-risk groups of segments (``corridor_member[k, s]``). Arrays built
    without segments (tests, GraphML) get one segment per link, named after the link, with its capacity.
    """

    node_ids: list[str]
    lat: np.ndarray
    lon: np.ndarray
    weight_ms: np.ndarray  # [n, n] one-way ms; inf where no link, 0 on the diagonal
    edge_u: np.ndarray  # [e] node index of each link's first end
    edge_v: np.ndarray
    link_ids: list[str]
    kind: np.ndarray  # [e] 'terrestrial' | 'submarine'
    length_km: np.ndarray
    capacity_gbps: np.ndarray  # [e] with every system in service
    arc_index: np.ndarray  # [n, n] int: arc 2e = u->v, 2e+1 = v->u of link e; -1 where no link
    seg_link: np.ndarray | None = None  # [S] link of each segment
    seg_system: list[str] | None = None  # [S] system name of each segment
    seg_kind: np.ndarray | None = None  # [S] 'terrestrial' | 'submarine' (of the system)
    seg_capacity_gbps: np.ndarray | None = None  # [S]
    corridor_names: list[str] | None = None  # [K]
    corridor_member: np.ndarray | None = None  # [K, S] bool
    named_systems: list[str] | None = None  # systems named by a backbone table (N-1 and events by name)

    def __post_init__(self) -> None:
        if self.seg_link is None:  # one segment per link: the link is its own system
            links = len(self.link_ids)
            object.__setattr__(self, "seg_link", np.arange(links))
            object.__setattr__(self, "seg_system", list(self.link_ids))
            object.__setattr__(self, "seg_kind", np.asarray(self.kind, dtype=str))
            object.__setattr__(self, "seg_capacity_gbps", np.asarray(self.capacity_gbps, dtype=float))
        if self.corridor_names is None:
            object.__setattr__(self, "corridor_names", [])
            object.__setattr__(self, "corridor_member", np.zeros((0, len(self.seg_link)), dtype=bool))
        if self.named_systems is None:
            object.__setattr__(self, "named_systems", [])

    @property
    def n_arcs(self) -> int:
        return 2 * len(self.link_ids)

    @property
    def n_segments(self) -> int:
        return len(self.seg_link)

    @property
    def n_corridors(self) -> int:
        return len(self.corridor_names)

    def segments_of_system(self, name: str) -> np.ndarray:
        return np.flatnonzero(np.asarray(self.seg_system) == name)

    def segments_of_link(self, link: int) -> np.ndarray:
        return np.flatnonzero(self.seg_link == link)


def _segments(edges: list) -> dict:
    """Segment and corridor arrays of a list of ``(a, b, data)`` edges."""
    seg_link, seg_system, seg_kind, seg_cap = [], [], [], []
    for e, (_, _, d) in enumerate(edges):
        systems = d.get("systems") or (d["link_id"],)
        kinds = d.get("system_kinds") or (d["kind"],) * len(systems)
        caps = d.get("system_capacity_gbps") or (d["capacity_gbps"] / len(systems),) * len(systems)
        seg_link += [e] * len(systems)
        seg_system += list(systems)
        seg_kind += list(kinds)
        seg_cap += list(caps)
    corridors = sorted({c for _, _, d in edges for c in d.get("corridors", ())})
    member = np.zeros((len(corridors), len(seg_link)), dtype=bool)
    for k, name in enumerate(corridors):
        links = [e for e, (_, _, d) in enumerate(edges) if name in d.get("corridors", ())]
        member[k] = np.isin(seg_link, links)
    named = sorted({s for _, _, d in edges if d.get("origin") == "table" for s in d["systems"]})
    return dict(seg_link=np.array(seg_link, dtype=np.int64), seg_system=seg_system,
                seg_kind=np.array(seg_kind, dtype=str), seg_capacity_gbps=np.array(seg_cap, dtype=float),
                corridor_names=corridors, corridor_member=member, named_systems=named)


def network_arrays(graph: nx.Graph, node_ids: list[str] | None = None) -> NetworkArrays:
    """Arrays of ``graph`` in the order ``node_ids`` (default: the graph's node order)."""
    node_ids = list(graph.nodes) if node_ids is None else list(node_ids)
    index = {n: i for i, n in enumerate(node_ids)}
    n = len(node_ids)
    weight = np.full((n, n), np.inf)
    np.fill_diagonal(weight, 0.0)
    arc = np.full((n, n), -1, dtype=np.int64)
    edges = list(graph.edges(data=True))
    u = np.array([index[a] for a, _, _ in edges], dtype=np.int64)
    v = np.array([index[b] for _, b, _ in edges], dtype=np.int64)
    one_way = np.array([d["one_way_ms"] for _, _, d in edges], dtype=float)
    weight[u, v] = one_way
    weight[v, u] = one_way
    arc[u, v] = 2 * np.arange(len(edges))
    arc[v, u] = 2 * np.arange(len(edges)) + 1
    return NetworkArrays(node_ids, np.array([graph.nodes[x]["lat"] for x in node_ids], dtype=float),
                         np.array([graph.nodes[x]["lon"] for x in node_ids], dtype=float), weight, u, v,
                         [d["link_id"] for _, _, d in edges], np.array([d["kind"] for _, _, d in edges], dtype=str),
                         np.array([d["length_km"] for _, _, d in edges], dtype=float),
                         np.array([d["capacity_gbps"] for _, _, d in edges], dtype=float), arc, **_segments(edges))


def links_table(graph: nx.Graph) -> list[dict]:
    """Rows of ``footprint_links.csv``: link_id, a, b, kind, systems, corridors, length_km, capacity_gbps."""
    return [dict(link_id=d["link_id"], a=a, b=b, kind=d["kind"], systems="; ".join(d.get("systems", ())),
                 corridors="; ".join(d.get("corridors", ())), length_km=round(d["length_km"], 1),
                 capacity_gbps=d["capacity_gbps"]) for a, b, d in graph.edges(data=True)]


def scenario_network(scenario) -> nx.Graph:
    """The network a scenario describes: its GraphML file, or the default backbone over its footprint."""
    topology = getattr(scenario, "topology", None) or TopologyConfig()
    latency = getattr(scenario, "latency", None) or LatencyConfig()
    if topology.graphml is not None:
        return load_graphml(Path(topology.graphml), topology, latency)[1]
    return build_network(load_regions(scenario.footprint), topology, latency)
