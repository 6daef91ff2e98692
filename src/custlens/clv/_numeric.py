"""Small numerical helpers shared by the model families (arrays in, arrays out)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "gauss_legendre",
    "gauss_laguerre",
    "one_minus_pow_over",
    "digamma_diff",
    "unique_rows",
    "per_count",
    "worth_compressing",
    "cores",
    "scratch",
]

FloatArray = NDArray[np.float64]


@lru_cache(maxsize=8)
def gauss_legendre(n: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Legendre nodes and weights on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0


@lru_cache(maxsize=8)
def gauss_laguerre(n: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Laguerre nodes and weights for the weight ``exp(-u)`` on [0, inf)."""
    return np.polynomial.laguerre.laggauss(n)


def one_minus_pow_over(c: ArrayLike, log_q: ArrayLike) -> FloatArray:
    """``(1 - q**c) / c`` with ``log_q = log(q) <= 0``, continuous at ``c = 0`` (limit ``-log q``)."""
    c = np.asarray(c, dtype=float)
    log_q = np.asarray(log_q, dtype=float)
    c, log_q = np.broadcast_arrays(c, log_q)
    small = np.abs(c * log_q) < 1e-8
    safe_c = np.where(small, 1.0, c)
    general = -np.expm1(c * log_q) / safe_c
    # second-order expansion of -expm1(c*l)/c = -l - c*l^2/2 - ...
    series = -log_q * (1.0 + 0.5 * c * log_q)
    return np.where(small, series, general)


def per_count(fn: Callable[[FloatArray], FloatArray], offset: ArrayLike, x: FloatArray) -> FloatArray:
    """``fn(offset + x)`` for whole-number counts ``x``, evaluated once per distinct count.

    Purchase counts take few distinct values, so special functions of ``param + x`` are
    computed on ``0..max(x)`` and looked up; falls back to direct evaluation when ``offset``
    varies by row or the counts are not small whole numbers.
    """
    x = np.asarray(x, dtype=float)
    if np.ndim(offset) == 0 and x.size > 256:
        low, top = float(x.min()), float(x.max())
        if low >= 0 and top < 1e6 and top - low < 4 * x.size:
            xi = x.astype(np.intp)
            if np.array_equal(xi, x):
                lo = int(low)
                return fn(float(np.asarray(offset)) + np.arange(lo, int(top) + 1, dtype=float))[xi - lo]
    return fn(np.asarray(offset, dtype=float) + x)


def digamma_diff(a: ArrayLike, n: ArrayLike) -> FloatArray:
    """``psi(a + n) - psi(a)``, the derivative of ``log Gamma(a + n) - log Gamma(a)`` in ``a``."""
    from scipy import special  # here: the Gamma-Gamma fit imports this module without SciPy's special functions

    a = np.asarray(a, dtype=float)
    return per_count(special.digamma, a, np.asarray(n, dtype=float)) - special.digamma(a)


def unique_rows(M: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Distinct rows of a 2-D float array and, per input row, the index of its distinct row.

    Same result as ``np.unique(M, axis=0, return_inverse=True)`` (rows in lexicographic
    order), computed with one ``lexsort`` -- an order of magnitude faster on millions of rows.
    """
    n = M.shape[0]
    if n == 0:
        return M.copy(), np.zeros(0, dtype=np.intp)
    order = np.lexsort(M.T[::-1])
    ordered = M[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.any(ordered[1:] != ordered[:-1], axis=1, out=new[1:])
    group = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group
    return ordered[new], inverse


PROBE_ROWS = 4_096
"""Rows drawn to decide whether compressing identical rows is worth its sort."""


def worth_compressing(stacked: NDArray[np.float64] | Sequence[NDArray[np.float64]]) -> bool:
    """Whether identical rows are common enough for a sort of all rows to pay.

    ``stacked`` holds the rows (a 2-D array), or is a sequence of their columns (1-D or 2-D
    arrays of equal length; only the sampled rows are then stacked). A random sample of
    ``PROBE_ROWS`` rows (drawn without replacement) has no two alike when nearly every row
    is distinct (continuous recency and T); if compression would halve the rows, the
    sample has duplicates about ``PROBE_ROWS**2 / (2 n)`` times.
    """
    parts = [stacked] if isinstance(stacked, np.ndarray) else list(stacked)
    n = parts[0].shape[0]
    if n <= 4 * PROBE_ROWS:
        return True
    pick = np.random.default_rng(0).choice(n, PROBE_ROWS, replace=False)
    sample = np.column_stack([np.asarray(p)[pick] for p in parts])
    return unique_rows(sample)[0].shape[0] < PROBE_ROWS


def cores() -> int:
    """Cores this process may run on (at most 8)."""
    try:
        return max(1, min(8, len(os.sched_getaffinity(0))))
    except AttributeError:  # not on Linux
        return max(1, min(8, os.cpu_count() or 1))


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS/OpenMP thread (``threadpoolctl``), then restore the setting.

    SciPy's optimisers call BLAS on tiny matrices; with two threads they wait on each other,
    and a fit slows several times when another job holds the second core. The vectorised
    likelihood itself is NumPy element-wise work, which BLAS threads do not speed up.
    """
    with _blas_controller(len(sys.modules)).limit(limits=1):
        yield


@lru_cache(maxsize=1)
def _blas_controller(n_modules: int) -> Any:
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries, found again only when
    modules were imported since (which may have loaded another library, as SciPy's
    optimisers do): finding them walks the process's shared libraries, 2-3 ms, a tenth of
    a Gamma-Gamma fit."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


#: the largest scratch array (floats) a thread keeps between calls (:func:`scratch`)
SCRATCH_LIMIT = 1 << 20
_scratch = threading.local()


def scratch(rows: int, n: int) -> FloatArray:
    """A ``(rows, n)`` float array of undefined contents, kept by the calling thread for its
    next call (each row is contiguous).

    Arrays of a few hundred kilobytes and more come from the C library's ``mmap``, so every
    temporary NumPy array of a likelihood pass costs its page faults again (measured: ``exp``
    of a fresh 32,768-row temporary 6-9 times slower than into a reused array). The
    evaluations that run many passes per block of rows write into this array instead. Up to
    :data:`SCRATCH_LIMIT` floats are kept per thread (8 MB; the fit's worker threads end with
    the fit); a larger request gets a new array each time.
    """
    size = rows * n
    if size > SCRATCH_LIMIT:
        return np.empty((rows, n))
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.size < size:
        buf = np.empty(max(size, 1 << 16))
        _scratch.buf = buf
    return buf[:size].reshape(rows, n)
