"""BG/BB model maths (Fader, Hardie & Shang 2010, "Customer-base analysis in a
discrete-time noncontractual setting", Marketing Science 29(6); hereafter FHS).

``n`` discrete transaction opportunities; while alive a customer transacts at each with
probability ``p ~ Beta(alpha, beta)``; a living customer becomes inactive at the beginning
of an opportunity with probability ``theta ~ Beta(gamma, delta)``. Data: ``x``
transactions, the last at opportunity ``t_x``, out of ``n``. Pure functions of arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = [
    "loglik",
    "loglik_grad",
    "weighted_loglik_grad",
    "p_alive",
    "expected_purchases",
    "conditional_expected_purchases",
    "prob_n_purchases",
    "dert",
    "simulate",
]

FloatArray = NDArray[np.float64]
Grad = tuple[FloatArray, FloatArray, FloatArray, FloatArray]


def _f(v: ArrayLike) -> FloatArray:
    return np.asarray(v, dtype=float)


def _lb(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``log B(a, b)`` and its derivatives in ``a`` and ``b``."""
    s = special.digamma(a + b)
    return special.betaln(a, b), special.digamma(a) - s, special.digamma(b) - s


def loglik_grad(
    alpha: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    n: ArrayLike,
) -> tuple[FloatArray, Grad]:
    """Per-customer log-likelihood and its gradient in ``(alpha, beta, gamma, delta)``.

    FHS (2010): ``L = B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)
    + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha, beta)
    B(gamma+1, delta+t_x+i)/B(gamma, delta)``, summed as a ``logsumexp``.
    """
    alpha, beta, gamma, delta, x, t_x, n = (
        np.ravel(v) for v in np.broadcast_arrays(*map(_f, (alpha, beta, gamma, delta, x, t_x, n)))
    )
    base_ab, base_a, base_b = _lb(alpha, beta)
    base_gd, base_g, base_d = _lb(gamma, delta)
    a0, a0_a, a0_b = _lb(alpha + x, beta + n - x)
    g0, g0_g, g0_d = _lb(gamma, delta + n)
    width = int(np.max(n - t_x)) if n.size else 0
    i = np.arange(max(width, 1), dtype=float)[None, :]
    mask = i < (n - t_x)[:, None]
    ai, ai_a, ai_b = _lb((alpha + x)[:, None], (beta + t_x - x)[:, None] + i)
    gi, gi_g, gi_d = _lb((gamma + 1.0)[:, None], (delta + t_x)[:, None] + i)
    log_i = np.where(mask, ai + gi, -np.inf)
    log_0 = a0 + g0
    lse = np.logaddexp(log_0, special.logsumexp(log_i, axis=1))
    p0 = np.exp(log_0 - lse)
    pi = np.where(mask, np.exp(log_i - lse[:, None]), 0.0)
    ll = lse - base_ab - base_gd
    d_alpha = p0 * a0_a + (pi * ai_a).sum(axis=1) - base_a
    d_beta = p0 * a0_b + (pi * ai_b).sum(axis=1) - base_b
    d_gamma = p0 * g0_g + (pi * gi_g).sum(axis=1) - base_g
    d_delta = p0 * g0_d + (pi * gi_d).sum(axis=1) - base_d
    return ll, (d_alpha, d_beta, d_gamma, d_delta)


def _whole_number_statistics(x: FloatArray, t_x: FloatArray, n: FloatArray, w: FloatArray) -> dict[str, Any]:
    """What :func:`weighted_loglik_grad` needs from the data: distinct rows and their
    weights, and per distinct ``(x, t_x)`` pair the indices of the second term's sum."""
    xi, ti, ni = (np.asarray(v, dtype=np.int64) for v in (x, t_x, n))
    top = int(ni.max()) + 1
    key = (xi * top + ti) * top + ni
    keys, inverse = np.unique(key, return_inverse=True)
    weight = np.bincount(inverse.ravel(), weights=np.asarray(w, dtype=float), minlength=keys.size)
    keep = weight > 0
    keys, weight = keys[keep], weight[keep]
    ux, rest = np.divmod(keys, top * top)
    ut, un = np.divmod(rest, top)
    pair_keys, row_pair = np.unique(ux * top + ut, return_inverse=True)
    px, pt = np.divmod(pair_keys, top)
    span = un - ut  # terms i = 0 .. n - t_x - 1 of the sum
    longest = np.zeros(pair_keys.size, dtype=np.int64)
    np.maximum.at(longest, row_pair, span)
    i = np.arange(max(int(longest.max()), 1))[None, :]
    last = top - 1
    return {
        "x": ux,
        "n": un,
        "n_x": un - ux,
        "w": weight,
        "W": float(weight.sum()),
        "top": top,
        "row_pair": row_pair,
        "span": span,
        "pair_x": px,
        "mask": i < longest[:, None],
        "beta_i": np.minimum((pt - px)[:, None] + i, last),
        "t_i": np.minimum(pt[:, None] + i, last),
        "t_i1": np.minimum(pt[:, None] + i + 1, last),
    }


def weighted_loglik_grad(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    x: FloatArray,
    t_x: FloatArray,
    n: FloatArray,
    w: FloatArray,
    cache: dict[str, Any],
) -> tuple[float, FloatArray]:
    """``sum(w * loglik)`` and its gradient in ``(alpha, beta, gamma, delta)``, scalar parameters.

    The same likelihood as :func:`loglik_grad` (FHS 2010, eq. (5)), computed without a
    special function per customer: every Beta function in it has arguments ``param + k``
    with ``k`` a whole number up to ``max(n)``, so ``log Gamma`` and digamma are tabulated
    once per evaluation on ``0..max(n)`` and looked up. Identical rows are summed once
    (weights), and the sum over ``i`` runs as a cumulative sum per distinct ``(x, t_x)``
    pair, read off at ``n - t_x``. What depends on the data only is kept in ``cache``.
    """
    s = cache.get("bgbb")
    if s is None:
        s = cache["bgbb"] = _whole_number_statistics(x, t_x, n, w)
    k = np.arange(s["top"], dtype=float)
    shifts = (("a", alpha), ("b", beta), ("ab", alpha + beta), ("g", gamma), ("d", delta), ("gd", gamma + delta))
    G = {name: special.gammaln(v + k) for name, v in shifts}
    P = {name: special.digamma(v + k) for name, v in shifts}
    ux, un, unx, rp, span, wts = s["x"], s["n"], s["n_x"], s["row_pair"], s["span"], s["w"]
    # first term: B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)
    log_0 = G["a"][ux] + G["b"][unx] - G["ab"][un] + G["g"][0] + G["d"][un] - G["gd"][un]
    d0 = (P["a"][ux] - P["ab"][un], P["b"][unx] - P["ab"][un], P["g"][0] - P["gd"][un], P["d"][un] - P["gd"][un])
    # second term, per pair and i: B(alpha+x, beta+t_x-x+i) B(gamma+1, delta+t_x+i) / (...)
    px, mask, bi, ti, ti1 = s["pair_x"], s["mask"], s["beta_i"], s["t_i"], s["t_i1"]
    log_i = (G["a"][px][:, None] + G["b"][bi] - G["ab"][ti]) + (
        float(special.gammaln(gamma + 1.0)) + G["d"][ti] - G["gd"][ti1]
    )
    ref = log_i[:, 0]  # the largest term: both Beta functions decrease in i
    e = np.where(mask, np.exp(log_i - ref[:, None]), 0.0)
    di = (
        P["a"][px][:, None] - P["ab"][ti],
        P["b"][bi] - P["ab"][ti],
        float(special.digamma(gamma + 1.0)) - P["gd"][ti1],
        P["d"][ti] - P["gd"][ti1],
    )
    has = span > 0
    col = np.maximum(span - 1, 0)
    C = np.cumsum(e, axis=1)[rp, col]
    log_sum = np.where(has, ref[rp] + np.log(np.where(has, C, 1.0)), -np.inf)
    lse = np.logaddexp(log_0, log_sum)
    p0 = np.exp(log_0 - lse)
    q = np.where(has, np.exp(ref[rp] - lse), 0.0)
    base = (G["a"][0] + G["b"][0] - G["ab"][0], G["g"][0] + G["d"][0] - G["gd"][0])
    d_base = (P["a"][0] - P["ab"][0], P["b"][0] - P["ab"][0], P["g"][0] - P["gd"][0], P["d"][0] - P["gd"][0])
    total = float((wts * lse).sum()) - s["W"] * (base[0] + base[1])
    grad = np.empty(4)
    for j in range(4):
        D = np.cumsum(e * di[j], axis=1)[rp, col]
        grad[j] = float((wts * (p0 * d0[j] + q * D)).sum()) - s["W"] * d_base[j]
    return total, grad


def loglik(
    alpha: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    n: ArrayLike,
) -> FloatArray:
    """Per-customer log-likelihood, FHS (2010); see :func:`loglik_grad`."""
    return loglik_grad(alpha, beta, gamma, delta, x, t_x, n)[0]


def p_alive(
    alpha: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    n: ArrayLike,
) -> FloatArray:
    """P(alive at opportunity n+1 | x, t_x, n) (FHS 2010):
    ``B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n+1)/B(gamma, delta) / L``."""
    alpha, beta, gamma, delta, x, t_x, n = map(_f, (alpha, beta, gamma, delta, x, t_x, n))
    ll = loglik(alpha, beta, gamma, delta, x, t_x, n).reshape(np.broadcast(alpha, x, t_x, n).shape)
    log_num = (
        special.betaln(alpha + x, beta + n - x)
        - special.betaln(alpha, beta)
        + special.betaln(gamma, delta + n + 1.0)
        - special.betaln(gamma, delta)
    )
    return np.exp(log_num - ll)


def _gamma_ratio_diff(gamma: FloatArray, delta: FloatArray, lo: FloatArray, hi: FloatArray) -> FloatArray:
    """``[G(1+delta+lo)/G(gamma+delta+lo) - G(1+delta+hi)/G(gamma+delta+hi)] G(gamma+delta)/G(1+delta) / (gamma-1)``."""

    def ratio(m: FloatArray) -> FloatArray:
        return special.gammaln(1.0 + delta + m) - special.gammaln(gamma + delta + m)

    head = special.gammaln(gamma + delta) - special.gammaln(1.0 + delta)
    at_one = gamma == 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (np.exp(head + ratio(lo)) - np.exp(head + ratio(hi))) / (gamma - 1.0)
    # gamma = 1 is a removable 0/0: the limit is the derivative in gamma of the bracket,
    # psi(1+delta+hi) - psi(1+delta+lo)
    limit = special.digamma(1.0 + delta + hi) - special.digamma(1.0 + delta + lo)
    return np.where(at_one, limit, out)


def expected_purchases(
    n: ArrayLike, alpha: ArrayLike, beta: ArrayLike, gamma: ArrayLike, delta: ArrayLike
) -> FloatArray:
    """E[X(n)] for a new customer (FHS 2010):
    ``alpha/(alpha+beta) delta/(gamma-1) [1 - G(gamma+delta)/G(gamma+delta+n) G(1+delta+n)/G(1+delta)]``."""
    n, alpha, beta, gamma, delta = map(_f, (n, alpha, beta, gamma, delta))
    return alpha / (alpha + beta) * delta * _gamma_ratio_diff(gamma, delta, np.zeros_like(n), n)


def conditional_expected_purchases(
    n_star: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    n: ArrayLike,
) -> FloatArray:
    """E[X(n, n+n*) | x, t_x, n], expected transactions in the next ``n*`` opportunities, FHS (2010)."""
    n_star, alpha, beta, gamma, delta, x, t_x, n = map(_f, (n_star, alpha, beta, gamma, delta, x, t_x, n))
    ll = loglik(alpha, beta, gamma, delta, x, t_x, n).reshape(np.broadcast(alpha, x, t_x, n).shape)
    log_head = special.betaln(alpha + x + 1.0, beta + n - x) - special.betaln(alpha, beta) - ll
    return np.exp(log_head) * delta * _gamma_ratio_diff(gamma, delta, n, n + n_star)


def prob_n_purchases(
    k: ArrayLike, n: ArrayLike, alpha: ArrayLike, beta: ArrayLike, gamma: ArrayLike, delta: ArrayLike
) -> FloatArray:
    """P(X(n) = k) for a new customer (FHS 2010):
    ``C(n,k) B(alpha+k, beta+n-k)/B(alpha,beta) B(gamma, delta+n)/B(gamma,delta)
    + sum_{i=k}^{n-1} C(i,k) B(alpha+k, beta+i-k)/B(alpha,beta) B(gamma+1, delta+i)/B(gamma,delta)``."""
    k, n, alpha, beta, gamma, delta = np.broadcast_arrays(*map(_f, (k, n, alpha, beta, gamma, delta)))
    base = special.betaln(alpha, beta) + special.betaln(gamma, delta)

    def log_choose(a: FloatArray, b: FloatArray) -> FloatArray:
        return special.gammaln(a + 1.0) - special.gammaln(b + 1.0) - special.gammaln(a - b + 1.0)

    first = np.exp(log_choose(n, k) + special.betaln(alpha + k, beta + n - k) + special.betaln(gamma, delta + n) - base)
    width = int(np.max(n)) if n.size else 0
    i = np.arange(max(width, 1), dtype=float)
    ii = i.reshape((1,) * k.ndim + (-1,))
    ke, ne = k[..., None], n[..., None]
    valid = (ii >= ke) & (ii < ne)
    safe_i = np.where(valid, ii, ke)
    terms = np.exp(
        log_choose(safe_i, ke)
        + special.betaln(alpha[..., None] + ke, beta[..., None] + safe_i - ke)
        + special.betaln(gamma[..., None] + 1.0, delta[..., None] + safe_i)
        - base[..., None]
    )
    return first + np.where(valid, terms, 0.0).sum(axis=-1)


def dert(
    d: float,
    alpha: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    n: ArrayLike,
) -> FloatArray:
    """Discounted expected residual transactions with discount rate ``d`` per opportunity (FHS 2010):
    ``B(alpha+x+1, beta+n-x)/B(alpha, beta) B(gamma, delta+n+1)/((1+d) B(gamma, delta))
    2F1(1, delta+n+1; gamma+delta+n+1; 1/(1+d)) / L``."""
    alpha, beta, gamma, delta, x, t_x, n = map(_f, (alpha, beta, gamma, delta, x, t_x, n))
    ll = loglik(alpha, beta, gamma, delta, x, t_x, n).reshape(np.broadcast(alpha, x, t_x, n).shape)
    log_head = (
        special.betaln(alpha + x + 1.0, beta + n - x)
        - special.betaln(alpha, beta)
        + special.betaln(gamma, delta + n + 1.0)
        - special.betaln(gamma, delta)
        - np.log1p(d)
        - ll
    )
    return np.exp(log_head) * special.hyp2f1(1.0, delta + n + 1.0, gamma + delta + n + 1.0, 1.0 / (1.0 + d))


def simulate(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    n: int,
    *,
    size: int,
    holdout: int = 0,
    rng: np.random.Generator | int | None = None,
) -> dict[str, FloatArray]:
    """Draw customers from the BG/BB story (FHS section 2) over ``n`` (+ ``holdout``) opportunities.

    Returns
    -------
    dict
        ``frequency``, ``recency``, ``n_periods`` and ``holdout_frequency``.
    """
    gen = np.random.default_rng(rng)
    p = gen.beta(alpha, beta, size)
    theta = gen.beta(gamma, delta, size)
    alive_periods = gen.geometric(theta) - 1  # opportunities before dying at the start of the next
    total = n + holdout
    t = np.arange(1, total + 1)[None, :]
    buys = (gen.random((size, total)) < p[:, None]) & (t <= alive_periods[:, None])
    cal = buys[:, :n]
    freq = cal.sum(axis=1)
    rec = np.where(freq > 0, n - np.argmax(cal[:, ::-1], axis=1), 0)
    return {
        "frequency": freq.astype(float),
        "recency": rec.astype(float),
        "n_periods": np.full(size, float(n)),
        "holdout_frequency": buys[:, n:].sum(axis=1).astype(float),
    }
