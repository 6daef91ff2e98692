"""Quality measures of a fitted PLS path model (textbook definitions, sources below).

Let block ``j`` have ``p_j`` items with correlation matrix ``S_j``, loadings ``λ`` and
unit-variance weights ``w``:

* Cronbach's alpha (Cronbach 1951): ``p/(p-1) * (1 - tr S_j / 1'S_j 1)`` on the
  standardised items (on the covariances when the model was fitted on raw data);
* Dillon-Goldstein's rho / composite reliability (Werts, Linn & Jöreskog 1974;
  Tenenhaus et al. 2005, eq. 7): ``(Σλ)² / ((Σλ)² + Σ(1 - λ²))``;
* rho_A (Dijkstra & Henseler 2015, MIS Quarterly 39(2), eq. 17):
  ``(w'w)² · w'(S_j - diag S_j)w / w'(ww' - diag(ww'))w``;
* AVE (Fornell & Larcker 1981): ``mean(λ²)``; the communality of an item is ``λ²`` and of a
  block the mean of its items' (Tenenhaus et al. 2005, section 3.1);
* redundancy of an endogenous block (Tenenhaus et al. 2005, eq. 16): communality × R²;
* GoF (Tenenhaus, Amato & Esposito Vinzi 2004; Tenenhaus et al. 2005, eq. 17):
  ``sqrt(mean communality × mean R²)``, the communality averaged over the items of the
  blocks with more than one item (as plspm), R² over the endogenous constructs;
* HTMT (Henseler, Ringle & Sarstedt 2015, J. Acad. Mark. Sci. 43, eq. 6): mean
  heterotrait-heteromethod correlation over the geometric mean of the two blocks' mean
  monotrait-heteromethod correlations (item correlations, not absolute values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from custlens.satisfaction.pls import PLSResult

__all__ = [
    "cronbach_alpha",
    "composite_reliability",
    "rho_a",
    "ave",
    "htmt",
    "quality_report",
]


def cronbach_alpha(s: NDArray[np.float64]) -> float:
    """Cronbach's alpha of a block from its item covariance/correlation matrix."""
    p = s.shape[0]
    if p < 2:
        return float("nan")
    return float(p / (p - 1) * (1 - np.trace(s) / s.sum()))


def composite_reliability(loadings: NDArray[np.float64]) -> float:
    """Dillon-Goldstein's rho (composite reliability, rho_C) from the loadings."""
    num = loadings.sum() ** 2
    return float(num / (num + (1 - loadings**2).sum()))


def rho_a(s: NDArray[np.float64], w: NDArray[np.float64]) -> float:
    """Dijkstra-Henseler's rho_A from the block correlation matrix and its weights.

    The weights are first scaled so that the composite has unit variance (``w'Sw = 1``),
    the normalisation the formula assumes.
    """
    if w.size < 2:
        return 1.0
    w = w / np.sqrt(w @ s @ w)
    off = s - np.diag(np.diag(s))
    ww = np.outer(w, w)
    return float((w @ w) ** 2 * (w @ off @ w) / (w @ (ww - np.diag(np.diag(ww))) @ w))


def ave(loadings: NDArray[np.float64]) -> float:
    """Average variance extracted: the mean squared loading."""
    return float(np.mean(loadings**2))


def _mean_offdiag(c: NDArray[np.float64]) -> float:
    p = c.shape[0]
    return float((c.sum() - np.trace(c)) / (p * (p - 1))) if p > 1 else 1.0


def htmt(cor: NDArray[np.float64], blocks: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Heterotrait-monotrait ratios between all pairs of blocks (upper triangle, NaN elsewhere)."""
    n_blocks = blocks.shape[1]
    idx = [np.flatnonzero(blocks[:, j]) for j in range(n_blocks)]
    mono = [_mean_offdiag(cor[np.ix_(i, i)]) for i in idx]
    out = np.full((n_blocks, n_blocks), np.nan)
    for a in range(n_blocks):
        for b in range(a + 1, n_blocks):
            hetero = cor[np.ix_(idx[a], idx[b])].mean()
            out[a, b] = hetero / np.sqrt(mono[a] * mono[b])
    return out


def quality_report(result: PLSResult) -> dict[str, Any]:
    """All quality measures of a fitted model as plain dicts."""
    pm = result.prepared
    cov = result.cov
    sd = np.sqrt(np.diag(cov))
    cor = cov / np.outer(sd, sd)
    loadings = result.cross_loadings_matrix
    r2 = result.r2_vector
    endo = np.asarray(pm.paths.any(axis=0), dtype=bool)
    per_construct: dict[str, dict[str, Any]] = {}
    comm_items: list[float] = []
    for j, name in enumerate(pm.constructs):
        idx = np.flatnonzero(pm.blocks[:, j])
        lam = loadings[idx, j]
        w_std = result.weights[idx, j] * (sd[idx] if not result.standardize else 1.0)
        block_cov = cov[np.ix_(idx, idx)]
        communality = ave(lam)
        per_construct[name] = {
            "items": int(idx.size),
            "mode": pm.model.blocks[j].mode,
            "cronbach_alpha": cronbach_alpha(block_cov),
            "dillon_goldstein_rho": composite_reliability(lam),
            "rho_a": rho_a(cor[np.ix_(idx, idx)], w_std),
            "ave": communality,
            "communality": communality,
            "redundancy": float(communality * r2[j]) if endo[j] else float("nan"),
            "r2": float(r2[j]) if endo[j] else float("nan"),
        }
        if idx.size > 1:
            comm_items.extend((lam**2).tolist())
    mean_comm = float(np.mean(comm_items)) if comm_items else float("nan")
    mean_r2 = float(r2[endo].mean()) if endo.any() else float("nan")
    ratios = htmt(cor, pm.blocks)
    names = pm.constructs
    htmt_pairs = {
        f"{names[a]} | {names[b]}": float(ratios[a, b]) for a in range(len(names)) for b in range(a + 1, len(names))
    }
    communality_items = {result.items[h]: float(loadings[h, j] ** 2) for h, j in zip(*np.nonzero(pm.blocks))}
    return {
        "constructs": per_construct,
        "item_communality": communality_items,
        "htmt": htmt_pairs,
        "mean_communality": mean_comm,
        "mean_r2": mean_r2,
        "gof": float(np.sqrt(mean_comm * mean_r2)),
    }
