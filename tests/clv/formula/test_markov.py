"""Markov-chain (migration) value: reference values and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.clv.formula import (
    check_transition_matrix,
    markov_value,
    recency_transition_matrix,
    retention_clv,
    state_distribution,
)
from custlens.errors import InputError

# Recency chain of Pfeifer & Carraway (2000) with the inputs of phpOMS's test of its
# implementation: p = (.30, .20, .05, 0), $40 contribution, $4 mailing, d = .20
# (see reference/published_values.md for provenance)
PC_P = [0.30, 0.20, 0.05, 0.0]
PC_R = [36.0, -4.0, -4.0, 0.0]


def test_recency_matrix_structure() -> None:
    P = recency_transition_matrix([0.3, 0.2, 0.05, 0.0])
    expected = np.array([[0.3, 0.7, 0, 0], [0.2, 0, 0.8, 0], [0.05, 0, 0, 0.95], [0, 0, 0, 1.0]])
    np.testing.assert_allclose(P, expected)
    # the last state keeps non-buyers even when its purchase probability is positive
    np.testing.assert_allclose(recency_transition_matrix([0.5, 0.1])[1], [0.1, 0.9])


def test_recency_chain_finite_horizon_matches_phpoms() -> None:
    # independent implementation: phpOMS MetricsTest::testMailingSuccessEstimation
    # (horizon 4, d = 0.2) -> (49.4, 2.69, -1.98, 0.0), delta 0.1; see reference/published_values.md.
    # Checked to half a unit of each value's last printed digit, not phpOMS's looser delta.
    V = markov_value(recency_transition_matrix(PC_P), PC_R, 0.20, horizon=4)
    np.testing.assert_array_less(np.abs(V - [49.4, 2.69, -1.98, 0.0]), [5e-2, 5e-3, 5e-3, 5e-2])


def test_infinite_horizon_matches_phpoms() -> None:
    # phpOMS MetricsTest::testMigrationModel: d = 0.1, p = (.5, .2, .1, 0), R = (100, 0, 0, 0)
    # -> (231.08, 57.29, 21.01, 0.0), printed to 2 dp: checked to half a unit of the last digit
    V = markov_value(recency_transition_matrix([0.5, 0.2, 0.1, 0.0]), [100, 0, 0, 0], 0.1)
    np.testing.assert_allclose(V, [231.08, 57.29, 21.01, 0.0], rtol=0, atol=5e-3)


def test_four_step_matrix_matches_phpoms() -> None:
    # phpOMS MetricsTest::testMigrationModelPurchaseMatrix: P^4, p = (.3, .2, .05, 0)
    P4 = np.linalg.matrix_power(recency_transition_matrix([0.3, 0.2, 0.05, 0.0]), 4)
    # printed to 4 dp (0.037 = 0.0370): checked to half a unit of the last digit
    np.testing.assert_allclose(P4[0], [0.0823, 0.0973, 0.1288, 0.6916], rtol=0, atol=5e-5)
    np.testing.assert_allclose(P4[1], [0.037, 0.0406, 0.056, 0.8664], rtol=0, atol=5e-5)


def test_recency_chain_exact_values_by_hand() -> None:
    # exact solution of V = R + P V / 1.2 for these inputs, by hand:
    # V4 = 0; V3 = -4 + (.05 V1)/1.2; V2 = -4 + (.2 V1 + .8 V3)/1.2; V1 = 36 + (.3 V1 + .7 V2)/1.2
    V = markov_value(recency_transition_matrix(PC_P), PC_R, 0.20)
    v1, v2, v3, v4 = V
    assert v4 == 0
    assert v3 == pytest.approx(-4 + 0.05 * v1 / 1.2)
    assert v2 == pytest.approx(-4 + (0.2 * v1 + 0.8 * v3) / 1.2)
    assert v1 == pytest.approx(36 + (0.3 * v1 + 0.7 * v2) / 1.2)
    assert v1 == pytest.approx(50.4436, abs=1e-4)


def test_finite_equals_explicit_power_sum() -> None:
    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.ones(5), size=5)
    R = rng.normal(size=5)
    d, T = 0.07, 9
    explicit = sum(np.linalg.matrix_power(P / (1 + d), t) @ R for t in range(T + 1))
    np.testing.assert_allclose(markov_value(P, R, d, horizon=T), explicit)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 6),
    d=st.floats(0.02, 0.5),
)
def test_infinite_is_limit_of_finite(seed: int, k: int, d: float) -> None:
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(k), size=k)
    R = rng.normal(scale=10, size=k)
    inf = markov_value(P, R, d)
    assert np.all(np.isfinite(inf))
    np.testing.assert_allclose(markov_value(P, R, d, horizon=3000), inf, rtol=1e-8, atol=1e-8)


def test_identity_matrix_is_a_perpetuity() -> None:
    R = np.array([10.0, -2.0, 0.0])
    d = 0.1
    np.testing.assert_allclose(markov_value(np.eye(3), R, d), R * (1 + d) / d)
    np.testing.assert_allclose(markov_value(np.eye(3), R, d, horizon=5), R * sum(1.1**-t for t in range(6)))


def test_two_state_chain_equals_retention_model() -> None:
    # "active" keeps with r, else lost for good (absorbing, reward 0): Dwyer's retention model
    r, d, m = 0.7, 0.15, 80.0
    P = np.array([[r, 1 - r], [0.0, 1.0]])
    V = markov_value(P, [m, 0.0], d)
    assert V[0] == pytest.approx(retention_clv(m, r, d, timing="start"))
    Vn = markov_value(P, [m, 0.0], d, horizon=6)
    assert Vn[0] == pytest.approx(retention_clv(m, r, d, periods=7, timing="start"))


def test_undiscounted_infinite_value_with_absorbing_zero_state() -> None:
    P = recency_transition_matrix(PC_P)
    V = markov_value(P, PC_R, 0.0)
    np.testing.assert_allclose(V, markov_value(P, PC_R, 0.0, horizon=5000), atol=1e-8)
    with pytest.raises(InputError, match="state 1 is never left"):
        markov_value(np.eye(2), [1.0, 0.0], 0.0)


@settings(max_examples=40, deadline=None)
@given(p1=st.floats(0, 1), p2=st.floats(0, 1), bump=st.floats(0, 1))
def test_value_of_state1_monotone_in_purchase_probability(p1: float, p2: float, bump: float) -> None:
    lo = markov_value(recency_transition_matrix([p1, p2, 0.0]), [40.0, 0.0, 0.0], 0.1)
    hi_p1 = min(1.0, p1 + bump * (1 - p1))
    hi = markov_value(recency_transition_matrix([hi_p1, p2, 0.0]), [40.0, 0.0, 0.0], 0.1)
    assert np.all(hi >= lo - 1e-9)


def test_state_distribution_sums_to_one() -> None:
    dist = state_distribution(recency_transition_matrix(PC_P), [1, 0, 0, 0], 6)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0)
    np.testing.assert_allclose(dist[4], np.linalg.matrix_power(recency_transition_matrix(PC_P), 4)[0])


@pytest.mark.parametrize(
    ("P", "message"),
    [
        ([[0.5, 0.4], [0.0, 1.0]], "row 1 of the transition matrix sums to 0.9"),
        ([[1.0, 0.0], [0.2, 0.7]], "row 2 of the transition matrix sums to 0.9"),
        ([[1.2, -0.2], [0.0, 1.0]], "row 1, column 1 is 1.2"),
        ([[1.0, 0.0, 0.0]], "must be square"),
    ],
)
def test_bad_matrix(P: list, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_transition_matrix(P)


def test_bad_arguments() -> None:
    P = recency_transition_matrix([0.3, 0.0])
    with pytest.raises(InputError, match="3 rewards given for 2 states"):
        markov_value(P, [1, 2, 3], 0.1)
    with pytest.raises(InputError, match="'discount' must be >= 0"):
        markov_value(P, [1, 2], -0.1)
    with pytest.raises(InputError, match=r"'purchase_prob' must lie in \[0, 1\]"):
        recency_transition_matrix([0.3, 1.5])
    with pytest.raises(InputError, match="'horizon' must be a whole number"):
        markov_value(P, [1, 2], 0.1, horizon=2.5)
