"""The request-level SimPy models of sim/validation/micro.py against exact results."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.validation import micro
from sim.validation.micro import (NetworkSpec, batch_means, deterministic_service, lindley_waits, lognormal_service,
                                  simulate_network, simulate_queue, t_quantile)


@pytest.mark.parametrize("chunk", [1000, 1 << 16])
def test_simpy_queue_reproduces_lindley_customer_by_customer(monkeypatch, chunk):
    """Same random numbers, same waits: the event logic is exact (also across refills of the number chunks)."""
    monkeypatch.setattr(micro._Queue, "CHUNK", chunk)
    rng = np.random.default_rng(7)
    inter = rng.exponential(1 / 0.9, 20_000)
    service = rng.exponential(1.0, 20_000)
    run = simulate_queue(0.9, 1, 20_000, inter_arrivals=inter, service_times=service)
    np.testing.assert_allclose(run.waits, lindley_waits(inter, service), rtol=0, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 5), st.floats(0.01, 5)), min_size=2, max_size=60))
def test_lindley_satisfies_its_recursion(steps):
    inter, service = (np.array(x) for x in zip(*steps))
    w = lindley_waits(inter, service)
    assert w[0] == 0 and np.all(w >= 0)
    np.testing.assert_allclose(w[1:], np.maximum(0, w[:-1] + service[:-1] - inter[1:]), atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.floats(0.3, 0.9), st.integers(0, 10_000))
def test_littles_law_holds_on_every_run(servers, rho, seed):
    """L (time average) = lambda_hat x W on any run, up to edge effects of the measured window."""
    run = simulate_queue(rho * servers, servers, 4000, seed, service_rate=1.0, warmup_customers=200)
    lam_hat = run.n_measured / (run.t_end - run.t_start)
    assert run.mean_in_system == pytest.approx(lam_hat * run.sojourns.mean(), rel=0.03)


def test_mm1_mean_wait_and_sojourn_match_theory():
    lam, mu = 0.5, 1.0
    run = simulate_queue(lam, 1, 200_000, 1, service_rate=mu, warmup_customers=2000)
    wait = batch_means(run.waits)
    assert wait.contains(lam / mu / (mu - lam)) and wait.relative_half_width < 0.05
    assert batch_means(run.sojourns).contains(1 / (mu - lam))
    assert np.mean(run.waits > 0) == pytest.approx(lam / mu, abs=0.01)  # P(wait) = rho for M/M/1


def test_md1_matches_pollaczek_khinchine():
    """General service: M/D/1 waits half as long as M/M/1, Wq = rho / (2 mu (1 - rho))."""
    run = simulate_queue(0.7, 1, 150_000, 3, service=deterministic_service(1.0), warmup_customers=1500)
    assert batch_means(run.waits).contains(0.7 / (2 * 0.3))


def test_lognormal_service_has_the_requested_mean_and_cv():
    draws = lognormal_service(2.0, 1.5)(np.random.default_rng(0), 400_000)
    assert draws.mean() == pytest.approx(0.5, rel=0.02)
    assert draws.std() / draws.mean() == pytest.approx(1.5, rel=0.05)


def test_more_servers_than_customers_means_no_wait():
    run = simulate_queue(0.1, 50, 2000, 0, service_rate=1.0)
    assert run.waits.max() == 0.0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        simulate_queue(0.5, 0, 100, service_rate=1.0)
    with pytest.raises(ValueError):
        simulate_queue(0.5, 1, 100, warmup_customers=100, service_rate=1.0)
    with pytest.raises(ValueError):
        simulate_queue(0.5, 1, 100)
    with pytest.raises(ValueError):
        batch_means(np.ones(10), batches=50)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.6, 0.999), st.integers(10, 300))
def test_t_quantile_matches_scipy(p, dof):
    scipy_stats = pytest.importorskip("scipy.stats")
    assert t_quantile(p, dof) == pytest.approx(scipy_stats.t.ppf(p, dof), abs=2e-3)


def test_batch_means_interval_covers_the_mean_of_iid_data():
    rng = np.random.default_rng(11)
    covered = sum(batch_means(rng.normal(3.0, 1.0, 5000), 50, 0.9).contains(3.0) for _ in range(200))
    assert 165 <= covered <= 195  # 90 % nominal coverage, binomial(200, 0.9) within about 3 sd


def test_single_link_network_is_an_mm1_plus_propagation():
    spec = NetworkSpec(2, [(0, 1), (1, 0)], np.array([100.0, 100.0]), np.array([0.004, 0.004]),
                       {(0, 1): 60.0})
    run = simulate_network(spec, duration_s=2000.0, warmup_s=20.0, seed=5)
    assert run.utilisation[0] == pytest.approx(0.6, rel=0.03)
    assert run.utilisation[1] == 0.0
    expected_s = 0.004 + 1 / (100.0 - 60.0)
    assert run.latency_ci.contains(expected_s) or abs(run.mean_latency_s / expected_s - 1) < 0.02
    assert run.events_per_s > 0 and math.isfinite(run.mean_latency_s)


def test_network_routes_follow_shortest_propagation():
    spec = NetworkSpec(3, [(0, 1), (1, 2), (0, 2)], np.ones(3) * 10, np.array([0.001, 0.001, 0.005]),
                       {(0, 2): 1.0})
    assert spec.routes()[(0, 2)] == [0, 1]
