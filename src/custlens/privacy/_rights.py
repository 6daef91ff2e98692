"""The rights of the people in the warehouse: erasure, access, correction.

* :func:`erase` removes a person's identity row and correction history, replaces their
  customer id by a pseudonym in every table (canonical tables, stored analyses, segment
  snapshots, export history, quarantine files), records keyed digests of their id, phone
  and e-mail in the block list (a later import of them is refused or pseudonymised), and
  compacts the database file so that no freed page keeps the old values.
* :func:`export_person` gathers everything held about one person (the right of access).
* :func:`correct` changes identity fields, keeping each old value (encrypted) in
  ``_identity_history``.

Each writes one entry to the audit log naming the person only by a keyed reference.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from custlens.errors import InputError, NotFoundError
from custlens.privacy import audit
from custlens.privacy._blocklist import block_entries
from custlens.privacy._crypto import decrypt_values, digest_values, encrypt_values, pseudonym
from custlens.privacy._exports import exports_of
from custlens.privacy._identity import INDEXED_FIELDS, PERSONAL_FIELDS, read_identity, row_digests
from custlens.privacy._keys import KeyRing, workspace_key
from custlens.warehouse._ddl import quote
from custlens.warehouse._migrations import BLOCKLIST_TABLE, IDENTITY_HISTORY_TABLE

if TYPE_CHECKING:
    from custlens.warehouse import Workspace

__all__ = ["ErasureReport", "erase", "export_person", "correct", "ID_COLUMN_NAMES"]

ID_COLUMN_NAMES = ("customer_id", "respondent_id")
"""Columns, in any table of the warehouse, that hold a customer id."""

_SKIP = {"identity", IDENTITY_HISTORY_TABLE}


@dataclass(frozen=True)
class ErasureReport:
    """What :func:`erase` touched.

    ``rows`` counts rows per ``table.column`` whose id was pseudonymised; ``exports`` lists
    the earlier exports that held the person (their recipients may need telling).
    """

    customer_id: str
    pseudonym: str
    identity_rows: int
    history_rows: int
    rows: dict[str, int] = field(default_factory=dict)
    stored_results: int = 0
    quarantine_files: int = 0
    blocklist_entries: int = 0
    exports: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain form."""
        return asdict(self)


def _id_columns(ws: Workspace) -> list[tuple[str, str]]:
    rows = ws.raw.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND column_name IN ('customer_id', 'respondent_id') "
        "AND data_type = 'VARCHAR' ORDER BY table_name, column_name"
    ).fetchall()
    views = {r[0] for r in ws.raw.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    return [(str(t), str(c)) for t, c in rows if t not in _SKIP and t not in views]


def _has_table(ws: Workspace, name: str) -> bool:
    return bool(
        ws.raw.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?",
            [name],
        ).fetchall()[0][0]
    )


def _replace_in_blob(data: bytes, old: str, new: str) -> bytes | None:
    table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    changed = False
    for i, f in enumerate(table.schema):
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            column = table.column(i)
            hit = pc.equal(column, old)
            if pc.any(hit).as_py():
                table = table.set_column(i, f, pc.if_else(hit, pa.scalar(new, f.type), column))
                changed = True
    if not changed:
        return None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _stored_analyses(ws: Workspace, old: str, new: str) -> int:
    """Pseudonymise the id in stored result tables (Arrow blobs) and run records (JSON)."""
    touched = 0
    if _has_table(ws, "analysis_results"):
        for rowid, data in ws.raw.execute("SELECT rowid, data FROM analysis_results").fetchall():
            fixed = _replace_in_blob(bytes(data), old, new)
            if fixed is not None:
                ws.raw.execute("UPDATE analysis_results SET data = ? WHERE rowid = ?", [fixed, rowid])
                touched += 1
    if _has_table(ws, "analysis_runs"):
        token, fresh = json.dumps(old), json.dumps(new)
        for name in ("details", "models", "skipped", "snapshots", "config"):
            n = ws.raw.execute(
                f"UPDATE analysis_runs SET {quote(name)} = replace({quote(name)}, ?, ?) WHERE contains({quote(name)}, ?)",
                [token, fresh, token],
            ).fetchall()
            touched += int(n[0][0]) if n else 0
    return touched


def _scrub_quarantine(ws: Workspace, old: str, new: str) -> int:
    pattern = re.compile(rf"(?<![0-9A-Za-z_\-]){re.escape(old)}(?![0-9A-Za-z_\-])")
    touched = 0
    for path in sorted(ws.quarantine_dir.glob("*.csv")):
        if old.encode("utf-8") not in path.read_bytes():
            continue
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
        cols = {}
        for name in table.column_names:
            column = table.column(name)
            if pa.types.is_string(column.type):
                column = pa.array([pattern.sub(new, v) if v else v for v in column.to_pylist()], pa.string())
            cols[name] = column
        tmp = path.with_name("." + path.name + ".tmp")
        pacsv.write_csv(pa.table(cols), tmp)
        tmp.chmod(0o600)
        tmp.replace(path)
        touched += 1
    return touched


def _exists(ws: Workspace, customer_id: str) -> bool:
    for table, column in [("identity", "customer_id"), *_id_columns(ws)]:
        found = ws.raw.execute(f"SELECT 1 FROM {quote(table)} WHERE {quote(column)} = ? LIMIT 1", [customer_id])
        if found.fetchall():
            return True
    return False


def erase(
    workspace: Workspace,
    customer_id: str,
    *,
    key: KeyRing | None = None,
    key_file: str | Path | None = None,
    actor: str | None = None,
    purpose: str | None = None,
    compact: bool = True,
) -> ErasureReport:
    """Erase one person: identity gone, id pseudonymised everywhere, block-listed.

    Parameters
    ----------
    workspace
        The workspace, open for writing.
    customer_id
        The person's customer id.
    key, key_file
        The workspace key (needed for the block list and the pseudonym).
    actor, purpose
        For the audit log (e.g. ``"api:alice"``, ``"request of 2026-11-02, ticket 381"``).
    compact
        Rewrite the database file afterwards, so no freed page keeps the old id (on by default).

    Raises
    ------
    NotFoundError
        When no table holds ``customer_id``.
    """
    cid = str(customer_id)
    ring = key if key is not None else workspace_key(workspace, key_file)
    if workspace.read_only:
        raise InputError(f"{workspace.path}: the workspace is open read-only; cannot erase")
    if not _exists(workspace, cid):
        raise NotFoundError(f"no customer {cid!r} in the workspace {workspace.path}; nothing erased")
    fresh = pseudonym(ring, cid)
    plain = read_identity(workspace, [cid], ("phone", "email"), key=ring, audit_read=False).get(cid, {})
    entries = block_entries(ring, cid, plain.get("phone"), plain.get("email"))
    exports = exports_of(workspace, cid)
    raw = workspace.raw
    counts: dict[str, int] = {}
    raw.execute("BEGIN TRANSACTION")
    try:
        n_identity = int(raw.execute("DELETE FROM identity WHERE customer_id = ?", [cid]).fetchall()[0][0])
        n_history = int(
            raw.execute(f"DELETE FROM {IDENTITY_HISTORY_TABLE} WHERE customer_id = ?", [cid]).fetchall()[0][0]
        )
        for table, column in _id_columns(workspace):
            n = raw.execute(
                f"UPDATE {quote(table)} SET {quote(column)} = ? WHERE {quote(column)} = ?", [fresh, cid]
            ).fetchall()
            if n and n[0][0]:
                counts[f"{table}.{column}"] = int(n[0][0])
        stored = _stored_analyses(workspace, cid, fresh)
        for kind, digest in entries:
            raw.execute(f"INSERT INTO {BLOCKLIST_TABLE} VALUES (?, ?, now())", [kind, digest])
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    files = _scrub_quarantine(workspace, cid, fresh)
    if compact:
        from custlens.warehouse._compact import compact_database

        compact_database(workspace)
    report = ErasureReport(
        customer_id=cid,
        pseudonym=fresh,
        identity_rows=n_identity,
        history_rows=n_history,
        rows=counts,
        stored_results=stored,
        quarantine_files=files,
        blocklist_entries=len(entries),
        exports=exports,
    )
    audit.record(
        workspace,
        "erase",
        actor=actor,
        purpose=purpose,
        subject=audit.subject_ref(ring, cid),
        details={
            "identity_rows": n_identity,
            "rows": counts,
            "stored_results": stored,
            "quarantine_files": files,
            "exports": [e["export_id"] for e in exports],
        },
    )
    return report


def _rows_of(ws: Workspace, table: str, column: str, cid: str) -> list[dict[str, Any]]:
    result = ws.raw.sql(f"SELECT * FROM {quote(table)} WHERE {quote(column)} = ?", params=[cid]).to_arrow_table()
    return [{k: v for k, v in row.items() if not k.startswith("_")} for row in result.to_pylist()]


def export_person(
    workspace: Workspace,
    customer_id: str,
    *,
    key: KeyRing | None = None,
    key_file: str | Path | None = None,
    actor: str | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """Everything the workspace holds about one person (the right of access), as plain values.

    Returns
    -------
    dict
        ``customer_id``, ``identity`` (decrypted), ``identity_history`` (decrypted old
        values), ``tables`` (``{table: [rows]}`` for every table holding the id: the
        canonical tables, stored analyses, segment snapshots), ``exports`` (files that held
        the person) and ``blocked`` (false: an erased person is no longer known by this id).

    Raises
    ------
    NotFoundError
        When no table holds ``customer_id``.
    """
    cid = str(customer_id)
    ring = key if key is not None else workspace_key(workspace, key_file)
    if not _exists(workspace, cid):
        raise NotFoundError(f"no customer {cid!r} in the workspace {workspace.path}")
    identity = read_identity(workspace, [cid], key=ring, audit_read=False).get(cid)
    history = []
    for field_name, token, changed_at, who, reason in workspace.raw.execute(
        "SELECT field, old_value, strftime(timezone('UTC', changed_at), '%Y-%m-%dT%H:%M:%S.%fZ'), actor, reason "
        f"FROM {IDENTITY_HISTORY_TABLE} "
        "WHERE customer_id = ? ORDER BY changed_at",
        [cid],
    ).fetchall():
        old = decrypt_values(ring, f"history:{field_name}", [token], [cid])[0]
        history.append(
            {"field": field_name, "old_value": old, "changed_at": changed_at, "actor": who, "reason": reason}
        )
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, column in _id_columns(workspace):
        if table.startswith("_"):
            continue
        rows = _rows_of(workspace, table, column, cid)
        if rows:
            tables.setdefault(table, []).extend(rows)
    out = {
        "customer_id": cid,
        "identity": identity,
        "identity_history": history,
        "tables": tables,
        "exports": exports_of(workspace, cid),
    }
    audit.record(
        workspace,
        "person.export",
        actor=actor,
        purpose=purpose,
        subject=audit.subject_ref(ring, cid),
        details={"tables": {k: len(v) for k, v in tables.items()}},
    )
    return out


def correct(
    workspace: Workspace,
    customer_id: str,
    changes: dict[str, str | None],
    *,
    key: KeyRing | None = None,
    key_file: str | Path | None = None,
    actor: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Change identity fields of one person, keeping the old values (encrypted) as history.

    Parameters
    ----------
    changes
        ``{field: new value}``; ``None`` clears a field. Fields are those of
        :data:`custlens.privacy.PERSONAL_FIELDS`.
    reason
        Why (kept with the history and in the audit log).

    Returns
    -------
    dict
        ``customer_id`` and ``changed`` (the fields whose value changed).

    Raises
    ------
    NotFoundError
        When the person has no identity row.
    InputError
        An unknown field, or a value with control characters.
    """
    cid = str(customer_id)
    if not changes:
        raise InputError("'changes' is empty: give at least one field to correct, e.g. phone='...'")
    for name, value in changes.items():
        if name not in PERSONAL_FIELDS:
            raise InputError(
                f"'changes': {name!r} is not a personal field of the identity table "
                f"(expected some of: {', '.join(PERSONAL_FIELDS)})"
            )
        if value is not None and (not isinstance(value, str) or re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value)):
            raise InputError(f"'changes': the new {name} must be text without control characters")
    ring = key if key is not None else workspace_key(workspace, key_file)
    current = read_identity(workspace, [cid], key=ring, audit_read=False).get(cid)
    if current is None:
        raise NotFoundError(f"customer {cid!r} has no identity row in {workspace.path}; nothing corrected")
    updated = {**current, **{k: (v.strip() if isinstance(v, str) else v) for k, v in changes.items()}}
    changed = [f for f in PERSONAL_FIELDS if updated[f] != current[f]]
    raw = workspace.raw
    raw.execute("BEGIN TRANSACTION")
    try:
        for name in changed:
            old = encrypt_values(ring, f"history:{name}", [current[name]], [cid])[0]
            raw.execute(
                f"INSERT INTO {IDENTITY_HISTORY_TABLE} VALUES (?, ?, ?, now(), ?, ?)",
                [cid, name, old, actor or audit.default_actor(), reason],
            )
            raw.execute(
                f"UPDATE identity SET {quote(name)} = ? WHERE customer_id = ?",
                [encrypt_values(ring, name, [updated[name]], [cid])[0], cid],
            )
        if changed:
            plain = {f: [updated[f]] for f in PERSONAL_FIELDS}
            sets: dict[str, str | None] = {"_row_digest": row_digests(ring, [cid], plain)[0]}
            for f in INDEXED_FIELDS:
                sets[f"_{f}_index"] = digest_values(ring.index, f, [updated[f]])[0]
            for col, value in sets.items():
                raw.execute(f"UPDATE identity SET {quote(col)} = ? WHERE customer_id = ?", [value, cid])
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    audit.record(
        workspace,
        "correct",
        actor=actor,
        purpose=reason,
        subject=audit.subject_ref(ring, cid),
        details={"fields": changed},
    )
    return {"customer_id": cid, "changed": changed}
