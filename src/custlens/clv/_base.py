"""Maximum-likelihood machinery shared by every estimator.

An estimator declares its parameter names, its hyper-parameter rules and a per-row
log-likelihood with analytic per-row gradient. This module compresses identical rows
into weights (unless nearly every row is distinct), evaluates the likelihood in
cache-sized blocks of rows on one thread per core, optimises on log-parameters with
L-BFGS-B and the analytic gradient, computes the Hessian by differences of that
gradient, and checks convergence.
Time-invariant covariates enter as ``param_i = param_0 * exp(sign * x_i' coef)``
(Fader & Hardie 2007, "Incorporating time-invariant covariates into the Pareto/NBD and
BG/NBD models", eqs. (1)-(2): ``sign = -1`` for the scale parameters ``alpha``, ``beta``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.clv._checks import (
    ParamRule,
    check_hyper_params,
    column,
    finite_float,
    nonneg_float,
    positive_float,
    positive_int,
    require,
)
from custlens.clv._numeric import cores, single_blas_thread, unique_rows, worth_compressing
from custlens.clv._result import FitResult
from custlens.errors import ConvergenceError, InputError, NotFittedError, did_you_mean

__all__ = ["MLEstimator", "RowParams"]

log = logging.getLogger(__name__)

#: above this many distinct rows, a fit first runs on a random subset of this size
_WARM_START_ROWS = 20_000
#: rows per block of a likelihood evaluation: a block's arrays stay in the processor's cache,
#: and blocks run on every core (NumPy's element-wise work releases the GIL)
_BLOCK_ROWS = 32_768
#: a standard error above this many times its estimate marks a parameter as unidentified
_FLAT_SE = 100.0

FloatArray = NDArray[np.float64]
RowParams = dict[str, Any]


def _initial_ok(v: Any) -> bool:
    if v is None:
        return True
    return isinstance(v, Mapping) and all(positive_float(x) for x in v.values())


def _targets_ok(v: Any) -> bool:
    return isinstance(v, tuple) and all(isinstance(x, str) for x in v)


class MLEstimator:
    """Base class: hyper-parameters in ``__init__``, learned values ending in ``_``.

    Subclasses set ``_model``, ``_param_names``, ``_covariate_signs`` (parameters that may
    carry covariates and the sign of their exponent) and implement ``_loglik_grad``.
    """

    _model: ClassVar[str] = ""
    _param_names: ClassVar[tuple[str, ...]] = ()
    _covariate_signs: ClassVar[dict[str, float]] = {}
    _default_initial: ClassVar[dict[str, float]] = {}

    def __init__(
        self,
        *,
        penalizer: float = 0.0,
        tol: float = 1e-9,
        max_iter: int = 1000,
        initial_params: Mapping[str, float] | None = None,
        covariate_params: tuple[str, ...] = (),
    ) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter
        self.initial_params = initial_params
        self.covariate_params = covariate_params

    # -- declared rules -------------------------------------------------------------------
    def _rules(self) -> tuple[ParamRule, ...]:
        allowed = tuple(self._covariate_signs)
        return (
            ParamRule("penalizer", nonneg_float, "a float >= 0"),
            ParamRule("tol", positive_float, "a float > 0"),
            ParamRule("max_iter", positive_int, "an int >= 1"),
            ParamRule(
                "initial_params",
                lambda v: _initial_ok(v) and (v is None or set(v) <= set(self._param_names)),
                f"None or a mapping of positive floats keyed by {', '.join(self._param_names)}",
            ),
            ParamRule(
                "covariate_params",
                lambda v: _targets_ok(v) and set(v) <= set(allowed),
                f"a tuple of names among ({', '.join(allowed)})" if allowed else "an empty tuple",
            ),
        )

    def get_params(self) -> dict[str, Any]:
        """Hyper-parameters, as given to ``__init__``."""
        return {k: getattr(self, k) for k in ("penalizer", "tol", "max_iter", "initial_params", "covariate_params")}

    @classmethod
    def from_params(cls, params: Mapping[str, float], **hyper_params: Any) -> Self:
        """An estimator that predicts with stored parameters, as if it had been fitted.

        Parameters
        ----------
        params
            Parameter values by name, as in ``params_`` of a fitted estimator (e.g. read back
            from JSON): every parameter of the model and, for a covariate model, the
            coefficients ``<param>_coef[<j>]``.
        **hyper_params
            Hyper-parameters of ``__init__``. ``covariate_params`` is read from the
            coefficient names when not given.

        Returns
        -------
        estimator
            With ``params_`` set, so every prediction works. It has no ``result_`` and no
            ``n_iter_``: no fit was run, so there are no standard errors, log-likelihood or
            convergence information.

        Raises
        ------
        InputError
            When a parameter is missing, unknown or out of range (model parameters must be
            floats > 0, coefficients finite floats), or a hyper-parameter breaks its rule.
        """
        hyper = dict(hyper_params)
        if "covariate_params" not in hyper:
            hyper["covariate_params"] = tuple(dict.fromkeys(k.split("_coef[")[0] for k in params if "_coef[" in k))
        elif isinstance(hyper["covariate_params"], list):  # as read back from JSON
            hyper["covariate_params"] = tuple(hyper["covariate_params"])
        est = cls(**hyper)
        check_hyper_params(cls.__name__, est.get_params(), est._rules())
        est.params_ = est._stored_params(params)
        return est

    def _stored_params(self, params: Mapping[str, float]) -> dict[str, float]:
        """``params`` checked against the model's parameter names, in the order of a fit."""
        owner = f"{type(self).__name__}.from_params"
        if not isinstance(params, Mapping):
            raise InputError(f"{owner}: 'params' must be a mapping of names to floats; got {type(params).__name__}")
        targets = tuple(self.covariate_params)
        n_cov = sum(1 for k in params if targets and k.startswith(f"{targets[0]}_coef["))
        if targets and n_cov == 0:
            raise InputError(
                f"{owner}: covariate_params={targets!r} needs the coefficients "
                f"'{targets[0]}_coef[0]', ... in 'params'; got {', '.join(map(repr, params))}"
            )
        names = list(self._param_names) + [f"{t}_coef[{j}]" for t in targets for j in range(n_cov)]
        unknown = [k for k in params if k not in names]
        if unknown:
            raise InputError(
                f"{owner}: unknown parameter {unknown[0]!r}{did_you_mean(str(unknown[0]), names)} "
                f"(expected {', '.join(names)})"
            )
        missing = [k for k in names if k not in params]
        if missing:
            raise InputError(f"{owner}: 'params' lacks {', '.join(map(repr, missing))} (expected {', '.join(names)})")
        out: dict[str, float] = {}
        for k in names:
            v = params[k]
            base = k in self._param_names
            if not (positive_float(v) if base else finite_float(v)):
                rule = "a float > 0" if base else "a finite float"
                raise InputError(f"{owner}: parameter {k!r} must be {rule}; got {v!r}")
            out[k] = float(v)
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- subclass hooks -----------------------------------------------------------------
    def _loglik_grad(self, P: RowParams, data: dict[str, FloatArray]) -> tuple[FloatArray, tuple[FloatArray, ...]]:
        raise NotImplementedError

    def _weighted_loglik_grad(
        self, P: RowParams, data: dict[str, FloatArray], w: FloatArray, cache: dict[str, Any]
    ) -> tuple[float, FloatArray]:
        """``sum(w * loglik)`` and its gradient in the base parameters, with scalar ``P``.

        Optional: a family that can sum its log-likelihood from sufficient statistics
        overrides it (``cache`` keeps what depends on the data only, per fit); the default
        sums :meth:`_loglik_grad` row by row.
        """
        raise NotImplementedError

    def _block_loglik_grad(
        self, P: RowParams, data: dict[str, FloatArray], w: FloatArray
    ) -> tuple[float, FloatArray] | None:
        """``sum(w * loglik)`` and its gradient for a block of rows, with scalar ``P``.

        Optional: a family with a cheaper weighted form than :meth:`_loglik_grad` (terms
        computed once per distinct frequency) overrides it; None means "sum
        :meth:`_loglik_grad`". Unlike :meth:`_weighted_loglik_grad` the rows still run in
        blocks on every core, after a warm start on a subset.
        """
        return None

    def _block_loglik_grad_hess(
        self, P: RowParams, data: dict[str, FloatArray], w: FloatArray
    ) -> tuple[float, FloatArray, FloatArray] | None:
        """:meth:`_block_loglik_grad` and the analytic Hessian in the base parameters.

        Optional: a family that has it (and no covariates) is fitted by Newton steps after the
        warm start, and its standard errors come from this Hessian; None means "not available"
        (the fit then runs L-BFGS-B and takes the Hessian by differences of the gradient).
        """
        return None

    def _weighted_loglik_grad_hess(
        self, P: RowParams, data: dict[str, FloatArray], w: FloatArray, cache: dict[str, Any]
    ) -> tuple[float, FloatArray, FloatArray] | None:
        """:meth:`_weighted_loglik_grad` and the analytic Hessian, for a family summing its
        statistics; optional as :meth:`_block_loglik_grad_hess`."""
        return None

    def _row_order(self, data: dict[str, FloatArray]) -> NDArray[np.intp] | None:
        """An order of the rows in which the family sums its likelihood faster, or None.

        Optional: the fit reorders its distinct rows (and weights) by it before optimising;
        the likelihood does not depend on the order of the rows. Not used with covariates.
        """
        return None

    def _has_hessian(self) -> bool:
        """Whether the family gives an analytic Hessian (for its fast, covariate-free form)."""
        hook = "_weighted_loglik_grad_hess" if self._sums_sufficient_statistics() else "_block_loglik_grad_hess"
        return getattr(type(self), hook) is not getattr(MLEstimator, hook)

    def _sums_sufficient_statistics(self) -> bool:
        """Whether the family overrides :meth:`_weighted_loglik_grad`."""
        return type(self)._weighted_loglik_grad is not MLEstimator._weighted_loglik_grad

    # -- fitted state ---------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(...) first.")

    def _covariate_matrix(self, covariates: ArrayLike | None, n: int) -> FloatArray | None:
        if covariates is None:
            return None
        X = np.asarray(covariates, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[0] != n:
            raise InputError(f"'covariates' must be a matrix with {n} rows; got shape {X.shape}")
        if not np.isfinite(X).all():
            raise InputError("'covariates' must be finite numbers (no missing values)")
        return X

    def _row_params(self, covariates: ArrayLike | None = None, n: int | None = None) -> RowParams:
        """Parameters per row: scalars, or arrays where covariates act (fitted models only)."""
        self._check_fitted()
        base = {k: float(self.params_[k]) for k in self._param_names}
        targets = self.covariate_params
        if not targets:
            return base
        if covariates is None:
            raise InputError(f"this {type(self).__name__} was fitted with covariates; pass 'covariates'")
        X = self._covariate_matrix(covariates, n if n is not None else np.asarray(covariates).shape[0])
        assert X is not None
        for name in targets:
            coef = np.array([self.params_[f"{name}_coef[{j}]"] for j in range(X.shape[1])])
            base[name] = base[name] * np.exp(self._covariate_signs[name] * (X @ coef))
        return base

    # -- fitting ------------------------------------------------------------------------
    def _fit(self, data: dict[str, FloatArray], weights: ArrayLike | None, covariates: ArrayLike | None = None) -> Self:
        check_hyper_params(type(self).__name__, self.get_params(), self._rules())
        n = next(iter(data.values())).size
        if n == 0:
            raise InputError(f"{type(self).__name__}.fit needs at least one row; got none")
        w = np.ones(n) if weights is None else column("weights", weights, n)
        if weights is not None:
            require("weights", w >= 0, "must be >= 0", w)
        X = self._covariate_matrix(covariates, n)
        targets = tuple(self.covariate_params)
        if targets and X is None:
            raise InputError(f"covariate_params={targets!r} needs 'covariates' in fit")
        n_cov = 0 if X is None or not targets else X.shape[1]

        keys = list(data)
        columns = [data[k] for k in keys] + ([X] if X is not None and n_cov else [])
        summed = n_cov == 0 and self._sums_sufficient_statistics()
        if summed or not worth_compressing(columns):
            # the family sums its own statistics, or (nearly) every row is distinct: a sort
            # of all rows would cost more than it saves, and the columns stay as given
            # (contiguous, not copied unless some weight is 0)
            cw = w if weights is None else w.astype(float)
            keep = cw > 0 if weights is not None else None
            if keep is None or keep.all():
                cdata = {k: np.ascontiguousarray(data[k], dtype=float) for k in keys}
                cX = X if n_cov else None
            else:
                cw = cw[keep]
                cdata = {k: np.ascontiguousarray(data[k][keep], dtype=float) for k in keys}
                cX = X[keep] if X is not None and n_cov else None
        else:
            uniq, inverse = unique_rows(np.column_stack(columns))
            cw = np.bincount(inverse, weights=w, minlength=uniq.shape[0]).astype(float)
            keep = cw > 0
            uniq, cw = uniq[keep], cw[keep]
            cdata = {k: np.ascontiguousarray(uniq[:, i]) for i, k in enumerate(keys)}
            cX = uniq[:, len(keys) :] if n_cov else None
        order = self._row_order(cdata) if not n_cov else None
        if order is not None:
            cdata = {k: v[order] for k, v in cdata.items()}
            cw = cw if weights is None and cw.size == n else cw[order]  # all weights 1: nothing to reorder
        n_rows = int(cw.size)
        total_w = float(cw.sum())
        if total_w <= 0:
            raise InputError("'weights' must not all be 0")

        names = list(self._param_names) + [f"{t}_coef[{j}]" for t in targets for j in range(n_cov)]
        n_base = len(self._param_names)
        init = {**self._default_initial, **dict(self.initial_params or {})}
        theta0 = np.concatenate([np.log([float(init[k]) for k in self._param_names]), np.zeros(len(names) - n_base)])
        workers = cores() if not summed and n_rows >= 2 * _BLOCK_ROWS else 1
        pool = ThreadPoolExecutor(workers, thread_name_prefix="custlens-fit") if workers > 1 else None
        try:
            return self._optimise(names, n_base, theta0, n_rows, cw, cdata, cX, targets, summed, total_w, pool)
        finally:
            if pool is not None:
                pool.shutdown()

    def _optimise(
        self,
        names: list[str],
        n_base: int,
        theta0: FloatArray,
        n_rows: int,
        cw: FloatArray,
        cdata: dict[str, FloatArray],
        cX: FloatArray | None,
        targets: tuple[str, ...],
        summed: bool,
        total_w: float,
        pool: ThreadPoolExecutor | None,
    ) -> Self:
        """Maximise the likelihood from ``theta0``, then set ``params_``, ``result_`` and ``n_iter_``.

        A family with an analytic Hessian (and no covariates) on more than
        ``_WARM_START_ROWS`` rows runs Newton steps only: damped ones on a random subset from
        ``theta0``, then plain ones on all rows from the subset's optimum; SciPy's optimisers
        (slow to import) are loaded only if that fails. Otherwise L-BFGS-B with the analytic
        gradient, after a warm start on the subset and a BFGS polish.
        """
        objective = _Objective(self, cdata, cw, cX, targets, n_base, float(self.penalizer), pool)
        newton = cX is None and self._has_hessian()

        bounds = [(-25.0, 25.0)] * n_base + [(None, None)] * (len(names) - n_base)
        options = {"maxiter": int(self.max_iter), "ftol": 1e-15, "gtol": float(self.tol), "maxcor": 20}
        with single_blas_thread():  # BLAS threads of a small optimiser only wait on each other
            n_polish = 0
            sub: _Objective | None = None
            if n_rows > _WARM_START_ROWS and (newton or not summed):
                # warm start: optimise on a fixed random subset of the distinct rows (with their
                # weights) first, so the full data only polish the estimate
                pick = _spread_subset(n_rows, _WARM_START_ROWS, seed=0)
                sub = _Objective(
                    self,
                    {k: v[pick] for k, v in cdata.items()},
                    cw[pick],
                    None if cX is None else cX[pick],
                    targets,
                    n_base,
                    float(self.penalizer),
                )
                warm_steps = _newton(sub, theta0, 1e-8, min(int(self.max_iter), 200)) if newton else None
                if warm_steps is not None and warm_steps.converged:
                    theta0 = warm_steps.theta
                    # on many rows a second subset, five times larger, more than halves the
                    # distance that the expensive full-data steps have to go
                    size = _WARM_START_ROWS * 5
                    if 3 * size <= n_rows:
                        pick = _spread_subset(n_rows, size, seed=1)
                        sub2 = _Objective(
                            self,
                            {k: v[pick] for k, v in cdata.items()},
                            cw[pick],
                            None,
                            targets,
                            n_base,
                            float(self.penalizer),
                            pool,
                        )
                        second = _newton(sub2, theta0, 1e-8, min(int(self.max_iter), 50))
                        if second is not None and second.converged:
                            theta0 = second.theta
                else:
                    from scipy import optimize  # slow to import: only when needed

                    warm = optimize.minimize(
                        sub.scaled,
                        theta0,
                        jac=True,
                        method="L-BFGS-B",
                        bounds=bounds,
                        options={**options, "ftol": 1e-10, "gtol": 1e-6},
                    )
                    if np.isfinite(warm.fun):
                        theta0 = warm.x
            # Newton steps with the analytic Hessian from the warm start (a good start is what
            # makes them safe); without a warm start the rows are few and L-BFGS-B is cheap
            steps = (
                _newton(objective, theta0, float(self.tol), int(self.max_iter), step_tol=_LAST_STEP)
                if newton and sub
                else None
            )
            if steps is not None and steps.converged:
                theta, n_iter, success = steps.theta, steps.n_iter, True
                message = f"Newton steps with the analytic Hessian: largest gradient {steps.grad_norm:.3g}"
                f, g = steps.f, steps.g
            else:
                from scipy import optimize  # slow to import: loaded by the first fit that needs it

                if steps is not None:  # Newton stalled: go on from where it got to
                    theta0 = steps.theta
                    n_polish = steps.n_iter
                elif sub is not None:
                    # polish on all rows with BFGS seeded by the subset's inverse Hessian: a few steps
                    h_inv = _inverse_hessian(sub, theta0)
                    if h_inv is not None:
                        polished = optimize.minimize(
                            objective.scaled,
                            theta0,
                            jac=True,
                            method="BFGS",
                            options={"maxiter": int(self.max_iter), "gtol": float(self.tol), "hess_inv0": h_inv},
                        )
                        if np.isfinite(polished.fun) and np.all(np.abs(polished.x[:n_base]) < 25.0):
                            theta0, n_polish = polished.x, int(polished.nit)
                res = optimize.minimize(
                    objective.scaled, theta0, jac=True, method="L-BFGS-B", bounds=bounds, options=options
                )
                n_iter = int(res.nit) + n_polish
                for _ in range(2):  # a failed line search near the optimum usually succeeds from a fresh start
                    if res.success or n_iter >= int(self.max_iter) or not np.isfinite(res.fun):
                        break
                    options["maxiter"] = int(self.max_iter) - n_iter
                    res = optimize.minimize(
                        objective.scaled, res.x, jac=True, method="L-BFGS-B", bounds=bounds, options=options
                    )
                    n_iter += int(res.nit)
                theta, success, message = res.x, bool(res.success), str(res.message)
                budget = min(10, int(self.max_iter) - n_iter)
                if newton and steps is None and budget > 0 and np.isfinite(res.fun):
                    # L-BFGS-B stops when a step lowers the objective by less than its rounding,
                    # which on a flat optimum (Gamma-Gamma's q and gamma) can be 1e-6 of the
                    # parameters away from it: Newton steps with the analytic Hessian finish
                    polish = _newton(objective, theta, float(self.tol), budget)
                    if polish is not None and polish.converged:
                        steps, theta, success = polish, polish.theta, True
                        n_iter += polish.n_iter
                        message = f"{message}; then {polish.n_iter} Newton step(s) with the analytic Hessian"
                f, g = (steps.f, steps.g) if steps is not None and steps.converged else objective.scaled(theta)
        grad_norm = float(np.max(np.abs(g)))
        finite = bool(np.isfinite(f))
        # the objective is a mean log-likelihood: a gradient this small is an optimum to ~1e-8
        converged = finite and (success or grad_norm < 1e-4 * max(1.0, abs(f)))
        if not converged:
            raise ConvergenceError(
                f"{type(self).__name__}.fit did not converge after {n_iter} iterations "
                f"({message}; largest gradient {grad_norm:.3g}, objective {f:.6g}). "
                "Try a larger 'max_iter', other 'initial_params' or a 'penalizer' > 0."
            )
        natural = objective.natural(theta)
        if steps is not None and steps.converged:
            # the analytic Hessian and log-likelihood of the last Newton evaluation, at theta
            hess, loglik = steps.hess, steps.loglik
        else:
            hess = objective.hessian(natural)
            loglik = float(objective.loglik(natural))
        try:
            cov = np.linalg.inv(-hess)
        except np.linalg.LinAlgError:
            cov = np.linalg.pinv(-hess)
        # an optimum on the box of the search, or a flat likelihood, is not an estimate: say so
        at_bound = [names[i] for i in range(n_base) if abs(float(theta[i])) > 25.0 - 1e-3]
        variances = np.diag(np.asarray(cov, dtype=float))[:n_base]
        if at_bound:
            converged = False
            message = (
                f"parameter(s) {', '.join(at_bound)} ran to the edge of the search ({', '.join(f'{natural[names.index(k)]:.3g}' for k in at_bound)}): "
                "the data do not identify them"
            )
        elif not (np.all(np.isfinite(variances)) and np.all(variances > 0)):
            converged = False
            message = "the information matrix is singular: the data do not identify every parameter"
        else:
            # a likelihood this flat along a parameter (standard error above _FLAT_SE times
            # the estimate) is as unidentified as a singular one; which of the two rounding
            # produces depends on where the optimiser stopped
            flat = [names[i] for i in range(n_base) if np.sqrt(variances[i]) > _FLAT_SE * abs(float(natural[i]))]
            if flat:
                converged = False
                message = (
                    f"the likelihood is flat along {', '.join(flat)} (standard error over "
                    f"{_FLAT_SE:g} times the estimate): the data do not identify every parameter"
                )
        if not converged:
            log.warning("%s.fit: %s; the estimates are not reliable", type(self).__name__, message)
        self.params_: dict[str, float] = dict(zip(names, (float(v) for v in natural), strict=True))
        self.result_ = FitResult(
            model=self._model,
            params=dict(self.params_),
            cov=np.asarray(cov, dtype=float),
            positive=tuple([True] * n_base + [False] * (len(names) - n_base)),
            log_likelihood=loglik,
            n_obs=total_w,
            n_unique=n_rows,
            n_iter=n_iter,
            converged=converged,
            penalizer=float(self.penalizer),
            message=message,
        )
        self.n_iter_ = n_iter
        log.debug("%s fitted on %d distinct rows in %d iterations", self._model, n_rows, n_iter)
        return self


def _spread_subset(n: int, size: int, *, seed: int) -> NDArray[np.intp]:
    """``size < n`` row numbers spread evenly over ``0..n-1`` from a random offset, in order.

    A systematic sample: every ``n/size``-th row. Drawing ``size`` rows at random without
    replacement costs a permutation of all ``n`` and a sort (6 ms on a million rows, more
    than a likelihood evaluation of the warm start), and rows that the fit has sorted by
    frequency make an evenly spread sample stratified by frequency.
    """
    step = n / size
    offset = float(np.random.default_rng(seed).random()) * step
    return (offset + step * np.arange(size)).astype(np.intp)


@dataclass(frozen=True)
class _NewtonSteps:
    """Where :func:`_newton` stopped, with the last evaluation there."""

    theta: FloatArray
    f: float
    g: FloatArray
    hess: FloatArray
    loglik: float
    n_iter: int
    converged: bool

    @property
    def grad_norm(self) -> float:
        return float(np.max(np.abs(self.g)))


#: Armijo's sufficient-decrease constant of the Newton line search
_ARMIJO = 1e-4
#: Newton's steps on all rows take one step more from a point that passes the gradient test
#: when that step would move a parameter by more than this (relative)
_LAST_STEP = 1e-10
#: the largest gradient component (of the mean objective) at which Newton's steps may stop
#: because no step lowers the objective any more (its rounding)
_STALL_GRADIENT = 1e-7


def _newton(
    objective: _Objective, theta: FloatArray, tol: float, max_iter: int, *, step_tol: float | None = None
) -> _NewtonSteps | None:
    """Newton's method on the scaled objective (log-parameters) with the analytic Hessian.

    Each step solves ``H step = -g`` (Cholesky; where ``H`` is not positive definite, with
    Levenberg's damping, :func:`_newton_step`) and halves it until the objective falls by
    Armijo's rule, allowing a few units of rounding in the objective (near the optimum a
    step changes it by less than its rounding); a full step to a point that passes the
    gradient test is taken when the objective there is higher by less than 1e-12 of it
    (rounding of the sums). Stops when the largest gradient component is at most ``tol``, the
    gradient test of L-BFGS-B, or at most ``_STALL_GRADIENT`` when no step lowers the
    objective any more. With ``step_tol``, a point that passes the gradient test but whose
    Newton step is longer than ``step_tol`` (largest component, in log-parameters: a relative
    distance to the optimum) takes that one step more when it passes the same test: the
    gradient test alone stops anywhere from 1e-14 to 1e-8 of the parameters away from the
    optimum, depending on where the last step happened to land. Returns None when the
    family has no Hessian or the start is not finite; otherwise the last point, converged or
    not.
    """
    ev = objective.scaled_hess(theta)
    if ev is None or not np.isfinite(ev[0]):
        return None
    f, g, H, raw = ev
    n_iter = 0
    converged = float(np.max(np.abs(g))) <= tol
    while not converged and n_iter < max_iter:
        step = _newton_step(H, g)
        if step is None:
            break
        slope = float(g @ step)
        t = 1.0
        accepted = None
        while t > 1e-6:
            cand = theta + t * step
            if np.all(np.abs(cand[: objective.n_base]) < 25.0):
                ev = objective.scaled_hess(cand)
                if (
                    ev is not None
                    and np.isfinite(ev[0])
                    and (
                        ev[0] <= f + _ARMIJO * t * slope + 8e-16 * abs(f)
                        # the full step reached a point that passes the gradient test: an objective
                        # higher by less than 1e-12 is the rounding of its sums (Gamma-Gamma's sums
                        # of sufficient statistics cancel terms a few hundred times larger)
                        or (t == 1.0 and float(np.max(np.abs(ev[1]))) <= tol and ev[0] <= f + 1e-12 * abs(f))
                    )
                ):
                    accepted = cand, ev
                    break
            t *= 0.5
        if accepted is None:
            # no step lowers the objective: at a gradient this small that is its rounding (a
            # nearly flat direction, as Gamma-Gamma's q and gamma), where L-BFGS-B stops too
            converged = float(np.max(np.abs(g))) <= _STALL_GRADIENT
            break
        theta, (f, g, H, raw) = accepted
        n_iter += 1
        log.debug("Newton step %d (length %g): objective %.17g, largest gradient %.3g", n_iter, t, f, np.max(np.abs(g)))
        converged = float(np.max(np.abs(g))) <= tol
    if converged and step_tol is not None and n_iter < max_iter:
        theta, f, g, H, raw, n_iter = _last_step(objective, theta, f, g, H, raw, n_iter, tol, step_tol)
    loglik, _, hess = raw
    return _NewtonSteps(theta, f, g, hess, loglik, n_iter, converged)


def _last_step(
    objective: _Objective,
    theta: FloatArray,
    f: float,
    g: FloatArray,
    H: FloatArray,
    raw: tuple[float, FloatArray, FloatArray],
    n_iter: int,
    tol: float,
    step_tol: float,
) -> tuple[FloatArray, float, FloatArray, FloatArray, tuple[float, FloatArray, FloatArray], int]:
    """From a point that passes the gradient test, the full Newton step when it is longer
    than ``step_tol`` and reaches a point that passes the test too with an objective at most
    rounding (1e-12 of it) higher; otherwise the point as it is (:func:`_newton`)."""
    step = _newton_step(H, g)
    if step is None or float(np.max(np.abs(step))) <= step_tol:
        return theta, f, g, H, raw, n_iter
    cand = theta + step
    if not np.all(np.abs(cand[: objective.n_base]) < 25.0):
        return theta, f, g, H, raw, n_iter
    ev = objective.scaled_hess(cand)
    if ev is None or not np.isfinite(ev[0]) or float(np.max(np.abs(ev[1]))) > tol or ev[0] > f + 1e-12 * abs(f):
        return theta, f, g, H, raw, n_iter
    log.debug("Newton step %d (the last, length %.3g): objective %.17g", n_iter + 1, np.max(np.abs(step)), ev[0])
    return cand, ev[0], ev[1], ev[2], ev[3], n_iter + 1


def _newton_step(H: FloatArray, g: FloatArray) -> FloatArray | None:
    """The Newton step ``-(H + mu I)^-1 g`` with the smallest ``mu`` in ``0, 1e-10 s, 1e-9 s,
    ...`` (``s`` the largest diagonal entry of ``H``) that makes the matrix positive
    definite (Levenberg's damping; ``mu = 0`` near an optimum, where ``H`` is), or None."""
    if not (np.all(np.isfinite(H)) and np.all(np.isfinite(g))):
        return None
    scale = max(float(np.max(np.abs(np.diag(H)))), 1e-300)
    eye = np.eye(g.size)
    for mu in [0.0] + [scale * 10.0**k for k in range(-10, 11)]:
        try:
            chol = np.linalg.cholesky(H + mu * eye)
        except np.linalg.LinAlgError:
            continue
        step = -np.linalg.solve(chol.T, np.linalg.solve(chol, g))
        if np.all(np.isfinite(step)):
            return step
    return None


def _inverse_hessian(objective: _Objective, theta: FloatArray) -> FloatArray | None:
    """Inverse Hessian of the scaled objective in log-parameters (central differences), if positive definite."""
    m = theta.size
    H = np.empty((m, m))
    for j in range(m):
        up, down = theta.copy(), theta.copy()
        up[j] += 1e-5
        down[j] -= 1e-5
        H[:, j] = (objective.scaled(up)[1] - objective.scaled(down)[1]) / 2e-5
    H = 0.5 * (H + H.T)
    try:
        np.linalg.cholesky(H)
        inv = np.linalg.inv(H)
        inv = 0.5 * (inv + inv.T)
        np.linalg.cholesky(inv)
    except np.linalg.LinAlgError:
        return None
    return inv if np.all(np.isfinite(inv)) else None


class _Objective:
    """Negative mean (penalised) log-likelihood on log-parameters, with its gradient."""

    def __init__(
        self,
        est: MLEstimator,
        data: dict[str, FloatArray],
        w: FloatArray,
        X: FloatArray | None,
        targets: tuple[str, ...],
        n_base: int,
        penalizer: float,
        pool: ThreadPoolExecutor | None = None,
    ) -> None:
        self.est, self.data, self.w, self.X = est, data, w, X
        self.targets, self.n_base, self.penalizer = targets, n_base, penalizer
        self.pool = pool
        self.total = float(w.sum())
        self.cache: dict[str, Any] = {}  # data sums a family's objective computes once

    def natural(self, theta: FloatArray) -> FloatArray:
        return np.concatenate([np.exp(theta[: self.n_base]), theta[self.n_base :]])

    def _eval(self, nat: FloatArray) -> tuple[float, FloatArray]:
        """Total log-likelihood (no penalty) and its gradient in natural parameters."""
        names = self.est._param_names
        P: RowParams = dict(zip(names, nat[: self.n_base], strict=True))
        X = self.X if self.targets else None
        if X is None and self.est._sums_sufficient_statistics():
            # the family sums its log-likelihood from sufficient statistics (no covariates)
            return self.est._weighted_loglik_grad(P, self.data, self.w, self.cache)
        n = self.w.size
        if n <= _BLOCK_ROWS:
            return self._eval_rows(nat, slice(None))
        blocks = [slice(i, min(i + _BLOCK_ROWS, n)) for i in range(0, n, _BLOCK_ROWS)]
        if self.pool is None:
            parts = [self._eval_rows(nat, b) for b in blocks]
        else:
            parts = list(self.pool.map(lambda b: self._eval_rows(nat, b), blocks))
        # summed in block order, so the result does not depend on the threads' timing
        return float(sum(p[0] for p in parts)), np.sum([p[1] for p in parts], axis=0)

    def _eval_rows(self, nat: FloatArray, rows: slice) -> tuple[float, FloatArray]:
        """:meth:`_eval` on the rows ``rows``."""
        names = self.est._param_names
        P: RowParams = dict(zip(names, nat[: self.n_base], strict=True))
        X = None if self.X is None or not self.targets else self.X[rows]
        data = {k: v[rows] for k, v in self.data.items()}
        w = self.w[rows]
        if X is None:
            fast = self.est._block_loglik_grad(P, data, w)
            if fast is not None:
                return fast
        k = 0 if X is None else X.shape[1]
        if X is not None:
            for i, t in enumerate(self.targets):
                coef = nat[self.n_base + i * k : self.n_base + (i + 1) * k]
                P[t] = P[t] * np.exp(self.est._covariate_signs[t] * (X @ coef))
        ll, grads = self.est._loglik_grad(P, data)
        # multiply-and-sum rather than BLAS dot products: on a busy machine BLAS threads
        # waiting for a core cost more than these O(n) sums
        total = float((w * ll).sum())
        g = np.empty(nat.size)
        for j, name in enumerate(names):
            gj = w * np.broadcast_to(grads[j], ll.shape)
            if name in self.targets:
                # d/d(param_0) of param_0 * exp(...) is exp(...) = P[name] / param_0
                g[j] = float((gj * (P[name] / nat[j])).sum())
            else:
                g[j] = float(gj.sum())
        if X is not None:
            for i, t in enumerate(self.targets):
                j = names.index(t)
                gj = w * grads[j] * P[t] * self.est._covariate_signs[t]
                g[self.n_base + i * k : self.n_base + (i + 1) * k] = X.T @ gj
        return total, g

    def loglik(self, nat: FloatArray) -> float:
        return self._eval(nat)[0]

    def _eval_hess(self, nat: FloatArray) -> tuple[float, FloatArray, FloatArray] | None:
        """Total log-likelihood (no penalty), gradient and analytic Hessian in natural parameters,
        or None when the family has no Hessian (or covariates act)."""
        if self.X is not None and self.targets:
            return None
        P: RowParams = dict(zip(self.est._param_names, nat[: self.n_base], strict=True))
        if self.est._sums_sufficient_statistics():
            return self.est._weighted_loglik_grad_hess(P, self.data, self.w, self.cache)
        n = self.w.size
        blocks = [slice(i, min(i + _BLOCK_ROWS, n)) for i in range(0, n, _BLOCK_ROWS)]

        def block(rows: slice) -> tuple[float, FloatArray, FloatArray] | None:
            return self.est._block_loglik_grad_hess(dict(P), {k: v[rows] for k, v in self.data.items()}, self.w[rows])

        if self.pool is None or len(blocks) == 1:
            parts = [block(b) for b in blocks]
        else:
            parts = list(self.pool.map(block, blocks))
        if any(p is None for p in parts):
            return None
        done = [p for p in parts if p is not None]
        # summed in block order, so the result does not depend on the threads' timing
        return (
            float(sum(p[0] for p in done)),
            np.sum([p[1] for p in done], axis=0),
            np.sum([p[2] for p in done], axis=0),
        )

    def scaled_hess(
        self, theta: FloatArray
    ) -> tuple[float, FloatArray, FloatArray, tuple[float, FloatArray, FloatArray]] | None:
        """:meth:`scaled` and its Hessian in log-parameters, with the penalised log-likelihood's
        value, gradient and Hessian in natural parameters (the last for the covariance)."""
        nat = self.natural(theta)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = self._eval_hess(nat)
        if out is None:
            return None
        total, g, H = out
        pen = self.penalizer * self.total
        value = total - pen * float(nat @ nat)
        g = g - 2.0 * pen * nat
        H = H - 2.0 * pen * np.eye(nat.size)
        if not (np.isfinite(value) and np.isfinite(g).all() and np.isfinite(H).all()):
            return np.inf, np.zeros_like(theta), np.eye(theta.size), (total, g, H)
        # theta = log(nat): d/dtheta = nat d/dnat, d2/dtheta2 = nat nat' H + diag(nat g)
        g_theta = g * nat
        H_theta = H * np.outer(nat, nat) + np.diag(g_theta)
        return -value / self.total, -g_theta / self.total, -H_theta / self.total, (total, g, H)

    def penalised(self, nat: FloatArray) -> tuple[float, FloatArray]:
        total, g = self._eval(nat)
        # lifetimes' convention: penalizer * sum(params^2) added to the mean negative log-likelihood
        pen = self.penalizer * self.total * float(nat @ nat)
        return total - pen, g - 2.0 * self.penalizer * self.total * nat

    def scaled(self, theta: FloatArray) -> tuple[float, FloatArray]:
        nat = self.natural(theta)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value, g = self.penalised(nat)
        if not np.isfinite(value) or not np.isfinite(g).all():
            return np.inf, np.zeros_like(theta)
        g_theta = g.copy()
        g_theta[: self.n_base] *= nat[: self.n_base]
        return -value / self.total, -g_theta / self.total

    def hessian(self, nat: FloatArray) -> FloatArray:
        """Hessian of the penalised log-likelihood by central differences of the analytic gradient
        (forward differences above 100,000 distinct rows, where each gradient costs most)."""
        m = nat.size
        H = np.empty((m, m))
        central = self.w.size <= 100_000
        g0 = np.zeros(m) if central else self.penalised(nat)[1]
        for j in range(m):
            h = (1e-5 if central else 1e-6) * max(abs(nat[j]), 1e-3)
            up, down = nat.copy(), nat.copy()
            up[j] += h
            down[j] -= h
            if central:
                H[:, j] = (self.penalised(up)[1] - self.penalised(down)[1]) / (2.0 * h)
            else:
                H[:, j] = (self.penalised(up)[1] - g0) / h
        return 0.5 * (H + H.T)
