"""Churn rate per period: observed from activity, and expected from a fitted model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike, NDArray
from scipy import special

from custlens.errors import InputError

__all__ = ["churn_rate_by_period", "alive_later_bgnbd", "alive_later_pnbd", "expected_churn_rate"]


def churn_rate_by_period(customer_id: ArrayLike, period: ArrayLike, weights: ArrayLike | None = None) -> pa.Table:
    """Observed churn per period from activity records.

    A customer is *active* in period ``t`` when at least one record has that period.
    For each period ``t`` after the first: ``active_previous`` = customers active in
    ``t - 1``, ``retained`` = of those, active again in ``t``, ``churned`` =
    ``active_previous - retained``, ``churn_rate = churned / active_previous`` and ``new``
    = active in ``t`` but not in ``t - 1`` (first-time or returning).

    Parameters
    ----------
    customer_id, period
        One row per activity (order, visit); integer period index.
    weights
        Optional per-row weight, constant within a customer (a customer standing for
        several identical ones).

    Returns
    -------
    pyarrow.Table
        ``period, active, active_previous, retained, churned, new, churn_rate``.
    """
    t = np.asarray(period)
    ids = np.asarray(customer_id)
    if t.shape != ids.shape or t.ndim != 1:
        raise InputError(
            f"'customer_id' and 'period' must be two columns of equal length; got {ids.shape} and {t.shape}"
        )
    if t.size == 0:
        raise InputError("no activity records given")
    try:
        tf = t.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError("'period' must hold whole period numbers (0, 1, 2, ...)") from None
    if np.isnan(tf).any() or np.any(tf != np.round(tf)):
        raise InputError("'period' must hold whole period numbers (0, 1, 2, ...)")
    t = tf.astype(np.int64)
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
    periods = np.arange(span) + int(t.min())
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


def alive_later_bgnbd(
    frequency: ArrayLike,
    T: ArrayLike,
    p_alive: ArrayLike,
    r: float,
    alpha: float,
    a: float,
    b: float,
    horizon: float,
    modified: bool = False,
) -> NDArray[np.float64]:
    """P(alive at ``T + h``) under BG/NBD (``modified=True``: MBG/NBD) given ``(x, T)``.

    Alive at ``T + h`` means alive at ``T`` and no dropout after any of the ``N`` purchases
    in ``(T, T + h]``. Given alive at ``T``, ``lambda ~ Gamma(r + x, alpha + T)`` and
    ``p ~ Beta(a, b + x)`` independently (the alive branch of the likelihood is
    ``lambda^x e^{-lambda T} (1 - p)^x``), and ``E[(1 - p)^N | lambda, p] = e^{-lambda h p}``, so

        P(alive at T + h | data) = P(alive at T) x E_p[((alpha + T) / (alpha + T + h p))^(r + x)]
                                 = P(alive at T) x 2F1(r + x, a; a + b + x; -h / (alpha + T)).

    MBG/NBD (Batislam, Denizel & Filiztekin 2007) also allows a dropout at the first
    purchase, so the alive branch carries ``(1 - p)^(x + 1)`` and ``p ~ Beta(a, b + x + 1)``:
    the third argument of 2F1 becomes ``a + b + x + 1``. ``p_alive`` is the model's own
    P(alive at T) (e.g. ``BetaGeo.p_alive``), and ``r, alpha, a, b`` its ``params_``.
    """
    x, age, pa_ = _arr(frequency, "frequency"), _arr(T, "T"), _arr(p_alive, "p_alive")
    if min(r, alpha, a, b) <= 0:
        raise InputError(f"BG/NBD parameters must be > 0; got r={r}, alpha={alpha}, a={a}, b={b}")
    z = -float(horizon) / (alpha + age)
    return pa_ * special.hyp2f1(r + x, a, a + b + x + (1.0 if modified else 0.0), z)


def alive_later_pnbd(T: ArrayLike, p_alive: ArrayLike, s: float, beta: float, horizon: float) -> NDArray[np.float64]:
    """P(alive at ``T + h``) under Pareto/NBD: ``P(alive at T) ((beta + T) / (beta + T + h))^s``.

    Given alive at ``T`` the dropout rate is ``mu ~ Gamma(s, beta + T)`` (the alive branch
    of the likelihood carries ``e^{-mu T}``), and survival for ``h`` more is ``e^{-mu h}``.
    """
    age, pa_ = _arr(T, "T"), _arr(p_alive, "p_alive")
    if s <= 0 or beta <= 0:
        raise InputError(f"Pareto/NBD parameters must be > 0; got s={s}, beta={beta}")
    return pa_ * np.exp(-s * np.log1p(float(horizon) / (beta + age)))


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
