"""Revenue-, profit- and contribution-based lifetime value: discounted expected cash flow.

The general form (Gupta, Hanssens, Hardie, Kahn, Kumar, Lin, Ravishanker & Sriram 2006,
"Modeling customer lifetime value", Journal of Service Research 9(2), 139-155, eq. 1;
Berger & Nasr 1998) is

    CLV = sum_t  S_t x c_t / (1 + d)^t  -  AC

with ``S_t`` the probability that the customer is still active in period ``t``
(survival), ``c_t`` the cash flow of an active customer in period ``t``, ``d`` the discount
rate per period and ``AC`` the acquisition cost. The variants of CRM practice differ only
in the cash flow:

* revenue-based: ``c_t`` = revenue;
* profit-based: ``c_t`` = revenue - cost of serving the customer (all costs);
* contribution-based: ``c_t`` = revenue x gross-margin rate - customer-specific
  marketing/retention cost (the profit contribution).

Cash-flow arrays have the periods on the last axis (one row per customer, or one row for
a segment); period ``j`` (0-based) is paid at ``t = j + 1`` (``timing="end"``, default)
or ``t = j`` (``timing="start"``: the first cash flow now, undiscounted).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.clv.formula._checks import check_finite, check_nonnegative, check_probability
from custlens.errors import InputError

__all__ = ["survival_curve", "discounted_value", "revenue_clv", "profit_clv", "contribution_clv"]

CashTiming = Literal["start", "end"]


def survival_curve(
    retention: ArrayLike, periods: int, timing: CashTiming = "end", per_period: bool = False
) -> NDArray[np.float64]:
    """Survival ``S_t`` for constant or period-specific retention.

    With ``per_period=False`` (default) ``retention`` is one constant rate (a scalar, or
    one per customer) and ``S_t = r^t``; the result gains a last axis of ``periods``
    entries. With ``per_period=True`` the last axis of ``retention`` holds the rate of each
    period and ``S_t = prod_{u <= t} r_u``. With ``timing="end"`` period ``j`` is at
    ``t = j + 1`` (one retention step already taken); with ``"start"`` at ``t = j``
    (``S_0 = 1``).
    """
    if int(periods) != periods or periods < 0:
        raise InputError(f"'periods' must be a whole number >= 0; got {periods!r}")
    if timing not in ("start", "end"):
        raise InputError(f"'timing' must be 'start' or 'end'; got {timing!r}")
    r = check_probability(retention, "retention")
    if per_period:
        if r.ndim == 0 or r.shape[-1] != periods:
            raise InputError(
                f"with per_period=True the last axis of 'retention' must have {periods} rates; got shape {r.shape}"
            )
        steps = r
    else:
        steps = np.repeat(r[..., None], periods, axis=-1)
    cum = np.cumprod(steps, axis=-1)
    if timing == "start" and periods:
        cum = np.concatenate([np.ones(cum.shape[:-1] + (1,)), cum[..., :-1]], axis=-1)
    return np.asarray(cum, dtype=np.float64)


def discounted_value(
    cashflow: ArrayLike,
    survival: ArrayLike,
    discount: ArrayLike,
    acquisition_cost: ArrayLike = 0.0,
    timing: CashTiming = "end",
) -> NDArray[np.float64]:
    """``sum_t S_t c_t / (1 + d)^t - AC`` over the last axis.

    Parameters
    ----------
    cashflow
        Cash flow of an active customer per period, periods on the last axis.
    survival
        Probability of being active in each period (same shape or broadcastable).
    discount
        Discount rate per period, >= 0 (scalar or one per row).
    acquisition_cost
        Subtracted once, undiscounted.
    timing
        ``"end"``: period ``j`` discounted by ``(1 + d)^(j + 1)``; ``"start"``: by ``(1 + d)^j``.
    """
    if timing not in ("start", "end"):
        raise InputError(f"'timing' must be 'start' or 'end'; got {timing!r}")
    c = check_finite(cashflow, "cashflow")
    if c.ndim == 0:
        raise InputError("'cashflow' must have the periods on its last axis; got a scalar")
    s = check_probability(survival, "survival")
    d = check_nonnegative(discount, "discount")
    ac = check_nonnegative(acquisition_cost, "acquisition_cost")
    T = c.shape[-1]
    t = np.arange(T) + (1.0 if timing == "end" else 0.0)
    try:
        factor = np.power(1.0 + np.asarray(d)[..., None], -t)
        total = np.sum(np.broadcast_to(s, np.broadcast_shapes(s.shape, c.shape)) * c * factor, axis=-1)
    except ValueError as exc:
        raise InputError(f"'cashflow', 'survival' and 'discount' shapes do not fit together: {exc}") from None
    return np.asarray(total - ac, dtype=np.float64)


def revenue_clv(
    revenue: ArrayLike, survival: ArrayLike, discount: ArrayLike, timing: CashTiming = "end"
) -> NDArray[np.float64]:
    """Revenue-based lifetime value: discounted expected revenue (no costs).

    ``CLV_R = sum_t S_t R_t / (1 + d)^t``. An upper bound on what a customer is worth;
    useful for ranking when costs are not known per customer.
    """
    return discounted_value(revenue, survival, discount, 0.0, timing)


def profit_clv(
    revenue: ArrayLike,
    cost: ArrayLike,
    survival: ArrayLike,
    discount: ArrayLike,
    acquisition_cost: ArrayLike = 0.0,
    timing: CashTiming = "end",
) -> NDArray[np.float64]:
    """Profit-based lifetime value: ``sum_t S_t (R_t - C_t) / (1 + d)^t - AC``.

    ``C_t`` is the full cost of serving the customer in period ``t`` (goods, service,
    marketing).
    """
    r = check_finite(revenue, "revenue")
    c = check_finite(cost, "cost")
    return discounted_value(r - c, survival, discount, acquisition_cost, timing)


def contribution_clv(
    revenue: ArrayLike,
    margin_rate: ArrayLike,
    retention_cost: ArrayLike,
    survival: ArrayLike,
    discount: ArrayLike,
    acquisition_cost: ArrayLike = 0.0,
    timing: CashTiming = "end",
) -> NDArray[np.float64]:
    """Profit-contribution-based lifetime value.

    ``CLV_C = sum_t S_t (g R_t - M_t) / (1 + d)^t - AC`` with gross-margin rate ``g`` and
    customer-specific marketing (retention) cost ``M_t``: Gupta et al. (2006), eq. 1,
    with ``(p_t - c_t)`` the margin and the retention spending netted per period.
    """
    r = check_finite(revenue, "revenue")
    g = check_probability(margin_rate, "margin_rate")
    m = check_finite(retention_cost, "retention_cost")
    return discounted_value(_contribution(r, g, m), survival, discount, acquisition_cost, timing)


def _contribution(r: NDArray[np.float64], g: NDArray[np.float64], m: NDArray[np.float64]) -> NDArray[np.float64]:
    if g.ndim >= 1 and r.ndim == g.ndim + 1:  # one margin rate per row
        g = g[..., None]
    return r * g - m
