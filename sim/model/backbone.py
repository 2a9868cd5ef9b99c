"""The backbone's facts: which cable systems and routes join which regions, and the rule over land.

A default backbone is built from two sources (DESIGN §3):

1. **The table** ``sim/data/backbone.csv`` (or a user's file in the same format, ``topology.backbone``):
   one row per region-to-region link with its ``kind`` (from what carries it), the named ``systems``
   (``;``-separated), the ``corridors`` it passes (shared-risk groups: Luzon Strait, Red Sea / Suez,
   trans-Pacific ...), an optional ``via`` route and a ``source`` per row. The named systems are
   described, each with its own source, in ``sim/data/systems.csv``. A row whose two regions are not
   both in the footprint is skipped, so the table can cover regions a scenario may add
   (``footprint.include``).
2. **The rule over land**: regions in the same *land group* (countries joined by terrestrial fibre, see
   :data:`LAND_GROUPS`) are joined by a terrestrial route of their own (a system named after the link)
   to their ``k`` nearest group-mates, and to every group-mate they are *Gabriel neighbours* of (no
   third site of the group lies inside the circle whose diameter is the pair: the neighbours in every
   direction, so a cluster of sites is not tied to the rest of its country through one site). Nothing
   crosses a sea by this rule: a country is grouped only with countries it shares land with, and a
   same-group pair whose great circle is mostly over sea (Natural Earth 1:110m) needs a table row.

Route geometry. ``via`` lists ``lat lon`` points separated by ``;``. Its first and last points are the
cable landings: the legs from region ``a`` to the first point and from the last point to region ``b`` are
terrestrial backhaul, the legs between via points are submarine. Without ``via`` a submarine row runs
straight between the two regions (both coastal) and a terrestrial row runs over land along the great
circle. A link's modelled fibre length is ``terrestrial_km x route_factor_terrestrial + submarine_km x
route_factor_submarine`` (:mod:`sim.model.latency`), with the factors fitted to measured round trips
along the graph (:mod:`sim.validation.calibration`).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.model.geo import great_circle_km, sea_share

BACKBONE_COLUMNS = ("a", "b", "kind", "systems", "corridors", "via", "source")
SYSTEM_COLUMNS = ("system", "kind", "ready", "length_km", "landings", "source")
KINDS = ("terrestrial", "submarine")
OVERLAND_MAX_SEA_SHARE = 0.5  # a same-group pair mostly over sea is not joined by the rule (needs a cable row)

# Countries whose regions are joined over land, by group; a country not listed is a group of its own.
# Each group is one land mass with terrestrial fibre across its borders (geography, not a number):
LAND_GROUPS: dict[str, str] = {
    # mainland China and Hong Kong SAR: cross-boundary fibre between Hong Kong and Shenzhen / Guangdong
    "China": "china", "China (Hong Kong SAR)": "china",
    # the Malay peninsula and Thailand: the Johor - Singapore causeway and the Malaysia - Thailand border
    "Singapore": "malay-peninsula", "Malaysia": "malay-peninsula", "Thailand": "malay-peninsula",
    # the Arabian peninsula: the UAE - Saudi Arabia border
    "United Arab Emirates": "arabia", "Saudi Arabia": "arabia", "Oman": "arabia", "Qatar": "arabia",
    "Kuwait": "arabia", "Bahrain": "arabia",
    # continental western Europe (Great Britain and Ireland are islands: their links need table rows)
    "France": "europe", "Germany": "europe", "Netherlands": "europe", "Belgium": "europe",
    "Luxembourg": "europe", "Switzerland": "europe", "Austria": "europe", "Spain": "europe",
    "Portugal": "europe", "Italy": "europe", "Poland": "europe", "Denmark": "europe", "Sweden": "europe",
    "Norway": "europe", "Finland": "europe", "Czech Republic": "europe",
    # North America: the US - Mexico and US - Canada borders
    "United States": "north-america", "Mexico": "north-america", "Canada": "north-america",
}


# Continent of a country (geography; the continent test and the validation's "stays on its continent").
CONTINENTS: dict[str, str] = {
    **{c: "Asia" for c in ("China", "China (Hong Kong SAR)", "Japan", "South Korea", "Singapore", "Malaysia",
                           "Indonesia", "Philippines", "Thailand", "Vietnam", "India", "United Arab Emirates",
                           "Saudi Arabia", "Qatar", "Oman", "Bahrain", "Kuwait", "Israel", "Taiwan")},
    **{c: "Europe" for c in ("Germany", "United Kingdom", "France", "Netherlands", "Belgium", "Ireland",
                             "Spain", "Portugal", "Italy", "Switzerland", "Austria", "Poland", "Sweden",
                             "Norway", "Finland", "Denmark")},
    **{c: "North America" for c in ("United States", "Mexico", "Canada")},
    **{c: "South America" for c in ("Brazil", "Chile", "Argentina", "Colombia")},
    **{c: "Oceania" for c in ("Australia", "New Zealand")},
    **{c: "Africa" for c in ("South Africa", "Egypt", "Kenya", "Nigeria")},
}


@dataclass(frozen=True)
class LinkSpec:
    """One link of the backbone, before latency parameters turn its route into milliseconds."""

    a: str
    b: str
    kind: str  # 'terrestrial' | 'submarine': what carries it
    systems: tuple[str, ...]  # named systems, or the link's own route for rule links
    corridors: tuple[str, ...]
    terrestrial_km: float  # great-circle km of the route's legs over land
    submarine_km: float  # great-circle km of the route's legs at sea
    origin: str  # 'table' | 'overland' | 'graphml' | 'joined'
    source: str = ""


def backbone_path() -> Path:
    return Path(str(resources.files("sim") / "data" / "backbone.csv"))


def systems_path() -> Path:
    return Path(str(resources.files("sim") / "data" / "systems.csv"))


def land_group(country: str) -> str:
    """The land group of a country (its own name when it is not grouped)."""
    return LAND_GROUPS.get(country.strip(), country.strip())


# ------------------------------------------------------------------------------------------- routes

def _parse_via(text: str, path: str, row: int) -> list[tuple[float, float]]:
    points = []
    for k, item in enumerate(p for p in text.split(";") if p.strip()):
        parts = item.split()
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            raise InputError(path, f"row {row}.via", f"point {k + 1} is not 'lat lon': {item.strip()!r}") from None
        if len(parts) != 2 or not (abs(lat) <= 90 and abs(lon) <= 180):
            raise InputError(path, f"row {row}.via", f"point {k + 1} is not 'lat lon' in degrees: {item.strip()!r}")
        points.append((lat, lon))
    return points


def route_km(a: tuple[float, float], b: tuple[float, float], kind: str,
             via: list[tuple[float, float]]) -> tuple[float, float]:
    """(terrestrial km, submarine km) of a route from ``a`` through ``via`` to ``b`` (great-circle legs).

    With via points the first and last legs are terrestrial backhaul to the landings and the legs
    between them submarine; without, the whole great circle is of the link's kind.
    """
    if not via:
        km = float(great_circle_km(a[0], a[1], b[0], b[1]))
        return (km, 0.0) if kind == "terrestrial" else (0.0, km)
    points = np.array([a, *via, b], dtype=float)
    legs = great_circle_km(points[:-1, 0], points[:-1, 1], points[1:, 0], points[1:, 1])
    return float(legs[0] + legs[-1]), float(legs[1:-1].sum())


# -------------------------------------------------------------------------------------------- table

def _read_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    name = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(name, "", f"missing column(s) {', '.join(missing)} (need {', '.join(columns)})")
            return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(name, "", f"cannot read CSV ({err})") from None


def load_backbone(positions: dict[str, tuple[float, float]], path: Path | None = None) -> list[LinkSpec]:
    """The table's links whose two ends are in ``positions`` (region id -> (lat, lon)), validated.

    Bad rows are refused with ``FILE: row N.field: reason``: an unknown kind, a link to itself, a row
    without systems or source, a malformed via point, the same pair twice.
    """
    path = Path(path) if path is not None else backbone_path()
    name, seen, links = str(path), set(), []
    for row_no, row in enumerate(_read_rows(path, BACKBONE_COLUMNS), start=2):  # row 1 is the header
        a, b, kind = row["a"], row["b"], row["kind"]
        where = f"row {row_no}"
        if kind not in KINDS:
            raise InputError(name, f"{where}.kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
        if not a or not b or a == b:
            raise InputError(name, f"{where}.b", f"a link needs two different regions (a={a!r}, b={b!r})")
        systems = tuple(s.strip() for s in row["systems"].split(";") if s.strip())
        if not systems:
            raise InputError(name, f"{where}.systems", "names no system (cable systems or terrestrial routes)")
        if len(set(systems)) != len(systems):
            raise InputError(name, f"{where}.systems", "names a system twice")
        if not row["source"]:
            raise InputError(name, f"{where}.source", "every row needs a source")
        pair = frozenset((a, b))
        if pair in seen:
            raise InputError(name, f"{where}.b", f"the pair {a} - {b} is listed twice")
        seen.add(pair)
        via = _parse_via(row["via"], name, row_no)
        if a not in positions or b not in positions:
            continue
        t_km, s_km = route_km(positions[a], positions[b], kind, via)
        corridors = tuple(c.strip() for c in row["corridors"].split(";") if c.strip())
        links.append(LinkSpec(a, b, kind, systems, corridors, t_km, s_km, "table", row["source"]))
    return links


def load_systems(path: Path | None = None) -> dict[str, dict[str, str]]:
    """The named systems of the packaged table, by name (kind, ready year, length, landings, source)."""
    path = Path(path) if path is not None else systems_path()
    rows = _read_rows(path, SYSTEM_COLUMNS)
    return {row["system"]: row for row in rows}


def system_kinds(links: list[LinkSpec], systems: dict[str, dict[str, str]]) -> dict[str, str]:
    """Kind of every system on ``links``: its row in the systems table, else the kind of its link."""
    kinds: dict[str, str] = {}
    for link in links:
        for name in link.systems:
            kinds.setdefault(name, systems.get(name, {}).get("kind") or link.kind)
    return kinds


# ------------------------------------------------------------------------------------ rule over land

def gabriel_pairs(dist_km: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """``[n, n]`` bool: candidate pairs (i, j) with no third candidate-connected site k inside the circle
    whose diameter is i - j (d(i,k)^2 + d(j,k)^2 < d(i,j)^2, distances along the sphere)."""
    d2 = np.where(np.isfinite(dist_km), dist_km, 0.0) ** 2
    inside = (d2[:, None, :] + d2[None, :, :]) < d2[:, :, None]  # [i, j, k]
    third = candidate[:, None, :] & candidate[None, :, :]  # k in the group of both
    return candidate & ~(inside & third).any(axis=2)


def overland_links(ids: list[str], lat: np.ndarray, lon: np.ndarray, countries: list[str], k: int,
                   linked: set[frozenset]) -> list[LinkSpec]:
    """Terrestrial links of the rule: each region to its ``k`` nearest regions of the same land group
    and to its Gabriel neighbours in the group, over pairs whose great circle is not mostly over sea,
    where the table has no link for the pair yet."""
    n = len(ids)
    if n < 2 or k < 1:
        return []
    # a site without a country joins no group: only table rows (or the joining of pieces) reach it
    groups = np.array([land_group(c) if c.strip() else f"\0site {i}" for i, c in enumerate(countries)])
    dist = great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    candidate = (groups[:, None] == groups[None, :]) & ~np.eye(n, dtype=bool)
    i_idx, j_idx = np.nonzero(np.triu(candidate))
    if i_idx.size:
        over_sea = sea_share(lat[i_idx], lon[i_idx], lat[j_idx], lon[j_idx]) > OVERLAND_MAX_SEA_SHARE
        candidate[i_idx[over_sea], j_idx[over_sea]] = False
        candidate[j_idx[over_sea], i_idx[over_sea]] = False
    gabriel = gabriel_pairs(dist, candidate)
    dist = np.where(candidate, dist, np.inf)
    pairs: dict[frozenset, tuple[int, int]] = {}
    for i in range(n):
        nearest = [j for j in np.argsort(dist[i], kind="stable")[:k] if np.isfinite(dist[i, j])]
        for j in sorted(set(nearest) | set(np.flatnonzero(gabriel[i]).tolist())):
            pairs.setdefault(frozenset((ids[i], ids[j])), (min(i, j), max(i, j)))
    out = []
    for pair, (i, j) in pairs.items():
        if pair in linked:
            continue
        route = f"{ids[i]}~{ids[j]} (over land)"
        out.append(LinkSpec(ids[i], ids[j], "terrestrial", (route,), (), float(dist[i, j]), 0.0, "overland",
                            f"rule over land: land group {groups[i]!r}"))
    return out
