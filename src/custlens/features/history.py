"""Purchase histories in the lifetime-value sense: frequency, recency, T, monetary value.

The definitions follow ``summary_data_from_transaction_data`` and
``calibration_and_holdout_data`` of the *lifetimes* package (0.11.3), which implement the
sufficient statistics of Fader, Hardie & Lee (2005), "Counting your customers the easy
way", Marketing Science 24(2): each purchase is placed in its period (day, week, month);
the first period is the customer's "birth" and only later periods count as repeat
purchases. Differences from lifetimes are listed in ``docs/features.md``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens.errors import InputError
from custlens.features._base import (
    day_of,
    literal_date,
    optional_column,
    period_index,
    renamed,
    require_columns,
    resolve_as_of,
)
from custlens.features.coerce import to_date, typed
from custlens.schema import check_time_unit
from custlens.warehouse.compat import backend_name, check_utc

__all__ = ["purchase_history", "calibration_holdout"]

SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")


def _check_multiplier(freq_multiplier: float) -> float:
    try:
        value = float(freq_multiplier)
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0:
        raise InputError(f"'freq_multiplier' must be a number > 0; got {freq_multiplier!r}")
    return value


def _purchase_periods(
    transactions: ir.Table,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str | None,
    return_col: str | None,
    time_unit: str,
    after: dt.date | None,
    until: dt.date,
) -> ir.Table:
    """One row per customer and purchase period: ``customer_id, period, total``.

    Purchases are rows with a customer and a date in ``(after, until]``, that are not
    returns (``return_col`` true or a negative amount).
    """
    t = transactions
    day = day_of(t[date_col])
    keep = [t[customer_col].notnull(), day.notnull(), day <= literal_date(until)]
    if after is not None:
        keep.append(day > literal_date(after))
    if return_col is not None:
        keep.append(~t[return_col].cast("boolean").fill_null(False))
    if amount_col is not None:
        keep.append(t[amount_col].isnull() | (t[amount_col] >= 0))
    amount = t[amount_col].cast("float64") if amount_col is not None else ibis.null().cast("float64")
    rows = t.filter(keep).select(customer_id=t[customer_col], period=period_index(day, time_unit), amount=amount)
    return rows.group_by(["customer_id", "period"]).aggregate(total=rows.amount.sum())


def _columns(
    transactions: ir.Table, customer_col: str, date_col: str, amount_col: str | None, return_col: str | None
) -> tuple[ir.Table, str | None]:
    """Check the columns; return the table with typed date and amount columns and the return column."""
    check_utc(transactions)
    required = {"customer_col": customer_col, "date_col": date_col}
    if amount_col is not None:
        required["amount_col"] = amount_col
    require_columns(transactions, required)
    ret = optional_column(transactions, return_col, "return_col", "return_flag")
    return typed(transactions, dates=[date_col], numbers=[amount_col]), ret


@ibis.udf.agg.builtin(name="arg_min")
def _arg_min(value: float, key: int) -> float:  # type: ignore[empty-body]
    """DuckDB's ``arg_min``: ``value`` at the row with the smallest ``key`` (rows with a NULL skipped)."""


def _first_by(value: ir.FloatingColumn, key: ir.IntegerColumn, table: ir.Table) -> ir.FloatingScalar:
    """``value`` at the smallest ``key`` of each group, for ``value`` never missing and ``key`` unique per group.

    Ibis compiles ``argmin`` for DuckDB as ``first(value ORDER BY key)``, an ordered aggregate
    that keeps and sorts every group's rows; DuckDB's ``arg_min`` gives the same value here
    (nothing is NULL, no two keys tie) in one pass: the summary of 10M transactions takes
    about a quarter less CPU (``docs/performance.md``). Other engines keep ``argmin``.
    """
    if backend_name(table) == "duckdb":
        return _arg_min(value, key)
    return value.argmin(key)


def _summarise(periods: ir.Table, end: dt.date, time_unit: str, multiplier: float) -> ir.Table:
    """Per-customer sufficient statistics from one row per customer and purchase period.

    One aggregation, no window: the first period's total is taken with :func:`_first_by` (a
    missing total is marked NaN, so that it is not skipped) and the repeat periods'
    mean is the remaining sum over the remaining count.
    """
    end_period = period_index(literal_date(end), time_unit)
    p = periods
    agg = p.group_by("customer_id").aggregate(
        n=p.period.count(),
        first=p.period.min(),
        last=p.period.max(),
        total=p.total.sum(),
        counted=p.total.count(),
        first_total=_first_by(p.total.fill_null(float("nan")), p.period, p),
    )
    first_missing = agg.first_total.isnan()
    repeat_sum = agg.total - ibis.ifelse(first_missing, 0.0, agg.first_total)
    repeat_count = agg.counted - ibis.ifelse(first_missing, 0, 1)
    return agg.select(
        "customer_id",
        frequency=(agg.n - 1).cast("int64"),
        recency=((agg["last"] - agg["first"]).cast("float64") / multiplier),
        T=((end_period - agg["first"]).cast("float64") / multiplier),
        monetary_value=ibis.cases(
            (agg.counted == 0, ibis.null().cast("float64")),
            (repeat_count > 0, repeat_sum / repeat_count),
            else_=0.0,
        ).cast("float64"),
    )


def purchase_history(
    transactions: ir.Table,
    *,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str | None = "amount",
    return_col: str | None = "return_flag",
    as_of: Any = None,
    time_unit: str | None = None,
    freq_multiplier: float = 1,
    end: Any = None,
    freq: str | None = None,
) -> ir.Table:
    """Per-customer ``frequency, recency, T, monetary_value`` up to an as-of day (observation end).

    Parameters
    ----------
    transactions
        Transaction lines (canonical ``transactions`` columns by default).
    customer_col, date_col, amount_col
        Column names; ``date_col`` holds dates or timestamps (UTC days are used).
        ``amount_col=None`` gives a null ``monetary_value``.
    return_col
        Boolean return flag; rows flagged true, and rows with a negative amount, are
        returns and not purchases. Ignored when the default ``return_flag`` is absent.
    as_of
        Observation end (inclusive day); rows after it are dropped. Default: the last
        transaction day.
    time_unit
        Period: ``"W"`` ISO weeks (Monday-Sunday, the default: the unit the lifetime-value
        models default to), ``"D"`` days, ``"M"`` calendar months.
    freq_multiplier
        Divide recency and T by this (``time_unit="D", freq_multiplier=7`` gives exact
        weeks, as in the published CDNOW summary).
    end, freq
        Deprecated old names of ``as_of`` and ``time_unit`` (a ``DeprecationWarning``).

    Returns
    -------
    ibis.Table
        ``customer_id`` (type as given), ``frequency`` (int64: purchase periods after the
        first), ``recency`` (float64: first to last purchase period), ``T`` (float64:
        first purchase period to the period of ``as_of``), ``monetary_value`` (float64:
        mean of the per-period totals over the repeat periods, 0 without repeats).
    """
    unit = check_time_unit(renamed(time_unit, freq, name="time_unit", alias="freq", default="W"))
    as_of = renamed(as_of, end, name="as_of", alias="end", default=None)
    multiplier = _check_multiplier(freq_multiplier)
    t, ret = _columns(transactions, customer_col, date_col, amount_col, return_col)
    end_day = resolve_as_of(day_of(t[date_col]), as_of, "as_of")
    periods = _purchase_periods(
        t,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        return_col=ret,
        time_unit=unit,
        after=None,
        until=end_day,
    )
    return _summarise(periods, end_day, unit, multiplier)


def calibration_holdout(
    transactions: ir.Table,
    *,
    calibration_end: Any,
    observation_end: Any = None,
    time_unit: str | None = None,
    freq_multiplier: float = 1,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str | None = "amount",
    return_col: str | None = "return_flag",
    freq: str | None = None,
) -> ir.Table:
    """Calibration summary and holdout counts for customers first seen by ``calibration_end``.

    Parameters
    ----------
    transactions
        Transaction lines.
    calibration_end
        Last day of the calibration period (inclusive).
    observation_end
        Last day of the holdout period (inclusive); default: the last transaction day.
    time_unit, freq_multiplier, customer_col, date_col, amount_col, return_col
        As in :func:`purchase_history` (``time_unit`` defaults to ``"W"``).
    freq
        Deprecated old name of ``time_unit`` (a ``DeprecationWarning``).

    Returns
    -------
    ibis.Table
        ``customer_id, frequency_cal, recency_cal, T_cal, monetary_value_cal,
        frequency_holdout`` (distinct purchase periods in the holdout),
        ``monetary_value_holdout`` (mean per-period total in the holdout, 0 without
        purchases) and ``duration_holdout`` (periods from the calibration end's period to
        the observation end's period, divided by ``freq_multiplier``).
    """
    unit = check_time_unit(renamed(time_unit, freq, name="time_unit", alias="freq", default="W"))
    multiplier = _check_multiplier(freq_multiplier)
    t, ret = _columns(transactions, customer_col, date_col, amount_col, return_col)
    cal_end = to_date(calibration_end, "calibration_end")
    obs_end = resolve_as_of(day_of(t[date_col]), observation_end, "observation_end")
    if obs_end <= cal_end:
        raise InputError(
            f"'observation_end' must be after 'calibration_end'; got observation_end={obs_end} "
            f"and calibration_end={cal_end}"
        )
    common: dict[str, Any] = dict(
        customer_col=customer_col, date_col=date_col, amount_col=amount_col, return_col=ret, time_unit=unit
    )
    cal = _summarise(_purchase_periods(t, after=None, until=cal_end, **common), cal_end, unit, multiplier)
    hold = _purchase_periods(t, after=cal_end, until=obs_end, **common)
    hold = (
        hold.group_by("customer_id")
        .aggregate(frequency_holdout=hold.period.count(), monetary_value_holdout=hold.total.mean())
        .rename(holdout_id="customer_id")
    )
    joined = cal.left_join(hold, cal.customer_id == hold.holdout_id)
    duration = (period_index(literal_date(obs_end), unit) - period_index(literal_date(cal_end), unit)).cast(
        "float64"
    ) / multiplier
    no_amount = amount_col is None
    return joined.select(
        customer_id=joined.customer_id,
        frequency_cal=joined.frequency,
        recency_cal=joined.recency,
        T_cal=joined["T"],
        monetary_value_cal=joined.monetary_value,
        frequency_holdout=joined.frequency_holdout.fill_null(0).cast("int64"),
        monetary_value_holdout=(
            ibis.null().cast("float64") if no_amount else joined.monetary_value_holdout.fill_null(0.0)
        ),
        duration_holdout=duration,
    )
