"""DuckDB and Spark compute the same features: one input, both engines, results compared.

The ``backend`` fixture runs a test on each engine against expectations computed on that
engine; these tests instead compute every feature function on the same demo company (with
some returns recorded as positive amounts and the flag, and a text copy of the dates) on
DuckDB and on PySpark and require equal tables.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from custlens.features import (
    calibration_holdout,
    cohort_table,
    customer_features,
    period_values,
    purchase_history,
    value_indicators,
)
from custlens.features.coerce import typed
from custlens.synth import generate_company
from custlens.warehouse.compat import register_arrow

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

AS_OF = dt.date(2025, 6, 30)


def assert_same(duck: ibis.Table, spark: ibis.Table, keys: list[str]) -> None:
    """Equal rows (sorted by ``keys``), numbers to 1e-9, timestamps as UTC instants."""

    def frame(expr: ibis.Table) -> pd.DataFrame:
        df = expr.to_pandas().sort_values(keys).reset_index(drop=True)
        for c in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[c]):
                df[c] = pd.to_datetime(df[c], utc=True)
        return df

    a, b = frame(duck), frame(spark)
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) > 0
    for c in a.columns:
        if pd.api.types.is_numeric_dtype(a[c]) and pd.api.types.is_numeric_dtype(b[c]):
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-9, atol=1e-9, err_msg=c)
        else:
            assert [None if pd.isna(v) else v for v in a[c]] == [None if pd.isna(v) else v for v in b[c]], c


@pytest.fixture(scope="module")
def company_tables() -> dict[str, pa.Table]:
    company = generate_company(250, seed=21, start="2023-01-01", end="2025-12-31")
    tx = company.transactions
    returns = np.flatnonzero(tx["return_flag"].to_numpy(zero_copy_only=False))
    flip = np.zeros(tx.num_rows, dtype=bool)
    flip[returns[::2]] = True
    tx = tx.set_column(
        tx.column_names.index("amount"), "amount", pc.if_else(pa.array(flip), pc.abs(tx["amount"]), tx["amount"])
    )
    forms = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y/%m/%d", "%Y%m%d"]
    when = tx["ordered_at"].to_pylist()
    text = [w.strftime(forms[i % len(forms)]) for i, w in enumerate(when)]
    return {
        "transactions": tx,
        "text_transactions": tx.set_column(tx.column_names.index("ordered_at"), "ordered_at", pa.array(text)),
        "customers": company.customers,
        "receivables": company.receivables,
        "interactions": company.interactions,
    }


@pytest.fixture(scope="module")
def engines(company_tables: dict[str, pa.Table], spark_session: object) -> dict[str, dict[str, ibis.Table]]:
    duck = ibis.duckdb.connect()
    spark = ibis.pyspark.connect(spark_session)
    return {
        name: {t: register_arrow(con, f"parity_{t}", table) for t, table in company_tables.items()}
        for name, con in (("duckdb", duck), ("spark", spark))
    }


def test_value_indicators_and_customer_features(engines: dict) -> None:
    def run(t: dict) -> tuple[ibis.Table, ibis.Table]:
        ind = value_indicators(
            t["transactions"],
            receivables=t["receivables"],
            interactions=t["interactions"],
            customers=t["customers"],
            as_of=AS_OF,
        )
        return ind, customer_features(t["transactions"], as_of=AS_OF, window_days=180, period_days=60, periods=5)

    for duck, spark in zip(run(engines["duckdb"]), run(engines["spark"])):
        assert_same(duck, spark, ["customer_id"])


@pytest.mark.parametrize("unit", ["D", "W", "M"])
def test_purchase_histories(engines: dict, unit: str) -> None:
    def run(t: dict) -> tuple[ibis.Table, ibis.Table]:
        tx = t["transactions"]
        return (
            purchase_history(tx, as_of=AS_OF, time_unit=unit),
            calibration_holdout(tx, calibration_end="2024-12-31", observation_end=AS_OF, time_unit=unit),
        )

    for duck, spark in zip(run(engines["duckdb"]), run(engines["spark"])):
        assert_same(duck, spark, ["customer_id"])


def test_period_values_and_cohorts(engines: dict) -> None:
    def run(t: dict) -> tuple[ibis.Table, ibis.Table]:
        tx = t["transactions"]
        return (
            period_values(tx, time_unit="W", as_of=AS_OF),
            cohort_table(tx, time_unit="M", as_of=AS_OF, value="revenue"),
        )

    duck, spark = run(engines["duckdb"]), run(engines["spark"])
    assert_same(duck[0], spark[0], ["customer_id", "period_start"])
    assert_same(duck[1], spark[1], ["cohort", "period_index"])


def test_text_dates_are_read_alike(engines: dict) -> None:
    """ISO with a space or T and Z, slashes and YYYYMMDD text give the same days on both engines."""

    def run(t: dict) -> ibis.Table:
        text = typed(t["text_transactions"], dates=["ordered_at"])
        return value_indicators(text, as_of=AS_OF).select("customer_id", "order_count", "revenue", "recency_days")

    assert_same(run(engines["duckdb"]), run(engines["spark"]), ["customer_id"])
    # and they are the days of the typed timestamps
    typed_ = value_indicators(engines["duckdb"]["transactions"], as_of=AS_OF)
    assert_same(
        run(engines["duckdb"]), typed_.select("customer_id", "order_count", "revenue", "recency_days"), ["customer_id"]
    )
