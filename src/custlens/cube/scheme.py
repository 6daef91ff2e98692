"""The HSBC-style multi-dimensional customer scheme (汇丰银行如何区分客户), rolled up level by level.

The course's bank case divides customers along four dimensions, each splitting one branch
of the previous:

1. **basic features** (基本特征): corporate 公司客户 / personal 个人客户 (``customer_type``);
2. **relationship** (客户与公司关系): potential 可能客户 (registered, no purchase by the
   as-of date) / current 现实客户 (bought);
3. **activity** (活跃程度), current customers: inactive 非活跃客户 (lost in the stored
   relationship-state segmentation) / active 活跃客户;
4. **value and loyalty** (客户价值与忠诚度), active customers: top 顶级客户 (high value, high
   loyalty), large_medium 大中型客户 (high value, low loyalty), small_medium 中小型客户 (low
   value, high loyalty), small 小客户 (low, low). Value is ``revenue`` and loyalty
   ``order_count`` by default, each split at its median among the active customers of the
   same basic type with
   :func:`custlens.segment.value_matrix` (high = strictly above the median).

A level that does not apply to a branch (activity of a potential customer) holds ``-``.
:func:`scheme_cube` rolls the scheme up with the cube's measures at customer grain (every
customer counts, buyers or not); subtotal rows that would repeat a ``-`` branch are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from custlens.cube._catalogue import DERIVED, resolve_measures
from custlens.cube._rollup import rollup, sort_rows
from custlens.errors import InputError
from custlens.schema import CUSTOMER_TYPES

__all__ = ["LEVELS", "LABELS", "NOT_APPLICABLE", "hsbc_scheme", "scheme_cube", "SCHEME_MEASURES"]

LEVELS = ("basic", "relationship", "activity", "value_loyalty")
"""The scheme's dimensions, from the root of the tree down."""

NOT_APPLICABLE = "-"
"""The value of a level that does not apply to a customer's branch."""

LABELS: dict[str, dict[str, str]] = {
    "basic": {"corporate": "公司客户", "personal": "个人客户"},
    "relationship": {"potential": "可能客户", "current": "现实客户"},
    "activity": {"inactive": "非活跃客户", "active": "活跃客户"},
    "value_loyalty": {"top": "顶级客户", "large_medium": "大中型客户", "small_medium": "中小型客户", "small": "小客户"},
}
"""Each level's values and their Chinese names (as the course text names them)."""

_QUADRANT = {"best": "top", "spender": "large_medium", "frequent": "small_medium", "uncertain": "small"}

SCHEME_MEASURES = (
    "customers",
    "revenue",
    "orders",
    "profit",
    "quantity",
    "returns",
    "avg_order_value",
    "revenue_per_customer",
    "clv",
    "p_alive",
    "value_at_stake",
    "expected_purchases",
)
"""Measures of the scheme cube: per customer from the stored analysis (``customers`` counts
every customer; ``p_alive`` is the buyers' mean)."""

_SOURCE = {"orders": "order_count", "returns": "return_amount"}


def hsbc_scheme(
    analysis: ir.Table,
    *,
    customers: ir.Table | None = None,
    state: ir.Table | None = None,
    value_col: str = "revenue",
    loyalty_col: str = "order_count",
) -> ir.Table:
    """Each customer's place in the scheme.

    Parameters
    ----------
    analysis
        The stored analysis's per-customer table (``StoredAnalysis.customers()``).
    customers
        The ``customers`` table (``customer_type``); without it the basic level is ``(missing)``.
    state
        The stored relationship-state segments (``customer_id, segment``); without it every
        current customer is active.
    value_col, loyalty_col
        Per-customer columns of ``analysis`` for the value and loyalty split.

    Returns
    -------
    ibis.Table
        ``customer_id, basic, relationship, activity, value_loyalty`` and the analysis's columns.
    """
    from custlens.segment import value_matrix

    for col, param in ((value_col, "value_col"), (loyalty_col, "loyalty_col")):
        if col not in analysis.columns:
            from custlens.errors import did_you_mean

            raise InputError(
                f"{param!r}: {col!r} is not a column of the stored analysis{did_you_mean(col, analysis.columns)}"
            )
    t = analysis.mutate(customer_id=analysis.customer_id.cast("string"))
    if customers is not None:
        c = customers.select(_bid=customers.customer_id.cast("string"), _type=customers.customer_type)
        t = t.left_join(c, t.customer_id == c._bid).drop("_bid")
    else:
        t = t.mutate(_type=ibis.null().cast("string"))
    if state is not None:
        s = state.select(_sid=state.customer_id.cast("string"), _state=state.segment)
        t = t.left_join(s, t.customer_id == s._sid).drop("_sid")
    else:
        t = t.mutate(_state=ibis.null().cast("string"))
    current = t.order_count.fill_null(0) > 0
    active = current & (t._state.fill_null("") != "lost")
    t = t.mutate(
        basic=t._type.fill_null("(missing)"),
        relationship=ibis.ifelse(current, "current", "potential"),
        activity=ibis.cases((active, "active"), (current, "inactive"), else_=NOT_APPLICABLE),
        _active=active,
    )
    parts = []
    for kind in (*CUSTOMER_TYPES, "(missing)"):  # each basic type is split at its own medians
        pool = t.filter(t._active, t.basic == kind)
        quad = value_matrix(pool, frequency_col=loyalty_col, avg_value_col=value_col, value_col=value_col).customers
        parts.append(quad.select(_qid=quad.customer_id.cast("string"), _quadrant=quad.segment))
    q = ibis.union(*parts, distinct=False)
    t = t.left_join(q, t.customer_id == q._qid).drop("_qid")
    vl = t._quadrant.cases(*_QUADRANT.items(), else_=NOT_APPLICABLE)
    return t.mutate(value_loyalty=vl).drop("_type", "_state", "_active", "_quadrant")


def _aggregates(t: ir.Table, names: Sequence[str]) -> dict[str, ir.Value]:
    buyer = t.order_count.fill_null(0) > 0
    aggs: dict[str, ir.Value] = {}
    for name in names:
        if name == "customers":
            aggs[name] = t.count()
        elif name == "p_alive":
            aggs[name] = t.p_alive.mean(where=buyer)
        elif name == "orders":
            aggs[name] = t.order_count.sum().fill_null(0).cast("int64")
        else:
            aggs[name] = t[_SOURCE.get(name, name)].cast("float64").sum().fill_null(0.0)
    return aggs


def scheme_cube(
    workspace: Any,
    measures: str | Sequence[str] = ("customers", "revenue", "clv"),
    *,
    as_of: date | str | None = None,
    subtotals: str | None = "rollup",
    language: str = "en",
    value_col: str = "revenue",
    loyalty_col: str = "order_count",
) -> pa.Table:
    """The HSBC scheme rolled up over the customers of the stored analysis.

    Parameters
    ----------
    measures
        From :data:`SCHEME_MEASURES`.
    as_of
        The stored analysis of that date (default: the latest).
    subtotals
        ``"rollup"`` (the tree: each level's subtotal) or ``"none"``.
    language
        ``"en"`` (value ids) or ``"zh"`` (the course's Chinese names).

    Returns
    -------
    pyarrow.Table
        ``basic, relationship, activity, value_loyalty``, ``grouping`` (with subtotals), the
        measures; ``""`` where rolled up, ``-`` where a level does not apply.
    """
    from custlens.analysis import load_analysis
    from custlens.cube._api import _derive
    from custlens.errors import did_you_mean
    from custlens.features.coerce import to_date
    from custlens.warehouse import reading as read_workspace
    from custlens.warehouse.compat import cache, on_engine

    names = resolve_measures(measures)
    for name in names:
        if name not in SCHEME_MEASURES:
            raise InputError(
                f"'measures': {name!r} is not a measure of the scheme{did_you_mean(name, SCHEME_MEASURES)} "
                f"(scheme measures: {', '.join(SCHEME_MEASURES)})"
            )
    if subtotals not in ("rollup", "none", None):
        raise InputError(f"'subtotals' of the scheme must be 'rollup' or 'none'; got {subtotals!r}")
    if language not in ("en", "zh"):
        raise InputError(f"'language' must be 'en' or 'zh'; got {language!r}")
    base = [m for n in names for m in DERIVED.get(n, (n,))]
    base = list(dict.fromkeys(base))
    with read_workspace(workspace) as (con, canonical):
        stored = load_analysis(con, as_of=None if as_of is None else to_date(as_of, "as_of"))
        customers = canonical("customers")
        state = on_engine(stored.segments("state"), customers) if "state" in stored.methods else None
        table = cache(
            hsbc_scheme(
                on_engine(stored.customers(), customers),
                customers=customers,
                state=state,
                value_col=value_col,
                loyalty_col=loyalty_col,
            )
        )
        with_grouping = subtotals == "rollup"
        sets = [LEVELS[:k] for k in range(len(LEVELS), -1, -1)] if with_grouping else [LEVELS]
        expr = rollup(
            lambda _group: table,
            LEVELS,
            sets,
            lambda t: _aggregates(t, base),
            lambda key, _dim: key,
            with_grouping=with_grouping,
        )
        result = sort_rows(expr.to_pyarrow(), LEVELS)
    result = _drop_repeats(result) if with_grouping else result
    result = _derive(result, names)
    if language == "zh":
        result = _translate(result)
    out = result.select([*LEVELS, *(["grouping"] if with_grouping else []), *names])
    return out.replace_schema_metadata({"as_of": stored.as_of.isoformat(), "analysis_id": stored.analysis_id})


def _drop_repeats(table: pa.Table) -> pa.Table:
    """Leave out subtotals whose only branch below is ``-`` (they would repeat that row)."""
    rows = table.to_pylist()
    keep = []
    for row in rows:
        rolled = [d for d in LEVELS if row[d] == ""]
        if rolled:
            first = rolled[0]
            fixed = [d for d in LEVELS if row[d] != ""]
            below = {r[first] for r in rows if r[first] != "" and all(r[d] == row[d] for d in fixed)}
            if below == {NOT_APPLICABLE}:
                continue
        keep.append(row)
    return pa.Table.from_pylist(keep, schema=table.schema)


def _translate(table: pa.Table) -> pa.Table:
    for level in LEVELS:
        names = LABELS[level]
        values = [names.get(v, v) if v is not None else None for v in table[level].to_pylist()]
        table = table.set_column(table.column_names.index(level), level, pa.array(values, pa.string()))
    return table
