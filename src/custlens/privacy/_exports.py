"""The export history: which file of customer data was written when, by whom, for whom.

Every export a workspace knows of (campaign lists, contact lists, a person's data) is a
row of ``_export_history`` and its customers rows of ``_export_customers``, so that an
erasure can name the earlier files that held the person (recipients to notify) and
pseudonymise the record of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from custlens.privacy import audit
from custlens.warehouse._migrations import EXPORT_CUSTOMERS_TABLE, EXPORTS_TABLE

if TYPE_CHECKING:
    from custlens.warehouse import Workspace

__all__ = ["record_export", "exports_of"]


def record_export(
    workspace: Workspace,
    path: str | Path,
    kind: str,
    customer_ids: Iterable[str],
    *,
    actor: str | None = None,
    purpose: str | None = None,
    contact_fields: Iterable[str] = (),
) -> int:
    """Record one written export in the history and the audit log; return its id."""
    ids = pa.table({"customer_id": pa.array(sorted({str(c) for c in customer_ids}), pa.string())})
    raw = workspace.raw
    fields = ",".join(contact_fields)
    raw.execute("BEGIN TRANSACTION")
    try:
        export_id = int(raw.execute(f"SELECT coalesce(max(export_id), 0) + 1 FROM {EXPORTS_TABLE}").fetchall()[0][0])
        raw.execute(
            f"INSERT INTO {EXPORTS_TABLE} VALUES (?, ?, ?, now(), ?, ?, ?, ?)",
            [export_id, str(Path(path).resolve()), kind, actor or audit.default_actor(), purpose, ids.num_rows, fields],
        )
        raw.register("_custlens_export_ids", ids)
        raw.execute(
            f"INSERT INTO {EXPORT_CUSTOMERS_TABLE} SELECT ?, customer_id FROM _custlens_export_ids", [export_id]
        )
        raw.unregister("_custlens_export_ids")
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    audit.record(
        workspace,
        "export",
        actor=actor,
        purpose=purpose,
        subject=str(Path(path).resolve()),
        details={"export_id": export_id, "kind": kind, "customers": ids.num_rows, "contact_fields": fields},
    )
    return export_id


def exports_of(workspace: Workspace, customer_id: str) -> list[dict[str, object]]:
    """The recorded exports that held ``customer_id`` (id, path, kind, time, purpose)."""
    rows = workspace.raw.execute(
        f"""SELECT h.export_id, h.path, h.kind, strftime(timezone('UTC', h.created_at), '%Y-%m-%dT%H:%M:%SZ'),
                   h.purpose, h.contact_fields
            FROM {EXPORTS_TABLE} h JOIN {EXPORT_CUSTOMERS_TABLE} c USING (export_id)
            WHERE c.customer_id = ? ORDER BY h.export_id""",
        [customer_id],
    ).fetchall()
    keys = ("export_id", "path", "kind", "created_at", "purpose", "contact_fields")
    return [dict(zip(keys, r)) for r in rows]
