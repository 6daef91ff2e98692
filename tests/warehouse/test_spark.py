"""The same Ibis expression gives the same answer on the DuckDB warehouse and on Spark."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from custlens.warehouse import Workspace, connect_spark, export_parquet

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _fill(ws: Workspace) -> None:
    ws.raw.execute("""
        INSERT INTO transactions (order_id, line, customer_id, ordered_at, amount, return_flag)
        VALUES ('o1', 1, 'c1', TIMESTAMPTZ '2024-01-01 10:00:00+00', 10.5, false),
               ('o2', 1, 'c1', TIMESTAMPTZ '2024-02-01 10:00:00+00', -2.5, true),
               ('o3', 1, 'c2', TIMESTAMPTZ '2024-03-01 10:00:00+00', 7.0, false)
    """)


def _per_customer(t):  # the expression under test, backend-agnostic
    return (
        t.group_by("customer_id")
        .aggregate(revenue=t.amount.sum(), orders=t.order_id.nunique(), first=t.ordered_at.min())
        .order_by("customer_id")
    )


def test_workspace_tables_run_on_spark(tmp_path: Path, spark_session: object) -> None:
    with Workspace.init(tmp_path / "w") as ws:
        _fill(ws)
        expected = _per_customer(ws.table("transactions")).to_pyarrow()
        con = connect_spark(spark_session, ws)
        got = _per_customer(con.table("transactions")).to_pyarrow()
    assert got.column("customer_id").to_pylist() == ["c1", "c2"]
    assert got.column("revenue").to_pylist() == expected.column("revenue").to_pylist() == [8.0, 7.0]
    assert got.column("orders").to_pylist() == [2, 1]
    assert [v.timestamp() for v in got.column("first").to_pylist()] == [
        v.timestamp() for v in expected.column("first").to_pylist()
    ]


def test_arrow_tables_and_parquet_folders_register(tmp_path: Path, spark_session: object) -> None:
    with Workspace.init(tmp_path / "w") as ws:
        _fill(ws)
        paths = export_parquet(ws, tmp_path / "pq", tables=["transactions"])
    assert paths["transactions"].is_file()
    con = connect_spark(spark_session, tmp_path / "pq")
    assert con.table("transactions").count().execute() == 3
    con = connect_spark(spark_session, {"small": pa.table({"x": [1, 2, 3]})})
    assert con.table("small").x.sum().execute() == 6


def test_a_session_moves_rows_as_arrow_batches(spark_session: object) -> None:
    # without Arrow, Spark 4.0 sends results to Python row by row (docs/performance.md)
    from custlens.warehouse import start_spark

    session = start_spark()
    assert session is spark_session
    assert session.conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"


def test_a_users_arrow_setting_is_kept() -> None:
    from custlens.warehouse._spark import _arrow_transfers

    class Conf:
        def __init__(self, given: set[str]) -> None:
            self.given, self.set_to = given, {}

        def contains(self, key: str) -> bool:
            return key in self.given

        def set(self, key: str, value: str) -> None:
            self.set_to[key] = value

    class Context:
        def __init__(self, conf: Conf) -> None:
            self.conf = conf

        def getConf(self) -> Conf:
            return self.conf

    class Session:
        def __init__(self, given: set[str]) -> None:
            self.sparkContext = Context(Conf(given))
            self.conf = Conf(set())

    mine = Session({"spark.sql.execution.arrow.pyspark.enabled"})
    _arrow_transfers(mine)
    assert mine.conf.set_to == {}
    plain = Session(set())
    _arrow_transfers(plain)
    assert plain.conf.set_to == {"spark.sql.execution.arrow.pyspark.enabled": "true"}


def test_in_memory_tables_reach_spark_from_arrow(tmp_path: Path, spark_session: object) -> None:
    # through pandas 3, text columns are Arrow-backed and PySpark 4.0's Arrow conversion
    # rejects them: Spark warned and sent the rows as Python objects; null floats became NaN
    import datetime as dt
    import decimal
    import warnings

    import ibis

    from custlens.warehouse import start_spark

    start_spark()  # Arrow transfers on, as for a workspace
    data = pa.table(
        {
            "customer_id": pa.chunked_array([["c1", None], ["c3"]]),
            "value": pa.array([1.5, None, float("nan")]),
            "n": pa.array([1, None, 3], pa.int64()),
            "day": pa.array([dt.date(2024, 1, 1), None, dt.date(2024, 3, 1)]),
            "at": pa.array([dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC), None, None], pa.timestamp("us", tz="UTC")),
            "amount": pa.array([decimal.Decimal("1.25"), None, decimal.Decimal("-3.50")], pa.decimal128(10, 2)),
        }
    )
    with Workspace.init(tmp_path / "w") as ws:
        con = connect_spark(spark_session, ws)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # no fallback warning on the terminal
            table = ibis.memtable(data)
            got = con.to_pyarrow(table)  # registers the table on Spark
            frame = spark_session.sql(con.compile(table))  # type: ignore[attr-defined]
            nulls = frame.selectExpr("count_if(isnan(value))", "count_if(value IS NULL)").collect()[0]
    assert got.column("customer_id").to_pylist() == ["c1", None, "c3"]
    assert got.column("n").to_pylist() == [1, None, 3]
    assert got.column("day").to_pylist() == data.column("day").to_pylist()
    assert got.column("amount").to_pylist() == data.column("amount").to_pylist()
    assert [v.timestamp() if v else None for v in got.column("at").to_pylist()] == [1704103200.0, None, None]
    assert got.column("value").to_pylist()[0] == 1.5
    assert tuple(nulls) == (1, 1)  # on Spark a missing value stays missing, NaN stays NaN
