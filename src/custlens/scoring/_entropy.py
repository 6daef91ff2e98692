"""Entropy-weight method: objective indicator weights from the data's dispersion.

Pure NumPy. For ``m`` customers and normalised (non-negative) indicator values ``r_ij``
(Zou, Yun & Sun 2006, eqs. 1-6):

* shares ``f_ij = r_ij / sum_i r_ij``;
* entropy ``H_j = -(1 / ln m) * sum_i f_ij ln f_ij`` with ``f ln f = 0`` when ``f = 0``;
* weight ``w_j = (1 - H_j) / sum_k (1 - H_k)``.

An indicator whose values are all equal carries no information: ``H_j = 1`` and its
weight is 0. Because ``sum_i f ln f = T_j / S_j - ln S_j`` with ``S_j = sum_i r_ij`` and
``T_j = sum_i r_ij ln r_ij``, the method needs only two sums per indicator, which the
table layer computes on any backend (:func:`entropy_weights_from_sums`).

Reference
---------
Zou, Z., Yun, Y. & Sun, J. (2006). Entropy method for determination of weight of
evaluating indicators in fuzzy synthetic evaluation for water quality assessment.
*Journal of Environmental Sciences*, 18(5), 1020-1023.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from custlens.errors import InputError

__all__ = ["entropy_weights", "entropy_weights_from_sums", "EntropyWeights"]


@dataclass(frozen=True)
class EntropyWeights:
    """Entropy-weight result: per-indicator entropy ``H_j``, divergence ``1 - H_j``, weight."""

    names: tuple[str, ...]
    entropy: np.ndarray
    divergence: np.ndarray
    weights: np.ndarray

    def weight_map(self) -> dict[str, float]:
        """Weights keyed by indicator name."""
        return {n: float(w) for n, w in zip(self.names, self.weights)}

    def summary(self) -> dict[str, object]:
        """Plain-value summary for JSON output."""
        return {
            "weights": self.weight_map(),
            "entropy": {n: float(e) for n, e in zip(self.names, self.entropy)},
        }


def entropy_weights_from_sums(
    sums: Sequence[float] | np.ndarray,
    sums_xlogx: Sequence[float] | np.ndarray,
    n_rows: int,
    names: Sequence[str] | None = None,
    constant: Sequence[bool] | np.ndarray | None = None,
) -> EntropyWeights:
    """Entropy weights from ``S_j = sum_i r_ij`` and ``T_j = sum_i r_ij ln r_ij``.

    Parameters
    ----------
    sums, sums_xlogx
        The two column sums of the normalised, non-negative indicator values.
    n_rows
        Number of customers ``m`` (at least 2).
    names
        Indicator names (default ``x1 .. xn``).
    constant
        Indicators known to take one value for every customer: their entropy is set to
        exactly 1 (the sums alone lose this to rounding for tiny values).

    Raises
    ------
    InputError
        Fewer than two rows, negative sums, or every indicator constant.
    """
    s = np.asarray(sums, dtype=float)
    t = np.asarray(sums_xlogx, dtype=float)
    labels = tuple(names) if names is not None else tuple(f"x{i + 1}" for i in range(s.size))
    if n_rows < 2:
        raise InputError(f"the entropy-weight method needs at least 2 customers; got {n_rows}")
    if np.any(s < 0) or not np.all(np.isfinite(s)) or not np.all(np.isfinite(t)):
        raise InputError("entropy weights need finite, non-negative normalised values")
    entropy = np.ones_like(s)
    positive = s > 0
    # sum_i f ln f = T/S - ln S for f = r / S
    entropy[positive] = -(t[positive] / s[positive] - np.log(s[positive])) / np.log(n_rows)
    entropy = np.clip(entropy, 0.0, 1.0)
    if constant is not None:
        entropy[np.asarray(constant, dtype=bool)] = 1.0
    divergence = 1.0 - entropy
    divergence[divergence < 1e-12] = 0.0  # rounding noise of a constant indicator
    total = divergence.sum()
    if not total > 0:
        raise InputError(
            f"entropy weights are undefined: every indicator ({', '.join(labels)}) takes one value "
            "for all customers, so none distinguishes them"
        )
    return EntropyWeights(labels, entropy, divergence, divergence / total)


def entropy_weights(
    values: np.ndarray | Sequence[Sequence[float]], names: Sequence[str] | None = None
) -> EntropyWeights:
    """Entropy weights of an ``m x n`` matrix of normalised, non-negative indicator values.

    Normalise first (min-max, with cost indicators reversed); see the module docstring.
    """
    r = np.asarray(values, dtype=float)
    if r.ndim != 2:
        raise InputError(f"entropy weights need a 2-d matrix (customers x indicators); got {r.ndim}-d")
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise InputError("entropy weights need finite, non-negative normalised values")
    safe = np.where(r > 0, r, 1.0)
    t = (r * np.log(safe)).sum(axis=0)
    const = r.max(axis=0) == r.min(axis=0) if r.shape[0] else None
    return entropy_weights_from_sums(r.sum(axis=0), t, r.shape[0], names, constant=const)
