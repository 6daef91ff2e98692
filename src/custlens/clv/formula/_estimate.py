"""Estimating purchase-transition matrices from per-customer, per-period data.

Two kinds of state:

* **recency** (Pfeifer & Carraway 2000): from the periods in which each customer bought,
  state ``s`` = periods since the last purchase (capped at ``k``). In every period a
  customer in state ``s`` either buys (back to state 1) or not (to ``min(s + 1, k)``), so
  each row has one free parameter, the purchase probability ``p_s``;
* **user-defined states** (value tiers, segments): a state label per customer and
  period; the transitions between consecutive periods are counted.

The maximum-likelihood estimate of row ``i`` is the observed share ``n_ij / n_i``
(multinomial), with standard error ``sqrt(p_ij (1 - p_ij) / n_i)``. Intervals are either
Bayesian -- Dirichlet(``n_i + prior``) posterior per row, whose marginals are Beta
(Anderson & Goodman 1957 for the MLE; the Dirichlet-multinomial conjugacy in e.g.
Gelman et al., Bayesian Data Analysis, 3rd ed., sec. 3.4) -- or a customer-level Poisson
bootstrap (each customer's transitions re-weighted by a Poisson(weight) draw; Hanley &
MacGibbon 2006), which respects the dependence of transitions of one customer.

Weights count identical customers: a customer with weight 3 gives the same estimate as
three copies of that customer.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.clv.formula._checks import (
    as_float,
    check_nonnegative,
    order_by,
)
from custlens.clv.formula._checks import plain as _plain
from custlens.clv.formula._markov import recency_transition_matrix
from custlens.errors import InputError

__all__ = ["TransitionEstimate", "estimate_recency_chain", "estimate_state_transitions", "period_index", "PERIOD_UNITS"]

#: Calendar units that dates can be binned into.
PERIOD_UNITS: tuple[str, ...] = ("W", "M", "Q", "Y")

IntervalMethod = Literal["dirichlet", "bootstrap"]


@dataclass(frozen=True)
class TransitionEstimate:
    """An estimated transition matrix with its counts and uncertainty.

    Attributes
    ----------
    states
        State labels, in matrix order.
    counts
        Weighted transition counts ``n_ij`` (k x k).
    matrix
        Maximum-likelihood transition matrix ``n_ij / n_i``; rows never left are NaN.
    standard_errors
        Multinomial standard errors ``sqrt(p_ij (1 - p_ij) / n_i)``.
    lower, upper
        Interval bounds for each entry at ``level``.
    purchase_prob, purchase_prob_se, purchase_prob_lower, purchase_prob_upper
        Recency chains only: the purchase probability of each state, its standard error
        and interval (``None`` for user-defined states).
    """

    states: tuple[Any, ...]
    counts: NDArray[np.float64]
    matrix: NDArray[np.float64]
    standard_errors: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    level: float
    interval_method: str
    n_customers: float
    n_transitions: float
    purchase_prob: NDArray[np.float64] | None = None
    purchase_prob_se: NDArray[np.float64] | None = None
    purchase_prob_lower: NDArray[np.float64] | None = None
    purchase_prob_upper: NDArray[np.float64] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def row_totals(self) -> NDArray[np.float64]:
        """``n_i``: weighted number of departures observed from each state."""
        return self.counts.sum(axis=1)

    def to_dict(self) -> dict[str, Any]:
        """Plain-value form (lists) for JSON output."""
        out: dict[str, Any] = {
            "states": [s.item() if hasattr(s, "item") else s for s in self.states],
            "counts": self.counts.tolist(),
            "matrix": self.matrix.tolist(),
            "standard_errors": self.standard_errors.tolist(),
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
            "level": self.level,
            "interval_method": self.interval_method,
            "n_customers": self.n_customers,
            "n_transitions": self.n_transitions,
        }
        if self.purchase_prob is not None:
            out["purchase_prob"] = self.purchase_prob.tolist()
            out["purchase_prob_se"] = self.purchase_prob_se.tolist()  # type: ignore[union-attr]
            out["purchase_prob_lower"] = self.purchase_prob_lower.tolist()  # type: ignore[union-attr]
            out["purchase_prob_upper"] = self.purchase_prob_upper.tolist()  # type: ignore[union-attr]
        return out


def period_index(period: ArrayLike, unit: str | None = None) -> NDArray[np.int64]:
    """Whole period numbers from integers, or from dates binned by calendar ``unit``.

    ``W``: weeks since 1970-01-05 (a Monday); ``M``: months since 1970-01; ``Q``: quarters;
    ``Y``: years. Without ``unit`` the values must already be whole numbers.
    """
    arr = np.asarray(period)
    if arr.size == 0:
        raise InputError("'period' is empty: the data has no rows")
    if unit is not None:
        if unit not in PERIOD_UNITS:
            raise InputError(f"'period_unit' must be one of {', '.join(PERIOD_UNITS)}; got {unit!r}")
        try:
            dates = arr.astype("datetime64[D]")
        except (TypeError, ValueError):
            raise InputError(f"with period_unit={unit!r}, 'period' must hold dates; got {arr.dtype}") from None
        if np.isnat(dates).any():
            raise InputError(f"'period' has {int(np.isnat(dates).sum())} missing dates")
        if unit == "W":
            return ((dates - np.datetime64("1970-01-05")).astype(np.int64) // 7).astype(np.int64)
        months = dates.astype("datetime64[M]").astype(np.int64)
        return {"M": months, "Q": months // 3, "Y": months // 12}[unit].astype(np.int64)
    if np.issubdtype(arr.dtype, np.datetime64):
        raise InputError("'period' holds dates: give period_unit (W, M, Q or Y) to bin them")
    t = as_float(arr, "period")
    if np.any(t != np.round(t)):
        raise InputError("'period' must hold whole period numbers (0, 1, 2, ...)")
    return t.astype(np.int64)


MAX_N_BOOT = 20_000
"""Most bootstrap replicates (each one refits the chain; more would run for hours)."""


def _check_common(level: float, method: str, prior: float, n_boot: int) -> None:
    if not 0 < level < 1:
        raise InputError(f"'level' must lie strictly between 0 and 1; got {level!r}")
    if method not in ("dirichlet", "bootstrap"):
        raise InputError(f"'method' must be 'dirichlet' or 'bootstrap'; got {method!r}")
    if prior < 0:
        raise InputError(f"'prior' must be >= 0; got {prior!r}")
    if method == "bootstrap" and not (isinstance(n_boot, (int, np.integer)) and 20 <= n_boot <= MAX_N_BOOT):
        raise InputError(
            f"'n_boot' must be a whole number from 20 to {MAX_N_BOOT:,} for bootstrap intervals; got {n_boot!r}"
        )


def _customer_index(customer_id: ArrayLike, n: int) -> tuple[NDArray[np.intp], NDArray[Any]]:
    ids = np.asarray(customer_id)
    if ids.shape != (n,):
        raise InputError(f"'customer_id' must have one entry per row ({n}); got shape {ids.shape}")
    uniques, codes = np.unique(ids, return_inverse=True)
    return codes.astype(np.intp), uniques


def _customer_weights(weights: ArrayLike | None, customer: NDArray[np.intp], n_customers: int) -> NDArray[np.float64]:
    """Per-customer weight from a per-row weight column (must be constant per customer)."""
    if weights is None:
        return np.ones(n_customers)
    w = check_nonnegative(weights, "weights")
    if w.shape != customer.shape:
        raise InputError(f"'weights' must have one entry per row ({customer.size}); got shape {w.shape}")
    per = np.zeros(n_customers)
    per[customer] = w
    if np.any(w != per[customer]):
        bad = int(np.flatnonzero(w != per[customer])[0])
        raise InputError(f"'weights' must be constant within a customer; row {bad} differs")
    return per


def _row_intervals(
    counts: NDArray[np.float64], prior: float, level: float, allowed: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Equal-tailed marginal Beta intervals of a Dirichlet(counts + prior) posterior per row.

    The prior is put only on ``allowed`` cells (structural zeros stay zero).
    """
    from scipy import stats  # slow to import: loaded when intervals are computed, not with the package

    alpha = np.where(allowed, counts + prior, 0.0)
    total = alpha.sum(axis=1, keepdims=True)
    a = alpha
    b = total - alpha
    lo_q = (1 - level) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(
            allowed & (a > 0) & (b > 0), stats.beta.ppf(lo_q, np.maximum(a, 1e-300), np.maximum(b, 1e-300)), np.nan
        )
        upper = np.where(
            allowed & (a > 0) & (b > 0), stats.beta.ppf(1 - lo_q, np.maximum(a, 1e-300), np.maximum(b, 1e-300)), np.nan
        )
    # degenerate rows: a cell that takes the whole row (b == 0) is 1, an empty allowed cell (a == 0) is 0
    lower = np.where(allowed & (b == 0) & (a > 0), 1.0, lower)
    upper = np.where(allowed & (b == 0) & (a > 0), 1.0, upper)
    lower = np.where(allowed & (a == 0) & (b > 0), 0.0, lower)
    upper = np.where(allowed & (a == 0) & (b > 0), 0.0, upper)
    # Brown, Cai & DasGupta (2001): an interval at a boundary MLE reaches the boundary
    n = counts.sum(axis=1, keepdims=True)
    lower = np.where(allowed & (counts == 0) & (n > 0), 0.0, lower)
    upper = np.where(allowed & (counts == n) & (n > 0), 1.0, upper)
    lower = np.where(~allowed, 0.0, lower)
    upper = np.where(~allowed, 0.0, upper)
    return lower, upper


def _mle(counts: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, counts / np.where(n > 0, n, 1.0), np.nan)
        se = np.where(n > 0, np.sqrt(p * (1 - p) / np.where(n > 0, n, 1.0)), np.nan)
    return p, se


def _bootstrap_bounds(replicates: NDArray[np.float64], level: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    lo_q = (1 - level) / 2
    with warnings.catch_warnings():  # local: states never visited give all-NaN columns
        warnings.simplefilter("ignore", RuntimeWarning)
        lower = np.nanquantile(replicates, lo_q, axis=0)
        upper = np.nanquantile(replicates, 1 - lo_q, axis=0)
    return lower, upper


def _recency_spells(
    customer: NDArray[np.intp], period: NDArray[np.int64], end_period: int
) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.intp]]:
    """Spells between purchases: (no-buy periods L, ended by a purchase?, customer)."""
    order = order_by(customer, period)
    c, t = customer[order], period[order]
    keep = np.ones(c.size, dtype=bool)
    keep[1:] = (c[1:] != c[:-1]) | (t[1:] != t[:-1])  # one purchase flag per customer-period
    c, t = c[keep], t[keep]
    same = c[1:] == c[:-1]
    gaps = (t[1:] - t[:-1])[same]
    gap_customer = c[1:][same]
    last = np.ones(c.size, dtype=bool)
    last[:-1] = ~same
    censored = end_period - t[last]
    no_buy = np.concatenate([gaps - 1, censored])
    ended = np.concatenate([np.ones(gaps.size, dtype=bool), np.zeros(censored.size, dtype=bool)])
    return no_buy, ended, np.concatenate([gap_customer, c[last]])


def _recency_counts(
    no_buy: NDArray[np.int64], ended: NDArray[np.bool_], weight: NDArray[np.float64], k: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted (buys, no-buys) per recency state 1..k from the spells."""
    capped = np.minimum(no_buy, k)
    # no-buy in state s (s < k) happens once in every spell with at least s no-buy periods
    hist = np.bincount(capped, weights=weight, minlength=k + 1)
    at_least = np.cumsum(hist[::-1])[::-1]  # at_least[s] = weight of spells with capped >= s
    nobuys = np.empty(k)
    nobuys[: k - 1] = at_least[1:k]
    nobuys[k - 1] = np.sum(weight * np.maximum(no_buy - (k - 1), 0))
    buy_state = np.minimum(no_buy + 1, k)[ended]  # the purchase ends the spell in state L + 1
    buys = np.asarray(np.bincount(buy_state - 1, weights=weight[ended], minlength=k)[:k], dtype=np.float64)
    return buys, nobuys


def estimate_recency_chain(
    customer_id: ArrayLike,
    period: ArrayLike,
    n_states: int,
    *,
    bought: ArrayLike | None = None,
    end_period: int | None = None,
    weights: ArrayLike | None = None,
    level: float = 0.95,
    method: IntervalMethod = "dirichlet",
    prior: float = 0.5,
    n_boot: int = 500,
    seed: int | None = 0,
    period_unit: str | None = None,
) -> TransitionEstimate:
    """Estimate the recency chain of Pfeifer & Carraway (2000) from purchase periods.

    Each customer is followed from the period of the first purchase to ``end_period``;
    in every later period the customer is in recency state ``s`` (periods since the last
    purchase, capped at ``n_states``) and either buys or not. The MLE of ``p_s`` is
    (weighted buys in state ``s``) / (weighted periods spent in state ``s``).

    Parameters
    ----------
    customer_id, period
        One row per customer and period with a purchase (integer period index; several
        purchases in a period count once).
    n_states
        ``k``: recency states ``1..k``; state ``k`` collects every longer recency.
    bought
        Optional 0/1 flag per row; rows with 0 are ignored except that they extend the
        default ``end_period``.
    end_period
        Last observed period (default: the largest period in the data).
    weights
        Optional per-row weight, constant within a customer (identical customers
        collapsed).
    level
        Interval level.
    method
        ``"dirichlet"``: Beta(buys + prior, no-buys + prior) posterior of each ``p_s``;
        ``"bootstrap"``: customer-level Poisson bootstrap percentiles.
    prior
        Dirichlet/Beta prior count per free cell (0.5: Jeffreys).
    n_boot, seed
        Bootstrap replicates and random seed.
    period_unit
        When ``period`` holds dates: ``W``, ``M``, ``Q`` or ``Y`` turns them into period
        numbers (see :func:`period_index`).

    Returns
    -------
    TransitionEstimate
        With ``purchase_prob`` (and its SE and interval) and the implied matrix
        (:func:`recency_transition_matrix`).
    """
    _check_common(level, method, prior, n_boot)
    if int(n_states) != n_states or n_states < 1:
        raise InputError(f"'n_states' must be a whole number >= 1; got {n_states!r}")
    k = int(n_states)
    t_all = period_index(period, period_unit)
    customer, uniques = _customer_index(customer_id, t_all.size)
    w_cust = _customer_weights(weights, customer, uniques.size)
    end = int(t_all.max()) if end_period is None else int(end_period)
    keep = np.ones(t_all.size, dtype=bool)
    if bought is not None:
        flag = as_float(bought, "bought")
        if flag.shape != t_all.shape or np.any((flag != 0) & (flag != 1)):
            raise InputError("'bought' must be 0 or 1 for every row")
        keep = flag == 1
    if not keep.any():
        raise InputError("no purchases in the data: cannot estimate a recency chain")
    if np.any(t_all[keep] > end):
        bad = int(np.flatnonzero(keep & (t_all > end))[0])
        raise InputError(
            f"purchases after end_period={end}: {int((keep & (t_all > end)).sum())} rows "
            f"(first: customer {_plain(uniques[customer[bad]])!r}, period {t_all[bad]})"
        )
    no_buy, ended, spell_cust = _recency_spells(customer[keep], t_all[keep], end)
    buys, nobuys = _recency_counts(no_buy, ended, w_cust[spell_cust], k)
    trials = buys + nobuys
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(trials > 0, buys / np.where(trials > 0, trials, 1.0), np.nan)
        se = np.sqrt(p * (1 - p) / np.where(trials > 0, trials, np.nan))
    if method == "dirichlet":
        from scipy import stats  # slow to import: loaded when intervals are computed, not with the package

        a, b = buys + prior, nobuys + prior
        q = (1 - level) / 2
        ok = (a > 0) & (b > 0)
        lo = np.where(ok, stats.beta.ppf(q, np.where(ok, a, 1), np.where(ok, b, 1)), np.where(b > 0, 0.0, 1.0))
        hi = np.where(ok, stats.beta.ppf(1 - q, np.where(ok, a, 1), np.where(ok, b, 1)), np.where(b > 0, 0.0, 1.0))
        # Brown, Cai & DasGupta (2001): an interval at a boundary MLE reaches the boundary
        lo = np.where(buys == 0, 0.0, lo)
        hi = np.where(nobuys == 0, 1.0, hi)
        lo = np.where(trials > 0, lo, np.nan)  # a state never visited has no estimate
        hi = np.where(trials > 0, hi, np.nan)
    else:
        rng = np.random.default_rng(seed)
        reps = np.empty((n_boot, k))
        for bi in range(n_boot):
            wb = rng.poisson(w_cust)
            b_buys, b_nobuys = _recency_counts(no_buy, ended, wb[spell_cust].astype(np.float64), k)
            tot = b_buys + b_nobuys
            with np.errstate(invalid="ignore", divide="ignore"):
                reps[bi] = np.where(tot > 0, b_buys / np.where(tot > 0, tot, 1.0), np.nan)
        lo, hi = _bootstrap_bounds(reps, level)
    counts = np.zeros((k, k))
    rows = np.arange(k)
    counts[:, 0] += buys
    counts[rows, np.minimum(rows + 1, k - 1)] += nobuys
    matrix = recency_transition_matrix(np.nan_to_num(p)) if np.all(np.isfinite(p)) else _nan_recency(p)
    se_m, lower, upper = (np.zeros((k, k)) for _ in range(3))
    nxt = np.minimum(rows + 1, k - 1)
    for arr, col0, coln in ((se_m, se, se), (lower, lo, 1 - hi), (upper, hi, 1 - lo)):
        arr[:, 0] += col0
        arr[rows, nxt] += coln
    if k == 1:  # one state: buying and not buying both stay in it
        se_m[:] = 0.0
        lower[:] = upper[:] = 1.0
    return TransitionEstimate(
        states=tuple(range(1, k + 1)),
        counts=counts,
        matrix=matrix,
        standard_errors=se_m,
        lower=lower,
        upper=upper,
        level=level,
        interval_method=method,
        n_customers=float(w_cust.sum()),
        n_transitions=float(trials.sum()),
        purchase_prob=p,
        purchase_prob_se=se,
        purchase_prob_lower=np.asarray(lo, dtype=np.float64),
        purchase_prob_upper=np.asarray(hi, dtype=np.float64),
    )


def _nan_recency(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Recency matrix where rows of unobserved states are NaN."""
    matrix = recency_transition_matrix(np.nan_to_num(p))
    matrix[~np.isfinite(p)] = np.nan
    return matrix


def estimate_state_transitions(
    customer_id: ArrayLike,
    period: ArrayLike,
    state: ArrayLike,
    *,
    states: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    level: float = 0.95,
    method: IntervalMethod = "dirichlet",
    prior: float = 0.5,
    n_boot: int = 500,
    seed: int | None = 0,
    period_unit: str | None = None,
) -> TransitionEstimate:
    """Estimate a transition matrix between user-defined states (tiers, segments).

    A transition is counted for every customer observed in periods ``t`` and ``t + 1``
    (rows of other periods are not joined across gaps).

    Parameters
    ----------
    customer_id, period, state
        One row per customer and period: the customer's state in that period.
    states
        The states in matrix order (default: the sorted distinct states); a state in
        the data but not in this list is an error.
    weights
        Optional per-row weight, constant within a customer.
    level, method, prior, n_boot, seed, period_unit
        As in :func:`estimate_recency_chain`; Dirichlet intervals put ``prior`` on every
        cell.
    """
    _check_common(level, method, prior, n_boot)
    t = period_index(period, period_unit)
    customer, uniques = _customer_index(customer_id, t.size)
    lab = np.asarray(state)
    if lab.shape != t.shape:
        raise InputError(f"'state' must have one entry per row ({t.size}); got shape {lab.shape}")
    labels = np.unique(lab) if states is None else np.asarray(states)
    order_lab = np.argsort(labels, kind="stable")
    pos = np.searchsorted(labels[order_lab], lab)
    pos = np.clip(pos, 0, labels.size - 1)
    found = labels[order_lab][pos] == lab
    if not found.all():
        bad = int(np.flatnonzero(~found)[0])
        raise InputError(f"state {_plain(lab[bad])!r} (row {bad}) is not among the given states {labels.tolist()}")
    code = order_lab[pos]
    w_cust = _customer_weights(weights, customer, uniques.size)
    order = order_by(customer, t)
    c, tt, s = customer[order], t[order], code[order]
    dup = (c[1:] == c[:-1]) & (tt[1:] == tt[:-1])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"more than one state for customer {_plain(uniques[c[i]])!r} in period {tt[i]}; "
            f"{int(dup.sum())} duplicate customer-periods"
        )
    link = (c[1:] == c[:-1]) & (tt[1:] == tt[:-1] + 1)
    k = labels.size
    cell = s[:-1][link] * k + s[1:][link]
    link_cust = c[:-1][link]
    counts = np.asarray(np.bincount(cell, weights=w_cust[link_cust], minlength=k * k), dtype=np.float64).reshape(k, k)
    matrix, se = _mle(counts)
    allowed = np.ones((k, k), dtype=bool)
    if method == "dirichlet":
        lower, upper = _row_intervals(counts, prior, level, allowed)
        empty = counts.sum(axis=1) == 0  # a state never left has no estimate
        lower[empty] = np.nan
        upper[empty] = np.nan
    else:
        rng = np.random.default_rng(seed)
        reps = np.empty((n_boot, k, k))
        for bi in range(n_boot):
            wb = rng.poisson(w_cust).astype(np.float64)
            boot = np.asarray(np.bincount(cell, weights=wb[link_cust], minlength=k * k), dtype=np.float64)
            reps[bi] = _mle(boot.reshape(k, k))[0]
        lower, upper = _bootstrap_bounds(reps, level)
    return TransitionEstimate(
        states=tuple(labels.tolist()),
        counts=counts,
        matrix=matrix,
        standard_errors=se,
        lower=np.asarray(lower, dtype=np.float64),
        upper=np.asarray(upper, dtype=np.float64),
        level=level,
        interval_method=method,
        n_customers=float(w_cust.sum()),
        n_transitions=float(counts.sum()),
    )
