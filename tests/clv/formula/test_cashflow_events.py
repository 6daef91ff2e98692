"""Revenue/profit/contribution CLV and next-purchase prediction."""

from __future__ import annotations

import numpy as np
import pytest

from custlens.clv.formula import (
    contribution_clv,
    discounted_value,
    gamma_next_purchase,
    mean_gap_next_purchase,
    profit_clv,
    retention_clv,
    revenue_clv,
    survival_curve,
)
from custlens.errors import InputError


def test_constant_cashflow_equals_retention_model() -> None:
    m, r, d, n = 120.0, 0.75, 0.1, 12
    for timing, ret_timing in (("end", "retained"), ("start", "start")):
        S = survival_curve(r, n, timing=timing)
        got = discounted_value(np.full(n, m), S, d, timing=timing)
        assert got == pytest.approx(retention_clv(m, r, d, periods=n, timing=ret_timing))


def test_gupta_et_al_general_formula_by_hand() -> None:
    # Gupta et al. (2006) eq. 1 with margins (p_t - c_t) = 30, 40, 50, retention .8, i = .1, AC = 20
    margins = np.array([30.0, 40.0, 50.0])
    rev, cost = margins + 100, np.full(3, 100.0)
    S = survival_curve(0.8, 3)
    expected = 30 * 0.8 / 1.1 + 40 * 0.64 / 1.21 + 50 * 0.512 / 1.331 - 20
    assert profit_clv(rev, cost, S, 0.1, acquisition_cost=20) == pytest.approx(expected)


def test_variants_ordering_and_rows() -> None:
    rev = np.array([[100.0, 110, 120], [50, 50, 50]])
    S = survival_curve(np.array([0.9, 0.5]), 3)
    r_clv = revenue_clv(rev, S, 0.1)
    p_clv = profit_clv(rev, rev * 0.6, S, 0.1)
    c_clv = contribution_clv(rev, np.array([0.4, 0.4]), np.full((2, 3), 5.0), S, 0.1)
    assert r_clv.shape == (2,)
    np.testing.assert_allclose(p_clv, 0.4 * r_clv)
    assert np.all(c_clv < p_clv)
    assert np.all(r_clv > p_clv)


def test_survival_curve_period_specific() -> None:
    S = survival_curve([0.5, 0.8, 1.0], 3, per_period=True)
    np.testing.assert_allclose(S, [0.5, 0.4, 0.4])
    np.testing.assert_allclose(survival_curve(0.5, 3, timing="start"), [1, 0.5, 0.25])
    with pytest.raises(InputError, match="last axis of 'retention' must have 4 rates"):
        survival_curve([0.5, 0.8, 1.0], 4, per_period=True)


def test_discounted_value_bad_input() -> None:
    with pytest.raises(InputError, match="'survival' must lie in"):
        discounted_value([1.0, 2.0], [0.5, 1.5], 0.1)
    with pytest.raises(InputError, match="shapes do not fit"):
        discounted_value(np.ones((2, 3)), np.ones(4), 0.1)


def test_mean_gap_model_by_hand() -> None:
    cust = np.array(["a", "a", "a", "b", "c", "c"])
    when = np.array(
        ["2024-01-01", "2024-01-11", "2024-01-31", "2024-02-01", "2024-01-01", "2024-01-21"], dtype="datetime64[D]"
    )
    amount = np.array([10.0, 20, 30, 50, 5, 15])
    res = mean_gap_next_purchase(cust, when, amount, as_of=np.datetime64("2024-03-01"))
    assert res.customer_id.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(res.mean_gap, [15.0, 17.5, 20.0])  # b gets the median of 15 and 20
    assert res.gap_source.tolist() == ["own", "population", "own"]
    np.testing.assert_allclose(res.gap_std, [np.std([10, 20], ddof=1), np.nan, np.nan])
    assert res.expected_next[0] == np.datetime64("2024-02-15")
    np.testing.assert_allclose(res.expected_value, [20.0, 50.0, 10.0])
    np.testing.assert_allclose(res.recency, [30, 29, 40])
    np.testing.assert_allclose(res.overdue_ratio, [2.0, 29 / 17.5, 2.0])


def test_mean_gap_numeric_times_and_order_independence() -> None:
    rng = np.random.default_rng(0)
    cust = np.repeat(np.arange(50), 4)
    t = rng.uniform(0, 100, cust.size)
    a = mean_gap_next_purchase(cust, t)
    perm = rng.permutation(cust.size)
    b = mean_gap_next_purchase(cust[perm], t[perm])
    np.testing.assert_allclose(a.mean_gap, b.mean_gap)
    np.testing.assert_allclose(a.gap_std, b.gap_std)
    for i in (0, 7):
        ts = np.sort(t[cust == i])
        assert a.gap_std[i] == pytest.approx(np.std(np.diff(ts), ddof=1))


def test_mean_gap_errors() -> None:
    with pytest.raises(InputError, match="orders after as_of"):
        mean_gap_next_purchase([1, 1], [0.0, 10.0], as_of=5.0)
    with pytest.raises(InputError, match="same length"):
        mean_gap_next_purchase([1], [0.0, 10.0])


def test_gamma_wait_closed_forms() -> None:
    res = gamma_next_purchase([0, 3], [10, 10], [1.0, 0.5], r=0.25, alpha=4.0, horizon=5)
    shape = np.array([0.25, 3.25])
    np.testing.assert_allclose(res.median_wait_if_alive, 14 * (2 ** (1 / shape) - 1))
    assert np.isinf(res.mean_wait_if_alive[0])
    assert res.mean_wait_if_alive[1] == pytest.approx(14 / 2.25)
    np.testing.assert_allclose(res.p_purchase_within, [1 - (14 / 19) ** 0.25, 0.5 * (1 - (14 / 19) ** 3.25)])


def test_gamma_wait_matches_simulation_for_non_buyers() -> None:
    # BG/NBD customers without repeat purchases are alive for sure (x = 0 -> P(alive) = 1);
    # simulate lambda ~ Gamma(r, alpha), keep those with no purchase in (0, T], and count who
    # buys within (T, T + h].
    rng = np.random.default_rng(42)
    r, alpha, T, h = 0.6, 5.0, 8.0, 6.0
    lam = rng.gamma(r, 1 / alpha, 400_000)
    first_wait = rng.exponential(1 / lam)
    quiet = first_wait > T
    next_wait = rng.exponential(1 / lam[quiet])  # memoryless
    res = gamma_next_purchase([0], [T], [1.0], r=r, alpha=alpha, horizon=h)
    assert np.mean(next_wait <= h) == pytest.approx(res.p_purchase_within[0], abs=0.004)
    assert np.median(next_wait) == pytest.approx(res.median_wait_if_alive[0], rel=0.03)


def test_gamma_wait_errors() -> None:
    with pytest.raises(InputError, match="'r' and 'alpha' must be > 0"):
        gamma_next_purchase([0], [1], [1.0], r=-1, alpha=1, horizon=1)
    with pytest.raises(InputError, match="'p_alive' must lie in"):
        gamma_next_purchase([0], [1], [1.5], r=1, alpha=1, horizon=1)
