"""The result of a maximum-likelihood fit: an object of its own, in the statsmodels manner."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

__all__ = ["FitResult"]


@dataclass(frozen=True)
class FitResult:
    """Estimates, their covariance and the fit statistics of one estimator fit.

    Attributes
    ----------
    model
        Short model name (``bgnbd``, ``pnbd``, ...).
    params
        Estimates by name, as in the source papers (covariate coefficients as
        ``<param>_coef[<j>]``).
    cov
        Covariance matrix of the estimates in the order of ``params``: the inverse of the
        negative Hessian of the (penalised) log-likelihood at the optimum, the Hessian
        computed by central differences of the analytic gradient.
    positive
        Which parameters are constrained positive (their confidence intervals are formed on
        the log scale, by the delta method, so they never cross zero).
    log_likelihood
        Log-likelihood at the estimates (without the penalty).
    n_obs
        Number of observations (sum of weights: customers, or for sBG cohort members).
    n_unique
        Rows the optimiser saw: distinct rows after compression (every row for families
        summed from sufficient statistics, Gamma-Gamma).
    n_iter, converged
        Optimiser iterations and convergence flag.
    """

    model: str
    params: dict[str, float]
    cov: NDArray[np.float64]
    positive: tuple[bool, ...]
    log_likelihood: float
    n_obs: float
    n_unique: int
    n_iter: int
    converged: bool
    penalizer: float = 0.0
    message: str = field(default="")

    @property
    def n_params(self) -> int:
        """Number of estimated parameters."""
        return len(self.params)

    @property
    def std_errors(self) -> dict[str, float]:
        """Standard errors from the diagonal of :attr:`cov` (NaN where it is not positive)."""
        diag = np.diag(self.cov)
        return {k: (math.sqrt(v) if v > 0 else math.nan) for k, v in zip(self.params, diag, strict=True)}

    @property
    def aic(self) -> float:
        """Akaike information criterion ``2k - 2 LL``."""
        return 2.0 * self.n_params - 2.0 * self.log_likelihood

    @property
    def bic(self) -> float:
        """Bayesian information criterion ``k log(n) - 2 LL``."""
        return self.n_params * math.log(self.n_obs) - 2.0 * self.log_likelihood

    def conf_int(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Wald confidence intervals; log-scale (delta method) for positive parameters."""
        from scipy import special  # here: a fit does not need SciPy's special functions

        z = float(special.ndtri(0.5 + level / 2.0))  # the normal quantile
        out: dict[str, tuple[float, float]] = {}
        for (name, est), se, pos in zip(self.params.items(), self.std_errors.values(), self.positive, strict=True):
            if pos:
                half = z * se / est
                out[name] = (est * math.exp(-half), est * math.exp(half))
            else:
                out[name] = (est - z * se, est + z * se)
        return out

    def summary(self, level: float = 0.95) -> pa.Table:
        """One row per parameter: estimate, standard error, confidence bounds."""
        ci = self.conf_int(level)
        pct = f"{100 * level:g}"
        return pa.table(
            {
                "param": list(self.params),
                "estimate": list(self.params.values()),
                "std_error": list(self.std_errors.values()),
                f"lower_{pct}": [lo for lo, _ in ci.values()],
                f"upper_{pct}": [hi for _, hi in ci.values()],
            }
        )

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON output."""
        return {
            "model": self.model,
            "params": dict(self.params),
            "standard_errors": self.std_errors,
            "log_likelihood": self.log_likelihood,
            "aic": self.aic,
            "bic": self.bic,
            "n_obs": self.n_obs,
            "n_iter": self.n_iter,
            "converged": self.converged,
        }

    def __str__(self) -> str:
        lines = [
            f"{self.model}: log-likelihood {self.log_likelihood:.4f}, n = {self.n_obs:g}, "
            f"AIC {self.aic:.2f}, BIC {self.bic:.2f}, converged {self.converged}"
        ]
        for name, est in self.params.items():
            lines.append(f"  {name:>14} {est:12.6g}  (se {self.std_errors[name]:.4g})")
        return "\n".join(lines)
