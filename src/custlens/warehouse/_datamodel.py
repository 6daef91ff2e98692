"""Render ``docs/data-model.md`` from :mod:`custlens.schema`.

The data-model document is generated, so it cannot drift from the schema; a test
compares the committed file with :func:`render_data_model`. Regenerate with::

    python -m custlens.warehouse._datamodel docs/data-model.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from custlens.schema import TABLES, Column, Table
from custlens.warehouse._ddl import SQL_TYPES

__all__ = ["render_data_model"]

_INTRO = """# Data model

<!-- Generated from src/custlens/schema.py by
     `python -m custlens.warehouse._datamodel docs/data-model.md`; do not edit by hand. -->

The warehouse of a workspace (`warehouse.duckdb`) holds one table per kind of record.
These tables are the contract between the importer, which fills them, and every
analysis, which reads them through Ibis (`Workspace.table(name)`).

Conventions:

- **Timestamps** are stored in UTC (`timestamp('UTC')`, DuckDB `TIMESTAMPTZ`). Where the
  source recorded a local time, the IANA zone it was read in is kept beside it in the
  matching `*_tz` column (`ordered_at` / `ordered_tz`, `occurred_at` / `occurred_tz`).
- **Dates** (`date`) are calendar days without a time zone.
- **Money** (unit `currency`) is in the workspace's one currency (`workspace.toml`,
  `[workspace] currency`). Amounts are plain numbers: currency marks and thousands
  separators are removed on import.
- **Required** columns must have a value in every row; the importer rejects rows without.
  **Allowed** values are compared after lower-casing and turning spaces and hyphens into
  `_` (so `Service Task` becomes `service_task`). **Minimum** is the smallest allowed value.
- **Key**: the columns that identify a row. The importer refuses a second row with the
  same key and different values, and drops exact copies as duplicates; an import in
  `upsert` mode (`customers`, `receivables`) replaces the stored values instead and keeps
  the previous ones in `customers_history` / `receivables_history`
  ([import.md](import.md#import-modes-append-and-upsert)).
- **Personal data** (names, phones, e-mails, addresses) lives only in `identity`, keyed by
  `customer_id`; no analysis reads it, so encryption, consent and erasure act on one table.
  Its fields are stored encrypted, field by field, under a key kept outside the workspace
  ([privacy.md](privacy.md)); the consent columns of `customers` govern contact exports.
- **Returns**: a `transactions` line is a return when `return_flag` is true or its
  `amount` is negative. The per-customer features built from these tables (order count,
  revenue net of returns, average order value, recency, ...) are defined once, in
  [features.md](features.md#the-per-customer-features).
"""

_INTERNAL = """## Internal tables

| table | holds |
|---|---|
| `_schema_migrations` | one row per change to the warehouse structure: numbered migrations (`version`) and columns or tables added when `schema.py` grew (`version` empty); `description`, `applied_at` |
| `_import_ledger` | one row per committed import: `import_id`, `sha256` of the file, `target_table`, `source_path`, `source_bytes`, `source_format`, `encoding`, `mapping_sha256`, `rows_read`, `rows_loaded`, `rows_rejected`, `rows_duplicate`, `quarantine_path`, `imported_at`, `mode` (`append` or `upsert`), `rows_inserted`, `rows_updated`, `rows_unchanged` (see [import.md](import.md)) |
| `customers_history`, `receivables_history` | every version of a customer's attributes and of a receivable: the table's columns plus `valid_from` (when the version became current; empty for rows stored before versions were kept), `valid_to` (when an upsert replaced it; empty for the current version) and `import_id` (the import that loaded it) (see [import.md](import.md#import-modes-append-and-upsert)) |
| `_privacy_key` | the key personal data is encrypted with: `key_id`, `key_check` (a keyed check value, never the key), `since` (see [privacy.md](privacy.md)) |
| `_privacy_blocklist` | erased persons: `kind` (`customer_id`, `phone`, `email`), `digest` (HMAC under the key's erasure secret), `erased_at` |
| `_identity_history` | corrected identity fields: `customer_id`, `field`, `old_value` (encrypted), `changed_at`, `actor`, `reason` |
| `_export_history`, `_export_customers` | files of customer data written through the library (campaign and contact lists): `export_id`, `path`, `kind`, `created_at`, `actor`, `purpose`, `rows`, `contact_fields`; and which customers each held |

The `identity` table also holds three internal columns: `_row_digest` (keyed digest of the
plain row, compared by the importer to find exact duplicates, since two encryptions of one
value differ), `_phone_index` and `_email_index` (the blind index: keyed digests of the
normalised phone and e-mail, for exact look-up without decryption). Its personal fields
hold `v1.<base64>` tokens (AES-256-GCM), never the values.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(column: Column) -> str:
    allowed = ", ".join(f"`{v}`" for v in column.allowed) if column.allowed else ""
    minimum = f"{column.minimum:g}" if column.minimum is not None else ""
    return (
        f"| `{column.name}` | `{column.dtype}` ({SQL_TYPES[column.dtype]}) | "
        f"{column.unit} | {'yes' if column.required else 'no'} | {allowed} | {minimum} | "
        f"{_cell(column.description)} |"
    )


def _table(table: Table) -> str:
    lines = [
        f"## `{table.name}`",
        "",
        table.description,
        "",
        f"Key: {', '.join(f'`{k}`' for k in table.key)}." + (" Holds personal data." if table.personal_data else ""),
        "",
        "| column | type | unit | required | allowed values | minimum | description |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [_row(c) for c in table.columns]
    return "\n".join(lines) + "\n"


def render_data_model() -> str:
    """The Markdown text of ``docs/data-model.md``."""
    index = "\n".join(f"- [`{t.name}`](#{t.name}): {t.description.split('.')[0]}." for t in TABLES.values())
    parts = [_INTRO, "## Tables\n\n" + index + "\n"]
    parts += [_table(t) for t in TABLES.values()]
    parts.append(_INTERNAL)
    return "\n".join(parts)


if __name__ == "__main__":  # pragma: no cover - documentation tool
    text = render_data_model()
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
