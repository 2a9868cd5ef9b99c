"""Round-trip times between any two places, routed along the network's shortest paths (DESIGN §4).

    RTT = access(a) + 2 x shortest one-way path(node_a -> node_b) + access(b)

Each place attaches to its nearest node (great circle); the path's one-way weight is the sum of the links'
``one_way_ms`` (:func:`sim.model.latency.link_one_way_ms`), found by the same all-pairs shortest paths
(:func:`kernels.apsp`) the evaluation uses; an access leg is :func:`sim.model.latency.access_rtt_ms`, with
the last mile of a user's access network where the end is a user (``a_kind`` / ``b_kind`` columns of the
pairs file, default ``user``; measured data-centre pairs say ``site``). The result is clamped to the fibre
floor of the places' own great circle: no prediction is ever faster than light in fibre. ``infrasim
latency`` is :func:`write_latency_csv`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from kernels.apsp import apsp
from sim.errors import InputError
from sim.model.geo import great_circle_km
from sim.model.latency import LatencyConfig, access_rtt_ms, fibre_floor_ms, read_pairs
from sim.model.network import network_arrays, scenario_network

CHUNK_POINTS = 4096  # endpoints matched to nodes per step (bounds the [points, nodes] distance matrix)


def nearest_node(lat, lon, node_lat, node_lon) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest node (great circle) to each point, and the distance in km."""
    lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
    index, km = np.empty(len(lat), dtype=np.int64), np.empty(len(lat))
    for start in range(0, len(lat), CHUNK_POINTS):
        part = slice(start, start + CHUNK_POINTS)
        dist = great_circle_km(lat[part, None], lon[part, None], node_lat[None, :], node_lon[None, :])
        index[part] = np.argmin(dist, axis=1)
        km[part] = dist[np.arange(len(index[part])), index[part]]
    return index, km


def path_rtt_matrix_ms(net) -> np.ndarray:
    """RTT [n, n] between the graph's nodes: twice the shortest one-way path (``inf`` if unreachable)."""
    arrays = network_arrays(net, list(net.nodes))
    dist, _ = apsp(arrays.weight_ms)
    return 2.0 * np.asarray(dist, dtype=float)


def routed_rtt_ms(net, cfg: LatencyConfig, a_lat, a_lon, b_lat, b_lon, rtt_matrix_ms=None,
                  a_user=False, b_user=False) -> np.ndarray:
    """RTT in ms along the network between arrays of endpoints, before the fibre-floor clamp: access leg
    to each endpoint's nearest node, plus the shortest path between the two nodes (module docstring).

    With route factors and the access factor at least 1 this is never below the fibre floor (the
    triangle inequality on the sphere), so the clamp of :func:`predict_rtt_ms` only guards rounding.
    ``rtt_matrix_ms`` (from :func:`path_rtt_matrix_ms`) may be passed to reuse the shortest paths;
    ``a_user`` / ``b_user`` (bools or bool arrays) add the last mile at that end.
    """
    a_lat, a_lon, b_lat, b_lon = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (a_lat, a_lon, b_lat, b_lon))
    node_lat = np.array([net.nodes[n]["lat"] for n in net.nodes], dtype=float)
    node_lon = np.array([net.nodes[n]["lon"] for n in net.nodes], dtype=float)
    rtt = path_rtt_matrix_ms(net) if rtt_matrix_ms is None else rtt_matrix_ms
    ia, km_a = nearest_node(a_lat, a_lon, node_lat, node_lon)
    ib, km_b = nearest_node(b_lat, b_lon, node_lat, node_lon)
    return access_rtt_ms(km_a, cfg, a_user) + rtt[ia, ib] + access_rtt_ms(km_b, cfg, b_user)


def predict_rtt_ms(net, cfg: LatencyConfig, a_lat, a_lon, b_lat, b_lon, rtt_matrix_ms=None,
                   a_user=False, b_user=False) -> np.ndarray:
    """Predicted RTT in ms between arrays of endpoints over graph ``net``: :func:`routed_rtt_ms`, never
    below the fibre floor of the endpoints' own great circle."""
    total = routed_rtt_ms(net, cfg, a_lat, a_lon, b_lat, b_lon, rtt_matrix_ms, a_user, b_user)
    a_lat, a_lon, b_lat, b_lon = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (a_lat, a_lon, b_lat, b_lon))
    return np.maximum(total, fibre_floor_ms(a_lat, a_lon, b_lat, b_lon, cfg.fibre_index))


def write_latency_csv(scenario, pairs_path, out_path=None, net=None) -> str:
    """``infrasim latency``: add ``rtt_ms`` to every row of ``pairs_path``, keeping every other column
    (``predicted_rtt_ms`` when the file already has an ``rtt_ms`` column, as measured data does).

    Writes ``out_path`` and returns ""; with ``out_path`` None returns the CSV text instead. The
    network is the scenario's (``sim.model.network.scenario_network``) unless ``net`` is given.
    """
    frame, coords = read_pairs(Path(pairs_path))
    if net is None:
        net = scenario_network(scenario)
    cfg = getattr(scenario, "latency", None) or LatencyConfig()
    out = frame.copy()
    rtt = predict_rtt_ms(net, cfg, coords["a_lat"], coords["a_lon"], coords["b_lat"], coords["b_lon"],
                         a_user=coords["a_user"], b_user=coords["b_user"])
    # a file of measured round trips keeps its own rtt_ms: the prediction goes beside it
    column = "predicted_rtt_ms" if "rtt_ms" in frame.columns else "rtt_ms"
    out[column] = np.round(rtt, 3) if len(frame) else []
    if out_path is None:
        return out.to_csv(index=False)
    try:
        out.to_csv(out_path, index=False)
    except OSError as err:
        raise InputError(str(out_path), "", f"cannot write ({err.strerror or err})") from None
    return ""
