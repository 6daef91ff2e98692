"""Turn tables (pandas, polars, Arrow, mappings of columns) into numeric item matrices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custlens._frames import as_arrow
from custlens.errors import InputError

__all__ = ["as_arrow", "column_names", "item_matrix", "handle_missing", "parse_numbers", "MISSING"]

MISSING = ("listwise", "mean")


def column_names(data: Any) -> list[str]:
    """Column names of a pandas/polars frame, an Arrow table or a mapping of columns."""
    if hasattr(data, "column_names"):  # pyarrow
        return [str(c) for c in data.column_names]
    if hasattr(data, "columns"):  # pandas, polars
        return [str(c) for c in data.columns]
    if isinstance(data, Mapping):
        return [str(c) for c in data]
    raise InputError(f"expected a table (pandas, polars, Arrow) or a mapping of columns; got {type(data).__name__}")


def _column(data: Any, name: str) -> NDArray[Any]:
    if hasattr(data, "column_names"):
        return data.column(name).to_numpy(zero_copy_only=False)
    col = data[name]
    if hasattr(col, "to_numpy"):
        return col.to_numpy()
    return np.asarray(col)


def parse_numbers(values: NDArray[Any]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Numbers from a column of numbers or text; returns the values and a mask of failures.

    Blank strings and ``None`` become NaN (missing). Each distinct value is parsed once, so
    the cost grows with the number of distinct answers, not with the rows.
    """
    values = np.asarray(values)
    if values.dtype.kind in "fiub":
        return values.astype(float), np.zeros(values.shape[0], dtype=bool)
    text = np.array(["" if v is None else str(v) for v in values.tolist()], dtype=object)
    uniq, inverse = np.unique(text.astype(str), return_inverse=True)
    parsed = np.full(uniq.size, np.nan)
    failed = np.zeros(uniq.size, dtype=bool)
    for k, u in enumerate(uniq):  # distinct answers only
        u = u.strip()
        if not u or u.lower() in ("nan", "na", "none", "null"):
            continue
        try:
            parsed[k] = float(u.replace(",", ".")) if u.count(",") == 1 and "." not in u else float(u)
        except ValueError:
            failed[k] = True
    return parsed[inverse], failed[inverse]


def _to_float(values: NDArray[Any], name: str) -> NDArray[np.float64]:
    out, bad = parse_numbers(values)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise InputError(
            f"column {name!r} must hold numbers; {rows.size} value(s) are not numeric "
            f"(first: row {rows[0] + 1}, {np.asarray(values)[rows[0]]!r})"
        )
    return out


def item_matrix(data: Any, items: Sequence[str]) -> NDArray[np.float64]:
    """The ``(n, p)`` float matrix of ``items``; missing answers become NaN."""
    names = set(column_names(data))
    missing = [i for i in items if i not in names]
    if missing:
        raise InputError(f"the data have no column(s) {', '.join(map(repr, missing))}")
    cols = [_to_float(np.asarray(_column(data, name)), name) for name in items]
    return np.column_stack(cols) if cols else np.empty((0, 0))


def handle_missing(
    x: NDArray[np.float64], items: Sequence[str], missing: str
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Apply the missing-value rule; return the complete matrix and the rows kept.

    ``listwise`` drops every respondent with a missing answer in any item of the model;
    ``mean`` replaces a missing answer with the item's mean over the respondents who gave
    it (all respondents are kept).
    """
    if missing not in MISSING:
        raise InputError(f"'missing' must be one of {', '.join(MISSING)}; got {missing!r}")
    nan = np.isnan(x)
    all_missing = np.flatnonzero(nan.all(axis=0))
    if all_missing.size:
        raise InputError(f"item {items[all_missing[0]]!r} has no answers at all")
    if missing == "listwise":
        keep = np.asarray(~nan.any(axis=1), dtype=bool)
        return x[keep], keep
    means = np.nanmean(x, axis=0)
    filled = np.where(nan, means[None, :], x)
    return filled, np.ones(x.shape[0], dtype=bool)
