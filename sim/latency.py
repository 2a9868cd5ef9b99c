"""Round-trip latency between points on the map (DESIGN §4), and its calibration.

The model. A link's fibre runs ``great_circle_km x route_factor`` of its kind (terrestrial or
submarine, decided by geometry in :mod:`sim.geo`); light needs ``length_km / (c / fibre_index)`` ms one
way. Each link traversed also costs ``per_hop_ms`` of round-trip time (switching, and the metro detours
the great circle does not see). Between two points anywhere:

    RTT = access(a) + 2 x shortest one-way path(node_a -> node_b) + access(b)

where each point attaches to its nearest node (great circle), the path's one-way weight is the sum of
``one_way_ms = propagation + per_hop_ms / 2`` over its links (so twice the path is propagation there
and back plus ``hops x per_hop_ms``), and an access leg is ``2 x distance x access_factor / (c / n) +
access_overhead_ms``. The result is clamped to the fibre floor of the points' own great circle
``2 x km / (c / fibre_index)``: no prediction is ever faster than light in fibre.

Calibration. The route factors and ``per_hop_ms`` are fitted to Microsoft's published monthly P50
round-trip times between Azure regions (``sim/data/measured_rtt.csv``, 60 pairs, sources in
``sim/data/SOURCES.md``). Each measured pair is one direct link of its geometric kind:
``RTT = route_factor_kind x fibre_floor + per_hop_ms``, which is linear in the three parameters, so the
fit is a least-squares fit of the relative error (closed form). The baseline is the best single global
stretch ``RTT = s x fibre_floor``, with ``s`` chosen to minimise the median error on the same set.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field

from sim.config import StrictModel
from sim.errors import InputError
from sim.geo import FIBRE_INDEX, fibre_floor_rtt_ms, fibre_one_way_ms, great_circle_km, path_kind

# Calibrated on sim/data/measured_rtt.csv by calibrate() (tests/test_latency.py re-fits and compares).
CALIBRATED_ROUTE_FACTOR_TERRESTRIAL = 1.655
CALIBRATED_ROUTE_FACTOR_SUBMARINE = 1.343
CALIBRATED_PER_HOP_MS = 4.562
PAIR_COLUMNS = ("a_lat", "a_lon", "b_lat", "b_lon")
MEASURED_COLUMNS = ("a_name", "a_lat", "a_lon", "b_name", "b_lat", "b_lon", "rtt_ms")
CHUNK_POINTS = 4096  # endpoints matched to nodes per step (bounds the [points, nodes] distance matrix)


class LatencyConfig(StrictModel):
    """Latency model parameters (defaults calibrated; see the module docstring)."""

    fibre_index: float = Field(default=FIBRE_INDEX, ge=1.0, le=2.0)
    route_factor_terrestrial: float = Field(default=CALIBRATED_ROUTE_FACTOR_TERRESTRIAL, ge=1.0, le=10.0)
    route_factor_submarine: float = Field(default=CALIBRATED_ROUTE_FACTOR_SUBMARINE, ge=1.0, le=10.0)
    per_hop_ms: float = Field(default=CALIBRATED_PER_HOP_MS, ge=0.0, le=1000.0)
    # Access paths are assumed to run on terrestrial fibre like a terrestrial link (assumption).
    access_factor: float = Field(default=CALIBRATED_ROUTE_FACTOR_TERRESTRIAL, ge=1.0, le=10.0)
    # A market is taken to sit at a metro point of presence: no extra last-mile delay (assumption).
    access_overhead_ms: float = Field(default=0.0, ge=0.0, le=1000.0)

    def route_factor(self, kind: str) -> float:
        return self.route_factor_submarine if kind == "submarine" else self.route_factor_terrestrial


def link_one_way_ms(length_km, cfg: LatencyConfig | None = None):
    """One-way weight of a link of fibre length ``length_km``: propagation + half a hop's switching."""
    cfg = cfg or LatencyConfig()
    return fibre_one_way_ms(length_km, cfg.fibre_index) + cfg.per_hop_ms / 2.0


def fibre_floor_ms(a_lat, a_lon, b_lat, b_lon, fibre_index: float = FIBRE_INDEX):
    """Fibre floor RTT between points: 2 x great circle / (c / n)."""
    return fibre_floor_rtt_ms(great_circle_km(a_lat, a_lon, b_lat, b_lon), fibre_index)


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
    from kernels.apsp import apsp  # noqa: PLC0415
    from sim.network import network_arrays  # noqa: PLC0415 (sim.network imports this module)

    arrays = network_arrays(net, list(net.nodes))
    dist, _ = apsp(arrays.weight_ms)
    return 2.0 * np.asarray(dist, dtype=float)


def predict_rtt_ms(net, cfg: LatencyConfig, a_lat, a_lon, b_lat, b_lon, rtt_matrix_ms=None) -> np.ndarray:
    """Predicted RTT in ms between arrays of endpoints over graph ``net`` (see module docstring).

    ``rtt_matrix_ms`` (from :func:`path_rtt_matrix_ms`) may be passed to reuse the shortest paths.
    """
    a_lat, a_lon, b_lat, b_lon = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (a_lat, a_lon, b_lat, b_lon))
    node_lat = np.array([net.nodes[n]["lat"] for n in net.nodes], dtype=float)
    node_lon = np.array([net.nodes[n]["lon"] for n in net.nodes], dtype=float)
    rtt = path_rtt_matrix_ms(net) if rtt_matrix_ms is None else rtt_matrix_ms
    ia, km_a = nearest_node(a_lat, a_lon, node_lat, node_lon)
    ib, km_b = nearest_node(b_lat, b_lon, node_lat, node_lon)
    access = [fibre_floor_rtt_ms(km * cfg.access_factor, cfg.fibre_index) + cfg.access_overhead_ms
              for km in (km_a, km_b)]
    total = access[0] + rtt[ia, ib] + access[1]
    return np.maximum(total, fibre_floor_ms(a_lat, a_lon, b_lat, b_lon, cfg.fibre_index))


# ---------------------------------------------------------------------------------------------- CSV I/O

def read_pairs(pairs_path: Path) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The user's pairs file (every column kept as text) and its validated coordinates."""
    name = str(pairs_path)
    try:
        frame = pd.read_csv(pairs_path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(name, "", f"cannot read CSV ({' '.join(str(err).split())})") from None
    missing = [c for c in PAIR_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(name, "", f"missing column(s) {', '.join(missing)} (need {', '.join(PAIR_COLUMNS)})")
    coords = {c: _column(frame[c], name, c) for c in PAIR_COLUMNS}
    return frame, coords


def _column(values: pd.Series, name: str, column: str) -> np.ndarray:
    numbers = pd.to_numeric(values.str.strip(), errors="coerce").to_numpy(dtype=float)
    limit = 90.0 if column.endswith("lat") else 180.0
    bad = ~np.isfinite(numbers) | (np.abs(numbers) > limit)
    if bad.any():
        i = int(np.argmax(bad))
        why = "not a number" if not np.isfinite(numbers[i]) else f"outside [-{limit:g}, {limit:g}]"
        raise InputError(name, f"row {i + 2}.{column}", f"{why}: {values.iloc[i]!r}")  # row 1 = header
    return numbers


def write_latency_csv(scenario, pairs_path, out_path=None, net=None) -> str:
    """``infrasim latency``: add ``rtt_ms`` to every row of ``pairs_path``, keeping every other column.

    Writes ``out_path`` and returns ""; with ``out_path`` None returns the CSV text instead. The
    network is the scenario's (``sim.network.scenario_network``) unless ``net`` is given.
    """
    frame, coords = read_pairs(Path(pairs_path))
    if net is None:
        from sim.network import scenario_network  # noqa: PLC0415

        net = scenario_network(scenario)
    cfg = getattr(scenario, "latency", None) or LatencyConfig()
    out = frame.copy()
    rtt = predict_rtt_ms(net, cfg, coords["a_lat"], coords["a_lon"], coords["b_lat"], coords["b_lon"])
    out["rtt_ms"] = np.round(rtt, 3) if len(frame) else []
    if out_path is None:
        return out.to_csv(index=False)
    try:
        out.to_csv(out_path, index=False)
    except OSError as err:
        raise InputError(str(out_path), "", f"cannot write ({err.strerror or err})") from None
    return ""


# ------------------------------------------------------------------------------------------- calibration

def measured_rtt_path() -> Path:
    return Path(str(resources.files("sim") / "data" / "measured_rtt.csv"))


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
    """Fitted per-kind model and the best single global stretch factor."""

    route_factor_terrestrial: float
    route_factor_submarine: float
    per_hop_ms: float
    global_stretch: float


def _features(rows: pd.DataFrame, fibre_index: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fibre floor ms, is-submarine, measured ms) per measured pair."""
    floor = fibre_floor_ms(rows["a_lat"], rows["a_lon"], rows["b_lat"], rows["b_lon"], fibre_index)
    submarine = path_kind(rows["a_lat"], rows["a_lon"], rows["b_lat"], rows["b_lon"]) == "submarine"
    return np.asarray(floor, float), submarine, rows["rtt_ms"].to_numpy(float)


def _fit_kind_model(floor, submarine, measured) -> tuple[float, float, float]:
    """Least squares of relative error for RTT = rf_kind x floor + per_hop (rf >= 1, per_hop >= 0)."""
    design = np.stack([floor * ~submarine, floor * submarine, np.ones_like(floor)], axis=1)
    free = [i for i in range(3) if design[:, i].any()]
    beta = np.array([1.0, 1.0, 0.0])
    for _ in range(3):  # refit with any parameter that left its bound pinned to the bound
        fixed = design[:, [i for i in range(3) if i not in free]] @ beta[[i for i in range(3) if i not in free]]
        scaled = design[:, free] / measured[:, None]
        beta[free] = np.linalg.lstsq(scaled, (measured - fixed) / measured, rcond=None)[0]
        low = np.array([1.0, 1.0, 0.0])
        out = [i for i in free if beta[i] < low[i]]
        if not out:
            break
        beta[out] = low[out]
        free = [i for i in free if i not in out]
    return float(beta[0]), float(beta[1]), float(beta[2])


def _fit_global(floor, measured) -> float:
    """The single stretch factor s >= 1 with the lowest median APE of RTT = s x floor (grid, 0.001)."""
    grid = np.arange(1.0, 5.0, 0.001)
    ape = np.abs(grid[:, None] * floor[None, :] - measured[None, :]) / measured[None, :]
    return float(grid[np.argmin(np.median(ape, axis=1))])


def calibrate(rows: pd.DataFrame | None = None, fibre_index: float = FIBRE_INDEX) -> Calibration:
    """Fit the per-kind route factors and per-hop time, and the best global stretch, to measured RTTs."""
    rows = load_measured() if rows is None else rows
    floor, submarine, measured = _features(rows, fibre_index)
    rf_t, rf_s, hop = _fit_kind_model(floor, submarine, measured)
    return Calibration(rf_t, rf_s, hop, _fit_global(floor, measured))


def _ape_stats(predicted, measured) -> dict[str, float]:
    ape = 100.0 * np.abs(predicted - measured) / measured
    return {"median_ape": float(np.median(ape)), "p90_ape": float(np.percentile(ape, 90))}


def calibration_report(rows: pd.DataFrame | None = None, fibre_index: float = FIBRE_INDEX) -> dict:
    """Errors of the calibrated per-kind model and of the best global stretch on the measured set.

    APE = |predicted - measured| / measured in percent. ``model_loo`` gives the per-kind model's errors
    in leave-one-out cross-validation (each pair predicted by a fit that did not see it).
    """
    rows = load_measured() if rows is None else rows
    floor, submarine, measured = _features(rows, fibre_index)
    fit = calibrate(rows, fibre_index)
    factor = np.where(submarine, fit.route_factor_submarine, fit.route_factor_terrestrial)
    model = factor * floor + fit.per_hop_ms
    baseline = fit.global_stretch * floor
    loo = np.empty_like(measured)
    for i in range(len(measured)):
        keep = np.arange(len(measured)) != i
        t, s, h = _fit_kind_model(floor[keep], submarine[keep], measured[keep])
        loo[i] = (s if submarine[i] else t) * floor[i] + h
    pairs = pd.DataFrame({"a_name": rows["a_name"], "b_name": rows["b_name"],
                          "kind": np.where(submarine, "submarine", "terrestrial"),
                          "gc_km": np.round(great_circle_km(rows["a_lat"], rows["a_lon"], rows["b_lat"], rows["b_lon"]), 1),
                          "measured_rtt_ms": measured, "predicted_rtt_ms": np.round(model, 2),
                          "global_rtt_ms": np.round(baseline, 2), "fibre_floor_ms": np.round(floor, 2)})
    return {"n_pairs": int(len(measured)), "n_submarine": int(submarine.sum()),
            "fitted": {"route_factor_terrestrial": fit.route_factor_terrestrial,
                       "route_factor_submarine": fit.route_factor_submarine, "per_hop_ms": fit.per_hop_ms},
            "global_stretch": fit.global_stretch,
            "model": _ape_stats(model, measured), "model_loo": _ape_stats(loo, measured),
            "global": _ape_stats(baseline, measured), "pairs": pairs.to_dict(orient="records")}
