"""Argument checks shared by the formula models: one place, one message style."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custlens.errors import InputError

__all__ = ["as_float", "check_probability", "check_nonnegative", "check_finite", "first_bad", "plain", "order_by"]


def as_float(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Convert ``value`` to a float array; a clear error for text or missing values."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"'{name}' must be numeric; {_first_non_number(value)}") from None
    if np.isnan(arr).any():
        raise InputError(f"'{name}' has missing values (NaN); {_where(np.isnan(arr))}")
    return arr


def _first_non_number(value: ArrayLike) -> str:
    """Describe the first entry of ``value`` that is not a number (for error messages)."""
    items = np.asarray(value, dtype=object).ravel()
    for i, item in enumerate(items):
        try:
            float(item)
        except (TypeError, ValueError):
            n = sum(1 for v in items if not _is_number(v))
            return f"{n} value{'s' if n != 1 else ''} {'are' if n != 1 else 'is'} not (first at position {i}: {item!r})"
    return f"got {type(value).__name__}"


def _is_number(item: Any) -> bool:
    try:
        float(item)
    except (TypeError, ValueError):
        return False
    return True


def first_bad(mask: NDArray[np.bool_]) -> Any:
    """Index (int or tuple) of the first True entry of ``mask``."""
    flat = int(np.flatnonzero(mask.ravel())[0])
    if mask.ndim <= 1:
        return flat
    return tuple(int(i) for i in np.unravel_index(flat, mask.shape))


def _where(mask: NDArray[np.bool_]) -> str:
    n = int(mask.sum())
    if mask.ndim == 0:
        return "1 value breaks this"
    return f"{n} value{'s' if n != 1 else ''} break{'s' if n == 1 else ''} this (first at position {first_bad(mask)})"


def _show(arr: NDArray[np.float64], mask: NDArray[np.bool_]) -> str:
    if arr.ndim == 0:
        return f"got {float(arr):g}"
    return f"{_where(mask)}: {float(arr[first_bad(mask)]):g}"


def check_probability(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``value`` as floats after checking that every entry lies in [0, 1]."""
    arr = as_float(value, name)
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        raise InputError(f"'{name}' must lie in [0, 1]; {_show(arr, bad)}")
    return arr


def check_nonnegative(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``value`` as floats after checking that every entry is finite and >= 0."""
    arr = check_finite(value, name)
    bad = arr < 0
    if bad.any():
        raise InputError(f"'{name}' must be >= 0; {_show(arr, bad)}")
    return arr


def check_finite(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``value`` as floats after checking that every entry is finite."""
    arr = as_float(value, name)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"'{name}' must be finite; {_show(arr, bad)}")
    return arr


def plain(value: Any) -> Any:
    """A NumPy scalar as the plain Python value (for readable messages)."""
    return value.item() if hasattr(value, "item") else value


def order_by(group: NDArray[Any], key: NDArray[Any]) -> NDArray[np.intp]:
    """Permutation sorting by ``group`` then ``key`` (two stable sorts; faster than lexsort)."""
    by_key = np.argsort(key, kind="stable")
    return by_key[np.argsort(group[by_key], kind="stable")]
