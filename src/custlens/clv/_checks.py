"""Input and hyper-parameter checks: every rule declared once, every message alike.

Messages name the parameter or column, the rule, what was received, how many rows break
it and the first one, e.g. ``'recency' must be <= 'T'; 12 rows break this (first: row 1043)``.
Rows are counted from 0 in the order the arrays were given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike, NDArray

from custlens.errors import InputError

__all__ = [
    "ParamRule",
    "check_hyper_params",
    "column",
    "require",
    "positive_float",
    "nonneg_float",
    "finite_float",
    "positive_int",
    "arrow_values",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ParamRule:
    """One hyper-parameter rule: its name, a predicate and the expectation in words."""

    name: str
    ok: Callable[[Any], bool]
    expected: str


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def finite_float(v: Any) -> bool:
    """A finite real number."""
    return _is_real(v) and math.isfinite(float(v))


def nonneg_float(v: Any) -> bool:
    """A finite real number >= 0."""
    return _is_real(v) and math.isfinite(float(v)) and float(v) >= 0.0


def positive_float(v: Any) -> bool:
    """A finite real number > 0."""
    return _is_real(v) and math.isfinite(float(v)) and float(v) > 0.0


def positive_int(v: Any) -> bool:
    """An integer >= 1."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and int(v) >= 1


def check_hyper_params(owner: str, values: Mapping[str, Any], rules: Sequence[ParamRule]) -> None:
    """Raise :class:`InputError` for the first hyper-parameter that breaks its rule.

    The message reads ``The 'penalizer' parameter of BetaGeo must be a float >= 0. Got -1 instead.``
    """
    for rule in rules:
        value = values[rule.name]
        if not rule.ok(value):
            raise InputError(f"The '{rule.name}' parameter of {owner} must be {rule.expected}. Got {value!r} instead.")


def column(name: str, values: ArrayLike, n: int | None = None) -> FloatArray:
    """A 1-D float array of finite numbers named ``name`` (and of length ``n`` if given)."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"'{name}' must hold numbers; got values of type {np.asarray(values).dtype}") from None
    if arr.ndim == 0 or (arr.ndim > 1 and arr.size == max(arr.shape)):
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise InputError(f"'{name}' must be one-dimensional; got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise InputError(f"'{name}' has {arr.size} rows but the other inputs have {n}")
    require(name, np.isfinite(arr), "must be a finite number (no missing values)", arr)
    return arr


def require(name: str, ok: ArrayLike, rule: str, values: ArrayLike | None = None) -> None:
    """Raise :class:`InputError` if any element of ``ok`` is false.

    ``'recency' must be <= 'T'; 12 rows break this (first: row 1043, value 40.0)``.
    """
    ok = np.asarray(ok, dtype=bool)
    if ok.all():
        return
    bad = np.flatnonzero(~ok)
    first = int(bad[0])
    example = f"row {first}"
    if values is not None:
        example += f", value {np.asarray(values)[first]!r}"
    raise InputError(f"'{name}' {rule}; {bad.size} row{'s' if bad.size > 1 else ''} break this (first: {example})")


def arrow_values(values: pa.ChunkedArray | pa.Array) -> Any:
    """The values of an Arrow column as a NumPy array.

    Numbers without missing values are viewed through DLPack, without a copy: pyarrow's own
    ``to_numpy`` imports pandas, which a command such as ``custlens fit`` does not otherwise
    need. Other columns (text, booleans, dates, missing values) go through ``to_numpy``.
    """
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    kind = arr.type
    if arr.null_count == 0 and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        try:
            return np.from_dlpack(arr)
        except (TypeError, BufferError, pa.ArrowException):  # a type DLPack cannot carry (e.g. float16)
            pass
    return arr.to_numpy(zero_copy_only=False)
