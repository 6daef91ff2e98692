"""Joining playbook actions to customers, checking coverage, exporting campaign lists."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from custlens._frames import as_ibis
from custlens.errors import ConfigError, InputError, did_you_mean
from custlens.playbook._model import ACTION_FIELDS, Playbook

if TYPE_CHECKING:
    from custlens.warehouse import Workspace

__all__ = [
    "CAMPAIGN_COLUMNS",
    "apply_playbook",
    "missing_actions",
    "export_campaign",
]

logger = logging.getLogger(__name__)

CAMPAIGN_COLUMNS = (
    "customer_id",
    "segment",
    "segment_zh",
    "priority",
    "priority_rank",
    "priority_zh",
    "service_level",
    "service_level_zh",
    "channel",
    "channel_zh",
    "offer",
    "offer_zh",
)
"""Columns of :func:`apply_playbook` and of the campaign export, in order. No personal data."""

Encoding = Literal["utf-8-sig", "utf-8", "gb18030"]


def _unwrap(assignments: Any, scheme: str | None) -> tuple[ir.Table, str | None]:
    """Accept a segmentation result (``.customers`` and ``.method``) or a table."""
    if isinstance(assignments, ir.Table):  # before the duck-typing: columns read as attributes
        return assignments, scheme
    if hasattr(assignments, "customers") and hasattr(assignments, "method"):
        return _unwrap(assignments.customers, scheme or str(assignments.method))
    return as_ibis(assignments, "segment assignments"), scheme


def _segments_present(t: ir.Table, segment_col: str) -> list[str]:
    col = t.select(seg=t[segment_col].cast("string")).distinct().to_pyarrow().column("seg").to_pylist()
    return sorted(s for s in col if s is not None)


def missing_actions(
    segments: Iterable[str] | Any, playbook: Playbook, scheme: str | None = None, segment_col: str = "segment"
) -> list[str]:
    """Segment names (from a list or a per-customer table) that have no action in ``playbook``.

    With ``scheme`` only that scheme's actions count; without it, any scheme's.
    """
    if scheme is not None:
        playbook.check_scheme(scheme)
    if isinstance(segments, (list, tuple, set, frozenset)):
        names = sorted({str(s) for s in segments})
    else:
        t, scheme = _unwrap(segments, scheme)
        names = _segments_present(t, segment_col)
    known = set(playbook.segments(scheme))
    return [s for s in names if s not in known]


def apply_playbook(
    assignments: Any,
    playbook: Playbook,
    *,
    scheme: str | None = None,
    segment_col: str = "segment",
    customer_col: str = "customer_id",
    strict: bool = False,
) -> ir.Table:
    """Attach each customer's suggested action: one row per customer, :data:`CAMPAIGN_COLUMNS`.

    Parameters
    ----------
    assignments
        Per-customer segment table (columns ``customer_col`` and ``segment_col``), or a
        segmentation result (its ``customers`` table; its ``method`` is the scheme).
    playbook
        From :func:`~custlens.playbook.load_playbook`.
    scheme
        The playbook section to use. Without it, segment names are looked up in every
        section and must be unambiguous.
    strict
        Raise when a segment has no action (otherwise its action columns are null and a
        warning is logged; :func:`missing_actions` lists them).

    Raises
    ------
    InputError
        Missing customer or segment column.
    ConfigError
        Unknown scheme, an ambiguous segment name, or (``strict``) segments without action.
    """
    t, scheme = _unwrap(assignments, scheme)
    for col, param in ((customer_col, "customer_col"), (segment_col, "segment_col")):
        if col not in t.columns:
            raise InputError(
                f"segment assignments: column {col!r} (parameter {param!r}) is not in the "
                f"table{did_you_mean(col, t.columns)} (columns: {', '.join(t.columns)})"
            )
    present = _segments_present(t, segment_col)
    if scheme is not None:
        playbook.check_scheme(scheme)
        actions = playbook.table(scheme)
    else:
        actions = playbook.table()
        names = actions.column("segment").to_pylist()
        schemes = actions.column("scheme").to_pylist()
        for seg in present:
            owners = [s for n, s in zip(names, schemes) if n == seg]
            if len(owners) > 1:
                raise ConfigError(
                    f"segment {seg!r} has actions under several schemes ({', '.join(owners)}); name the scheme"
                )
    missing = [s for s in present if s not in set(actions.column("segment").to_pylist())]
    if missing:
        msg = (
            f"{len(missing)} segment(s) have no action in playbook {playbook.source}"
            f"{'' if scheme is None else f' [{scheme}]'}: {', '.join(map(repr, missing))}"
        )
        if strict:
            raise ConfigError(msg + did_you_mean(missing[0], playbook.segments(scheme)))
        logger.warning(msg)
    acts = ibis.memtable(
        actions.drop_columns(["scheme"]).rename_columns(
            ["__seg" if c == "segment" else c for c in actions.column_names if c != "scheme"]
        )
    )
    base = t.select(customer_id=t[customer_col].cast("string"), segment=t[segment_col].cast("string"))
    joined = base.left_join(acts, base.segment == acts["__seg"])
    return joined.select(*CAMPAIGN_COLUMNS)


def export_campaign(
    assignments: Any,
    playbook: Playbook,
    path: str | Path,
    *,
    scheme: str | None = None,
    languages: Sequence[str] = ("en", "zh"),
    encoding: Encoding = "utf-8-sig",
    segment_col: str = "segment",
    customer_col: str = "customer_id",
    strict: bool = False,
    workspace: Workspace | None = None,
    contact_fields: Sequence[str] = (),
    overwrite: bool = False,
    actor: str | None = None,
    purpose: str | None = None,
) -> int:
    """Write the per-customer campaign list as CSV for campaign tools; return the row count.

    Only :data:`CAMPAIGN_COLUMNS` are written (``languages`` picks the English and/or
    ``_zh`` columns), and no personal data unless ``contact_fields`` asks for it.

    ``encoding``: ``"utf-8-sig"`` (UTF-8 with byte-order mark, opens correctly in Excel;
    default), ``"utf-8"`` or ``"gb18030"``.

    Consent (with ``workspace``): customers who refused profiling
    (``consent_profiling`` false) are left out, since the list is built from segments;
    ``contact_fields`` (e.g. ``("name", "phone", "email")``) are added, decrypted, and
    filled only for customers who consented to marketing (:func:`custlens.privacy.contact_list`);
    the export is recorded in the workspace's export history and audit log (``actor``,
    ``purpose``), so an erasure can name it.

    Cells that begin like a spreadsheet formula are defused; the file is written through
    a temporary file, never over an existing one unless ``overwrite``, never over a file of
    a workspace.
    """
    from custlens._output import check_target, neutralise, write_atomic

    if encoding not in ("utf-8-sig", "utf-8", "gb18030"):
        raise InputError(f"encoding must be utf-8-sig, utf-8 or gb18030; got {encoding!r}")
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target}: is a folder; expected the name of the campaign CSV file to write")
    if not target.parent.is_dir():
        raise InputError(f"{target}: folder {target.parent} does not exist; create it first")
    langs = list(languages)
    if not langs or any(lang not in ("en", "zh") for lang in langs):
        raise InputError(f"languages must be 'en' and/or 'zh'; got {langs!r}")
    if contact_fields and workspace is None:
        raise InputError("'contact_fields' need 'workspace': contact data is read under each customer's consent")
    check_target(target, overwrite=overwrite, option="'path'", force_hint="overwrite=True")
    table = apply_playbook(
        assignments, playbook, scheme=scheme, segment_col=segment_col, customer_col=customer_col, strict=strict
    ).to_pyarrow()
    table = table.sort_by([("priority_rank", "ascending"), ("customer_id", "ascending")])
    zh_cols = {"segment_zh", "priority_zh", *(f"{f}_zh" for f in ACTION_FIELDS)}
    en_cols = {"priority", *ACTION_FIELDS}
    keep = [
        c
        for c in CAMPAIGN_COLUMNS
        if not (c in zh_cols and "zh" not in langs) and not (c in en_cols and "en" not in langs)
    ]
    table = table.select(keep)
    if workspace is not None:
        table = _with_consent(table, workspace, contact_fields, actor=actor, purpose=purpose)
    n = write_csv(neutralise(table), target, encoding, writer=write_atomic)
    if workspace is not None:
        from custlens.privacy._exports import record_export

        record_export(
            workspace,
            target,
            "campaign",
            table.column("customer_id").to_pylist(),
            actor=actor,
            purpose=purpose,
            contact_fields=contact_fields,
        )
    return n


def _with_consent(
    table: pa.Table, workspace: Workspace, contact_fields: Sequence[str], *, actor: str | None, purpose: str | None
) -> pa.Table:
    """Leave out customers who refused profiling; add contact fields under marketing consent."""
    import pyarrow.compute as pc

    ids = [str(c) for c in table.column("customer_id").to_pylist()]
    refused = {
        str(r[0])
        for r in workspace.raw.execute(
            "SELECT customer_id FROM customers WHERE consent_profiling IS FALSE "
            "AND customer_id IN (SELECT unnest(?::VARCHAR[]))",
            [ids],
        ).fetchall()
    }
    if refused:
        table = table.filter(pc.invert(pc.is_in(table.column("customer_id"), pa.array(sorted(refused)))))
    if not contact_fields:
        return table
    from custlens.privacy import contact_list

    contacts = contact_list(
        workspace,
        [str(c) for c in table.column("customer_id").to_pylist()],
        list(contact_fields),
        actor=actor,
        purpose=purpose,
    )
    for name in contact_fields:
        table = table.append_column(name, contacts.column(name))
    return table


def write_csv(
    table: pa.Table,
    path: str | Path,
    encoding: Encoding = "utf-8-sig",
    *,
    writer: Any = None,
) -> int:
    """Write an Arrow table as CSV in ``encoding``; return the number of data rows."""
    import pyarrow.csv as pacsv

    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    text = buf.getvalue().decode("utf-8")
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise InputError(f"{path}: the text cannot be written in {encoding}: {exc.reason}") from None
    if writer is None:
        Path(path).write_bytes(data)
    else:
        writer(path, data)
    return table.num_rows
