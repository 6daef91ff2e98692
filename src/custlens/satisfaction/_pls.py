"""The PLS path modelling fixed point, on covariance matrices (arrays in, arrays out).

Everything here works on the item covariance (or correlation) matrix ``S`` of shape
``(..., p, p)``: a leading batch axis lets one call estimate hundreds of bootstrap
resamples at once. The algorithm is Wold's iterative PLS (Wold 1982; Lohmöller 1989,
ch. 2; Tenenhaus, Esposito Vinzi, Chatelin & Lauro 2005, "PLS path modeling",
Computational Statistics & Data Analysis 48, 159-205, section 2.2):

1. outer estimation: the latent variable (LV) ``j`` is ``Y_j = X_j w_j`` with
   ``w_j' S_jj w_j = 1`` (unit variance);
2. inner weights ``e_jk`` between adjacent LVs (centroid, factorial or path scheme);
3. inner proxy ``Z_j = sum_k e_jk Y_k``; its covariance with the items of block ``j`` is
   ``(S W E')[block j, j]``;
4. weight update: mode A ``w_j ∝ cov(X_j, Z_j)``, mode B ``w_j ∝ S_jj^{-1} cov(X_j, Z_j)``;
5. repeat until the largest absolute change of a (unit-variance) weight is below ``tol``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["SCHEMES", "fixed_point", "inner_weights", "path_coefficients", "fix_signs"]

SCHEMES = ("path", "centroid", "factorial")

FloatArray = NDArray[np.float64]


def _normalise(weights: FloatArray, cov: FloatArray) -> FloatArray:
    """Scale each column so that the LV it defines has unit variance."""
    var = np.einsum("...pj,...pq,...qj->...j", weights, cov, weights)
    return weights / np.sqrt(var)[..., None, :]


def inner_weights(lv_cor: FloatArray, paths: NDArray[np.bool_], scheme: str) -> FloatArray:
    """Inner weights ``E`` (row ``j`` holds the weights of the proxy of LV ``j``).

    Parameters
    ----------
    lv_cor
        LV correlation matrices, shape ``(..., J, J)``.
    paths
        ``paths[i, j]`` is true when the structural model has the arrow ``i -> j``.
    scheme
        ``"centroid"``: sign of the correlation between adjacent LVs (Wold 1982);
        ``"factorial"``: the correlation itself (Lohmöller 1989);
        ``"path"``: for the predecessors of ``j`` the coefficients of the multiple
        regression of ``Y_j`` on them, for its successors the correlation (Lohmöller 1989).
    """
    adjacent = paths | paths.T
    if scheme == "centroid":
        return np.sign(lv_cor) * adjacent
    if scheme == "factorial":
        return lv_cor * adjacent
    if scheme != "path":
        raise ValueError(f"unknown scheme {scheme!r}")
    e = np.zeros_like(lv_cor)
    for j in range(paths.shape[0]):
        pred = np.flatnonzero(paths[:, j])
        succ = np.flatnonzero(paths[j, :])
        if pred.size:
            a = lv_cor[..., pred[:, None], pred[None, :]]
            b = lv_cor[..., pred, j]
            e[..., j, pred] = np.linalg.solve(a, b[..., None])[..., 0]
        if succ.size:
            e[..., j, succ] = lv_cor[..., j, succ]
    return e


def fixed_point(
    cov: FloatArray,
    blocks: NDArray[np.bool_],
    mode_b: NDArray[np.bool_],
    paths: NDArray[np.bool_],
    scheme: str,
    tol: float,
    max_iter: int,
) -> tuple[FloatArray, int, NDArray[np.bool_]]:
    """Iterate the PLS outer/inner estimation to its fixed point.

    Parameters
    ----------
    cov
        Item covariance or correlation matrices, shape ``(..., p, p)``.
    blocks
        ``blocks[h, j]`` is true when item ``h`` belongs to LV ``j``; shape ``(p, J)``.
    mode_b
        Per LV, true for a formative (mode B) block.
    paths
        Structural model, ``paths[i, j]`` true for ``i -> j``; shape ``(J, J)``.
    scheme
        Inner weighting scheme, one of :data:`SCHEMES`.
    tol, max_iter
        Stop when every weight changes by less than ``tol``; give up after ``max_iter``.

    Returns
    -------
    weights
        Unit-variance outer weights, shape ``(..., p, J)``, zero outside the blocks.
    n_iter
        Iterations run.
    converged
        Per batch element, whether the tolerance was reached.
    """
    mask = blocks.astype(float)
    batch = cov.shape[:-2]
    w = _normalise(np.broadcast_to(mask, batch + mask.shape).copy(), cov)
    b_blocks = [(j, np.flatnonzero(blocks[:, j])) for j in np.flatnonzero(mode_b)]
    converged = np.zeros(batch, dtype=bool)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - the count is reported after the loop
        sw = cov @ w
        lv_cor = np.swapaxes(w, -1, -2) @ sw
        e = inner_weights(lv_cor, paths, scheme)
        target = sw @ np.swapaxes(e, -1, -2)  # cov(items, inner proxies)
        new = target * mask
        for j, idx in b_blocks:
            s_jj = cov[..., idx[:, None], idx[None, :]]
            new[..., idx, j] = np.linalg.solve(s_jj, target[..., idx, j][..., None])[..., 0]
        new = _normalise(new, cov)
        change = np.abs(new - w).max(axis=(-2, -1))
        w = new
        converged = change < tol
        if converged.all():
            break
    return w, n_iter, converged


def fix_signs(weights: FloatArray, cov: FloatArray, anchors: NDArray[np.intp]) -> FloatArray:
    """Flip LVs so that the loading of each block's anchor item is positive.

    PLS determines an LV only up to its sign; ``anchors[j]`` is the item whose loading on
    LV ``j`` is made positive (the dominant or the first item of the block).
    """
    cross = cov @ weights  # covariances item x LV; same signs as the loadings
    j = np.arange(weights.shape[-1])
    sign = np.sign(cross[..., anchors, j])
    sign[sign == 0] = 1.0
    return weights * sign[..., None, :]


def path_coefficients(lv_cor: FloatArray, paths: NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """OLS path coefficients and R² of every endogenous LV from the LV correlations.

    Returns ``(beta, r2)`` with ``beta[..., i, j]`` the coefficient of ``i -> j`` and
    ``r2[..., j]`` (zero for exogenous LVs).
    """
    beta = np.zeros_like(lv_cor)
    r2 = np.zeros(lv_cor.shape[:-1])
    for j in range(paths.shape[0]):
        pred = np.flatnonzero(paths[:, j])
        if not pred.size:
            continue
        a = lv_cor[..., pred[:, None], pred[None, :]]
        b = lv_cor[..., pred, j]
        coef = np.linalg.solve(a, b[..., None])[..., 0]
        beta[..., pred, j] = coef
        r2[..., j] = (coef * b).sum(axis=-1)
    return beta, r2
