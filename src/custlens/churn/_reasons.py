"""Why customers leave: a documented classification of lost customers from their interactions.

The course text lists why customers are lost (客户流失原因): competitors take them
(竞争对手争夺), the company treats them badly (店大欺客), natural loss (自然流失), integrity
problems (诚信问题) and neglected details (细节的疏忽); product or price completes the list.
:func:`churn_reasons` reads each lost customer's interactions around its loss and names one
reason, by keywords in the interaction text (Chinese and English lists), else by the
interaction's kind and outcome, from a TOML configuration
(``churn/defaults/reasons.toml``; every rule is in ``docs/churn.md``).
:func:`reasons_by_segment` counts the reasons per segment and :func:`complaint_resolution`
reports how complaints were resolved and how many complainants stayed.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens._frames import as_arrow, as_ibis
from custlens._toml import read_toml
from custlens.errors import ConfigError, InputError, did_you_mean
from custlens.schema import INTERACTION_KINDS

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "REASON_COLUMNS",
    "ReasonRules",
    "load_reasons",
    "churn_reasons",
    "reasons_by_segment",
    "complaint_resolution",
    "COMPLAINT_BENCHMARKS",
]

REASON_COLUMNS = (
    "customer_id",
    "reason",
    "reason_zh",
    "basis",
    "evidence",
    "interactions",
    "complaints",
    "complaints_resolved",
)
"""Columns of :func:`churn_reasons`."""

COMPLAINT_BENCHMARKS: dict[str, float] = {
    "stay_if_resolved_promptly": 0.95,
    "won_back_by_resolving": 0.75,
    "dissatisfied_who_complain": 0.67,
    "leave_when_problem_unsolved": 0.89,
    "leave_after_bad_service": 0.94,
}
"""The course text's figures on complaints (客户的认识): 95 % of customers whose complaint was
resolved promptly stay; resolving complaints well wins back 75 %; 67 % of dissatisfied
customers complain; leaving the problem unsolved loses 89 %, bad service 94 %."""


@dataclass(frozen=True)
class Reason:
    """One reason: names, keywords and kind/outcome conditions."""

    name: str
    name_zh: str
    keywords: tuple[str, ...]
    when: tuple[tuple[str, tuple[str, ...]], ...]  # (kind, outcomes; empty = any outcome)


@dataclass(frozen=True)
class ReasonRules:
    """The classification read from TOML by :func:`load_reasons`."""

    reasons: tuple[Reason, ...]
    window_days: int
    text_columns: tuple[str, ...]
    resolved_outcomes: tuple[str, ...]
    fallback: str
    fallback_zh: str

    def names_zh(self) -> dict[str, str]:
        """Reason name -> Chinese name, the fallback included."""
        return {r.name: r.name_zh for r in self.reasons} | {self.fallback: self.fallback_zh}


_TOP = ("window_days", "text_columns", "resolved_outcomes", "fallback", "fallback_zh", "reason")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a list of non-empty texts, got {value!r}")
    return tuple(value)


def load_reasons(reasons: str | Path | Mapping[str, Any] | ReasonRules | None = None) -> ReasonRules:
    """Read a reason classification: the shipped one, or a TOML file or mapping replacing it.

    Top-level keys (each optional in a user file; the shipped values fill in):
    ``window_days``, ``text_columns``, ``resolved_outcomes``, ``fallback``, ``fallback_zh``;
    ``[[reason]]`` tables (replacing the shipped list) with ``name``, ``name_zh``,
    ``keywords`` and ``[[reason.when]]`` conditions ``kind`` (an interaction kind) and
    ``outcome`` (a text or a list; absent = any outcome).
    """
    if isinstance(reasons, ReasonRules):
        return reasons
    text = resources.files("custlens.churn").joinpath("defaults", "reasons.toml").read_text(encoding="utf-8")
    doc = tomllib.loads(text)
    where = "reasons"
    if reasons is not None:
        given = read_toml(reasons, "a churn-reasons TOML file") if isinstance(reasons, (str, Path)) else dict(reasons)
        where = str(reasons) if isinstance(reasons, (str, Path)) else "reasons"
        for key in given:
            if key not in _TOP:
                raise ConfigError(
                    f"{where}: unknown setting {key!r}{did_you_mean(key, _TOP)} (known: {', '.join(_TOP)})"
                )
        doc.update(given)
    window = doc["window_days"]
    if isinstance(window, bool) or not isinstance(window, int) or window < 0:
        raise ConfigError(f"{where}: 'window_days' must be a whole number of days >= 0, got {window!r}")
    items = doc["reason"]
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{where}: expected one or more [[reason]] tables")
    parsed: list[Reason] = []
    for i, item in enumerate(items, start=1):
        label = f"{where}: [[reason]] {i}"
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ConfigError(f"{label}: needs a text 'name'")
        label += f" ({item['name']!r})"
        unknown = [k for k in item if k not in ("name", "name_zh", "keywords", "when")]
        if unknown:
            raise ConfigError(f"{label}: unknown key {unknown[0]!r} (known: name, name_zh, keywords, when)")
        keywords = _strings(item.get("keywords", []), f"{label} 'keywords'") if item.get("keywords") else ()
        conditions = []
        for cond in item.get("when", []):
            if not isinstance(cond, Mapping) or cond.get("kind") not in INTERACTION_KINDS:
                got = cond.get("kind") if isinstance(cond, Mapping) else cond
                raise ConfigError(
                    f"{label}: [[reason.when]] needs 'kind', one of {', '.join(INTERACTION_KINDS)}; got {got!r}"
                    f"{did_you_mean(str(got), INTERACTION_KINDS)}"
                )
            extra = [k for k in cond if k not in ("kind", "outcome")]
            if extra:
                raise ConfigError(f"{label}: [[reason.when]] unknown key {extra[0]!r} (known: kind, outcome)")
            outcomes = _strings(cond["outcome"], f"{label} 'outcome'") if "outcome" in cond else ()
            conditions.append((cond["kind"], outcomes))
        if not keywords and not conditions:
            raise ConfigError(f"{label}: give 'keywords' or [[reason.when]] conditions, or both")
        parsed.append(Reason(item["name"], str(item.get("name_zh", item["name"])), keywords, tuple(conditions)))
    names = [r.name for r in parsed] + [str(doc["fallback"])]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: reason names (and the fallback) must differ, got {names}")
    return ReasonRules(
        tuple(parsed),
        window,
        _strings(doc["text_columns"], f"{where}: 'text_columns'"),
        _strings(doc["resolved_outcomes"], f"{where}: 'resolved_outcomes'"),
        str(doc["fallback"]),
        str(doc["fallback_zh"]),
    )


def _keyword_match(text: ir.StringValue, keywords: Sequence[str]) -> ir.BooleanValue:
    import ibis

    low = text.lower()
    out: ir.BooleanValue = ibis.literal(False)
    for kw in keywords:
        out = out | low.contains(kw.lower())
    return out.fill_null(False)


def _condition(i: ir.Table, kind: str, outcomes: Sequence[str]) -> ir.BooleanValue:
    import ibis

    cond = i.kind == kind
    if outcomes and "outcome" in i.columns:
        cond = cond & i.outcome.lower().isin([o.lower() for o in outcomes])
    elif outcomes:
        cond = ibis.literal(False)
    return cond.fill_null(False)


def _window(
    lost: ir.Table, interactions: ir.Table, as_of: dt.date, rules: ReasonRules, last_purchase_col: str
) -> ir.Table:
    """The lost customers' interactions in the reading window, with their customer's row number."""
    import ibis

    from custlens.features._base import day_of, literal_date
    from custlens.features.coerce import typed

    i = typed(interactions, dates=["occurred_at"], what="interactions")
    for col in ("customer_id", "occurred_at", "kind"):
        if col not in i.columns:
            raise InputError(
                f"interactions: no column {col!r}{did_you_mean(col, i.columns)}; columns: {', '.join(i.columns)}"
            )
    as_of_lit = literal_date(as_of)
    if last_purchase_col in lost.columns:
        start = day_of(lost[last_purchase_col]) - ibis.interval(days=rules.window_days)
        start = start.fill_null(as_of_lit - ibis.interval(days=rules.window_days))
    else:
        start = as_of_lit - ibis.interval(days=rules.window_days)
    w = lost.select(l_id=lost.customer_id.cast("string"), l_start=start)
    i = i.mutate(_cid=i.customer_id.cast("string"), _day=day_of(i.occurred_at))
    j = i.join(w, i._cid == w.l_id)
    return j.filter((j._day >= j.l_start) & (j._day <= as_of_lit))


def churn_reasons(
    lost: Any,
    interactions: Any,
    *,
    as_of: Any,
    reasons: str | Path | Mapping[str, Any] | ReasonRules | None = None,
    last_purchase_col: str = "last_purchase_at",
) -> pa.Table:
    """One reason per lost customer, from the interactions around its loss.

    Parameters
    ----------
    lost
        The lost customers: ``customer_id`` and, when known, the last purchase
        (``last_purchase_col``) -- e.g. the ``lost`` rows of a relationship-state result.
    interactions
        The canonical interactions (``customer_id, occurred_at, kind``; ``outcome`` and any
        ``text_columns`` present are read).
    as_of
        The as-of day: later interactions are ignored.
    reasons
        The classification (:func:`load_reasons`); the shipped one by default.
    last_purchase_col
        The column of ``lost`` with the last purchase; interactions from ``window_days``
        before it (or before ``as_of`` without it) to ``as_of`` are read.

    Returns
    -------
    pyarrow.Table
        :data:`REASON_COLUMNS`, one row per lost customer: ``reason`` and ``reason_zh``;
        ``basis`` ``keyword``, ``kind`` or ``none`` (the fallback); ``evidence`` the
        ``interaction_id`` (when the table has one) of the deciding interaction, the latest
        one of the winning reason; ``interactions``, ``complaints`` and
        ``complaints_resolved`` counted in the window.
    """
    import ibis

    from custlens.features.coerce import to_date

    rules = load_reasons(reasons)
    day = to_date(as_of, "as_of")
    lost_t = as_ibis(lost, "lost")
    if "customer_id" not in lost_t.columns:
        raise InputError(f"lost: no column 'customer_id'; columns: {', '.join(lost_t.columns)}")
    j = _window(lost_t, as_ibis(interactions, "interactions"), day, rules, last_purchase_col)
    texts = [c for c in rules.text_columns if c in j.columns]
    text = ibis.literal("")
    for c in texts:
        text = text.concat(" ", j[c].cast("string").fill_null(""))
    n = len(rules.reasons)
    by_keyword = [(_keyword_match(text, r.keywords), k) for k, r in enumerate(rules.reasons) if r.keywords]
    by_kind = [
        (ibis.or_(*[_condition(j, kind, outs) for kind, outs in r.when]), n + k)
        for k, r in enumerate(rules.reasons)
        if r.when
    ]
    none = ibis.null("int64")
    keyword_rank = ibis.cases(*by_keyword, else_=none) if by_keyword else none
    kind_rank = ibis.cases(*by_kind, else_=none) if by_kind else none
    rank = ibis.coalesce(keyword_rank, kind_rank)  # keyword evidence first, then kind and outcome
    resolved = [o.lower() for o in rules.resolved_outcomes]
    is_complaint = (j.kind == "complaint").fill_null(False)
    solved = (
        is_complaint & j.outcome.lower().isin(resolved).fill_null(False)
        if "outcome" in j.columns
        else ibis.literal(False)
    )
    evid = j.interaction_id.cast("string") if "interaction_id" in j.columns else ibis.null("string")
    j = j.mutate(_rank=rank.cast("int64"), _evid=evid, _c=is_complaint, _s=solved)
    per = j.group_by(r_id=j.l_id).aggregate(
        _best=j._rank.min(),
        interactions=j.count(),
        complaints=j.count(where=j._c),
        complaints_resolved=j.count(where=j._s),
    )
    win = j.join(per.select("r_id", "_best"), (j.l_id == per.r_id) & (j._rank == per._best))
    last_evidence = win.group_by(e_id=win.l_id).aggregate(evidence=win._evid.argmax(win._day))
    ids = lost_t.select(customer_id=lost_t.customer_id.cast("string")).distinct()
    out = ids.left_join(per, ids.customer_id == per.r_id).drop("r_id")
    out = out.left_join(last_evidence, out.customer_id == last_evidence.e_id).drop("e_id")
    from custlens.warehouse.compat import to_arrow  # not at import: the package leaves Ibis out

    table = to_arrow(out.order_by("customer_id"))
    names = [r.name for r in rules.reasons]
    zh = rules.names_zh()
    best = table["_best"].to_pylist()
    reason = [rules.fallback if b is None else names[b % n] for b in best]
    basis = ["none" if b is None else ("keyword" if b < n else "kind") for b in best]
    count = {c: [v or 0 for v in table[c].to_pylist()] for c in ("interactions", "complaints", "complaints_resolved")}
    return pa.table(
        {
            "customer_id": table["customer_id"],
            "reason": pa.array(reason, pa.string()),
            "reason_zh": pa.array([zh[r] for r in reason], pa.string()),
            "basis": pa.array(basis, pa.string()),
            "evidence": pa.array(
                [None if b is None else e for b, e in zip(best, table["evidence"].to_pylist())], pa.string()
            ),
            **{c: pa.array(v, pa.int64()) for c, v in count.items()},
        }
    )


def _segment_of(ids: pa.Array, segments: Any, segment_col: str) -> pa.Array:
    import pyarrow.compute as pc

    seg = as_arrow(segments, "segments")
    for col in ("customer_id", segment_col):
        if col not in seg.column_names:
            raise InputError(
                f"segments: no column {col!r}{did_you_mean(col, seg.column_names)}; columns: {', '.join(seg.column_names)}"
            )
    idx = pc.index_in(pc.cast(ids, pa.string()), value_set=pc.cast(seg["customer_id"], pa.string()))
    names = pc.cast(seg[segment_col], pa.string()).combine_chunks().take(pc.fill_null(idx, 0))
    return pc.fill_null(pc.if_else(pc.is_null(idx), pa.scalar(None, pa.string()), names), "(no segment)")


def reasons_by_segment(reasons: Any, segments: Any = None, *, segment_col: str = "segment") -> pa.Table:
    """Lost customers per segment and reason: ``segment, reason, reason_zh, customers, share``.

    ``reasons`` is the table of :func:`churn_reasons`; ``segments`` a table with
    ``customer_id`` and ``segment_col`` (without it every lost customer is in ``all``).
    ``share`` is the reason's share of the segment's lost customers. Sorted by segment,
    then customers (most first).
    """
    t = as_arrow(reasons, "reasons")
    seg = (
        pa.array(["all"] * t.num_rows, pa.string())
        if segments is None
        else _segment_of(t["customer_id"], segments, segment_col)
    )
    t = t.append_column("segment", seg)
    g = t.group_by(["segment", "reason", "reason_zh"], use_threads=False).aggregate([("customer_id", "count")])
    g = g.rename_columns(["segment", "reason", "reason_zh", "customers"])
    totals = dict(zip(*g.group_by("segment").aggregate([("customers", "sum")]).to_pydict().values()))
    share = [c / totals[s] for s, c in zip(g["segment"].to_pylist(), g["customers"].to_pylist())]
    g = g.append_column("share", pa.array(share, pa.float64()))
    return g.sort_by([("segment", "ascending"), ("customers", "descending"), ("reason", "ascending")])


def complaint_resolution(
    interactions: Any,
    *,
    as_of: Any,
    lost: Any = None,
    segments: Any = None,
    segment_col: str = "segment",
    reasons: str | Path | Mapping[str, Any] | ReasonRules | None = None,
) -> pa.Table:
    """How complaints were resolved, and whether the complainants stayed, per segment.

    Complaints are interactions of kind ``complaint`` on or before ``as_of``; resolved when
    the outcome is one of ``resolved_outcomes`` (the reason configuration). A complainant is
    *resolved* when all its complaints were resolved.

    Returns
    -------
    pyarrow.Table
        ``segment, complaints, resolved, resolution_rate, complainants, complainants_resolved,
        lost_resolved, lost_unresolved, stay_rate_resolved, stay_rate_unresolved,
        benchmark_stay_resolved`` (the text's 95 %); the lost columns and stay rates need
        ``lost`` (a table of the lost customers' ``customer_id``), else they are null.
        Without ``segments`` one row ``all``.
    """
    import ibis
    import pyarrow.compute as pc

    from custlens.features._base import day_of, literal_date
    from custlens.features.coerce import to_date, typed

    rules = load_reasons(reasons)
    day = to_date(as_of, "as_of")
    i = typed(as_ibis(interactions, "interactions"), dates=["occurred_at"], what="interactions")
    i = i.filter((i.kind == "complaint") & i.customer_id.notnull() & (day_of(i.occurred_at) <= literal_date(day)))
    solved = (
        i.outcome.lower().isin([o.lower() for o in rules.resolved_outcomes]).fill_null(False)
        if "outcome" in i.columns
        else ibis.literal(False)
    )
    per = (
        i.mutate(_s=solved)
        .group_by(customer_id=i.customer_id.cast("string"))
        .aggregate(complaints=ibis._.count(), resolved=ibis._._s.sum().cast("int64"))
        .order_by("customer_id")
        .to_pyarrow()
    )
    ids = per["customer_id"]
    seg = pa.array(["all"] * per.num_rows, pa.string()) if segments is None else _segment_of(ids, segments, segment_col)
    all_solved = pc.equal(per["complaints"], per["resolved"])
    if lost is not None:
        lost_ids = pc.cast(as_arrow(lost, "lost")["customer_id"], pa.string())
        is_lost = pc.is_in(ids, value_set=lost_ids)
    else:
        is_lost = pa.nulls(per.num_rows, pa.bool_())
    t = per.append_column("segment", seg).append_column("all_solved", all_solved).append_column("is_lost", is_lost)
    rows = []
    for s in sorted(set(seg.to_pylist())):
        part = t.filter(pc.equal(t["segment"], s))
        solved_c = part.filter(part["all_solved"])
        unsolved_c = part.filter(pc.invert(part["all_solved"]))
        complaints = int(pc.sum(part["complaints"]).as_py() or 0)
        resolved_n = int(pc.sum(part["resolved"]).as_py() or 0)

        def lost_in(x: pa.Table) -> int | None:
            return None if lost is None else int(pc.sum(pc.cast(x["is_lost"], pa.int64())).as_py() or 0)

        lr, lu = lost_in(solved_c), lost_in(unsolved_c)
        rows.append(
            {
                "segment": s,
                "complaints": complaints,
                "resolved": resolved_n,
                "resolution_rate": resolved_n / complaints if complaints else None,
                "complainants": part.num_rows,
                "complainants_resolved": solved_c.num_rows,
                "lost_resolved": lr,
                "lost_unresolved": lu,
                "stay_rate_resolved": None if lr is None or not solved_c.num_rows else 1 - lr / solved_c.num_rows,
                "stay_rate_unresolved": None if lu is None or not unsolved_c.num_rows else 1 - lu / unsolved_c.num_rows,
                "benchmark_stay_resolved": COMPLAINT_BENCHMARKS["stay_if_resolved_promptly"],
            }
        )
    schema = pa.schema(
        [
            ("segment", pa.string()),
            ("complaints", pa.int64()),
            ("resolved", pa.int64()),
            ("resolution_rate", pa.float64()),
            ("complainants", pa.int64()),
            ("complainants_resolved", pa.int64()),
            ("lost_resolved", pa.int64()),
            ("lost_unresolved", pa.int64()),
            ("stay_rate_resolved", pa.float64()),
            ("stay_rate_unresolved", pa.float64()),
            ("benchmark_stay_resolved", pa.float64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)
