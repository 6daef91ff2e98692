"""Personas (画像构建) and audiences: what distinguishes a group, who holds a tag combination.

A **persona card** describes a group of customers -- a segment of a stored segmentation,
or the audience of a tag expression -- by its size and value and by its most distinctive
tags: for tag ``t``, group ``G`` and the customers ``B`` tagged over,

    share_in_group = |G ∩ T_t| / |G|,  base_share = |T_t| / |B|,  lift = share_in_group / base_share,

ranked by lift among tags held by at least ``min_share`` of the group. An **audience** is
the customers matching a tag expression (``tag('high_clv') and not tag('churn_risk_high')``),
exported with :func:`custlens.segment.write_export`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from custlens.errors import InputError, NotFoundError, did_you_mean
from custlens.tags import _store
from custlens.tags._api import WorkspaceLike, _day, reading
from custlens.tags._expr import compile_expression, expression_tags, parse_expression
from custlens.warehouse.compat import to_arrow

__all__ = [
    "PERSONA_COLUMNS",
    "persona_card",
    "persona_cards",
    "persona_rows",
    "audience",
    "export_audience",
    "audience_table",
]

PERSONA_COLUMNS = (
    "group",
    "group_customers",
    "group_share",
    "group_revenue",
    "group_revenue_share",
    "group_clv",
    "rank",
    "tag",
    "category",
    "name",
    "name_zh",
    "customers",
    "share_in_group",
    "base_share",
    "lift",
)
"""Columns of a persona card, one row per distinctive tag (the ``group_*`` columns repeat)."""


def audience_table(held: ir.Table, base: ir.Table, expression: str, known: Sequence[str]) -> ir.Table:
    """``customer_id`` of the customers of ``base`` whose tags (``held``) satisfy ``expression``.

    Works on any backend: the tags the expression names become boolean columns of one
    per-customer table and the expression is compiled to Ibis.
    """
    names = list(dict.fromkeys(t for t, _ in expression_tags(parse_expression(expression))))
    compile_expression(expression, base.select(**{n: ibis.literal(False) for n in names}), known)  # checks names
    h = held.filter(held.tag.isin(names))
    flags = h.group_by(_hid="customer_id").aggregate(**{n: (h.tag == n).any() for n in names})
    b = base.select(customer_id=base.customer_id.cast("string")).distinct()
    wide = b.left_join(flags, b.customer_id == flags._hid).drop("_hid")
    return wide.filter(compile_expression(expression, wide, known)).select("customer_id")


def _context(con: Any, as_of: date | str | None) -> tuple[dict[str, Any], Any, ir.Table, ir.Table]:
    """The run, its stored analysis, the assignments held on its date and the base customers."""
    from custlens.analysis import load_analysis

    run = _store.resolve_run(con, _day(as_of))
    stored = load_analysis(con, analysis_id=run["analysis_id"])
    return run, stored, _store.held_at(con, run["as_of"]), stored.customers()


def audience(workspace: WorkspaceLike, expression: str, as_of: date | str | None = None) -> pa.Table:
    """The customers matching a tag expression on the application describing ``as_of``.

    Returns
    -------
    pyarrow.Table
        ``customer_id``, sorted.

    Raises
    ------
    ExpressionError
        The expression does not parse or names an unknown tag (with the closest one).
    """
    with reading(workspace) as con:
        run, _, held, base = _context(con, as_of)
        known = [t["id"] for t in run["taxonomy"]["tag"]]
        return to_arrow(audience_table(held, base, expression, known).order_by("customer_id"))


def export_audience(
    workspace: WorkspaceLike,
    expression: str,
    path: str | Path,
    *,
    name: str = "audience",
    as_of: date | str | None = None,
    encoding: str = "utf-8-sig",
    overwrite: bool = False,
) -> list[Path]:
    """Write an audience with :func:`custlens.segment.write_export` (``.csv``, ``.xlsx``, ``.parquet``).

    An existing file is replaced only with ``overwrite``.

    The customers sheet holds ``customer_id, segment`` (the audience ``name``, so the file
    feeds campaign tools and :func:`custlens.playbook.apply_playbook` like a segment export)
    and, from the stored analysis, ``revenue, clv, p_alive, risk_band``; the summary sheet
    ``segment, expression, as_of, customers, share, revenue, clv``. No personal data.
    Returns the files written.
    """
    from custlens.segment import write_export

    target = Path(path)
    if target.suffix.lower() not in (".csv", ".xlsx", ".parquet"):
        raise InputError(f"{target}: the audience file format follows the suffix; expected .csv, .xlsx or .parquet")
    if not target.parent.is_dir():
        raise InputError(f"{target}: folder {target.parent} does not exist; create it first")
    with reading(workspace) as con:
        run, _, held, base = _context(con, as_of)
        known = [t["id"] for t in run["taxonomy"]["tag"]]
        members = audience_table(held, base, expression, known)
        c = base.select(_cid="customer_id", revenue="revenue", clv="clv", p_alive="p_alive", risk_band="risk_band")
        rows = members.inner_join(c, members.customer_id == c._cid)
        customers = to_arrow(rows.select(
            "customer_id", segment=ibis.literal(name, "string"), revenue="revenue", clv="clv", p_alive="p_alive",
            risk_band="risk_band",
        ).order_by("customer_id"))  # fmt: skip
    import pyarrow.compute as pc

    n = customers.num_rows
    summary = pa.table(
        {
            "segment": [name],
            "expression": [expression],
            "as_of": pa.array([run["as_of"]], pa.date32()),
            "customers": pa.array([n], pa.int64()),
            "share": [n / run["customers"] if run["customers"] else None],
            "revenue": [pc.sum(customers["revenue"]).as_py() or 0.0],
            "clv": [pc.sum(customers["clv"]).as_py() or 0.0],
        }
    )
    return write_export(target, {"customers": customers, "summary": summary}, encoding=encoding, overwrite=overwrite)


def persona_rows(
    members: ir.Table,
    held: ir.Table,
    base: ir.Table,
    definitions: Sequence[Mapping[str, Any]],
    *,
    group: str,
    top: int = 8,
    min_share: float = 0.1,
    exclude: Sequence[str] = (),
) -> pa.Table:
    """The persona card of one group, on any backend.

    Parameters
    ----------
    members
        ``customer_id`` of the group ``G``.
    held
        ``customer_id, tag`` of the assignments on the date.
    base
        The customers tagged over ``B``: ``customer_id, revenue, clv`` (the stored analysis).
    definitions
        The tags (``id``, ``category``, ``name``, ``name_zh``), in taxonomy order.
    group
        The group's name on the card.
    exclude
        Tags left off the card (those that restate the group).

    Returns
    -------
    pyarrow.Table
        :data:`PERSONA_COLUMNS`, ranked by lift (ties: more customers first, then tag id).
    """
    _check_card(top, min_share)
    m = members.select(_mid=members.customer_id.cast("string")).distinct()
    v = base.select(_vid=base.customer_id.cast("string"), revenue=base.revenue, clv=base.clv)
    mv = m.left_join(v, m._mid == v._vid)
    head = mv.aggregate(n=mv.count(), revenue=mv.revenue.sum(), clv=mv.clv.sum()).to_pyarrow().to_pylist()[0]
    totals = v.aggregate(n=v.count(), revenue=v.revenue.sum()).to_pyarrow().to_pylist()[0]
    n_group, n_base = int(head["n"] or 0), int(totals["n"] or 0)
    hm = held.inner_join(m, held.customer_id == m._mid)
    in_group = hm.group_by("tag").aggregate(n=hm.count()).to_pyarrow()
    in_base = held.group_by("tag").aggregate(n=held.count()).to_pyarrow()
    n_in = dict(zip(in_group["tag"].to_pylist(), in_group["n"].to_pylist()))
    n_all = dict(zip(in_base["tag"].to_pylist(), in_base["n"].to_pylist()))
    defs = {str(t["id"]): t for t in definitions}
    scored = []
    for tag, k in n_in.items():
        if tag in exclude or tag not in defs or not n_group or not n_base:
            continue
        share, base_share = k / n_group, n_all[tag] / n_base
        if share >= min_share:
            scored.append((share / base_share, int(k), tag, share, base_share))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    revenue = float(head["revenue"] or 0.0)
    group_cols = {
        "group": group,
        "group_customers": n_group,
        "group_share": n_group / n_base if n_base else None,
        "group_revenue": revenue,
        "group_revenue_share": revenue / float(totals["revenue"]) if totals["revenue"] else None,
        "group_clv": float(head["clv"] or 0.0),
    }
    rows = [
        {
            **group_cols,
            "rank": i,
            "tag": tag,
            "category": defs[tag]["category"],
            "name": defs[tag]["name"],
            "name_zh": defs[tag]["name_zh"],
            "customers": k,
            "share_in_group": share,
            "base_share": base_share,
            "lift": lift,
        }  # fmt: skip
        for i, (lift, k, tag, share, base_share) in enumerate(scored[:top], start=1)
    ]
    return pa.Table.from_pylist(rows, schema=_schema())


def _schema() -> pa.Schema:
    types = {"group_customers": pa.int64(), "rank": pa.int64(), "customers": pa.int64()}
    text = {"group", "tag", "category", "name", "name_zh"}
    return pa.schema([(c, types.get(c, pa.string() if c in text else pa.float64())) for c in PERSONA_COLUMNS])


def _check_card(top: int, min_share: float) -> None:
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise InputError(f"'top' must be a whole number >= 1; got {top!r}")
    if not 0.0 <= float(min_share) <= 1.0:
        raise InputError(f"'min_share' must be between 0 and 1; got {min_share!r}")


def persona_card(
    workspace: WorkspaceLike,
    *,
    method: str | None = None,
    segment: str | None = None,
    audience: str | None = None,
    as_of: date | str | None = None,
    top: int = 8,
    min_share: float = 0.1,
) -> pa.Table:
    """The persona card of one group: a segment (``method`` and ``segment``) or a tag expression.

    Parameters
    ----------
    method, segment
        A segment of the stored analysis the tags were computed from (``"rfm"``,
        ``"Champions"``); tags computed from the same segmentation are left out.
    audience
        Instead: a tag expression; the tags it names are left out.
    top
        Tags on the card (the most distinctive first).
    min_share
        Only tags held by at least this share of the group.

    Returns
    -------
    pyarrow.Table
        :data:`PERSONA_COLUMNS`, one row per tag, ``rank`` 1 first.
    """
    _check_card(top, min_share)
    if (audience is None) == (method is None):
        raise InputError("give either 'method' and 'segment' or 'audience' (a tag expression)")
    with reading(workspace) as con:
        run, stored, held, base = _context(con, as_of)
        known = [t["id"] for t in run["taxonomy"]["tag"]]
        if audience is not None:
            members = audience_table(held, base, audience, known)
            exclude = {t for t, _ in expression_tags(parse_expression(audience))}
            label = audience
        else:
            if segment is None:
                raise InputError("'segment' is needed with 'method' (or use persona_cards for every segment)")
            seg = _segments(stored, method or "")
            names = seg.select("segment").distinct().to_pyarrow()["segment"].to_pylist()
            if segment not in names:
                raise NotFoundError(
                    f"'segment': {method} has no segment {segment!r}{did_you_mean(segment, names)} "
                    f"(segments: {', '.join(sorted(str(n) for n in names))})"
                )
            members = seg.filter(seg.segment == segment).select("customer_id")
            exclude = _from_method(run, method or "")
            label = segment
        return persona_rows(
            members,
            held,
            base,
            run["taxonomy"]["tag"],
            group=label,
            top=top,
            min_share=min_share,
            exclude=sorted(exclude),
        )


def persona_cards(
    workspace: WorkspaceLike,
    method: str,
    *,
    as_of: date | str | None = None,
    top: int = 8,
    min_share: float = 0.1,
) -> pa.Table:
    """The persona cards of every segment of ``method`` (largest segment first), one table.

    Returns
    -------
    pyarrow.Table
        :data:`PERSONA_COLUMNS`; ``group`` names the segment.
    """
    _check_card(top, min_share)
    with reading(workspace) as con:
        run, stored, held, base = _context(con, as_of)
        seg = _segments(stored, method)
        sizes = seg.group_by("segment").aggregate(n=seg.count()).to_pyarrow().to_pylist()
        exclude = _from_method(run, method)
        cards = [
            persona_rows(
                seg.filter(seg.segment == entry["segment"]).select("customer_id"),
                held,
                base,
                run["taxonomy"]["tag"],
                group=str(entry["segment"]),
                top=top,
                min_share=min_share,
                exclude=sorted(exclude),
            )
            for entry in sorted(sizes, key=lambda r: (-int(r["n"]), str(r["segment"])))
        ]
    return pa.concat_tables(cards) if cards else _schema().empty_table()


def _segments(stored: Any, method: str) -> ir.Table:
    if method not in stored.methods:
        raise NotFoundError(
            f"'method': analysis {stored.analysis_id} has no segmentation {method!r}"
            f"{did_you_mean(method, stored.methods)} (stored: {', '.join(stored.methods)})"
        )
    base = stored.customers().select("customer_id")
    seg = stored.segments(method)
    return seg.inner_join(base, "customer_id").select("customer_id", "segment")


def _from_method(run: Mapping[str, Any], method: str) -> set[str]:
    """Tags read from ``method``'s segments (they would only restate the group)."""
    return {t["id"] for t in run["taxonomy"]["tag"] if t.get("method") == method}
