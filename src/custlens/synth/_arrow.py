"""Small vectorised helpers that turn numpy arrays into Arrow columns of the schema."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["padded", "join", "take", "timestamps", "dates", "US_PER_DAY"]

US_PER_DAY = 86_400_000_000


def padded(values: np.ndarray, width: int) -> pa.Array:
    """Integers as decimal strings left-padded with zeros to at least ``width`` digits."""
    return pc.utf8_lpad(pc.cast(pa.array(values, type=pa.int64()), pa.string()), width, "0")


def join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate string arrays and literal strings element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def take(vocab: Sequence[str], index: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Strings ``vocab[index]``; null where ``mask`` is true."""
    idx = pa.array(index.astype(np.int32), mask=mask)
    return pa.array(list(vocab), type=pa.string()).take(idx)


def timestamps(start_us: int, days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """UTC timestamps (microseconds) at ``days`` after the period start."""
    us = start_us + np.floor(days * US_PER_DAY).astype(np.int64)
    return pa.array(us, type=pa.timestamp("us", tz="UTC"), mask=mask)


def dates(start_day: int, days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Dates (days since the epoch) of ``days`` after the period start."""
    d = (start_day + np.floor(np.where(np.isfinite(days), days, 0.0))).astype(np.int32)
    return pa.array(d, type=pa.date32(), mask=mask)
