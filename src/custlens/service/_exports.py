"""Campaign lists of one segment as CSV or XLSX, with contact data only where allowed.

The list is the playbook's per-customer action (:func:`custlens.playbook.apply_playbook`)
for the members of a stored segment. Contact columns are added only for a role that may
see them (:func:`custlens.access.visible_identity_fields`): every field for
``identity:read``, the contact fields of customers who consented to marketing for
``contact:read``, none otherwise. Text cells that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) are prefixed with
``'`` so they are read as text.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from custlens.errors import InputError, NotFoundError, did_you_mean

if TYPE_CHECKING:
    from custlens.access import User
    from custlens.service._service import Service

__all__ = ["Export", "campaign_export", "neutralise_formulas", "EXPORT_FORMATS"]

EXPORT_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
"""Export formats and their media types."""

_FORMULA_START = r"^[=+\-@\t\r]"


@dataclass(frozen=True)
class Export:
    """A file to download: its bytes, name, media type and number of data rows."""

    content: bytes
    filename: str
    media_type: str
    rows: int


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """``table`` with every text cell that starts like a formula prefixed with ``'``."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.fill_null(pc.match_substring_regex(column, _FORMULA_START), False)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _contacts(service: Service, user: User, ids: pa.Array) -> pa.Table | None:
    """Identity columns of ``ids`` the user may see (null where not), or ``None`` for none."""
    from custlens.access import IDENTITY_FIELDS, visible_identity_fields

    always = set(visible_identity_fields(user.role, consent_marketing=False))
    consented = set(visible_identity_fields(user.role, consent_marketing=True))
    fields = [f for f in IDENTITY_FIELDS if f in consented]
    if not fields:
        return None
    import ibis

    wanted = ibis.memtable(pa.table({"_id": ids}))
    identity = service.table("identity")
    customers = service.table("customers").select(_cid="customer_id", _consent="consent_marketing")
    j = wanted.left_join(identity, wanted._id == identity.customer_id)
    j = j.left_join(customers, j._id == customers._cid)
    got = j.select("_id", "_consent", *fields).to_pyarrow()
    by_id = dict(zip(got["_id"].to_pylist(), range(got.num_rows)))
    got = got.take(pa.array([by_id[i] for i in ids.to_pylist()], pa.int64()))
    consent = pc.fill_null(pc.equal(got["_consent"], True), False)
    out = {}
    for name in fields:
        column = got[name]
        out[name] = column if name in always else pc.if_else(consent, column, pa.nulls(len(column), column.type))
    return pa.table(out)


def campaign_export(
    service: Service,
    user: User,
    method: str,
    segment: str | None = None,
    *,
    fmt: str = "csv",
    analysis_id: str | None = None,
    languages: tuple[str, ...] = ("en", "zh"),
    contacts: bool = True,
) -> Export:
    """The campaign list of a segment (or of every segment of ``method``); permission ``exports:create``.

    Parameters
    ----------
    method, segment
        The segmentation and one of its segments (``None``: all of them).
    fmt
        ``csv`` (UTF-8 with byte-order mark, for Excel) or ``xlsx``.
    languages
        ``en`` and/or ``zh``: which action columns to keep.
    contacts
        Add the contact columns the role may see.

    Raises
    ------
    NotFoundError
        For an unknown method or segment.
    InputError
        For an unknown format or language.
    """
    from custlens.access import check
    from custlens.playbook import ACTION_FIELDS, CAMPAIGN_COLUMNS, apply_playbook, load_playbook
    from custlens.segment import csv_bytes, write_export

    check(user.role, "exports:create")
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"'format' must be one of {', '.join(EXPORT_FORMATS)}; got {fmt!r}")
    if not languages or any(lang not in ("en", "zh") for lang in languages):
        raise InputError(f"'languages' must be 'en' and/or 'zh'; got {list(languages)!r}")
    analysis = service.analysis(analysis_id)
    summary = analysis.segment_summary(method)
    names = summary["segment"].to_pylist()
    members = analysis.segments(method)
    if segment is not None:
        if segment not in names:
            raise NotFoundError(
                f"{method} has no segment {segment!r}{did_you_mean(segment, names)} (segments: {', '.join(names)})"
            )
        members = members.filter(members.segment == segment)
    playbook = load_playbook(analysis.config.get("playbook", {}).get("file"))
    if method in playbook.schemes:
        table = apply_playbook(members, playbook, scheme=method).to_pyarrow()
        zh = {"segment_zh", "priority_zh", *(f"{f}_zh" for f in ACTION_FIELDS)}
        en = {"priority", *ACTION_FIELDS}
        keep = [
            c for c in CAMPAIGN_COLUMNS if not (c in zh and "zh" not in languages or c in en and "en" not in languages)
        ]
        table = table.sort_by([("priority_rank", "ascending"), ("customer_id", "ascending")]).select(keep)
    else:
        table = members.select("customer_id", "segment", "segment_zh").order_by("customer_id").to_pyarrow()
    extra = _contacts(service, user, table["customer_id"].combine_chunks()) if contacts else None
    if extra is not None:
        for name in extra.column_names:
            table = table.append_column(name, extra[name])
    table = neutralise_formulas(table)
    stem = f"campaign-{analysis.analysis_id}-{method}" + (f"-{segment}" if segment else "")
    stem = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_." else "_" for ch in stem)
    if fmt == "csv":
        content = csv_bytes(table, "utf-8-sig")
    else:
        with tempfile.TemporaryDirectory(prefix="custlens-export-") as folder:
            path = Path(folder) / f"{stem}.xlsx"
            write_export(path, {"campaign": table})
            content = path.read_bytes()
    return Export(content, f"{stem}.{fmt}", EXPORT_FORMATS[fmt], table.num_rows)
