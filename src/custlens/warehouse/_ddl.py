"""SQL type mapping and DDL for the canonical tables (DuckDB dialect)."""

from __future__ import annotations

from custlens.schema import Column, Table

__all__ = ["SQL_TYPES", "sql_type", "create_table_sql", "quote"]

SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp('UTC')": "TIMESTAMPTZ",
}
"""DuckDB type of each Ibis type string used in :mod:`custlens.schema`."""


def quote(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_type(column: Column) -> str:
    """DuckDB type of a canonical column."""
    return SQL_TYPES[column.dtype]


def create_table_sql(table: Table) -> str:
    """``CREATE TABLE`` statement for a canonical table (no constraints: keys are
    enforced by the importer against the stored rows, which keeps bulk loads fast)."""
    cols = ", ".join(f"{quote(c.name)} {sql_type(c)}" for c in table.columns)
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} ({cols})"
