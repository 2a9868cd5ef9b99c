"""Failures: random faults of systems, corridor events and region outages per sample, and scripted events.

Random failures follow DESIGN §9. A fault hits one system on one link (a *segment*: the stretch of a cable
system or terrestrial route that carries that link), as a Poisson process with a rate proportional to the
link's length (submarine cables: about 0.1 faults per 1000 km per year, ICPC), repaired after a lognormal
time; the link loses that system's capacity and leaves the graph only when all its systems are down.
A corridor event (the 2006 Hengchun earthquake in the Luzon Strait, the 2024 Red Sea cuts) takes down
every system in one corridor at once, rarely, for weeks to months. Regions go dark rarely, for hours.
Each sample's whole failure timeline is drawn up front as arrays (DESIGN §10), so the event calendar
only replays it.

Scripted events are the "what if" of a scenario: cut a link, a named system or a whole corridor on this
date for five months, take this region dark for 14 hours.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sim.config import StrictModel

Z90 = 1.2815515655446004  # standard normal 90th percentile
DAYS_PER_YEAR = 365.25


class FailureConfig(StrictModel):
    """Random failures; every rate and duration with its source (demand_params.yaml `availability`)."""

    enabled: bool = True
    # ICPC: 150-200 faults/yr over ~1.7 M km of cable => 0.09-0.12 per 1000 km-year (confidence medium)
    submarine_faults_per_1000km_year: float = Field(default=0.1, ge=0)
    # (assumption) terrestrial long-haul fibre: cut as often per km as submarine, repaired far faster
    terrestrial_faults_per_1000km_year: float = Field(default=0.1, ge=0)
    # SubTel Forum / ICPC: lognormal repair, median 14 days, P90 35 days (researcher calibration, low)
    submarine_repair_days_median: float = Field(default=14.0, gt=0)
    submarine_repair_days_p90: float = Field(default=35.0, gt=0)
    # (assumption) terrestrial splice crews: median half a day, P90 two days
    terrestrial_repair_days_median: float = Field(default=0.5, gt=0)
    terrestrial_repair_days_p90: float = Field(default=2.0, gt=0)
    # region-wide event 0.05-0.1 per region-year, 2-15 h (researcher calibration to SLAs, low)
    region_outages_per_year: float = Field(default=0.075, ge=0)
    region_outage_hours_median: float = Field(default=3.0, gt=0)
    region_outage_hours_p90: float = Field(default=14.0, gt=0)
    # Corridor events (every system in one corridor at once), per corridor-year (assumption, counted): three
    # multi-system events in the busiest chokepoints in about 20 years over about 10 such corridors, Luzon
    # Strait 2006 (8 systems), off Alexandria 2008 (SMW4, FLAG), Red Sea 2024 (3 systems): 3 / 200 = 0.015.
    corridor_events_per_year: float = Field(default=0.015, ge=0)
    # Repair of a corridor event: the Hengchun cuts took about seven weeks with 11 ships (2006), the Red Sea
    # cuts of 2024-02-24 about 4.7 months (AAE-1 back in July): lognormal, median 60 days, P90 150 days
    # (assumption spanning the two).
    corridor_repair_days_median: float = Field(default=60.0, gt=0)
    corridor_repair_days_p90: float = Field(default=150.0, gt=0)

    @model_validator(mode="after")
    def _p90_above_median(self) -> "FailureConfig":
        for kind in ("submarine_repair_days", "terrestrial_repair_days", "region_outage_hours",
                     "corridor_repair_days"):
            if getattr(self, f"{kind}_p90") < getattr(self, f"{kind}_median"):
                raise ValueError(f"{kind}_p90 must be >= {kind}_median")
        return self


class EventConfig(StrictModel):
    """A scripted failure: `link_cut` of links 'a~b' (every system on them), `system_cut` of named
    systems (on every link they carry), `corridor_cut` of named corridors (every system in them) or
    `region_outage` of region ids."""

    kind: Literal["link_cut", "system_cut", "corridor_cut", "region_outage"]
    targets: list[str] = Field(min_length=1)
    start: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")  # YYYY-MM[-DD]
    duration_days: float | None = Field(default=None, gt=0)
    duration_months: float | None = Field(default=None, gt=0)
    label: str = ""

    @model_validator(mode="after")
    def _one_duration(self) -> "EventConfig":
        if (self.duration_days is None) == (self.duration_months is None):
            raise ValueError("give exactly one of duration_days or duration_months")
        return self

    @property
    def days(self) -> float:
        return self.duration_days if self.duration_days is not None else self.duration_months * DAYS_PER_YEAR / 12


@dataclass
class Outages:
    """Down intervals of one kind of element, flattened over samples: one row per outage."""

    sample: np.ndarray  # int, which sample
    element: np.ndarray  # int, link index or region index
    start_day: np.ndarray  # float, days since horizon start
    end_day: np.ndarray

    @classmethod
    def empty(cls) -> "Outages":
        return cls(np.zeros(0, int), np.zeros(0, int), np.zeros(0), np.zeros(0))

    def __len__(self) -> int:
        return len(self.sample)


def lognormal_sigma(median: float, p90: float) -> float:
    """Sigma of a lognormal with the given median and 90th percentile."""
    return math.log(p90 / median) / Z90


def poisson_outages(rng: np.random.Generator, rate_per_year: np.ndarray, horizon_days: float,
                    samples: int, repair_median_days: np.ndarray, repair_sigma: np.ndarray) -> Outages:
    """Draw every outage of every element in every sample: Poisson arrivals, lognormal repairs.

    ``rate_per_year``, ``repair_median_days`` and ``repair_sigma`` are per element. Counts are drawn
    per (sample, element) at once; arrival days are uniform over the horizon given the count, which is
    the Poisson process. Overlapping outages of one element simply overlap (it stays down).
    """
    rate = np.asarray(rate_per_year, float)
    counts = rng.poisson(np.broadcast_to(rate * horizon_days / DAYS_PER_YEAR, (samples, rate.size)))
    sample, element = np.nonzero(counts)
    repeats = counts[sample, element]
    sample, element = np.repeat(sample, repeats), np.repeat(element, repeats)
    start = rng.uniform(0.0, horizon_days, size=sample.size)
    median = np.asarray(repair_median_days, float)[element]
    sigma = np.asarray(repair_sigma, float)[element]
    duration = median * np.exp(sigma * rng.standard_normal(sample.size))
    return Outages(sample, element, start, start + duration)


def random_link_outages(cfg: FailureConfig, rng: np.random.Generator, length_km: np.ndarray,
                        submarine: np.ndarray, horizon_days: float, samples: int) -> Outages:
    """Random faults of every element (a link, or a segment: one system on one link) of the given
    lengths and kinds, in every sample."""
    if not cfg.enabled or length_km.size == 0:
        return Outages.empty()
    per_km = np.where(submarine, cfg.submarine_faults_per_1000km_year, cfg.terrestrial_faults_per_1000km_year)
    median = np.where(submarine, cfg.submarine_repair_days_median, cfg.terrestrial_repair_days_median)
    sigma = np.where(submarine,
                     lognormal_sigma(cfg.submarine_repair_days_median, cfg.submarine_repair_days_p90),
                     lognormal_sigma(cfg.terrestrial_repair_days_median, cfg.terrestrial_repair_days_p90))
    return poisson_outages(rng, per_km * length_km / 1000.0, horizon_days, samples, median, sigma)


def random_corridor_events(cfg: FailureConfig, rng: np.random.Generator, n_corridors: int,
                           horizon_days: float, samples: int) -> Outages:
    """Random corridor events (every system of one corridor down at once) in every sample."""
    if not cfg.enabled or n_corridors == 0:
        return Outages.empty()
    rate = np.full(n_corridors, cfg.corridor_events_per_year)
    median = np.full(n_corridors, cfg.corridor_repair_days_median)
    sigma = np.full(n_corridors, lognormal_sigma(cfg.corridor_repair_days_median, cfg.corridor_repair_days_p90))
    return poisson_outages(rng, rate, horizon_days, samples, median, sigma)


def random_region_outages(cfg: FailureConfig, rng: np.random.Generator, n_regions: int,
                          horizon_days: float, samples: int) -> Outages:
    """Random whole-region outages (a region dark for hours) in every sample."""
    if not cfg.enabled or n_regions == 0:
        return Outages.empty()
    rate = np.full(n_regions, cfg.region_outages_per_year)
    median = np.full(n_regions, cfg.region_outage_hours_median / 24.0)
    sigma = np.full(n_regions, lognormal_sigma(cfg.region_outage_hours_median, cfg.region_outage_hours_p90))
    return poisson_outages(rng, rate, horizon_days, samples, median, sigma)
