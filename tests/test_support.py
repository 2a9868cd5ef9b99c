"""`infrasim support`: Erlang C staffing by hand and against the request-level SimPy queue, follow-the-sun
routing by language, closures that move only the closed centre's tickets, and the input checks."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.errors import InputError
from sim.model.scenario import scenario_from_dict
from sim.planning.places import place_of, primary_languages
from sim.planning.support import (HOURLY_PROFILE, Params, agents_needed, queue_figures, read_centres,
                                  reference_week, route, support, ticket_language, weekly_profile)
from sim.validation.micro import batch_means, simulate_queue
from test_advise import small_scenario

SAMPLES = 6


@pytest.fixture(scope="module")
def staffing():
    return support(scenario_from_dict(small_scenario()), samples=SAMPLES)


def test_a_staffing_case_computed_by_hand():
    """100 contacts an hour of 6 minutes: offered load A = 10 Erlangs. Erlang B by the recursion
    B(k) = A B(k-1) / (k + A B(k-1)) gives B(12) = 0.119739, B(13) = 0.084339; Erlang C
    C = c B / (c - A (1 - B)): C(12) = 0.449388, C(13) = 0.285270. The share answered within 60 s is
    1 - C exp(-(c mu - lambda) t) with c mu - lambda = 20 (c = 12) or 30 (c = 13) an hour and t = 1/60 h:
    12 agents 1 - 0.449388 e^(-1/3) = 0.6780 < 0.8, 13 agents 1 - 0.285270 e^(-1/2) = 0.8270 >= 0.8.
    So 13 agents, occupancy 10/13 = 0.769."""
    params = Params(handle_minutes=6.0, service_level=0.8, answer_within_s=60.0)
    agents = agents_needed(np.array([100.0]), params)
    assert agents.tolist() == [13]
    figures = queue_figures(agents, np.array([100.0]), params)
    assert figures["service_level"][0] == pytest.approx(1 - 0.285270 * np.exp(-0.5), abs=1e-5)
    assert figures["occupancy"][0] == pytest.approx(10 / 13)
    assert queue_figures(np.array([12]), np.array([100.0]), params)["service_level"][0] == pytest.approx(
        1 - 0.449388 * np.exp(-1 / 3), abs=1e-5)


@settings(max_examples=60, deadline=None)
@given(lam=st.floats(0.0, 3000.0), minutes=st.floats(1.0, 40.0), level=st.floats(0.5, 0.95),
       within=st.floats(0.0, 300.0))
def test_agents_are_the_fewest_that_meet_the_service_level(lam, minutes, level, within):
    params = Params(handle_minutes=minutes, service_level=level, answer_within_s=within)
    c = int(agents_needed(np.array([lam]), params)[0])
    if lam == 0:
        assert c == 0
        return
    assert queue_figures(np.array([c]), np.array([lam]), params)["service_level"][0] >= level - 1e-9
    if c - 1 > lam / params.service_rate_per_h:  # one agent fewer is still a stable queue...
        assert queue_figures(np.array([c - 1]), np.array([lam]), params)["service_level"][0] < level  # ...but misses


@settings(max_examples=30, deadline=None)
@given(lam=st.lists(st.floats(0.0, 2000.0), min_size=2, max_size=6))
def test_more_tickets_never_need_fewer_agents(lam):
    lam = np.sort(np.array(lam))
    assert np.all(np.diff(agents_needed(lam, Params())) >= 0)


def test_staffing_agrees_with_the_request_level_simpy_queue(staffing):
    """The busiest centre-hour of the small scenario, simulated customer by customer with its Erlang C
    staffing: the share answered within 60 s and the mean wait fall inside the simulation's 99 %
    confidence intervals (batch means)."""
    busiest = staffing.hourly.sort_values("tickets_per_hour").iloc[-1]
    lam_per_s, agents = busiest.tickets_per_hour / 3600.0, int(busiest.agents)
    mu_per_s = 1.0 / (Params().handle_minutes * 60.0)
    run = simulate_queue(lam_per_s, agents, 300_000, seed=17, service_rate=mu_per_s, warmup_customers=5_000)
    answered = batch_means((run.waits <= Params().answer_within_s).astype(float))
    waits = batch_means(run.waits)
    assert agents > 3 and answered.relative_half_width < 0.02
    assert answered.contains(busiest.service_level)
    assert waits.contains(busiest.mean_wait_s)
    assert busiest.service_level >= Params().service_level


def test_closing_a_centre_moves_its_tickets_and_nothing_else(staffing):
    """Every ticket the closed centre held goes to another centre or stays unanswered; the others keep
    theirs: the takers' extra tickets plus the newly unanswered ones equal the closed centre's load."""
    last = staffing.centres[staffing.centres.year == staffing.centres.year.max()].set_index("centre_id")
    for closed, rows in staffing.closures.groupby("closed_centre"):
        assert rows.extra_tickets_per_week.sum() == pytest.approx(last.loc[closed, "tickets_per_week"], rel=1e-9)
        assert (rows.extra_tickets_per_week >= -1e-9).all()


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_routing_without_a_centre_changes_only_its_tickets(data):
    M, C, H, L = (data.draw(st.integers(1, 6)), data.draw(st.integers(2, 5)), data.draw(st.integers(1, 24)),
                  data.draw(st.integers(1, 4)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    language = rng.integers(0, L, M)
    speaks = rng.random((C, L)) < 0.6
    distance = rng.random((M, C)) * 1e4
    open_ = rng.random((C, H)) < 0.6
    fallback = speaks[:, 0]
    before = route(language, distance, speaks, open_, fallback)
    closed = data.draw(st.integers(0, C - 1))
    without = open_.copy()
    without[closed] = False
    after = route(language, distance, speaks, without, fallback)
    assert np.all(after[before != closed] == before[before != closed])
    assert not np.any(after == closed)


def test_routing_prefers_the_nearest_open_centre_speaking_the_language():
    speaks = np.array([[True, False], [True, True], [False, True]])  # languages 0 and 1
    distance = np.array([[10.0, 20.0, 1.0]])  # one market, nearest to centre 2
    open_ = np.array([[True, True], [True, False], [True, True]])  # centre 1 shut in hour 1
    fallback = speaks[:, 0]
    assert route(np.array([1]), distance, speaks, open_, fallback).tolist() == [[2, 2]]
    assert route(np.array([0]), distance, speaks, open_, fallback).tolist() == [[0, 0]]
    open_[2] = False  # no open centre speaks language 1 in hour 1: the fallback (language 0) answers
    assert route(np.array([1]), distance, speaks, open_, fallback).tolist() == [[1, 0]]
    open_[:, 1] = False
    assert route(np.array([1]), distance, speaks, open_, fallback).tolist() == [[1, -1]]


def test_languages_and_time_zones_come_from_geonames():
    assert primary_languages("cmn,en-SG,ms-SG,ta-SG,zh-SG") == ("zh", "en", "ms", "ta")
    jakarta, milan = place_of(-6.21, 106.85), place_of(45.46, 9.19)
    assert (jakarta.country_code, jakarta.timezone, jakarta.languages[0]) == ("ID", "Asia/Jakarta", "id")
    assert (milan.country_code, milan.timezone) == ("IT", "Europe/Rome")
    offered = {"zh", "en", "id", "de", "fr"}
    assert ticket_language(milan.languages, offered) == "en"  # Italian is not offered: English, not German
    assert ticket_language(jakarta.languages, offered) == "id"
    assert ticket_language(place_of(1.35, 103.82).languages, offered) == "zh"  # Singapore: Mandarin first


def test_the_daily_cycle_follows_local_time():
    week = reference_week(2027)
    assert week[0] == datetime(2027, 6, 14, tzinfo=timezone.utc) and len(week) == 168  # ISO week 24, Monday
    tokyo = weekly_profile("Asia/Tokyo", week)
    assert tokyo.sum() == pytest.approx(1.0)
    busiest_local = (int(np.argmax(tokyo)) + 9) % 24  # Tokyo is UTC+9, no summer time
    assert HOURLY_PROFILE[busiest_local] == max(HOURLY_PROFILE)
    berlin = weekly_profile("Europe/Berlin", week)  # UTC+2 in June (summer time)
    assert (int(np.argmax(berlin)) + 2) % 24 == busiest_local
    assert tokyo[5 * 24 + 1] < tokyo[1]  # Saturday 10:00 Tokyo is quieter than Monday 10:00


def test_tickets_grow_with_served_demand(staffing):
    markets = staffing.markets
    ratio = markets.tickets_per_week / markets.served_mw
    assert ratio.max() == pytest.approx(ratio.min(), rel=1e-9)  # tickets per MW: one rate everywhere
    assert ratio.iloc[0] == pytest.approx(Params().tickets_per_mw_month * 12 / (365.25 / 7))


def test_new_centres_open_in_their_month(staffing):
    centres = staffing.centres.set_index(["year", "centre_id"])
    assert not centres.loc[(2025, "jakarta"), "in_service"] and centres.loc[(2026, "jakarta"), "in_service"]
    assert centres.loc[(2025, "jakarta"), "tickets_per_week"] == 0


@pytest.mark.parametrize("row, field, reason", [
    ("x,X,Y,91,0,Asia/Jakarta,en,08:00-20:00,Mon-Sun,,new,s", "row 2.lat", "off the globe"),
    ("x,X,Y,1,0,Mars/Olympus,en,08:00-20:00,Mon-Sun,,new,s", "row 2.timezone", "not an IANA time zone"),
    ("x,X,Y,1,0,Asia/Jakarta,,08:00-20:00,Mon-Sun,,new,s", "row 2.languages", "no language"),
    ("x,X,Y,1,0,Asia/Jakarta,en,20:00-08:00,Mon-Sun,,new,s", "row 2.open_local", "opening must come before"),
    ("x,X,Y,1,0,Asia/Jakarta,en,8-20,Mon-Sun,,new,s", "row 2.open_local", "not HH:MM-HH:MM"),
    ("x,X,Y,1,0,Asia/Jakarta,en,08:00-20:00,Fri-Mon,,new,s", "row 2.open_days", "not a day range"),
    ("x,X,Y,1,0,Asia/Jakarta,en,08:00-20:00,Mon-Sun,2026-13,new,s", "row 2.opens", "not a month"),
])
def test_centre_csv_errors_are_one_line(tmp_path, row, field, reason):
    path = tmp_path / "centres.csv"
    path.write_text("centre_id,city,country,lat,lon,timezone,languages,open_local,open_days,opens,status,source\n"
                    + row + "\n")
    with pytest.raises(InputError) as err:
        read_centres(path)
    assert err.value.field == field and reason in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, name", [
    ({"service_level": 1.0}, "--service-level"), ({"handle_minutes": 0.0}, "--handle-minutes"),
    ({"tickets_per_mw_month": -1.0}, "--tickets-per-mw-month"), ({"answer_within_s": float("nan")}, "--answer-within-s"),
])
def test_bad_parameters_are_input_errors(kwargs, name):
    with pytest.raises(InputError) as err:
        support(scenario_from_dict(small_scenario()), samples=2, params=Params(**kwargs))
    assert err.value.file == name


def test_packaged_centres_have_sources():
    centres = read_centres()
    assert {c.id for c in centres} >= {"jakarta", "frankfurt"}
    assert all(c.source for c in centres)
