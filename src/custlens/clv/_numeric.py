"""Small numerical helpers shared by the model families (arrays in, arrays out)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = [
    "log1mexp",
    "gauss_legendre",
    "gauss_laguerre",
    "one_minus_pow_over",
    "digamma_diff",
]

FloatArray = NDArray[np.float64]


def log1mexp(x: ArrayLike) -> FloatArray:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate near 0 and for very negative ``x``.

    Mächler (2012), "Accurately computing log(1 - exp(-|a|))", eq. (7).
    """
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, -np.inf)
    near = x > -np.log(2.0)
    far = ~near & np.isfinite(x)
    with np.errstate(divide="ignore"):
        out[near] = np.log(-np.expm1(x[near]))
    out[far] = np.log1p(-np.exp(x[far]))
    out[np.isneginf(x)] = 0.0
    return out


@lru_cache(maxsize=8)
def gauss_legendre(n: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Legendre nodes and weights on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0


@lru_cache(maxsize=8)
def gauss_laguerre(n: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Laguerre nodes and weights for the weight ``exp(-u)`` on [0, inf)."""
    return np.polynomial.laguerre.laggauss(n)


def one_minus_pow_over(c: ArrayLike, log_q: ArrayLike) -> FloatArray:
    """``(1 - q**c) / c`` with ``log_q = log(q) <= 0``, continuous at ``c = 0`` (limit ``-log q``)."""
    c = np.asarray(c, dtype=float)
    log_q = np.asarray(log_q, dtype=float)
    c, log_q = np.broadcast_arrays(c, log_q)
    small = np.abs(c * log_q) < 1e-8
    safe_c = np.where(small, 1.0, c)
    general = -np.expm1(c * log_q) / safe_c
    # second-order expansion of -expm1(c*l)/c = -l - c*l^2/2 - ...
    series = -log_q * (1.0 + 0.5 * c * log_q)
    return np.where(small, series, general)


def digamma_diff(a: ArrayLike, n: ArrayLike) -> FloatArray:
    """``psi(a + n) - psi(a)``, the derivative of ``log Gamma(a + n) - log Gamma(a)`` in ``a``."""
    a = np.asarray(a, dtype=float)
    return special.digamma(a + np.asarray(n, dtype=float)) - special.digamma(a)
