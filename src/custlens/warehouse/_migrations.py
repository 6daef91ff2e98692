"""Schema versioning of the warehouse: numbered migrations plus additive sync.

The warehouse records every change to its structure in ``_schema_migrations``. Numbered
migrations (``MIGRATIONS``) run once, in order. After them, :func:`sync_schema` adds any
canonical table or column that :mod:`custlens.schema` defines and the database lacks
(the schema only ever grows: columns are never renamed or removed), recording each
addition, so a workspace created by an older custlens opens with a newer one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import duckdb

from custlens.schema import TABLES
from custlens.warehouse._ddl import create_table_sql, quote, sql_type

__all__ = [
    "MIGRATIONS",
    "LEDGER_TABLE",
    "MIGRATIONS_TABLE",
    "BLOCKLIST_TABLE",
    "IDENTITY_HISTORY_TABLE",
    "EXPORTS_TABLE",
    "EXPORT_CUSTOMERS_TABLE",
    "KEYS_TABLE",
    "IDENTITY_INTERNAL_COLUMNS",
    "HISTORY_TABLES",
    "HISTORY_COLUMNS",
    "history_table_sql",
    "migrate",
    "schema_version",
]

log = logging.getLogger(__name__)

MIGRATIONS_TABLE = "_schema_migrations"
LEDGER_TABLE = "_import_ledger"
BLOCKLIST_TABLE = "_privacy_blocklist"
IDENTITY_HISTORY_TABLE = "_identity_history"
EXPORTS_TABLE = "_export_history"
EXPORT_CUSTOMERS_TABLE = "_export_customers"
KEYS_TABLE = "_privacy_key"
IDENTITY_INTERNAL_COLUMNS = ("_row_digest", "_phone_index", "_email_index")
"""Columns the identity table holds beside its canonical ones: a keyed digest of the row
(duplicate checks compare it, as ciphertexts of equal values differ) and the blind index
of phone and e-mail (see :mod:`custlens.privacy`)."""
HISTORY_TABLES: dict[str, str] = {"customers": "customers_history", "receivables": "receivables_history"}
"""Canonical tables whose rows an import may replace (``mode="upsert"``), and the table
keeping every version of their rows with its validity interval."""
HISTORY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("valid_from", "TIMESTAMPTZ"),
    ("valid_to", "TIMESTAMPTZ"),
    ("import_id", "BIGINT"),
)
"""Columns a history table holds beside the canonical ones: when the version became
current (empty: loaded before versions were kept), when it was replaced (empty: the
current version) and the import that loaded it."""


def _v1_canonical_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES.values():
        con.execute(create_table_sql(table))


def _v2_import_ledger(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (
            import_id BIGINT NOT NULL,
            sha256 VARCHAR NOT NULL,
            target_table VARCHAR NOT NULL,
            source_path VARCHAR NOT NULL,
            source_bytes BIGINT NOT NULL,
            source_format VARCHAR NOT NULL,
            encoding VARCHAR,
            mapping_sha256 VARCHAR,
            rows_read BIGINT NOT NULL,
            rows_loaded BIGINT NOT NULL,
            rows_rejected BIGINT NOT NULL,
            rows_duplicate BIGINT NOT NULL,
            quarantine_path VARCHAR,
            imported_at TIMESTAMPTZ NOT NULL
        )"""
    )


def _v3_privacy(con: duckdb.DuckDBPyConnection) -> None:
    for column in IDENTITY_INTERNAL_COLUMNS:
        con.execute(f"ALTER TABLE identity ADD COLUMN IF NOT EXISTS {quote(column)} VARCHAR")
    # the blind index is looked up by equality: an ART index makes that ~0.5 ms instead of a scan
    for column in ("_phone_index", "_email_index"):
        con.execute(f"CREATE INDEX IF NOT EXISTS identity{column} ON identity ({quote(column)})")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {BLOCKLIST_TABLE} (
            kind VARCHAR NOT NULL, digest VARCHAR NOT NULL, erased_at TIMESTAMPTZ NOT NULL)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {IDENTITY_HISTORY_TABLE} (
            customer_id VARCHAR NOT NULL, field VARCHAR NOT NULL, old_value VARCHAR,
            changed_at TIMESTAMPTZ NOT NULL, actor VARCHAR, reason VARCHAR)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {EXPORTS_TABLE} (
            export_id BIGINT NOT NULL, path VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL, actor VARCHAR, purpose VARCHAR,
            rows BIGINT NOT NULL, contact_fields VARCHAR)"""
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {EXPORT_CUSTOMERS_TABLE} (export_id BIGINT NOT NULL, customer_id VARCHAR NOT NULL)"
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (
            key_id VARCHAR NOT NULL, key_check VARCHAR NOT NULL, since TIMESTAMPTZ NOT NULL)"""
    )


def history_table_sql(table: str) -> str:
    """``CREATE TABLE`` statement of the history table of canonical table ``table``."""
    cols = [f"{quote(c.name)} {sql_type(c)}" for c in TABLES[table].columns]
    cols += [f"{quote(name)} {kind}" for name, kind in HISTORY_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS {quote(HISTORY_TABLES[table])} ({', '.join(cols)})"


def _v4_versions(con: duckdb.DuckDBPyConnection) -> None:
    for column, kind in (
        ("mode", "VARCHAR DEFAULT 'append'"),
        ("rows_inserted", "BIGINT"),
        ("rows_updated", "BIGINT"),
        ("rows_unchanged", "BIGINT"),
    ):
        con.execute(f"ALTER TABLE {LEDGER_TABLE} ADD COLUMN IF NOT EXISTS {quote(column)} {kind}")
    for table, history in HISTORY_TABLES.items():
        con.execute(history_table_sql(table))
        # the rows already stored become the open versions, of unknown start (columns the
        # schema gained since the table was made are added by the sync after the migrations)
        present = {
            str(r[0])
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ?",
                [table],
            ).fetchall()
        }
        cols = ", ".join(quote(c.name) for c in TABLES[table].columns if c.name in present)
        con.execute(
            f"INSERT INTO {quote(history)} ({cols}, valid_from, valid_to, import_id) "
            f"SELECT {cols}, NULL, NULL, NULL FROM {quote(table)}"
        )


MIGRATIONS: tuple[tuple[int, str, Callable[[duckdb.DuckDBPyConnection], None]], ...] = (
    (1, "create the canonical tables", _v1_canonical_tables),
    (2, "create the import ledger", _v2_import_ledger),
    (3, "privacy: identity digests and blind index, block list, identity history, export history", _v3_privacy),
    (4, "versions: customers and receivables history, import mode and counts in the ledger", _v4_versions),
)
"""Numbered migrations: (version, description, function of a DuckDB connection)."""


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Highest numbered migration applied (0 for an empty database)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [MIGRATIONS_TABLE]
    ).fetchall()[0][0]
    if not exists:
        return 0
    row = con.execute(f"SELECT max(version) FROM {MIGRATIONS_TABLE}").fetchall()[0]
    return int(row[0] or 0)


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Bring the database to the current schema in one transaction.

    Returns
    -------
    list of str
        Descriptions of the changes made (empty when it was up to date).
    """
    applied: list[str] = []
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"""CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
                version INTEGER, description VARCHAR NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"""
        )
        current = schema_version(con)
        for version, description, step in MIGRATIONS:
            if version > current:
                step(con)
                con.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (version, description) VALUES (?, ?)",
                    [version, description],
                )
                applied.append(description)
        applied.extend(_sync_schema(con))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for change in applied:
        log.info("warehouse migration: %s", change)
    return applied


def _sync_schema(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Add canonical tables and columns missing from the database (additive only)."""
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
    ).fetchall()
    present: dict[str, set[str]] = {}
    for table_name, column_name in rows:
        present.setdefault(table_name, set()).add(column_name)
    changes: list[str] = []
    for table in TABLES.values():
        if table.name not in present:
            con.execute(create_table_sql(table))
            changes.append(f"add table {table.name}")
            continue
        for column in table.columns:
            if column.name not in present[table.name]:
                con.execute(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {sql_type(column)}")
                changes.append(f"add column {table.name}.{column.name}")
        history = HISTORY_TABLES.get(table.name)
        if history is None or history not in present:
            continue
        for column in table.columns:
            if column.name not in present[history]:
                con.execute(f"ALTER TABLE {quote(history)} ADD COLUMN {quote(column.name)} {sql_type(column)}")
                changes.append(f"add column {history}.{column.name}")
    for change in changes:
        con.execute(f"INSERT INTO {MIGRATIONS_TABLE} (version, description) VALUES (NULL, ?)", [change])
    return changes
