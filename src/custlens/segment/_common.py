"""Shared pieces of every segmentation: inputs, column checks, results and summaries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import ConfigError, InputError, did_you_mean

__all__ = [
    "SegmentResult",
    "as_table",
    "require_columns",
    "resolve_as_of",
    "summarise",
    "name_column",
    "config_hash",
    "SUMMARY_COLUMNS",
]

SUMMARY_COLUMNS = (
    "segment",
    "segment_zh",
    "segment_rank",
    "customers",
    "share",
    "value",
    "value_share",
    "orders",
    "avg_order_value",
)
"""Columns of every per-segment summary, in order (documented in docs/segmentation.md)."""


def as_table(data: Any, what: str = "input") -> ir.Table:
    """Return ``data`` as an Ibis table (Ibis tables pass through; Arrow/pandas/polars are wrapped)."""
    if isinstance(data, ir.Table):
        return data
    try:
        return ibis.memtable(data)
    except Exception as exc:
        raise InputError(
            f"{what}: expected a table (Ibis, Arrow, pandas or polars), got {type(data).__name__} ({exc})"
        ) from None


def require_columns(
    table: ir.Table, columns: Mapping[str, str] | Sequence[str], what: str, error: type[InputError] = InputError
) -> None:
    """Raise naming the parameter, the missing column and the closest existing column.

    ``columns`` maps parameter names (e.g. ``"recency_col"``) to column names, or lists names.
    """
    items = columns.items() if isinstance(columns, Mapping) else [(c, c) for c in columns]
    present = list(table.columns)
    for param, col in items:
        if col not in present:
            label = f"column {col!r}" if param == col else f"column {col!r} (parameter {param!r})"
            raise error(
                f"{what}: {label} is not in the table{did_you_mean(col, present)} (columns: {', '.join(present)})"
            )


def resolve_as_of(as_of: date | datetime | str | None, what: str = "as_of") -> date | None:
    """Parse an as-of date (``YYYY-MM-DD`` strings, dates, datetimes) or pass ``None`` on."""
    if as_of is None or isinstance(as_of, date) and not isinstance(as_of, datetime):
        return as_of
    if isinstance(as_of, datetime):
        return as_of.date()
    try:
        return date.fromisoformat(str(as_of))
    except ValueError:
        raise InputError(f"{what} must be a date YYYY-MM-DD, got {as_of!r}") from None


def config_hash(config: Mapping[str, Any]) -> str:
    """A short, stable hash of a resolved configuration (stored with snapshots)."""
    text = json.dumps(config, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def name_column(segment: ir.StringValue, names_zh: Mapping[str, str], default: str = "") -> ir.StringValue:
    """Map English segment names to their Chinese names (``default`` for names not listed)."""
    if not names_zh:
        return ibis.literal(default, type="string")
    return segment.cases(*[(k, v) for k, v in names_zh.items()], else_=default)


def summarise(
    customers: ir.Table,
    *,
    segments: Sequence[str],
    names_zh: Mapping[str, str],
    value_col: str | None = None,
    orders_col: str | None = None,
    segment_col: str = "segment",
) -> ir.Table:
    """One row per segment: size, share, value, value share, orders and average order value.

    Parameters
    ----------
    customers
        One row per customer with a ``segment_col`` column.
    segments
        Segment names in their display order (``segment_rank`` follows it; unknown names get
        the next ranks).
    names_zh
        Chinese names by English name.
    value_col, orders_col
        Columns summed into ``value`` and ``orders`` (null when not given).
    """
    seg = customers[segment_col]
    metrics: dict[str, ir.Value] = {"customers": customers.count()}
    # a customer without a value (a lead) adds 0, so every segment has a value when one is given
    metrics["value"] = (
        customers[value_col].cast("float64").fill_null(0.0).sum() if value_col else ibis.null().cast("float64")
    )
    metrics["orders"] = (
        customers[orders_col].cast("float64").fill_null(0.0).sum() if orders_col else ibis.null().cast("float64")
    )
    grouped = customers.group_by(segment=seg).aggregate(**metrics)
    total_n = grouped.customers.sum().over()
    total_v = grouped.value.sum().over()
    rank = (
        grouped.segment.cases(*[(s, i) for i, s in enumerate(segments)], else_=len(segments))
        if segments
        else ibis.literal(0)
    )
    out = grouped.mutate(
        segment_zh=name_column(grouped.segment, names_zh),
        segment_rank=rank.cast("int64"),
        share=grouped.customers.cast("float64") / total_n,
        value_share=ibis.ifelse(total_v != 0, grouped.value / total_v, ibis.null().cast("float64")),
        avg_order_value=ibis.ifelse(grouped.orders > 0, grouped.value / grouped.orders, ibis.null().cast("float64")),
    )
    return out.select(*SUMMARY_COLUMNS).order_by(["segment_rank", "segment"])


@dataclass(frozen=True)
class SegmentResult:
    """The outcome of one segmentation.

    Attributes
    ----------
    method
        Method name (``"rfm"``, ``"abc"``, ...), stored with snapshots.
    as_of
        The as-of date the segmentation describes (``None`` when the input was already a
        per-customer table without a date).
    customers
        One row per customer: ``customer_id``, the method's own columns, ``segment`` and
        ``segment_zh``.
    summary
        One row per segment with :data:`SUMMARY_COLUMNS`.
    config
        The resolved configuration (defaults merged with the user's).
    details
        Method-specific extras (thresholds, cut points, concentration figures, ...).
    """

    method: str
    as_of: date | None
    customers: ir.Table
    summary: ir.Table
    config: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def config_hash(self) -> str:
        """Hash of the resolved configuration."""
        return config_hash({"method": self.method, "config": self.config})


def check_config_keys(section: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Raise :class:`ConfigError` for keys a configuration section does not know."""
    allowed = list(allowed)
    for key in section:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown setting {key!r}{did_you_mean(key, allowed)} (known: {', '.join(allowed)})"
            )
