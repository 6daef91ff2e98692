"""Computing a taxonomy's tags for every customer, as Ibis expressions on any backend.

:func:`compute_tags` builds one per-customer table (the *tag base*: the stored analysis's
per-customer outputs, the customers' attributes and the segments the tags read), one
boolean column per tag, and the long table of assignments ``customer_id, tag``. The
quantile cut points of band tags are read in one aggregate query; everything else stays an
expression, run by the engine that holds the tables (DuckDB or Spark).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import ConfigError, InputError, did_you_mean
from custlens.tags._model import Tag, Taxonomy
from custlens.warehouse.compat import cache

__all__ = ["TagComputation", "compute_tags", "tag_base", "MODEL_COLUMNS", "segment_column"]

MODEL_COLUMNS = (
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "p_alive",
    "expected_purchases",
    "expected_spend",
    "clv",
    "risk_band",
    "overdue_ratio",
    "next_order_in",
    "expected_next_order",
    "value_at_stake",
    "score",
    "score_rank",
    "score_tier",
    "r_score",
    "f_score",
    "m_score",
)
"""Columns of the stored analysis that model tags read (``custlens.analysis`` history, CLV,
churn, score and RFM score columns); ``method`` reads a stored segmentation instead."""


def segment_column(method: str) -> str:
    """The tag base's column holding a customer's segment under ``method`` (``segment_<method>``)."""
    return f"segment_{method}"


@dataclass(frozen=True)
class TagComputation:
    """The tags of one taxonomy for every customer of a base.

    Attributes
    ----------
    assignments
        Ibis table ``customer_id, tag``: one row per customer and tag the customer has.
    flags
        Ibis table ``customer_id`` and one boolean column per tag (named by tag id),
        materialised once on the backend.
    customers
        Ibis table ``customer_id`` of every customer of the base.
    cut_points
        Tag id -> ``{"low": ..., "high": ...}`` quantile values of every band tag (``None``
        for an open end), read from the backend.
    """

    assignments: ir.Table
    flags: ir.Table
    customers: ir.Table
    cut_points: dict[str, dict[str, float | None]]


def _rule_columns(text: str, name: str) -> set[str]:
    """Columns a rule names (from its syntax tree)."""
    from custlens.segment import parse_rule

    found: set[str] = set()

    def walk(node: Any) -> None:
        if getattr(node, "kind", None) == "col":
            found.add(str(node.args[0]))
            return
        for arg in getattr(node, "args", ()):
            if isinstance(arg, tuple):
                for item in arg:
                    walk(item)
            else:
                walk(arg)

    walk(parse_rule(text, name))
    return found


def _rules(taxonomy: Taxonomy) -> Iterator[tuple[Tag, str]]:
    """Every rule text of the taxonomy (``when`` and ``among``) with its tag."""
    for t in taxonomy.tags:
        for key in ("when", "among"):
            if key in t.spec:
                yield t, str(t.spec[key])


def needed_methods(taxonomy: Taxonomy) -> list[str]:
    """Segmentations the taxonomy reads: model tags' ``method`` and ``segment_<method>`` in rules."""
    methods = [str(t.spec["method"]) for t in taxonomy.tags if "method" in t.spec]
    for t, text in _rules(taxonomy):
        methods += [c[len("segment_") :] for c in _rule_columns(text, f"tag {t.id}") if c.startswith("segment_")]
    return list(dict.fromkeys(methods))


def tag_base(
    analysis_customers: ir.Table,
    *,
    customers: ir.Table | None = None,
    segments: Mapping[str, ir.Table] | None = None,
) -> ir.Table:
    """One row per customer of the stored analysis with every column a tag may read.

    Parameters
    ----------
    analysis_customers
        The stored analysis's per-customer table (``StoredAnalysis.customers()``).
    customers
        The ``customers`` table: its attribute columns are joined by ``customer_id``.
    segments
        Method -> table ``customer_id, segment`` (``StoredAnalysis.segments(method)``),
        joined as ``segment_<method>``.
    """
    base = analysis_customers.mutate(customer_id=analysis_customers.customer_id.cast("string"))
    if customers is not None:
        extra = [c for c in customers.columns if c not in base.columns]
        if extra:
            attrs = customers.select(_cid=customers.customer_id.cast("string"), **{c: customers[c] for c in extra})
            base = base.left_join(attrs, base.customer_id == attrs._cid).drop("_cid")
    for method, table in (segments or {}).items():
        seg = table.select(_sid=table.customer_id.cast("string"), **{segment_column(method): table.segment})
        base = base.left_join(seg, base.customer_id == seg._sid).drop("_sid")
    return base


def _column(base: ir.Table, tag: Tag, key: str = "column") -> ir.Column:
    name = str(tag.spec[key])
    if name not in base.columns:
        raise ConfigError(
            f"tag {tag.id!r}: {key} {name!r} is not a column of the tag base{did_you_mean(name, base.columns)} "
            f"(columns: {', '.join(base.columns)})"
        )
    return base[name]


def _check_kind_column(tag: Tag, attributes: set[str]) -> None:
    """Fact tags read customer attributes; model tags read the stored analysis's model outputs."""
    if "column" not in tag.spec:
        return
    name = str(tag.spec["column"])
    if tag.kind == "fact" and name not in attributes:
        raise ConfigError(
            f"tag {tag.id!r}: a fact tag reads a customer attribute; {name!r} is not a column of 'customers'"
            f"{did_you_mean(name, sorted(attributes))} (use kind 'rule' or 'statistic' for indicators)"
        )
    if tag.kind == "model" and name not in MODEL_COLUMNS:
        raise ConfigError(
            f"tag {tag.id!r}: a model tag reads a stored model output; {name!r} is not one"
            f"{did_you_mean(name, MODEL_COLUMNS)} (model columns: {', '.join(MODEL_COLUMNS)})"
        )


def _population(base: ir.Table, tag: Tag) -> ir.BooleanValue:
    from custlens.segment import compile_rule

    x = _column(base, tag)
    keep = x.notnull()
    if "among" in tag.spec:
        keep = keep & compile_rule(str(tag.spec["among"]), base, f"tag {tag.id} (among)").fill_null(False)
    return keep


def _banded(base: ir.Table, tag: Tag) -> ir.FloatingValue:
    """The band tag's column as compared with its cut points: at 12 significant digits, in the engine.

    Both the quantile and the comparison read the rounded value. The cut point of a band
    often *is* a customer's value (customers tied at the quantile, or a whole position),
    and it is rounded to 12 significant digits; a value compared unrounded would then
    fall on either side of its own rounded self, depending on its 13th digit, which for a
    model output (``clv``) differs between engines and runs. Rounded, tied customers
    always stay on the same side (``x > q(from)`` leaves them out, ``x <= q(to)`` keeps
    them in), on DuckDB and Spark alike.
    """
    from custlens.segment._common import significant

    return significant(_column(base, tag).cast("float64"))


def _cut_points(base: ir.Table, tags: list[Tag]) -> dict[str, dict[str, float | None]]:
    """The quantile values of every band tag (12 significant digits): one aggregate on DuckDB (:func:`~custlens.warehouse.compat.quantiles`)."""
    from custlens.segment._common import significant
    from custlens.warehouse.compat import quantiles

    banded: dict[str, ir.Value] = {}  # each band's values, null outside its population
    wanted: dict[str, tuple[str, float]] = {}
    for i, t in enumerate(tags):
        x = _column(base, t)
        if not x.type().is_numeric():
            raise ConfigError(
                f"tag {t.id!r}: a quantile band needs a numeric column; {t.spec['column']!r} is {x.type()}"
            )
        low, high = t.band or (0.0, 1.0)
        if low > 0 or high < 1:
            banded[f"_x{i}"] = ibis.ifelse(_population(base, t), _banded(base, t), ibis.null("float64"))
        if low > 0:
            wanted[f"_l{i}"] = (f"_x{i}", low)
        if high < 1:
            wanted[f"_h{i}"] = (f"_x{i}", high)
    if not wanted:
        return {t.id: {"low": None, "high": None} for t in tags}
    raw = quantiles(base.select(**banded), wanted)
    # rounded in the engine like the values, so a cut point on a customer's value equals it exactly
    row = raw.select(**{k: significant(raw[k]) for k in wanted}).to_pyarrow().to_pylist()[0]

    def read(key: str) -> float | None:
        value = row.get(key)
        return None if value is None else float(value)

    return {t.id: {"low": read(f"_l{i}"), "high": read(f"_h{i}")} for i, t in enumerate(tags)}


def _literal_for(x: ir.Value, value: Any, tag: Tag) -> Any:
    """``value`` when it fits the column's type; a :class:`ConfigError` naming the tag otherwise."""
    dtype = x.type()
    fits = (
        dtype.is_boolean()
        if isinstance(value, bool)
        else dtype.is_string()
        if isinstance(value, str)
        else dtype.is_numeric()
    )
    if not fits:
        subject = tag.spec.get("column", tag.spec.get("method"))
        raise ConfigError(f"tag {tag.id!r}: compares {subject!r} ({dtype}) with {value!r}, a value of another type")
    return value


def _condition(base: ir.Table, tag: Tag, cuts: Mapping[str, dict[str, float | None]]) -> ir.BooleanValue:
    from custlens.segment import compile_rule

    s = tag.spec
    if tag.kind == "rule":
        return compile_rule(str(s["when"]), base, f"tag {tag.id}")
    if tag.kind == "window":
        return base[f"_w_{tag.id}"]
    x = base[segment_column(str(s["method"]))] if "method" in s else _column(base, tag)
    if "value" in s:
        return x == _literal_for(x, s["value"], tag)
    if "values" in s:
        return x.isin([_literal_for(x, v, tag) for v in s["values"]])
    if tag.band is not None:
        cut = cuts[tag.id]
        keep = _population(base, tag)
        xf = _banded(base, tag)
        if cut["low"] is not None:
            keep = keep & (xf > cut["low"])
        if cut["high"] is not None:
            keep = keep & (xf <= cut["high"])
        return keep
    if not x.type().is_numeric():
        raise ConfigError(f"tag {tag.id!r}: 'min'/'max' need a numeric column; {s['column']!r} is {x.type()}")
    keep = x.notnull()
    if "min" in s:
        keep = keep & (x >= float(s["min"]))
    if "max" in s:
        keep = keep & (x < float(s["max"]))
    return keep


def _window_flags(transactions: ir.Table, tags: list[Tag], as_of: date) -> ir.Table:
    """``_cid`` and one boolean ``_w_<tag>`` per window tag, from the purchase lines."""
    from custlens.features.coerce import typed

    required = {"customer_id", "order_id", "ordered_at", "amount"}
    for t in tags:
        required |= {k for k in ("product_category", "channel") if k in t.spec}
    needed = {c if c not in ("product_category",) else "category" for c in required}
    missing = sorted(c for c in needed if c not in transactions.columns)
    if missing:
        raise InputError(
            f"transactions: no column {missing[0]!r}{did_you_mean(missing[0], transactions.columns)}; "
            f"window tags read {', '.join(sorted(needed))}"
        )
    tx = typed(transactions, dates=["ordered_at"], numbers=["amount"], what="transactions")
    longest = max(int(t.spec["days"]) for t in tags)
    day = tx.ordered_at.date()
    flag = tx.return_flag.cast("boolean").fill_null(False) if "return_flag" in tx.columns else ibis.literal(False)
    first = ibis.date((as_of - timedelta(days=longest)).isoformat())
    lines = tx.filter(
        tx.customer_id.notnull(),
        day > first,
        day <= ibis.date(as_of.isoformat()),
        ~(flag | (tx.amount < 0)),  # purchases only: the return rule of custlens.schema
    )
    lines = lines.mutate(_day=lines.ordered_at.date())
    # two steps instead of one distinct count per tag: one row per order with a flag per tag, then sums
    per_order_aggs: dict[str, ir.Value] = {}
    for i, t in enumerate(tags):
        cond = lines._day > ibis.date((as_of - timedelta(days=int(t.spec["days"]))).isoformat())
        if "product_category" in t.spec:
            cond = cond & lines.category.isin([str(v) for v in _listed(t.spec["product_category"])])
        if "channel" in t.spec:
            cond = cond & lines.channel.isin([str(v) for v in _listed(t.spec["channel"])])
        cond = cond.fill_null(False)
        per_order_aggs[f"_o{i}"] = cond.any()
        if "min_amount" in t.spec:
            per_order_aggs[f"_a{i}"] = lines.amount.sum(where=cond)
    orders = lines.group_by(_cid=lines.customer_id.cast("string"), _order=lines.order_id).aggregate(**per_order_aggs)
    aggs: dict[str, ir.Value] = {}
    for i, t in enumerate(tags):
        aggs[f"_o{i}"] = orders[f"_o{i}"].cast("int64").sum()
        if "min_amount" in t.spec:
            aggs[f"_a{i}"] = orders[f"_a{i}"].sum()
    per = orders.group_by("_cid").aggregate(**aggs)
    flags: dict[str, ir.Value] = {}
    for i, t in enumerate(tags):
        ok = per[f"_o{i}"] >= int(t.spec.get("min_orders", 1))
        if "min_amount" in t.spec:
            ok = ok & (per[f"_a{i}"] >= float(t.spec["min_amount"]))
        flags[f"_w_{t.id}"] = ok
    return per.select("_cid", **flags)


def _check(taxonomy: Taxonomy, base: ir.Table, attributes: set[str]) -> None:
    """Refuse tags that do not fit ``base`` (columns, kinds, segmentations, rules), before anything runs."""
    from custlens.segment import compile_rule

    for t in taxonomy.tags:
        _check_kind_column(t, attributes)
        if "column" in t.spec:
            _column(base, t)
        if "method" in t.spec and segment_column(str(t.spec["method"])) not in base.columns:
            raise ConfigError(
                f"tag {t.id!r}: the tag base has no segmentation {t.spec['method']!r} (column "
                f"{segment_column(str(t.spec['method']))!r})"
            )
    for t, text in _rules(taxonomy):
        compile_rule(text, base, f"tag {t.id}")


def _needed_columns(taxonomy: Taxonomy, base: ir.Table) -> list[str]:
    """``customer_id`` and the base columns the tags read (unknown names are left for the checks)."""
    names = ["customer_id"]
    for t in taxonomy.tags:
        if "column" in t.spec:
            names.append(str(t.spec["column"]))
        if "method" in t.spec:
            names.append(segment_column(str(t.spec["method"])))
    for t, text in _rules(taxonomy):
        names += sorted(_rule_columns(text, f"tag {t.id}"))
    return [n for n in dict.fromkeys(names) if n in base.columns]


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def compute_tags(
    taxonomy: Taxonomy,
    base: ir.Table,
    *,
    transactions: ir.Table | None = None,
    as_of: date | None = None,
    attributes: set[str] | None = None,
) -> TagComputation:
    """Every tag of ``taxonomy`` for every customer of ``base``.

    Parameters
    ----------
    taxonomy
        From :func:`~custlens.tags.load_taxonomy`.
    base
        The tag base (:func:`tag_base`): one row per customer with the columns the tags read.
    transactions
        The transaction lines (canonical columns), needed by window tags.
    as_of
        The day the window tags count back from (inclusive), needed by window tags.
    attributes
        Names of the customer attribute columns fact tags may read (default: every column
        of ``base``).

    Returns
    -------
    TagComputation
        The assignments, the per-customer flags (materialised once with ``cache()``), the
        customers and the band tags' cut points.

    Raises
    ------
    ConfigError
        A tag names a column the base lacks, a rule does not compile, a fact tag reads a
        column that is not an attribute or a model tag one that is not a model output.
    InputError
        Window tags without ``transactions`` or ``as_of``.
    """
    attrs = set(base.columns) if attributes is None else set(attributes)
    _check(taxonomy, base, attrs)  # on the whole base: errors suggest from every column
    base = cache(base.select(*_needed_columns(taxonomy, base)))  # the joins behind the base run once
    bands = [t for t in taxonomy.tags if t.band is not None]
    cuts = _cut_points(base, bands) if bands else {}
    windows = [t for t in taxonomy.tags if t.kind == "window"]
    if windows:
        if transactions is None or as_of is None:
            raise InputError("window tags need 'transactions' and 'as_of'")
        flags_w = _window_flags(transactions, windows, as_of)
        joined = base.left_join(flags_w, base.customer_id == flags_w._cid).drop("_cid")
        base = joined.mutate(**{f"_w_{t.id}": joined[f"_w_{t.id}"].fill_null(False) for t in windows})
    conditions = {t.id: _condition(base, t, cuts).fill_null(False) for t in taxonomy.tags}
    flags = cache(base.select("customer_id", **{f"_t_{k}": v for k, v in conditions.items()}))
    flags = flags.rename({k: f"_t_{k}" for k in conditions})
    parts = [flags.filter(flags[t.id]).select("customer_id", tag=ibis.literal(t.id, "string")) for t in taxonomy.tags]
    assignments = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return TagComputation(assignments, flags, flags.select("customer_id"), cuts)
