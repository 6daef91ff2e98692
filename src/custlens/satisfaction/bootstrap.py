"""Bootstrap inference for PLS path models, vectorised over the resamples.

Each resample draws ``n`` respondents with replacement (``numpy.random.default_rng(seed)``,
so a seed reproduces the resamples exactly), recomputes the item covariance matrix and
runs the PLS fixed point for a whole batch of resamples at once (one batched linear
algebra call per step instead of one model per resample). Signs are fixed with the same
anchor items as the original estimate. Reported per parameter (Davison & Hinkley 1997,
ch. 5; Hair et al. 2022, *A Primer on PLS-SEM*, 3rd ed., ch. 5):

* the original estimate, the bootstrap mean and standard error (``ddof=1``);
* ``t = estimate / se``;
* the percentile interval: the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the
  bootstrap estimates (numpy's default linear interpolation, R's type 7).

Resamples whose weights do not converge within ``max_iter`` are dropped and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from custlens.errors import ConvergenceError, InputError
from custlens.satisfaction import _pls

if TYPE_CHECKING:
    from custlens.satisfaction.pls import PLSResult

__all__ = ["BootstrapResult", "bootstrap"]

logger = logging.getLogger(__name__)


def _resample_cov(
    x: NDArray[np.float64], counts: NDArray[np.float64], standardize: bool, ddof: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Covariance (or correlation) matrices of resamples given as count vectors ``(B, n)``.

    Also returns, per resample, whether every item varies (a resample in which an item is
    constant cannot be estimated; its matrix is replaced by the identity and it is dropped).
    """
    n = x.shape[0]
    xc = x - x.mean(axis=0)  # centring first keeps the moments accurate
    mean = counts @ xc / n  # (B, p)
    second = np.einsum("bn,ni,nj->bij", counts, xc, xc, optimize=True) / n
    cov = (second - mean[:, :, None] * mean[:, None, :]) * n / (n - ddof)
    var = np.einsum("bii->bi", cov)
    ok = np.all(var > 1e-12 * np.maximum(var.max(axis=1, keepdims=True), 1e-300), axis=1)
    cov = np.where(ok[:, None, None], cov, np.eye(x.shape[1]))
    if standardize:
        sd = np.sqrt(np.einsum("bii->bi", cov))
        cov = cov / (sd[:, :, None] * sd[:, None, :])
    return cov, ok


@dataclass
class BootstrapResult:
    """Bootstrap distributions of the path coefficients, total effects, weights and loadings."""

    n_boot: int
    n_failed: int
    seed: int | None
    level: float
    names: dict[str, list[str]]
    original: dict[str, NDArray[np.float64]]
    draws: dict[str, NDArray[np.float64]]

    def table(self, kind: str) -> dict[str, dict[str, float]]:
        """Per parameter: estimate, mean, se, t and the percentile interval.

        ``kind`` is one of ``paths``, ``total_effects``, ``weights``, ``loadings``.
        """
        if kind not in self.draws:
            raise InputError(f"unknown bootstrap table {kind!r}; expected one of {', '.join(self.draws)}")
        est = self.original[kind]
        draws = self.draws[kind]
        se = draws.std(axis=0, ddof=1)
        lo, hi = np.quantile(draws, [(1 - self.level) / 2, (1 + self.level) / 2], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan)
        return {
            name: {
                "estimate": float(est[k]),
                "boot_mean": float(draws[:, k].mean()),
                "se": float(se[k]),
                "t": float(t[k]),
                "ci_low": float(lo[k]),
                "ci_high": float(hi[k]),
            }
            for k, name in enumerate(self.names[kind])
        }

    def to_dict(self) -> dict[str, Any]:
        """All tables plus the settings."""
        return {
            "n_boot": self.n_boot,
            "n_failed": self.n_failed,
            "seed": self.seed,
            "level": self.level,
            **{kind: self.table(kind) for kind in self.draws},
        }


def _extract(
    weights: NDArray[np.float64], cov: NDArray[np.float64], blocks: NDArray[np.bool_], paths: NDArray[np.bool_]
) -> dict[str, NDArray[np.float64]]:
    lv_cor = np.swapaxes(weights, -1, -2) @ cov @ weights
    beta, _ = _pls.path_coefficients(lv_cor, paths)
    eye = np.eye(paths.shape[0])
    total = np.linalg.inv(eye - beta) - eye
    sd = np.sqrt(np.einsum("...ii->...i", cov))
    loads = (cov @ weights) / sd[..., :, None]
    pi, pj = np.nonzero(paths)
    reach = np.abs(np.linalg.inv(eye - paths.astype(float)) - eye) > 0
    ti, tj = np.nonzero(reach)
    bi, bj = np.nonzero(blocks)
    return {
        "paths": beta[..., pi, pj],
        "total_effects": total[..., ti, tj],
        "weights": weights[..., bi, bj],
        "loadings": loads[..., bi, bj],
    }


def bootstrap(
    result: PLSResult, n_boot: int = 1000, seed: int | None = None, level: float = 0.95, batch: int = 250
) -> BootstrapResult:
    """Bootstrap a fitted model; see the module docstring for the statistics.

    Parameters
    ----------
    result
        The fitted model; its data, scheme, tolerance and sign anchors are reused.
    n_boot
        Number of resamples (>= 2).
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives the same resamples.
    level
        Confidence level of the percentile intervals.
    batch
        Resamples estimated together (memory grows as ``batch * p * p``).
    """
    if not isinstance(n_boot, int) or n_boot < 2:
        raise InputError(f"The 'n_boot' parameter of bootstrap must be an integer >= 2. Got {n_boot!r} instead.")
    if not 0 < level < 1:
        raise InputError(f"The 'level' parameter of bootstrap must be in (0, 1). Got {level!r} instead.")
    if not isinstance(batch, int) or batch < 1:
        raise InputError(f"The 'batch' parameter of bootstrap must be an integer >= 1. Got {batch!r} instead.")
    pm = result.prepared
    x = result.data
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    draws: dict[str, list[NDArray[np.float64]]] = {}
    failed = 0
    for start in range(0, n_boot, batch):
        size = min(batch, n_boot - start)
        idx = rng.integers(0, n, size=(size, n))
        counts = np.zeros((size, n))
        np.add.at(counts, (np.repeat(np.arange(size), n), idx.ravel()), 1.0)
        cov, ok_var = _resample_cov(x, counts, result.standardize, result.ddof)
        try:
            w, _, conv = _pls.fixed_point(
                cov, pm.blocks, pm.mode_b, pm.paths, result.scheme, result.tol, result.max_iter
            )
        except np.linalg.LinAlgError:
            raise ConvergenceError(
                "a bootstrap resample gave a singular matrix; the model is near-degenerate"
            ) from None
        w = _pls.fix_signs(w, cov, result.anchors)
        good = conv & ok_var
        failed += int((~good).sum())
        for kind, values in _extract(w[good], cov[good], pm.blocks, pm.paths).items():
            draws.setdefault(kind, []).append(values)
    if failed:
        logger.warning("%d of %d bootstrap resamples did not converge or were degenerate; dropped", failed, n_boot)
    if n_boot - failed < 2:
        raise ConvergenceError(f"only {n_boot - failed} of {n_boot} bootstrap resamples converged")
    original = _extract(result.weights, result.cov, pm.blocks, pm.paths)
    c, items = pm.constructs, pm.items
    pi, pj = np.nonzero(pm.paths)
    eye = np.eye(len(c))
    ti, tj = np.nonzero(np.abs(np.linalg.inv(eye - pm.paths.astype(float)) - eye) > 0)
    bi, bj = np.nonzero(pm.blocks)
    names = {
        "paths": [f"{c[i]} -> {c[j]}" for i, j in zip(pi, pj)],
        "total_effects": [f"{c[i]} -> {c[j]}" for i, j in zip(ti, tj)],
        "weights": [f"{c[j]} <- {items[i]}" for i, j in zip(bi, bj)],
        "loadings": [f"{c[j]} -> {items[i]}" for i, j in zip(bi, bj)],
    }
    return BootstrapResult(
        n_boot=n_boot,
        n_failed=failed,
        seed=seed,
        level=level,
        names=names,
        original=original,
        draws={k: np.concatenate(v, axis=0) for k, v in draws.items()},
    )
