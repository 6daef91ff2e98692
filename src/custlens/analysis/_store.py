"""Stored analyses: three tables in the workspace, and the segment snapshots.

* ``analysis_runs``: one row per analysis: ``analysis_id``, ``as_of``, ``created_at``,
  ``config_hash`` and, as JSON text, ``config``, ``models`` (fitted parameters),
  ``details`` (headline figures and method details), ``snapshots`` (segment snapshot id
  per method), ``skipped`` (parts left out and why) and ``timings``.
* ``analysis_customers``: one row per customer and analysis with every per-customer
  output (value indicators, purchase history, CLV, churn, score, RFM scores).
* ``analysis_results``: the small result tables (segment summaries, Pareto curve, state
  flow, satisfaction, ...), one row per table holding it as an Arrow IPC stream.

Segment assignments are stored once, as segment snapshots (:mod:`custlens.segment`),
with ids ``<analysis_id>/<method>``, so migration between two analyses is the migration
between their snapshots. A save is one transaction on DuckDB: all of it or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens.errors import BackendError, NotFoundError, did_you_mean

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from custlens.analysis._pipeline import Pipeline

__all__ = ["RUNS_TABLE", "CUSTOMERS_TABLE", "RESULTS_TABLE", "save", "run_ids", "read_run", "delete"]

RUNS_TABLE = "analysis_runs"
CUSTOMERS_TABLE = "analysis_customers"
RESULTS_TABLE = "analysis_results"

_RUN_TEXT = ("config", "models", "details", "snapshots", "skipped", "timings")


def _runs_schema() -> Any:
    import ibis

    return ibis.schema(
        {
            "analysis_id": "string",
            "as_of": "date",
            "created_at": "timestamp('UTC')",
            "config_hash": "string",
            **{name: "string" for name in _RUN_TEXT},
            "custlens_version": "string",
            "customers": "int64",
            "seconds": "float64",
        }
    )


def _results_schema() -> Any:
    import ibis

    return ibis.schema({"analysis_id": "string", "name": "string", "rows": "int64", "data": "binary"})


def _has(con: Any, name: str) -> bool:
    from custlens.warehouse.compat import table_exists

    return bool(table_exists(con, name))


@contextmanager
def _transaction(con: Any) -> Iterator[None]:
    """One transaction on DuckDB (all or nothing); other backends write table by table."""
    raw = getattr(con, "con", None)
    if getattr(con, "name", "") != "duckdb" or raw is None:
        yield
        return
    raw.execute("BEGIN TRANSACTION").fetchall()
    try:
        yield
    except BaseException:
        raw.execute("ROLLBACK").fetchall()
        raise
    raw.execute("COMMIT").fetchall()


def run_ids(con: Any) -> pa.Table:
    """``analysis_id, as_of, created_at, config_hash, customers`` of every stored analysis.

    Ordered by as-of date, then by creation: the last row is the newest run of the latest date.
    """
    if not _has(con, RUNS_TABLE):
        return pa.table(
            {
                "analysis_id": pa.array([], pa.string()),
                "as_of": pa.array([], pa.date32()),
                "created_at": pa.array([], pa.timestamp("us", tz="UTC")),
                "config_hash": pa.array([], pa.string()),
                "customers": pa.array([], pa.int64()),
            }
        )
    runs = con.table(RUNS_TABLE)
    return (
        runs.select("analysis_id", "as_of", "created_at", "config_hash", "customers")
        .order_by(["as_of", "created_at", "analysis_id"])
        .to_pyarrow()
    )


def _next_id(con: Any, as_of: date) -> str:
    prefix = as_of.isoformat()
    taken = [a for a in run_ids(con)["analysis_id"].to_pylist() if a.startswith(prefix + ".")]
    numbers = [int(a.rsplit(".", 1)[1]) for a in taken if a.rsplit(".", 1)[1].isdigit()]
    return f"{prefix}.{max(numbers, default=0) + 1}"


def read_run(con: Any, analysis_id: str) -> dict[str, Any]:
    """The stored run row of ``analysis_id`` with its JSON fields decoded.

    Raises
    ------
    NotFoundError
        When no analysis has that id (the message lists the latest ones).
    """
    known = run_ids(con)["analysis_id"].to_pylist()
    if analysis_id not in known:
        raise NotFoundError(
            f"no stored analysis {analysis_id!r}{did_you_mean(analysis_id, known)} "
            f"({len(known)} stored{': ' + ', '.join(known[-5:]) if known else ''}); "
            "run the analysis first (custlens analyze --workspace W)"
        )
    runs = con.table(RUNS_TABLE)
    row = runs.filter(runs.analysis_id == analysis_id).to_pyarrow().to_pylist()[0]
    for name in _RUN_TEXT:
        row[name] = json.loads(row[name]) if row[name] else {}
    return row


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def read_result(con: Any, analysis_id: str, name: str) -> pa.Table | None:
    """A small result table of an analysis, or ``None`` when the analysis has none by that name."""
    results = con.table(RESULTS_TABLE)
    rows = results.filter((results.analysis_id == analysis_id) & (results.name == name)).select("data").to_pyarrow()
    if rows.num_rows == 0:
        return None
    return pa.ipc.open_stream(pa.py_buffer(rows["data"][0].as_py())).read_all()


def result_names(con: Any, analysis_id: str) -> list[str]:
    """Names of the small result tables stored with an analysis."""
    results = con.table(RESULTS_TABLE)
    kept = results.filter(results.analysis_id == analysis_id).select("name").order_by("name").to_pyarrow()
    return [str(v) for v in kept["name"].to_pylist()]


def _ensure_customers_table(con: Any, expr: ir.Table) -> list[str]:
    """Create ``analysis_customers`` on first use, add columns a newer release stores; its column order."""
    import ibis

    wanted = {"analysis_id": ibis.dtype("string"), **dict(expr.schema().items())}
    if not _has(con, CUSTOMERS_TABLE):
        con.create_table(CUSTOMERS_TABLE, schema=ibis.schema(wanted))
    present = dict(con.table(CUSTOMERS_TABLE).schema().items())
    missing = [name for name in wanted if name not in present]
    if missing:  # a newer release stores more columns: add them, earlier analyses hold nulls
        from custlens.warehouse.compat import add_columns

        add_columns(con, CUSTOMERS_TABLE, {name: wanted[name] for name in missing})
    return list(con.table(CUSTOMERS_TABLE).columns)


def save(con: Any, pipeline: Pipeline, *, custlens_version: str, seconds_so_far: float) -> str:
    """Store every part of ``pipeline`` on ``con`` in one transaction; return the analysis id."""
    import time

    import ibis

    from custlens.segment import save_snapshot
    from custlens.warehouse.compat import driver_result_limit, to_arrow

    started = time.perf_counter()
    timed_before = sum(pipeline.timings.values())
    # compute everything before the transaction: a failing method leaves nothing behind
    customers = pipeline.customers_table()
    results = pipeline.results()
    models = pipeline.models()
    details = pipeline.details()
    if not _has(con, RUNS_TABLE):
        con.create_table(RUNS_TABLE, schema=_runs_schema())
    if not _has(con, RESULTS_TABLE):
        con.create_table(RESULTS_TABLE, schema=_results_schema())
    column_order = _ensure_customers_table(con, customers)
    analysis_id = _next_id(con, pipeline.as_of)
    created = datetime.now(UTC)
    with _transaction(con):
        target = con.table(CUSTOMERS_TABLE).schema()

        def as_stored(expr: ir.Table) -> ir.Table:
            expr = expr.mutate(analysis_id=ibis.literal(analysis_id, "string"))
            return expr.select(
                *[
                    expr[name].cast(target[name]) if name in expr.columns else ibis.null().cast(target[name]).name(name)
                    for name in column_order
                ]
            )

        # in parts: on DuckDB so that the joins fit in its memory limit (docs/performance.md);
        # from Spark each part is fetched to the driver within what Spark lets it fetch at once
        same = _same_backend(con, customers)
        parts = pipeline.customers_parts(_memory_limit(con) if same else driver_result_limit(customers))
        for index in range(parts):
            part = as_stored(pipeline.customers_table((index, parts)))
            con.insert(CUSTOMERS_TABLE, part if same else ibis.memtable(to_arrow(part)))
        snapshots = {
            method: save_snapshot(con, result, snapshot_id=f"{analysis_id}/{method}", created_at=created)
            for method, result in pipeline.segments.items()
        }
        blobs = pa.table(
            {
                "analysis_id": [analysis_id] * len(results),
                "name": list(results),
                "rows": pa.array([t.num_rows for t in results.values()], pa.int64()),
                "data": pa.array([_ipc(t) for t in results.values()], pa.binary()),
            }
        )
        con.insert(RESULTS_TABLE, ibis.memtable(blobs, schema=_results_schema()))
        # counted in the stored rows: counting ``customers`` would compute the whole lazy
        # per-customer expression (every feature, model score and segment join) a second time
        saved = con.table(CUSTOMERS_TABLE)
        n_customers = int(saved.filter(saved.analysis_id == analysis_id).count().to_pyarrow().as_py())
        # "save": the time spent here outside the parts timed on their own (parts computed
        # lazily while saving are timed under their names), so the timings add up to the run
        timed_here = sum(pipeline.timings.values()) - timed_before
        timings = {**pipeline.timings, "save": round(time.perf_counter() - started - timed_here, 3)}
        run = {
            "analysis_id": [analysis_id],
            "as_of": pa.array([pipeline.as_of], pa.date32()),
            "created_at": pa.array([created], pa.timestamp("us", tz="UTC")),
            "config_hash": [pipeline.config.hash],
            "config": [json.dumps(pipeline.config.to_dict(), ensure_ascii=False, sort_keys=True)],
            "models": [json.dumps(models, ensure_ascii=False, sort_keys=True)],
            "details": [json.dumps(details, ensure_ascii=False, sort_keys=True)],
            "snapshots": [json.dumps(snapshots, sort_keys=True)],
            "skipped": [json.dumps(pipeline.skipped, ensure_ascii=False, sort_keys=True)],
            "timings": [json.dumps(timings, sort_keys=True)],
            "custlens_version": [custlens_version],
            "customers": pa.array([n_customers], pa.int64()),
            "seconds": pa.array([seconds_so_far + time.perf_counter() - started], pa.float64()),
        }
        con.insert(RUNS_TABLE, ibis.memtable(pa.table(run), schema=_runs_schema()))
    return analysis_id


def _memory_limit(con: Any) -> int | None:
    """DuckDB's ``memory_limit`` in bytes (it reports e.g. ``3.7 GiB``); ``None`` if not DuckDB or unreadable."""
    from custlens.warehouse._workspace import memory_bytes

    raw = getattr(con, "con", None)
    if getattr(con, "name", "") != "duckdb" or raw is None:
        return None
    return memory_bytes(str(raw.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]))


def _same_backend(con: Any, expr: ir.Table) -> bool:
    from custlens.warehouse.compat import backend_of

    return backend_of(expr) is con


def delete(con: Any, analysis_id: str) -> None:
    """Remove a stored analysis: its run row, customers, results and segment snapshots."""
    run = read_run(con, analysis_id)
    raw = getattr(con, "con", None)
    if getattr(con, "name", "") != "duckdb" or raw is None:
        raise BackendError("deleting a stored analysis needs the DuckDB warehouse")
    from custlens.segment.snapshot import ASSIGNMENTS_TABLE, SNAPSHOTS_TABLE

    snapshot_ids = list(run["snapshots"].values())
    with _transaction(con):
        for table in (CUSTOMERS_TABLE, RESULTS_TABLE, RUNS_TABLE):
            raw.execute(f'DELETE FROM "{table}" WHERE analysis_id = ?', [analysis_id]).fetchall()
        for sid in snapshot_ids:
            raw.execute(f'DELETE FROM "{ASSIGNMENTS_TABLE}" WHERE snapshot_id = ?', [sid]).fetchall()
            raw.execute(f'DELETE FROM "{SNAPSHOTS_TABLE}" WHERE snapshot_id = ?', [sid]).fetchall()
