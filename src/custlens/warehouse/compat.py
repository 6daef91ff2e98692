"""Backend quirks in one place: private Ibis attributes and version workarounds.

custlens talks to its engines through Ibis' public API. Where that is not enough -- the
backend a table is bound to, the Spark session behind an Ibis PySpark connection, the
DuckDB connection behind an Ibis DuckDB connection, Ibis' cache bookkeeping, a call that
fails on the pinned versions -- the workaround lives here, so that an Ibis or DuckDB
upgrade is checked against one module. Every other module calls these functions.

Pinned versions this module is written for: ibis-framework 12.0.0, duckdb 2.x, pyspark 4.0.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
    "is_spark_connect",
    "DUCKDB_CONFIG",
    "table_exists",
    "register_arrow",
    "arrow_frame",
    "record_batches",
    "to_arrow",
    "materialise",
    "detach_cache_finalizers",
    "ordered_rows",
    "quantiles",
    "RANK_BUCKET_ROWS",
    "RANK_RANGES_LOCAL",
    "RANK_LOCAL_ROWS",
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
        arrow_frame(spark_session(backend), table).createOrReplaceTempView(name)
        return backend.table(name)
    return backend.create_table(name, table, overwrite=True)


def arrow_frame(session: Any, table: pa.Table, schema: Any = None) -> Any:
    """A Spark DataFrame of the Arrow ``table`` (with the Spark ``schema`` when given).

    The one way custlens hands Arrow data to Spark: PySpark 4 takes the Arrow table as it
    is, where a pandas frame would turn null floats into NaN (a value to Spark) and, under
    pandas 3, fail Spark's Arrow conversion (:func:`arrow_memtables`).
    """
    return session.createDataFrame(table) if schema is None else session.createDataFrame(table, schema=schema)


def arrow_memtables(backend: Any) -> None:
    """Make ``backend`` (PySpark, not Connect) register in-memory tables from Arrow, not pandas.

    Ibis 12 hands an ``ibis.memtable`` to Spark as a pandas frame (its workaround for
    PySpark before 4.0, which could not take Arrow). With pandas 3 its text columns are
    Arrow-backed, which PySpark 4.0's Arrow conversion of pandas rejects ("Cannot convert
    pyarrow.lib.ChunkedArray"): Spark warns on the terminal and falls back to sending the
    rows one by one as Python objects, and through pandas null floats become NaN, which
    Spark keeps as a value (:func:`register_arrow`). This instance of the backend (only
    it: Ibis' class is left alone) creates the DataFrame from the Arrow table instead,
    with the Spark schema Ibis would have given it.
    """
    if getattr(backend, "name", "") != "pyspark" or is_spark_connect(spark_session(backend)):
        return
    from ibis.backends.pyspark.datatypes import PySparkSchema
    from ibis.formats.pyarrow import PyArrowData

    session = spark_session(backend)

    def register(op: Any) -> None:
        data = PyArrowData.convert_table(op.data.to_pyarrow(op.schema), op.schema)
        arrow_frame(session, data, PySparkSchema.from_ibis(op.schema)).createOrReplaceTempView(op.name)

    backend._register_in_memory_table = register


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


def record_batches(table: ir.Table, rows: int) -> Iterator[pa.RecordBatch]:
    """The rows of ``table`` as Arrow record batches of at most about ``rows`` rows, in its order.

    For results too large to hold whole next to their conversion. Ibis 12's DuckDB
    ``to_pyarrow_batches`` calls ``fetch_record_batch``, which DuckDB 2.0 no longer has;
    on DuckDB the query's own Arrow reader is used instead (column types as DuckDB gives
    them). On Spark the result is fetched whole as Arrow (:func:`to_arrow`) and handed out
    in batches: Spark has no ordered Arrow stream to the driver. Other backends use Ibis'
    ``to_pyarrow_batches``.

    An error DuckDB meets while the batches are read (memory, a bad line far down a
    scanned file) crosses Arrow's stream interface as an ``OSError`` carrying DuckDB's
    message; it is raised as the DuckDB exception the same query run whole would raise
    (``OutOfMemoryException``, ``ConversionException``, ``InvalidInputException``), so
    callers handle one kind of engine error however they read a result.
    """
    import ibis

    backend = ibis.get_backend(table)  # unbound tables run on Ibis' default backend
    if getattr(backend, "name", "") == "pyspark":
        yield from to_arrow(table).to_batches(max_chunksize=rows)
        return
    if getattr(backend, "name", "") != "duckdb":
        yield from table.to_pyarrow_batches(chunk_size=rows)
        return
    backend._run_pre_execute_hooks(table)
    reader = backend.con.sql(backend.compile(table)).to_arrow_reader(rows)
    try:
        yield from reader
    except OSError as exc:
        raise _duckdb_error(exc) from None
    finally:
        reader.close()


def to_arrow(expr: ir.Expr) -> Any:
    """The result of ``expr`` (a table, column or scalar) in Arrow, as Ibis' ``to_pyarrow`` gives it.

    Ibis 12's PySpark backend fetches a result through ``toPandas`` and converts the
    frame back to Arrow: Spark's Arrow batches, a pandas frame (ids as Python strings)
    and the second Arrow copy are held at once. In the 100M-line pipeline on Spark local
    that conversion of one per-customer result (10.9 million customers) took the
    ``custlens`` process from 2.9 to 12.9 GB in 90 s (``docs/performance.md``). On a
    PySpark connection the rows are fetched with Spark's own Arrow collection
    (``DataFrame.toArrow``, one copy) and cast to the expression's schema as Ibis casts
    its own results; other backends use ``to_pyarrow``.
    """
    table_expr = expr.as_table()
    if backend_name(table_expr) != "pyspark":
        return expr.to_pyarrow()
    from ibis.formats.pyarrow import PyArrowData

    schema = table_expr.schema()
    data = spark_frame(table_expr).toArrow()
    data = data.rename_columns(list(schema.names))  # Spark names unnamed results by their SQL text
    return expr.__pyarrow_result__(PyArrowData.convert_table(data, schema))


_STREAM_ERRORS = {
    "Out of Memory Error": "OutOfMemoryException",
    "Conversion Error": "ConversionException",
    "Invalid Input Error": "InvalidInputException",
}
"""DuckDB's message prefixes and the exception each comes with when a query is run whole."""


def _duckdb_error(exc: OSError) -> Exception:
    """The DuckDB exception behind an ``OSError`` from a DuckDB Arrow stream (``exc`` itself otherwise)."""
    import duckdb

    text = str(exc)
    for prefix, name in _STREAM_ERRORS.items():
        if text.startswith(prefix):
            found: Exception = getattr(duckdb, name)(text)
            return found
    return exc


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
        if is_spark_connect(spark_session(backend)):
            return _checkpoint(backend, table)
    return table.cache()


def materialise(table: ir.Table) -> ir.Table:
    """``table`` computed once into a temporary table that no longer refers to its inputs.

    Like :func:`cache`, but Ibis' cache keeps the cached expression, and with it any
    in-memory table (``ibis.memtable``) it was computed from, for as long as the result
    lives: k-means' labelled customers, about 1 GB at 10M buyers, stayed in memory next to
    their DuckDB copy. On DuckDB the rows go into a temporary table of their own, dropped
    when the returned expression is garbage-collected (or with the connection); the
    inputs can then be let go. Other engines use :func:`cache`.
    """
    import uuid
    import weakref

    backend = backend_of(table)
    if backend is None or getattr(backend, "name", "") != "duckdb":
        return cache(table)
    name = f"_custlens_{uuid.uuid4().hex}"
    backend.create_table(name, table, temp=True)
    out = backend.table(name)
    weakref.finalize(out.op(), _drop_quietly, backend.con, name)
    return out


def _drop_quietly(con: Any, name: str) -> None:
    """Drop temporary table ``name``; nothing when the connection is already closed."""
    try:
        con.execute(f'DROP TABLE IF EXISTS "{name}"')
    except Exception:  # noqa: BLE001 - a closed connection dropped its temporary tables already
        pass


def is_spark_connect(session: Any) -> bool:
    """Whether ``session`` is a Spark Connect client session (``sc://...``), not a JVM-backed one."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def driver_result_limit(table: ir.Table) -> int | None:
    """Bytes Spark lets its driver fetch at once (``spark.driver.maxResultSize``) for ``table``'s engine.

    Read with Spark's own parser of sizes (through the JVM); its default is 1 GiB, and
    ``0`` (no limit) counts as 1 GiB, since a fetch also has to fit the driver's memory.
    ``None`` when ``table`` is not on a PySpark connection, or is on Spark Connect, whose
    client cannot read the driver's configuration.
    """
    backend = backend_of(table)
    if getattr(backend, "name", "") != "pyspark":
        return None
    session = spark_session(backend)
    if is_spark_connect(session):
        return None
    context = session.sparkContext
    text = context.getConf().get("spark.driver.maxResultSize", "1g")
    limit = int(context._jvm.org.apache.spark.network.util.JavaUtils.byteStringAsBytes(text))
    return limit if limit > 0 else 2**30


def _checkpoint(backend: Any, table: ir.Table) -> ir.Table:
    """``table`` computed once on a Spark Connect server and read as a view from then on.

    Ibis 12 caches a PySpark table with ``DataFrame.cache()`` and then asserts
    ``is_cached``, which a Connect server answers ``False`` for the plans it keeps
    itself (a ``CachedRemoteRelation``, as ``spark.sql`` returns for some queries), so
    the assertion fails. A local checkpoint materialises the rows once on the executors,
    like the cache, and its plan is the materialised data: every read sees one
    evaluation. The view lasts as long as the Connect session.
    """
    import uuid

    name = f"custlens_checkpoint_{uuid.uuid4().hex}"
    frame = spark_session(backend).sql(backend.compile(table)).localCheckpoint(eager=True)
    frame.createTempView(name)
    return backend.table(name)


def spark_frame(table: ir.Table) -> Any:
    """The ``pyspark.sql.DataFrame`` of an Ibis expression on a PySpark connection.

    For what Ibis cannot express (``mapInArrow``, MLlib, Arrow collection); Ibis'
    pre-execution hooks run first (the in-memory tables and UDFs the expression reads
    are registered), as Ibis runs them before it executes.
    """
    backend = backend_of(table)
    if backend is None:
        raise BackendError("an expression of in-memory tables only has no Spark session; give a Spark table")
    session = spark_session(backend)
    backend._run_pre_execute_hooks(table)
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
    data = to_arrow(table)
    if engine is not None and getattr(engine, "name", "") == "pyspark":
        return register_arrow(engine, f"custlens_stored_{uuid.uuid4().hex}", data)
    return ibis.memtable(data)


RANK_BUCKET_ROWS = 1_000_000
"""Rows per range of :func:`ordered_rows` on Spark; a table of fewer than two ranges keeps
one window over the whole table (faster on one machine: no count, sample, cache or join)."""

RANK_RANGES_LOCAL = False
"""Whether :func:`ordered_rows` cuts ranges on a ``local`` Spark master too. It does not by
default: on one machine one partition was 2 to 5 times faster at 4 million rows
(``benchmarks/spark_ranking.py``); ranges are for clusters, where one partition is one
executor."""

RANK_LOCAL_ROWS = 4_000_000
"""Above this many rows :func:`ordered_rows` cuts ranges on a ``local`` master as well: one
partition sorts the whole table in one task's share of the driver's memory, and at 10.9M
customers (the 100M-line pipeline) such a sort ran out of Spark's execution memory in a
6 GB driver (``UNABLE_TO_ACQUIRE_MEMORY``)."""


def ordered_rows(
    table: ir.Table, keys: Sequence[tuple[str, bool]], *, running: str | None = None, buckets: int | None = None
) -> ir.Table:
    """``table`` with each row's position in a total order, and running sums, without one partition on Spark.

    Parameters
    ----------
    table
        The rows to number.
    keys
        ``(column, descending)`` pairs: the order, which must be total (end with a unique
        column such as the customer id); nulls come last, in either direction, as in
        Ibis' sort keys on both engines.
    running
        A numeric column: adds ``_running`` (its sum over this row and every row before it)
        and ``_total`` (its sum over all rows).
    buckets
        Ranges on Spark (default: one per :data:`RANK_BUCKET_ROWS` rows, at most one per
        shuffle partition, none on a ``local`` master up to :data:`RANK_LOCAL_ROWS` rows unless :data:`RANK_RANGES_LOCAL`);
        fewer than two: one window over the whole table.

    Returns
    -------
    ibis.expr.types.Table
        ``table`` with ``_row`` (0 for the first row), ``_count`` (rows in ``table``) and,
        with ``running``, ``_running`` and ``_total``.

    Notes
    -----
    On DuckDB and other engines, and for small tables on Spark, these are window functions
    over the whole table. Spark runs such a window in a single partition (``No Partition Defined for Window
    operation``), so there the rows are cut into ranges of the order (boundaries from a
    sample of the keys, as Spark's own range partitioning does), counted and summed per
    range, and numbered by windows partitioned by range plus the counts and sums of the
    ranges before (a window over the few range totals). The boundaries only balance the
    work: any boundaries give the same positions. The rows with their range are cached
    on Spark, so that the totals and the numbering read one evaluation of ``table``.
    Running sums are added in another order than the global window's and may differ from
    it in the last bits.
    """
    import ibis

    order = [ibis.desc(table[c]) if desc else table[c] for c, desc in keys]
    bounds = _range_bounds(table, keys, buckets) if backend_name(table) == "pyspark" else []
    if not bounds:
        extra: dict[str, Any] = {"_row": ibis.row_number().over(order_by=order), "_count": table.count().over()}
        if running is not None:
            extra["_running"] = table[running].sum().over(ibis.window(order_by=order, rows=(None, 0)))
            extra["_total"] = table[running].sum().over()
        return table.mutate(**extra)
    # materialised once: the range totals and the rows numbered with them must come from the
    # same evaluation (a Spark sum recomputed may differ in its last bits and change range)
    t = cache(table.mutate(_bucket=_bucket_of(table, keys, bounds, 0, len(bounds))))
    per_aggs: dict[str, Any] = {"_bn": t.count()}
    if running is not None:
        per_aggs["_bs"] = t[running].sum()
    per = t.group_by("_bucket").aggregate(**per_aggs)
    # the range totals, a few rows, in one partition on purpose (summed in range order: deterministic);
    # partitioned by a column that is always 0 (buckets count from 0): Spark drops a constant key and warns
    per = per.mutate(_one=ibis.least(per._bucket, 0))
    before = ibis.window(group_by=per._one, order_by=per._bucket, rows=(None, -1))
    whole = ibis.window(group_by=per._one)
    offsets: dict[str, Any] = {"_n0": per._bn.sum().over(before).fill_null(0), "_count": per._bn.sum().over(whole)}
    if running is not None:
        offsets["_s0"] = per._bs.sum().over(before).fill_null(0.0)
        offsets["_total"] = per._bs.sum().over(whole)
    per = per.select(_b=per._bucket, **offsets)
    t = t.join(per, t._bucket == per._b).drop("_b")
    within = [ibis.desc(t[c]) if desc else t[c] for c, desc in keys]
    extra = {"_row": ibis.row_number().over(group_by=t._bucket, order_by=within) + t._n0}
    if running is not None:
        w = ibis.window(group_by=t._bucket, order_by=within, rows=(None, 0))
        extra["_running"] = t[running].sum().over(w) + t._s0
    return t.mutate(**extra).drop("_bucket", "_n0", *(["_s0"] if running is not None else []))


def quantiles(table: ir.Table, wanted: Mapping[str, tuple[str, float]]) -> ir.Table:
    """One row: for each ``name: (column, p)`` of ``wanted``, the type-7 quantile at ``p`` of ``column``.

    The quantile of the column's non-null values as float64 (null when there are none):
    with ``n`` values in ascending order ``v[0] .. v[n-1]`` and ``h = (n - 1) p``, ``v[lo] +
    (v[hi] - v[lo]) (h - lo)`` where ``lo, hi`` are ``h`` rounded down and up (Hyndman and
    Fan's type 7, R's default, NumPy's ``linear``).

    On DuckDB and other engines this is one aggregate of ``quantile`` (DuckDB's
    ``quantile_cont``, which interpolates so), an expression. On Spark it is not: Spark's
    exact ``percentile`` keeps every distinct value with its count in one object per
    quantile and merges them in one task, so the RFM cut points of 10.9M customers (twelve
    such objects) ran the driver out of a 6 GB heap. There each column's values are
    numbered in their order once (:func:`ordered_rows`: ranges of the order on a cluster),
    the few rows at the ``lo`` and ``hi`` of every ``p`` are fetched, and the quantiles are
    interpolated as above, as DuckDB computes them; the result is a one-row table on the
    same Spark session. (As everywhere in Ibis on Spark, a float NaN counts as null there.)
    """
    import math
    import uuid

    import pyarrow as pa

    if backend_name(table) != "pyspark":
        return table.aggregate(**{name: table[col].cast("float64").quantile(p) for name, (col, p) in wanted.items()})
    found: dict[str, float | None] = {}
    for col in dict.fromkeys(c for c, _ in wanted.values()):
        values = table.select(_v=table[col].cast("float64"))
        values = values.filter(values._v.notnull())
        n = int(values.count().to_pyarrow().as_py())
        spots = {name: (n - 1) * p for name, (c, p) in wanted.items() if c == col}
        if n == 0:
            found |= dict.fromkeys(spots)
            continue
        rows = sorted({math.floor(h) for h in spots.values()} | {math.ceil(h) for h in spots.values()})
        # equal values may be numbered in any order among themselves: the value at a position is the same
        numbered = ordered_rows(values, [("_v", False)])
        got = numbered.filter(numbered._row.isin(rows)).select("_row", "_v").to_pyarrow()
        at = dict(zip(got["_row"].to_pylist(), got["_v"].to_pylist(), strict=True))
        for name, h in spots.items():
            lo, hi = math.floor(h), math.ceil(h)
            found[name] = at[lo] if lo == hi else at[lo] + (at[hi] - at[lo]) * (h - lo)
    row = pa.table({name: pa.array([found[name]], pa.float64()) for name in wanted})
    return register_arrow(backend_of(table), f"_custlens_quantiles_{uuid.uuid4().hex}", row)


def _range_bounds(table: ir.Table, keys: Sequence[tuple[str, bool]], buckets: int | None) -> list[tuple[Any, ...]]:
    """Up to ``buckets - 1`` key tuples cutting ``table``'s order into ranges of similar size (from a sample)."""
    import functools
    import math

    if buckets is None:
        conf = spark_session(backend_of(table)).conf
        n = int(table.count().to_pyarrow().as_py())
        if str(conf.get("spark.master", "")).startswith("local") and not RANK_RANGES_LOCAL and n <= RANK_LOCAL_ROWS:
            return []
        buckets = min(int(conf.get("spark.sql.shuffle.partitions") or 1), n // RANK_BUCKET_ROWS)
    else:
        n = int(table.count().to_pyarrow().as_py())
    if buckets <= 1 or n <= 1:
        return []
    names = [c for c, _ in keys]
    fraction = min(1.0, 50.0 * buckets / n)  # about 50 keys per range
    frame = spark_frame(table.select(*names)).sample(fraction=fraction, seed=7)
    sample = [
        tuple(row[c] for c in names)
        for row in frame.collect()
        if all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in row)
    ]

    def compare(a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
        for x, y, (_, desc) in zip(a, b, keys, strict=True):
            if x != y:
                return (1 if x < y else -1) if desc else (-1 if x < y else 1)
        return 0

    sample.sort(key=functools.cmp_to_key(compare))
    picked = [sample[len(sample) * i // buckets] for i in range(1, buckets) if sample]
    return [b for i, b in enumerate(picked) if i == 0 or compare(picked[i - 1], b) < 0]


def _at_or_after(table: ir.Table, keys: Sequence[tuple[str, bool]], bound: tuple[Any, ...]) -> ir.BooleanValue:
    """The row comes at or after ``bound`` (no nulls) in the order ``keys``, nulls last in either direction.

    Nulls last is the order both engines give Ibis' sort keys (DuckDB's default; Ibis
    writes ``ASC NULLS LAST`` for Spark, whose ``DESC`` puts them last already): a null
    key's comparison (null) counts as after. Not ``isnull()``, which Ibis compiles on
    Spark as null or NaN; NaN is a number after every other in both engines' order and
    comparisons.
    """
    (name, desc), value = keys[0], bound[0]
    x = table[name]
    if len(keys) == 1:
        return ((x <= value) if desc else (x >= value)).fill_null(True)
    strictly = ((x < value) if desc else (x > value)).fill_null(True)
    return strictly | ((x == value) & _at_or_after(table, keys[1:], bound[1:]))


def _bucket_of(
    table: ir.Table, keys: Sequence[tuple[str, bool]], bounds: Sequence[tuple[Any, ...]], lo: int, hi: int
) -> ir.IntegerValue:
    """The range of the row: the number of ``bounds`` at or before it (a binary search of nested cases)."""
    import ibis

    if lo >= hi:
        return ibis.literal(lo, "int64")
    mid = (lo + hi) // 2
    return ibis.ifelse(
        _at_or_after(table, keys, bounds[mid]),
        _bucket_of(table, keys, bounds, mid + 1, hi),
        _bucket_of(table, keys, bounds, lo, mid),
    )
