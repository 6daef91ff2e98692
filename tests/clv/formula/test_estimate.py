"""Estimating transition matrices from per-period data."""

from __future__ import annotations

import numpy as np
import pytest

from custlens.clv.formula import (
    estimate_recency_chain,
    estimate_state_transitions,
    recency_transition_matrix,
)
from custlens.errors import InputError


def simulate_recency(p: np.ndarray, n_customers: int, n_periods: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Customers all buy in period 0, then follow the recency chain; rows = purchase periods."""
    rng = np.random.default_rng(seed)
    k = p.size
    state = np.ones(n_customers, dtype=int)  # recency 1 after the first purchase
    cust, per = [np.arange(n_customers)], [np.zeros(n_customers, dtype=int)]
    for t in range(1, n_periods):
        buy = rng.random(n_customers) < p[state - 1]
        cust.append(np.flatnonzero(buy))
        per.append(np.full(buy.sum(), t))
        state = np.where(buy, 1, np.minimum(state + 1, k))
    return np.concatenate(cust), np.concatenate(per)


def test_counts_by_hand() -> None:
    # customer a buys in 0, 1, 4; end 5 -> spells: gap 1 (buy in state 1), gap 3
    # (no-buy in states 1, 2; buy in state 3), censored 1 period (no-buy in state 1)
    est = estimate_recency_chain(["a", "a", "a"], [0, 1, 4], n_states=3, end_period=5)
    # state 1: buys 1, no-buys 2; state 2: no-buy 1; state 3: buy 1
    np.testing.assert_allclose(est.counts, [[1, 2, 0], [0, 0, 1], [1, 0, 0]])
    np.testing.assert_allclose(est.purchase_prob, [1 / 3, 0.0, 1.0])
    np.testing.assert_allclose(est.matrix.sum(axis=1), 1.0)


def test_capped_state_counts() -> None:
    # one customer: buys at 0 and 6 with k = 2 -> no-buys in state 1 once, state 2 four times,
    # then a buy in state 2; censored after 6 up to 8: no-buys in state 1 and state 2
    est = estimate_recency_chain([1, 1], [0, 6], n_states=2, end_period=8)
    np.testing.assert_allclose(est.counts, [[0, 2], [1, 5]])


def test_recovers_known_recency_chain() -> None:
    p = np.array([0.35, 0.2, 0.1, 0.03])
    cust, per = simulate_recency(p, 4000, 40, seed=7)
    est = estimate_recency_chain(cust, per, n_states=4)
    assert np.all(np.abs(est.purchase_prob - p) < 4 * est.purchase_prob_se + 1e-12)
    np.testing.assert_allclose(est.matrix, recency_transition_matrix(est.purchase_prob))
    np.testing.assert_allclose(est.matrix.sum(axis=1), 1.0)
    assert np.all((est.purchase_prob_lower <= p) | np.isclose(est.purchase_prob_lower, p, atol=0.01))
    assert np.all(est.lower <= est.matrix + 1e-12) and np.all(est.matrix <= est.upper + 1e-12)


def test_interval_coverage_of_purchase_probabilities() -> None:
    p = np.array([0.3, 0.15, 0.05])
    covered = np.zeros(3)
    n_rep = 40
    for seed in range(n_rep):
        cust, per = simulate_recency(p, 300, 12, seed=100 + seed)
        est = estimate_recency_chain(cust, per, n_states=3, level=0.9)
        covered += (est.purchase_prob_lower <= p) & (p <= est.purchase_prob_upper)
    # nominal 90%; with 40 replicates the binomial spread allows ~75%..100%
    assert np.all(covered / n_rep >= 0.75)


def test_weights_equal_repeated_rows_recency() -> None:
    cust = np.array([1, 1, 2, 2, 2, 3])
    per = np.array([0, 2, 1, 2, 5, 3])
    w = np.array([3, 3, 1, 1, 1, 2])
    weighted = estimate_recency_chain(cust, per, n_states=3, end_period=6, weights=w)
    rep_c = np.concatenate(
        [
            np.repeat(cust[cust == c][None, :] * 100 + i, 1, axis=0).ravel()
            for c, n in ((1, 3), (2, 1), (3, 2))
            for i in range(n)
        ]
    )
    rep_p = np.concatenate([per[cust == c] for c, n in ((1, 3), (2, 1), (3, 2)) for _ in range(n)])
    repeated = estimate_recency_chain(rep_c, rep_p, n_states=3, end_period=6)
    np.testing.assert_allclose(weighted.counts, repeated.counts)
    np.testing.assert_allclose(weighted.purchase_prob, repeated.purchase_prob)
    np.testing.assert_allclose(weighted.purchase_prob_lower, repeated.purchase_prob_lower)
    assert weighted.n_customers == repeated.n_customers == 6


def test_bought_flag_and_duplicate_purchases() -> None:
    a = estimate_recency_chain([1, 1, 1, 1], [0, 0, 2, 3], n_states=2, bought=[1, 1, 1, 0])
    b = estimate_recency_chain([1, 1], [0, 2], n_states=2, end_period=3)
    np.testing.assert_allclose(a.counts, b.counts)


def test_bootstrap_intervals_cover_truth() -> None:
    p = np.array([0.4, 0.1])
    cust, per = simulate_recency(p, 1500, 15, seed=3)
    est = estimate_recency_chain(cust, per, n_states=2, method="bootstrap", n_boot=200, seed=1)
    assert est.interval_method == "bootstrap"
    assert np.all(est.purchase_prob_lower <= est.purchase_prob)
    assert np.all(est.purchase_prob <= est.purchase_prob_upper)
    # bootstrap spread is close to the binomial standard error here (one chain per customer)
    width = est.purchase_prob_upper - est.purchase_prob_lower
    np.testing.assert_allclose(width, 2 * 1.96 * est.purchase_prob_se, rtol=0.35)


def simulate_states(P: np.ndarray, n_customers: int, n_periods: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    k = P.shape[0]
    cum = np.cumsum(P, axis=1)
    s = rng.integers(0, k, n_customers)
    cust, per, lab = [], [], []
    for t in range(n_periods):
        cust.append(np.arange(n_customers))
        per.append(np.full(n_customers, t))
        lab.append(np.array(["gold", "silver", "bronze"])[s])
        u = rng.random(n_customers)
        s = np.minimum((u[:, None] > cum[s]).sum(axis=1), k - 1)
    return np.concatenate(cust), np.concatenate(per), np.concatenate(lab)


def test_recovers_known_tier_matrix() -> None:
    P = np.array([[0.8, 0.15, 0.05], [0.1, 0.7, 0.2], [0.02, 0.08, 0.9]])
    cust, per, lab = simulate_states(P, 3000, 10, seed=11)
    est = estimate_state_transitions(cust, per, lab, states=["gold", "silver", "bronze"])
    assert est.states == ("gold", "silver", "bronze")
    np.testing.assert_allclose(est.matrix.sum(axis=1), 1.0)
    assert np.all(np.abs(est.matrix - P) <= 4 * est.standard_errors + 1e-3)
    assert np.all((est.lower <= P + 1e-3) & (P - 1e-3 <= est.upper))
    assert est.n_transitions == 3000 * 9


def test_state_transitions_skip_gaps_and_weights() -> None:
    cust = ["x", "x", "x", "y", "y"]
    per = [0, 1, 3, 0, 1]
    lab = ["A", "B", "A", "B", "B"]
    est = estimate_state_transitions(cust, per, lab, weights=[1, 1, 1, 4, 4])
    # x: A->B (period 0->1); 1->3 is a gap, not a transition; y: B->B with weight 4
    np.testing.assert_allclose(est.counts, [[0, 1], [0, 4]])
    rep = estimate_state_transitions(
        ["x", "x", "x"] + [f"y{i}" for i in range(4) for _ in range(2)],
        [0, 1, 3] + [0, 1] * 4,
        ["A", "B", "A"] + ["B", "B"] * 4,
    )
    np.testing.assert_allclose(est.counts, rep.counts)
    np.testing.assert_allclose(est.lower, rep.lower)


def test_state_bootstrap_runs_and_brackets() -> None:
    P = np.array([[0.6, 0.3, 0.1], [0.2, 0.6, 0.2], [0.1, 0.2, 0.7]])
    cust, per, lab = simulate_states(P, 400, 6, seed=2)
    est = estimate_state_transitions(cust, per, lab, method="bootstrap", n_boot=100)
    assert np.all(est.lower <= est.matrix + 1e-12) and np.all(est.matrix <= est.upper + 1e-12)
    assert est.to_dict()["states"] == ["bronze", "gold", "silver"]


def test_estimation_errors() -> None:
    with pytest.raises(InputError, match="purchases after end_period=3"):
        estimate_recency_chain([1, 1], [0, 5], n_states=2, end_period=3)
    with pytest.raises(InputError, match="'n_states' must be a whole number >= 1"):
        estimate_recency_chain([1], [0], n_states=0)
    with pytest.raises(InputError, match="more than one state for customer 'a' in period 0"):
        estimate_state_transitions(["a", "a"], [0, 0], ["x", "y"])
    with pytest.raises(InputError, match="state 'z' \\(row 1\\) is not among the given states"):
        estimate_state_transitions(["a", "a"], [0, 1], ["x", "z"], states=["x", "y"])
    with pytest.raises(InputError, match="'weights' must be constant within a customer"):
        estimate_state_transitions(["a", "a"], [0, 1], ["x", "x"], weights=[1, 2])
    with pytest.raises(InputError, match="'level' must lie strictly between 0 and 1"):
        estimate_recency_chain([1], [0], n_states=2, level=1.5)


def test_period_index_units() -> None:
    from custlens.clv.formula import period_index

    d = np.array(
        ["1970-01-04", "1970-01-05", "1970-01-11", "1970-01-12", "1971-03-31", "1971-04-01"], dtype="datetime64[D]"
    )
    np.testing.assert_array_equal(period_index(d, "W"), [-1, 0, 0, 1, 64, 64])
    np.testing.assert_array_equal(period_index(d, "M")[-2:], [14, 15])
    np.testing.assert_array_equal(period_index(d, "Q")[-2:], [4, 5])
    np.testing.assert_array_equal(period_index(d, "Y")[-2:], [1, 1])
    np.testing.assert_array_equal(period_index([3, 4.0]), [3, 4])
    with pytest.raises(InputError, match="give period_unit"):
        period_index(d)
    with pytest.raises(InputError, match="'period_unit' must be one of"):
        period_index(d, "D")
    with pytest.raises(InputError, match="whole period numbers"):
        period_index([1.5])


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 9)), min_size=1, max_size=40),
    k=st.integers(1, 5),
)
def test_estimates_are_probabilities(data: list[tuple[int, int]], k: int) -> None:
    cust, per = map(np.array, zip(*data, strict=True))
    est = estimate_recency_chain(cust, per, n_states=k, end_period=10)
    observed = est.row_totals > 0
    np.testing.assert_allclose(est.matrix[observed].sum(axis=1), 1.0)
    assert np.all((est.matrix[observed] >= 0) & (est.matrix[observed] <= 1))
    assert not np.any(est.lower > est.upper + 1e-12)  # NaN for states never visited
    assert np.all(np.isnan(est.purchase_prob_lower) == (est.row_totals == 0))
    ok = np.isfinite(est.purchase_prob)
    assert np.all(est.purchase_prob_lower[ok] <= est.purchase_prob[ok] + 1e-12)
    assert np.all(est.purchase_prob[ok] <= est.purchase_prob_upper[ok] + 1e-12)
    # every period after a customer's first purchase, up to the end, is one observed move
    first = {c: min(p for cc, p in data if cc == c) for c in set(cust.tolist())}
    assert est.n_transitions == sum(10 - f for f in first.values())
