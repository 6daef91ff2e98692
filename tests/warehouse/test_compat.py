"""custlens.warehouse.compat: the backend quirks the rest of the code relies on, checked on the pinned versions."""

from __future__ import annotations

import gc
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from custlens.errors import BackendError
from custlens.warehouse import Workspace, compat


def test_backend_of_bound_and_unbound_tables() -> None:
    con = ibis.duckdb.connect()
    bound = con.create_table("t", pa.table({"x": [1]}))
    assert compat.backend_of(bound) is con and compat.backend_name(bound) == "duckdb"
    free = ibis.memtable({"x": [1]})
    assert compat.backend_of(free) is None and compat.backend_name(free) == "duckdb"
    compat.check_utc(bound)  # DuckDB connections made by Ibis are in UTC: nothing to refuse


def test_column_table_finds_the_table_of_a_column() -> None:
    t = ibis.memtable({"x": [1, 2], "y": ["a", "b"]})
    assert compat.column_table(t.x).equals(t)
    derived = compat.column_table(t.x + 1)
    assert derived.columns == (derived.columns[0],) and derived.count().execute() == 2


def test_table_exists_without_list_tables() -> None:
    con = ibis.duckdb.connect()
    assert not compat.table_exists(con, "nope")
    con.create_table("yes", pa.table({"x": [1]}))
    assert compat.table_exists(con, "yes")


def test_duckdb_connection_and_spark_session_refuse_other_objects() -> None:
    con = ibis.duckdb.connect()
    assert compat.duckdb_connection(con).execute("select 42").fetchone() == (42,)
    with pytest.raises(BackendError, match="not an Ibis DuckDB connection"):
        compat.duckdb_connection(object())
    with pytest.raises(BackendError, match="not an Ibis PySpark connection"):
        compat.spark_session(con)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_cached_results_survive_closing_the_workspace(tmp_path) -> None:
    """Workspace.close detaches Ibis' cache hooks: a cached table collected later raises nothing."""
    ws = Workspace.init(tmp_path / "ws")
    cached = ws.table("transactions").cache()
    assert cached.count().execute() == 0
    ws.close()
    del cached
    gc.collect()  # with the hooks attached, dropping the temp table on a closed connection would fail


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_record_batches_stream_every_row_in_order() -> None:
    con = ibis.duckdb.connect()
    t = con.create_table("t", pa.table({"x": list(range(10_000)), "y": [str(i) for i in range(10_000)]}))
    ordered = t.order_by(ibis.desc("x"))
    batches = list(compat.record_batches(ordered, 1_000))
    assert len(batches) >= 2 and all(b.num_rows <= 2_048 for b in batches)
    assert pa.Table.from_batches(batches).equals(ordered.to_pyarrow())
    free = ibis.memtable({"x": [3, 1, 2]}).order_by("x")  # unbound: Ibis' default backend
    assert pa.Table.from_batches(list(compat.record_batches(free, 2)))["x"].to_pylist() == [1, 2, 3]


def test_record_batches_raise_duckdbs_own_error_from_a_stream(tmp_path: Path) -> None:
    """An error found after the first batches is DuckDB's exception, as for the whole query, not an OSError."""
    import duckdb

    src = tmp_path / "tx.csv"
    src.write_text("amount\n" + "".join(f"{i}.5\n" for i in range(300_000)) + "notanumber\n")
    con = ibis.duckdb.connect()
    t = con.read_csv(src, columns={"amount": "DOUBLE"}, header=True, auto_detect=False)
    with pytest.raises(duckdb.Error) as whole:
        t.to_pyarrow()
    batches = compat.record_batches(t.select(doubled=t.amount * 2), 1_000)
    assert next(batches).num_rows > 0  # the error comes after rows were read
    with pytest.raises(duckdb.Error) as streamed:
        list(batches)
    assert type(streamed.value) is type(whole.value) and not isinstance(streamed.value, OSError)
    assert "notanumber" in str(streamed.value)


def test_materialise_lets_go_of_in_memory_inputs() -> None:
    import weakref

    con = ibis.duckdb.connect()
    base = con.create_table("base", pa.table({"k": [1, 2, 3]}))
    data = pa.table({"k": [1, 2, 3], "v": [10.0, 20.0, 30.0]})
    mem = ibis.memtable(data)
    probe = weakref.ref(mem.op())
    joined = base.join(mem, "k").mutate(w=lambda t: t.v * 2)
    out = compat.materialise(joined)
    expected = joined.order_by("k").to_pyarrow()
    del joined, mem, data
    gc.collect()
    assert probe() is None  # nothing keeps the in-memory input alive
    assert out.order_by("k").to_pyarrow().equals(expected)
    name = out.op().name
    assert compat.table_exists(con, name)
    del out
    gc.collect()
    assert not compat.table_exists(con, name)  # dropped with its expression


def test_spark_helpers(spark_session: object) -> None:
    con = ibis.pyspark.connect(spark_session)
    t = compat.register_arrow(con, "compat_t", pa.table({"x": [1.0, None]}))
    assert compat.backend_name(t) == "pyspark" and compat.spark_session(con) is spark_session
    # nulls stay nulls (not NaN) when the table is made from Arrow
    assert t.x.isnull().sum().to_pyarrow().as_py() == 1
    spark_session.conf.set("spark.sql.session.timeZone", "Asia/Shanghai")  # type: ignore[attr-defined]
    try:
        with pytest.raises(BackendError, match="set spark.sql.session.timeZone=UTC"):
            compat.check_utc(t)
    finally:
        spark_session.conf.set("spark.sql.session.timeZone", "UTC")  # type: ignore[attr-defined]


def _typed(n: int = 50) -> pa.Table:
    import datetime as dt

    return pa.table(
        {
            "customer_id": pa.array([f"C{i:03d}" for i in range(n)]),
            "orders": pa.array([None if i % 7 == 0 else i for i in range(n)], pa.int64()),
            "revenue": pa.array([None if i % 5 == 0 else i * 1.5 for i in range(n)], pa.float64()),
            "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(n)], pa.date32()),
            "at": pa.array(
                [dt.datetime(2024, 1, 1, 8, tzinfo=dt.UTC) + dt.timedelta(hours=i) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "active": pa.array([i % 3 == 0 for i in range(n)]),
            "code": pa.array([None if i % 4 == 0 else i % 9 for i in range(n)], pa.int32()),
        }
    )


def test_to_arrow_on_spark_equals_ibis_to_pyarrow(spark_session: object) -> None:
    # Spark's own Arrow collection replaces Ibis' toPandas round trip: same values and types
    con = ibis.pyspark.connect(spark_session)
    t = compat.register_arrow(con, "compat_typed", _typed())
    derived = t.mutate(share=t.revenue / t.orders, label=t.customer_id.concat("-x"), month=t.day.truncate("M"))
    for expr in (t.order_by("customer_id"), derived.order_by("customer_id"), t.filter(t.orders > 1000)):
        got, want = compat.to_arrow(expr), expr.to_pyarrow()
        assert got.schema == want.schema and got.equals(want)
    assert compat.to_arrow(t.orders.sum()) == t.orders.sum().to_pyarrow()  # a scalar
    column = t.order_by("customer_id").revenue
    assert compat.to_arrow(column).equals(column.to_pyarrow())  # a column
    # record_batches on Spark: the rows in order, in batches of at most the size asked for
    batches = list(compat.record_batches(t.order_by(ibis.desc("customer_id")), 16))
    assert [b.num_rows for b in batches] == [16, 16, 16, 2]
    assert pa.Table.from_batches(batches).equals(t.order_by(ibis.desc("customer_id")).to_pyarrow())


def test_to_arrow_elsewhere_is_ibis_to_pyarrow() -> None:
    t = ibis.duckdb.connect().create_table("t", _typed())
    assert compat.to_arrow(t.order_by("customer_id")).equals(t.order_by("customer_id").to_pyarrow())
    assert compat.to_arrow(ibis.memtable({"x": [1, 2]}).x.sum()).as_py() == 3
