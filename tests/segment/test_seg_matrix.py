"""Customer value matrix and CLV matrix on hand-checkable data."""

from __future__ import annotations

import pyarrow as pa
import pytest

from custlens.errors import ConfigError
from custlens.segment.matrix import clv_matrix, value_matrix

T = pa.table(
    {
        "customer_id": list("abcdef"),
        "order_count": [1, 2, 3, 4, 5, 6],  # median 3.5
        "avg_order_value": [10.0, 60, 20, 50, 30, 40],  # median 35
        "revenue": [10.0, 120, 60, 200, 150, 240],  # median 135
        "potential_value": [5.0, 1, 9, 2, 8, 3],  # median 4
    }
)


def _segments(res) -> dict[str, str]:
    return {r["customer_id"]: r["segment"] for r in res.customers.to_pyarrow().to_pylist()}


def test_value_matrix_at_medians() -> None:
    res = value_matrix(T)
    assert res.details["x_split"] == 3.5 and res.details["y_split"] == 35.0
    assert _segments(res) == {
        "a": "uncertain",
        "b": "spender",
        "c": "uncertain",
        "d": "best",
        "e": "frequent",
        "f": "best",
    }


def test_value_matrix_thresholds_are_strict() -> None:
    res = value_matrix(T, frequency_threshold=3, avg_value_threshold=50)
    # c has 3 orders = threshold -> low; d has AOV 50 = threshold -> low
    assert _segments(res) == {
        "a": "uncertain",
        "b": "spender",
        "c": "uncertain",
        "d": "frequent",
        "e": "frequent",
        "f": "frequent",
    }


def test_clv_matrix_names_and_aliases() -> None:
    res = clv_matrix(T, abandon="quadrant")  # the plain two-by-two matrix: the low-low cell is abandon
    rows = {r["customer_id"]: r for r in res.customers.to_pyarrow().to_pylist()}
    assert rows["e"]["segment"] == "most_valuable" and rows["e"]["alias"] == "gold"
    assert rows["a"]["segment"] == "most_growable" and rows["a"]["alias_zh"] == "小溪客户"
    assert rows["d"]["segment"] == "maintain" and rows["d"]["alias"] == "meteor"
    assert rows["b"]["segment"] == "abandon" and rows["b"]["alias"] == "burden"
    summ = {r["segment"]: r for r in res.summary.to_pyarrow().to_pylist()}
    assert summ["maintain"]["customers"] == 2 and summ["maintain"]["value"] == 440.0


def test_clv_matrix_takes_any_value_columns() -> None:
    t = T.append_column("clv", pa.array([1.0, 2, 3, 4, 5, 6]))
    res = clv_matrix(t, current_col="revenue", potential_col="clv", split="mean")
    assert res.details["y_column"] == "clv" and res.details["y_split"] == 3.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "quartile"}, "'split' must be median, mean or thresholds"),
        ({"config": {"clv_matrix": {"split": "thresholds"}}}, "needs a number 'x_threshold'"),
        ({"potential_col": "potental_value"}, "did you mean 'potential_value'"),
    ],
)
def test_matrix_errors(kwargs, message) -> None:
    with pytest.raises(Exception, match=message) as info:
        clv_matrix(T, **kwargs)
    assert isinstance(info.value, (ConfigError, ValueError))
