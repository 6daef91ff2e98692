"""MBG/NBD model maths (Batislam, Denizel & Filiztekin 2007, "Empirical validation and
comparison of models for customer base analysis", IJRM 24(3); hereafter BDF).

As BG/NBD, but a customer may also drop out right after the first purchase (at time 0),
so customers without repeat purchases can be inactive. The formulas are those of
:mod:`custlens.clv._bgnbd` with ``b+x`` replaced by ``b+x+1`` and the dropout term applying
to every customer; this module fixes that switch (``k = 1``). Pure functions of arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.clv import _bgnbd

__all__ = [
    "loglik",
    "loglik_grad",
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


def loglik_grad(
    r: ArrayLike, alpha: ArrayLike, a: ArrayLike, b: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, tuple[FloatArray, FloatArray, FloatArray, FloatArray]]:
    """Per-customer log-likelihood and gradient in ``(r, alpha, a, b)`` (BDF):
    ``L = Gamma(r+x) alpha^r / Gamma(r) B(a, b+x+1)/B(a, b) [(alpha+T)^-(r+x) + a/(b+x) (alpha+t_x)^-(r+x)]``."""
    return _bgnbd.loglik_grad(r, alpha, a, b, x, t_x, T, k=1)


def loglik(
    r: ArrayLike, alpha: ArrayLike, a: ArrayLike, b: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Per-customer log-likelihood (BDF)."""
    return _bgnbd.loglik_grad(r, alpha, a, b, x, t_x, T, k=1)[0]


def p_alive(
    r: ArrayLike, alpha: ArrayLike, a: ArrayLike, b: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """P(alive) ``= 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))`` (BDF)."""
    return _bgnbd.p_alive(r, alpha, a, b, x, t_x, T, k=1)


def expected_purchases(t: ArrayLike, r: ArrayLike, alpha: ArrayLike, a: ArrayLike, b: ArrayLike) -> FloatArray:
    """E[X(t)] ``= b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]`` (BDF)."""
    return _bgnbd.expected_purchases(t, r, alpha, a, b, k=1)


def conditional_expected_purchases(
    t: ArrayLike,
    r: ArrayLike,
    alpha: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
) -> FloatArray:
    """E[Y(t) | x, t_x, T] ``= (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
    2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))] / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))`` (BDF)."""
    return _bgnbd.conditional_expected_purchases(t, r, alpha, a, b, x, t_x, T, k=1)


def alive_expected_purchases(
    t: ArrayLike, r: ArrayLike, alpha: ArrayLike, a: ArrayLike, b: ArrayLike, x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """The factor of BDF after P(alive): expected purchases of a customer alive at ``T``."""
    return _bgnbd.alive_expected_purchases(t, r, alpha, a, b, x, T, k=1)


def alive_survival(
    t: ArrayLike, r: ArrayLike, alpha: ArrayLike, a: ArrayLike, b: ArrayLike, x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """P(still alive at ``T+t`` | alive at ``T``) ``= 2F1(r+x, a; a+b+x+1; -t/(alpha+T))``: given
    alive, ``p ~ Beta(a, b+x+1)`` (BDF; derivation in :func:`custlens.clv._bgnbd.alive_survival`)."""
    return _bgnbd.alive_survival(t, r, alpha, a, b, x, T, k=1)


def p_alive_later(
    t: ArrayLike,
    r: ArrayLike,
    alpha: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
) -> FloatArray:
    """P(alive at ``T+t`` | x, t_x, T) = P(alive) (BDF) times :func:`alive_survival`."""
    return _bgnbd.p_alive_later(t, r, alpha, a, b, x, t_x, T, k=1)


def prob_n_purchases(
    n: ArrayLike, t: ArrayLike, r: ArrayLike, alpha: ArrayLike, a: ArrayLike, b: ArrayLike
) -> FloatArray:
    """P(X(t) = n) ``= B(a, b+n+1)/B(a, b) NB(n) + B(a+1, b+n)/B(a, b) P(N(t) >= n)``
    (the MBG/NBD counterpart of FHL 2005 eq. (8): dropout after purchase ``D ~ Geometric`` on 0, 1, ...)."""
    return _bgnbd.prob_n_purchases(n, t, r, alpha, a, b, k=1)


def dert(
    delta: float, r: ArrayLike, alpha: ArrayLike, a: ArrayLike, b: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Discounted expected residual transactions (no closed form; Gauss-Laguerre as for BG/NBD)."""
    return _bgnbd.dert(delta, r, alpha, a, b, x, t_x, T, k=1)


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
) -> dict[str, FloatArray]:
    """Draw customers from the MBG/NBD story (dropout possible right after the first purchase)."""
    return _bgnbd.simulate(r, alpha, a, b, T, holdout=holdout, size=size, rng=rng, k=1)
