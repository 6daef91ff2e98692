"""Shifted-beta-geometric (sBG) model maths (Fader & Hardie 2007, "How to project customer
retention", Journal of Interactive Marketing 21(1); hereafter FH07).

A contract customer cancels at the end of each period with probability
``theta ~ Beta(alpha, beta)``. ``T`` is the period in which the customer churns.
Pure functions of arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = ["loglik", "loglik_grad", "churn_probability", "survival", "retention_rate", "del_", "derl", "simulate"]

FloatArray = NDArray[np.float64]


def _f(v: ArrayLike) -> FloatArray:
    return np.asarray(v, dtype=float)


def _lb(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    s = special.digamma(a + b)
    return special.betaln(a, b), special.digamma(a) - s, special.digamma(b) - s


def loglik_grad(
    alpha: ArrayLike, beta: ArrayLike, t: ArrayLike, churned: ArrayLike
) -> tuple[FloatArray, tuple[FloatArray, FloatArray]]:
    """Log-likelihood of one customer and its gradient in ``(alpha, beta)``.

    A customer who churned in period ``t`` contributes ``log P(T = t) = log B(alpha+1,
    beta+t-1) - log B(alpha, beta)`` (FH07, section 3); one still active after ``t`` periods
    contributes ``log S(t) = log B(alpha, beta+t) - log B(alpha, beta)`` (FH07, section 3). The
    cohort likelihood is the product over the cohort (FH07, appendix).
    """
    alpha, beta, t, churned = map(_f, (alpha, beta, t, churned))
    died = churned > 0
    lb_c, c_a, c_b = _lb(alpha + np.where(died, 1.0, 0.0), beta + np.where(died, t - 1.0, t))
    lb0, b_a, b_b = _lb(alpha, beta)
    return lb_c - lb0, (c_a - b_a, c_b - b_b)


def loglik(alpha: ArrayLike, beta: ArrayLike, t: ArrayLike, churned: ArrayLike) -> FloatArray:
    """Per-row log-likelihood; see :func:`loglik_grad`."""
    return loglik_grad(alpha, beta, t, churned)[0]


def churn_probability(t: ArrayLike, alpha: ArrayLike, beta: ArrayLike) -> FloatArray:
    """P(T = t) = B(alpha+1, beta+t-1) / B(alpha, beta), FH07 section 3."""
    t, alpha, beta = map(_f, (t, alpha, beta))
    return np.exp(special.betaln(alpha + 1.0, beta + t - 1.0) - special.betaln(alpha, beta))


def survival(t: ArrayLike, alpha: ArrayLike, beta: ArrayLike) -> FloatArray:
    """S(t) = B(alpha, beta+t) / B(alpha, beta), share still active after ``t`` renewals, FH07 section 3."""
    t, alpha, beta = map(_f, (t, alpha, beta))
    return np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))


def retention_rate(t: ArrayLike, alpha: ArrayLike, beta: ArrayLike) -> FloatArray:
    """r_t = S(t)/S(t-1) = (beta+t-1)/(alpha+beta+t-1), FH07 section 3."""
    t, alpha, beta = map(_f, (t, alpha, beta))
    return (beta + t - 1.0) / (alpha + beta + t - 1.0)


def del_(d: float, alpha: ArrayLike, beta: ArrayLike) -> FloatArray:
    """Discounted expected lifetime of a new customer, ``sum_{t>=0} S(t)/(1+d)^t =
    2F1(1, beta; alpha+beta; 1/(1+d))`` (Fader & Hardie 2010, "Customer-base valuation in a
    contractual setting", Marketing Science 29(1))."""
    alpha, beta = map(_f, (alpha, beta))
    return special.hyp2f1(1.0, beta, alpha + beta, 1.0 / (1.0 + d))


def derl(d: float, renewals: ArrayLike, alpha: ArrayLike, beta: ArrayLike) -> FloatArray:
    """Discounted expected residual lifetime of a customer who has made ``n-1 = renewals``
    renewals, just before the next decision: ``(beta+n-1)/(alpha+beta+n-1)
    2F1(1, beta+n; alpha+beta+n; 1/(1+d))`` (Fader & Hardie 2010)."""
    n = _f(renewals) + 1.0
    alpha, beta = map(_f, (alpha, beta))
    return (
        (beta + n - 1.0) / (alpha + beta + n - 1.0) * special.hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + d))
    )


def simulate(
    alpha: float, beta: float, n_periods: int, *, size: int, rng: np.random.Generator | int | None = None
) -> FloatArray:
    """Survivors of a cohort of ``size`` customers after 0..``n_periods`` periods (FH07 section 3)."""
    gen = np.random.default_rng(rng)
    theta = gen.beta(alpha, beta, size)
    lifetime = gen.geometric(theta)  # the period in which each customer churns
    t = np.arange(n_periods + 1)
    return (lifetime[None, :] > t[:, None]).sum(axis=1).astype(float)
