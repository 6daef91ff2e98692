"""Estimators for non-contractual, continuous-time purchase models: BG/NBD, MBG/NBD, Pareto/NBD.

Each estimator is a thin object over the pure maths of its family module
(:mod:`custlens.clv._bgnbd`, :mod:`custlens.clv._pareto_nbd`); the fitting machinery is
in :mod:`custlens.clv._base`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.clv import _bgnbd, _mbgnbd, _pareto_nbd
from custlens.clv._base import MLEstimator, RowParams
from custlens.clv._chebyshev import interpolate_per_count
from custlens.clv._checks import column, require
from custlens.clv._numeric import unique_rows
from custlens.errors import InputError

__all__ = ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD", "check_rft", "check_identifiable"]

FloatArray = NDArray[np.float64]


def check_rft(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate a recency/frequency summary and return it as float arrays.

    Rules: ``frequency`` is a whole number >= 0; ``0 <= recency <= T``; ``T >= 0``;
    ``recency`` is 0 where ``frequency`` is 0 (the models read ``recency`` as the time of
    the last *repeat* purchase). ``T == 0`` (first purchase at the end of the observation)
    needs ``frequency == 0``: such a customer adds nothing to the log-likelihood (observing
    no purchase in no time has probability 1) and is predicted as a new customer.
    ``frequency`` and ``T`` at most ``1e6`` (larger is implausible in any time unit and
    breaks the arithmetic: a frequency of 1e9 gave a positive log-likelihood). A frequency
    above ``T`` is accepted: the models count purchases of a continuous-time process.
    """
    x = column("frequency", frequency)
    t_x = column("recency", recency, x.size)
    T = column("T", T, x.size)
    require("frequency", (x >= 0) & (x == np.round(x)), "must be a whole number >= 0", x)
    require("recency", t_x >= 0, "must be >= 0", t_x)
    require("T", T >= 0, "must be >= 0", T)
    require("frequency", (T > 0) | (x == 0), "must be 0 where 'T' is 0", x)
    require("recency", t_x <= T * (1 + 1e-12), "must be <= 'T'", t_x)
    require("recency", (x > 0) | (t_x == 0), "must be 0 where 'frequency' is 0", t_x)
    require("T", T <= 1e6, "must be <= 1e6 time units (implausibly long)", T)
    require("frequency", x <= 1e6, "must be <= 1e6 (implausibly many purchases)", x)
    # recency above T by rounding only (allowed above) is clipped; as a rule nothing is, and
    # no copy of the column is made
    return x, np.minimum(t_x, T) if bool(np.any(t_x > T)) else t_x, T


def check_identifiable(model: str, x: FloatArray, T: FloatArray, weights: ArrayLike | None) -> None:
    """Refuse data from which the model's parameters cannot be estimated.

    Raises
    ------
    InputError
        When no customer was observed for any time (``T`` 0 everywhere) or none made a
        repeat purchase (``frequency`` 0 everywhere): the purchase rate and the dropout
        process are then not identified and any "fit" would only return its start values
        or a boundary.
    """
    if x.size == 0:
        return  # the fit says it needs at least one row
    if weights is None:  # every row counts: no copies of the columns
        seen_T, seen_x, n_seen = T, x, x.size
    else:
        seen = np.asarray(weights, dtype=float) > 0
        if not seen.any():
            return  # the fit says the weights must not all be 0
        seen_T, seen_x, n_seen = T[seen], x[seen], int(seen.sum())
    if not np.any(seen_T > 0):
        raise InputError(
            f"{model}.fit: 'T' is 0 for every customer: no time was observed after any first purchase, "
            "so no purchase rate can be estimated (check the as-of date and the time unit)"
        )
    if not np.any(seen_x > 0):
        raise InputError(
            f"{model}.fit: no customer made a repeat purchase ('frequency' is 0 in all {n_seen:,} rows); "
            "the purchase and dropout rates cannot be told apart. Use a longer history, or a formula model "
            "(custlens clv-formula)"
        )


class _TransactionModel(MLEstimator):
    """Shared API of the BG/NBD family and Pareto/NBD estimators."""

    _family: ClassVar[ModuleType]
    _family_kw: ClassVar[dict[str, Any]] = {}
    #: whether P(alive) costs enough per row that computing identical rows once pays for a sort
    _compress_rows: ClassVar[bool] = False

    def _p(self, P: RowParams) -> list[Any]:
        return [P[k] for k in self._param_names]

    def _loglik_grad(self, P: RowParams, data: dict[str, FloatArray]) -> tuple[FloatArray, tuple[FloatArray, ...]]:
        return self._family.loglik_grad(*self._p(P), data["x"], data["t_x"], data["T"], **self._family_kw)

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        *,
        weights: ArrayLike | None = None,
        covariates: ArrayLike | None = None,
    ) -> Self:
        """Fit by maximum likelihood on the compressed summary.

        Parameters
        ----------
        frequency, recency, T
            Repeat purchases, time of the last repeat purchase and length of observation,
            per customer, in one time unit (days, weeks, ...).
        weights
            How many customers each row stands for (default 1).
        covariates
            Time-invariant covariates, one row per customer (used for the parameters named
            in ``covariate_params``).

        Returns
        -------
        self
        """
        x, t_x, T_ = check_rft(frequency, recency, T)
        check_identifiable(type(self).__name__, x, T_, weights if weights is None else np.ravel(weights))
        return self._fit({"x": x, "t_x": t_x, "T": T_}, weights, covariates)

    def loglik(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, covariates: ArrayLike | None = None
    ) -> FloatArray:
        """Per-customer log-likelihood at the fitted parameters."""
        x, t_x, T_ = check_rft(frequency, recency, T)
        P = self._row_params(covariates, x.size)
        return self._family.loglik_grad(*self._p(P), x, t_x, T_, **self._family_kw)[0]

    def p_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, covariates: ArrayLike | None = None
    ) -> FloatArray:
        """Probability that each customer is still active at ``T``."""
        x, t_x, T_ = check_rft(frequency, recency, T)
        P = self._row_params(covariates, x.size)
        return self._family.p_alive(*self._p(P), x, t_x, T_, **self._family_kw)

    def conditional_expected_purchases(
        self,
        t: ArrayLike,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        *,
        covariates: ArrayLike | None = None,
    ) -> FloatArray:
        """Expected repeat purchases of each customer in the next ``t`` time units."""
        x, t_x, T_ = check_rft(frequency, recency, T)
        P = self._row_params(covariates, x.size)
        return self._family.conditional_expected_purchases(
            np.asarray(t, dtype=float), *self._p(P), x, t_x, T_, **self._family_kw
        )

    def p_alive_later(
        self,
        t: ArrayLike,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        *,
        covariates: ArrayLike | None = None,
    ) -> FloatArray:
        """Probability that each customer is still active ``t`` time units after ``T``.

        P(alive at ``T``) times the probability that a customer alive at ``T`` survives the
        next ``t`` (the family module's ``alive_survival``; formulas and sources in
        ``docs/churn.md``). ``1 - p_alive_later / p_alive`` is the customer's churn
        probability over ``t``.

        Parameters
        ----------
        t
            Time ahead, in the time unit of ``recency`` and ``T`` (a scalar, or one value
            per customer).
        frequency, recency, T
            The customers' summary.
        covariates
            One row per customer, for a model fitted with ``covariate_params``.

        Returns
        -------
        numpy.ndarray
            One probability per customer (broadcast against ``t``), at most :meth:`p_alive`.
        """
        x, t_x, T_ = check_rft(frequency, recency, T)
        ahead = np.asarray(t, dtype=float)
        flat = ahead.reshape(-1)
        require("t", np.isfinite(flat) & (flat >= 0), "must be a finite number >= 0", flat)
        P = self._row_params(covariates, x.size)
        return self._family.p_alive_later(ahead, *self._p(P), x, t_x, T_, **self._family_kw)

    def conditional_curve(
        self,
        times: ArrayLike,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        *,
        covariates: ArrayLike | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """P(alive) and the expected-purchases curve of each customer on a grid of times.

        ``curve[i, j]`` is E[Y(times[j]) | x_i, t_x_i, T_i], the expected repeat purchases of
        customer ``i`` in ``(T_i, T_i + times[j]]`` (what :meth:`conditional_expected_purchases`
        gives one time at a time). The alive-customer factor depends on ``(x, T)`` only;
        without covariates it is interpolated in ``T`` per frequency shared by many customers
        (checked against the exact values to 1e-10 relative, :mod:`custlens.clv._chebyshev`)
        and evaluated exactly once per distinct ``(x, T)`` pair otherwise; this is what
        lifetime value is computed from.

        Parameters
        ----------
        times
            One-dimensional grid of times ahead, in the time unit of ``recency`` and ``T``.
        frequency, recency, T
            The customers' summary.
        covariates
            One row per customer, for a model fitted with ``covariate_params``.

        Returns
        -------
        tuple
            ``(p_alive, curve)`` with shapes ``(customers,)`` and ``(customers, len(times))``.
        """
        x, t_x, T_ = check_rft(frequency, recency, T)
        grid = np.asarray(times, dtype=float)
        if grid.ndim != 1:
            raise InputError(f"'times' must be one-dimensional; got shape {grid.shape}")
        require("times", np.isfinite(grid) & (grid >= 0), "must be finite numbers >= 0", grid)
        return self._curve_sums(grid, None, x, t_x, T_, covariates=covariates)

    def _curve_sums(
        self,
        grid: FloatArray,
        weights: FloatArray | None,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
        *,
        covariates: ArrayLike | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """P(alive) and ``curve @ weights`` of checked arrays (``weights=None``: the curve itself).

        ``weights`` of shape ``(len(grid), k)`` turns each customer's curve into ``k`` sums
        (lifetime value needs two: the discounted sum and the last point), which are
        interpolated directly, so the ``customers x len(grid)`` curve is never formed.
        """
        P = self._row_params(covariates, x.size)
        params = self._p(P)
        kw = self._family_kw
        alive = self._family.p_alive(*params, x, t_x, T, **kw)
        if any(np.ndim(v) for v in params):  # per-customer parameters: no sharing
            per_row = [np.asarray(v, dtype=float)[..., None] if np.ndim(v) else v for v in params]
            curve = self._family.alive_expected_purchases(grid[None, :], *per_row, x[:, None], T[:, None], **kw)
            return alive, alive[:, None] * _weighted(curve, weights)
        return alive, alive[:, None] * self._alive_factor("alive_expected_purchases", grid, weights, params, x, T)

    def _alive_later_curve(
        self,
        times: ArrayLike,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        *,
        alive: FloatArray | None = None,
    ) -> FloatArray:
        """P(alive at ``T + times[j]``) of each customer, shape ``(customers, len(times))``.

        What :meth:`p_alive_later` gives one time at a time (without covariates), with the
        survival of a customer alive at ``T`` interpolated per frequency like the curve of
        :meth:`conditional_curve`. ``alive``: P(alive at ``T``) when already computed.
        """
        x, t_x, T_ = check_rft(frequency, recency, T)
        grid = np.asarray(times, dtype=float).reshape(-1)
        require("times", np.isfinite(grid) & (grid >= 0), "must be finite numbers >= 0", grid)
        params = self._p(self._row_params(None, x.size))
        if alive is None:
            alive = self._family.p_alive(*params, x, t_x, T_, **self._family_kw)
        return alive[:, None] * self._alive_factor("alive_survival", grid, None, params, x, T_)

    def _alive_factor(
        self, name: str, grid: FloatArray, weights: FloatArray | None, params: list[Any], x: FloatArray, T: FloatArray
    ) -> FloatArray:
        """The family's ``name`` (``alive_expected_purchases`` or ``alive_survival``) on ``grid``
        for each customer, times ``weights``, for scalar parameters: interpolated per frequency
        (:mod:`custlens.clv._chebyshev`), exactly once per distinct ``(x, T)`` where not."""
        fn = getattr(self._family, name)
        kw = self._family_kw
        width = grid.size if weights is None else weights.shape[1]

        def exact(counts: FloatArray | float, T_at: FloatArray) -> FloatArray:
            counts = np.broadcast_to(np.asarray(counts, dtype=float), T_at.shape)
            return _weighted(fn(grid[None, :], *params, counts[:, None], T_at[:, None], **kw), weights)

        shift = self._interpolation_shift(params)
        values, done = interpolate_per_count(
            lambda count, v: exact(count, np.exp(v) - shift), x, np.log(shift + T), width
        )
        rest = np.flatnonzero(~done)
        if rest.size:  # counts with few customers: once per distinct (x, T) pair
            pairs, inverse = unique_rows(np.column_stack([x[rest], T[rest]]))
            values[rest] = exact(pairs[:, 0], pairs[:, 1])[inverse]
        return values

    def _interpolation_shift(self, params: list[Any]) -> float:
        """``c > 0`` such that the alive-customer factors are analytic in ``log(c + T)`` for
        ``|Im| < pi``: BG/NBD's ``z = t/(alpha+T+t)`` (expectation and survival) is singular
        only where ``alpha + T`` is real and <= 0."""
        return float(params[1])

    def expected_purchases(self, t: ArrayLike, *, covariates: ArrayLike | None = None) -> FloatArray:
        """Expected repeat purchases in ``(0, t]`` of a new customer."""
        n = None if covariates is None else np.asarray(covariates).shape[0]
        P = self._row_params(covariates, n)
        return self._family.expected_purchases(np.asarray(t, dtype=float), *self._p(P), **self._family_kw)

    def prob_n_purchases(self, n: ArrayLike, t: ArrayLike) -> FloatArray:
        """Probability that a new customer makes exactly ``n`` repeat purchases in ``(0, t]``."""
        P = self._row_params()
        return self._family.prob_n_purchases(
            np.asarray(n, dtype=float), np.asarray(t, dtype=float), *self._p(P), **self._family_kw
        )

    def dert(
        self,
        discount_rate: float,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        *,
        covariates: ArrayLike | None = None,
    ) -> FloatArray:
        """Discounted expected residual transactions at continuous rate ``discount_rate`` per time unit."""
        x, t_x, T_ = check_rft(frequency, recency, T)
        P = self._row_params(covariates, x.size)
        return self._family.dert(float(discount_rate), *self._p(P), x, t_x, T_, **self._family_kw)

    def simulate(
        self,
        T: ArrayLike,
        *,
        size: int | None = None,
        holdout: float = 0.0,
        rng: np.random.Generator | int | None = None,
    ) -> dict[str, FloatArray]:
        """Simulate customers from the fitted model (see the family module's ``simulate``)."""
        P = self._row_params()
        return self._family.simulate(*self._p(P), T, size=size, holdout=holdout, rng=rng, **self._family_kw)


def _weighted(curve: FloatArray, weights: FloatArray | None) -> FloatArray:
    """``curve @ weights`` as multiply-and-sum per column (no BLAS threads), or ``curve``."""
    if weights is None:
        return curve
    return np.column_stack([(curve * weights[:, k]).sum(axis=1) for k in range(weights.shape[1])])


class BetaGeo(_TransactionModel):
    """BG/NBD model (Fader, Hardie & Lee 2005), parameters ``r, alpha, a, b``.

    Parameters
    ----------
    penalizer
        L2 penalty ``penalizer * sum(params**2)`` added to the mean negative log-likelihood.
    tol
        Gradient tolerance of L-BFGS-B on the scaled objective.
    max_iter
        Iteration limit of the optimiser.
    initial_params
        Starting values by name (default 1 for each).
    covariate_params
        Parameters scaled by time-invariant covariates: ``alpha`` (``alpha_0 exp(-x'c)``),
        ``a`` and ``b`` (``a_0 exp(x'c)``), as in Fader & Hardie (2007), section 3.
    """

    _model = "bgnbd"
    _param_names = ("r", "alpha", "a", "b")
    _covariate_signs = {"alpha": -1.0, "a": 1.0, "b": 1.0}
    _default_initial = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}
    _family: ClassVar[ModuleType] = _bgnbd
    _family_kw = {"k": 0}
    _k: ClassVar[int] = 0

    def _row_order(self, data: dict[str, FloatArray]) -> NDArray[np.intp] | None:
        """Rows sorted by frequency (stable), so that :func:`custlens.clv._bgnbd.weighted_loglik_grad`
        sums each frequency's run of rows with its terms as scalars; None when already sorted
        or when the frequencies do not fit 16 bits (whose radix sort makes the order cheap)."""
        x = data["x"]
        if x.size < 2 * _bgnbd.RUN_ROWS or bool(np.all(x[1:] >= x[:-1])):
            return None
        top = float(x.max())
        if top >= 65_536:
            return None
        key = x.astype(np.uint8 if top < 256 else np.uint16)
        return np.argsort(key, kind="stable")

    def _block_loglik_grad(
        self, P: RowParams, data: dict[str, FloatArray], w: FloatArray
    ) -> tuple[float, FloatArray] | None:
        r, alpha, a, b = (float(v) for v in self._p(P))
        return _bgnbd.weighted_loglik_grad(r, alpha, a, b, data["x"], data["t_x"], data["T"], w, k=self._k)

    def _block_loglik_grad_hess(
        self, P: RowParams, data: dict[str, FloatArray], w: FloatArray
    ) -> tuple[float, FloatArray, FloatArray] | None:
        r, alpha, a, b = (float(v) for v in self._p(P))
        return _bgnbd.weighted_loglik_grad_hess(r, alpha, a, b, data["x"], data["t_x"], data["T"], w, k=self._k)


class ModifiedBetaGeo(BetaGeo):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007), parameters ``r, alpha, a, b``.

    As BG/NBD, but a customer may also drop out right after the first purchase, so
    customers without repeat purchases can be inactive. Same hyper-parameters as
    :class:`BetaGeo`.
    """

    _model = "mbgnbd"
    _family: ClassVar[ModuleType] = _mbgnbd
    _family_kw = {}
    _k: ClassVar[int] = 1


class ParetoNBD(_TransactionModel):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), parameters ``r, alpha, s, beta``.

    Same hyper-parameters as :class:`BetaGeo`; ``covariate_params`` may name ``alpha``
    (``alpha_0 exp(-x'c)``) and ``beta`` (``beta_0 exp(-x'c)``), Fader & Hardie (2007),
    section 2.
    """

    _model = "pnbd"
    _param_names = ("r", "alpha", "s", "beta")
    _covariate_signs = {"alpha": -1.0, "beta": -1.0}
    _default_initial = {"r": 1.0, "alpha": 1.0, "s": 1.0, "beta": 1.0}
    _family: ClassVar[ModuleType] = _pareto_nbd
    _family_kw = {}
    _compress_rows = True  # P(alive) integrates 32 Gauss-Legendre nodes per row

    def _block_loglik_grad_hess(
        self, P: RowParams, data: dict[str, FloatArray], w: FloatArray
    ) -> tuple[float, FloatArray, FloatArray] | None:
        r, alpha, s, beta = (float(v) for v in self._p(P))
        return _pareto_nbd.weighted_loglik_grad_hess(r, alpha, s, beta, data["x"], data["t_x"], data["T"], w)

    def _interpolation_shift(self, params: list[Any]) -> float:
        """The alive-customer factor holds ``log(alpha + T)`` and ``log(beta + T)``: analytic
        in ``log(c + T)`` for ``|Im| < pi`` with ``c = min(alpha, beta)``."""
        return float(min(params[1], params[3]))
