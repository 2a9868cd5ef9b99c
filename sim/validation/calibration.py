"""Calibration of the latency model against measured inter-region round-trip times, routed along the graph.

What is predicted is what the engine and ``infrasim latency`` compute (DESIGN §4): each end of a measured
pair attaches to its nearest region of the footprint (an access leg of ``access_factor`` x the distance,
there and back), the round trip follows the shortest path of the backbone between the two regions
(each link's fibre = terrestrial km x ``route_factor_terrestrial`` + submarine km x
``route_factor_submarine``, plus ``per_hop_ms`` per link), and the result is clamped to the fibre floor.
The ends of a measured pair are data centres, so no last mile is added.

Region-to-region pairs. A measured pair speaks about the backbone when both ends lie within
``REGION_MATCH_KM`` of a footprint region, and of two different ones; the other pairs mostly measure a
long access leg the model does not claim to know (Sydney users attached to Jakarta, say), so they are
reported apart ("all pairs"), never in the headline.

The fit. Three parameters: ``route_factor_terrestrial`` (also the access factor), ``route_factor_submarine``
and ``per_hop_ms``, by least squares of the relative error over the region-to-region pairs of one provider
(Azure, ``sim/data/measured_rtt.csv``). A pair's path depends on the parameters, so the fit starts from the
best point of a coarse grid (all grid points' shortest paths in one batched call) and then alternates:
with the paths fixed the RTT is linear in the parameters (a bounded linear least squares); recompute the
paths; stop when they no longer change. Leave-one-out predicts each pair from a fit that did not see it.
Other providers' tables (IBM Cloud, ``sim/data/measured_rtt_ibm.csv``) are out-of-sample checks.

The point-to-point formula of earlier versions (one direct link of the pair's geometric kind,
``factor x floor + per hop``) is kept as a labelled baseline only: the engine never uses it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from kernels.apsp import apsp
from kernels.paths import walk_arcs
from sim.engine.routes import nearest_node
from sim.errors import InputError
from sim.model.catalogue import FootprintConfig, load_regions
from sim.model.geo import FIBRE_INDEX, fibre_km_per_ms, great_circle_km, path_kind
from sim.model.latency import LatencyConfig, fibre_floor_ms, read_pairs
from sim.model.network import TopologyConfig, build_network, network_arrays

MEASURED_COLUMNS = ("a_name", "a_lat", "a_lon", "b_name", "b_lat", "b_lon", "rtt_ms")
REGION_MATCH_KM = 300.0  # a measured end within this distance of a footprint region stands for that region
GRID = (np.arange(1.0, 2.41, 0.1), np.arange(1.0, 1.81, 0.05), np.arange(0.0, 14.1, 1.0))  # rf_t, rf_s, hop
LOWER = np.array([1.0, 1.0, 0.0])  # route factors >= 1 (fibre is never shorter than the great circle)
MAX_ROUNDS = 20


def measured_rtt_path(name: str = "measured_rtt.csv") -> Path:
    return Path(str(resources.files("sim") / "data" / name))


def load_measured(path: Path | None = None) -> pd.DataFrame:
    """Measured inter-region RTTs (default: the packaged Azure P50 set)."""
    path = path or measured_rtt_path()
    frame, _ = read_pairs(path)
    missing = [c for c in MEASURED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(str(path), "", f"missing column(s) {', '.join(missing)}")
    for column in ("a_lat", "a_lon", "b_lat", "b_lon", "rtt_ms"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    if frame["rtt_ms"].isna().any() or (frame["rtt_ms"] <= 0).any():
        raise InputError(str(path), f"row {int(np.argmax(~(frame['rtt_ms'] > 0))) + 2}.rtt_ms", "must be > 0")
    return frame


@dataclass(frozen=True)
class Calibration:
    """Fitted routed model, and the point-to-point baseline's parameters."""

    route_factor_terrestrial: float
    route_factor_submarine: float
    per_hop_ms: float
    baseline: tuple[float, float, float]  # point-to-point (rf_t, rf_s, hop)

    @property
    def theta(self) -> np.ndarray:
        return np.array([self.route_factor_terrestrial, self.route_factor_submarine, self.per_hop_ms])


# ----------------------------------------------------------------------------------- the routed problem

class RoutedPairs:
    """Measured pairs on one backbone graph: everything the routed RTT needs that does not depend on
    the latency parameters (route kilometres of every link, each end's region and access distance)."""

    def __init__(self, rows: pd.DataFrame, graph, fibre_index: float = FIBRE_INDEX):
        self.rows = rows.reset_index(drop=True)
        self.arrays = network_arrays(graph)
        self.v = fibre_km_per_ms(fibre_index)
        edges = list(graph.edges(data=True))
        self.terrestrial_km = np.array([d["terrestrial_km"] for _, _, d in edges])
        self.submarine_km = np.array([d["submarine_km"] for _, _, d in edges])
        a = self.arrays
        self.ia, self.km_a = nearest_node(self.rows["a_lat"], self.rows["a_lon"], a.lat, a.lon)
        self.ib, self.km_b = nearest_node(self.rows["b_lat"], self.rows["b_lon"], a.lat, a.lon)
        self.measured = self.rows["rtt_ms"].to_numpy(float)
        self.floor = np.asarray(fibre_floor_ms(self.rows["a_lat"], self.rows["a_lon"], self.rows["b_lat"],
                                               self.rows["b_lon"], fibre_index), dtype=float)
        self.region_pair = (self.km_a <= REGION_MATCH_KM) & (self.km_b <= REGION_MATCH_KM) & (self.ia != self.ib)

    def weights(self, theta: np.ndarray) -> np.ndarray:
        """One-way link weights ``[G, n, n]`` for parameter rows ``theta [G, 3]``."""
        theta = np.atleast_2d(theta)
        a, n = self.arrays, len(self.arrays.node_ids)
        one_way = ((self.terrestrial_km[None] * theta[:, :1] + self.submarine_km[None] * theta[:, 1:2]) / self.v
                   + theta[:, 2:3] / 2.0)  # [G, e]
        w = np.full((len(theta), n, n), np.inf)
        w[:, np.arange(n), np.arange(n)] = 0.0
        w[:, a.edge_u, a.edge_v] = one_way
        w[:, a.edge_v, a.edge_u] = one_way
        return w

    def predict(self, theta: np.ndarray) -> np.ndarray:
        """Routed RTT ``[G, P]`` of every pair for parameter rows ``theta [G, 3]`` (the fibre floor holds)."""
        theta = np.atleast_2d(theta)
        dist, _ = apsp(self.weights(theta))
        access = 2.0 * (self.km_a + self.km_b)[None, :] * theta[:, :1] / self.v
        return np.maximum(access + 2.0 * dist[:, self.ia, self.ib], self.floor[None, :])

    def design(self, theta: np.ndarray) -> np.ndarray:
        """With the paths of ``theta`` fixed, RTT = design @ (rf_t, rf_s, hop): ``[P, 3]``."""
        _, next_hop = apsp(self.weights(theta))
        hops = walk_arcs(np.zeros(len(self.ia), dtype=np.int64), self.ia, self.ib, next_hop, self.arrays.arc_index)
        link = hops.arc // 2
        per_pair = np.zeros((len(self.ia), 3))
        np.add.at(per_pair, (hops.walker, 0), self.terrestrial_km[link])
        np.add.at(per_pair, (hops.walker, 1), self.submarine_km[link])
        np.add.at(per_pair, (hops.walker, 2), 1.0)
        x = np.empty((len(self.ia), 3))
        x[:, 0] = 2.0 * (per_pair[:, 0] + self.km_a + self.km_b) / self.v
        x[:, 1] = 2.0 * per_pair[:, 1] / self.v
        x[:, 2] = per_pair[:, 2]
        return x


def _bounded_lstsq(design: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Least squares of the relative error for RTT = design @ theta, with theta >= LOWER."""
    beta, free = LOWER.copy(), [i for i in range(3) if design[:, i].any()]
    for _ in range(3):  # refit with any parameter that left its bound pinned to the bound
        fixed = [i for i in range(3) if i not in free]
        rest = design[:, fixed] @ beta[fixed]
        beta[free] = np.linalg.lstsq(design[:, free] / measured[:, None], (measured - rest) / measured, rcond=None)[0]
        out = [i for i in free if beta[i] < LOWER[i]]
        if not out:
            break
        beta[out] = LOWER[out]
        free = [i for i in free if i not in out]
    return beta


def _fit(problem: RoutedPairs, use: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """(rf_t, rf_s, hop) fitted to the pairs ``use`` (bool mask): grid start, then alternate paths / lstsq."""
    measured = problem.measured[use]
    if start is None:
        grid = np.array(list(itertools.product(*GRID)))
        rel = (problem.predict(grid)[:, use] - measured) / measured
        start = grid[np.argmin((rel ** 2).sum(axis=1))]
    theta, last = np.asarray(start, dtype=float), None
    for _ in range(MAX_ROUNDS):
        design = problem.design(theta)
        if last is not None and np.array_equal(design, last):
            break
        last = design
        theta = _bounded_lstsq(design[use], measured)
    return theta


def _ape_stats(predicted, measured) -> dict[str, float]:
    ape = 100.0 * np.abs(np.asarray(predicted) - np.asarray(measured)) / np.asarray(measured)
    if ape.size == 0:
        return {"median_ape": float("nan"), "p90_ape": float("nan"), "n": 0}
    return {"median_ape": float(np.median(ape)), "p90_ape": float(np.percentile(ape, 90)), "n": int(ape.size)}


# ------------------------------------------------------------------------------- point-to-point baseline

def _point_to_point(rows: pd.DataFrame, fibre_index: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fibre floor ms, is-submarine by geometry, design [P, 3]) of the point-to-point formula."""
    floor = np.asarray(fibre_floor_ms(rows["a_lat"], rows["a_lon"], rows["b_lat"], rows["b_lon"], fibre_index),
                       dtype=float)
    submarine = path_kind(rows["a_lat"], rows["a_lon"], rows["b_lat"], rows["b_lon"]) == "submarine"
    return floor, submarine, np.stack([floor * ~submarine, floor * submarine, np.ones_like(floor)], axis=1)


# ------------------------------------------------------------------------------------------ the API

def default_graph(latency: LatencyConfig | None = None, footprint: FootprintConfig | None = None,
                  topology: TopologyConfig | None = None):
    """The backbone the default scenario runs on (the footprint and topology defaults)."""
    return build_network(load_regions(footprint or FootprintConfig()), topology, latency)


def calibrate(rows: pd.DataFrame | None = None, graph=None, fibre_index: float = FIBRE_INDEX) -> Calibration:
    """Fit the routed model's route factors and per-hop time to the measured region-to-region pairs."""
    rows = load_measured() if rows is None else rows
    problem = RoutedPairs(rows, default_graph() if graph is None else graph, fibre_index)
    theta = _fit(problem, problem.region_pair)
    _, _, design = _point_to_point(problem.rows, fibre_index)
    base = _bounded_lstsq(design, problem.measured)
    return Calibration(float(theta[0]), float(theta[1]), float(theta[2]), tuple(float(x) for x in base))


def routed_predictions(cfg: LatencyConfig, rows: pd.DataFrame, graph=None) -> tuple[np.ndarray, RoutedPairs]:
    """Routed RTT of every pair with the parameters of ``cfg`` (no refit), and the problem."""
    problem = RoutedPairs(rows, default_graph() if graph is None else graph, cfg.fibre_index)
    theta = np.array([cfg.route_factor_terrestrial, cfg.route_factor_submarine, cfg.per_hop_ms])
    return problem.predict(theta)[0], problem


def calibration_report(rows: pd.DataFrame | None = None, graph=None, fibre_index: float = FIBRE_INDEX,
                       out_of_sample: dict[str, pd.DataFrame] | None = None) -> dict:
    """Errors of the routed model on the measured pairs: fitted, leave-one-out, out-of-sample.

    APE = |predicted - measured| / measured in percent. ``model`` and ``model_loo`` are over the
    region-to-region pairs of the fitting provider; ``all_pairs`` over every pair of that provider
    (including ends far from any region); ``out_of_sample`` per other provider (default: IBM Cloud),
    region-to-region and all pairs, with the fitted parameters; ``baseline`` is the point-to-point formula
    fitted point-to-point on the same region-to-region pairs (a labelled baseline the engine does not use).
    """
    rows = load_measured() if rows is None else rows
    graph = default_graph() if graph is None else graph
    problem = RoutedPairs(rows, graph, fibre_index)
    use = problem.region_pair
    theta = _fit(problem, use)
    predicted = problem.predict(theta)[0]
    loo = np.full(len(predicted), np.nan)
    for i in np.flatnonzero(use):
        keep = use.copy()
        keep[i] = False
        loo[i] = problem.predict(_fit(problem, keep, start=theta))[0, i]
    floor, submarine, design = _point_to_point(problem.rows, fibre_index)
    base_theta = _bounded_lstsq(design[use], problem.measured[use])
    baseline = design @ base_theta
    others = {}
    if out_of_sample is None:
        out_of_sample = {"IBM Cloud": load_measured(measured_rtt_path("measured_rtt_ibm.csv"))}
    for name, other_rows in out_of_sample.items():
        other = RoutedPairs(other_rows, graph, fibre_index)
        got = other.predict(theta)[0]
        others[name] = {"region_pairs": _ape_stats(got[other.region_pair], other.measured[other.region_pair]),
                        "all_pairs": _ape_stats(got, other.measured),
                        "below_floor": int((got < other.floor - 1e-9).sum()),
                        "pairs": _pair_rows(other, got)}
    measured = problem.measured
    return {"n_pairs": int(use.sum()), "n_all_pairs": int(len(measured)),
            "fitted": {"route_factor_terrestrial": float(theta[0]), "route_factor_submarine": float(theta[1]),
                       "per_hop_ms": float(theta[2])},
            "model": _ape_stats(predicted[use], measured[use]), "model_loo": _ape_stats(loo[use], measured[use]),
            "all_pairs": _ape_stats(predicted, measured),
            "below_floor": int((predicted < problem.floor - 1e-9).sum()),
            "baseline": {**_ape_stats(baseline[use], measured[use]), "route_factor_terrestrial": float(base_theta[0]),
                         "route_factor_submarine": float(base_theta[1]), "per_hop_ms": float(base_theta[2])},
            "out_of_sample": others,
            "pairs": _pair_rows(problem, predicted, loo=loo, baseline=baseline, submarine=submarine)}


def _pair_rows(problem: RoutedPairs, predicted: np.ndarray, **extra) -> list[dict]:
    ids = problem.arrays.node_ids
    rows = problem.rows
    frame = pd.DataFrame({"a_name": rows["a_name"], "b_name": rows["b_name"],
                          "a_region": [ids[i] for i in problem.ia], "b_region": [ids[i] for i in problem.ib],
                          "region_pair": problem.region_pair,
                          "gc_km": np.round(great_circle_km(rows["a_lat"], rows["a_lon"], rows["b_lat"], rows["b_lon"]), 1),
                          "measured_rtt_ms": problem.measured, "predicted_rtt_ms": np.round(predicted, 2),
                          "fibre_floor_ms": np.round(problem.floor, 2)})
    if "loo" in extra:
        frame["loo_rtt_ms"] = np.round(extra["loo"], 2)
        frame["baseline_rtt_ms"] = np.round(extra["baseline"], 2)
        frame["kind"] = np.where(extra["submarine"], "submarine", "terrestrial")
    return frame.to_dict(orient="records")
