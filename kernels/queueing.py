"""Queueing formulas (DESIGN §8): M/M/1 and M/M/c (Erlang B and C), broadcasting, NumPy or CuPy.

Rates share one time unit (e.g. per second); waits come out in that unit. An unstable queue
(utilisation rho >= 1) has an infinite wait: the result is +inf, never NaN or negative.
"""
from __future__ import annotations

import numpy as np

from .backend import to_numpy, xp_of


def _float(xp, a):
    a = xp.asarray(a)
    return a if a.dtype.kind == "f" else a.astype(xp.float64)


def mm1_wait(arrival_rate, service_rate):
    """Mean wait in queue of an M/M/1: rho / (mu (1 - rho)) = lambda / (mu (mu - lambda)); +inf when
    rho >= 1, 0 when lambda = 0. Written in place (it runs on every link of every batch element)."""
    xp = xp_of(arrival_rate, service_rate)
    lam, mu = _float(xp, arrival_rate), _float(xp, service_rate)
    wait = xp.array(mu - lam)  # an array even for scalar inputs
    with np.errstate(divide="ignore", invalid="ignore"):
        wait *= mu
        xp.divide(lam, wait, out=wait)
    wait[xp.broadcast_to(lam >= mu, wait.shape)] = xp.inf
    if bool((mu <= 0).any()):  # lambda = mu = 0: an idle link, no wait (mu > 0 gives 0 / mu^2 = 0)
        wait[xp.broadcast_to(lam == 0, wait.shape)] = 0.0
    return wait


def mm1_sojourn(arrival_rate, service_rate):
    """Mean time in system of an M/M/1: 1 / (mu - lambda); +inf when rho >= 1."""
    xp = xp_of(arrival_rate, service_rate)
    lam, mu = _float(xp, arrival_rate), _float(xp, service_rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = 1.0 / (mu - lam)
    return xp.where(lam >= mu, xp.inf, t)


def erlang_b(servers, offered_load):
    """Erlang B blocking probability B(c, A), broadcasting over servers c (integers >= 0) and load A.

    Stable recursion B_0 = 1, B_k = A B_{k-1} / (k + A B_{k-1}): every step contracts, so it is exact to
    about 1e-13 relative in float64 for c in the tens of thousands (no A^c / c! overflow). The loop runs
    to max(c) on the host; each element keeps the value at its own k = c.
    """
    xp = xp_of(servers, offered_load)
    c = xp.asarray(servers)
    load = _float(xp, offered_load)
    if c.size and int(to_numpy(c.min())) < 0:
        raise ValueError("servers must be >= 0")
    c, load = xp.broadcast_arrays(c, load)
    blocking = xp.ones(load.shape, dtype=load.dtype)
    out = xp.ones(load.shape, dtype=load.dtype)
    c_max = int(to_numpy(c.max())) if c.size else 0
    for k in range(1, c_max + 1):
        ab = load * blocking
        blocking = ab / (k + ab)
        out = xp.where(c == k, blocking, out)
    return out


def erlang_c(servers, offered_load):
    """Erlang C: probability an arrival waits in an M/M/c with offered load A = lambda/mu.

    C = c B / (c - A (1 - B)) for A < c, and 1 for A >= c (every arrival waits: unstable).
    """
    xp = xp_of(servers, offered_load)
    c = _float(xp, servers)
    load = _float(xp, offered_load)
    b = erlang_b(servers, offered_load)
    with np.errstate(divide="ignore", invalid="ignore"):
        wait_prob = c * b / (c - load * (1.0 - b))
    return xp.where(load >= c, 1.0, wait_prob)


def _mmc_parts(servers, arrival_rate, service_rate):
    xp = xp_of(servers, arrival_rate, service_rate)
    lam, mu = _float(xp, arrival_rate), _float(xp, service_rate)
    c = _float(xp, servers)
    with np.errstate(divide="ignore", invalid="ignore"):
        load = lam / mu
    return xp, lam, c, load, erlang_c(servers, load), c * mu - lam


def mmc_wait(servers, arrival_rate, service_rate):
    """Mean wait in queue of an M/M/c: Wq = C(c, A) / (c mu - lambda); +inf when A >= c, 0 when lambda = 0."""
    xp, lam, c, load, wait_prob, drain = _mmc_parts(servers, arrival_rate, service_rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = wait_prob / drain
    wait = xp.where(load >= c, xp.inf, wait)
    return xp.where(lam == 0, 0.0, wait)


def mmc_wait_quantile(servers, arrival_rate, service_rate, q):
    """q-quantile of the M/M/c wait in queue.

    P(W > t) = C exp(-(c mu - lambda) t), so the quantile is 0 when C <= 1 - q (at least a share q never
    waits), else ln(C / (1 - q)) / (c mu - lambda). +inf when A >= c. q must lie in [0, 1).
    """
    xp, lam, c, load, wait_prob, drain = _mmc_parts(servers, arrival_rate, service_rate)
    q = _float(xp, q)
    if bool(to_numpy(xp.any((q < 0) | (q >= 1)))):
        raise ValueError("quantile q must lie in [0, 1)")
    tail = 1.0 - q
    with np.errstate(divide="ignore", invalid="ignore"):
        t = xp.log(wait_prob / tail) / drain
    t = xp.where(wait_prob <= tail, 0.0, t)
    t = xp.where(load >= c, xp.inf, t)
    return xp.where(lam == 0, 0.0, t)
