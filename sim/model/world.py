"""The world of a scenario: its sites, markets and network, built once and shared by every command.

Two sources: the packaged catalogue with the default backbone (DESIGN §3), or a user's GraphML
topology, whose nodes become the sites and (by default) one equal-weight market each.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np

from sim.model.catalogue import Expansion, Market, Region, footprint_table, load_footprint, load_markets
from sim.model.geo import great_circle_km
from sim.model.network import NetworkArrays, build_network, graphml_markets, load_graphml, network_arrays


@dataclass
class World:
    """Sites (graph nodes, in index order), zone expansions, markets and the network graph."""

    regions: list[Region]
    expansions: list[Expansion]
    markets: list[Market]
    graph: nx.Graph

    @cached_property
    def arrays(self) -> NetworkArrays:
        return network_arrays(self.graph, [r.id for r in self.regions])

    @cached_property
    def market_region_km(self) -> np.ndarray:
        """Great-circle distance from every market to every site, [m, n] km."""
        m_lat = np.array([m.lat for m in self.markets])[:, None]
        m_lon = np.array([m.lon for m in self.markets])[:, None]
        r_lat = np.array([r.lat for r in self.regions])[None, :]
        r_lon = np.array([r.lon for r in self.regions])[None, :]
        return great_circle_km(m_lat, m_lon, r_lat, r_lon)

    @cached_property
    def region_km(self) -> np.ndarray:
        """Great-circle distance between sites, [n, n] km."""
        lat = np.array([r.lat for r in self.regions])
        lon = np.array([r.lon for r in self.regions])
        return great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])

    @property
    def region_index(self) -> dict[str, int]:
        return {r.id: i for i, r in enumerate(self.regions)}

    def footprint_rows(self) -> list[dict]:
        return footprint_table(self.regions, self.expansions)


def build_world(scenario) -> World:
    """Sites, markets and network of a validated Scenario."""
    if scenario.topology.graphml is not None:
        regions, graph = load_graphml(scenario.topology.graphml, scenario.topology, scenario.latency)
        return World(regions, [], graphml_markets(regions), graph)
    regions, expansions = load_footprint(scenario.footprint)
    markets = load_markets(scenario.markets)
    graph = build_network(regions, scenario.topology, scenario.latency)
    return World(regions, expansions, markets, graph)
