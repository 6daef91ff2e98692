"""Estimators for discrete-time models: BG/BB (non-contractual) and sBG (contractual cohorts)."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.clv import _bgbb, _sbg
from custlens.clv._base import MLEstimator, RowParams
from custlens.clv._checks import column, require
from custlens.errors import InputError

__all__ = ["BetaGeoBetaBinom", "ShiftedBetaGeometric", "check_bgbb"]

FloatArray = NDArray[np.float64]


def check_bgbb(frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike) -> tuple[FloatArray, ...]:
    """Validate a BG/BB summary: whole numbers with ``0 <= frequency <= recency <= n_periods``."""
    x = column("frequency", frequency)
    t_x = column("recency", recency, x.size)
    n = column("n_periods", n_periods, x.size)
    for name, v in (("frequency", x), ("recency", t_x), ("n_periods", n)):
        require(name, (v >= 0) & (v == np.round(v)), "must be a whole number >= 0", v)
    require("n_periods", n >= 1, "must be >= 1", n)
    require("recency", t_x <= n, "must be <= 'n_periods'", t_x)
    require("frequency", x <= t_x, "must be <= 'recency' (x transactions need x opportunities)", x)
    require("recency", (x > 0) | (t_x == 0), "must be 0 where 'frequency' is 0", t_x)
    return x, t_x, n


class BetaGeoBetaBinom(MLEstimator):
    """BG/BB model (Fader, Hardie & Shang 2010), parameters ``alpha, beta, gamma, delta``.

    Hyper-parameters as in :class:`~custlens.clv.BetaGeo` (no covariates).
    """

    _model = "bgbb"
    _param_names = ("alpha", "beta", "gamma", "delta")
    _covariate_signs = {}
    _default_initial = {"alpha": 1.0, "beta": 1.0, "gamma": 1.0, "delta": 1.0}

    def _loglik_grad(self, P: RowParams, data: dict[str, FloatArray]) -> tuple[FloatArray, tuple[FloatArray, ...]]:
        return _bgbb.loglik_grad(P["alpha"], P["beta"], P["gamma"], P["delta"], data["x"], data["t_x"], data["n"])

    def _weighted_loglik_grad(
        self, P: RowParams, data: dict[str, FloatArray], w: FloatArray, cache: dict[str, Any]
    ) -> tuple[float, FloatArray]:
        return _bgbb.weighted_loglik_grad(
            float(P["alpha"]), float(P["beta"]), float(P["gamma"]), float(P["delta"]),
            data["x"], data["t_x"], data["n"], w, cache,
        )  # fmt: skip

    def _p(self) -> tuple[float, float, float, float]:
        P = self._row_params()
        return (P["alpha"], P["beta"], P["gamma"], P["delta"])

    def fit(
        self, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike, *, weights: ArrayLike | None = None
    ) -> Self:
        """Fit on transactions ``frequency``, last transaction ``recency`` and ``n_periods``
        opportunities per customer (``weights``: customers per row). Returns self."""
        x, t_x, n = check_bgbb(frequency, recency, n_periods)
        return self._fit({"x": x, "t_x": t_x, "n": n}, weights)

    def loglik(self, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike) -> FloatArray:
        """Per-customer log-likelihood at the fitted parameters."""
        return _bgbb.loglik(*self._p(), *check_bgbb(frequency, recency, n_periods))

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike) -> FloatArray:
        """Probability of being alive at the next opportunity."""
        return _bgbb.p_alive(*self._p(), *check_bgbb(frequency, recency, n_periods))

    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
    ) -> FloatArray:
        """Expected transactions of each customer in the next ``t`` opportunities (``n*`` in FHS 2010)."""
        return _bgbb.conditional_expected_purchases(
            np.asarray(t, dtype=float), *self._p(), *check_bgbb(frequency, recency, n_periods)
        )

    def expected_purchases(self, n_periods: ArrayLike) -> FloatArray:
        """Expected transactions of a new customer in ``n_periods`` opportunities."""
        return _bgbb.expected_purchases(np.asarray(n_periods, dtype=float), *self._p())

    def prob_n_purchases(self, n: ArrayLike, n_periods: ArrayLike) -> FloatArray:
        """Probability that a new customer makes ``n`` transactions in ``n_periods`` opportunities."""
        return _bgbb.prob_n_purchases(np.asarray(n, dtype=float), np.asarray(n_periods, dtype=float), *self._p())

    def dert(self, discount_rate: float, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike) -> FloatArray:
        """Discounted expected residual transactions at ``discount_rate`` per opportunity."""
        return _bgbb.dert(float(discount_rate), *self._p(), *check_bgbb(frequency, recency, n_periods))

    def simulate(
        self, n_periods: int, *, size: int, holdout: int = 0, rng: np.random.Generator | int | None = None
    ) -> dict[str, FloatArray]:
        """Simulate customers from the fitted model."""
        alpha, beta, gamma, delta = self._p()
        return _bgbb.simulate(alpha, beta, gamma, delta, int(n_periods), size=size, holdout=holdout, rng=rng)


def _cohort_rows(survivors: ArrayLike, periods: ArrayLike | None) -> tuple[FloatArray, FloatArray, FloatArray]:
    s = column("survivors", survivors)
    if periods is not None:
        p = column("period", periods, s.size)
        order = np.argsort(p, kind="stable")
        p, s = p[order], s[order]
        require("period", p == np.arange(p.size), "must run 0, 1, 2, ... without gaps (period 0 is the cohort size)", p)
    if s.size < 2:
        raise InputError(f"'survivors' needs the cohort size and at least one later period; got {s.size} value(s)")
    require("survivors", (s >= 0) & (s == np.round(s)), "must be a whole number >= 0", s)
    require("survivors", s[0] > 0, "must start with the cohort size > 0 (period 0)", s)
    require("survivors", np.concatenate([[True], np.diff(s) <= 0]), "must not increase from one period to the next", s)
    n = s.size - 1
    lost = -np.diff(s)
    t = np.concatenate([np.arange(1, n + 1, dtype=float), [float(n)]])
    churned = np.concatenate([np.ones(n), [0.0]])
    weights = np.concatenate([lost, [s[-1]]])
    return t, churned, weights


class ShiftedBetaGeometric(MLEstimator):
    """Shifted-beta-geometric model of contract renewals (Fader & Hardie 2007), parameters ``alpha, beta``.

    Hyper-parameters as in :class:`~custlens.clv.BetaGeo` (no covariates).
    """

    _model = "sbg"
    _param_names = ("alpha", "beta")
    _covariate_signs = {}
    _default_initial = {"alpha": 1.0, "beta": 1.0}

    def _loglik_grad(self, P: RowParams, data: dict[str, FloatArray]) -> tuple[FloatArray, tuple[FloatArray, ...]]:
        return _sbg.loglik_grad(P["alpha"], P["beta"], data["t"], data["churned"])

    def fit(self, survivors: ArrayLike, *, periods: ArrayLike | None = None) -> Self:
        """Fit on a cohort's survivor counts.

        Parameters
        ----------
        survivors
            Customers still active after 0, 1, 2, ... renewals; the first value is the
            cohort size.
        periods
            The period of each value (0, 1, 2, ...), if the values are not in order.

        Returns
        -------
        self
        """
        t, churned, weights = _cohort_rows(survivors, periods)
        return self._fit({"t": t, "churned": churned}, weights)

    def survival(self, t: ArrayLike) -> FloatArray:
        """Share of the cohort still active after ``t`` renewals."""
        P = self._row_params()
        return _sbg.survival(np.asarray(t, dtype=float), P["alpha"], P["beta"])

    def retention_rate(self, t: ArrayLike) -> FloatArray:
        """Retention rate of period ``t`` (share of period ``t-1`` survivors who renew)."""
        P = self._row_params()
        return _sbg.retention_rate(np.asarray(t, dtype=float), P["alpha"], P["beta"])

    def churn_probability(self, t: ArrayLike) -> FloatArray:
        """Probability that a new customer churns in period ``t``."""
        P = self._row_params()
        return _sbg.churn_probability(np.asarray(t, dtype=float), P["alpha"], P["beta"])

    def derl(self, discount_rate: float, renewals: ArrayLike) -> FloatArray:
        """Discounted expected residual lifetime after ``renewals`` renewals (in periods)."""
        P = self._row_params()
        return _sbg.derl(float(discount_rate), np.asarray(renewals, dtype=float), P["alpha"], P["beta"])

    def simulate(self, n_periods: int, *, size: int, rng: np.random.Generator | int | None = None) -> FloatArray:
        """Simulate the survivors of a cohort of ``size`` customers."""
        P = self._row_params()
        return _sbg.simulate(P["alpha"], P["beta"], int(n_periods), size=size, rng=rng)
