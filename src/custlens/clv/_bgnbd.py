"""BG/NBD model maths (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Pure functions of arrays. Notation of the paper: ``x`` repeat transactions, ``t_x`` time of
the last one, ``T`` length of observation; transaction rate ``lambda ~ Gamma(r, alpha)``,
dropout probability after each repeat purchase ``p ~ Beta(a, b)``.

The functions carry a private ``k`` switch shared with the MBG/NBD model (Batislam,
Denizel & Filiztekin 2007), in which a customer may also drop out right after the first
purchase: ``k = 0`` is BG/NBD, ``k = 1`` is MBG/NBD. Every formula below reduces to the
BG/NBD paper's equation at ``k = 0``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from custlens.clv._numeric import digamma_diff, gauss_laguerre, per_count, scratch

__all__ = [
    "loglik",
    "loglik_grad",
    "weighted_loglik_grad",
    "weighted_loglik_grad_hess",
    "p_alive",
    "expected_purchases",
    "conditional_expected_purchases",
    "alive_expected_purchases",
    "alive_survival",
    "p_alive_later",
    "prob_n_purchases",
    "dert",
    "simulate",
]

FloatArray = NDArray[np.float64]
Grad = tuple[FloatArray, FloatArray, FloatArray, FloatArray]


def _f(v: ArrayLike) -> FloatArray:
    return np.asarray(v, dtype=float)


def loglik_grad(
    r: ArrayLike,
    alpha: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    k: int = 0,
) -> tuple[FloatArray, Grad]:
    """Per-customer log-likelihood and its analytic gradient in ``(r, alpha, a, b)``.

    FHL (2005) eq. (6): ``L = A1 * A2 * (A3 + delta(x>0) A4)`` with
    ``A1 = Gamma(r+x) alpha^r / Gamma(r)``, ``A2 = B(a, b+x) / B(a, b)``,
    ``A3 = (alpha+T)^-(r+x)``, ``A4 = a / (b+x-1) (alpha+t_x)^-(r+x)``, evaluated as a
    ``logaddexp`` so that frequencies in the thousands stay finite. With ``k = 1`` it is
    the MBG/NBD likelihood of Batislam et al. (2007): ``b+x`` becomes ``b+x+1``
    and the dropout term applies to every customer.

    Returns
    -------
    tuple
        ``ll`` (one value per row) and the tuple of per-row derivatives
        ``(d/dr, d/dalpha, d/da, d/db)``.
    """
    r, alpha, a, b, x, t_x, T = map(_f, (r, alpha, a, b, x, t_x, T))
    bx = b + x + k
    log_at, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    a1 = per_count(special.gammaln, r, x) - special.gammaln(r) + r * np.log(alpha)
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        a2 = per_count(lambda v: special.betaln(a, v), b + k, x) - special.betaln(a, b)
    else:
        a2 = special.betaln(a, bx) - special.betaln(a, b)
    a3 = -(r + x) * log_at
    has_a4 = (x + k) > 0
    bx1 = np.where(has_a4, bx - 1.0, 1.0)
    a4 = np.where(has_a4, np.log(a) - np.log(bx1) - (r + x) * log_atx, -np.inf)
    tail = np.logaddexp(a3, a4)
    ll = a1 + a2 + tail
    w3 = np.exp(a3 - tail)
    w4 = np.where(has_a4, np.exp(a4 - tail), 0.0)

    psi_ab = special.digamma(a + b)
    psi_abx = per_count(special.digamma, a + b + k, x) if np.ndim(a + b) == 0 else special.digamma(a + bx)
    d_r = digamma_diff(r, x) + np.log(alpha) - w3 * log_at - w4 * log_atx
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))
    d_a = psi_ab - psi_abx + w4 / a
    d_b = psi_ab - psi_abx + digamma_diff(b, x + k) - w4 / bx1
    return ll, (d_r, d_alpha, d_a, d_b)


def _sum_product(u: NDArray[Any], v: NDArray[Any]) -> float:
    """``sum(u * v)`` without BLAS: concurrent BLAS calls from the fit's threads wait on each other."""
    return float((u * v).sum())


def weighted_loglik_grad(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    w: FloatArray,
    *,
    k: int = 0,
) -> tuple[float, FloatArray] | None:
    """``sum(w * loglik)`` and its gradient in ``(r, alpha, a, b)``, for scalar parameters.

    The likelihood of :func:`loglik_grad` (FHL 2005 eq. (6); Batislam et al. 2007 with
    ``k = 1``) split by what each term depends on. ``A1`` and ``A2`` and their derivatives
    depend on the frequency only: they are computed once per distinct frequency and summed
    with the customers' weight per frequency. Per customer remain two logarithms, the
    mixture ``log(A3 + A4) = A3 + softplus(d)`` with ``d = log(a/(b+x+k-1)) +
    (r+x)(log(alpha+T) - log(alpha+t_x))``, and two reciprocals for the gradient in
    ``alpha``: about a third of the array passes of :func:`loglik_grad`. ``x`` must hold
    whole numbers; returns None when they range too widely for a table (the caller then
    sums :func:`loglik_grad`).
    """
    out = _weighted(r, alpha, a, b, x, t_x, T, w, k, hessian=False)
    return None if out is None else (out[0], out[1])


def weighted_loglik_grad_hess(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    w: FloatArray,
    *,
    k: int = 0,
) -> tuple[float, FloatArray, FloatArray] | None:
    """:func:`weighted_loglik_grad` and the analytic Hessian in ``(r, alpha, a, b)`` (4 x 4).

    Differentiating the split form once more: the per-frequency terms give trigamma
    functions once per distinct frequency (``psi'(r+x) - psi'(r)``, and the Beta function
    terms ``psi'(a+b) - psi'(a+b+x+k)``, ``psi'(b+x+k) - psi'(b)``), ``r log(alpha) -
    (r+x) log(alpha+T)`` gives ``1/alpha - 1/(alpha+T)`` and ``-r/alpha^2 + (r+x)/(alpha+T)^2``,
    and ``softplus(d)`` gives ``sigma'(d) grad(d) grad(d)' + sigma(d) hess(d)`` with
    ``sigma(d) = A4/(A3+A4)``, ``grad(d) = (log((alpha+T)/(alpha+t_x)), (r+x)(1/(alpha+T) -
    1/(alpha+t_x)), 1/a, -1/(b+x+k-1))``. Per customer this adds about ten array passes to
    the gradient's; the terms in ``a`` and ``b`` are summed per frequency.
    """
    out = _weighted(r, alpha, a, b, x, t_x, T, w, k, hessian=True)
    if out is None:
        return None
    total, grad, hess = out
    assert hess is not None
    return total, grad, hess


#: a run of at least this many rows with one frequency is summed with that frequency's terms
#: as scalars (rows sorted by frequency, as the fit orders them); shorter runs go row by row
RUN_ROWS = 256

#: the row sums of one run of equal frequency, in this order (``v = w4 (1 - w4)``, every
#: sum weighted by ``w``): the run's weight, ``log(alpha+T)``, ``1/(alpha+T)``,
#: ``1/(alpha+T)^2``, ``softplus(d)``, ``w4``, ``w4 diff``, ``w4 delta``, ``v``, ``v diff``,
#: ``v diff^2``, ``v diff delta``, ``v delta``, ``v delta^2``, ``w4 (1/(alpha+t_x)^2 - 1/(alpha+T)^2)``
_N_SUMS = 15
#: rows per pass of :func:`_run_sums` (its scratch arrays stay in the processor's cache)
_CHUNK = 32_768


def _weighted(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    w: FloatArray,
    k: int,
    *,
    hessian: bool,
) -> tuple[float, FloatArray, FloatArray | None] | None:
    """The sums of :func:`weighted_loglik_grad_hess` (the Hessian only when ``hessian``).

    Rows sorted by frequency (as the fit orders them) are summed run by run
    (:func:`_weighted_runs`): within a run of one frequency ``x`` the terms ``r + x``,
    ``log(a/(b+x+k-1))`` and every special function are scalars, and the sums that carry
    ``x`` are per-run sums times those scalars, so a customer costs about half the array
    passes of the row-by-row form (:func:`_weighted_rows`), and one without a repeat
    purchase (``x = 0`` in BG/NBD: no dropout term) about a tenth. Runs shorter than
    :data:`RUN_ROWS` and unsorted rows go row by row. Both give the same sums to rounding.
    """
    n = x.size
    if n >= RUN_ROWS:
        cuts = np.flatnonzero(x[1:] != x[:-1]) + 1
        if bool(np.all(x[cuts] > x[cuts - 1])):  # sorted
            starts = np.concatenate(([0], cuts))
            ends = np.concatenate((cuts, [n]))
            if bool(np.any(ends - starts >= RUN_ROWS)):
                return _weighted_runs(r, alpha, a, b, x, t_x, T, w, k, starts, ends, hessian=hessian)
    return _weighted_rows(r, alpha, a, b, x, t_x, T, w, k, hessian=hessian)


def _weighted_runs(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    w: FloatArray,
    k: int,
    starts: NDArray[np.intp],
    ends: NDArray[np.intp],
    *,
    hessian: bool,
) -> tuple[float, FloatArray, FloatArray | None] | None:
    """:func:`_weighted` on rows sorted by frequency, ``[starts[j], ends[j])`` the runs."""
    long = (ends - starts) >= RUN_ROWS
    counts = x[starts[long]]
    unit = bool(np.all(w == 1.0))
    S = np.array(
        [
            _run_sums(
                alpha,
                r + float(cnt),
                cnt + k > 0,
                float(cnt) == 0.0,
                t_x[lo:hi],
                T[lo:hi],
                None if unit else w[lo:hi],
                a,
                b + float(cnt) + k,
                hessian,
            )
            for cnt, lo, hi in zip(counts.tolist(), starts[long].tolist(), ends[long].tolist(), strict=True)
        ]
    ).reshape(-1, _N_SUMS)
    (W, S_lA, S_iA, S_iA2, S_sp, S_w4, S_w4diff, S_w4delta, S_v, S_vd, S_vdd, S_vddel, S_vdel, S_vdel2, S_w4q) = S.T
    rk = r + counts
    bk = b + counts + k
    has_a4 = (counts + k) > 0
    inv_b1 = np.where(has_a4, 1.0 / np.where(has_a4, bk - 1.0, 1.0), 0.0)
    psi_ab = float(special.digamma(a + b))
    g_a = psi_ab - special.digamma(a + bk)  # d/da of log B(a, b+x+k) - log B(a, b)
    g_b = g_a + special.digamma(bk) - special.digamma(b)
    per_count_ll = special.gammaln(rk) - special.gammaln(r) + special.betaln(a, bk) - special.betaln(a, b)
    log_alpha = float(np.log(alpha))
    total = float(W @ per_count_ll) + float(W.sum()) * r * log_alpha - float(rk @ S_lA) + float(S_sp.sum())
    Wt = float(W.sum())
    d_r = (
        float(W @ (special.digamma(rk) - special.digamma(r)))
        + Wt * log_alpha
        - float(S_lA.sum())
        + float(S_w4diff.sum())
    )
    d_alpha = Wt * r / alpha - float(rk @ (S_iA - S_w4delta))
    d_a = float(W @ g_a) + float(S_w4.sum()) / a
    d_b = float(W @ g_b) - float(S_w4 @ inv_b1)
    grad = np.array([d_r, d_alpha, d_a, d_b])
    H: FloatArray | None = None
    if hessian:
        tri_ab = float(special.polygamma(1, a + b))
        h_a = tri_ab - special.polygamma(1, a + bk)
        h_b = h_a + special.polygamma(1, bk) - special.polygamma(1, b)
        H = np.empty((4, 4))
        H[0, 0] = float(W @ (special.polygamma(1, rk) - special.polygamma(1, r))) + float(S_vdd.sum())
        H[0, 1] = Wt / alpha - float(S_iA.sum()) + float(rk @ S_vddel) + float(S_w4delta.sum())
        H[1, 1] = -Wt * r / alpha**2 + float(rk @ S_iA2) + float((rk * rk) @ S_vdel2) + float(rk @ S_w4q)
        H[0, 2] = float(S_vd.sum()) / a
        H[0, 3] = -float(S_vd @ inv_b1)
        H[1, 2] = float(rk @ S_vdel) / a
        H[1, 3] = -float((rk * S_vdel) @ inv_b1)
        H[2, 2] = float(W @ h_a) + (float(S_v.sum()) - float(S_w4.sum())) / a**2
        H[2, 3] = float(W @ h_a) - float(S_v @ inv_b1) / a
        H[3, 3] = float(W @ h_b) + float((inv_b1 * inv_b1) @ (S_v + S_w4))
        for i in range(4):
            for j in range(i):
                H[i, j] = H[j, i]
    if bool(long.all()):
        return total, grad, H
    short = np.repeat(~long, ends - starts)
    rest = _weighted_rows(r, alpha, a, b, x[short], t_x[short], T[short], w[short], k, hessian=hessian)
    if rest is None:
        return None
    return total + rest[0], grad + rest[1], None if H is None or rest[2] is None else H + rest[2]


def _run_sums(
    alpha: float,
    rk: float,
    has_a4: bool,
    no_repeat: bool,
    t_x: FloatArray,
    T: FloatArray,
    w: FloatArray | None,
    a: float,
    bk: float,
    hessian: bool,
) -> list[float]:
    """The :data:`_N_SUMS` row sums of one run of equal frequency (``w`` None: weights 1).

    ``d = log(a/(b+x+k-1)) + (r+x) diff`` with ``diff = log((alpha+T)/(alpha+t_x))``, ``w4 =
    sigma(d)`` and ``delta = 1/(alpha+T) - 1/(alpha+t_x)``; a run without the dropout term
    (``has_a4`` false) has only the first four sums. The passes write into a scratch array
    of the thread (:func:`custlens.clv._numeric.scratch`), in chunks of :data:`_CHUNK` rows.
    """
    n = T.size
    if n > _CHUNK:
        parts = [
            _run_sums(
                alpha,
                rk,
                has_a4,
                no_repeat,
                t_x[i : i + _CHUNK],
                T[i : i + _CHUNK],
                None if w is None else w[i : i + _CHUNK],
                a,
                bk,
                hessian,
            )
            for i in range(0, n, _CHUNK)
        ]
        return [float(v) for v in np.sum(parts, axis=0)]

    def total(v: FloatArray) -> float:
        return float(v.sum()) if w is None else float(np.dot(w, v))

    S = scratch(8, n)
    A, lA = S[0], S[1]
    np.add(T, alpha, out=A)
    np.log(A, out=lA)
    iA = np.divide(1.0, A, out=A)
    W = float(n) if w is None else float(w.sum())
    out = [W, total(lA), total(iA), float(np.dot(iA, iA)) if w is None else float(np.dot(w * iA, iA))]
    if not has_a4:
        return out + [0.0] * (_N_SUMS - 4)
    diff, delta = S[2], S[3]
    iB: FloatArray | float
    if no_repeat and not t_x.any():  # MBG/NBD without repeat purchases: t_x = 0
        np.subtract(lA, float(np.log(alpha)), out=diff)
        iB = 1.0 / alpha
        np.subtract(iA, iB, out=delta)
    else:
        np.add(t_x, alpha, out=delta)
        np.log(delta, out=diff)
        np.subtract(lA, diff, out=diff)
        iB = np.divide(1.0, delta, out=S[7])
        np.subtract(iA, iB, out=delta)
    d, e, s, w4 = S[4], S[5], S[6], S[1]  # lA is summed: its row takes w4
    np.multiply(diff, rk, out=d)
    d += float(np.log(a) - np.log(bk - 1.0))
    np.abs(d, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)  # exp(-|d|)
    np.add(e, 1.0, out=s)
    np.divide(1.0, s, out=s)  # 1 / (1 + exp(-|d|))
    np.minimum(d, 0.0, out=w4)
    np.exp(w4, out=w4)
    w4 *= s  # sigma(d) = exp(min(d, 0)) / (1 + exp(-|d|))
    np.maximum(d, 0.0, out=d)
    softplus = total(d) + total(np.log1p(e, out=d))  # softplus(d) = max(d, 0) + log(1 + exp(-|d|))
    if w is not None:
        w4 *= w
    out += [softplus, float(w4.sum()), float(np.dot(w4, diff)), float(np.dot(w4, delta))]
    if not hessian:
        return out + [0.0] * (_N_SUMS - 8)
    v = e
    v *= s
    v *= s  # sigma'(d) = exp(-|d|) / (1 + exp(-|d|))^2
    if w is not None:
        v *= w
    vd, vdel = d, s
    np.multiply(v, diff, out=vd)
    np.multiply(v, delta, out=vdel)
    sums = [
        float(v.sum()),
        float(vd.sum()),
        float(np.dot(vd, diff)),
        float(np.dot(vd, delta)),
        float(vdel.sum()),
        float(np.dot(vdel, delta)),
    ]
    iA += iB  # 1/(alpha+T) + 1/(alpha+t_x): w4 (iB^2 - iA^2) = -w4 delta (iA + iB)
    w4 *= delta
    return out + sums + [-float(np.dot(w4, iA))]


def _weighted_rows(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    w: FloatArray,
    k: int,
    *,
    hessian: bool,
) -> tuple[float, FloatArray, FloatArray | None] | None:
    """:func:`_weighted` row by row, with the terms of each frequency from a table."""
    xi = x.astype(np.intp)
    top = int(xi.max()) + 1 if xi.size else 1
    if top > 4 * xi.size + 1024:
        return None
    counts = np.arange(top, dtype=float)
    Wk = np.bincount(xi, weights=w, minlength=top)
    W = float(Wk.sum())
    bk = b + counts + k  # b + x (+1 for MBG/NBD)
    has_a4 = (counts + k) > 0
    inv_b1 = np.where(has_a4, 1.0 / np.where(has_a4, bk - 1.0, 1.0), 0.0)
    c = np.where(has_a4, np.log(a) + np.log(inv_b1, where=has_a4, out=np.zeros(top)), -np.inf)
    log_at, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    diff = log_at - log_atx
    rx = x + r
    d = c[xi] + rx * diff
    e = np.exp(-np.abs(d))
    w4 = np.where(d >= 0.0, 1.0, e) / (1.0 + e)  # A4 / (A3 + A4)
    softplus = np.maximum(d, 0.0) + np.log1p(e)
    ww4 = w * w4
    psi_ab = float(special.digamma(a + b))
    psi_abk = special.digamma(a + bk)
    per_count_ll = special.gammaln(r + counts) - special.gammaln(r) + special.betaln(a, bk) - special.betaln(a, b)
    total = (
        float((Wk * per_count_ll).sum())
        + W * r * float(np.log(alpha))
        - float((w * rx * log_at).sum())
        + float((w * softplus).sum())
    )
    inv_at, inv_atx = 1.0 / (alpha + T), 1.0 / (alpha + t_x)
    d_r = (
        float(_sum_product(Wk, special.digamma(r + counts) - special.digamma(r)))
        + W * float(np.log(alpha))
        - float((w * log_at).sum())
        + float((ww4 * diff).sum())
    )
    d_alpha = W * r / alpha - float((w * rx * (inv_at + w4 * (inv_atx - inv_at))).sum())
    V = np.bincount(xi, weights=ww4, minlength=top)
    d_a = float(_sum_product(Wk, psi_ab - psi_abk)) + float(ww4.sum()) / a
    d_b = float(_sum_product(Wk, psi_ab - psi_abk + special.digamma(bk) - special.digamma(b))) - float(
        (V * inv_b1).sum()
    )
    grad = np.array([d_r, d_alpha, d_a, d_b])
    if not hessian:
        return total, grad, None
    # sigma'(d) = w4 (1 - w4) = e / (1 + e)^2, and the derivatives of d in r and alpha
    wv = w * (e / ((1.0 + e) * (1.0 + e)))
    delta = inv_at - inv_atx
    d_da = rx * delta
    wv_dr, wv_da = wv * diff, wv * d_da
    S_wv_dr, S_wv_da = float(wv_dr.sum()), float(wv_da.sum())
    Vv = np.bincount(xi, weights=wv, minlength=top)
    V_dr = np.bincount(xi, weights=wv_dr, minlength=top)
    V_da = np.bincount(xi, weights=wv_da, minlength=top)
    tri_ab = float(special.polygamma(1, a + b))
    tri_abk = special.polygamma(1, a + bk)
    H = np.empty((4, 4))
    H[0, 0] = float(_sum_product(Wk, special.polygamma(1, r + counts) - special.polygamma(1, r))) + float(
        (wv_dr * diff).sum()
    )
    H[0, 1] = W / alpha - float((w * inv_at).sum()) + float((wv_dr * d_da).sum()) + float((ww4 * delta).sum())
    H[1, 1] = (
        -W * r / alpha**2
        + float((w * rx * inv_at * inv_at).sum())
        + float((wv_da * d_da).sum())
        + float((ww4 * rx * (inv_atx * inv_atx - inv_at * inv_at)).sum())
    )
    H[0, 2] = S_wv_dr / a
    H[0, 3] = -float((V_dr * inv_b1).sum())
    H[1, 2] = S_wv_da / a
    H[1, 3] = -float((V_da * inv_b1).sum())
    H[2, 2] = float(_sum_product(Wk, tri_ab - tri_abk)) + (float(Vv.sum()) - float(V.sum())) / a**2
    H[2, 3] = float(_sum_product(Wk, tri_ab - tri_abk)) - float((Vv * inv_b1).sum()) / a
    H[3, 3] = float(_sum_product(Wk, tri_ab - tri_abk + special.polygamma(1, bk) - special.polygamma(1, b))) + float(
        (inv_b1 * inv_b1 * (Vv + V)).sum()
    )
    for i in range(4):
        for j in range(i):
            H[i, j] = H[j, i]
    return total, grad, H


def loglik(
    r: ArrayLike,
    alpha: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    k: int = 0,
) -> FloatArray:
    """Per-customer log-likelihood, FHL (2005) eq. (6); see :func:`loglik_grad`."""
    return loglik_grad(r, alpha, a, b, x, t_x, T, k=k)[0]


def p_alive(
    r: ArrayLike,
    alpha: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    k: int = 0,
) -> FloatArray:
    """P(alive at T | x, t_x, T), FHL (2005) eq. (A13 in the technical appendix).

    ``1 / (1 + delta(x>0) a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))`` computed as a
    logistic of the log-odds, so it never overflows.
    """
    r, alpha, a, b, x, t_x, T = map(_f, (r, alpha, a, b, x, t_x, T))
    has = (x + k) > 0
    bx1 = np.where(has, b + x + k - 1.0, 1.0)
    log_odds = np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(has, special.expit(-log_odds), 1.0)


def _alive_expectation(t: FloatArray, r: FloatArray, alpha: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    """Expected repeat purchases in ``(0, t]`` of a customer alive now, FHL (2005) eq. (9) form.

    ``(a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``, with the
    hypergeometric term rewritten by Euler's transformation
    ``2F1(r, b; c; z) = (1-z)^(c-r-b) 2F1(c-r, c-b; c; z)`` (Abramowitz & Stegun 15.3.3) so
    that ``(1-z)^r`` and the series are combined into ``(1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b-1; z)``,
    whose parameters stay moderate when ``r`` and ``b`` carry a customer's large frequency.
    """
    exact = _alive_expectation_exact(t, r, alpha, a, b)
    at_one = np.asarray(a == 1.0)
    if at_one.any():
        # a = 1 is a removable singularity of the closed form (0/0): take the mean of the
        # two sides a = 1 -+ h, whose error is O(h^2) = 1e-8 relative (the function is
        # analytic in a), instead of a division by zero
        h = 1e-4
        below = _alive_expectation_exact(t, r, alpha, np.where(at_one, 1.0 - h, a), b)
        above = _alive_expectation_exact(t, r, alpha, np.where(at_one, 1.0 + h, a), b)
        exact = np.where(at_one, 0.5 * (below + above), exact)
    # When a + b is huge the dropout probability is practically the same for everyone and
    # 2F1 overflows; then p is fixed at its mean a/(a+b) (relative error O(1/(a+b))):
    # E = (1 - (alpha/(alpha+p t))^r) / p.
    p = a / (a + b)
    fixed = -np.expm1(-r * np.log1p(p * t / alpha)) / p
    return np.where(np.isfinite(exact) & (a + b < 1e6), exact, fixed)


def _alive_expectation_exact(
    t: FloatArray, r: FloatArray, alpha: FloatArray, a: FloatArray, b: FloatArray
) -> FloatArray:
    """The closed form of :func:`_alive_expectation` (not finite at ``a = 1`` or on overflow)."""
    z = t / (alpha + t)
    c = a + b - 1.0
    log_1mz = np.log(alpha) - np.log(alpha + t)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        hyp = special.hyp2f1(c - r, a - 1.0, c, z)
        out: FloatArray = c / (a - 1.0) * (1.0 - np.exp((a - 1.0) * log_1mz) * hyp)
    return out


def expected_purchases(
    t: ArrayLike, r: ArrayLike, alpha: ArrayLike, a: ArrayLike, b: ArrayLike, *, k: int = 0
) -> FloatArray:
    """E[X(t)] for a randomly chosen new customer, FHL (2005) eq. (9).

    For MBG/NBD (``k = 1``, Batislam et al. 2007) the customer is alive after the
    first purchase with probability ``b/(a+b)``: ``b/(a-1) [1 - (alpha/(alpha+t))^r
    2F1(r, b+1; a+b; t/(alpha+t))]``.
    """
    t, r, alpha, a, b = map(_f, (t, r, alpha, a, b))
    if k == 0:
        return _alive_expectation(t, r, alpha, a, b)
    return b / (a + b) * _alive_expectation(t, r, alpha, a, b + 1.0)


def conditional_expected_purchases(
    t: ArrayLike,
    r: ArrayLike,
    alpha: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    k: int = 0,
) -> FloatArray:
    """E[Y(t) | x, t_x, T], expected repeat purchases in ``(T, T+t]``, FHL (2005) eq. (10).

    Equals P(alive) times the alive-customer expectation with updated parameters
    ``r+x, alpha+T`` and ``p ~ Beta(a, b+x)`` (``b+x+1`` for MBG/NBD, Batislam et al.
    2007).
    """
    t, r, alpha, a, b, x, t_x, T = map(_f, (t, r, alpha, a, b, x, t_x, T))
    alive = p_alive(r, alpha, a, b, x, t_x, T, k=k)
    return alive * alive_expected_purchases(t, r, alpha, a, b, x, T, k=k)


def alive_expected_purchases(
    t: ArrayLike,
    r: ArrayLike,
    alpha: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    x: ArrayLike,
    T: ArrayLike,
    *,
    k: int = 0,
) -> FloatArray:
    """Expected purchases in ``(T, T+t]`` of a customer known to be alive at ``T`` (the factor
    of FHL 2005 eq. (10) after P(alive)); depends on ``x`` and ``T`` only, not on ``t_x``."""
    t, r, alpha, a, b, x, T = map(_f, (t, r, alpha, a, b, x, T))
    return _alive_expectation(t, r + x, alpha + T, a, b + x + k)


def alive_survival(
    t: ArrayLike,
    r: ArrayLike,
    alpha: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    x: ArrayLike,
    T: ArrayLike,
    *,
    k: int = 0,
) -> FloatArray:
    """P(still alive at ``T+t`` | alive at ``T``, x, T): no dropout after the purchases in ``(T, T+t]``.

    Given alive at ``T``, the alive branch of FHL (2005) eq. (6), ``lambda^x e^(-lambda T)
    (1-p)^x``, makes ``lambda ~ Gamma(r+x, alpha+T)`` and ``p ~ Beta(a, b+x)`` independent.
    The customer survives the ``N ~ Poisson(lambda t)`` purchases of ``(T, T+t]`` with
    probability ``(1-p)^N``, and ``E[(1-p)^N | lambda, p] = exp(-lambda t p)``, so (the
    conditioning of FHL 2005's derivation of eq. (10))

        E_p[((alpha+T) / (alpha+T+t p))^(r+x)] = 2F1(r+x, a; a+b+x; -t/(alpha+T)).

    MBG/NBD (``k = 1``, Batislam et al. 2007): the alive branch carries ``(1-p)^(x+1)``, so
    ``p ~ Beta(a, b+x+1)`` and the third argument is ``a+b+x+1``. Evaluated with Pfaff's
    transformation ``2F1(A, B; C; z) = (1-z)^-B 2F1(B, C-A; C; z/(z-1))`` (Abramowitz &
    Stegun 15.3.4): ``((alpha+T)/(alpha+T+t))^a 2F1(a, a+b+k-r; a+b+x+k; t/(alpha+T+t))``,
    whose argument lies in ``[0, 1)`` and whose first two parameters do not grow with ``x``.
    """
    t, r, alpha, a, b, x, T = map(_f, (t, r, alpha, a, b, x, T))
    w = t / (alpha + T + t)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        head = np.exp(a * (np.log(alpha + T) - np.log(alpha + T + t)))
        out = head * special.hyp2f1(a, a + b + k - r, a + b + x + k, w)
    bad = ~np.isfinite(out) | (a + b >= 1e6)
    if np.any(bad):
        # dropout probability the same for everyone (a + b huge) or 2F1 overflowing: the
        # integrand at the posterior mean p = a / (a+b+x+k), error of order 1/(a+b) (see
        # the note on expectations in docs/clv-models.md)
        p = a / (a + b + x + k)
        homogeneous = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t * p)))
        out = np.where(bad, homogeneous, out)
    return np.asarray(np.clip(out, 0.0, 1.0))


def p_alive_later(
    t: ArrayLike,
    r: ArrayLike,
    alpha: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    k: int = 0,
) -> FloatArray:
    """P(alive at ``T+t`` | x, t_x, T): P(alive at ``T``) (FHL 2005, appendix) times
    :func:`alive_survival`, ``2F1(r+x, a; a+b+x+k; -t/(alpha+T))``."""
    t, r, alpha, a, b, x, t_x, T = map(_f, (t, r, alpha, a, b, x, t_x, T))
    return p_alive(r, alpha, a, b, x, t_x, T, k=k) * alive_survival(t, r, alpha, a, b, x, T, k=k)


def prob_n_purchases(
    n: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    alpha: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    *,
    k: int = 0,
) -> FloatArray:
    """P(X(t) = n) for a new customer, FHL (2005) eq. (8).

    ``B(a, b+n)/B(a, b) NB(n; r, alpha/(alpha+t)) + delta(n>0) B(a+1, b+n-1)/B(a, b)
    P(N(t) >= n)``, where ``N(t)`` is the negative binomial count of a customer who never
    drops out (the finite sum in eq. (8) is the NB distribution function). For MBG/NBD
    (``k = 1``) ``b+n`` becomes ``b+n+1`` and the second term applies for every ``n``.
    """
    from scipy import stats  # scipy.stats is slow to import; only this prediction needs it

    n, t, r, alpha, a, b = map(_f, (n, t, r, alpha, a, b))
    prob = alpha / (alpha + t)
    log_b0 = special.betaln(a, b)
    first = np.exp(special.betaln(a, b + n + k) - log_b0 + stats.nbinom.logpmf(n, r, prob))
    has = (n + k) > 0
    b_second = np.where(has, b + n + k - 1.0, 1.0)
    second = np.exp(special.betaln(a + 1.0, b_second) - log_b0) * stats.nbinom.sf(n - 1.0, r, prob)
    return first + np.where(has, second, 0.0)


def dert(
    delta: float,
    r: ArrayLike,
    alpha: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    k: int = 0,
    nodes: int = 64,
) -> FloatArray:
    """Discounted expected residual transactions with continuous rate ``delta`` per time unit.

    BG/NBD has no closed form (FHL 2005 "RFM and CLV" derive one for Pareto/NBD only), so
    ``DERT = int_0^inf exp(-delta t) dE[Y(t)] = int_0^inf exp(-u) E[Y(u/delta)] du``
    (integration by parts, ``E[Y(0)] = 0``) is evaluated by ``nodes``-point Gauss-Laguerre
    quadrature on the closed-form conditional expectation (FHL 2005 eq. (10)).
    """
    u, w = gauss_laguerre(nodes)
    arrays = np.broadcast_arrays(*map(_f, (r, alpha, a, b, x, t_x, T)))
    rr, al, aa, bb, xx, tx, TT = (v[..., None] for v in arrays)
    ey = conditional_expected_purchases(u / delta, rr, al, aa, bb, xx, tx, TT, k=k)
    return ey @ w


def simulate(
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: ArrayLike,
    *,
    holdout: float = 0.0,
    size: int | None = None,
    rng: np.random.Generator | int | None = None,
    k: int = 0,
) -> dict[str, FloatArray]:
    """Draw customers from the BG/NBD story (FHL 2005, section 2).

    ``lambda ~ Gamma(r, rate alpha)``, ``p ~ Beta(a, b)``; repeat purchases follow a Poisson
    process; after each repeat purchase the customer drops out with probability ``p`` (with
    ``k = 1``, MBG/NBD, also right after the first purchase at time 0). The number of
    purchases before dropout is geometric, and the time of the ``x``-th of ``N`` Poisson
    events in ``[0, T]`` is ``T`` times a Beta(x, N-x+1) variable, so no event times are drawn.

    Returns
    -------
    dict
        ``frequency``, ``recency``, ``T`` and ``holdout_frequency`` (purchases in
        ``(T, T+holdout]``).
    """
    gen = np.random.default_rng(rng)
    T = np.asarray(T, dtype=float)
    n = int(size) if size is not None else T.size
    T = np.broadcast_to(T, (n,)).astype(float)
    lam = gen.gamma(r, 1.0 / alpha, n)
    p = gen.beta(a, b, n)
    dropout_after = gen.geometric(p) - k
    n_cal = gen.poisson(lam * T)
    freq = np.minimum(n_cal, dropout_after)
    pos = freq > 0
    rec = np.zeros(n)
    rec[pos] = T[pos] * gen.beta(freq[pos], n_cal[pos] - freq[pos] + 1)
    n_hold = gen.poisson(lam * holdout) if holdout > 0 else np.zeros(n, dtype=np.int64)
    hold = np.where(dropout_after > n_cal, np.minimum(n_hold, dropout_after - n_cal), 0)
    return {"frequency": freq.astype(float), "recency": rec, "T": T, "holdout_frequency": hold.astype(float)}
