"""The churn results table and the at-risk list (Arrow in, Arrow out, no row loops)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from custlens._frames import as_arrow
from custlens.churn._bands import (
    BAND_LABELS,
    DEFAULT_OVERDUE_THRESHOLDS,
    DEFAULT_P_ALIVE_THRESHOLDS,
    band_from_overdue,
    band_from_p_alive,
)
from custlens.errors import InputError
from custlens.schema import DAYS_PER_UNIT, check_time_unit

__all__ = ["churn_table", "at_risk_list", "churn_report"]

logger = logging.getLogger(__name__)

BandBasis = Literal["auto", "p_alive", "overdue"]


def _num(table: pa.Table, name: str) -> NDArray[np.float64]:
    col = table.column(name)
    try:
        arr = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InputError(f"column '{name}' must be numeric; got {col.type}") from None
    missing = np.flatnonzero(np.isnan(arr))
    if missing.size:
        first = int(missing[0])
        where = (
            f"customer {table.column('customer_id')[first].as_py()!r}"
            if "customer_id" in table.column_names
            else f"row {first}"
        )
        plural = "s" if missing.size > 1 else ""
        raise InputError(f"column '{name}' has {missing.size} missing value{plural} (first: {where})")
    return arr


def _as_of_date(as_of: Any) -> np.datetime64:
    if isinstance(as_of, np.datetime64):
        return as_of.astype("datetime64[D]")
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    if isinstance(as_of, date):
        return np.datetime64(as_of, "D")
    try:
        return np.datetime64(str(as_of), "D")
    except ValueError:
        raise InputError(f"'as_of' must be a date like 2024-06-30; got {as_of!r}") from None


def _attach_model(
    table: pa.Table, model: str, time_unit: str, horizon_months: float, monthly_discount: float, margin: float
) -> pa.Table:
    """Add p_alive, expected_purchases, expected_spend and clv from :func:`custlens.clv.value_customers`."""
    from custlens.clv import value_customers

    logger.info("no p_alive column: fitting %s to %d customers", model, table.num_rows)
    scored = value_customers(
        table,
        model=model,
        spend="gg",
        horizon_months=horizon_months,
        monthly_discount=monthly_discount,
        time_unit=time_unit,
        margin=margin,
    ).table
    keep = [c for c in ("p_alive", "expected_purchases", "expected_spend", "clv") if c not in table.column_names]
    ids, sids = table.column("customer_id"), scored.column("customer_id")
    if ids.equals(sids):
        for name in keep:
            table = table.append_column(name, scored.column(name))
        return table
    return table.join(scored.select(["customer_id", *keep]), "customer_id", join_type="left outer")


def churn_table(
    summary: Any,
    *,
    time_unit: str = "W",
    as_of: Any = None,
    value_column: str | None = None,
    band_on: BandBasis = "auto",
    p_alive_thresholds: Sequence[float] = DEFAULT_P_ALIVE_THRESHOLDS,
    overdue_thresholds: Sequence[float] = DEFAULT_OVERDUE_THRESHOLDS,
    model: str | None = None,
    horizon_months: float = 12.0,
    monthly_discount: float = 0.01,
    margin: float = 1.0,
    columns: dict[str, str] | None = None,
) -> pa.Table:
    """Per-customer churn outputs: next-order timing, risk band, value at stake.

    Parameters
    ----------
    summary
        Per-customer table with ``customer_id`` and the summary columns ``frequency``
        (repeat purchases), ``recency`` (first to last purchase) and ``T`` (first purchase
        to the analysis date), in ``time_unit``; optionally ``p_alive``, ``clv``,
        ``monetary_value``, ``expected_purchases``.
    time_unit
        ``D``, ``W`` or ``M``: unit of ``recency`` and ``T`` (default ``W``, the default of
        every per-customer summary in custlens).
    as_of
        Analysis date; when given, ``expected_next_order`` is a date, else only
        ``next_order_in`` (time units from ``as_of``; negative = overdue) is given.
    value_column
        Value to put at stake; default ``clv`` if present, else the historical repeat
        value ``frequency x monetary_value``.
    band_on
        ``p_alive``, ``overdue`` or ``auto`` (P(alive) when available, else overdue).
    p_alive_thresholds, overdue_thresholds
        Band cut-offs (see :mod:`custlens.churn._bands` for the defaults).
    model
        When the table has no ``p_alive``: fit this model (``bgnbd``, ``mbgnbd``, ``pnbd``)
        and the Gamma-Gamma spend model with :func:`custlens.clv.value_customers` to get
        P(alive) and CLV (the table then needs ``monetary_value``).
    horizon_months, monthly_discount, margin
        Passed to ``value_customers`` when a model is fitted.
    columns
        Names in the table of the expected columns, e.g. ``{"customer_id": "ID",
        "frequency": "x", "recency": "t_x", "monetary_value": "zbar"}``.

    Returns
    -------
    pyarrow.Table
        ``customer_id, p_alive, mean_gap, gap_source, days_since_last, overdue_ratio,
        next_order_in, [expected_next_order], risk_band, band_basis, value,
        value_at_stake`` (``value_at_stake = value x (1 - p_alive)``).

    Notes
    -----
    The rhythm is the mean-gap model of :func:`custlens.clv.formula.mean_gap_next_purchase`
    on the summary: mean gap ``recency / frequency`` (the repeat purchases span
    ``recency``), time since the last purchase ``T - recency``, overdue ratio
    ``(T - recency) / mean gap``. Customers without a repeat purchase get the median gap
    of the repeat customers (``gap_source = "population"``).
    """
    table = _rename(as_arrow(summary, "summary"), columns or {})
    unit = check_time_unit(time_unit)
    if band_on not in ("auto", "p_alive", "overdue"):
        raise InputError(f"'band_on' must be auto, p_alive or overdue; got {band_on!r}")
    names = table.column_names
    missing = [c for c in ("customer_id", "frequency", "recency", "T") if c not in names]
    if missing:
        raise InputError(
            f"the summary lacks column(s) {', '.join(missing)}; expected customer_id, frequency, "
            f"recency, T (got {', '.join(names)})"
        )
    if "p_alive" not in names and model is not None:
        table = _attach_model(table, model, unit, horizon_months, monthly_discount, margin)
        names = table.column_names
    x, rec, T = _num(table, "frequency"), _num(table, "recency"), _num(table, "T")
    bad = (x < 0) | (rec < 0) | (rec > T) | ((x == 0) & (rec > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            "summary rows must have frequency >= 0 and 0 <= recency <= T (recency 0 when frequency is 0); "
            f"{int(bad.sum())} rows break this (first: customer {table.column('customer_id')[i].as_py()!r})"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        own_gap = np.where(x > 0, rec / np.where(x > 0, x, 1.0), np.nan)
    repeat = own_gap[x > 0]
    fallback = float(np.median(repeat)) if repeat.size else np.nan
    gap = np.where(x > 0, own_gap, fallback)
    since = T - rec
    with np.errstate(invalid="ignore", divide="ignore"):
        overdue = np.where(gap > 0, since / gap, np.nan)
    next_in = gap - since
    p_alive: NDArray[np.float64] | None = _num(table, "p_alive") if "p_alive" in names else None
    basis = band_on if band_on != "auto" else ("p_alive" if p_alive is not None else "overdue")
    if basis == "p_alive":
        if p_alive is None:
            raise InputError("band_on='p_alive' needs a 'p_alive' column (or a model to compute it)")
        band = band_from_p_alive(p_alive, p_alive_thresholds)
    else:
        band = band_from_overdue(overdue, overdue_thresholds)
    value = _value(table, value_column)
    stake = value * (1.0 - p_alive) if p_alive is not None else np.full(value.shape, np.nan)
    cols: dict[str, Any] = {
        "customer_id": table.column("customer_id"),
        "p_alive": pa.array(p_alive if p_alive is not None else np.full(x.shape, np.nan)),
        "mean_gap": gap,
        "gap_source": np.where(x > 0, "own", "population"),
        "days_since_last": since * DAYS_PER_UNIT[unit],
        "overdue_ratio": overdue,
        "next_order_in": next_in,
    }
    if as_of is not None:
        days = np.round(next_in * DAYS_PER_UNIT[unit])
        ok = np.isfinite(days)
        dates = _as_of_date(as_of) + np.where(ok, days, 0).astype("timedelta64[D]")
        cols["expected_next_order"] = pa.array(dates, mask=~ok)
    cols |= {"risk_band": band, "band_basis": np.full(x.shape, basis), "value": value, "value_at_stake": stake}
    return pa.table(cols)


def _rename(table: pa.Table, columns: dict[str, str]) -> pa.Table:
    """Rename the user's columns to the expected names (``{expected: actual}``)."""
    if not columns:
        return table
    absent = [src for src in columns.values() if src not in table.column_names]
    if absent:
        raise InputError(f"column(s) {', '.join(absent)} not in the table (columns: {', '.join(table.column_names)})")
    back = {src: dst for dst, src in columns.items()}
    return table.rename_columns([back.get(n, n) for n in table.column_names])


def _value(table: pa.Table, value_column: str | None) -> NDArray[np.float64]:
    names = table.column_names
    if value_column is not None:
        if value_column not in names:
            raise InputError(f"value column '{value_column}' is not in the table (columns: {', '.join(names)})")
        return _num(table, value_column)
    if "clv" in names:
        return _num(table, "clv")
    if "monetary_value" in names:
        return _num(table, "frequency") * _num(table, "monetary_value")
    raise InputError("no value column: give value_column, or a 'clv' or 'monetary_value' column")


def at_risk_list(
    churn: pa.Table, bands: Sequence[str] = ("medium", "high", "lost"), top: int | None = None
) -> pa.Table:
    """Customers in the given risk bands, ranked by value at stake (largest first).

    Ties are broken by the customer's value. A ``rank`` column (1 = most at stake) is
    added; ``top`` keeps the first ``top`` rows.
    """
    unknown = [b for b in bands if b not in (*BAND_LABELS, "unknown")]
    if unknown:
        raise InputError(f"unknown risk band(s) {unknown}; expected some of {', '.join(BAND_LABELS)}, unknown")
    if top is not None and top < 1:
        raise InputError(f"'top' must be >= 1; got {top}")
    mask = pc.is_in(churn.column("risk_band"), value_set=pa.array(list(bands), pa.string()))
    kept = churn.filter(mask)
    by_stake = "value_at_stake" if pc.all(pc.is_nan(kept.column("value_at_stake"))).as_py() is False else "value"
    kept = kept.sort_by([(by_stake, "descending"), ("value", "descending")])
    if top is not None:
        kept = kept.slice(0, top)
    return kept.append_column("rank", pa.array(np.arange(1, kept.num_rows + 1), pa.int64()))


def churn_report(
    summary: Any,
    *,
    bands: Sequence[str] = ("medium", "high", "lost"),
    top: int | None = None,
    **options: Any,
) -> pa.Table:
    """The at-risk list of a per-customer summary: :func:`churn_table` then :func:`at_risk_list`.

    ``options`` are the keyword arguments of :func:`churn_table`.
    """
    return at_risk_list(churn_table(summary, **options), bands=bands, top=top)
