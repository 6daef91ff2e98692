"""DuckDB and Spark score alike: the same indicators on both engines give the same ranking.

Weights, statistics and the ranked table (scores, contributions, ranks, tiers) of every
weighting method are computed on the same demo company on DuckDB and on PySpark.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

from custlens.scoring import ahp_weights, score_customers, score_transactions
from custlens.synth import generate_company
from custlens.warehouse.compat import backend_of, register_arrow

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

AS_OF = dt.date(2025, 6, 30)
COLUMNS = ["revenue", "order_count", "avg_order_value", "recency_days", "arrears_rate", "complaint_ratio"]
COST = ["recency_days", "arrears_rate", "complaint_ratio"]


def _frame(expr: ibis.Table) -> pd.DataFrame:
    return expr.to_pandas().sort_values("rank").reset_index(drop=True)


def assert_same_ranking(duck: ibis.Table, spark: ibis.Table) -> None:
    a, b = _frame(duck), _frame(spark)
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
    for c in a.columns:
        if pd.api.types.is_numeric_dtype(a[c]):
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-9, atol=1e-12, err_msg=c)
        else:
            assert a[c].tolist() == b[c].tolist(), c


@pytest.fixture(scope="module")
def engines(spark_session: object) -> dict[str, dict[str, ibis.Table]]:
    company = generate_company(300, seed=44, start="2023-01-01", end="2025-12-31")
    sources = {n: getattr(company, n) for n in ("transactions", "receivables", "interactions")}
    return {
        name: {k: register_arrow(con, f"scoreparity_{k}", v) for k, v in sources.items()}
        for name, con in (("duckdb", ibis.duckdb.connect()), ("spark", ibis.pyspark.connect(spark_session)))
    }


@pytest.mark.parametrize(
    "options",
    [
        {"method": "entropy"},
        {"normalisation": "zscore"},
        {"weights": {c: float(i + 1) for i, c in enumerate(COLUMNS)}},
        {"ahp": ahp_weights(np.ones((len(COLUMNS), len(COLUMNS))), COLUMNS)},
    ],
    ids=["entropy", "zscore-equal", "user", "ahp"],
)
def test_scores_from_transactions_agree(engines: dict, options: dict) -> None:
    results = [
        score_transactions(
            t["transactions"],
            COLUMNS,
            as_of=AS_OF,
            receivables=t["receivables"],
            interactions=t["interactions"],
            cost=COST,
            on_missing="worst",
            **options,
        )
        for t in (engines["duckdb"], engines["spark"])
    ]
    duck, spark = results
    assert duck.n_customers == spark.n_customers > 0
    assert duck.weights == pytest.approx(spark.weights, rel=1e-12)
    for c in COLUMNS:
        assert duck.stats[c] == pytest.approx(spark.stats[c], rel=1e-12, nan_ok=True), c
    assert_same_ranking(duck.table, spark.table)


def test_scores_of_a_given_indicator_table_agree(engines: dict) -> None:
    """score_customers on an indicator table held by each engine (here: the duckdb one's copy)."""
    from custlens.features import value_indicators

    ind = value_indicators(engines["duckdb"]["transactions"], as_of=AS_OF).to_pyarrow()
    tables = [
        register_arrow(con, "scoreparity_indicators", ind)
        for con in (ibis.duckdb.connect(), backend_of(engines["spark"]["transactions"]))
    ]
    duck, spark = (
        score_customers(t, ["revenue", "tenure_days", "recency_days"], cost=["recency_days"], method="entropy")
        for t in tables
    )
    assert duck.weights == pytest.approx(spark.weights, rel=1e-12)
    assert_same_ranking(duck.table, spark.table)
