"""Stored tags: assignments with validity dates, the definitions and one row per application.

Three tables in the workspace (created on first use):

* ``tag_assignments(customer_id, tag, valid_from, valid_to)``: a customer held ``tag`` on
  every as-of day ``d`` with ``valid_from <= d`` and (``valid_to`` is null or ``d <
  valid_to``). Applying tags at a later date closes the open assignments that ended
  (``valid_to`` = that date) and opens the new ones; unchanged ones stay open.
* ``tag_definitions``: the taxonomy's tags as applied on each date (names, category, kind,
  the condition in words).
* ``tag_runs``: one row per application date: the analysis read, the taxonomy (JSON) and its
  hash, the band tags' cut points, customers, assignments opened and closed, seconds.

An application is one DuckDB transaction. Applying again on the latest date replaces that
application; an earlier date than the latest is refused, so the history stays in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens.errors import BackendError, InputError, NotFoundError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from custlens.tags._engine import TagComputation
    from custlens.tags._model import Taxonomy

__all__ = [
    "ASSIGNMENTS_TABLE",
    "DEFINITIONS_TABLE",
    "RUNS_TABLE",
    "save",
    "runs",
    "resolve_run",
    "held_at",
    "definitions_at",
]

ASSIGNMENTS_TABLE = "tag_assignments"
DEFINITIONS_TABLE = "tag_definitions"
RUNS_TABLE = "tag_runs"
_STAGING = "_custlens_tags_new"

_DEFINITION_COLUMNS = (
    "tag",
    "category",
    "kind",
    "name",
    "name_zh",
    "category_name",
    "category_name_zh",
    "definition",
)


def _schemas() -> dict[str, Any]:
    import ibis

    return {
        ASSIGNMENTS_TABLE: ibis.schema(
            {"customer_id": "string", "tag": "string", "valid_from": "date", "valid_to": "date"}
        ),
        DEFINITIONS_TABLE: ibis.schema(
            {"as_of": "date", "position": "int64", **{c: "string" for c in _DEFINITION_COLUMNS}}
        ),
        RUNS_TABLE: ibis.schema(
            {
                "as_of": "date",
                "applied_at": "timestamp('UTC')",
                "analysis_id": "string",
                "taxonomy_hash": "string",
                "taxonomy": "string",
                "details": "string",
                "customers": "int64",
                "tags": "int64",
                "assignments": "int64",
                "opened": "int64",
                "closed": "int64",
                "seconds": "float64",
            }
        ),
    }


def _has(con: Any, name: str) -> bool:
    from custlens.warehouse.compat import table_exists

    return bool(table_exists(con, name))


def _raw(con: Any) -> Any:
    from custlens.warehouse.compat import duckdb_connection

    if getattr(con, "name", "") != "duckdb":
        raise BackendError(
            "stored tags live in the DuckDB workspace; compute tags on other engines with custlens.tags.compute_tags"
        )
    return duckdb_connection(con)


@contextmanager
def _transaction(raw: Any) -> Iterator[None]:
    raw.execute("BEGIN TRANSACTION").fetchall()
    try:
        yield
    except BaseException:
        raw.execute("ROLLBACK").fetchall()
        raise
    raw.execute("COMMIT").fetchall()


def runs(con: Any) -> pa.Table:
    """Every application: ``as_of, applied_at, analysis_id, taxonomy_hash, customers, tags,
    assignments, opened, closed, seconds``, oldest first."""
    columns = ["as_of", "applied_at", "analysis_id", "taxonomy_hash", "customers", "tags", "assignments", "opened",
               "closed", "seconds"]  # fmt: skip
    if not _has(con, RUNS_TABLE):
        schema = _schemas()[RUNS_TABLE]
        return pa.schema([(c, schema[c].to_pyarrow()) for c in columns]).empty_table()
    return con.table(RUNS_TABLE).select(*columns).order_by("as_of").to_pyarrow()


def resolve_run(con: Any, as_of: date | None = None) -> dict[str, Any]:
    """The application describing ``as_of``: the latest on or before it (default: the latest).

    Raises
    ------
    NotFoundError
        When no tags were applied (or none on or before ``as_of``); the message says how.
    """
    table = runs(con)
    if table.num_rows == 0:
        raise NotFoundError("the workspace has no tags yet; apply them first (custlens tags apply --workspace W)")
    rows = table.to_pylist()
    if as_of is not None:
        rows = [r for r in rows if r["as_of"] <= as_of]
        if not rows:
            dates = ", ".join(d.isoformat() for d in table["as_of"].to_pylist()[-5:])
            raise NotFoundError(
                f"no tags applied on or before 'as_of' {as_of.isoformat()} (applied as of: {dates}); "
                f"apply them (custlens tags apply --workspace W --as-of {as_of.isoformat()})"
            )
    run = dict(rows[-1])
    full = con.table(RUNS_TABLE)
    extra = full.filter(full.as_of == run["as_of"]).select("taxonomy", "details").to_pyarrow().to_pylist()[0]
    run["taxonomy"] = json.loads(extra["taxonomy"])
    run["details"] = json.loads(extra["details"])
    return run


def held_at(con: Any, day: date) -> ir.Table:
    """``customer_id, tag`` of every assignment valid on ``day``."""
    import ibis

    a = con.table(ASSIGNMENTS_TABLE)
    d = ibis.date(day.isoformat())
    return a.filter(a.valid_from <= d, a.valid_to.isnull() | (a.valid_to > d)).select("customer_id", "tag")


def definitions_at(con: Any, day: date) -> pa.Table:
    """The tag definitions of the application on ``day``, in taxonomy order."""
    t = con.table(DEFINITIONS_TABLE)
    return t.filter(t.as_of == day).order_by("position").select(*_DEFINITION_COLUMNS).to_pyarrow()


def _count(raw: Any, sql: str, params: list[Any]) -> int:
    row = raw.execute(sql, params).fetchall()
    return int(row[0][0]) if row else 0


def save(
    con: Any,
    computation: TagComputation,
    taxonomy: Taxonomy,
    *,
    as_of: date,
    analysis_id: str,
    started: float,
) -> dict[str, Any]:
    """Store an application on ``as_of``: close ended assignments, open new ones, one transaction.

    Returns the stored run row (without the taxonomy text).

    Raises
    ------
    InputError
        When ``as_of`` is before the latest application.
    """
    import time

    import ibis

    raw = _raw(con)
    for name, schema in _schemas().items():
        if not _has(con, name):
            con.create_table(name, schema=schema)
    previous = runs(con)
    last = previous["as_of"].to_pylist()[-1] if previous.num_rows else None
    if last is not None and as_of < last:
        raise InputError(
            f"'as_of' {as_of.isoformat()} is before the latest tag application ({last.isoformat()}); tags are "
            "applied in date order so that their history stays true (apply on a later date, or on the latest to "
            "replace it)"
        )
    from custlens.warehouse.compat import backend_of, to_arrow

    assignments = computation.assignments
    if backend_of(assignments) is not con:  # computed on Spark: the assignments come to the workspace file
        assignments = to_arrow(assignments)
    con.create_table(_STAGING, assignments, temp=True, overwrite=True)
    day = as_of.isoformat()
    try:
        with _transaction(raw):
            if last == as_of:  # replace the latest application: undo it first
                raw.execute(f"DELETE FROM {ASSIGNMENTS_TABLE} WHERE valid_from = ?", [day]).fetchall()
                raw.execute(f"UPDATE {ASSIGNMENTS_TABLE} SET valid_to = NULL WHERE valid_to = ?", [day]).fetchall()
                raw.execute(f"DELETE FROM {DEFINITIONS_TABLE} WHERE as_of = ?", [day]).fetchall()
                raw.execute(f"DELETE FROM {RUNS_TABLE} WHERE as_of = ?", [day]).fetchall()
            closed = _count(
                raw,
                f"UPDATE {ASSIGNMENTS_TABLE} AS a SET valid_to = ? WHERE a.valid_to IS NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {_STAGING} n WHERE n.customer_id = a.customer_id AND n.tag = a.tag)",
                [day],
            )
            opened = _count(
                raw,
                f"INSERT INTO {ASSIGNMENTS_TABLE} SELECT n.customer_id, n.tag, CAST(? AS DATE), NULL "
                f"FROM {_STAGING} n WHERE NOT EXISTS (SELECT 1 FROM {ASSIGNMENTS_TABLE} a WHERE a.valid_to IS NULL "
                "AND a.customer_id = n.customer_id AND a.tag = n.tag)",
                [day],
            )
            total = _count(raw, f"SELECT count(*) FROM {_STAGING}", [])
            n_customers = int(computation.customers.count().to_pyarrow().as_py())
            defs = taxonomy.table()
            defs = defs.add_column(0, "position", pa.array(range(defs.num_rows), pa.int64()))
            defs = defs.add_column(0, "as_of", pa.array([as_of] * defs.num_rows, pa.date32()))
            con.insert(DEFINITIONS_TABLE, ibis.memtable(defs, schema=_schemas()[DEFINITIONS_TABLE]))
            run = {
                "as_of": as_of,
                "applied_at": datetime.now(UTC),
                "analysis_id": analysis_id,
                "taxonomy_hash": taxonomy.hash,
                "taxonomy": json.dumps(taxonomy.to_dict(), ensure_ascii=False, sort_keys=True, default=str),
                "details": json.dumps({"cut_points": computation.cut_points}, sort_keys=True),
                "customers": n_customers,
                "tags": len(taxonomy.tags),
                "assignments": total,
                "opened": opened,
                "closed": closed,
                "seconds": round(time.perf_counter() - started, 3),
            }
            con.insert(RUNS_TABLE, ibis.memtable(pa.Table.from_pylist([run]), schema=_schemas()[RUNS_TABLE]))
    finally:
        raw.execute(f"DROP TABLE IF EXISTS {_STAGING}").fetchall()
    return {k: v for k, v in run.items() if k != "taxonomy"}
