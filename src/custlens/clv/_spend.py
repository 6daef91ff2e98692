"""The Gamma-Gamma spend estimator (Fader, Hardie & Lee 2005, "RFM and CLV")."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.clv import _gamma_gamma
from custlens.clv._base import MLEstimator, RowParams
from custlens.clv._checks import column, require
from custlens.errors import InputError

__all__ = ["GammaGamma", "check_spend"]

FloatArray = NDArray[np.float64]


def check_spend(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate repeat-purchase counts and mean spend: ``monetary_value > 0`` where ``frequency > 0``."""
    x = column("frequency", frequency)
    m = column("monetary_value", monetary_value, x.size)
    require("frequency", (x >= 0) & (x == np.round(x)), "must be a whole number >= 0", x)
    require("monetary_value", (x == 0) | (m > 0), "must be > 0 where 'frequency' > 0", m)
    return x, m


class GammaGamma(MLEstimator):
    """Gamma-Gamma model of mean transaction value, parameters ``p, q, gamma``.

    ``fit`` uses the customers with ``frequency > 0`` (customers without repeat purchases
    carry no spend information in the papers' convention, where ``monetary_value`` is the
    mean value of the repeat purchases). Hyper-parameters as in :class:`~custlens.clv.BetaGeo`
    (no covariates).
    """

    _model = "gg"
    _param_names = ("p", "q", "gamma")
    _covariate_signs = {}
    _default_initial = {"p": 1.0, "q": 1.0, "gamma": 1.0}

    def _loglik_grad(self, P: RowParams, data: dict[str, FloatArray]) -> tuple[FloatArray, tuple[FloatArray, ...]]:
        return _gamma_gamma.loglik_grad(P["p"], P["q"], P["gamma"], data["x"], data["zbar"])

    def _weighted_loglik_grad(
        self, P: RowParams, data: dict[str, FloatArray], w: FloatArray, cache: dict[str, Any]
    ) -> tuple[float, FloatArray]:
        return _gamma_gamma.weighted_loglik_grad(
            float(P["p"]), float(P["q"]), float(P["gamma"]), data["x"], data["zbar"], w, cache
        )

    def _weighted_loglik_grad_hess(
        self, P: RowParams, data: dict[str, FloatArray], w: FloatArray, cache: dict[str, Any]
    ) -> tuple[float, FloatArray, FloatArray]:
        return _gamma_gamma.weighted_loglik_grad_hess(
            float(P["p"]), float(P["q"]), float(P["gamma"]), data["x"], data["zbar"], w, cache
        )

    def fit(self, frequency: ArrayLike, monetary_value: ArrayLike, *, weights: ArrayLike | None = None) -> Self:
        """Fit by maximum likelihood on the customers with repeat purchases.

        Parameters
        ----------
        frequency
            Number of repeat purchases per customer.
        monetary_value
            Mean value of those purchases.
        weights
            How many customers each row stands for.

        Returns
        -------
        self
        """
        x, m = check_spend(frequency, monetary_value)
        keep = x > 0
        if keep.all():  # only repeat buyers (as usual): no copy
            w = None if weights is None else column("weights", weights, x.size)
            return self._fit({"x": x, "zbar": m}, w)
        if not keep.any():
            raise InputError("GammaGamma.fit needs customers with 'frequency' > 0; none were given")
        w = None if weights is None else column("weights", weights, x.size)[keep]
        return self._fit({"x": x[keep], "zbar": m[keep]}, w)

    def loglik(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """Per-customer log density of the mean spend (customers with ``frequency > 0``)."""
        x, m = check_spend(frequency, monetary_value)
        P = self._row_params()
        return _gamma_gamma.loglik(P["p"], P["q"], P["gamma"], x, m)

    def conditional_expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """Expected mean transaction value of each customer (population mean where ``frequency = 0``)."""
        x, m = check_spend(frequency, monetary_value)
        P = self._row_params()
        return _gamma_gamma.conditional_expected_spend(P["p"], P["q"], P["gamma"], x, m)

    def expected_spend(self) -> float:
        """Population mean transaction value ``p gamma / (q - 1)``."""
        P = self._row_params()
        return float(_gamma_gamma.expected_spend(P["p"], P["q"], P["gamma"]))

    def simulate(self, frequency: ArrayLike, *, rng: np.random.Generator | int | None = None) -> FloatArray:
        """Simulate each customer's mean spend given its number of purchases."""
        P = self._row_params()
        return _gamma_gamma.simulate(P["p"], P["q"], P["gamma"], frequency, rng=rng)
