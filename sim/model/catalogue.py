"""The footprint: regions (sites), announced new zones, and the markets where demand comes from.

The packaged catalogue ``sim/data/alibaba_regions.csv`` holds one row per site with its public source.
Rows have a ``status``: ``existing`` (the 2025 baseline: 29 regions, 91 zones, as Alibaba reported at
Apsara 2025), ``new`` (announced; opens on ``opens``), ``excluded`` or ``closed`` (left out unless a
scenario asks for them with ``footprint.include``). ``kind`` is ``region`` for a site of its own or
``zones`` for zones added to an existing region (the announced "more data centres in Japan, ..."):
those become capacity deliveries to the parent region rather than new nodes.
SOURCES.md in the data folder explains how the researched rows were reconciled to 29 / 91.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, PositiveFloat

from sim.config import Month, StrictModel
from sim.errors import InputError

DEFAULT_MW_PER_ZONE = 30.0  # MW of IT load per availability zone (DESIGN §3, assumption)
CATALOGUE_COLUMNS = ("region_id", "city", "country", "lat", "lon", "zones", "status", "opens", "kind")
MARKET_COLUMNS = ("market_id", "name", "bloc", "lat", "lon", "weight")


@dataclass(frozen=True)
class Region:
    """A site of the footprint: a graph node that serves demand."""

    id: str
    city: str
    country: str
    lat: float
    lon: float
    zones: int
    status: str  # 'existing' | 'new'
    opens: str | None  # 'YYYY-MM' for a new region; None = open from the start of the horizon
    capacity_mw: float  # IT capacity at opening
    source: str = ""


@dataclass(frozen=True)
class Expansion:
    """Zones added to an existing region on a date: a capacity delivery, not a new node."""

    id: str
    region_id: str
    zones: int
    opens: str
    capacity_mw: float
    source: str = ""


@dataclass(frozen=True)
class Market:
    """A demand centre: where users and their AI demand are."""

    id: str
    name: str
    bloc: str
    lat: float
    lon: float
    weight: float  # share of the operator's demand before bloc shares; weights sum to 1


class RegionOverride(StrictModel):
    """Per-region changes to the catalogue row."""

    zones: int | None = Field(default=None, ge=1)
    capacity_mw: float | None = Field(default=None, ge=0)
    opens: Month | None = None


class NewSite(StrictModel):
    """A site the user adds (a candidate region, say)."""

    id: str
    city: str = ""
    country: str = ""
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    zones: int = Field(default=2, ge=1)
    opens: Month | None = None
    capacity_mw: float | None = Field(default=None, ge=0)


class FootprintConfig(StrictModel):
    """Which sites the run simulates."""

    catalogue: Literal["alibaba"] | FilePath = "alibaba"
    mw_per_zone: PositiveFloat = DEFAULT_MW_PER_ZONE
    new_sites: bool = True
    include: list[str] = []
    exclude: list[str] = []
    overrides: dict[str, RegionOverride] = {}
    add: list[NewSite] = []


class MarketsConfig(StrictModel):
    """Where demand comes from; weights are renormalised to sum to 1."""

    catalogue: Literal["default"] | FilePath = "default"
    weights: dict[str, float] = {}


def _data_path(name: str) -> Path:
    return Path(str(resources.files("sim") / "data" / name))


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(str(path), "", f"cannot read CSV ({err})") from None
    missing = [c for c in required if rows and c not in rows[0]] or ([] if rows else ["rows"])
    if missing:
        raise InputError(str(path), "", f"missing column(s) {', '.join(missing)}")
    return rows


def _number(path: Path, row: int, row_data: dict, column: str, cast=float):
    try:
        return cast(row_data[column])
    except (TypeError, ValueError):
        raise InputError(str(path), f"row {row}.{column}", f"not a number: {row_data[column]!r}") from None


def catalogue_rows(cfg: FootprintConfig) -> tuple[Path, list[dict[str, str]]]:
    path = _data_path("alibaba_regions.csv") if cfg.catalogue == "alibaba" else Path(cfg.catalogue)
    return path, _read_csv(path, CATALOGUE_COLUMNS)


def _wanted(row: dict[str, str], cfg: FootprintConfig) -> bool:
    rid, status = row["region_id"], row["status"]
    if rid in cfg.exclude or rid.split("+")[0] in cfg.exclude:
        return False
    if status == "existing":
        return True
    if status == "new":
        return cfg.new_sites
    return rid in cfg.include


def _capacity_mw(zones: int, cfg: FootprintConfig, override: RegionOverride | None) -> float:
    if override is not None and override.capacity_mw is not None:
        return override.capacity_mw
    return zones * cfg.mw_per_zone


def load_footprint(cfg: FootprintConfig) -> tuple[list[Region], list[Expansion]]:
    """Regions (graph nodes) and expansions (zones added later to a region) of a scenario."""
    path, rows = catalogue_rows(cfg)
    _check_names(cfg, rows, path)
    regions, expansions = [], []
    for i, row in enumerate(rows, start=2):  # row 1 is the header
        if not _wanted(row, cfg):
            continue
        override = cfg.overrides.get(row["region_id"])
        zones = override.zones if override and override.zones else _number(path, i, row, "zones", int)
        opens = (override.opens if override and override.opens else row["opens"]) or None
        capacity_mw = _capacity_mw(zones, cfg, override)
        if row.get("kind", "region") == "zones":
            expansions.append(Expansion(row["region_id"], row["region_id"].split("+")[0], zones,
                                        opens or "", capacity_mw, row.get("source", "")))
            continue
        regions.append(Region(row["region_id"], row["city"], row["country"],
                              _number(path, i, row, "lat"), _number(path, i, row, "lon"), zones,
                              "existing" if row["status"] in ("existing", "excluded", "closed") else "new",
                              opens if row["status"] == "new" else None, capacity_mw,
                              row.get("source", "")))
    regions += [_new_site(site, cfg) for site in cfg.add]
    _check_unique(regions, path)
    return regions, [e for e in expansions if any(r.id == e.region_id for r in regions)]


def load_regions(cfg: FootprintConfig) -> list[Region]:
    """The graph nodes of a scenario's footprint, in catalogue order."""
    return load_footprint(cfg)[0]


def _new_site(site: NewSite, cfg: FootprintConfig) -> Region:
    capacity_mw = site.capacity_mw if site.capacity_mw is not None else site.zones * cfg.mw_per_zone
    return Region(site.id, site.city or site.id, site.country, site.lat, site.lon, site.zones,
                  "new" if site.opens else "existing", site.opens, capacity_mw, "added by the scenario")


def _check_names(cfg: FootprintConfig, rows: list[dict[str, str]], path: Path) -> None:
    known = {r["region_id"] for r in rows} | {r["region_id"].split("+")[0] for r in rows}
    for field, names in (("include", cfg.include), ("exclude", cfg.exclude), ("overrides", cfg.overrides)):
        unknown = sorted(set(names) - known)
        if unknown:
            raise InputError("<scenario>", f"footprint.{field}", f"unknown region id(s) {', '.join(unknown)} "
                             f"(catalogue {path.name})")


def _check_unique(regions: list[Region], path: Path) -> None:
    seen: set[str] = set()
    for region in regions:
        if region.id in seen:
            raise InputError("<scenario>", "footprint", f"region id {region.id!r} appears twice")
        seen.add(region.id)


def load_markets(cfg: MarketsConfig) -> list[Market]:
    """Demand centres with weights renormalised to sum to 1 (after any overrides)."""
    path = _data_path("markets.csv") if cfg.catalogue == "default" else Path(cfg.catalogue)
    rows = _read_csv(path, MARKET_COLUMNS)
    unknown = sorted(set(cfg.weights) - {r["market_id"] for r in rows})
    if unknown:
        raise InputError("<scenario>", "markets.weights", f"unknown market id(s) {', '.join(unknown)}")
    markets = []
    for i, row in enumerate(rows, start=2):
        weight = cfg.weights.get(row["market_id"], _number(path, i, row, "weight"))
        if weight < 0:
            raise InputError(str(path), f"row {i}.weight", "must be >= 0")
        markets.append(Market(row["market_id"], row["name"], row["bloc"], _number(path, i, row, "lat"),
                              _number(path, i, row, "lon"), weight))
    total = sum(m.weight for m in markets)
    if total <= 0:
        raise InputError(str(path), "weight", "market weights sum to zero")
    return [Market(m.id, m.name, m.bloc, m.lat, m.lon, m.weight / total) for m in markets]


def footprint_table(regions: list[Region], expansions: list[Expansion]) -> list[dict]:
    """One row per site and per announced expansion, for `infrasim regions`."""
    rows = [dict(region=r.id, city=r.city, country=r.country, zones=r.zones, status=r.status,
                 opens=r.opens or "", capacity_mw=r.capacity_mw) for r in regions]
    by_id = {r.id: r for r in regions}
    rows += [dict(region=e.id, city=by_id[e.region_id].city, country=by_id[e.region_id].country,
                  zones=e.zones, status="new zones", opens=e.opens, capacity_mw=e.capacity_mw)
             for e in expansions]
    return rows
