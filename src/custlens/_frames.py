"""Accepting the tables users hold: Arrow, pandas, polars, Ibis, or a mapping of columns.

Every package converts its inputs through these two functions, so that the same inputs
are accepted everywhere and a wrong input gets the same clear error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens.errors import InputError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["as_arrow", "as_ibis"]

_KINDS = "an Arrow table, a pandas or polars frame, an Ibis table or a mapping of columns"


def as_arrow(data: Any, what: str = "input") -> pa.Table:
    """Return ``data`` as an Arrow table (Ibis expressions are executed).

    Raises
    ------
    InputError
        When ``data`` is none of the accepted kinds; the message names ``what``.
    """
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "to_pyarrow"):  # Ibis
        from custlens.warehouse.compat import to_arrow

        return to_arrow(data)
    if hasattr(data, "to_arrow"):  # polars
        return data.to_arrow()
    try:
        if isinstance(data, Mapping):
            return pa.table({str(k): v for k, v in data.items()})
        if hasattr(data, "columns") and hasattr(data, "to_dict"):  # pandas
            return pa.Table.from_pandas(data, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise InputError(f"{what}: cannot be read as a table ({exc})") from None
    raise InputError(f"{what}: expected {_KINDS}; got {type(data).__name__}")


def as_ibis(data: Any, what: str = "input") -> ir.Table:
    """Return ``data`` as an Ibis table (Ibis tables pass through; others become memtables).

    Raises
    ------
    InputError
        When ``data`` is none of the accepted kinds; the message names ``what``.
    """
    import ibis
    import ibis.expr.types as ir

    if isinstance(data, ir.Table):
        return data
    return ibis.memtable(as_arrow(data, what))
