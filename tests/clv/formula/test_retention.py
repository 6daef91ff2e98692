"""Retention ("lost for good") formulas: published values and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.clv.formula import (
    berger_nasr_constant,
    expected_lifetime,
    margin_multiple,
    retention_clv,
    simple_clv,
)
from custlens.errors import InputError

rates = st.floats(0.0, 0.99)
discounts = st.floats(0.0, 0.5)


def test_berger_nasr_case1_published_value() -> None:
    # Berger & Nasr (1998), J. Interactive Marketing 12(1), case 1 example:
    # GC = $260, M = $50, r = 0.75, d = 0.20, n = 10 years -> CLV = $568.78
    assert berger_nasr_constant(260, 50, 0.75, 0.20, 10) == pytest.approx(568.78, abs=0.005)


# Gupta & Lehmann (2003), J. Interactive Marketing 17(1), Table 1: margin multiple r/(1+i-r)
GUPTA_LEHMANN_TABLE = {
    0.60: (1.20, 1.15, 1.11, 1.07),
    0.70: (1.75, 1.67, 1.59, 1.52),
    0.80: (2.67, 2.50, 2.35, 2.22),
    0.90: (4.50, 4.09, 3.75, 3.46),
}


@pytest.mark.parametrize("retention", sorted(GUPTA_LEHMANN_TABLE))
def test_margin_multiple_gupta_lehmann_table(retention: float) -> None:
    got = margin_multiple(retention, np.array([0.10, 0.12, 0.14, 0.16]))
    np.testing.assert_allclose(np.round(got, 2), GUPTA_LEHMANN_TABLE[retention], atol=1e-9)


def test_three_timing_conventions_fader_hardie() -> None:
    # Fader & Hardie (2012), "Reconciling and clarifying CLV formulas", eqs. (1)-(3)
    m, r, d = 100.0, 0.8, 0.1
    assert retention_clv(m, r, d, timing="start") == pytest.approx(m * (1 + d) / (1 + d - r))
    assert retention_clv(m, r, d, timing="retained") == pytest.approx(m * r / (1 + d - r))
    assert retention_clv(m, r, d, timing="end") == pytest.approx(m / (1 + d - r))
    assert retention_clv(m, r, d, timing="retained") == pytest.approx(m * margin_multiple(r, d))


def test_finite_horizon_matches_explicit_sum() -> None:
    m, r, d, n = 50.0, 0.7, 0.12, 7
    t = np.arange(n)
    assert retention_clv(m, r, d, periods=n) == pytest.approx(np.sum(m * r**t / (1 + d) ** t))
    assert retention_clv(m, r, d, periods=n, timing="end") == pytest.approx(np.sum(m * r**t / (1 + d) ** (t + 1)))
    assert retention_clv(m, r, d, periods=n, timing="retained") == pytest.approx(
        np.sum(m * r ** (t + 1) / (1 + d) ** (t + 1))
    )


def test_acquisition_cost_and_zero_periods() -> None:
    assert retention_clv(100, 0.5, 0.1, periods=0, acquisition_cost=30) == pytest.approx(-30)
    assert retention_clv(100, 0.5, 0.1, periods=1, acquisition_cost=30) == pytest.approx(70)


def test_full_retention_no_discount_finite() -> None:
    assert retention_clv(10, 1.0, 0.0, periods=12) == pytest.approx(120)
    with pytest.raises(InputError, match="diverges"):
        retention_clv(10, 1.0, 0.0)


@settings(max_examples=60, deadline=None)
@given(r=rates, d=st.floats(0.01, 0.5), m=st.floats(-1e3, 1e3))
def test_infinite_is_limit_of_finite(r: float, d: float, m: float) -> None:
    for timing in ("start", "end", "retained"):
        inf = retention_clv(m, r, d, timing=timing)
        fin = retention_clv(m, r, d, periods=5000, timing=timing)
        assert np.isfinite(inf)
        assert fin == pytest.approx(inf, rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(r1=rates, r2=rates, d=discounts, n=st.integers(1, 40))
def test_value_monotone_in_retention(r1: float, r2: float, d: float, n: int) -> None:
    lo, hi = sorted((r1, r2))
    for periods in (n, None):
        if periods is None and d == 0:
            continue
        assert retention_clv(100, lo, d, periods=periods) <= retention_clv(100, hi, d, periods=periods) + 1e-9


@settings(max_examples=40, deadline=None)
@given(r=rates, d1=discounts, d2=discounts)
def test_value_decreases_with_discount(r: float, d1: float, d2: float) -> None:
    lo, hi = sorted((d1, d2))
    assert retention_clv(100, r, hi, periods=20) <= retention_clv(100, r, lo, periods=20) + 1e-9


def test_vectorised_broadcast() -> None:
    out = retention_clv(np.array([100.0, 200.0]), np.array([[0.5], [0.9]]), 0.1)
    assert out.shape == (2, 2)
    assert out[1, 1] == pytest.approx(200 * 1.1 / 0.2)


def test_simple_formula() -> None:
    assert simple_clv(5, 120, 100) == pytest.approx(500)
    np.testing.assert_allclose(simple_clv([1, 2], 100), [100, 200])


def test_expected_lifetime() -> None:
    np.testing.assert_allclose(expected_lifetime([0.0, 0.5, 0.8]), [1.0, 2.0, 5.0])


def test_margin_multiple_growth_and_divergence() -> None:
    # growth g: r / (1 + i - r(1 + g)) (Gupta & Lehmann 2005)
    assert margin_multiple(0.8, 0.12, 0.05) == pytest.approx(0.8 / (1.12 - 0.84))
    with pytest.raises(InputError, match="diverges"):
        margin_multiple(0.9, 0.05, 0.2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retention": 1.2}, "'retention' must lie in \\[0, 1\\]"),
        ({"retention": -0.1}, "'retention' must lie in \\[0, 1\\]"),
        ({"discount": -0.05}, "'discount' must be >= 0"),
        ({"periods": -1}, "'periods' must be >= 0"),
        ({"timing": "middle"}, "'timing' must be one of"),
        ({"margin": "abc"}, "'margin' must be numeric"),
    ],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    args = {"margin": 100, "retention": 0.8, "discount": 0.1} | kwargs
    with pytest.raises(InputError, match=message):
        retention_clv(**args)
