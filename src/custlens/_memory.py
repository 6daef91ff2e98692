"""Giving the C heap's free memory back to the operating system.

DuckDB and Arrow allocate their buffers with the C allocator. On Linux (glibc) memory
freed by a finished query stays in the allocator's per-thread arenas, counted in the
process's resident memory, until something trims them: at 10M transactions, 120 MB
stayed resident after the value components' query had freed its buffers, about a
gigabyte at 100M (``docs/performance.md``). The analysis trims after each stage and after
its largest queries; the next allocations are served by the operating system instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from typing import Any

__all__ = ["release_free_memory"]


@functools.cache
def _libc() -> Any | None:
    """glibc, when this process runs on it (``malloc_trim`` is glibc's); else ``None``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return libc


def release_free_memory() -> bool:
    """Return the C heap's free pages to the operating system (glibc's ``malloc_trim(0)``).

    Nothing is freed that is in use: only memory already given back by its owner and kept
    by the allocator. Costs a few milliseconds per gigabyte of heap.

    Returns
    -------
    bool
        Whether memory was returned (``False`` also where the C library has no
        ``malloc_trim``, e.g. macOS, Windows or musl).
    """
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))
