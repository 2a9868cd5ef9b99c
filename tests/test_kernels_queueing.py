"""Queueing formulas: exact reference values, rational arithmetic, and the rho >= 1 contract."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels import (erlang_b, erlang_c, get_xp, mm1_sojourn, mm1_wait, mmc_wait, mmc_wait_quantile,
                     sample_growth_paths, xp_of)

EXACT_C = [(10, 14, 0.17413193359504984), (10, 15, 0.10204236700798801), (950, 1000, 0.068253415377141424),
           (9900, 10000, 0.22277692886414824), (99, 100, 0.88276846261008447)]


def test_erlang_exact_values():
    assert erlang_b(107, 90.0) == pytest.approx(0.0087991052447426825, rel=1e-9)
    for load, servers, want in EXACT_C:
        assert erlang_c(servers, float(load)) == pytest.approx(want, rel=1e-9)
    got = erlang_c(np.array([c for _, c, _ in EXACT_C]), np.array([float(a) for a, _, _ in EXACT_C]))
    np.testing.assert_allclose(got, [v for _, _, v in EXACT_C], rtol=1e-9)


def _erlang_b_fraction(c, load):
    b = Fraction(1)
    for k in range(1, c + 1):
        b = load * b / (k + load * b)
    return b


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.fractions(min_value=0, max_value=60, max_denominator=16))
def test_erlang_against_rational_arithmetic(c, load):
    b = _erlang_b_fraction(c, load)
    assert erlang_b(c, float(load)) == pytest.approx(float(b), rel=1e-12, abs=1e-300)
    if c > 0 and load < c:
        want = c * b / (c - load * (1 - b))
        assert erlang_c(c, float(load)) == pytest.approx(float(want), rel=1e-12)
    else:
        assert erlang_c(c, float(load)) == 1.0


def test_unstable_queues_are_infinite_not_nan():
    lam = np.array([0.0, 0.5, 1.0, 2.0])
    np.testing.assert_array_equal(mm1_wait(lam, 1.0), [0.0, 1.0, np.inf, np.inf])
    np.testing.assert_array_equal(mm1_sojourn(lam, 1.0), [1.0, 2.0, np.inf, np.inf])
    w = mmc_wait(np.array([1, 2, 3]), 2.5, 1.0)
    assert np.isinf(w[0]) and np.isinf(w[1]) and np.isfinite(w[2]) and w[2] > 0
    q = mmc_wait_quantile(np.array([2, 3, 50]), 2.5, 1.0, 0.9)
    assert np.isinf(q[0]) and q[1] > 0 and q[2] == 0.0
    assert not np.any(np.isnan(mmc_wait(np.arange(0, 5), np.linspace(0, 6, 5), 1.0)))


def test_mmc_reduces_to_mm1_and_quantile_matches_tail():
    assert mmc_wait(1, 0.9, 1.0) == pytest.approx(float(mm1_wait(0.9, 1.0)), rel=1e-12)
    t = mmc_wait_quantile(4, 3.0, 1.0, 0.95)
    tail = erlang_c(4, 3.0) * np.exp(-(4 - 3.0) * t)
    assert tail == pytest.approx(0.05, rel=1e-12)


def test_growth_paths_median_on_curve_and_reproducible():
    growth = np.array([1.241] * 5)
    paths = sample_growth_paths(np.random.default_rng(7), growth, 0.15, 4001)
    again = sample_growth_paths(np.random.default_rng(7), growth, 0.15, 4001, xp=np)
    np.testing.assert_array_equal(paths, again)
    assert paths.shape == (4001, 5)
    np.testing.assert_allclose(np.median(paths, axis=0), np.cumprod(growth), rtol=0.03)
    np.testing.assert_array_equal(sample_growth_paths(np.random.default_rng(1), growth, 0.0, 3),
                                  np.tile(np.cumprod(growth), (3, 1)))


def test_backend_choice():
    assert get_xp("numpy") is np and xp_of(np.ones(2)) is np
    with pytest.raises(ValueError):
        get_xp("tpu")
    try:
        import cupy  # noqa: F401
    except Exception:
        with pytest.raises(RuntimeError):
            get_xp("cupy")
