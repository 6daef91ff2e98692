"""The parts of every customer's lifetime value (客户终生价值的构成): historical, current and potential.

The course text breaks a customer's lifetime value into CLV1 the first purchase (初次购买),
CLV2 repeat purchases (重复购买), CLV3 cross-selling (交叉销售), CLV4 the lower cost of
serving a customer as the relationship ages (服务成本降低), CLV5 referral revenue
(推荐收益) and CLV6 the value loyalty brings (客户忠诚带来的价值), and reads a customer's
value three ways: historical (历史价值, to date), current (当前价值, the last year) and
potential (潜在价值, the future). Its definition of lifetime value subtracts what it costs to
acquire and keep the customer, so the costs are lines of the same table. For each buyer and
each of the three parts, :func:`value_components` returns the six components, the three
cost lines and

    value = first_purchase + repeat_purchase + cross_selling + service_cost_saving + referral
            + loyalty - baseline_service_cost - marketing_cost - acquisition_cost

Definitions, the data each component needs and the formulas are in ``docs/value.md``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from custlens._frames import as_arrow
from custlens.clv._transaction import _TransactionModel, check_rft
from custlens.clv._valuemath import FutureParts, future_value_chunked
from custlens.clv.tables import CLVResult
from custlens.clv.value import check_value_options
from custlens.errors import InputError, did_you_mean
from custlens.schema import DAYS_PER_MONTH

__all__ = [
    "COMPONENTS",
    "COST_LINES",
    "PARTS",
    "COMPONENT_COLUMNS",
    "Component",
    "ComponentsResult",
    "value_components",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Component:
    """One line of the value table: its column, the text's code and names, what it is and needs."""

    column: str
    code: str
    name: str
    name_zh: str
    definition: str
    needs: str


COMPONENTS: tuple[Component, ...] = (
    Component(
        "first_purchase",
        "CLV1",
        "first purchase",
        "初次购买",
        "gross profit of the customer's first purchase order",
        "transactions (margin or cost, else gross_margin)",
    ),
    Component(
        "repeat_purchase",
        "CLV2",
        "repeat purchases",
        "重复购买",
        "gross profit of later lines in categories of the first order, less their loyalty premium",
        "transactions with category (without it every later line is a repeat purchase)",
    ),
    Component(
        "cross_selling",
        "CLV3",
        "cross-selling",
        "交叉销售",
        "gross profit of later lines in categories the first order did not have, less their loyalty premium",
        "transactions with category",
    ),
    Component(
        "service_cost_saving",
        "CLV4",
        "lower cost to serve",
        "服务成本降低",
        "what serving a new customer would have cost for the same months, less what this one cost",
        "interactions and a cost per interaction kind",
    ),
    Component(
        "referral",
        "CLV5",
        "referral revenue",
        "推荐收益",
        "the net value of customers acquired by referral, shared among buyers by months of relationship",
        "customers.acquisition_channel (referral channels)",
    ),
    Component(
        "loyalty",
        "CLV6",
        "value of loyalty",
        "客户忠诚带来的价值",
        "price premium: paid above what new customers pay for the same products, after the first year",
        "transactions with product_id and quantity",
    ),
)
"""The six components of the course text, in its order (CLV1..CLV6)."""

COST_LINES: tuple[Component, ...] = (
    Component(
        "baseline_service_cost",
        "",
        "cost to serve a new customer",
        "新客户服务成本",
        "months of relationship x the new-customer cost to serve per month",
        "interactions and a cost per interaction kind",
    ),
    Component(
        "marketing_cost",
        "",
        "marketing cost",
        "营销费用",
        "months of relationship x marketing spend per customer-month",
        "costs [marketing] per_month",
    ),
    Component(
        "acquisition_cost",
        "",
        "acquisition cost",
        "获取成本",
        "the acquisition channel's cost, in the part where the customer was acquired",
        "customers.acquisition_channel and costs [acquisition]",
    ),
)
"""The cost lines subtracted from the components."""

PARTS: dict[str, str] = {"historical": "历史价值", "current": "当前价值", "potential": "潜在价值"}
"""The three readings of a customer's value: to date, the last ``current_months``, the future."""

COMPONENT_COLUMNS = ("customer_id", "part", *(c.column for c in COMPONENTS), *(c.column for c in COST_LINES), "value")
"""Columns of :attr:`ComponentsResult.customers`."""

_LINES = tuple(c.column for c in COMPONENTS) + tuple(c.column for c in COST_LINES)


@dataclass(frozen=True)
class _Lines:
    """What every buyer's lines are computed from, in the order of ``ids``.

    The rows of :attr:`ComponentsResult.customers` are built from it on demand, a block of
    buyers at a time, so that sums over buyers (:meth:`ComponentsResult.summary`,
    :meth:`ComponentsResult.by_segment`) never hold three rows of thirteen lines for
    every buyer (about 3.5 GB at 10M buyers). Every formula of ``docs/value.md`` is in
    :meth:`rows`; the base-wide amounts (shares, referral totals) are computed once.
    """

    ids: pa.Array
    hist: dict[str, FloatArray]
    cur: dict[str, FloatArray]
    acquisition: FloatArray
    future: FutureParts
    serve: FloatArray
    c_new: float
    marketing: float
    base_cross: float
    base_loyalty: float
    h_referral: float
    h_exposure: float
    c_referral: float
    c_exposure: float
    per_month: float

    def rows(self, rows: slice) -> dict[str, dict[str, FloatArray]]:
        """The lines and ``value`` of the buyers ``rows``, by part."""
        h = _realised(self.hist, 1.0, rows, self.acquisition, self.c_new, self.marketing)
        c = _realised(self.cur, self.cur["acquired"][rows], rows, self.acquisition, self.c_new, self.marketing)
        h["referral"] = _shared(self.h_referral, self.hist["months"][rows], self.h_exposure)
        c["referral"] = _shared(self.c_referral, self.cur["months"][rows], self.c_exposure)
        cross_share, loyalty_share = _shares(
            h["repeat_purchase"], h["cross_selling"], h["loyalty"], self.base_cross, self.base_loyalty
        )
        gross, alive_months = self.future.gross[rows], self.future.alive_months[rows]
        zeros = np.zeros(len(gross))
        p = {
            "first_purchase": zeros,
            "cross_selling": gross * cross_share,
            "loyalty": gross * loyalty_share,
            "baseline_service_cost": self.c_new * alive_months,
            "service_cost_saving": (self.c_new - self.serve[rows]) * alive_months,
            "marketing_cost": self.marketing * alive_months,
            "acquisition_cost": zeros,
            # a referral value changes neither the gross part nor the months alive, only the value
            "referral": self.per_month * alive_months,
        }
        p["repeat_purchase"] = gross - p["cross_selling"] - p["loyalty"]
        out = {}
        for part, lines in (("historical", h), ("current", c), ("potential", p)):
            lines["value"] = _net(lines) + lines["referral"]
            out[part] = lines
        return out

    def blocks(self) -> Iterator[tuple[slice, dict[str, dict[str, FloatArray]]]]:
        """:meth:`rows` for consecutive blocks of :data:`_BLOCK` buyers."""
        n = len(self.ids)
        for lo in range(0, n, _BLOCK):
            s = slice(lo, min(n, lo + _BLOCK))
            yield s, self.rows(s)


_BLOCK = 1 << 20
"""Buyers per block when lines are summed (about 30 arrays of this many floats at a time)."""


def _realised(
    t: dict[str, FloatArray],
    acquired: FloatArray | float,
    rows: slice | NDArray[np.intp],
    acquisition: FloatArray,
    c_new: float,
    k: float,
) -> dict[str, FloatArray]:
    """The historical or current lines of ``rows`` (a slice or positions) from their window's amounts."""
    out = {c: t[c][rows] for c in ("first_purchase", "repeat_purchase", "cross_selling", "loyalty")}
    months = t["months"][rows]
    out["baseline_service_cost"] = c_new * months
    out["service_cost_saving"] = out["baseline_service_cost"] - t["service_cost"][rows]
    out["marketing_cost"] = k * months
    out["acquisition_cost"] = acquisition[rows] * acquired
    return out


def _net(parts: dict[str, FloatArray]) -> FloatArray:
    """The components less the cost lines, without the referral component."""
    return (
        parts["first_purchase"]
        + parts["repeat_purchase"]
        + parts["cross_selling"]
        + parts["loyalty"]
        + parts["service_cost_saving"]
        - parts["baseline_service_cost"]
        - parts["marketing_cost"]
        - parts["acquisition_cost"]
    )


def _shared(total: float, months: FloatArray, exposure: float) -> FloatArray:
    """``total`` shared by months of relationship (CLV5): ``total x months / exposure``."""
    return total * months / exposure if exposure > 0 else np.zeros(len(months))


@dataclass(frozen=True)
class ComponentsResult:
    """The value components of every buyer, with what they were computed from.

    Attributes
    ----------
    details
        Plain JSON: ``as_of``, ``current_since``, ``horizon_months``, ``monthly_discount``,
        ``baseline_months``, ``new_customer_service_rate`` (per month), ``marketing_per_month``,
        ``referral_channels``, ``referred_customers``, ``referral_rate`` (referred customers per
        customer-month), ``referral_customer_value`` (mean lifetime value of a referred
        customer), ``referral_value_per_month`` (their product), ``margin_rate`` (the base's
        gross-margin rate), ``cross_share`` and ``loyalty_share`` (the base's shares of later
        gross profit), ``customers``.
    inputs, purchase_model
        What the potential part was computed from (each buyer's purchase history, spend,
        margin rate and cost to serve, and the fitted purchase model), for
        :func:`custlens.clv.clv_sensitivity`, which recomputes the model's monthly
        expectations chunk by chunk rather than holding them for every buyer.

    The per-buyer rows (:attr:`customers`) are built when first asked for; the sums
    (:meth:`summary`, :meth:`by_segment`) are computed block by block without them.
    """

    details: dict[str, Any]
    inputs: dict[str, FloatArray] = field(repr=False)
    purchase_model: _TransactionModel = field(repr=False)
    _lines: _Lines | None = field(default=None, repr=False)

    @cached_property
    def customers(self) -> pa.Table:
        """:data:`COMPONENT_COLUMNS`, three rows per buyer (``part`` historical, current, potential).

        Amounts in the transactions' currency; every historical row, then every current
        row, then every potential row, buyers in the order of their ids.
        """
        lines = self._require_lines()
        ids = lines.ids
        by_part = lines.rows(slice(None))
        tables = []
        for part in PARTS:
            cols: dict[str, Any] = {"customer_id": ids, "part": pa.repeat(pa.scalar(part, pa.string()), len(ids))}
            cols.update({name: np.asarray(by_part[part][name], dtype=float) for name in (*_LINES, "value")})
            tables.append(pa.table(cols))
            del by_part[part]  # each part's arrays now live only in its table
        return pa.concat_tables(tables)

    def without_rows(self) -> ComponentsResult:
        """This result without what the per-buyer rows are built from (:attr:`details` and :attr:`inputs` kept).

        For :func:`custlens.clv.clv_sensitivity` after the sums are taken: it lets go of
        some twenty arrays of one value per buyer.
        """
        return replace(self, _lines=None)

    def _require_lines(self) -> _Lines:
        if self._lines is None:
            raise InputError("these value components were stored without their per-buyer rows (without_rows())")
        return self._lines

    def part(self, part: str) -> pa.Table:
        """The rows of one part (``historical``, ``current`` or ``potential``) without the ``part`` column."""
        if part not in PARTS:
            raise InputError(f"'part' must be one of {', '.join(PARTS)}; got {part!r}{did_you_mean(part, PARTS)}")
        rows = self.customers.filter(pc.equal(self.customers["part"], part))
        return rows.drop_columns(["part"])

    def side_by_side(self) -> pa.Table:
        """``customer_id, historical_value, current_value, potential_value``: the three values of each buyer."""
        out = {"customer_id": self.part("historical")["customer_id"]}
        for part in PARTS:
            out[f"{part}_value"] = self.part(part)["value"]
        return pa.table(out)

    def summary(self) -> pa.Table:
        """One row per part: ``part, part_zh, customers``, the sum of every line and of ``value``."""
        lines = self._require_lines()
        sums = {part: {name: 0.0 for name in (*_LINES, "value")} for part in PARTS}
        for _, block in lines.blocks():
            for part, values in block.items():
                for name in sums[part]:
                    sums[part][name] += float(values[name].sum())
        n = len(lines.ids)
        return pa.table(
            {
                "part": list(PARTS),
                "part_zh": list(PARTS.values()),
                "customers": pa.array([n] * len(PARTS), pa.int64()),
                **{name: pa.array([sums[p][name] for p in PARTS], pa.float64()) for name in (*_LINES, "value")},
            }
        )

    def by_segment(self, segments: Any, *, segment_col: str = "segment") -> pa.Table:
        """One row per segment and part: ``segment, part, part_zh, customers``, sums of every line, ``value``, ``value_mean``.

        ``segments`` is a table with ``customer_id`` and ``segment_col`` (e.g. the customers of a
        :class:`~custlens.segment.SegmentResult`, or a stored analysis's ``segments(method)``);
        buyers it does not list are in ``(no segment)``. Segments are in the order of their
        names, parts in the order historical, current, potential.
        """
        lines = self._require_lines()
        seg = as_arrow(segments, "segments")
        for col in ("customer_id", segment_col):
            if col not in seg.column_names:
                raise InputError(
                    f"segments: no column {col!r}{did_you_mean(col, seg.column_names)}; "
                    f"columns: {', '.join(seg.column_names)}"
                )
        idx = pc.index_in(lines.ids, value_set=pc.cast(seg["customer_id"], pa.string()))
        names = pc.cast(seg[segment_col], pa.string()).take(pc.fill_null(idx, 0))
        names = pc.fill_null(pc.if_else(pc.is_null(idx), pa.scalar("(no segment)"), names), "(no segment)")
        del seg, idx
        codes = pc.dictionary_encode(names).combine_chunks()
        labels = codes.dictionary.to_pylist()
        group = np.asarray(codes.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
        del names, codes
        k = len(labels)
        counts = np.bincount(group, minlength=k)
        sums = {part: {name: np.zeros(k) for name in (*_LINES, "value")} for part in PARTS}
        for rows, block in lines.blocks():
            g = group[rows]
            for part, values in block.items():
                for name, total in sums[part].items():
                    total += np.bincount(g, weights=values[name], minlength=k)
        out: dict[str, list[Any]] = {c: [] for c in ("segment", "part", "part_zh", "customers", *_LINES, "value")}
        out["value_mean"] = []
        for j in sorted(range(k), key=lambda i: labels[i].encode()):
            for part, zh in PARTS.items():
                out["segment"].append(labels[j])
                out["part"].append(part)
                out["part_zh"].append(zh)
                out["customers"].append(int(counts[j]))
                for name in (*_LINES, "value"):
                    out[name].append(float(sums[part][name][j]))
                out["value_mean"].append(float(sums[part]["value"][j]) / int(counts[j]))
        types = {"segment": pa.string(), "part": pa.string(), "part_zh": pa.string(), "customers": pa.int64()}
        return pa.table({c: pa.array(v, types.get(c, pa.float64())) for c, v in out.items()})

    def components_table(self) -> pa.Table:
        """The components and cost lines: ``column, code, name, name_zh, definition, needs``."""
        rows = [c.__dict__ for c in (*COMPONENTS, *COST_LINES)]
        return pa.Table.from_pylist(rows)


def _settings(
    model: Any, horizon_months: float | None, monthly_discount: float | None, time_unit: str | None
) -> tuple[_TransactionModel, float, float, str, pa.Table | None]:
    if isinstance(model, CLVResult):
        s = model.settings
        if s.get("covariates"):
            raise InputError("value_components: models with covariates are not supported; fit without 'covariates'")
        return (
            model.purchase_model,
            float(horizon_months if horizon_months is not None else s["horizon_months"]),
            float(monthly_discount if monthly_discount is not None else s["monthly_discount"]),
            str(time_unit or s["time_unit"]),
            model.table.select(["customer_id", "expected_spend"]),
        )
    if not isinstance(model, _TransactionModel):
        raise InputError(
            "'model' must be a CLVResult (custlens.clv.value_customers) or a fitted BetaGeo, ModifiedBetaGeo or "
            f"ParetoNBD; got {type(model).__name__}"
        )
    if getattr(model, "covariate_params", None):
        raise InputError("value_components: models with covariates are not supported; fit without 'covariates'")
    return (
        model,
        12.0 if horizon_months is None else float(horizon_months),
        0.01 if monthly_discount is None else float(monthly_discount),
        time_unit or "W",
        None,
    )


def _aligned(ids: pa.Array, table: pa.Table, columns: Sequence[str], what: str) -> list[FloatArray]:
    """``table[column]`` for each of ``columns`` in the order of ``ids`` (every id must be present).

    When ``table`` lists exactly ``ids`` in their order (the analysis reads both sorted by
    id), the columns are taken as they are, without a hash look-up of every id.
    """
    for col in ("customer_id", *columns):
        if col not in table.column_names:
            raise InputError(
                f"{what}: no column {col!r}{did_you_mean(col, table.column_names)}; columns: {', '.join(table.column_names)}"
            )
    keys = pc.cast(table["customer_id"], pa.string())
    idx: pa.Array | None = None
    if not keys.equals(pa.chunked_array([ids])):
        idx = pc.index_in(ids, value_set=keys)
        missing = pc.is_null(idx)
        if pc.any(missing).as_py():
            first = ids.filter(missing)[0].as_py()
            n = pc.sum(missing).as_py()
            raise InputError(
                f"{what} has no row for {n} buyer(s) of the transactions (first: customer {first!r}); "
                "compute it for the same transactions and 'as_of'"
            )
    del keys
    out = []
    for column in columns:
        values = pc.cast(table[column], pa.float64())
        if idx is not None:
            values = values.take(idx)
        arr = np.asarray(values.to_numpy(zero_copy_only=False), dtype=float)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise InputError(
                f"{what}: column {column!r} has {bad.size} missing value(s) (first: customer {ids[int(bad[0])].as_py()!r})"
            )
        out.append(arr)
    return out


def _col(t: pa.Table | pa.RecordBatch, name: str) -> FloatArray:
    """Column ``name`` as float64 with nulls as 0 (one copy)."""
    values = pc.fill_null(pc.cast(t.column(name), pa.float64()), 0.0)
    return np.ascontiguousarray(values.to_numpy(zero_copy_only=False), dtype=float)


def _channels(
    channel: pa.Array | pa.ChunkedArray, rates: Any, referral_channels: Sequence[str]
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Each buyer's acquisition cost and whether the channel is a referral channel.

    Computed once per distinct channel (a dictionary encoding), not once per buyer.
    """
    codes = pc.dictionary_encode(pc.cast(channel, pa.string()))
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    names = codes.dictionary.to_pylist()
    idx = pc.fill_null(codes.indices, len(names)).to_numpy(zero_copy_only=False)
    # position len(names) stands for a missing channel
    cost = np.array([rates.acquisition_cost(n) for n in names] + [rates.acquisition_cost(None)], dtype=float)
    referral = set(referral_channels)
    is_referral = np.array([n in referral for n in names] + [None in referral], dtype=bool)
    return cost[idx], is_referral[idx]


def _base_shares(repeat: FloatArray, cross: FloatArray, loyalty: FloatArray) -> tuple[float, float]:
    """The base's cross-selling and loyalty shares of later gross profit (see :func:`_shares`)."""
    sums = [max(float(a.sum()), 0.0) for a in (repeat, cross, loyalty)]
    base_total = sum(sums)
    if base_total <= 0:
        return 0.0, 0.0
    return sums[1] / base_total, sums[2] / base_total


def _shares(
    repeat: FloatArray, cross: FloatArray, loyalty: FloatArray, base_cross: float, base_loyalty: float
) -> tuple[FloatArray, FloatArray]:
    """Each buyer's cross-selling and loyalty shares of later gross profit.

    A share is a part's positive amount over the sum of the three parts' positive amounts,
    so the shares lie in [0, 1] and add up to at most 1 (repeat purchases take the rest).
    A buyer with no positive later gross profit takes the base's shares, computed the same
    way from the base's totals (:func:`_base_shares`). (Dividing by the signed sum instead
    is ill-conditioned: a premium of -x beside a cross-selling profit of +x leaves a sum
    near zero, and shares of 1e18 that cancel only in the total.)
    """
    pos = [np.maximum(a, 0.0) for a in (repeat, cross, loyalty)]
    total = pos[0] + pos[1] + pos[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        cross_share = np.where(total > 0, pos[1] / total, base_cross)
        loyalty_share = np.where(total > 0, pos[2] / total, base_loyalty)
    return cross_share, loyalty_share


def _check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        rule = ">= 0" if allow_zero else "> 0"
        raise InputError(f"The {name!r} parameter of value_components must be a float {rule}. Got {value!r} instead.")
    return float(value)


def value_components(
    transactions: Any,
    history: Any,
    model: CLVResult | _TransactionModel,
    *,
    as_of: Any = None,
    interactions: Any = None,
    customers: Any = None,
    costs: str | Path | Mapping[str, Any] | None = None,
    horizon_months: float | None = None,
    monthly_discount: float | None = None,
    time_unit: str | None = None,
    current_months: float = 12.0,
    baseline_months: float = 12.0,
    referral_channels: Sequence[str] = ("referral",),
    spend_col: str = "expected_spend",
) -> ComponentsResult:
    """Every buyer's lifetime-value components, historical, current and potential, net of costs.

    Parameters
    ----------
    transactions
        The transaction log (canonical columns; Arrow, pandas, polars or Ibis).
        ``category`` separates repeat purchases from cross-selling, ``product_id`` and
        ``quantity`` give the loyalty premium, ``margin``/``cost`` the gross profit.
    history
        The buyers' purchase history in the model's time unit: ``customer_id, frequency,
        recency, T`` (:func:`custlens.features.purchase_history` with the same ``as_of``),
        and, when ``model`` is a fitted purchase model, the expected spend per purchase in
        ``spend_col``.
    model
        A :class:`~custlens.clv.CLVResult` (its purchase model, settings and expected
        spend), or a fitted or restored purchase model.
    as_of
        The as-of day (default: the last transaction day).
    interactions, customers
        The canonical tables: interactions cost their kind's cost to serve; customers give
        the acquisition channel (acquisition cost, referrals).
    costs
        A costs TOML file or mapping (:func:`custlens.features.load_costs`).
    horizon_months, monthly_discount, time_unit
        The horizon, monthly discount rate and time unit of ``history``; from the
        ``CLVResult`` settings when not given (else 12, 0.01 and ``W``).
    current_months
        The current part covers the last ``current_months`` months before ``as_of``.
    baseline_months
        The first months of a relationship that make a customer "new" (CLV4's baseline
        cost to serve, CLV6's reference prices).
    referral_channels
        Acquisition channels that mean "acquired by referral".

    Returns
    -------
    ComponentsResult
        Three rows per buyer; ``value`` = the components minus the cost lines (formulas
        in ``docs/value.md``). Summed over buyers the referral component counts the
        referred customers' value a second time (once as their own value, once as the
        referrers'), as a referral value does.
    """
    from custlens._frames import as_ibis
    from custlens.features import as_of_date
    from custlens.features.costs import load_costs
    from custlens.features.lifetime import (
        PART_COLUMNS,
        new_customer_service_rate,
        value_parts_windows,
        window_columns,
    )

    purchase_model, horizon, discount, unit, spend_table = _settings(model, horizon_months, monthly_discount, time_unit)
    upm = check_value_options(horizon, discount, unit, "discrete")
    current_months = _check_positive("current_months", current_months)
    baseline_months = _check_positive("baseline_months", baseline_months, allow_zero=True)
    rates = load_costs(costs)
    tx = as_ibis(transactions, "transactions")
    day = as_of_date(tx, as_of)
    since = day - dt.timedelta(days=int(round(current_months * DAYS_PER_MONTH)))
    inter = None if interactions is None else as_ibis(interactions, "interactions")
    cust = None if customers is None else as_ibis(customers, "customers")
    options = dict(interactions=inter, customers=cust, costs=rates, baseline_months=baseline_months)
    # the historical and the current window in one pass over the lines
    wide = value_parts_windows(tx, windows={"h": None, "c": since}, as_of=day, **options)  # type: ignore[arg-type]
    rate_row = new_customer_service_rate(tx, inter, as_of=day, costs=rates, baseline_months=baseline_months)
    c_new = rate_row.to_pyarrow().to_pylist()[0]["rate"] or 0.0
    h_col, c_col = (dict(zip(PART_COLUMNS, window_columns(w), strict=True)) for w in ("h", "c"))
    lines = ("first_purchase", "repeat_purchase", "cross_selling", "loyalty", "service_cost", "months")
    wanted = {("h", c): h_col[c] for c in (*lines, "revenue", "gross_profit")}
    wanted |= {("c", c): c_col[c] for c in (*lines, "acquired")}
    ids, columns, acq_cost, referred = _fetch_windows(
        wide.order_by("customer_id"), wanted, h_col["acquisition_channel"], rates, referral_channels
    )
    if len(ids) == 0:
        raise InputError(f"value_components: no buyer has a purchase on or before {day.isoformat()}")
    hist = {c: columns.pop(("h", c)) for c in (*lines, "revenue", "gross_profit")}
    cur = {c: columns.pop(("c", c)) for c in (*lines, "acquired")}

    hist_tab = as_arrow(history, "history")
    x, t_x, T = _aligned(ids, hist_tab, ("frequency", "recency", "T"), "history")
    x, t_x, T = check_rft(x, t_x, T)
    (spend,) = _aligned(ids, spend_table if spend_table is not None else hist_tab, (spend_col,), "expected spend")
    del hist_tab, spend_table

    k = rates.marketing_per_month
    # potential: the model's months ahead, the customer's own margin and cost to serve
    revenue, gross = hist.pop("revenue"), hist.pop("gross_profit")
    base_margin = float(gross.sum() / revenue.sum()) if revenue.sum() > 0 else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        margin_rate = np.where(revenue > 0, gross / revenue, base_margin)
        serve = np.where(hist["months"] >= 1.0, hist["service_cost"] / hist["months"], c_new)
    del revenue, gross
    base_cross, base_loyalty = _base_shares(hist["repeat_purchase"], hist["cross_selling"], hist["loyalty"])
    future = future_value_chunked(
        purchase_model, x, t_x, T, horizon, upm, spend, margin_rate, serve, discount=discount, marketing=k
    )

    # referral: the referred customers' value, shared by months of relationship
    exposure = float(hist["months"].sum())
    c_exposure = float(cur["months"].sum())
    n_referred = int(referred.sum())
    rate = n_referred / exposure if exposure > 0 else 0.0
    who = np.flatnonzero(referred)
    h_referred = _net(_realised(hist, 1.0, who, acq_cost, c_new, k))
    c_referred = _net(_realised(cur, cur["acquired"][who], who, acq_cost, c_new, k))
    referred_value = float((h_referred + future.value[who]).mean()) if n_referred else 0.0
    per_month = rate * referred_value
    lines_of = _Lines(
        ids=ids,
        hist=hist,
        cur=cur,
        acquisition=acq_cost,
        future=future,
        serve=serve,
        c_new=float(c_new),
        marketing=k,
        base_cross=base_cross,
        base_loyalty=base_loyalty,
        h_referral=float(h_referred.sum()),
        h_exposure=exposure,
        c_referral=float(c_referred.sum()),
        c_exposure=c_exposure,
        per_month=per_month,
    )
    details = {
        "as_of": day.isoformat(),
        "current_since": since.isoformat(),
        "horizon_months": horizon,
        "monthly_discount": discount,
        "time_unit": unit,
        "baseline_months": baseline_months,
        "current_months": current_months,
        "new_customer_service_rate": float(c_new),
        "marketing_per_month": k,
        "referral_channels": list(referral_channels),
        "referred_customers": n_referred,
        "referral_rate": rate,
        "referral_customer_value": referred_value,
        "referral_value_per_month": per_month,
        "margin_rate": base_margin,
        "cross_share": base_cross,
        "loyalty_share": base_loyalty,
        "customers": len(ids),
    }
    inputs = {
        "frequency": x,
        "recency": t_x,
        "T": T,
        "spend": spend,
        "margin_rate": margin_rate,
        "serve_cost": serve,
        "units_per_month": np.array([upm]),
    }
    return ComponentsResult(details, inputs, purchase_model, lines_of)


def _fetch_windows(
    expr: Any, wanted: dict[tuple[str, str], str], channel: str, rates: Any, referral_channels: Sequence[str]
) -> tuple[pa.Array, dict[tuple[str, str], FloatArray], FloatArray, NDArray[np.bool_]]:
    """The buyers' ids, ``wanted`` columns as float arrays (nulls as 0), acquisition costs and referral flags.

    Read from the engine in batches and converted batch by batch into arrays allocated
    once for every buyer, so neither the wide Arrow table of both windows nor the
    batches' pieces are ever held next to the arrays (at 10M buyers about 2 GB each). The result is first materialised in the engine, in its order, so
    that the aggregation and sort have let go of their memory before the rows arrive
    here (at 100M lines DuckDB's share alone is its whole memory limit); it is then read
    by a plain scan, in that order.
    """
    from custlens._memory import release_free_memory
    from custlens.warehouse.compat import materialise, record_batches

    stored = materialise(expr)
    release_free_memory()
    n = int(stored.count().execute())
    # filled in place, batch by batch: no pieces held next to their concatenation
    columns = {key: np.empty(n) for key in wanted}
    costs = np.empty(n)
    flags = np.empty(n, dtype=bool)
    ids: list[pa.Array] = []
    lo = 0
    for batch in record_batches(stored, _BLOCK):
        hi = lo + batch.num_rows
        if hi > n:
            raise RuntimeError(f"value_components: the stored windows gave more than their {n} rows")
        # copied: a column imported from the engine keeps its whole batch alive (about 1 GB at 100M lines)
        ids.append(pa.concat_arrays([pc.cast(batch.column("customer_id"), pa.string())]))
        for key, name in wanted.items():
            columns[key][lo:hi] = _col(batch, name)
        costs[lo:hi], flags[lo:hi] = _channels(batch.column(channel), rates, referral_channels)
        lo = hi
    del stored
    if lo != n:
        raise RuntimeError(f"value_components: the stored windows gave {lo} of their {n} rows")
    release_free_memory()  # the engine's query buffers, freed, are not kept resident (custlens._memory)
    return pa.chunked_array(ids, pa.string()).combine_chunks(), columns, costs, flags
