"""Round-trip latency on fibre (DESIGN §4): the model's parameters and its propagation maths.

The model. A link's fibre runs ``great_circle_km x route_factor`` of its kind (terrestrial or
submarine, decided by geometry in :mod:`sim.model.geo`); light needs ``length_km / (c / fibre_index)`` ms one
way. Each link traversed also costs ``per_hop_ms`` of round-trip time (switching, and the metro detours
the great circle does not see). Between two points anywhere:

    RTT = access(a) + 2 x shortest one-way path(node_a -> node_b) + access(b)

where each point attaches to its nearest node (great circle), the path's one-way weight is the sum of
``one_way_ms = propagation + per_hop_ms / 2`` over its links (so twice the path is propagation there
and back plus ``hops x per_hop_ms``), and an access leg is ``2 x distance x access_factor / (c / n) +
access_overhead_ms``. The result is clamped to the fibre floor of the points' own great circle
``2 x km / (c / fibre_index)``: no prediction is ever faster than light in fibre.

The defaults are calibrated against measured inter-region RTTs (:mod:`sim.validation.calibration`).
Routing between places along the network is :mod:`sim.engine.routes`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field

from sim.config import StrictModel
from sim.errors import InputError
from sim.model.geo import FIBRE_INDEX, fibre_floor_rtt_ms, fibre_one_way_ms, great_circle_km

# Calibrated on sim/data/measured_rtt.csv by sim.validation.calibration.calibrate() (tests re-fit and compare).
CALIBRATED_ROUTE_FACTOR_TERRESTRIAL = 1.655
CALIBRATED_ROUTE_FACTOR_SUBMARINE = 1.343
CALIBRATED_PER_HOP_MS = 4.562
PAIR_COLUMNS = ("a_lat", "a_lon", "b_lat", "b_lon")


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


def access_rtt_ms(km, cfg: LatencyConfig):
    """RTT of the access leg from a place to a node ``km`` away (great circle): fibre at
    ``access_factor`` times the distance, there and back, plus ``access_overhead_ms``."""
    return fibre_floor_rtt_ms(np.asarray(km, dtype=float) * cfg.access_factor, cfg.fibre_index) + cfg.access_overhead_ms


# ---------------------------------------------------------------------------------------------- CSV input

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
