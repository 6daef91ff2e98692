"""Entropy-weight method: a hand-computed example and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from custlens.errors import InputError
from custlens.scoring import entropy_weights, entropy_weights_from_sums


def test_hand_computed_example() -> None:
    # Normalised values for 3 customers: a = (0, 1/2, 1), b = (0, 1, 1).
    # Shares: f_a = (0, 1/3, 2/3); f_b = (0, 1/2, 1/2).
    # H_a = -(1/3 ln 1/3 + 2/3 ln 2/3) / ln 3 = (ln 3 - 2/3 ln 2) / ln 3 = 0.579380
    # H_b = ln 2 / ln 3 = 0.630930
    # w_a = (1 - H_a) / (2 - H_a - H_b) = 0.420620 / 0.789690 = 0.532639
    h_a = (math.log(3) - 2 / 3 * math.log(2)) / math.log(3)
    h_b = math.log(2) / math.log(3)
    res = entropy_weights([[0, 0], [0.5, 1], [1, 1]], ["a", "b"])
    np.testing.assert_allclose(res.entropy, [h_a, h_b])
    assert h_a == pytest.approx(0.579380, abs=1e-6)
    assert res.weights[0] == pytest.approx(0.532639, abs=1e-6)
    assert res.weights[1] == pytest.approx(1 - 0.532639, abs=1e-6)


def test_constant_indicator_gets_zero_weight() -> None:
    res = entropy_weights([[0.2, 0.0], [0.2, 1.0], [0.2, 0.4]])
    assert res.weights[0] == 0.0
    assert res.weights[1] == pytest.approx(1.0)
    res0 = entropy_weights([[0.0, 0.1], [0.0, 0.9]])  # all-zero column (constant after min-max)
    assert res0.weights[0] == 0.0


def test_uniform_values_have_entropy_one_and_concentrated_values_zero() -> None:
    res = entropy_weights([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    assert res.entropy[0] == pytest.approx(1.0)
    assert res.entropy[1] == pytest.approx(0.0)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 30), st.integers(1, 6)), elements=st.floats(0, 1)))
def test_weights_form_a_distribution(r: np.ndarray) -> None:
    if np.all(r.max(axis=0) == r.min(axis=0)):
        with pytest.raises(InputError, match="undefined"):
            entropy_weights(r)
        return
    res = entropy_weights(r)
    assert np.all(res.weights >= 0)
    assert res.weights.sum() == pytest.approx(1.0)
    assert np.all((res.entropy >= 0) & (res.entropy <= 1))
    const = r.max(axis=0) == r.min(axis=0)
    assert np.all(res.weights[const] == pytest.approx(0.0, abs=1e-12))


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 20), st.integers(1, 4)),
        elements=st.integers(0, 1000).map(lambda v: v / 1000),
    ),  # adjacent floats could merge
    st.floats(0.1, 100),
)
def test_weights_invariant_to_rescaling_the_normalised_values(r: np.ndarray, c: float) -> None:
    if np.all(r.max(axis=0) == r.min(axis=0)):
        return
    np.testing.assert_allclose(entropy_weights(r).weights, entropy_weights(r * c).weights, atol=1e-9)


def test_bad_input() -> None:
    with pytest.raises(InputError, match="at least 2 customers"):
        entropy_weights([[0.5, 0.2]])
    with pytest.raises(InputError, match="non-negative"):
        entropy_weights([[-0.5, 0.2], [1, 1]])
    with pytest.raises(InputError, match="2-d"):
        entropy_weights([0.1, 0.2])
    with pytest.raises(InputError, match="undefined"):
        entropy_weights_from_sums([0.0, 2.0], [0.0, 2.0 * math.log(1.0)], 2, ["a", "b"])
