"""Great circles, the fibre floor and the land/sea rule (sim.model.geo)."""
import math

import numpy as np
from hypothesis import given, settings, strategies as st

from sim.model.geo import (C_KM_PER_MS, EARTH_RADIUS_KM, FIBRE_INDEX, fibre_floor_rtt_ms, great_circle_km,
                           great_circle_points, mean_position, on_land, path_kind, sea_share)

lats = st.floats(-90, 90)
lons = st.floats(-180, 180)


def test_great_circle_known_distances():
    quarter_meridian = math.pi / 2 * EARTH_RADIUS_KM
    assert math.isclose(great_circle_km(0, 0, 90, 0), quarter_meridian, rel_tol=1e-12)
    assert math.isclose(great_circle_km(0, 0, 0, 1), 2 * math.pi * EARTH_RADIUS_KM / 360, rel_tol=1e-12)
    assert math.isclose(great_circle_km(0, 179.5, 0, -179.5), great_circle_km(0, 0, 0, 1), rel_tol=1e-9)
    assert great_circle_km(10, 20, 10, 20) == 0


def test_great_circle_is_vectorised():
    km = great_circle_km(np.zeros(3), np.zeros(3), np.array([0, 0, 90]), np.array([1, 2, 0]))
    assert km.shape == (3,) and km[1] > km[0]


@settings(max_examples=60, deadline=None)
@given(lats, lons, lats, lons)
def test_great_circle_symmetric_and_bounded(a_lat, a_lon, b_lat, b_lon):
    d = great_circle_km(a_lat, a_lon, b_lat, b_lon)
    assert math.isclose(d, great_circle_km(b_lat, b_lon, a_lat, a_lon), abs_tol=1e-6)
    assert 0 <= d <= math.pi * EARTH_RADIUS_KM + 1e-6


def test_fibre_floor_value():
    # 1000 km there and back at c / 1.468: 2000 / (299.792458 / 1.468) ms
    assert FIBRE_INDEX == 1.468 and C_KM_PER_MS == 299.792458
    assert math.isclose(fibre_floor_rtt_ms(1000.0), 2000 * 1.468 / 299.792458)
    assert math.isclose(fibre_floor_rtt_ms(1000.0), 9.7934, rel_tol=1e-4)


def test_points_lie_on_the_great_circle():
    lat, lon = great_circle_points(0.0, 0.0, 0.0, 90.0, samples=4)
    assert np.allclose(lat, 0, atol=1e-9) and np.allclose(lon, [11.25, 33.75, 56.25, 78.75])


def test_mean_position_across_the_antimeridian():
    lat, lon = mean_position([0.0, 0.0], [179.0, -179.0])
    assert abs(lat) < 1e-9 and abs(abs(lon) - 180.0) < 1e-9


def test_land_and_sea_points():
    # Central Europe, the Sahara and Siberia are land; mid-Atlantic and mid-Pacific are sea
    assert on_land([50, 23, 60], [10, 10, 100]).all()
    assert not on_land([30, 0], [-40, -150]).any()


def test_path_kinds():
    # New York - London crosses the Atlantic; Beijing - Frankfurt runs over Eurasia
    kinds = path_kind([40.71, 39.9], [-74.0, 116.41], [51.51, 50.11], [-0.13, 8.68])
    assert list(kinds) == ["submarine", "terrestrial"]
    assert 0.6 < sea_share(40.71, -74.0, 51.51, -0.13)[0] < 0.9  # Newfoundland and Ireland are land


def test_path_kind_remembers_each_pair(monkeypatch):
    """Kinds are a pure function of the two points: a second call on known pairs (in any order, with
    repeats) answers from the memo and equals the first; a new pair alone is classified."""
    from sim.model import geo

    lat1, lon1, lat2, lon2 = [40.71, 39.9, 1.35], [-74.0, 116.41, 103.82], [51.51, 50.11, 35.68], [-0.13, 8.68, 139.69]
    monkeypatch.setattr(geo, "_KINDS", {})
    first = geo.path_kind(lat1, lon1, lat2, lon2)
    share = geo.sea_share(lat1, lon1, lat2, lon2)
    assert first.tolist() == np.where(share > geo.SUBMARINE_SEA_SHARE, "submarine", "terrestrial").tolist()
    asked = []
    real = geo.sea_share
    monkeypatch.setattr(geo, "sea_share", lambda *a: asked.append(len(a[0])) or real(*a))
    again = geo.path_kind(lat1[::-1] + lat1, lon1[::-1] + lon1, lat2[::-1] + lat2, lon2[::-1] + lon2)
    assert again.tolist() == first.tolist()[::-1] + first.tolist() and asked == []
    assert geo.path_kind([48.86, 40.71], [2.35, -74.0], [52.37, 51.51], [4.9, -0.13]).tolist() == [
        "terrestrial", "submarine"] and asked == [1]
