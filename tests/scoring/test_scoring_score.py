"""The important-customer score on Ibis tables: both backends, properties, bad input."""

from __future__ import annotations

import uuid

import ibis
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.errors import ConfigError, InputError
from custlens.scoring import (
    ahp_weights,
    entropy_weights,
    pairwise_matrix,
    parse_weights,
    score_customers,
)
from custlens.warehouse.compat import register_arrow

INDICATORS = pa.table(
    {
        "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
        "revenue": [1200.0, 300.0, 50.0, 800.0, 800.0, 20.0],
        "order_count": [12, 3, 1, 9, 4, 1],
        "recency_days": [5, 40, 300, 12, 60, 700],
        "arrears_rate": [0.0, 0.1, 0.5, 0.0, 0.2, 0.9],
    }
)


def _on(backend: object, table: pa.Table) -> ibis.Table:
    """``table`` on ``backend`` without writing files (a temp view on Spark, not spark-warehouse/)."""
    name = f"t_{uuid.uuid4().hex[:8]}"
    if getattr(backend, "name", "") == "pyspark":
        return register_arrow(backend, name, table)
    return backend.create_table(name, table, temp=True)  # type: ignore[attr-defined]


def test_user_weights_by_hand(backend: object) -> None:
    t = _on(backend, INDICATORS)
    res = score_customers(
        t, ["revenue", "recency_days"], cost=["recency_days"], weights={"revenue": 3, "recency_days": 1}
    )
    assert res.weights == pytest.approx({"revenue": 0.75, "recency_days": 0.25})
    out = res.to_pyarrow().to_pylist()
    # c1: revenue (1200-20)/1180 = 1, recency (700-5)/695 = 1 -> score 1
    assert out[0]["customer_id"] == "c1" and out[0]["score"] == pytest.approx(1.0)
    # c3: revenue 30/1180, recency 400/695
    c3 = next(r for r in out if r["customer_id"] == "c3")
    assert c3["score"] == pytest.approx(0.75 * 30 / 1180 + 0.25 * 400 / 695)
    assert c3["contribution_revenue"] + c3["contribution_recency_days"] == pytest.approx(c3["score"])
    assert [r["rank"] for r in out] == [1, 2, 3, 4, 5, 6]
    assert [r["score"] for r in out] == sorted((r["score"] for r in out), reverse=True)
    assert out[-1]["customer_id"] == "c6"


def test_entropy_weights_match_numpy(backend: object) -> None:
    t = _on(backend, INDICATORS)
    cols = ["revenue", "order_count", "recency_days", "arrears_rate"]
    cost = ["recency_days", "arrears_rate"]
    res = score_customers(t, cols, cost=cost, method="entropy")
    x = np.column_stack([np.asarray(INDICATORS[c], dtype=float) for c in cols])
    r = (x - x.min(0)) / (x.max(0) - x.min(0))
    r[:, 2:] = 1 - r[:, 2:]  # cost indicators reversed
    np.testing.assert_allclose(list(res.weights.values()), entropy_weights(r).weights, rtol=1e-9)
    assert res.summary()["entropy"]["weights"] == pytest.approx(res.weights)


def test_ahp_weights_and_tiers(backend: object) -> None:
    t = _on(backend, INDICATORS)
    names = ["revenue", "order_count", "arrears_rate"]
    ahp = ahp_weights(
        pairwise_matrix(
            names, {("revenue", "order_count"): 3, ("revenue", "arrears_rate"): 5, ("order_count", "arrears_rate"): 2}
        ),
        names,
    )
    res = score_customers(t, cost=["arrears_rate"], ahp=ahp, tiers=[("top", 0.34), ("rest", 1.0)])
    assert res.method == "ahp"
    assert res.weights == pytest.approx(ahp.weight_map())
    out = res.to_pyarrow().to_pylist()
    assert [r["tier"] for r in out] == ["top", "top", "top", "rest", "rest", "rest"]  # ceil(0.34 * 6) = 3
    assert {r["tier_zh"] for r in out} == {""}
    default = score_customers(t, ["revenue"]).to_pyarrow().to_pylist()
    assert [(r["tier"], r["tier_zh"]) for r in default][:2] == [("key", "关键客户"), ("important", "重要客户")]


def test_zscore_normalisation(backend: object) -> None:
    t = _on(backend, INDICATORS)
    res = score_customers(t, ["revenue"], normalisation="zscore")
    x = np.asarray(INDICATORS["revenue"], dtype=float)
    z = (x - x.mean()) / x.std()
    got = {r["customer_id"]: r["score"] for r in res.to_pyarrow().to_pylist()}
    np.testing.assert_allclose([got[c] for c in INDICATORS["customer_id"].to_pylist()], z)


def _frame(draw_values: list[tuple[float, float, float]]) -> pa.Table:
    return pa.table(
        {
            "customer_id": [f"c{i}" for i in range(len(draw_values))],
            "a": [v[0] for v in draw_values],
            "b": [v[1] for v in draw_values],
            "c": [v[2] for v in draw_values],
        }
    )


# whole-number values: spans of one ulp would make rescaling change which values tie
rows = st.lists(
    st.tuples(
        st.integers(-(10**6), 10**6).map(float),
        st.integers(0, 10**4).map(lambda v: v / 4),
        st.integers(0, 50).map(float),
    ),
    min_size=2,
    max_size=25,
)


@settings(max_examples=30, deadline=None)
@given(rows, st.lists(st.floats(0.01, 10), min_size=3, max_size=3))
def test_minmax_scores_in_unit_interval_and_contributions_sum(values: list, w: list[float]) -> None:
    res = score_customers(_frame(values), ["a", "b", "c"], cost=["c"], weights=w)
    out = res.to_pyarrow()
    score = np.asarray(out["score"])
    assert np.all((score >= -1e-12) & (score <= 1 + 1e-12))
    parts = sum(np.asarray(out[f"contribution_{c}"]) for c in "abc")
    np.testing.assert_allclose(parts, score, atol=1e-12)
    assert sum(res.weights.values()) == pytest.approx(1.0)
    assert all(v >= 0 for v in res.weights.values())
    assert sorted(out["rank"].to_pylist()) == list(range(1, len(values) + 1))


@settings(max_examples=30, deadline=None)
@given(rows, st.floats(1e-3, 1e3), st.sampled_from(["minmax", "zscore"]), st.sampled_from(["equal", "entropy"]))
def test_scores_invariant_to_positive_rescaling(values: list, c: float, how: str, method: str) -> None:
    base = _frame(values)
    if method == "entropy" and all(len(set(base[k].to_pylist())) == 1 for k in "abc"):
        return
    scaled = base.set_column(1, "a", pa.array([v * c for v in base["a"].to_pylist()]))
    r1 = score_customers(base, ["a", "b", "c"], method=method, normalisation=how).to_pyarrow()  # type: ignore[arg-type]
    r2 = score_customers(scaled, ["a", "b", "c"], method=method, normalisation=how).to_pyarrow()  # type: ignore[arg-type]
    s1 = dict(zip(r1["customer_id"].to_pylist(), r1["score"].to_pylist()))
    s2 = dict(zip(r2["customer_id"].to_pylist(), r2["score"].to_pylist()))
    for k in s1:
        assert s2[k] == pytest.approx(s1[k], rel=1e-6, abs=1e-9)


def test_ranking_invariant_to_rescaling_on_distinct_scores() -> None:
    scaled = INDICATORS.set_column(1, "revenue", pa.array([v * 6.5 for v in INDICATORS["revenue"].to_pylist()]))
    cols = ["revenue", "order_count", "recency_days"]
    r1 = score_customers(INDICATORS, cols, cost=["recency_days"], method="entropy").to_pyarrow()
    r2 = score_customers(scaled, cols, cost=["recency_days"], method="entropy").to_pyarrow()
    assert r1["customer_id"].to_pylist() == r2["customer_id"].to_pylist()


def test_constant_indicator_adds_nothing() -> None:
    t = INDICATORS.append_column("flat", pa.array([5.0] * 6))
    res = score_customers(t, ["revenue", "flat"], method="entropy")
    assert res.weights["flat"] == 0.0
    assert all(v == 0 for v in res.to_pyarrow()["contribution_flat"].to_pylist())


def test_missing_values_error_names_the_customer_or_count_as_worst() -> None:
    t = pa.table({"customer_id": ["a", "b", "c"], "revenue": [10.0, None, 30.0]})
    with pytest.raises(InputError, match=r"'revenue' is missing for 1 customer\(s\) \(first: customer b\)"):
        score_customers(t, ["revenue"])
    out = score_customers(t, ["revenue"], on_missing="worst").to_pyarrow().to_pylist()
    assert out[-1]["customer_id"] == "b" and out[-1]["score"] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "error", "expected"),
    [
        ({"columns": ["revenu"]}, InputError, "did you mean 'revenue'"),
        ({"columns": ["revenue"], "customer_col": "cust"}, InputError, "customer column 'cust'"),
        (
            {"columns": ["revenue", "order_count"], "weights": [1.0]},
            InputError,
            r"1 weight\(s\) given for 2 indicator\(s\)",
        ),
        ({"columns": ["revenue"], "weights": {"revnue": 1.0}}, InputError, "did you mean 'revenue'"),
        ({"columns": ["revenue", "order_count"], "weights": {"revenue": 1.0}}, InputError, "no weight for indicator"),
        ({"columns": ["revenue"], "weights": [-1.0]}, InputError, "'revenue' must be a finite number >= 0"),
        ({"columns": ["revenue"], "weights": [0.0]}, InputError, "sum to 0"),
        ({"columns": ["revenue"], "cost": ["recency"]}, InputError, "cost indicator 'recency'"),
        ({"columns": ["customer_id"]}, InputError, "must be numeric"),
        ({"columns": ["revenue"], "tiers": [("a", 0.5), ("b", 0.9)]}, ConfigError, "must reach share 1.0"),
        ({"columns": ["revenue"], "tiers": [("a", 0.5), ("b", 0.4), ("c", 1.0)]}, ConfigError, "must rise"),
        ({"columns": ["revenue"], "normalisation": "rank"}, InputError, "normalisation"),
        ({"columns": ["revenue"], "tiers": [("a",)]}, ConfigError, "each tier is"),
        ({"columns": ["revenue"], "tiers": [("a", "x")]}, ConfigError, "share must be a number"),
        ({"columns": ["revenue"], "method": "ahp"}, InputError, "needs pairwise judgements"),
        ({"columns": ["revenue"], "method": "entropy", "weights": [1.0]}, InputError, "derives its own"),
    ],
)
def test_bad_input_names_the_problem(kwargs: dict, error: type, expected: str) -> None:
    with pytest.raises(error, match=expected):
        score_customers(INDICATORS, **kwargs)


def test_ahp_mismatch_and_inconsistency_are_config_errors() -> None:
    names = ["revenue", "order_count"]
    ahp = ahp_weights([[1, 2], [0.5, 1]], names)
    with pytest.raises(ConfigError, match="scored but not judged: recency_days"):
        score_customers(INDICATORS, ["revenue", "order_count", "recency_days"], ahp=ahp)
    bad_names = ["revenue", "order_count", "arrears_rate"]
    bad = ahp_weights(
        pairwise_matrix(
            bad_names,
            {("revenue", "order_count"): 9, ("order_count", "arrears_rate"): 9, ("arrears_rate", "revenue"): 9},
        ),
        bad_names,
    )
    with pytest.raises(ConfigError, match=r"inconsistent: CR = \d\.\d+ >= 0.10"):
        score_customers(INDICATORS, ahp=bad)
    res = score_customers(INDICATORS, ahp=bad, allow_inconsistent=True)
    assert res.summary()["ahp"]["consistent"] is False


def test_empty_table() -> None:
    t = INDICATORS.slice(0, 0)
    with pytest.raises(InputError, match="no rows"):
        score_customers(t, ["revenue"])


def test_parse_weights_by_name_and_by_position() -> None:
    names = ["revenue", "order_count", "recency_days"]
    assert parse_weights("revenue=0.5, order_count=0.3", names) == {"revenue": 0.5, "order_count": 0.3}
    assert parse_weights("0.5,0.3,0.2", names) == [0.5, 0.3, 0.2]
    assert parse_weights("0.5,0.3") == [0.5, 0.3]  # no indicators given: nothing to check against
    assert parse_weights("revnue=1") == {"revnue": 1.0}


def test_parse_weights_checks_names_and_count_against_indicators() -> None:
    names = ["revenue", "order_count", "recency_days"]
    with pytest.raises(InputError, match=r"unknown indicator 'revnue'.*did you mean 'revenue'\?"):
        parse_weights("revnue=0.5,order_count=0.5", names)
    with pytest.raises(InputError, match=r"got 2 plain weights for 3 indicators"):
        parse_weights("0.5,0.5", names)
    with pytest.raises(InputError, match=r"got 4 plain weights for 3 indicators"):
        parse_weights("0.25,0.25,0.25,0.25", names)
    with pytest.raises(InputError, match="mixes"):
        parse_weights("revenue=0.5,0.5", names)
    with pytest.raises(InputError, match="must be a number"):
        parse_weights("revenue=high", names)
