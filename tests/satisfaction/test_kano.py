"""Kano analysis: evaluation table, answer labels, the stp25kano worked example, properties."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.errors import InputError
from custlens.satisfaction.kano import ANSWERS, classify, fong_significant, kano, kano_figure, parse_answer

from .conftest import REFERENCE

# one answer pair per category (functional, dysfunctional)
PAIR = {
    "A": ("like", "neutral"),
    "O": ("like", "dislike"),
    "M": ("neutral", "dislike"),
    "I": ("neutral", "neutral"),
    "R": ("dislike", "like"),
    "Q": ("like", "like"),
}


def _rows(example: dict[str, dict[str, int]]) -> pd.DataFrame:
    rows = []
    for attribute, counts in example.items():
        k = 0
        for cat, count in counts.items():
            for _ in range(count):
                k += 1
                f, d = PAIR[cat]
                rows.append({"respondent": k, "attribute": attribute, "functional": f, "dysfunctional": d})
    return pd.DataFrame(rows)


def test_evaluation_table_of_kano_1984() -> None:
    """Berger et al. (1993), table 2: rows functional, columns dysfunctional."""
    expected = ["QAAAO", "RIIIM", "RIIIM", "RIIIM", "RRRRQ"]
    for f, row in zip(ANSWERS, expected):
        assert "".join(classify(f, d) for d in ANSWERS) == row


@pytest.mark.parametrize(
    ("labels", "code"),
    [
        (["like", "I like it", "LIKE", 1, "1", "我喜欢", "喜欢"], 0),
        (["must-be", "Must be", "I expect it", 2, "理所当然", "应该的"], 1),
        (["neutral", "I am neutral", 3, 3.0, "无所谓"], 2),
        (["live-with", "live with", "I can live with it", "tolerate", 4, "能忍受", "可以忍受"], 3),
        (["dislike", "I dislike it", 5, "我不喜欢", "不喜欢"], 4),
    ],
)
def test_answer_labels(labels: list[object], code: int) -> None:
    for label in labels:
        assert parse_answer(label) == code, label


@pytest.mark.parametrize("bad", ["maybe", 0, 6, 2.5, None, True])
def test_unknown_answers_raise(bad: object) -> None:
    with pytest.raises(InputError, match="unknown Kano answer"):
        parse_answer(bad)


def test_reproduces_stp25kano_worked_example() -> None:
    """Every figure of the stp25kano README table (reference/stp25kano_example.json)."""
    ref = json.loads((REFERENCE / "stp25kano_example.json").read_text(encoding="utf-8"))["attributes"]
    result = kano(_rows({a: r["counts"] for a, r in ref.items()})).to_dict()
    for attribute, expected in ref.items():
        got = result[attribute]
        assert got["n"] == 296
        assert got["counts"] == expected["counts"]
        assert got["category"] == expected["category"]
        assert round(got["total_strength"]) == expected["total_strength"]
        assert round(got["category_strength"]) == expected["category_strength"]
        assert got["better"] == pytest.approx(expected["better"], abs=5e-4)
        assert got["worse"] == pytest.approx(expected["worse"], abs=5e-4)
        assert got["fong_difference"] == expected["fong_difference"]
        assert got["fong_threshold"] == pytest.approx(expected["fong_threshold"], abs=0.05)
        assert got["fong_significant"] is expected["fong_significant"]


def test_ties_break_m_before_o_before_a_before_i() -> None:
    res = kano(_rows({"x": {"A": 5, "O": 5, "M": 5, "I": 5}, "y": {"A": 4, "I": 4, "O": 1}})).to_dict()
    assert res["x"]["category"] == "M" and res["x"]["second_category"] == "O"
    assert res["y"]["category"] == "A"


def test_better_worse_formulas_and_continuous_scores() -> None:
    """Berger et al. (1993): Better = (A+O)/(A+O+M+I), Worse = -(O+M)/(A+O+M+I); DuMouchel scores."""
    res = kano(_rows({"x": {"A": 3, "O": 2, "M": 4, "I": 1, "R": 2, "Q": 1}})).to_dict()["x"]
    assert res["better"] == pytest.approx(5 / 10)
    assert res["worse"] == pytest.approx(-6 / 10)
    # functional scores: A,O,Q -> like (4); M,I -> neutral (0); R -> dislike (-2)
    assert res["functional_mean"] == pytest.approx((6 * 4 + 5 * 0 + 2 * -2) / 13)
    # dysfunctional: A,I -> neutral 0; O,M -> dislike 4; R,Q -> like -2
    assert res["dysfunctional_mean"] == pytest.approx((6 * 4 + 3 * -2) / 13)


def test_importance_is_averaged() -> None:
    df = pd.DataFrame(
        {
            "attribute": ["a", "a", "b"],
            "functional": ["like"] * 3,
            "dysfunctional": ["neutral"] * 3,
            "importance": [9, 7, 3],
        }
    )
    res = kano(df).to_dict()
    assert res["a"]["importance_mean"] == 8 and res["b"]["importance_mean"] == 3


def test_fong_formula() -> None:
    sig, threshold = fong_significant(123, 95, 296)
    assert sig and threshold == pytest.approx(1.65 * ((218 * 374) / 592) ** 0.5)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=60))
def test_coefficients_stay_in_range(pairs: list[tuple[int, int]]) -> None:
    df = pd.DataFrame({"attribute": "x", "functional": [p[0] for p in pairs], "dysfunctional": [p[1] for p in pairs]})
    row = kano(df).to_dict()["x"]
    assert sum(row["counts"].values()) == len(pairs)
    if not pd.isna(row["better"]):
        assert 0 <= row["better"] <= 1 and -1 <= row["worse"] <= 0
    assert 0 <= row["category_strength"] <= 100
    assert -2 <= row["functional_mean"] <= 4 and -2 <= row["dysfunctional_mean"] <= 4


def test_bad_rows_name_the_row() -> None:
    df = pd.DataFrame(
        {"attribute": ["a", "b"], "functional": ["like", "sometimes"], "dysfunctional": ["neutral", "like"]}
    )
    with pytest.raises(InputError, match=r"row 2 \(attribute 'b'\).*'sometimes'"):
        kano(df)
    with pytest.raises(InputError, match="needs columns attribute, functional and dysfunctional"):
        kano(pd.DataFrame({"attribute": ["a"], "functional": ["like"]}))


def test_figure_has_one_point_per_attribute() -> None:
    fig = kano_figure(kano(_rows({"a": {"A": 2}, "b": {"M": 3}})))
    assert list(fig.data[0].x) == [0.0, 1.0] and list(fig.data[0].y) == [1.0, 0.0]
