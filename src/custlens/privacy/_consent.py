"""Consent: who may be contacted, and the contact lists that honour it.

``customers.consent_marketing`` says whether a customer agreed to marketing contact; an
unknown consent (empty) is no consent. :func:`contact_list` is the one way contact fields
leave the warehouse for a campaign: customers without consent get no contact values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from custlens.errors import InputError
from custlens.privacy._identity import PERSONAL_FIELDS, read_identity

if TYPE_CHECKING:
    from custlens.privacy._keys import KeyRing
    from custlens.warehouse import Workspace

__all__ = ["CONTACT_FIELDS", "with_consent", "contact_list"]

CONTACT_FIELDS: tuple[str, ...] = ("name", "contact_person", "phone", "email")
"""The identity fields a marketing contact needs (the default of :func:`contact_list`)."""


def with_consent(workspace: Workspace, customer_ids: Iterable[str], kind: str = "marketing") -> set[str]:
    """The customers among ``customer_ids`` whose ``consent_<kind>`` is true.

    ``kind`` is ``"marketing"`` or ``"profiling"``; a missing customer or an empty consent
    counts as no consent.
    """
    if kind not in ("marketing", "profiling"):
        raise InputError(f"'kind' must be 'marketing' or 'profiling'; got {kind!r}")
    ids = sorted({str(c) for c in customer_ids})
    if not ids:
        return set()
    rows = workspace.raw.execute(
        f"SELECT customer_id FROM customers WHERE consent_{kind} IS TRUE "
        "AND customer_id IN (SELECT unnest(?::VARCHAR[]))",
        [ids],
    ).fetchall()
    return {str(r[0]) for r in rows}


def contact_list(
    workspace: Workspace,
    customer_ids: Sequence[str],
    fields: Sequence[str] = CONTACT_FIELDS,
    *,
    key: KeyRing | None = None,
    key_file: str | Path | None = None,
    actor: str | None = None,
    purpose: str | None = None,
) -> pa.Table:
    """Contact fields of the given customers, filled only for those who consented to marketing.

    Returns
    -------
    pyarrow.Table
        ``customer_id``, ``consent_marketing`` (true/false) and one column per field, in the
        order of ``customer_ids``; the fields are empty for every customer without consent.
    """
    unknown = [f for f in fields if f not in PERSONAL_FIELDS]
    if unknown:
        raise InputError(
            f"'fields': {', '.join(map(repr, unknown))} not personal fields; expected some of: {', '.join(PERSONAL_FIELDS)}"
        )
    ids = [str(c) for c in customer_ids]
    allowed = with_consent(workspace, ids, "marketing")
    values = (
        read_identity(workspace, allowed, fields, key=key, key_file=key_file, actor=actor, purpose=purpose)
        if allowed
        else {}
    )
    columns: dict[str, pa.Array] = {
        "customer_id": pa.array(ids, pa.string()),
        "consent_marketing": pa.array([c in allowed for c in ids], pa.bool_()),
    }
    for f in fields:
        columns[f] = pa.array([values.get(c, {}).get(f) if c in allowed else None for c in ids], pa.string())
    return pa.table(columns)
