"""Customer event prediction: when will a customer buy next, and for how much?

Two methods.

**Mean-gap model** (the customer's own rhythm). With a customer's ``n`` purchases at
times ``t_1 <= ... <= t_n``, the mean inter-purchase time is ``(t_n - t_1) / (n - 1)``
(the consecutive gaps telescope), the expected next purchase is ``t_n + mean gap`` and its
expected value the mean order value. The overdue ratio ``(as_of - t_n) / mean gap``
says how many of the customer's usual gaps have passed since the last purchase; it is
the rhythm-based churn signal of :mod:`custlens.churn`. Customers with a single purchase
have no gap of their own; they get the median gap of the repeat customers (flagged).

**Gamma-Poisson purchasing with a dropout after purchases** (BG/NBD, Fader, Hardie & Lee
2005, "Counting your customers the easy way", Marketing Science 24(2); MBG/NBD,
Batislam, Denizel & Filiztekin 2007). While alive a customer buys at Poisson rate
``lambda ~ Gamma(r, alpha)``; dropping out happens only right after a purchase. A
customer alive at ``T`` therefore stays alive at least until the next purchase, and given
the history ``(x, T)`` and being alive, ``lambda | x, T ~ Gamma(r + x, alpha + T)`` (the
alive branch of the likelihood is ``lambda^x e^{-lambda T} (1 - p)^x``). The waiting
time ``W`` to the next purchase of an alive customer is then Lomax (Pareto II):

    P(W > w | alive) = ((alpha + T) / (alpha + T + w))^(r + x)

so the median wait is ``(alpha + T) (2^{1/(r + x)} - 1)``, the mean
``(alpha + T) / (r + x - 1)`` (``r + x > 1``) and
``P(purchase within h | data) = P(alive) x (1 - ((alpha + T) / (alpha + T + h))^(r + x))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.clv.formula._checks import (
    as_float,
    check_finite,
    check_nonnegative,
    check_probability,
    order_by,
)
from custlens.clv.formula._checks import plain as _plain
from custlens.errors import InputError

__all__ = ["NextPurchase", "mean_gap_next_purchase", "GammaWait", "gamma_next_purchase"]

DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class NextPurchase:
    """Per-customer next-purchase prediction from the customer's own rhythm.

    Times are in days when the input was datetimes (``expected_next`` is then a
    ``datetime64``), else in the input's unit.
    """

    customer_id: NDArray[Any]
    n_orders: NDArray[np.int64]
    first: NDArray[Any]
    last: NDArray[Any]
    mean_gap: NDArray[np.float64]
    gap_std: NDArray[np.float64]
    gap_source: NDArray[np.str_]
    expected_next: NDArray[Any]
    expected_value: NDArray[np.float64]
    recency: NDArray[np.float64]
    overdue_ratio: NDArray[np.float64]

    def to_columns(self) -> dict[str, NDArray[Any]]:
        """The fields as a column mapping (for ``pyarrow.table``)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _as_time(values: ArrayLike, name: str) -> tuple[NDArray[np.float64], bool]:
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):
        if np.isnat(arr).any():
            raise InputError(f"'{name}' has missing dates; {int(np.isnat(arr).sum())} rows")
        return (arr.astype("datetime64[us]") - np.datetime64(0, "us")) / DAY, True
    return check_finite(arr, name), False


def mean_gap_next_purchase(
    customer_id: ArrayLike,
    ordered_at: ArrayLike,
    amount: ArrayLike | None = None,
    as_of: Any = None,
    fallback_gap: float | None = None,
) -> NextPurchase:
    """Expected timing and value of each customer's next purchase (mean-gap model).

    Parameters
    ----------
    customer_id
        Customer of each order.
    ordered_at
        Order time: ``datetime64`` values (gaps in days) or numbers in any time unit.
    amount
        Order value (optional; ``expected_value`` is NaN without it).
    as_of
        The analysis date (same kind as ``ordered_at``); default: the last order in the
        data. Orders after it are an error.
    fallback_gap
        Gap used for one-order customers; default: the median mean gap of the repeat
        customers (NaN when nobody bought twice).
    """
    t, is_date = _as_time(ordered_at, "ordered_at")
    ids = np.asarray(customer_id)
    if ids.shape != t.shape:
        raise InputError(f"'customer_id' and 'ordered_at' must have the same length; got {ids.size} and {t.size}")
    if t.size == 0:
        raise InputError("no orders given")
    uniq, code = np.unique(ids, return_inverse=True)
    n = np.bincount(code, minlength=uniq.size)
    order = order_by(code, t)
    cs, ts = code[order], t[order]
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])  # sorted by customer, then time
    first = ts[starts]
    last = ts[starts + n - 1]
    same = cs[1:] == cs[:-1]
    gaps = (ts[1:] - ts[:-1])[same]
    gap_c = cs[1:][same]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_gap = np.where(n > 1, (last - first) / np.maximum(n - 1, 1), np.nan)
        sq = np.bincount(gap_c, weights=gaps**2, minlength=uniq.size)
        var = np.where(n > 2, (sq - (n - 1) * mean_gap**2) / np.maximum(n - 2, 1), np.nan)
    gap_std = np.sqrt(np.maximum(var, 0.0))
    if fallback_gap is None:
        repeat = mean_gap[n > 1]
        fallback = float(np.median(repeat)) if repeat.size else np.nan
    else:
        fallback = float(check_nonnegative(fallback_gap, "fallback_gap"))
    source = np.where(n > 1, "own", "population")
    gap = np.where(n > 1, mean_gap, fallback)
    if as_of is None:
        ref = float(last.max())
    else:
        try:
            ref_in = np.asarray([as_of], dtype="datetime64[us]" if is_date else np.float64)
        except (TypeError, ValueError):
            kind = "a date" if is_date else "a number"
            raise InputError(f"'as_of' must be {kind} like 'ordered_at'; got {as_of!r}") from None
        ref = float(_as_time(ref_in, "as_of")[0][0])
        if ref < last.max() - 1e-9:
            late = int((last > ref + 1e-9).sum())
            raise InputError(
                f"{late} customers have orders after as_of (first: customer {_plain(uniq[np.argmax(last > ref + 1e-9)])!r})"
            )
    recency = ref - last
    with np.errstate(invalid="ignore", divide="ignore"):
        overdue = np.where(gap > 0, recency / gap, np.nan)
    if amount is not None:
        amt = check_finite(amount, "amount")
        if amt.shape != t.shape:
            raise InputError("'amount' must have one value per order")
        value = np.bincount(code, weights=amt, minlength=uniq.size) / n
    else:
        value = np.full(uniq.size, np.nan)
    nxt = last + gap
    if is_date:
        epoch = np.datetime64(0, "us")
        to_date = lambda days: epoch + np.round(days * 86_400e6).astype("timedelta64[us]")  # noqa: E731
        first_o, last_o = to_date(first), to_date(last)
        nxt_o = np.where(np.isfinite(nxt), to_date(np.nan_to_num(nxt)), np.datetime64("NaT", "us"))
    else:
        first_o, last_o, nxt_o = first, last, nxt
    return NextPurchase(
        customer_id=uniq,
        n_orders=n.astype(np.int64),
        first=first_o,
        last=last_o,
        mean_gap=gap,
        gap_std=gap_std,
        gap_source=source,
        expected_next=nxt_o,
        expected_value=value,
        recency=recency,
        overdue_ratio=overdue,
    )


@dataclass(frozen=True)
class GammaWait:
    """Waiting time to the next purchase under BG/NBD-type purchasing (see module doc)."""

    median_wait_if_alive: NDArray[np.float64]
    mean_wait_if_alive: NDArray[np.float64]
    p_purchase_within: NDArray[np.float64]
    horizon: float


def gamma_next_purchase(
    frequency: ArrayLike,
    T: ArrayLike,
    p_alive: ArrayLike,
    r: float,
    alpha: float,
    horizon: float,
) -> GammaWait:
    """Next-purchase timing from a fitted BG/NBD or MBG/NBD model.

    Parameters
    ----------
    frequency
        ``x``: repeat purchases in the calibration period.
    T
        Time since the first purchase (model time unit).
    p_alive
        The model's P(alive) of each customer.
    r, alpha
        Fitted Gamma parameters of the purchase rate.
    horizon
        ``h`` for ``P(purchase within h)``, in the model time unit.

    Returns
    -------
    GammaWait
        Median and mean wait if alive (model time unit) and ``P(purchase within h)``.
    """
    x = check_nonnegative(frequency, "frequency")
    age = check_nonnegative(T, "T")
    pa = check_probability(p_alive, "p_alive")
    rr = float(as_float(r, "r"))
    aa = float(as_float(alpha, "alpha"))
    if rr <= 0 or aa <= 0:
        raise InputError(f"'r' and 'alpha' must be > 0; got r={rr:g}, alpha={aa:g}")
    h = float(check_nonnegative(horizon, "horizon"))
    shape = rr + x
    scale = aa + age
    median = scale * np.expm1(np.log(2.0) / shape)
    with np.errstate(divide="ignore"):
        mean = np.where(shape > 1, scale / np.maximum(shape - 1, 1e-300), np.inf)
    return GammaWait(
        median_wait_if_alive=np.asarray(median, dtype=np.float64),
        mean_wait_if_alive=np.asarray(mean, dtype=np.float64),
        p_purchase_within=np.asarray(pa * -np.expm1(-shape * np.log1p(h / scale)), dtype=np.float64),
        horizon=h,
    )
