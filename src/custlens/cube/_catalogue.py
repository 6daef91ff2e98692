"""The cube's dimensions and measures, declared once as data, and the grouping sets.

Every dimension and measure is listed here with its grain and definition; the command
line, the library and ``docs/cube.md`` use these tables (a test checks the page lists
every one).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from custlens.errors import InputError, did_you_mean

__all__ = [
    "Dimension",
    "Measure",
    "DIMENSIONS",
    "MEASURES",
    "SEGMENT_METHODS",
    "resolve_dimensions",
    "resolve_measures",
    "grouping_sets",
    "catalogue",
]

SEGMENT_METHODS = ("rfm", "state", "lifecycle", "abc", "pyramid", "value_matrix", "clv_matrix", "cluster")
"""Segmentations of the stored analysis that are dimensions of their own."""


@dataclass(frozen=True)
class Dimension:
    """A dimension: ``grain`` ``"customer"`` (one value per customer) or ``"line"`` (per transaction line)."""

    name: str
    grain: str
    source: str
    description: str


@dataclass(frozen=True)
class Measure:
    """A measure: ``grain`` ``"line"`` (summed over lines), ``"customer"`` (over the buyers in a cell)
    or ``"derived"`` (a ratio of two other measures)."""

    name: str
    grain: str
    description: str


_ATTRIBUTES = {
    "customer_type": "customer type (personal, corporate)",
    "region": "sales region",
    "city": "city",
    "industry": "industry (corporate customers)",
    "company_size": "company size band (corporate)",
    "gender": "gender (personal)",
    "age_band": "age band (personal)",
    "education": "education (personal)",
    "income_band": "income band (personal)",
    "occupation": "occupation (personal)",
    "acquisition_channel": "channel the customer was acquired through",
}

DIMENSIONS: dict[str, Dimension] = {
    **{name: Dimension(name, "customer", "customers", text) for name, text in _ATTRIBUTES.items()},
    "segment": Dimension(
        "segment", "customer", "analysis", "segment under the stored segmentation 'segment_method' (default rfm)"
    ),
    **{m: Dimension(m, "customer", "analysis", f"segment under the stored {m} segmentation") for m in SEGMENT_METHODS},
    "risk_band": Dimension("risk_band", "customer", "analysis", "churn risk band of the stored analysis"),
    "score_tier": Dimension(
        "score_tier", "customer", "analysis", "important-customer score tier of the stored analysis"
    ),
    "year": Dimension("year", "line", "transactions", "year of the order (UTC), 'YYYY'"),
    "quarter": Dimension("quarter", "line", "transactions", "quarter of the order (UTC), 'YYYY-Qn'"),
    "month": Dimension("month", "line", "transactions", "month of the order (UTC), 'YYYY-MM'"),
    "category": Dimension("category", "line", "transactions", "product category of the line"),
    "channel": Dimension("channel", "line", "transactions", "sales channel of the line"),
    "product": Dimension("product", "line", "transactions", "product id of the line"),
}
"""Every dimension by name."""

MEASURES: dict[str, Measure] = {
    "revenue": Measure("revenue", "line", "Σ signed amount: purchases minus returns (the features' revenue)"),
    "orders": Measure("orders", "line", "distinct purchase orders"),
    "customers": Measure("customers", "line", "distinct customers with a purchase line in the cell (buyers)"),
    "quantity": Measure("quantity", "line", "Σ signed units (returns count negative)"),
    "profit": Measure("profit", "line", "Σ signed line profit: margin, else amount - cost"),
    "returns": Measure("returns", "line", "Σ |amount| of return lines"),
    "lines": Measure("lines", "line", "transaction lines"),
    "avg_order_value": Measure("avg_order_value", "derived", "revenue / orders"),
    "revenue_per_customer": Measure("revenue_per_customer", "derived", "revenue / customers"),
    "clv": Measure("clv", "customer", "Σ lifetime value (stored analysis) of the buyers in the cell"),
    "p_alive": Measure("p_alive", "customer", "mean P(alive) (stored analysis) of the buyers in the cell"),
    "value_at_stake": Measure("value_at_stake", "customer", "Σ value at stake = CLV x (1 - P(alive)) of the buyers"),
    "expected_purchases": Measure(
        "expected_purchases", "customer", "Σ expected purchases over the CLV horizon of the buyers"
    ),
}
"""Every measure by name."""

DERIVED = {"avg_order_value": ("revenue", "orders"), "revenue_per_customer": ("revenue", "customers")}
"""Derived measure -> (numerator, denominator)."""


def _split(values: str | Sequence[str], parameter: str) -> list[str]:
    items = [v.strip() for v in values.split(",")] if isinstance(values, str) else [str(v).strip() for v in values]
    items = [v for v in items if v]
    dupes = sorted({v for v in items if items.count(v) > 1})
    if dupes:
        raise InputError(f"{parameter!r} names {dupes[0]!r} twice")
    return items


def resolve_dimensions(by: str | Sequence[str]) -> list[str]:
    """The dimension names of ``by`` (a list or comma-separated text), checked.

    Raises
    ------
    InputError
        ``'by': unknown dimension 'regoin'; did you mean 'region'? (dimensions: ...)``
    """
    names = _split(by, "by")
    for name in names:
        if name not in DIMENSIONS:
            raise InputError(
                f"'by': unknown dimension {name!r}{did_you_mean(name, DIMENSIONS)} (dimensions: {', '.join(DIMENSIONS)})"
            )
    return names


def resolve_measures(measures: str | Sequence[str]) -> list[str]:
    """The measure names of ``measures`` (a list or comma-separated text), checked."""
    names = _split(measures, "measures")
    if not names:
        raise InputError(f"'measures' is empty; give one or more of {', '.join(MEASURES)}")
    for name in names:
        if name not in MEASURES:
            raise InputError(
                f"'measures': unknown measure {name!r}{did_you_mean(name, MEASURES)} (measures: {', '.join(MEASURES)})"
            )
    return names


def grouping_sets(dims: Sequence[str], subtotals: str | Sequence[Sequence[str]] | None) -> list[tuple[str, ...]]:
    """The grouping sets of ``subtotals``, finest first.

    ``"rollup"``: ``(d1..dn), (d1..dn-1), ..., (d1), ()`` (subtotals along the order of
    ``dims``: drill-down is adding a dimension); ``"cube"``: every subset of ``dims``;
    ``None`` or ``"none"``: ``dims`` only; or an explicit list of sets of ``dims``.
    """
    dims = list(dims)
    if subtotals is None or subtotals == "none":
        return [tuple(dims)]
    if subtotals == "rollup":
        return [tuple(dims[:k]) for k in range(len(dims), -1, -1)]
    if subtotals == "cube":
        return [s for k in range(len(dims), -1, -1) for s in itertools.combinations(dims, k)]
    if isinstance(subtotals, str):
        raise InputError(f"'subtotals' must be 'rollup', 'cube', 'none' or a list of sets; got {subtotals!r}")
    out: list[tuple[str, ...]] = []
    for group in subtotals:
        wanted = [group] if isinstance(group, str) else list(group)
        for d in wanted:
            if d not in dims:
                raise InputError(f"'subtotals': a grouping set names {d!r}, which is not in 'by' ({', '.join(dims)})")
        ordered = tuple(d for d in dims if d in wanted)
        if ordered not in out:
            out.append(ordered)
    if not out:
        raise InputError("'subtotals' lists no grouping set")
    return sorted(out, key=lambda s: -len(s))


def catalogue() -> pa.Table:
    """Every dimension and measure: ``kind, name, grain, description`` (``custlens cube --list``)."""
    rows = [{"kind": "dimension", "name": d.name, "grain": d.grain, "description": d.description}
            for d in DIMENSIONS.values()]  # fmt: skip
    rows += [{"kind": "measure", "name": m.name, "grain": m.grain, "description": m.description}
             for m in MEASURES.values()]  # fmt: skip
    return pa.Table.from_pylist(rows)
