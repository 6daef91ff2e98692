"""Retention ("lost for good") formula models of lifetime value.

All functions take scalars or arrays (broadcast together) and return float arrays.
Rates are per period: ``retention`` is the probability that a customer active in one
period is still a customer in the next, ``discount`` the interest rate per period.

Timing conventions (Fader & Hardie 2012, "Reconciling and clarifying CLV formulas")
-----------------------------------------------------------------------------------
With margin ``m`` per period, retention ``r``, discount ``d`` and ``q = r / (1 + d)``:

``"start"``
    The first margin is received now (t = 0, undiscounted, for sure), then one margin at
    the start of every later period for as long as the customer stays:
    ``sum_{t=0}^{N-1} m q^t``; infinite horizon ``m (1 + d) / (1 + d - r)``.
    This is Dwyer's (1989) and Berger & Nasr's (1998) convention for a customer who has
    just bought, and Blattberg, Kim & Neslin (2008).
``"end"``
    Margins arrive at the end of each period; the first one for sure:
    ``sum_{t=1}^{N} m r^{t-1} / (1 + d)^t``; infinite horizon ``m / (1 + d - r)``.
``"retained"``
    Margins arrive at the end of each period and only if the customer was retained:
    ``sum_{t=1}^{N} m q^t``; infinite horizon ``m r / (1 + d - r)`` -- the margin
    multiple of Gupta & Lehmann (2003, 2005).

The three differ only in the first payment: ``start = m + retained`` and
``end = start / (1 + d)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.clv.formula._checks import check_finite, check_nonnegative, check_probability
from custlens.errors import InputError

__all__ = [
    "Timing",
    "TIMINGS",
    "simple_clv",
    "retention_clv",
    "berger_nasr_constant",
    "margin_multiple",
    "expected_lifetime",
]

Timing = Literal["start", "end", "retained"]
TIMINGS: tuple[str, ...] = ("start", "end", "retained")


def simple_clv(years: ArrayLike, annual_profit: ArrayLike, acquisition_cost: ArrayLike = 0.0) -> NDArray[np.float64]:
    """The simple retention formula of CRM practice.

    ``CLV = years retained x annual profit - acquisition cost``; no discounting and no
    uncertainty about the length of the relationship (e.g. Kotler & Keller's
    back-of-the-envelope lifetime value).

    Parameters
    ----------
    years
        Expected number of years the customer stays (>= 0).
    annual_profit
        Profit per customer per year.
    acquisition_cost
        One-off cost of winning the customer (>= 0).
    """
    years_ = check_nonnegative(years, "years")
    profit = check_finite(annual_profit, "annual_profit")
    cost = check_nonnegative(acquisition_cost, "acquisition_cost")
    return np.asarray(years_ * profit - cost, dtype=np.float64)


def _geometric_sum(q: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
    """``sum_{t=0}^{n-1} q^t`` for q >= 0, with the limit n at q = 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.expm1(n * np.log(np.where(q > 0, q, 1.0))) / (1.0 - q)
    out = np.where(q == 0, np.minimum(n, 1.0), out)
    return np.where(np.isclose(q, 1.0, rtol=0.0, atol=1e-12), n, out)


def _rates(retention: ArrayLike, discount: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r = check_probability(retention, "retention")
    d = check_nonnegative(discount, "discount")
    return r, d


def retention_clv(
    margin: ArrayLike,
    retention: ArrayLike,
    discount: ArrayLike,
    periods: ArrayLike | None = None,
    acquisition_cost: ArrayLike = 0.0,
    timing: Timing = "start",
) -> NDArray[np.float64]:
    """Dwyer's (1989) customer retention model: value of a "lost for good" customer.

    A customer who leaves never comes back; one who stays yields ``margin`` each period.
    With ``q = retention / (1 + discount)`` and ``N = periods`` payments:

    * ``timing="start"`` (default): ``m (1 - q^N) / (1 - q)``; ``N -> inf``:
      ``m (1 + d) / (1 + d - r)``;
    * ``timing="end"``: the ``"start"`` value divided by ``1 + d``; ``N -> inf``:
      ``m / (1 + d - r)``;
    * ``timing="retained"``: ``m q (1 - q^N) / (1 - q)``; ``N -> inf``:
      ``m r / (1 + d - r)`` (Gupta & Lehmann 2003).

    The acquisition cost is subtracted at t = 0.

    Sources: Dwyer, F. R. (1989), Customer lifetime valuation to support marketing
    decision making, Journal of Direct Marketing 3(4), 8-15; Berger, P. D. & Nasr, N. I.
    (1998), Customer lifetime value: marketing models and applications, Journal of
    Interactive Marketing 12(1), 17-30; Gupta, S. & Lehmann, D. R. (2003), Customers as
    assets, Journal of Interactive Marketing 17(1), 9-24.

    Parameters
    ----------
    margin
        Margin (contribution) per customer per period.
    retention
        Retention rate per period, in [0, 1].
    discount
        Discount rate per period, >= 0.
    periods
        Number of margin payments ``N`` (>= 0); ``None`` for the infinite horizon.
    acquisition_cost
        One-off cost at t = 0, >= 0.
    timing
        ``"start"``, ``"end"`` or ``"retained"``: when the first margin arrives.

    Raises
    ------
    InputError
        For rates out of range, an unknown timing, or an infinite horizon with
        retention 1 and discount 0 (the value diverges).
    """
    if timing not in TIMINGS:
        raise InputError(f"'timing' must be one of {', '.join(TIMINGS)}; got {timing!r}")
    m = check_finite(margin, "margin")
    r, d = _rates(retention, discount)
    cost = check_nonnegative(acquisition_cost, "acquisition_cost")
    q = r / (1.0 + d)
    if periods is None:
        if np.any((r == 1.0) & (d == 0.0)):
            raise InputError(
                "the infinite-horizon value diverges with retention = 1 and discount = 0; "
                "give a finite number of periods or a positive discount"
            )
        total = 1.0 / (1.0 - q)
    else:
        n = check_nonnegative(periods, "periods")
        total = _geometric_sum(q, n)
    if timing == "end":
        total = total / (1.0 + d)
    elif timing == "retained":
        total = q * total
    return np.asarray(m * total - cost, dtype=np.float64)


def berger_nasr_constant(
    contribution: ArrayLike,
    promotion: ArrayLike,
    retention: ArrayLike,
    discount: ArrayLike,
    years: ArrayLike,
) -> NDArray[np.float64]:
    """Berger & Nasr (1998), case 1: yearly purchases, constant retention and costs.

    ``CLV = GC sum_{i=0}^{n} r^i / (1 + d)^i - M sum_{i=1}^{n} r^{i-1} / (1 + d)^{i - 0.5}``

    The customer has just bought (the i = 0 contribution is received now), buys once a
    year at the start of each later year while retained, and the firm spends ``M`` on
    each retained customer in the middle of every year (hence the half-year discounting
    of the promotion cost).

    Parameters
    ----------
    contribution
        Yearly gross contribution ``GC`` per customer.
    promotion
        Yearly promotion (retention) cost ``M`` per retained customer.
    retention
        Yearly retention rate ``r`` in [0, 1].
    discount
        Yearly discount rate ``d`` >= 0.
    years
        Horizon ``n`` in years (>= 0); ``n + 1`` contributions and ``n`` promotion costs.
    """
    gc = check_finite(contribution, "contribution")
    promo = check_finite(promotion, "promotion")
    r, d = _rates(retention, discount)
    n = check_nonnegative(years, "years")
    q = r / (1.0 + d)
    gain = gc * _geometric_sum(q, n + 1.0)
    spend = promo / np.sqrt(1.0 + d) * _geometric_sum(q, n)
    return np.asarray(gain - spend, dtype=np.float64)


def margin_multiple(retention: ArrayLike, discount: ArrayLike, growth: ArrayLike = 0.0) -> NDArray[np.float64]:
    """Gupta & Lehmann's margin multiple: CLV = margin x ``r / (1 + d - r (1 + g))``.

    The value of a customer, in multiples of the current per-period margin, when margins
    are received at the end of each period the customer is retained and grow at rate
    ``g`` per period (``g = 0``: ``r / (1 + d - r)``).

    Sources: Gupta & Lehmann (2003), Customers as assets, Journal of Interactive
    Marketing 17(1), 9-24, Table 1; Gupta & Lehmann (2005), Managing Customers as
    Investments, Wharton School Publishing, chapter 2.

    Raises
    ------
    InputError
        When ``r (1 + g) >= 1 + d`` (the series diverges).
    """
    r, d = _rates(retention, discount)
    g = check_finite(growth, "growth")
    denom = 1.0 + d - r * (1.0 + g)
    if np.any(denom <= 0):
        raise InputError(
            "the margin multiple diverges when retention x (1 + growth) >= 1 + discount; "
            f"got retention={np.ravel(r)[0]:g}, discount={np.ravel(d)[0]:g}, growth={np.ravel(g)[0]:g}"
        )
    return np.asarray(r / denom, dtype=np.float64)


def expected_lifetime(retention: ArrayLike) -> NDArray[np.float64]:
    """Expected number of periods a customer stays: ``1 / (1 - r)`` (infinite at r = 1).

    Under constant retention the number of periods until loss (counting the current one)
    is geometric with success probability ``1 - r``.
    """
    r = check_probability(retention, "retention")
    with np.errstate(divide="ignore"):
        return np.asarray(1.0 / (1.0 - r), dtype=np.float64)
