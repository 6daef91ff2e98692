"""PLS path model estimation: :func:`fit_pls` and its result, :class:`PLSResult`.

Conventions (see docs/satisfaction.md for the full list and how other packages differ):

* data are standardised with the ``n - 1`` divisor (``ddof=1``; R's ``sd``, SmartPLS,
  seminr, plspm); path coefficients, loadings and unit-variance weights do not depend on
  this choice, only raw-data results do;
* initial outer weights are all 1; convergence when the largest absolute change of a
  unit-variance outer weight is below ``tol`` (default ``1e-7``, as SmartPLS and seminr);
* mode A updates by the covariance of each item with the inner proxy (for standardised
  data the correlation, i.e. the simple-regression coefficient up to one factor per block);
* the sign of each LV is fixed so that its dominant item (largest absolute loading), or
  with ``sign="first"`` its first item, has a positive loading.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custlens.errors import ConvergenceError, InputError
from custlens.satisfaction import _pls
from custlens.satisfaction._data import MISSING, column_names, handle_missing, item_matrix
from custlens.satisfaction.model import ModelSpec, get_model

__all__ = ["fit_pls", "PLSResult", "prepare", "PreparedModel"]

logger = logging.getLogger(__name__)

SIGN_RULES = ("dominant", "first")


@dataclass(frozen=True)
class PreparedModel:
    """A resolved model as arrays: item order, block membership, modes and paths."""

    model: ModelSpec
    items: list[str]
    constructs: list[str]
    blocks: NDArray[np.bool_]
    mode_b: NDArray[np.bool_]
    paths: NDArray[np.bool_]


def prepare(model: ModelSpec, columns: list[str]) -> PreparedModel:
    """Resolve ``model`` against ``columns`` and build its array form."""
    resolved = model.resolve(columns)
    items = [i for b in resolved.blocks for i in b.items]
    constructs = resolved.constructs
    blocks = np.zeros((len(items), len(constructs)), dtype=bool)
    k = 0
    for j, block in enumerate(resolved.blocks):
        blocks[k : k + len(block.items), j] = True
        k += len(block.items)
    mode_b = np.array([block.mode == "B" for block in resolved.blocks])
    paths = np.zeros((len(constructs), len(constructs)), dtype=bool)
    pos = {c: j for j, c in enumerate(constructs)}
    for source, target in resolved.paths:
        paths[pos[source], pos[target]] = True
    return PreparedModel(resolved, items, constructs, blocks, mode_b, paths)


def _check_params(scheme: str, missing: str, tol: float, max_iter: int, sign: str, ddof: int) -> None:
    rules: list[tuple[str, Any, bool, str]] = [
        ("scheme", scheme, scheme in _pls.SCHEMES, f"one of {', '.join(_pls.SCHEMES)}"),
        ("missing", missing, missing in MISSING, f"one of {', '.join(MISSING)}"),
        ("tol", tol, isinstance(tol, (int, float)) and 0 < tol < 1, "a float in (0, 1)"),
        ("max_iter", max_iter, isinstance(max_iter, int) and max_iter >= 1, "an integer >= 1"),
        ("sign", sign, sign in SIGN_RULES, f"one of {', '.join(SIGN_RULES)}"),
        ("ddof", ddof, ddof in (0, 1), "0 or 1"),
    ]
    for name, value, ok, expected in rules:
        if not ok:
            raise InputError(f"The {name!r} parameter of fit_pls must be {expected}. Got {value!r} instead.")


def _moments(
    x: NDArray[np.float64], standardize: bool, ddof: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Item means, standard deviations and the covariance (or correlation) matrix."""
    n = x.shape[0]
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / (n - ddof)
    sd = np.sqrt(np.diag(cov))
    if standardize:
        cov = cov / np.outer(sd, sd)
    return mean, sd, cov


def _anchors(pm: PreparedModel, cov: NDArray[np.float64], weights: NDArray[np.float64], sign: str) -> NDArray[np.intp]:
    anchors = np.empty(len(pm.constructs), dtype=np.intp)
    cross = np.abs(cov @ weights) / np.sqrt(np.diag(cov))[:, None]
    for j in range(len(pm.constructs)):
        idx = np.flatnonzero(pm.blocks[:, j])
        anchors[j] = idx[0] if sign == "first" else idx[np.argmax(cross[idx, j])]
    return anchors


def fit_pls(
    data: Any,
    model: str | Path | ModelSpec,
    *,
    scheme: str = "path",
    standardize: bool = True,
    missing: str = "listwise",
    tol: float = 1e-7,
    max_iter: int = 300,
    sign: str = "dominant",
    ddof: int = 1,
) -> PLSResult:
    """Estimate a PLS path model.

    Parameters
    ----------
    data
        Respondents x items: a pandas or polars frame, an Arrow table or a mapping of
        columns. Answers must be numeric (numeric strings are converted).
    model
        A :class:`~custlens.satisfaction.model.ModelSpec`, a built-in model name
        (``acsi``, ``ecsi``, ``scsb``) or the path of a TOML specification.
    scheme
        Inner weighting: ``path`` (default, as SmartPLS and seminr), ``centroid``
        (plspm's default) or ``factorial``.
    standardize
        Standardise the items (default) or only centre them (raw data; the outer weights
        are then in item units).
    missing
        ``listwise`` (default) drops respondents with any missing answer in the model's
        items; ``mean`` replaces missing answers by the item mean.
    tol, max_iter
        Convergence tolerance on the outer weights and iteration limit.
    sign
        ``dominant`` (default) or ``first``: which item's loading is made positive.
    ddof
        Divisor ``n - ddof`` of variances (1, as R and SmartPLS; 0 for the population form).

    Raises
    ------
    ConvergenceError
        When the weights have not converged after ``max_iter`` iterations.
    InputError, ConfigError
        For bad parameters, non-numeric answers or a model that does not fit the data.
    """
    _check_params(scheme, missing, tol, max_iter, sign, ddof)
    spec = get_model(model)
    pm = prepare(spec, column_names(data))
    raw = item_matrix(data, pm.items)
    x, kept = handle_missing(raw, pm.items, missing)
    n, p = x.shape
    if n < p + 2 or n < 3:
        raise InputError(f"PLS needs more respondents than items: {n} complete respondent(s) for {p} items")
    const = np.flatnonzero(np.ptp(x, axis=0) == 0)
    if const.size:
        raise InputError(f"item {pm.items[const[0]]!r} has the same answer for every respondent (zero variance)")
    mean, sd, cov = _moments(x, standardize, ddof)
    weights, n_iter, converged = _pls.fixed_point(cov, pm.blocks, pm.mode_b, pm.paths, scheme, tol, max_iter)
    if not bool(converged):
        raise ConvergenceError(
            f"PLS weights did not converge within max_iter={max_iter} iterations (tol={tol}); "
            "raise max_iter or check the model"
        )
    anchors = _anchors(pm, cov, weights, sign)
    weights = _pls.fix_signs(weights, cov, anchors)
    logger.debug("PLS converged after %d iterations", n_iter)
    return PLSResult(
        prepared=pm,
        scheme=scheme,
        standardize=standardize,
        missing=missing,
        tol=tol,
        max_iter=max_iter,
        ddof=ddof,
        n_obs=n,
        n_dropped=int((~kept).sum()),
        n_iter=n_iter,
        data=x,
        kept=kept,
        mean=mean,
        sd=sd,
        cov=cov,
        weights=weights,
        anchors=anchors,
    )


@dataclass
class PLSResult:
    """A fitted PLS path model (arrays in model order; dict views for reporting)."""

    prepared: PreparedModel
    scheme: str
    standardize: bool
    missing: str
    tol: float
    max_iter: int
    ddof: int
    n_obs: int
    n_dropped: int
    n_iter: int
    data: NDArray[np.float64] = field(repr=False)
    kept: NDArray[np.bool_] = field(repr=False)
    mean: NDArray[np.float64] = field(repr=False)
    sd: NDArray[np.float64] = field(repr=False)
    cov: NDArray[np.float64] = field(repr=False)
    weights: NDArray[np.float64] = field(repr=False)
    anchors: NDArray[np.intp] = field(repr=False)

    # ----- array views -------------------------------------------------------------
    @property
    def items(self) -> list[str]:
        """Item names in model order."""
        return self.prepared.items

    @property
    def constructs(self) -> list[str]:
        """Construct names in model order."""
        return self.prepared.constructs

    @property
    def lv_cor(self) -> NDArray[np.float64]:
        """Correlations between the latent variables."""
        return self.weights.T @ self.cov @ self.weights

    @property
    def cross_loadings_matrix(self) -> NDArray[np.float64]:
        """Correlation of every item with every LV, shape ``(p, J)``."""
        return (self.cov @ self.weights) / np.sqrt(np.diag(self.cov))[:, None]

    @property
    def loadings_matrix(self) -> NDArray[np.float64]:
        """Loadings (item-LV correlations) inside the blocks, zero elsewhere."""
        return self.cross_loadings_matrix * self.prepared.blocks

    @property
    def path_matrix(self) -> NDArray[np.float64]:
        """Standardised path coefficients, ``[i, j]`` for ``i -> j``."""
        return _pls.path_coefficients(self.lv_cor, self.prepared.paths)[0]

    @property
    def r2_vector(self) -> NDArray[np.float64]:
        """R² per construct (0 for exogenous constructs)."""
        return _pls.path_coefficients(self.lv_cor, self.prepared.paths)[1]

    @property
    def scores(self) -> NDArray[np.float64]:
        """Standardised latent variable scores of the respondents used, ``(n, J)``."""
        z = self.data - self.mean
        if self.standardize:
            z = z / self.sd
        return z @ self.weights

    @property
    def total_matrix(self) -> NDArray[np.float64]:
        """Total effects ``(I - B)^{-1} - I`` of the path matrix ``B``."""
        b = self.path_matrix
        eye = np.eye(b.shape[0])
        return np.linalg.inv(eye - b) - eye

    # ----- dict views -----------------------------------------------------------------
    def _edges(self, matrix: NDArray[np.float64], all_pairs: bool = False) -> dict[str, float]:
        c = self.constructs
        mask = self.prepared.paths if not all_pairs else np.abs(matrix) > 0
        return {f"{c[i]} -> {c[j]}": float(matrix[i, j]) for i, j in zip(*np.nonzero(mask))}

    def path_coefficients(self) -> dict[str, float]:
        """Path coefficients as ``{"from -> to": value}``."""
        return self._edges(self.path_matrix)

    def _by_block(self, matrix: NDArray[np.float64]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for j, c in enumerate(self.constructs):
            idx = np.flatnonzero(self.prepared.blocks[:, j])
            out[c] = {self.items[h]: float(matrix[h, j]) for h in idx}
        return out

    def outer_weights(self) -> dict[str, dict[str, float]]:
        """Unit-variance outer weights per construct and item."""
        return self._by_block(self.weights)

    def loadings(self) -> dict[str, dict[str, float]]:
        """Outer loadings per construct and item."""
        return self._by_block(self.cross_loadings_matrix)

    def cross_loadings(self) -> dict[str, dict[str, float]]:
        """Correlation of each item (outer key) with each construct (inner key)."""
        cl = self.cross_loadings_matrix
        return {it: {c: float(cl[h, j]) for j, c in enumerate(self.constructs)} for h, it in enumerate(self.items)}

    def r2(self) -> dict[str, float]:
        """R² of each endogenous construct."""
        endo = np.asarray(self.prepared.paths.any(axis=0), dtype=bool)
        return {c: float(v) for c, v, e in zip(self.constructs, self.r2_vector, endo.tolist()) if e}

    def r2_adjusted(self) -> dict[str, float]:
        """Adjusted R²: ``1 - (1 - R²)(n - 1)/(n - k - 1)`` with ``k`` predecessors."""
        k = self.prepared.paths.sum(axis=0)
        n = self.n_obs
        return {c: float(1 - (1 - r) * (n - 1) / (n - k[self.constructs.index(c)] - 1)) for c, r in self.r2().items()}

    def effects(self) -> dict[str, dict[str, float]]:
        """Direct, indirect and total effects between constructs (non-zero ones)."""
        total = self.total_matrix
        direct = self.path_matrix
        return {
            "direct": self.path_coefficients(),
            "indirect": self._edges(np.where(np.abs(total - direct) > 1e-15, total - direct, 0.0), all_pairs=True),
            "total": self._edges(total, all_pairs=True),
        }

    def quality(self) -> dict[str, Any]:
        """Reliability, validity and fit measures (see :mod:`custlens.satisfaction.quality`)."""
        from custlens.satisfaction.quality import quality_report

        return quality_report(self)

    def bootstrap(self, n_boot: int = 1000, seed: int | None = None, level: float = 0.95, batch: int = 250) -> Any:
        """Bootstrap standard errors, t-values and percentile intervals (see :mod:`.bootstrap`)."""
        from custlens.satisfaction.bootstrap import bootstrap

        return bootstrap(self, n_boot=n_boot, seed=seed, level=level, batch=batch)

    def index(self, scale: tuple[float, float] = (1, 10)) -> Any:
        """0-100 index scores (see :mod:`custlens.satisfaction.index`)."""
        from custlens.satisfaction.index import satisfaction_index

        return satisfaction_index(self, scale=scale)

    def summary(self) -> dict[str, Any]:
        """Model information: sizes, settings and convergence."""
        return {
            "model": self.prepared.model.name,
            "scheme": self.scheme,
            "standardized": self.standardize,
            "missing": self.missing,
            "n_obs": self.n_obs,
            "n_dropped": self.n_dropped,
            "iterations": self.n_iter,
            "tolerance": self.tol,
            "blocks": {b.name: {"items": list(b.items), "mode": b.mode} for b in self.prepared.model.blocks},
        }

    def to_dict(self) -> dict[str, Any]:
        """The estimates as plain dicts (for JSON)."""
        return {
            "summary": self.summary(),
            "path_coefficients": self.path_coefficients(),
            "outer_weights": self.outer_weights(),
            "loadings": self.loadings(),
            "r2": self.r2(),
            "r2_adjusted": self.r2_adjusted(),
            "effects": self.effects(),
            "quality": self.quality(),
        }
