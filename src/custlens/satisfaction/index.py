"""The 0-100 satisfaction index, as the national indices (ACSI, ECSI) report it.

For construct ``j`` with items ``x_h`` answered on the scale ``[lo, hi]`` (e.g. 1-10):

1. unstandardise the outer weights: ``u_h = w_h / s_h`` (``w_h`` the weight of the
   standardised item, ``s_h`` its standard deviation; for a model fitted on raw data the
   weights already apply to the raw answers);
2. normalise them to sum to one: ``ũ_h = u_h / Σ_k u_k``;
3. the respondent's score on the answer scale is ``ξ = Σ_h ũ_h x_h`` and the index
   ``100 (ξ - lo) / (hi - lo)``; the construct's index is the mean over respondents.

(Fornell, Johnson, Anderson, Cha & Bryant 1996, J. Marketing 60(4), p. 10; ECSI Technical
Committee 1998; Ringle & Sarstedt 2016, Ind. Manag. Data Syst. 116(9), eqs. 1-3.) A
negative weight would let the index leave 0-100, so it is an error naming the item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from custlens.errors import InputError

if TYPE_CHECKING:
    from custlens.satisfaction.pls import PLSResult

__all__ = ["IndexResult", "satisfaction_index", "check_scale"]


def check_scale(scale: tuple[float, float]) -> tuple[float, float]:
    """Validate the answer-scale bounds ``(lo, hi)``."""
    try:
        lo, hi = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise InputError(f"'scale' must be two numbers (lowest, highest answer); got {scale!r}") from None
    if not lo < hi:
        raise InputError(f"'scale' must have lowest < highest answer; got {scale!r}")
    return lo, hi


@dataclass
class IndexResult:
    """Index weights, respondent scores (0-100) and the index per construct."""

    constructs: list[str]
    scale: tuple[float, float]
    weights: dict[str, dict[str, float]]
    scores: NDArray[np.float64]

    def index(self) -> dict[str, float]:
        """Mean 0-100 score per construct."""
        return {c: float(v) for c, v in zip(self.constructs, self.scores.mean(axis=0))}

    def to_dict(self) -> dict[str, Any]:
        """Index values, the normalised weights and the scale."""
        return {"scale": list(self.scale), "index": self.index(), "weights": self.weights}


def satisfaction_index(result: PLSResult, scale: tuple[float, float] = (1, 10)) -> IndexResult:
    """0-100 index scores of a fitted model's respondents (see the module docstring).

    Raises
    ------
    InputError
        When an unstandardised weight is negative (naming construct and item) or an answer
        lies outside ``scale``.
    """
    lo, hi = check_scale(scale)
    pm = result.prepared
    x = result.data
    outside = (x < lo) | (x > hi)
    if outside.any():
        rows, cols = np.nonzero(outside)
        raise InputError(
            f"answers must lie on the scale {lo:g}-{hi:g}; {int(outside.sum())} answer(s) do not "
            f"(first: item {pm.items[cols[0]]!r}, respondent row {rows[0] + 1}, value {x[rows[0], cols[0]]:g})"
        )
    raw = result.weights / result.sd[:, None] if result.standardize else result.weights.copy()
    norm = np.zeros_like(raw)
    weights: dict[str, dict[str, float]] = {}
    for j, name in enumerate(pm.constructs):
        idx = np.flatnonzero(pm.blocks[:, j])
        u = raw[idx, j]
        total = u.sum()
        negative = idx[(u < 0) if total > 0 else np.ones(idx.size, dtype=bool)]
        if negative.size:
            h = negative[0]
            raise InputError(
                f"construct {name!r}: item {pm.items[h]!r} has a negative outer weight ({raw[h, j]:.4g}); "
                "the 0-100 index needs non-negative weights (drop or recode the item)"
            )
        norm[idx, j] = u / total
        weights[name] = {pm.items[h]: float(norm[h, j]) for h in idx}
    # weights >= 0 summing to 1 keep every score inside 0-100; clip only round-off
    scores = np.clip((x @ norm - lo) / (hi - lo) * 100.0, 0.0, 100.0)
    return IndexResult(pm.constructs, (lo, hi), weights, scores)
