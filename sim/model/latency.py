"""Round-trip latency on fibre (DESIGN §4): the model's parameters and its propagation maths.

The model. A link's fibre runs ``terrestrial_km x route_factor_terrestrial + submarine_km x
route_factor_submarine``, where the kilometres are great-circle legs of its route over land and at sea
(:mod:`sim.model.backbone`); light needs ``length_km / (c / fibre_index)`` ms one way. Each link traversed
also costs ``per_hop_ms`` of round-trip time (switching, and the metro detours the great circle does not
see). Between two points anywhere:

    RTT = access(a) + 2 x shortest one-way path(node_a -> node_b) + access(b)

where each point attaches to its nearest node (great circle), the path's one-way weight is the sum of
``one_way_ms = propagation + per_hop_ms / 2`` over its links (so twice the path is propagation there
and back plus ``hops x per_hop_ms``), and an access leg is ``2 x distance x access_factor / (c / n) +
access_overhead_ms``, plus ``last_mile_rtt_ms`` when the point is a user rather than a data centre (a
market's users sit behind an access network: a market in a region's own city does not see 0 ms). The
result is clamped to the fibre floor of the points' own great circle ``2 x km / (c / fibre_index)``: no
prediction is ever faster than light in fibre.

The defaults are calibrated against measured inter-region RTTs routed along the graph
(:mod:`sim.validation.calibration`). Routing between places along the network is :mod:`sim.engine.routes`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field

from sim.config import StrictModel
from sim.errors import InputError
from sim.model.geo import FIBRE_INDEX, fibre_floor_rtt_ms, fibre_one_way_ms, great_circle_km

# Fitted by sim.validation.calibration.calibrate(): routed along the default backbone to the measured Azure
# region pairs of sim/data/measured_rtt.csv (tests re-fit and compare).
CALIBRATED_ROUTE_FACTOR_TERRESTRIAL = 1.478
CALIBRATED_ROUTE_FACTOR_SUBMARINE = 1.135
CALIBRATED_PER_HOP_MS = 5.610
PAIR_COLUMNS = ("a_lat", "a_lon", "b_lat", "b_lon")
ENDPOINT_KINDS = ("user", "site")  # optional a_kind / b_kind columns of a pairs file
# Access network RTT of a user, ms: Ookla's median fixed-broadband latency of the best US ISP is about 9 ms
# (potsandpansbyccg.com/tag/ookla, quarterly Ookla report), rounded up; mobile networks measure ~30 ms.
DEFAULT_LAST_MILE_RTT_MS = 10.0


class LatencyConfig(StrictModel):
    """Latency model parameters (defaults calibrated; see the module docstring)."""

    fibre_index: float = Field(default=FIBRE_INDEX, ge=1.0, le=2.0)
    route_factor_terrestrial: float = Field(default=CALIBRATED_ROUTE_FACTOR_TERRESTRIAL, ge=1.0, le=10.0)
    route_factor_submarine: float = Field(default=CALIBRATED_ROUTE_FACTOR_SUBMARINE, ge=1.0, le=10.0)
    per_hop_ms: float = Field(default=CALIBRATED_PER_HOP_MS, ge=0.0, le=1000.0)
    # Access paths are assumed to run on terrestrial fibre like a terrestrial link (assumption).
    access_factor: float = Field(default=CALIBRATED_ROUTE_FACTOR_TERRESTRIAL, ge=1.0, le=10.0)
    # Extra RTT on every access leg (sites and users alike): none by default (assumption).
    access_overhead_ms: float = Field(default=0.0, ge=0.0, le=1000.0)
    # Users reach the network through an access network: round trip to the first metro point of presence.
    last_mile_rtt_ms: float = Field(default=DEFAULT_LAST_MILE_RTT_MS, ge=0.0, le=1000.0, description=(
        "RTT of a user's access network to the metro, added at a market's end (and for `user` endpoints of "
        "`infrasim latency`); default 10 ms: median idle latency of the best US fixed-broadband ISPs to a "
        "nearby test server, about 9 ms (Ookla, via potsandpansbyccg.com/tag/ookla), rounded up"))

    def route_factor(self, kind: str) -> float:
        return self.route_factor_submarine if kind == "submarine" else self.route_factor_terrestrial

    def route_length_km(self, terrestrial_km, submarine_km):
        """Modelled fibre length of a route with these great-circle kilometres over land and at sea."""
        return terrestrial_km * self.route_factor_terrestrial + submarine_km * self.route_factor_submarine


def link_one_way_ms(length_km, cfg: LatencyConfig | None = None):
    """One-way weight of a link of fibre length ``length_km``: propagation + half a hop's switching."""
    cfg = cfg or LatencyConfig()
    return fibre_one_way_ms(length_km, cfg.fibre_index) + cfg.per_hop_ms / 2.0


def fibre_floor_ms(a_lat, a_lon, b_lat, b_lon, fibre_index: float = FIBRE_INDEX):
    """Fibre floor RTT between points: 2 x great circle / (c / n)."""
    return fibre_floor_rtt_ms(great_circle_km(a_lat, a_lon, b_lat, b_lon), fibre_index)


def access_rtt_ms(km, cfg: LatencyConfig, user=False):
    """RTT of the access leg from a place to a node ``km`` away (great circle): fibre at
    ``access_factor`` times the distance, there and back, plus ``access_overhead_ms``, plus
    ``last_mile_rtt_ms`` where ``user`` (a bool or a bool array broadcasting with ``km``) is true."""
    fibre = fibre_floor_rtt_ms(np.asarray(km, dtype=float) * cfg.access_factor, cfg.fibre_index)
    return fibre + cfg.access_overhead_ms + np.where(user, cfg.last_mile_rtt_ms, 0.0)


# ---------------------------------------------------------------------------------------------- CSV input

def read_pairs(pairs_path: Path) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The user's pairs file (every column kept as text) and its validated coordinates.

    Optional columns ``a_kind`` and ``b_kind`` say what each end is: ``user`` (default: a place where
    people are, behind an access network, so the last mile is added) or ``site`` (a data centre on the
    backbone). The returned dict then also holds ``a_user`` and ``b_user`` (bool arrays)."""
    name = str(pairs_path)
    try:
        frame = pd.read_csv(pairs_path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(name, "", f"cannot read CSV ({' '.join(str(err).split())})") from None
    missing = [c for c in PAIR_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(name, "", f"missing column(s) {', '.join(missing)} (need {', '.join(PAIR_COLUMNS)})")
    coords = {c: _column(frame[c], name, c) for c in PAIR_COLUMNS}
    for end in ("a", "b"):
        coords[f"{end}_user"] = _endpoint_kind(frame, f"{end}_kind", name)
    return frame, coords


def _endpoint_kind(frame: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """True where the end is a user (the column missing or empty means user)."""
    if column not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    values = frame[column].str.strip().str.lower().replace("", "user")
    bad = ~values.isin(ENDPOINT_KINDS)
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise InputError(name, f"row {i + 2}.{column}", f"must be one of {', '.join(ENDPOINT_KINDS)}, "
                         f"not {frame[column].iloc[i]!r}")
    return (values == "user").to_numpy()


def _column(values: pd.Series, name: str, column: str) -> np.ndarray:
    numbers = pd.to_numeric(values.str.strip(), errors="coerce").to_numpy(dtype=float)
    limit = 90.0 if column.endswith("lat") else 180.0
    bad = ~np.isfinite(numbers) | (np.abs(numbers) > limit)
    if bad.any():
        i = int(np.argmax(bad))
        why = "not a number" if not np.isfinite(numbers[i]) else f"outside [-{limit:g}, {limit:g}]"
        raise InputError(name, f"row {i + 2}.{column}", f"{why}: {values.iloc[i]!r}")  # row 1 = header
    return numbers
