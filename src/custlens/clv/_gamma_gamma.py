"""Gamma-Gamma spend model maths (Fader, Hardie & Lee 2005, "RFM and CLV", section 4;
Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value").

A customer's transaction values are ``z_i ~ Gamma(p, nu)`` (shape ``p``, rate ``nu``) with
``nu ~ Gamma(q, gamma)`` across customers. The data of a customer are ``x`` transactions
with mean value ``zbar`` (``m_x`` in the papers). Pure functions of arrays.

The fit's sums (:func:`weighted_loglik_grad_hess`) need log-gamma, digamma and trigamma
only at the distinct counts and at ``q``, and take them from :mod:`custlens.clv._special`,
so fitting does not import ``scipy.special`` (0.15-0.3 s, more than the fit); the
per-customer functions of arrays of parameters use ``scipy.special``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.clv import _special
from custlens.clv._numeric import per_count

__all__ = [
    "loglik",
    "loglik_grad",
    "weighted_loglik_grad",
    "weighted_loglik_grad_hess",
    "conditional_expected_spend",
    "expected_spend",
    "simulate",
]

FloatArray = NDArray[np.float64]


def _f(v: ArrayLike) -> FloatArray:
    return np.asarray(v, dtype=float)


def loglik_grad(
    p: ArrayLike, q: ArrayLike, gamma: ArrayLike, x: ArrayLike, zbar: ArrayLike
) -> tuple[FloatArray, tuple[FloatArray, FloatArray, FloatArray]]:
    """Per-customer log density of the mean spend ``zbar`` and its gradient in ``(p, q, gamma)``.

    Fader & Hardie (2013), the marginal density of the mean spend ``zbar``: since ``x zbar | nu ~ Gamma(px, nu)``,
    ``f(zbar | p, q, gamma, x) = Gamma(px+q) / (Gamma(px) Gamma(q)) gamma^q x^(px)
    zbar^(px-1) / (gamma + x zbar)^(px+q)``.
    """
    from scipy import special

    p, q, gamma, x, zbar = map(_f, (p, q, gamma, x, zbar))
    px = p * x
    log_x, log_z = per_count(np.log, 0.0, x), np.log(zbar)
    log_den = np.log(gamma + x * zbar)
    if np.ndim(p) == 0 and np.ndim(q) == 0:  # special functions once per distinct count
        lg_pq = per_count(lambda v: special.gammaln(p * v + q), 0.0, x)
        lg_p = per_count(lambda v: special.gammaln(p * v), 0.0, x)
        psi_pq = per_count(lambda v: special.digamma(p * v + q), 0.0, x)
        psi_p = per_count(lambda v: special.digamma(p * v), 0.0, x)
    else:
        lg_pq, lg_p = special.gammaln(px + q), special.gammaln(px)
        psi_pq, psi_p = special.digamma(px + q), special.digamma(px)
    ll = lg_pq - lg_p - special.gammaln(q) + q * np.log(gamma) + px * log_x + (px - 1.0) * log_z - (px + q) * log_den
    d_p = x * (psi_pq - psi_p + log_x + log_z - log_den)
    d_q = psi_pq - special.digamma(q) + np.log(gamma) - log_den
    d_gamma = q / gamma - (px + q) / (gamma + x * zbar)
    return ll, (d_p, d_q, d_gamma)


def weighted_loglik_grad(
    p: float, q: float, gamma: float, x: FloatArray, zbar: FloatArray, w: FloatArray, cache: dict[str, Any]
) -> tuple[float, FloatArray]:
    """``sum(w * loglik)`` and its gradient in ``(p, q, gamma)``, from sufficient statistics.

    With scalar parameters the log density of :func:`loglik_grad` splits into terms of the
    count alone (``log Gamma(px+q) - log Gamma(px)``: once per distinct count), terms linear
    in ``p`` or ``q`` whose data sums are computed once (``sum w x log x``, ``sum w x log z``,
    ``sum w log z``; kept in ``cache``), and one term per customer,
    ``-(px+q) log(gamma + x zbar)``. Each evaluation then costs one logarithm and one
    division per customer instead of a dozen array passes (the same value to rounding).
    """
    return _weighted(p, q, gamma, x, zbar, w, cache, hessian=False)[:2]


def weighted_loglik_grad_hess(
    p: float, q: float, gamma: float, x: FloatArray, zbar: FloatArray, w: FloatArray, cache: dict[str, Any]
) -> tuple[float, FloatArray, FloatArray]:
    """:func:`weighted_loglik_grad` and the analytic Hessian in ``(p, q, gamma)`` (3 x 3).

    The count terms give trigamma functions once per distinct count (``x^2 (psi'(px+q) -
    psi'(px))``, ``x psi'(px+q)``, ``psi'(px+q) - psi'(q)``); the per-customer term
    ``-(px+q) log(gamma + x zbar)`` adds two sums of ``1/(gamma + x zbar)^2`` to those of the
    gradient.
    """
    total, grad, hess = _weighted(p, q, gamma, x, zbar, w, cache, hessian=True)
    assert hess is not None
    return total, grad, hess


def _weighted(
    p: float,
    q: float,
    gamma: float,
    x: FloatArray,
    zbar: FloatArray,
    w: FloatArray,
    cache: dict[str, Any],
    *,
    hessian: bool,
) -> tuple[float, FloatArray, FloatArray | None]:
    """The sums of :func:`weighted_loglik_grad_hess` (the Hessian only when ``hessian``)."""
    s = cache.get("gamma_gamma")
    if s is None:
        x, zbar, w = (np.ascontiguousarray(v, dtype=float) for v in (x, zbar, w))
        xi = x.astype(np.intp)
        if x.size and np.array_equal(xi, x) and 0 <= xi.min() and xi.max() < 4 * x.size + 1024:
            per = np.bincount(xi, weights=w)  # whole counts: weights per count without a sort
            xs = np.flatnonzero(per).astype(float)
            Wk = per[per != 0]
        else:
            xs, inverse = np.unique(x, return_inverse=True)
            Wk = np.bincount(inverse, weights=w, minlength=xs.size)
        log_z = np.log(zbar)
        wx = w * x
        s = {
            "xs": xs,
            "Wk": Wk,
            "w": w,
            "W": float(w.sum()),
            "wx": wx,
            "xz": x * zbar,
            "S_xlogx": float((Wk * xs) @ np.log(xs)),  # per distinct count
            "S_xlogz": float(np.dot(wx, log_z)),
            "S_logz": float(np.dot(w, log_z)),
        }
        cache["gamma_gamma"] = s
    xs, Wk, W, w, wx, xz = s["xs"], s["Wk"], s["W"], s["w"], s["wx"], s["xz"]
    # two arrays of the fit's, reused: fresh ones of this size come from mmap and cost their
    # page faults in every evaluation (several times the arithmetic)
    den, inv = s.setdefault("work", np.empty((2, xz.size)))
    np.add(xz, gamma, out=den)
    np.divide(1.0, den, out=inv)
    L = np.log(den, out=den)
    # dot products (no temporaries); the fit runs them with one BLAS thread
    sum_wx_L, sum_w_L = float(np.dot(wx, L)), float(np.dot(w, L))
    sum_wx_inv, sum_w_inv = float(np.dot(wx, inv)), float(np.dot(w, inv))
    pxk = p * xs
    m = xs.size
    # each special function in one call, at p x + q, p x and q (the calls cost more than the values)
    at = np.concatenate((pxk + q, pxk, [q]))
    psi = _special.digamma(at)
    psi_pq, psi_p, psi_q = psi[:m], psi[m : 2 * m], float(psi[-1])
    lg = _special.gammaln(at)
    log_gamma = math.log(gamma)
    total = (
        float(Wk @ (lg[:m] - lg[m : 2 * m]))
        - W * float(lg[-1])
        + W * q * log_gamma
        + p * (s["S_xlogx"] + s["S_xlogz"])
        - s["S_logz"]
        - p * sum_wx_L
        - q * sum_w_L
    )
    d_p = float((Wk * xs) @ (psi_pq - psi_p)) + s["S_xlogx"] + s["S_xlogz"] - sum_wx_L
    d_q = float(Wk @ psi_pq) - W * psi_q + W * log_gamma - sum_w_L
    d_gamma = W * q / gamma - p * sum_wx_inv - q * sum_w_inv
    grad = np.array([d_p, d_q, d_gamma])
    if not hessian:
        return total, grad, None
    inv2 = np.square(inv, out=inv)
    tri = _special.trigamma(at)
    tri_pq = tri[:m]
    H = np.empty((3, 3))
    H[0, 0] = float((Wk * xs * xs) @ (tri_pq - tri[m : 2 * m]))
    H[0, 1] = H[1, 0] = float((Wk * xs) @ tri_pq)
    H[1, 1] = float(Wk @ tri_pq) - W * float(tri[-1])
    H[0, 2] = H[2, 0] = -sum_wx_inv
    H[1, 2] = H[2, 1] = W / gamma - sum_w_inv
    H[2, 2] = -W * q / gamma**2 + p * float(np.dot(wx, inv2)) + q * float(np.dot(w, inv2))
    return total, grad, H


def loglik(p: ArrayLike, q: ArrayLike, gamma: ArrayLike, x: ArrayLike, zbar: ArrayLike) -> FloatArray:
    """Per-customer log-likelihood; see :func:`loglik_grad`."""
    return loglik_grad(p, q, gamma, x, zbar)[0]


def expected_spend(p: ArrayLike, q: ArrayLike, gamma: ArrayLike) -> FloatArray:
    """Population mean transaction value ``p gamma / (q - 1)`` (Fader & Hardie 2013); needs ``q > 1``."""
    p, q, gamma = map(_f, (p, q, gamma))
    return np.where(q > 1.0, p * gamma / np.where(q > 1.0, q - 1.0, 1.0), np.inf)


def conditional_expected_spend(
    p: ArrayLike, q: ArrayLike, gamma: ArrayLike, x: ArrayLike, zbar: ArrayLike
) -> FloatArray:
    """E[Z | p, q, gamma, x, zbar] = p (gamma + x zbar) / (p x + q - 1).

    Fader & Hardie (2013); FHL 2005 "RFM and CLV", section 4: a weighted average of the
    population mean ``p gamma / (q-1)`` and the customer's observed mean ``zbar``. For
    ``x = 0`` it is the population mean.
    """
    p, q, gamma, x, zbar = map(_f, (p, q, gamma, x, zbar))
    zbar = np.where(x > 0, zbar, 0.0)
    return p * (gamma + x * zbar) / (p * x + q - 1.0)


def simulate(
    p: float, q: float, gamma: float, x: ArrayLike, *, rng: np.random.Generator | int | None = None
) -> FloatArray:
    """Draw each customer's mean transaction value given ``x`` transactions.

    ``nu ~ Gamma(q, rate gamma)`` and ``x zbar | nu ~ Gamma(p x, rate nu)`` (Fader & Hardie
    2013, section 2). Customers with ``x = 0`` get ``0``.
    """
    gen = np.random.default_rng(rng)
    x = np.asarray(x, dtype=float)
    nu = gen.gamma(q, 1.0 / gamma, x.shape)
    shape = np.where(x > 0, p * x, 1.0)
    total = gen.gamma(shape, 1.0 / nu)
    return np.where(x > 0, total / np.where(x > 0, x, 1.0), 0.0)
