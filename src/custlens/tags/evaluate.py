"""Evaluating a tag system (效果评估): coverage, overlap, stability over time, lift of model tags.

Formulas (``docs/tags.md``), for the customers ``B`` tagged over on a date and ``T_t`` the
customers holding tag ``t``:

* coverage of a category ``c``: ``|∪_{t in c} T_t| / |B|``;
* overlap of two tags: Jaccard ``|T_a ∩ T_b| / |T_a ∪ T_b|``;
* stability of a tag between two dates: Jaccard of its holders ``|T_t(d1) ∩ T_t(d2)| /
  |T_t(d1) ∪ T_t(d2)|``, with the customers kept, entered and left;
* lift of a tag against an outcome ``Y`` (default: a purchase in the ``days`` after the
  as-of date): ``P(Y | t) / P(Y) = (|T_t ∩ Y| / |T_t|) / (|B ∩ Y| / |B|)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from custlens.errors import InputError, did_you_mean
from custlens.tags import _store
from custlens.tags._api import WorkspaceLike, _day, reading

__all__ = [
    "coverage",
    "overlap",
    "stability",
    "lift",
    "coverage_table",
    "overlap_table",
    "stability_table",
    "lift_table",
]


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def _counts(held: ir.Table) -> dict[str, int]:
    t = held.group_by("tag").aggregate(n=held.count()).to_pyarrow()
    return dict(zip(t["tag"].to_pylist(), (int(v) for v in t["n"].to_pylist())))


def _check_tags(tags: Sequence[str] | None, known: Sequence[str]) -> list[str]:
    if tags is None:
        return list(known)
    for t in tags:
        if t not in known:
            raise InputError(f"'tags': unknown tag {t!r}{did_you_mean(t, known)}")
    return list(dict.fromkeys(tags))


# -- the formulas on Ibis tables (any backend) -------------------------------------------------
def coverage_table(held: ir.Table, categories: pa.Table, tag_categories: dict[str, str], customers: int) -> pa.Table:
    """Coverage per category and over all tags.

    Parameters
    ----------
    held
        ``customer_id, tag`` of the assignments on one date.
    categories
        ``category, name, name_zh`` in display order.
    tag_categories
        Tag id -> category id.
    customers
        ``|B|``, the customers tagged over.

    Returns
    -------
    pyarrow.Table
        ``category, name, name_zh, tags, customers, coverage``; the last row, category
        ``(all)``, counts customers holding any tag.
    """
    mapping = ibis.memtable(
        pa.table({"_tag": list(tag_categories), "category": list(tag_categories.values())}),
    )
    j = held.inner_join(mapping, held.tag == mapping._tag)
    per = j.group_by("category").aggregate(customers=j.customer_id.nunique()).to_pyarrow()
    tagged = dict(zip(per["category"].to_pylist(), per["customers"].to_pylist()))
    anyone = int(held.customer_id.nunique().to_pyarrow().as_py() or 0)
    rows = []
    for cat, name, name_zh in zip(
        categories["category"].to_pylist(), categories["name"].to_pylist(), categories["name_zh"].to_pylist()
    ):
        n = int(tagged.get(cat, 0))
        count = sum(1 for c in tag_categories.values() if c == cat)
        rows.append({"category": cat, "name": name, "name_zh": name_zh, "tags": count, "customers": n,
                     "coverage": _ratio(n, customers)})  # fmt: skip
    rows.append({"category": "(all)", "name": "All tags", "name_zh": "全部标签", "tags": len(tag_categories),
                 "customers": anyone, "coverage": _ratio(anyone, customers)})  # fmt: skip
    schema = pa.schema([("category", pa.string()), ("name", pa.string()), ("name_zh", pa.string()),
                        ("tags", pa.int64()), ("customers", pa.int64()), ("coverage", pa.float64())])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


def overlap_table(held: ir.Table, tags: Sequence[str]) -> pa.Table:
    """Jaccard overlap of every pair of ``tags`` (in the given order: ``tag_a`` before ``tag_b``).

    Returns
    -------
    pyarrow.Table
        ``tag_a, tag_b, customers_a, customers_b, both, jaccard`` (``jaccard`` null when
        neither tag has holders).
    """
    order = {t: i for i, t in enumerate(tags)}
    h = held.filter(held.tag.isin(list(tags)))
    counts = _counts(h)
    a = h.select(cid_a="customer_id", tag_a="tag")
    b = h.select(cid_b="customer_id", tag_b="tag")
    pairs = a.inner_join(b, [a.cid_a == b.cid_b, a.tag_a < b.tag_b])
    both = pairs.group_by(["tag_a", "tag_b"]).aggregate(both=pairs.count()).to_pyarrow()
    shared = {
        tuple(sorted((x, y), key=order.__getitem__)): int(n)
        for x, y, n in zip(both["tag_a"].to_pylist(), both["tag_b"].to_pylist(), both["both"].to_pylist())
    }
    rows = []
    for i, x in enumerate(tags):
        for y in tags[i + 1 :]:
            n_x, n_y, n = counts.get(x, 0), counts.get(y, 0), shared.get((x, y), 0)
            rows.append({"tag_a": x, "tag_b": y, "customers_a": n_x, "customers_b": n_y, "both": n,
                         "jaccard": _ratio(n, n_x + n_y - n)})  # fmt: skip
    schema = pa.schema([("tag_a", pa.string()), ("tag_b", pa.string()), ("customers_a", pa.int64()),
                        ("customers_b", pa.int64()), ("both", pa.int64()), ("jaccard", pa.float64())])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


def stability_table(start: ir.Table, end: ir.Table, tags: Sequence[str]) -> pa.Table:
    """How each tag's holders changed between two dates.

    Returns
    -------
    pyarrow.Table
        ``tag, customers_start, customers_end, kept, entered, left, stability`` with
        ``stability = kept / (customers_start + customers_end - kept)`` (null when both are 0).
    """
    s = start.select(cid_s="customer_id", tag_s="tag")
    e = end.select(cid_e="customer_id", tag_e="tag")
    kept_t = s.inner_join(e, [s.cid_s == e.cid_e, s.tag_s == e.tag_e])
    kept = kept_t.group_by(tag="tag_s").aggregate(n=kept_t.count()).to_pyarrow()
    n_kept = dict(zip(kept["tag"].to_pylist(), kept["n"].to_pylist()))
    n_start, n_end = _counts(start), _counts(end)
    rows = []
    for t in tags:
        a, b, k = n_start.get(t, 0), n_end.get(t, 0), int(n_kept.get(t, 0))
        rows.append({"tag": t, "customers_start": a, "customers_end": b, "kept": k, "entered": b - k, "left": a - k,
                     "stability": _ratio(k, a + b - k)})  # fmt: skip
    schema = pa.schema([("tag", pa.string()), ("customers_start", pa.int64()), ("customers_end", pa.int64()),
                        ("kept", pa.int64()), ("entered", pa.int64()), ("left", pa.int64()),
                        ("stability", pa.float64())])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


def lift_table(
    held: ir.Table, base: ir.Table, outcome: ir.Table, tags: Sequence[str], kinds: dict[str, str]
) -> pa.Table:
    """Lift of each tag against an outcome.

    Parameters
    ----------
    held
        ``customer_id, tag`` on the as-of date.
    base
        ``customer_id`` of every customer tagged over (``B``).
    outcome
        ``customer_id`` of the customers with the outcome (``Y``; duplicates allowed).

    Returns
    -------
    pyarrow.Table
        ``tag, kind, customers, outcome_customers, outcome_rate, base_rate, lift``.
    """
    y = outcome.select(_yid=outcome.customer_id.cast("string")).distinct()
    b = base.select(customer_id=base.customer_id.cast("string")).distinct()
    by = b.inner_join(y, b.customer_id == y._yid)
    n_base = int(b.count().to_pyarrow().as_py())
    n_base_y = int(by.count().to_pyarrow().as_py())
    h = held.filter(held.tag.isin(list(tags)))
    hy = h.left_join(y, h.customer_id == y._yid)
    per = hy.group_by("tag").aggregate(n=hy.count(), n_y=hy._yid.notnull().sum()).to_pyarrow()
    n = dict(zip(per["tag"].to_pylist(), per["n"].to_pylist()))
    n_y = dict(zip(per["tag"].to_pylist(), per["n_y"].to_pylist()))
    base_rate = _ratio(n_base_y, n_base)
    rows = []
    for t in tags:
        rate = _ratio(int(n_y.get(t, 0)), int(n.get(t, 0)))
        rows.append({"tag": t, "kind": kinds.get(t, ""), "customers": int(n.get(t, 0)),
                     "outcome_customers": int(n_y.get(t, 0)), "outcome_rate": rate, "base_rate": base_rate,
                     "lift": rate / base_rate if rate is not None and base_rate else None})  # fmt: skip
    schema = pa.schema([("tag", pa.string()), ("kind", pa.string()), ("customers", pa.int64()),
                        ("outcome_customers", pa.int64()), ("outcome_rate", pa.float64()),
                        ("base_rate", pa.float64()), ("lift", pa.float64())])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


# -- on a workspace ------------------------------------------------------------------------------
def coverage(workspace: WorkspaceLike, as_of: date | str | None = None) -> pa.Table:
    """Coverage of each category and of all tags on the application describing ``as_of``
    (see :func:`coverage_table`)."""
    with reading(workspace) as con:
        run = _store.resolve_run(con, _day(as_of))
        tax = run["taxonomy"]
        cats = pa.Table.from_pylist(
            [{"category": c["id"], "name": c["name"], "name_zh": c["name_zh"]} for c in tax["category"]]
        )
        tag_categories = {t["id"]: t["category"] for t in tax["tag"]}
        return coverage_table(_store.held_at(con, run["as_of"]), cats, tag_categories, int(run["customers"]))


def overlap(
    workspace: WorkspaceLike,
    tags: Sequence[str] | None = None,
    as_of: date | str | None = None,
    *,
    category: str | None = None,
) -> pa.Table:
    """Jaccard overlap of every pair of tags (default all; or ``tags``, or one ``category``)
    on the application describing ``as_of`` (see :func:`overlap_table`)."""
    with reading(workspace) as con:
        run = _store.resolve_run(con, _day(as_of))
        defs = run["taxonomy"]["tag"]
        known = [t["id"] for t in defs]
        if category is not None:
            cats = list(dict.fromkeys(t["category"] for t in defs))
            if category not in cats:
                raise InputError(f"'category': unknown category {category!r}{did_you_mean(category, cats)}")
            known = [t["id"] for t in defs if t["category"] == category]
        return overlap_table(_store.held_at(con, run["as_of"]), _check_tags(tags, known))


def stability(
    workspace: WorkspaceLike, start: date | str, end: date | str, tags: Sequence[str] | None = None
) -> pa.Table:
    """How each tag's holders changed from the application describing ``start`` to the one
    describing ``end`` (see :func:`stability_table`); tags of either date, ``end``'s first."""
    with reading(workspace) as con:
        first = _store.resolve_run(con, _day(start, "start"))
        last = _store.resolve_run(con, _day(end, "end"))
        if last["as_of"] <= first["as_of"]:
            raise InputError(
                f"'end' must describe a later application than 'start'; both resolve to "
                f"{first['as_of'].isoformat()} and {last['as_of'].isoformat()}"
            )
        ids = [t["id"] for t in last["taxonomy"]["tag"]]
        ids += [t["id"] for t in first["taxonomy"]["tag"] if t["id"] not in ids]
        return stability_table(
            _store.held_at(con, first["as_of"]), _store.held_at(con, last["as_of"]), _check_tags(tags, ids)
        )


def lift(
    workspace: WorkspaceLike,
    as_of: date | str | None = None,
    *,
    days: int = 90,
    kinds: Sequence[str] | None = ("model",),
    tags: Sequence[str] | None = None,
    outcome: Any = None,
) -> pa.Table:
    """Lift of tags against a holdout outcome after the as-of date (see :func:`lift_table`).

    Parameters
    ----------
    as_of
        The application evaluated (default: the latest).
    days
        The default outcome: a purchase (not a return) in the ``days`` after the as-of day.
        The transactions must reach that far.
    kinds
        Tag kinds evaluated (default: model tags); ``None`` for all.
    tags
        Tag ids instead (any kind).
    outcome
        Instead of the purchase outcome: a table (Ibis, Arrow, pandas) with ``customer_id``
        of the customers with the outcome.

    Raises
    ------
    InputError
        When the transactions end before ``as_of + days``, for bad ``days`` or unknown tags.
    """
    from custlens._frames import as_ibis
    from custlens.analysis import load_analysis

    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InputError(f"'days' must be a whole number >= 1; got {days!r}")
    from custlens.warehouse import reading as read_workspace

    with read_workspace(workspace) as (con, canonical):
        run = _store.resolve_run(con, _day(as_of))
        defs = run["taxonomy"]["tag"]
        kind_of = {t["id"]: t["kind"] for t in defs}
        chosen = [t for t in kind_of if kinds is None or kind_of[t] in kinds] if tags is None else tags
        chosen = _check_tags(chosen, list(kind_of))
        day = run["as_of"]
        if outcome is None:
            y = _purchases_after(canonical("transactions"), day, days)
        else:
            y = as_ibis(outcome, "outcome")
            if "customer_id" not in y.columns:
                raise InputError(f"'outcome' needs a customer_id column; columns: {', '.join(y.columns)}")
        base = load_analysis(con, analysis_id=run["analysis_id"]).customers().select("customer_id")
        return lift_table(_store.held_at(con, day), base, y, chosen, kind_of)


def _purchases_after(tx: ir.Table, day: date, days: int) -> ir.Table:
    """``customer_id`` of customers with a purchase in ``(day, day + days]``; checks the data reaches that far."""
    end = day + timedelta(days=days)
    last = tx.ordered_at.date().max().to_pyarrow().as_py()
    if last is None or last < end:
        raise InputError(
            f"the outcome window ({day.isoformat()}, {end.isoformat()}] of 'days' {days} reaches past the last "
            f"transaction day ({last.isoformat() if last else 'none'}); evaluate an earlier application ('as_of') "
            "or a shorter 'days'"
        )
    d = tx.ordered_at.date()
    purchase = ~(tx.return_flag.fill_null(False) | (tx.amount < 0))
    kept = tx.filter(d > ibis.date(day.isoformat()), d <= ibis.date(end.isoformat()), purchase)
    return kept.select(customer_id=kept.customer_id.cast("string")).distinct()
