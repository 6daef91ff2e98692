"""Log-gamma, digamma and trigamma of positive reals without importing ``scipy.special``.

Importing ``scipy.special`` costs 0.15-0.3 s (SciPy's array-API layer walks NumPy's
lazily loaded submodules), more than the whole Gamma-Gamma fit, which needs these
functions only at the few hundred distinct purchase counts and at ``q``
(:mod:`custlens.clv._gamma_gamma`). Meant for small arrays: the log-gamma runs one
:func:`math.lgamma` per element, the digamma and trigamma shift each argument up by
the recurrences ``psi(z) = psi(z + 1) - 1/z`` and ``psi'(z) = psi'(z + 1) + 1/z^2`` until
it is at least 10 and then sum their asymptotic series (Abramowitz & Stegun 6.3.18 and
6.4.12, with the Bernoulli numbers up to ``B_16``), whose first omitted term there is
below 1e-16 of the value. Agreement with ``scipy.special`` is tested in
``tests/clv/test_special.py``. Arguments must be positive (the callers' ``p x``, ``q``
and ``p x + q`` are).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["gammaln", "digamma", "trigamma"]

FloatArray = NDArray[np.float64]

_SHIFT_TO = 10.0
# B_2k / (2k) for k = 1..8: psi(z) ~ log z - 1/(2z) - sum_k B_2k / (2k z^2k)
_PSI_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12, -3617 / 8160)
# B_2k for k = 1..8: psi'(z) ~ 1/z + 1/(2z^2) + sum_k B_2k / z^(2k+1)
_TRIGAMMA_SERIES = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def gammaln(z: ArrayLike) -> FloatArray:
    """``log Gamma(z)`` elementwise (:func:`math.lgamma`), for ``z > 0``."""
    v = np.asarray(z, dtype=float)
    out = np.fromiter((math.lgamma(t) for t in v.ravel().tolist()), dtype=float, count=v.size)
    return out.reshape(v.shape)


def _shifted(z: ArrayLike, power: int) -> tuple[FloatArray, FloatArray]:
    """``z`` raised to at least :data:`_SHIFT_TO` in unit steps, and ``sum 1/z_k^power`` over the steps."""
    w = np.array(z, dtype=float)  # a copy: shifted in place
    acc = np.zeros_like(w)
    steps = int(math.ceil(_SHIFT_TO - float(w.min()))) if w.size else 0
    for _ in range(max(steps, 0)):
        low = w < _SHIFT_TO
        if not low.any():
            break
        acc[low] += w[low] ** -power
        w[low] += 1.0
    return w, acc


def digamma(z: ArrayLike) -> FloatArray:
    """``psi(z) = d log Gamma(z) / dz`` elementwise, for ``z > 0``."""
    w, acc = _shifted(z, 1)
    inv2 = 1.0 / (w * w)
    series = np.zeros_like(w)
    for c in reversed(_PSI_SERIES):
        series = (series + c) * inv2
    return np.log(w) - 0.5 / w - series - acc


def trigamma(z: ArrayLike) -> FloatArray:
    """``psi'(z)``, the derivative of :func:`digamma`, elementwise, for ``z > 0``."""
    w, acc = _shifted(z, 2)
    inv = 1.0 / w
    inv2 = inv * inv
    series = np.zeros_like(w)
    for c in reversed(_TRIGAMMA_SERIES):
        series = (series + c) * inv2
    return inv + 0.5 * inv2 + series * inv + acc
