"""Churn rate per period: observed from activity, and expected from a fitted model.

The model-based rate uses the purchase models' own ``p_alive`` and ``p_alive_later``
methods (:class:`custlens.clv.BetaGeo`, :class:`~custlens.clv.ModifiedBetaGeo`,
:class:`~custlens.clv.ParetoNBD`), whose formulas live with their model family in
``custlens.clv._bgnbd`` and ``custlens.clv._pareto_nbd``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike, NDArray

from custlens.errors import InputError

if TYPE_CHECKING:
    from custlens.clv._transaction import _TransactionModel

__all__ = ["churn_rate_by_period", "expected_churn_rate", "model_churn_rate"]


def churn_rate_by_period(
    customer_id: ArrayLike | Any, period: ArrayLike | None = None, weights: ArrayLike | None = None
) -> pa.Table:
    """Observed churn per period from activity records.

    A customer is *active* in period ``t`` when at least one record has that period.
    For each period ``t`` after the first: ``active_previous`` = customers active in
    ``t - 1``, ``retained`` = of those, active again in ``t``, ``churned`` =
    ``active_previous - retained``, ``churn_rate = churned / active_previous`` and ``new``
    = active in ``t`` but not in ``t - 1`` (first-time or returning).

    Parameters
    ----------
    customer_id, period
        One row per activity (order, visit); integer period index. Or, instead of two
        arrays, one Ibis table with columns ``customer_id`` and ``period`` as
        ``customer_id`` (``period`` left out): the active customers and those retained are
        then counted by its engine (DuckDB, Spark), and only one row per period comes back.
    weights
        Optional per-row weight, constant within a customer (a customer standing for
        several identical ones); arrays only.

    Returns
    -------
    pyarrow.Table
        ``period, active, active_previous, retained, churned, new, churn_rate``.
    """
    if _is_table(customer_id):
        if period is not None or weights is not None:
            raise InputError("churn_rate_by_period: with a table of activity, 'period' and 'weights' must be left out")
        return _rates_in_engine(customer_id)
    if period is None:
        raise InputError("churn_rate_by_period: 'period' is required with an array of customer ids")
    t = np.asarray(period)
    ids = np.asarray(customer_id)
    if t.shape != ids.shape or t.ndim != 1:
        raise InputError(
            f"'customer_id' and 'period' must be two columns of equal length; got {ids.shape} and {t.shape}"
        )
    if t.size == 0:
        raise InputError("no activity records given")
    t = _whole_periods(t)
    _, cust = np.unique(ids, return_inverse=True)
    w_row = np.ones(t.size) if weights is None else np.asarray(weights, dtype=np.float64)
    span = int(t.max() - t.min() + 1)
    key = cust.astype(np.int64) * (span + 1) + (t - t.min())
    ukey, first = np.unique(key, return_index=True)
    w = w_row[first]
    per = ukey % (span + 1)
    prev_key = ukey - 1
    pos = np.searchsorted(ukey, prev_key)
    pos = np.clip(pos, 0, ukey.size - 1)
    had_prev = (ukey[pos] == prev_key) & (per > 0)
    active = np.bincount(per, weights=w, minlength=span)
    retained = np.bincount(per[had_prev], weights=w[had_prev], minlength=span)
    return _rate_table(np.arange(span) + int(t.min()), active, retained)


def _is_table(value: Any) -> bool:
    """Whether ``value`` is an Ibis table (Ibis is imported only when it may be one)."""
    if not hasattr(value, "to_pyarrow"):
        return False
    import ibis.expr.types as ir

    return isinstance(value, ir.Table)


def _whole_periods(t: NDArray[Any]) -> NDArray[np.int64]:
    try:
        tf = t.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError("'period' must hold whole period numbers (0, 1, 2, ...)") from None
    if np.isnan(tf).any() or np.any(tf != np.round(tf)):
        raise InputError("'period' must hold whole period numbers (0, 1, 2, ...)")
    return tf.astype(np.int64)


def _rates_in_engine(activity: Any) -> pa.Table:
    """:func:`churn_rate_by_period` of an Ibis table ``customer_id, period``: counts by the engine."""
    missing = [c for c in ("customer_id", "period") if c not in activity.columns]
    if missing:
        raise InputError(
            f"churn_rate_by_period: the activity table has no column {missing[0]!r}; "
            f"expected customer_id and period, got {', '.join(activity.columns)}"
        )
    if not activity.period.type().is_integer():
        raise InputError(
            f"churn_rate_by_period: column 'period' must hold whole period numbers; got {activity.period.type()}"
        )
    act = activity.select("customer_id", "period").distinct()
    prev = act.select(_cid=act.customer_id, _next=act.period + 1)
    joined = act.left_join(prev, [act.customer_id == prev._cid, act.period == prev._next])
    counts = (
        joined.group_by("period")
        .aggregate(active=joined.customer_id.count(), retained=joined._cid.notnull().cast("int64").sum())
        .to_pyarrow()
    )
    if counts.num_rows == 0:
        raise InputError("no activity records given")
    found = _whole_periods(counts["period"].to_numpy(zero_copy_only=False))
    start = int(found.min())
    span = int(found.max()) - start + 1
    active = np.zeros(span)
    retained = np.zeros(span)
    active[found - start] = counts["active"].to_numpy(zero_copy_only=False)
    retained[found - start] = counts["retained"].to_numpy(zero_copy_only=False)
    return _rate_table(np.arange(span) + start, active, retained)


def _rate_table(periods: NDArray[Any], active: NDArray[Any], retained: NDArray[Any]) -> pa.Table:
    """The churn table from the active and retained customers of each consecutive period."""
    active_prev = np.concatenate([[np.nan], active[:-1]])
    churned = active_prev - retained
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(active_prev > 0, churned / active_prev, np.nan)
    new = active - retained
    new[0] = np.nan
    retained = retained.astype(np.float64)
    retained[0] = np.nan
    return pa.table(
        {
            "period": periods,
            "active": active,
            "active_previous": active_prev,
            "retained": retained,
            "churned": churned,
            "new": new,
            "churn_rate": rate,
        }
    )


def _arr(x: Any, name: str) -> NDArray[np.float64]:
    a = np.asarray(x, dtype=np.float64)
    if np.isnan(a).any() or np.any(a < 0):
        raise InputError(f"'{name}' must be >= 0 with no missing values")
    return a


def expected_churn_rate(p_alive_now: ArrayLike, p_alive_later: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Model-based churn rate over a period: expected share of the alive customers lost.

    ``1 - sum_i w_i P_i(alive later) / sum_i w_i P_i(alive now)``.
    """
    now, later = _arr(p_alive_now, "p_alive_now"), _arr(p_alive_later, "p_alive_later")
    w = np.ones_like(now) if weights is None else _arr(weights, "weights")
    total = float(np.sum(w * now))
    if total <= 0:
        raise InputError("no customer is alive now (sum of P(alive) is 0): the churn rate is undefined")
    return 1.0 - float(np.sum(w * later)) / total


def model_churn_rate(
    model: _TransactionModel,
    t: ArrayLike,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    covariates: ArrayLike | None = None,
) -> float:
    """Expected churn rate over the next ``t`` time units from a fitted purchase model.

    :func:`expected_churn_rate` of the model's ``p_alive(frequency, recency, T)`` and
    ``p_alive_later(t, frequency, recency, T)``: the expected share of the customers alive
    now who are no longer alive ``t`` later.

    Parameters
    ----------
    model
        A fitted (or restored) :class:`~custlens.clv.BetaGeo`,
        :class:`~custlens.clv.ModifiedBetaGeo` or :class:`~custlens.clv.ParetoNBD`.
    t
        Length of the period ahead, in the time unit of ``recency`` and ``T``.
    frequency, recency, T
        The customers' summary.
    weights
        Customers each row stands for (default 1).
    covariates
        One row per customer, for a model fitted with ``covariate_params``.

    Returns
    -------
    float
        The expected churn rate, in [0, 1].
    """
    now = model.p_alive(frequency, recency, T, covariates=covariates)
    later = model.p_alive_later(t, frequency, recency, T, covariates=covariates)
    return expected_churn_rate(now, later, weights)
