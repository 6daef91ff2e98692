"""Reading the result tables the figures take: any table type in, checked Arrow out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from custlens._frames import as_ibis
from custlens.errors import InputError, did_you_mean

__all__ = ["as_ibis", "as_arrow", "require"]


def require(t: ir.Table, columns: Sequence[str], what: str) -> None:
    """Raise :class:`InputError` naming the first missing column and the columns present."""
    for c in columns:
        if c not in t.columns:
            raise InputError(
                f"{what}: needs column {c!r}{did_you_mean(c, t.columns)} (columns: {', '.join(t.columns)})"
            )


def as_arrow(data: Any, columns: Sequence[str], what: str, optional: Sequence[str] = ()) -> pa.Table:
    """Execute/convert ``data`` keeping ``columns`` (required) and ``optional`` ones present."""
    t = as_ibis(data, what)
    require(t, columns, what)
    keep = [*columns, *(c for c in optional if c in t.columns and c not in columns)]
    return t.select(*keep).to_pyarrow()
