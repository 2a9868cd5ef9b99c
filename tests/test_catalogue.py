"""The region catalogue: the reported 2025 baseline (29 regions, 91 zones) and the announced sites."""
from __future__ import annotations

import pytest

from sim.errors import InputError
from sim.model.catalogue import FootprintConfig, MarketsConfig, load_footprint, load_markets

ANNOUNCED_COUNTRIES = {"Brazil", "France", "Netherlands", "Mexico", "Japan", "South Korea", "Malaysia",
                       "United Arab Emirates"}


def test_baseline_is_29_regions_and_91_zones():
    regions, _ = load_footprint(FootprintConfig())
    existing = [r for r in regions if r.status == "existing"]
    assert len(existing) == 29
    assert sum(r.zones for r in existing) == 91
    assert sum(r.country.startswith("China") for r in existing) == 14  # "14 of which are in China"


def test_every_announced_country_has_a_new_site_with_an_opening_month():
    regions, expansions = load_footprint(FootprintConfig())
    by_id = {r.id: r for r in regions}
    new = [(r.country, r.opens) for r in regions if r.status == "new"]
    new += [(by_id[e.region_id].country, e.opens) for e in expansions]
    assert {c for c, _ in new} == ANNOUNCED_COUNTRIES
    assert all(opens and len(opens) == 7 for _, opens in new)


def test_capacity_is_zones_times_mw_per_zone():
    regions, _ = load_footprint(FootprintConfig(mw_per_zone=40))
    assert all(r.capacity_mw == pytest.approx(40 * r.zones) for r in regions)


def test_without_new_sites_only_the_baseline_remains():
    regions, expansions = load_footprint(FootprintConfig(new_sites=False))
    assert len(regions) == 29 and not expansions


def test_include_adds_an_excluded_region_and_unknown_ids_are_refused():
    regions, _ = load_footprint(FootprintConfig(include=["cn-zhongwei"]))
    assert "cn-zhongwei" in {r.id for r in regions}
    with pytest.raises(InputError, match="footprint.exclude"):
        load_footprint(FootprintConfig(exclude=["xx-nowhere-1"]))


def test_markets_weights_sum_to_one_and_follow_the_published_split():
    markets = load_markets(MarketsConfig())
    assert sum(m.weight for m in markets) == pytest.approx(1.0)
    bloc = {}
    for m in markets:
        bloc[m.bloc] = bloc.get(m.bloc, 0.0) + m.weight
    assert bloc["north_america"] == pytest.approx(0.46, abs=1e-5)
    assert bloc["china"] == pytest.approx(0.28, abs=1e-5)
