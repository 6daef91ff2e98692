"""Backend quirks in one place: private Ibis attributes and version workarounds.

custlens talks to its engines through Ibis' public API. Where that is not enough -- the
backend a table is bound to, the Spark session behind an Ibis PySpark connection, the
DuckDB connection behind an Ibis DuckDB connection, Ibis' cache bookkeeping, a call that
fails on the pinned versions -- the workaround lives here, so that an Ibis or DuckDB
upgrade is checked against one module. Every other module calls these functions.

Pinned versions this module is written for: ibis-framework 12.0.0, duckdb 2.x, pyspark 4.0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custlens.errors import BackendError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

__all__ = [
    "add_columns",
    "UTC_NAMES",
    "backend_of",
    "backend_name",
    "column_table",
    "spark_session",
    "check_utc",
    "duckdb_connection",
    "DUCKDB_CONFIG",
    "table_exists",
    "register_arrow",
    "detach_cache_finalizers",
]

UTC_NAMES = ("UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "+00:00", "UTC+00:00")
"""Spellings of UTC a Spark session may report for ``spark.sql.session.timeZone``."""


def backend_of(table: ir.Table) -> Any | None:
    """The backend ``table`` is bound to, or ``None`` for memtables and unbound tables.

    Ibis 12 has no public accessor; ``Table._find_backend`` is the one it uses itself.
    Unbound expressions run on Ibis' default backend (DuckDB) when executed.
    """
    try:
        return table._find_backend(use_default=False)
    except Exception:  # noqa: BLE001 - memtables and unbound tables raise; they run on the default backend
        return None


def backend_name(table: ir.Table) -> str:
    """``"duckdb"``, ``"pyspark"``, ... for the backend of ``table`` (``"duckdb"`` when unbound)."""
    backend = backend_of(table)
    return str(getattr(backend, "name", "duckdb")) if backend is not None else "duckdb"


def column_table(col: ir.Value) -> ir.Table:
    """The table a column expression reads from (the column as a table when it is derived).

    Ibis 12 exposes no accessor: a plain column's operation is an ``ops.Field`` whose
    ``rel`` is its table.
    """
    import ibis.expr.operations as ops

    op = col.op()
    return op.rel.to_expr() if isinstance(op, ops.Field) else col.as_table()


def spark_session(backend: Any) -> Any:
    """The ``pyspark.sql.SparkSession`` behind an Ibis PySpark connection (private ``_session``)."""
    session = getattr(backend, "_session", None)
    if session is None:
        raise BackendError(f"{type(backend).__name__} is not an Ibis PySpark connection")
    return session


def check_utc(table: ir.Table) -> None:
    """Refuse a table on a Spark session whose time zone is not UTC (calendar days would shift).

    DuckDB connections made by Ibis are in UTC already; unbound tables run on DuckDB.

    Raises
    ------
    BackendError
        Naming the session's time zone and the setting to change.
    """
    backend = backend_of(table)
    if backend is None or getattr(backend, "name", "") != "pyspark":
        return
    zone = spark_session(backend).conf.get("spark.sql.session.timeZone")
    if str(zone).upper() not in UTC_NAMES:
        raise BackendError(
            f"the Spark session's time zone is {zone!r}; custlens takes calendar days in UTC: "
            "set spark.sql.session.timeZone=UTC"
        )


DUCKDB_CONFIG: dict[str, str] = {"disabled_optimizers": "distinct_aggregate_rewrite"}
"""Settings of every DuckDB connection custlens opens (``ibis.duckdb.connect(..., **DUCKDB_CONFIG)``).

DuckDB 2.0's ``distinct_aggregate_rewrite`` turns the per-customer ``COUNT(DISTINCT ...)``
of :func:`custlens.features.customer_features` (orders, purchase days, active periods) into
one shared scan feeding a hash aggregation per distinct count, on every thread at once; that
part cannot spill. On 10M transactions (1.1M customers, 2 threads) the features then failed
below about 700 MB of ``memory_limit``, and on 100M below 6 GB; without the rewrite they
finish within 300 MB, with the same results (counts equal; sums to the last bit, as any
change of summation order) and no measurable change of time (``docs/performance.md``).
"""


def duckdb_connection(con: Any) -> Any:
    """The ``duckdb.DuckDBPyConnection`` behind an Ibis DuckDB connection (its ``con`` attribute)."""
    raw = getattr(con, "con", None)
    if raw is None:
        raise BackendError(f"{type(con).__name__} is not an Ibis DuckDB connection")
    return raw


def table_exists(con: Any, name: str) -> bool:
    """Whether ``con`` holds a table or view ``name``.

    Uses ``con.table`` rather than ``con.list_tables``: with ibis 12.0.0, DuckDB's
    ``list_tables`` calls ``fetch_arrow_table``, which duckdb 2.0 removed.
    """
    try:
        con.table(name)
    except Exception:  # noqa: BLE001 - every backend raises its own "table not found" type
        return False
    return True


def add_columns(con: Any, table: str, columns: dict[str, Any]) -> None:
    """Add nullable ``columns`` (name -> Ibis type) to an existing ``table``.

    Ibis has no portable ``ALTER TABLE``; DuckDB and Spark SQL both accept
    ``ALTER TABLE t ADD COLUMN c TYPE`` with the backend's own type names.
    """
    import sqlglot as sg

    dialect = "spark" if getattr(con, "name", "") == "pyspark" else "duckdb"
    for name, dtype in columns.items():
        sql_type = con.compiler.type_mapper.from_ibis(dtype).sql(dialect)
        column = sg.to_identifier(name, quoted=True).sql(dialect)
        con.raw_sql(f"ALTER TABLE {sg.to_identifier(table, quoted=True).sql(dialect)} ADD COLUMN {column} {sql_type}")


def register_arrow(backend: Any, name: str, table: pa.Table) -> ir.Table:
    """Create ``table`` on ``backend`` under ``name`` (replacing it) and return the Ibis table.

    On PySpark the DataFrame is made from Arrow directly: Ibis' ``create_table`` goes
    through pandas, which turns null floats into NaN, and Spark keeps NaN as a value.
    """
    if getattr(backend, "name", "") == "pyspark":
        spark_session(backend).createDataFrame(table).createOrReplaceTempView(name)
        return backend.table(name)
    return backend.create_table(name, table, overwrite=True)


def detach_cache_finalizers(con: Any) -> None:
    """Forget the tables ``con`` cached with ``Table.cache()`` without dropping them.

    Cached tables are temporary tables that end with the connection. Ibis 12 drops each one
    from a ``weakref.finalize`` hook when its expression is garbage-collected; on a closed
    DuckDB connection that hook fails. Detaching the hooks (private ``_cache_name_to_entry``
    and ``_cache_op_to_entry``) before closing lets results held by the caller die quietly.
    """
    entries = getattr(con, "_cache_name_to_entry", None)
    if isinstance(entries, dict):
        for entry in list(entries.values()):
            entry.finalizer.detach()
        entries.clear()
        getattr(con, "_cache_op_to_entry", {}).clear()


def cache(table: ir.Table) -> ir.Table:
    """``table.cache()`` on any backend: materialised once, read as a table afterwards.

    Ibis 12's PySpark backend compiles the cached query without registering the in-memory
    tables (``ibis.memtable``) it reads, so Spark cannot find them; they are registered
    first here, as every execution does.

    An expression bound to no backend (in-memory tables only) is returned as it is: it is
    in memory already, and caching it would bind it to Ibis' default backend, which
    another backend's tables cannot join.
    """
    backend = backend_of(table)
    if backend is None:
        return table
    if getattr(backend, "name", "") == "pyspark":
        backend._register_in_memory_tables(table)
    return table.cache()


def spark_frame(table: ir.Table) -> Any:
    """The ``pyspark.sql.DataFrame`` of an Ibis expression on a PySpark connection.

    For what Ibis cannot express (``mapInArrow``, MLlib); the in-memory tables the
    expression reads are registered first, as Ibis does before it executes.
    """
    backend = backend_of(table)
    if backend is None:
        raise BackendError("an expression of in-memory tables only has no Spark session; give a Spark table")
    session = spark_session(backend)
    backend._register_in_memory_tables(table)
    return session.sql(backend.compile(table))


def on_engine(table: ir.Table, engine_table: ir.Table) -> ir.Table:
    """``table`` where ``engine_table`` is computed: itself on the same backend, else its rows in memory.

    A Spark workspace computes on Spark and stores results (the per-customer analysis,
    segment snapshots) in its DuckDB file; those results join the Spark tables as
    in-memory tables (one row per customer). On Spark they are registered from Arrow
    (:func:`register_arrow`), not through pandas, which would turn missing integers into
    floats that Spark then reads as nulls in the joins.
    """
    import uuid

    import ibis

    engine = backend_of(engine_table)
    if backend_of(table) is engine:
        return table
    data = table.to_pyarrow()
    if engine is not None and getattr(engine, "name", "") == "pyspark":
        return register_arrow(engine, f"custlens_stored_{uuid.uuid4().hex}", data)
    return ibis.memtable(data)
