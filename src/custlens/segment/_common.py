"""Shared pieces of every segmentation: inputs, column checks, results and summaries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens._frames import as_ibis
from custlens.errors import ConfigError, InputError, did_you_mean
from custlens.features.coerce import to_date

__all__ = [
    "SegmentResult",
    "SummarySpec",
    "significant",
    "Details",
    "as_ibis",
    "as_of_or_none",
    "require_columns",
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


def as_of_or_none(as_of: Any) -> date | None:
    """The as-of date a result records: ``None`` stays ``None``, anything else goes through ``to_date``."""
    return None if as_of is None else to_date(as_of, "as_of")


def config_hash(config: Mapping[str, Any]) -> str:
    """A short, stable hash of a resolved configuration (stored with snapshots)."""
    text = json.dumps(config, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def name_column(segment: ir.StringValue, names_zh: Mapping[str, str], default: str = "") -> ir.StringValue:
    """Map English segment names to their Chinese names (``default`` for names not listed)."""
    if not names_zh:
        return ibis.literal(default, type="string")
    return segment.cases(*[(k, v) for k, v in names_zh.items()], else_=default)


@dataclass(frozen=True)
class SummarySpec:
    """How a per-customer table becomes the per-segment summary.

    Attributes
    ----------
    segments
        Segment names in display order (``segment_rank`` follows it; names not listed get
        the next ranks). Empty: segments are ranked by name.
    names_zh
        Chinese names by English name; ``None`` takes them from the table's ``segment_zh``.
    value_col, orders_col
        Columns summed into ``value`` and ``orders`` (null when ``None``).
    """

    segments: tuple[str, ...] = ()
    names_zh: Mapping[str, str] | None = None
    value_col: str | None = None
    orders_col: str | None = None


def summarise(customers: ir.Table, spec: SummarySpec, segment_col: str = "segment") -> ir.Table:
    """One row per segment: size, share, value, value share, orders and average order value."""
    seg = customers[segment_col]
    metrics: dict[str, ir.Value] = {"customers": customers.count()}
    # a customer without a value (a lead) adds 0, so every segment has a value when one is given
    metrics["value"] = (
        customers[spec.value_col].cast("float64").fill_null(0.0).sum()
        if spec.value_col
        else ibis.null().cast("float64")
    )
    metrics["orders"] = (
        customers[spec.orders_col].cast("float64").fill_null(0.0).sum()
        if spec.orders_col
        else ibis.null().cast("float64")
    )
    keys: dict[str, ir.Value] = {"segment": seg}
    if spec.names_zh is None:
        keys["segment_zh"] = customers.segment_zh
    grouped = customers.group_by(**keys).aggregate(**metrics)
    total_n = grouped.customers.sum().over()
    total_v = grouped.value.sum().over()
    if spec.segments:
        rank = grouped.segment.cases(*[(s, i) for i, s in enumerate(spec.segments)], else_=len(spec.segments))
    else:
        rank = ibis.dense_rank().over(order_by=grouped.segment)
    extra = {} if spec.names_zh is None else {"segment_zh": name_column(grouped.segment, spec.names_zh)}
    out = grouped.mutate(
        **extra,
        segment_rank=rank.cast("int64"),
        share=grouped.customers.cast("float64") / total_n,
        value_share=ibis.ifelse(total_v != 0, grouped.value / total_v, ibis.null().cast("float64")),
        avg_order_value=ibis.ifelse(grouped.orders > 0, grouped.value / grouped.orders, ibis.null().cast("float64")),
    )
    return out.select(*SUMMARY_COLUMNS).order_by(["segment_rank", "segment"])


class Details(Mapping[str, Any]):
    """A segmentation's extras; numbers that need a query are computed on first access.

    ``Details(values, lazy)``: ``values`` are plain; ``lazy`` maps a key to a function of no
    arguments, called once when the key is first read (then remembered). Iterating over the
    keys, ``in`` and ``len`` run nothing.
    """

    def __init__(
        self, values: Mapping[str, Any] | None = None, lazy: Mapping[str, Callable[[], Any]] | None = None
    ) -> None:
        self._values: dict[str, Any] = dict(values or {})
        self._lazy: dict[str, Callable[[], Any]] = {k: v for k, v in (lazy or {}).items() if k not in self._values}

    def __getitem__(self, key: str) -> Any:
        if key not in self._values and key in self._lazy:
            self._values[key] = self._lazy.pop(key)()
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._values, *self._lazy])

    def __len__(self) -> int:
        return len(self._values) + len(self._lazy)

    def __repr__(self) -> str:
        shown = {**self._values, **{k: "<computed on access>" for k in self._lazy}}
        return f"Details({shown!r})"


@dataclass(frozen=True)
class SegmentResult:
    """The outcome of one segmentation: lazy Ibis expressions, nothing executed yet.

    Attributes
    ----------
    method
        Method name (``"rfm"``, ``"abc"``, ...), stored with snapshots.
    as_of
        The as-of date the segmentation describes (``None`` when the input was already a
        per-customer table without a date).
    table
        One row per customer: the public :attr:`columns` plus the private columns the
        summary reads (their names start with ``_``).
    columns
        The public columns, in order: ``customer_id``, the method's columns, ``segment``,
        ``segment_zh``.
    spec
        How :attr:`summary` is built from :attr:`table`.
    config
        The resolved configuration (defaults merged with the user's).
    details
        Method-specific extras (thresholds, cut points, split points, cluster profile, ...);
        a :class:`Details` computes numbers that need a query when they are first read.
    """

    method: str
    as_of: date | None
    table: ir.Table
    columns: tuple[str, ...]
    spec: SummarySpec = field(default_factory=SummarySpec)
    config: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def customers(self) -> ir.Table:
        """One row per customer with :attr:`columns` (an Ibis expression)."""
        return self.table.select(*self.columns)

    @property
    def summary(self) -> ir.Table:
        """One row per non-empty segment with :data:`SUMMARY_COLUMNS` (an Ibis expression)."""
        return summarise(self.table, self.spec)

    def cache(self) -> SegmentResult:
        """The same result with its per-customer table materialised once on the backend.

        Worth it before reading both :attr:`customers` and :attr:`summary` (or several
        exports) of a large base: each would otherwise run the whole pipeline. The copy
        (:func:`custlens.warehouse.compat.materialise`) no longer refers to the inputs it
        was computed from, so in-memory ones (k-means' labels) can be let go; on DuckDB it
        is a temporary table dropped when the returned result's table is
        garbage-collected, on Spark a cached one.
        """
        from custlens.warehouse.compat import materialise

        return replace(self, table=materialise(self.table))

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


def significant(q: ir.FloatingValue, digits: int = 12) -> ir.FloatingValue:
    """``q`` rounded to ``digits`` significant digits, in the engine.

    Interpolation noise (2.9999999999999996 for 3) must not move a value that equals a cut
    point into the next bin. ``q`` is scaled by ``10**|e|`` (exact for ``|e| <= 22``: both
    engines' ``pow`` return exactly representable powers exactly), rounded and scaled back,
    so the result is the float nearest the rounded decimal.
    """
    mag = ibis.greatest(q.abs(), 1e-300).log10().floor()
    e = ibis.least(ibis.greatest(digits - 1 - mag, -22.0), 22.0)
    scale = ibis.literal(10.0) ** e.abs()
    return ibis.ifelse(e >= 0, (q * scale).round() / scale, (q / scale).round() * scale)
