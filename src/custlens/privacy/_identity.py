"""The identity table, encrypted field by field: protecting rows on import, reading them back.

Every personal field (:data:`PERSONAL_FIELDS`) is stored encrypted (AES-256-GCM, the
workspace key's ``data`` secret); ``customer_id`` stays plain (it is the join key). Beside
them the table holds ``_row_digest`` (keyed digest of the whole row, for duplicate checks)
and the blind index ``_phone_index`` / ``_email_index`` (keyed digests of the normalised
values, for exact look-up).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens.errors import InputError, did_you_mean
from custlens.privacy._crypto import decrypt_values, digest_values, encrypt_values
from custlens.privacy._keys import KeyRing, workspace_key
from custlens.schema import TABLES

if TYPE_CHECKING:
    from custlens.warehouse import Workspace

__all__ = ["PERSONAL_FIELDS", "INDEXED_FIELDS", "protect_identity", "read_identity", "find_customers", "row_digests"]

PERSONAL_FIELDS: tuple[str, ...] = tuple(c for c in TABLES["identity"].column_names if c != "customer_id")
"""The encrypted fields of the identity table."""
INDEXED_FIELDS: tuple[str, ...] = ("phone", "email")
"""Fields with a blind index (exact-match look-up)."""

_STRING = pa.string()


def row_digests(key: KeyRing, customer_ids: Sequence[str], columns: Mapping[str, Sequence[str | None]]) -> list[str]:
    """Keyed digest of each identity row's plain values (equal rows, equal digests)."""
    out = []
    for i, cid in enumerate(customer_ids):
        payload = json.dumps([cid, *[columns[f][i] for f in PERSONAL_FIELDS]], ensure_ascii=False)
        out.append(hmac.new(key.index, b"row|" + payload.encode("utf-8"), hashlib.sha256).hexdigest())
    return out


def protect_identity(key: KeyRing, rows: pa.Table) -> pa.Table:
    """Encrypt the personal fields of clean identity rows and add the digest columns.

    ``rows`` has the canonical columns (plain) and any others (``_line``), which are kept.
    """
    ids = [str(v) for v in rows.column("customer_id").to_pylist()]
    plain = {f: rows.column(f).to_pylist() for f in PERSONAL_FIELDS}
    out = rows
    for name in PERSONAL_FIELDS:
        index = out.column_names.index(name)
        out = out.set_column(index, name, pa.array(encrypt_values(key, name, plain[name], ids), _STRING))
    out = out.append_column("_row_digest", pa.array(row_digests(key, ids, plain), _STRING))
    for name in INDEXED_FIELDS:
        out = out.append_column(f"_{name}_index", pa.array(digest_values(key.index, name, plain[name]), _STRING))
    return out


def _check_fields(fields: Iterable[str] | None) -> tuple[str, ...]:
    if fields is None:
        return PERSONAL_FIELDS
    chosen = tuple(fields)
    for f in chosen:
        if f not in PERSONAL_FIELDS:
            raise InputError(
                f"'fields': {f!r} is not a personal field of the identity table{did_you_mean(f, PERSONAL_FIELDS)} "
                f"(expected some of: {', '.join(PERSONAL_FIELDS)})"
            )
    return chosen


def _key(ws: Workspace, key: KeyRing | None, key_file: str | Path | None) -> KeyRing:
    return key if key is not None else workspace_key(ws, key_file)


def read_identity(
    workspace: Workspace,
    customer_ids: Iterable[str],
    fields: Iterable[str] | None = None,
    *,
    key: KeyRing | None = None,
    key_file: str | Path | None = None,
    actor: str | None = None,
    purpose: str | None = None,
    audit_read: bool = True,
    connection: Any = None,
) -> dict[str, dict[str, str | None]]:
    """Decrypted personal fields of some customers; the read is written to the audit log.

    Parameters
    ----------
    workspace
        The open workspace (read-only is enough).
    customer_ids
        The customers to read; ids without an identity row are left out of the result.
    fields
        Personal fields to return (default: all of :data:`PERSONAL_FIELDS`).
    key, key_file
        The workspace key, or the file to read it from (default: see :mod:`custlens.privacy`).
    actor, purpose
        Who reads and why, for the audit log (``"api:alice"``, ``"complaint 381"``).
    audit_read
        Record the read (an entry ``identity.read`` naming the fields and, for up to
        :data:`AUDIT_SUBJECTS` customers, their keyed references). Only the library's own
        compound operations (erasure, access export) turn it off, recording themselves.
    connection
        A DuckDB connection or cursor to query on instead of ``workspace.raw`` (a service
        thread passes its own cursor; give ``key`` too, loaded once).

    Returns
    -------
    dict
        ``{customer_id: {field: value}}``.

    Raises
    ------
    ConfigError
        No key, a wrong key, or a stored value that does not decrypt.
    """
    chosen = _check_fields(fields)
    ids = sorted({str(c) for c in customer_ids})
    if not ids or not chosen:
        return {i: {} for i in ids} if not chosen else {}
    ring = _key(workspace, key, key_file)
    cols = ", ".join(f'"{f}"' for f in chosen)
    con = connection if connection is not None else workspace.raw
    if len(ids) <= _POINT_READS:  # a few customers (a profile page): point look-ups on the index
        if len(ids) == 1:  # one customer: an equality the index answers directly (half the time of IN)
            rows = con.execute(f"SELECT customer_id, {cols} FROM identity WHERE customer_id = ?", ids).fetchall()
        else:
            marks = ", ".join("?" * len(ids))
            rows = con.execute(
                f"SELECT customer_id, {cols} FROM identity WHERE customer_id IN ({marks}) ORDER BY customer_id", ids
            ).fetchall()
        found = [str(r[0]) for r in rows]
        stored = {f: [r[i + 1] for r in rows] for i, f in enumerate(chosen)}
    else:
        table = (
            con.sql(
                f"SELECT customer_id, {cols} FROM identity WHERE customer_id IN (SELECT unnest(?::VARCHAR[]))",
                params=[ids],
            )
            .to_arrow_table()
            .sort_by("customer_id")
        )
        found = [str(v) for v in table.column("customer_id").to_pylist()]
        stored = {f: table.column(f).to_pylist() for f in chosen}
    plain = {f: decrypt_values(ring, f, stored[f], found) for f in chosen}
    if audit_read:
        _record_read(workspace, ring, found, chosen, actor, purpose)
    return {cid: {f: plain[f][i] for f in chosen} for i, cid in enumerate(found)}


_POINT_READS = 64
"""Reads of at most this many ids query them one by one (the ``customer_id`` index serves them)."""

AUDIT_SUBJECTS = 20
"""Reads of at most this many customers name each one (by keyed reference) in the log."""


def _record_read(
    ws: Workspace, key: KeyRing, ids: Sequence[str], fields: Sequence[str], actor: str | None, purpose: str | None
) -> None:
    from custlens.privacy import audit

    details: dict[str, Any] = {"fields": list(fields), "customers": len(ids)}
    if 1 < len(ids) <= AUDIT_SUBJECTS:
        details["subjects"] = [audit.subject_ref(key, c) for c in ids]
    subject = audit.subject_ref(key, ids[0]) if len(ids) == 1 else None
    audit.record(ws, "identity.read", actor=actor, purpose=purpose, subject=subject, details=details)


def find_customers(
    workspace: Workspace,
    *,
    phone: str | None = None,
    email: str | None = None,
    key: KeyRing | None = None,
    key_file: str | Path | None = None,
    actor: str | None = None,
    purpose: str | None = None,
    connection: Any = None,
) -> list[str]:
    """Customer ids whose phone or e-mail equals the given one (after normalisation).

    The look-up hashes the query with the blind-index key; nothing is decrypted. The
    look-up is written to the audit log; ``connection`` as in :func:`read_identity`.
    """
    if phone is None and email is None:
        raise InputError("give 'phone' or 'email' to look up")
    ring = _key(workspace, key, key_file)
    clauses: list[str] = []
    params: list[Any] = []
    for kind, value in (("phone", phone), ("email", email)):
        if value is not None:
            clauses.append(f"_{kind}_index = ?")
            params.append(digest_values(ring.index, kind, [value])[0])
    con = connection if connection is not None else workspace.raw
    rows = con.execute(
        f"SELECT DISTINCT customer_id FROM identity WHERE {' OR '.join(clauses)} ORDER BY 1", params
    ).fetchall()
    found = [str(r[0]) for r in rows]
    from custlens.privacy import audit

    audit.record(
        workspace,
        "identity.search",
        actor=actor,
        purpose=purpose,
        details={"by": [k for k, v in (("phone", phone), ("email", email)) if v is not None], "found": len(found)},
    )
    return found
