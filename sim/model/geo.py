"""Geometry on the sphere: great-circle distances, the fibre floor, and land/sea along a path.

Distances use the haversine formula on a sphere of the mean Earth radius R1 = 6371.0088 km
(IUGG / Geodetic Reference System 1980, H. Moritz, Bulletin Geodesique 54, 1980: R1 = (2a + b) / 3).
Light in silica fibre travels at c / n with group index n = 1.468 (Corning SMF-28 single-mode fibre at
1550 nm, effective group index 1.4679-1.4682 in its product information sheet), about 4.9 us per km:
nothing on a fibre network can beat ``fibre_floor_rtt_ms``, the round trip along the great circle.

Whether a path runs over land or sea is judged from Natural Earth's 1:110m land polygons (public domain,
naturalearthdata.com, packaged as ``sim/data/ne_110m_land.geojson``): points sampled along the great
circle are tested with ``matplotlib.path.Path.contains_points``. A path mostly over sea is ``submarine``,
otherwise ``terrestrial``; the same rule classifies backbone links and calibration pairs.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # mean radius R1 (GRS 80 / WGS 84), see module docstring
C_KM_PER_MS = 299792.458 / 1000.0  # speed of light in vacuum: 299 792.458 km/s (SI definition)
FIBRE_INDEX = 1.468  # group index of SMF-28 at 1550 nm (Corning product information), DESIGN §4
LAND_SAMPLES = 32  # points tested per path (1:110m polygons are coarser than 1/32 of most links)
SUBMARINE_SEA_SHARE = 0.5  # a path with more than half of its sample points at sea is submarine


def great_circle_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between points given in degrees (haversine; arrays broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    h = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def fibre_km_per_ms(fibre_index: float = FIBRE_INDEX) -> float:
    """Distance light covers in fibre per millisecond (about 204 km/ms at n = 1.468)."""
    return C_KM_PER_MS / fibre_index


def fibre_one_way_ms(length_km, fibre_index: float = FIBRE_INDEX):
    """One-way propagation delay in ms along ``length_km`` of fibre."""
    return np.asarray(length_km, dtype=float) / fibre_km_per_ms(fibre_index)


def fibre_floor_rtt_ms(km, fibre_index: float = FIBRE_INDEX):
    """Lowest possible round trip over ``km`` of great circle: 2 x km / (c / n)."""
    return 2.0 * fibre_one_way_ms(km, fibre_index)


def _unit_vectors(lat, lon) -> np.ndarray:
    phi, lmb = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)], axis=-1)


def _lat_lon(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.degrees(np.arcsin(np.clip(v[..., 2], -1, 1))), np.degrees(np.arctan2(v[..., 1], v[..., 0]))


def great_circle_points(lat1, lon1, lat2, lon2, samples: int = LAND_SAMPLES):
    """``samples`` points (midpoints of equal steps) along each great circle: arrays [pairs, samples]."""
    a = _unit_vectors(np.atleast_1d(lat1), np.atleast_1d(lon1))
    b = _unit_vectors(np.atleast_1d(lat2), np.atleast_1d(lon2))
    omega = np.arccos(np.clip(np.sum(a * b, axis=-1), -1.0, 1.0))[:, None]
    t = (np.arange(samples) + 0.5) / samples
    sin_omega = np.sin(omega)
    safe = np.where(sin_omega > 1e-12, sin_omega, 1.0)
    wa = np.where(sin_omega > 1e-12, np.sin((1 - t) * omega) / safe, 1 - t)  # slerp weights
    wb = np.where(sin_omega > 1e-12, np.sin(t * omega) / safe, t)
    return _lat_lon(wa[..., None] * a[:, None, :] + wb[..., None] * b[:, None, :])


def mean_position(lats, lons) -> tuple[float, float]:
    """Centre of points on the sphere (mean of unit vectors), robust across the antimeridian."""
    v = _unit_vectors(np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)).sum(axis=0)
    if np.linalg.norm(v) < 1e-12:  # points cancel out (e.g. antipodes): fall back to the first one
        return float(lats[0]), float(lons[0])
    lat, lon = _lat_lon(v)
    return float(lat), float(lon)


def land_geojson_path() -> Path:
    return Path(str(resources.files("sim") / "data" / "ne_110m_land.geojson"))


@lru_cache(maxsize=1)
def _land_polygons() -> tuple[tuple[np.ndarray, object], ...]:
    """(bounding box, matplotlib Path) of each land polygon's outer ring (holes are ignored)."""
    from matplotlib.path import Path as MplPath  # noqa: PLC0415 (import only when needed)

    with open(land_geojson_path(), encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    polygons = []
    for feature in features:
        geometry = feature["geometry"]
        rings = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        for polygon in rings:
            outer = np.asarray(polygon[0], dtype=float)  # (lon, lat) pairs
            box = np.array([outer[:, 0].min(), outer[:, 1].min(), outer[:, 0].max(), outer[:, 1].max()])
            polygons.append((box, MplPath(outer)))
    return tuple(polygons)


def on_land(lat, lon) -> np.ndarray:
    """Boolean array: is each point on land (Natural Earth 1:110m)?"""
    lat, lon = np.broadcast_arrays(np.asarray(lat, dtype=float), np.asarray(lon, dtype=float))
    points = np.stack([lon.ravel(), lat.ravel()], axis=-1)
    land = np.zeros(len(points), dtype=bool)
    for box, path in _land_polygons():
        near = ((points[:, 0] >= box[0]) & (points[:, 0] <= box[2])
                & (points[:, 1] >= box[1]) & (points[:, 1] <= box[3]) & ~land)
        if near.any():
            land[near] = path.contains_points(points[near])
    return land.reshape(lat.shape)


def sea_share(lat1, lon1, lat2, lon2, samples: int = LAND_SAMPLES) -> np.ndarray:
    """Share (0..1) of the great circle between each pair of points that lies over sea."""
    lats, lons = great_circle_points(lat1, lon1, lat2, lon2, samples)
    return 1.0 - on_land(lats, lons).mean(axis=-1)


_KINDS: dict[tuple[float, float, float, float], str] = {}  # (lat1, lon1, lat2, lon2) -> kind
KINDS_KEPT = 200_000  # pairs remembered (about 40 MB); the memo starts afresh beyond that


def path_kind(lat1, lon1, lat2, lon2) -> np.ndarray:
    """'submarine' where more than half of the great circle is over sea, else 'terrestrial' (array).

    The kind is a pure function of the two points, so it is remembered per pair: a backbone rebuilt
    with one more site (``infrasim advise`` builds one per candidate, hundreds per step) tests only its
    new pairs against the land polygons, which were most of the cost of building it."""
    coords = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, dtype=float)) for x in (lat1, lon1, lat2, lon2)))
    flat = [c.ravel() for c in coords]
    keys = list(zip(*(f.tolist() for f in flat)))
    first: dict[tuple, int] = {}  # each pair not known yet -> its first position
    for i, key in enumerate(keys):
        if key not in _KINDS:
            first.setdefault(key, i)
    if first:
        todo = np.fromiter(first.values(), dtype=np.int64, count=len(first))
        share = sea_share(*(f[todo] for f in flat))
        if len(_KINDS) + len(todo) > KINDS_KEPT:
            _KINDS.clear()
        for i, is_sea in zip(todo.tolist(), (share > SUBMARINE_SEA_SHARE).tolist()):
            _KINDS[keys[i]] = "submarine" if is_sea else "terrestrial"
    return np.array([_KINDS[key] for key in keys], dtype="<U11").reshape(coords[0].shape)
