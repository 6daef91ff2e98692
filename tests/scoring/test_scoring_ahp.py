"""AHP: published priorities and consistency ratios, properties, and bad judgements."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.errors import ConfigError
from custlens.scoring import (
    RANDOM_INDEX,
    AHPHierarchy,
    AHPResult,
    ahp_from_mapping,
    ahp_weights,
    load_ahp,
    pairwise_matrix,
)

REF = Path(__file__).parent / "reference"


def test_saaty_2008_drinks_priorities_and_consistency_ratio() -> None:
    # Saaty (2008), Int. J. Services Sciences 1(1), drinks example (see the reference file):
    # priorities .177 .019 .042 .116 .190 .129 .327 and C.R. = .022.
    res = load_ahp(REF / "saaty2008_drinks.toml")
    assert isinstance(res, AHPResult)
    published = {
        "coffee": 0.177,
        "wine": 0.019,
        "tea": 0.042,
        "beer": 0.116,
        "soda": 0.190,
        "milk": 0.129,
        "water": 0.327,
    }
    for name, w in res.weight_map().items():
        assert round(w, 3) == pytest.approx(published[name], abs=1e-12), name
    assert round(res.cr, 3) == pytest.approx(0.022)
    assert res.ri == 1.35
    assert res.ci == pytest.approx((res.lambda_max - 7) / 6)
    assert res.consistent


def test_saaty_1980_table_gives_its_own_ri() -> None:
    res = load_ahp(REF / "saaty2008_drinks.toml")
    old = ahp_weights(res.matrix, res.names, random_index="saaty1980")
    assert old.ri == 1.32  # Saaty (1980), p. 21: RI(7) = 1.32
    assert old.cr == pytest.approx(res.ci / 1.32)
    np.testing.assert_allclose(old.weights, res.weights)


def test_saaty_2005_cities_hierarchy_overall_priorities() -> None:
    # Saaty (2005), Theory and Applications of the ANP, cities example (see the reference
    # file): overall priorities Bethesda .229, Boston .275, Pittsburgh .385, Santa Fe .111.
    res = load_ahp(REF / "saaty2005_cities.toml")
    assert isinstance(res, AHPHierarchy)
    totals: dict[str, float] = {}
    for leaf, w in res.weight_map().items():
        city = leaf.split(":")[1]
        totals[city] = totals.get(city, 0.0) + w
    published = {"bethesda": 0.229, "boston": 0.275, "pittsburgh": 0.385, "santa_fe": 0.111}
    for city, w in totals.items():
        assert round(w, 3) == pytest.approx(published[city], abs=1e-12), city
    assert sum(res.weight_map().values()) == pytest.approx(1.0)
    assert res.consistent
    assert set(res.nodes) == {"goal", "culture", "family", "housing", "jobs", "transportation"}


def test_geometric_mean_is_close_to_eigenvector_on_near_consistent_matrix() -> None:
    res = load_ahp(REF / "saaty2008_drinks.toml")
    geo = ahp_weights(res.matrix, res.names, method="geometric")
    assert geo.method == "geometric"
    assert geo.weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(geo.weights, res.weights, atol=0.01)
    assert geo.lambda_max >= 7 - 1e-9


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.05, 20.0), min_size=2, max_size=9), st.sampled_from(["eigenvector", "geometric"]))
def test_consistent_matrix_recovers_its_weights(raw: list[float], method: str) -> None:
    w = np.array(raw) / np.sum(raw)
    res = ahp_weights(np.outer(w, 1 / w), method=method)  # type: ignore[arg-type]
    np.testing.assert_allclose(res.weights, w, rtol=1e-8)
    assert res.lambda_max == pytest.approx(len(w))
    assert res.cr == pytest.approx(0.0, abs=1e-9)
    assert res.consistent


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 8), st.randoms(use_true_random=False))
def test_weights_are_a_distribution_and_cr_non_negative(n: int, rnd: object) -> None:
    scale = [1 / 9, 1 / 7, 1 / 5, 1 / 3, 1, 3, 5, 7, 9]
    a = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            a[i, j] = rnd.choice(scale)  # type: ignore[attr-defined]
            a[j, i] = 1 / a[i, j]
    res = ahp_weights(a)
    assert np.all(res.weights >= 0)
    assert res.weights.sum() == pytest.approx(1.0)
    assert res.lambda_max >= n - 1e-9  # Saaty: lambda_max >= n for positive reciprocal matrices
    assert res.cr >= 0


def test_inconsistent_matrix_is_flagged_at_the_named_threshold() -> None:
    # a > b (9), b > c (9) but c > a (9): a circular judgement.
    a = pairwise_matrix(["a", "b", "c"], {("a", "b"): 9, ("b", "c"): 9, ("c", "a"): 9})
    res = ahp_weights(a, ["a", "b", "c"])
    assert res.cr >= 0.10
    assert not res.consistent
    assert res.summary()["consistent"] is False


def test_two_by_two_is_always_consistent() -> None:
    res = ahp_weights([[1, 4], [0.25, 1]], ["x", "y"])
    assert res.cr == 0 and res.consistent
    np.testing.assert_allclose(res.weights, [0.8, 0.2])


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ([[1, 3], [0.5, 1]], "not reciprocal"),
        ([[1, -3], [-1 / 3, 1]], "positive number"),
        ([[1, 0], [0, 1]], "positive number"),
        ([[2, 3], [1 / 3, 1]], "diagonal"),
        ([[1, 3, 2], [1 / 3, 1, 1]], "square"),
    ],
)
def test_bad_matrices_name_the_problem(matrix: list[list[float]], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        ahp_weights(matrix, ["revenue", "profit"][: len(matrix)] if len(matrix) == 2 else None)


def test_non_reciprocal_message_names_the_cells() -> None:
    with pytest.raises(ConfigError, match=r"\['revenue', 'profit'\] = 3 but \['profit', 'revenue'\] = 0.5"):
        ahp_weights([[1, 3], [0.5, 1]], ["revenue", "profit"])


def test_comparisons_unknown_element_suggests_a_name() -> None:
    with pytest.raises(ConfigError, match="did you mean 'revenue'"):
        pairwise_matrix(["revenue", "profit"], {("revenu", "profit"): 3})


def test_comparisons_missing_and_duplicate_pairs() -> None:
    with pytest.raises(ConfigError, match="no judgement"):
        pairwise_matrix(["a", "b", "c"], {("a", "b"): 3, ("a", "c"): 2})
    with pytest.raises(ConfigError, match="given twice"):
        pairwise_matrix(["a", "b"], {("a", "b"): 3, ("b", "a"): 1 / 3})


def test_matrix_too_large_for_the_ri_table() -> None:
    with pytest.raises(ConfigError, match="n <= 10"):
        ahp_weights(np.ones((11, 11)), random_index="saaty1980")
    assert len(RANDOM_INDEX["saaty2008"]) == 15


def test_spec_errors_name_the_node_and_key() -> None:
    with pytest.raises(ConfigError, match="unknown key 'elemnts'; did you mean 'elements'"):
        ahp_from_mapping({"elemnts": ["a"], "matrix": [[1]]})
    with pytest.raises(ConfigError, match="must be 2 x 2"):
        ahp_from_mapping({"elements": ["a", "b"], "matrix": [[1, 2, 3], [1, 1, 1]]})
    with pytest.raises(ConfigError, match=r"\[criteria.value\].*'1/x'"):
        ahp_from_mapping(
            {
                "elements": ["value", "risk"],
                "matrix": [[1, 2], ["1/2", 1]],
                "criteria": {"value": {"elements": ["a", "b"], "matrix": [[1, "1/x"], [1, 1]]}},
            }
        )
    with pytest.raises(ConfigError, match="not a criterion of the goal"):
        ahp_from_mapping(
            {
                "elements": ["value", "risk"],
                "matrix": [[1, 2], ["1/2", 1]],
                "criteria": {"valu": {"elements": ["a", "b"], "matrix": [[1, 2], ["1/2", 1]]}},
            }
        )


def test_bad_toml_file(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("elements = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_ahp(p)
