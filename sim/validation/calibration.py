"""Calibration of the latency model against measured inter-region round-trip times (DESIGN §4).

The route factors and ``per_hop_ms`` are fitted to Microsoft's published monthly P50 round-trip times
between Azure regions (``sim/data/measured_rtt.csv``, 60 pairs, sources in ``sim/data/SOURCES.md``). Each
measured pair is one direct link of its geometric kind: ``RTT = route_factor_kind x fibre_floor +
per_hop_ms``, which is linear in the three parameters, so the fit is a least-squares fit of the relative
error (closed form). The baseline is the best single global stretch ``RTT = s x fibre_floor``, with ``s``
chosen to minimise the median error on the same set.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.model.geo import FIBRE_INDEX, great_circle_km, path_kind
from sim.model.latency import fibre_floor_ms, read_pairs

MEASURED_COLUMNS = ("a_name", "a_lat", "a_lon", "b_name", "b_lat", "b_lon", "rtt_ms")


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
