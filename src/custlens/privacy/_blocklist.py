"""The block list of erased persons and the guard every import passes through.

Erasing a person records keyed digests (HMAC with the key's ``erasure`` secret) of their
customer id, phone and e-mail. An import then

* refuses identity rows whose customer id, phone or e-mail is on the list (they are
  rejected with the reason "erased person", their values never written anywhere), and
* replaces, in every other table, a listed customer id with the person's pseudonym, so a
  re-import of old orders stays pseudonymous (and is dropped as a duplicate of the
  pseudonymised rows already stored).

:func:`import_guard` returns what an import of one table must do to its clean rows; for
the identity table that includes encrypting them (:func:`protect_identity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from custlens.privacy._crypto import digest_values, pseudonym
from custlens.privacy._identity import protect_identity
from custlens.privacy._keys import KeyRing, workspace_key
from custlens.warehouse._migrations import BLOCKLIST_TABLE

if TYPE_CHECKING:
    from custlens.schema import Table
    from custlens.warehouse import Workspace

__all__ = ["ID_COLUMNS", "ImportGuard", "import_guard", "blocklist", "block_entries", "BLOCKED_REASON"]

ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "transactions": ("customer_id",),
    "interactions": ("customer_id",),
    "receivables": ("customer_id",),
    "leads": ("customer_id",),
    "survey_answers": ("customer_id", "respondent_id"),
}
"""Columns holding a customer id, per table (the identity table aside)."""

BLOCKED_REASON = "erased person (on the block list of erasures); not imported"


def blocklist(workspace: Workspace) -> dict[str, set[str]]:
    """Digests on the block list, by kind (``customer_id``, ``phone``, ``email``)."""
    out: dict[str, set[str]] = {}
    for kind, digest in workspace.raw.execute(f"SELECT kind, digest FROM {BLOCKLIST_TABLE}").fetchall():
        out.setdefault(str(kind), set()).add(str(digest))
    return out


def block_entries(key: KeyRing, customer_id: str, phone: str | None, email: str | None) -> list[tuple[str, str]]:
    """The (kind, digest) pairs recorded for one erased person."""
    entries = []
    for kind, value in (("customer_id", customer_id), ("phone", phone), ("email", email)):
        digest = digest_values(key.erasure, kind, [value])[0] if value else None
        if digest:
            entries.append((kind, digest))
    return entries


@dataclass
class ImportGuard:
    """What an import does to each batch of clean rows of one table."""

    table: str
    key: KeyRing | None
    blocked: dict[str, set[str]]

    def _hits(self, kind: str, values: Sequence[str | None]) -> list[bool]:
        listed = self.blocked.get(kind)
        if not listed or self.key is None:
            return [False] * len(values)
        return [d in listed if d else False for d in digest_values(self.key.erasure, kind, values)]

    def apply(self, rows: pa.Table) -> tuple[pa.Table, pa.Array]:
        """Protect ``rows``; return them and the ``_line`` of identity rows refused as erased."""
        if self.table == "identity":
            assert self.key is not None
            hits = [False] * rows.num_rows
            for kind in ("customer_id", "phone", "email"):
                hits = [a or b for a, b in zip(hits, self._hits(kind, rows.column(kind).to_pylist()))]
            mask = pa.array(hits, pa.bool_())
            refused = pc.filter(rows.column("_line"), mask)
            return protect_identity(self.key, rows.filter(pc.invert(mask))), refused
        for name in ID_COLUMNS.get(self.table, ()):
            values = rows.column(name).to_pylist()
            unique = sorted({v for v in values if v is not None})
            hit = {v for v, h in zip(unique, self._hits("customer_id", unique)) if h}
            if hit:
                assert self.key is not None
                names = {v: pseudonym(self.key, v) for v in hit}
                fixed = [names.get(v, v) if v is not None else None for v in values]
                rows = rows.set_column(rows.column_names.index(name), name, pa.array(fixed, pa.string()))
        return rows, pa.array([], pa.int64())


def import_guard(workspace: Workspace, table: Table) -> ImportGuard | None:
    """The guard of an import into ``table``, or ``None`` when rows pass unchanged.

    Raises
    ------
    ConfigError
        The identity table, or a table with customer ids while the block list is not
        empty, and no usable key.
    """
    if table.name != "identity" and table.name not in ID_COLUMNS:
        return None
    listed = blocklist(workspace)
    if table.name != "identity" and not listed:
        return None
    return ImportGuard(table=table.name, key=workspace_key(workspace), blocked=listed)
