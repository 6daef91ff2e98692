"""Churn-risk bands: from P(alive) or from how overdue a customer is against their rhythm."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.errors import InputError

__all__ = [
    "BAND_LABELS",
    "DEFAULT_P_ALIVE_THRESHOLDS",
    "DEFAULT_OVERDUE_THRESHOLDS",
    "band_from_p_alive",
    "band_from_overdue",
]

#: Band names, from least to most at risk.
BAND_LABELS: tuple[str, ...] = ("low", "medium", "high", "lost")

#: P(alive) cut-offs: >= 0.7 low, [0.4, 0.7) medium, [0.15, 0.4) high, < 0.15 lost.
DEFAULT_P_ALIVE_THRESHOLDS: tuple[float, float, float] = (0.7, 0.4, 0.15)

#: Overdue-ratio cut-offs (time since the last purchase in units of the customer's own
#: mean gap): <= 1.5 low, (1.5, 2.5] medium, (2.5, 4] high, > 4 lost.
DEFAULT_OVERDUE_THRESHOLDS: tuple[float, float, float] = (1.5, 2.5, 4.0)


def _check_thresholds(values: Sequence[float], name: str, decreasing: bool) -> NDArray[np.float64]:
    t = np.asarray(values, dtype=np.float64)
    if t.shape != (3,) or not np.all(np.isfinite(t)):
        raise InputError(f"'{name}' must be three finite numbers; got {list(values)!r}")
    steps = -np.diff(t) if decreasing else np.diff(t)
    if np.any(steps <= 0):
        order = "decreasing" if decreasing else "increasing"
        raise InputError(f"'{name}' must be strictly {order}; got {t.tolist()}")
    return t


def band_from_p_alive(p_alive: ArrayLike, thresholds: Sequence[float] = DEFAULT_P_ALIVE_THRESHOLDS) -> NDArray[np.str_]:
    """Risk band of each customer from P(alive).

    ``p >= t0`` low, ``t1 <= p < t0`` medium, ``t2 <= p < t1`` high, ``p < t2`` lost.
    """
    t = _check_thresholds(thresholds, "p_alive_thresholds", decreasing=True)
    if np.any((t < 0) | (t > 1)):
        raise InputError(f"'p_alive_thresholds' must lie in [0, 1]; got {t.tolist()}")
    p = np.asarray(p_alive, dtype=np.float64)
    if np.any((p < 0) | (p > 1)) or np.isnan(p).any():
        bad = int(np.flatnonzero((p < 0) | (p > 1) | np.isnan(p))[0])
        raise InputError(f"'p_alive' must lie in [0, 1]; row {bad} is {p.ravel()[bad]!r}")
    idx = np.searchsorted(-t, -p, side="left")  # how many thresholds lie above p
    return np.asarray(BAND_LABELS)[idx]


def band_from_overdue(
    overdue_ratio: ArrayLike, thresholds: Sequence[float] = DEFAULT_OVERDUE_THRESHOLDS
) -> NDArray[np.str_]:
    """Risk band from the overdue ratio (time since last purchase / own mean gap).

    ``o <= t0`` low, ``t0 < o <= t1`` medium, ``t1 < o <= t2`` high, ``o > t2`` lost.
    A missing ratio (no gap known) is banded ``"unknown"``.
    """
    t = _check_thresholds(thresholds, "overdue_thresholds", decreasing=False)
    if np.any(t <= 0):
        raise InputError(f"'overdue_thresholds' must be > 0; got {t.tolist()}")
    o = np.asarray(overdue_ratio, dtype=np.float64)
    idx = np.searchsorted(t, np.nan_to_num(o, nan=0.0), side="left")
    out = np.asarray(BAND_LABELS, dtype=object)[idx]
    out[np.isnan(o)] = "unknown"
    return out.astype(str)
