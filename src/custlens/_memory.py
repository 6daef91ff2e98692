"""Giving freed memory back to the operating system.

Three allocators serve an analysis, and each keeps memory its owner has freed, counted in
the process's resident memory, until told to give it back:

* glibc's heap (per-thread arenas), until ``malloc_trim``;
* DuckDB's own jemalloc (linked into DuckDB's Linux builds), whose freed pages stay in its
  arenas until a purge (DuckDB purges them in the background only when
  ``allocator_background_threads`` is set). At 10M transactions it still held 1.4 GB of
  pages after the value components' query, with 33 MB in use;
* Arrow's memory pool (mimalloc), until its unused memory is released.

The analysis gives all three back after each stage and around its largest query
(``docs/performance.md``). Nothing in use is touched; the next allocations are served by
the operating system instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from typing import Any

__all__ = ["release_free_memory"]

_ARENAS_ALL = 4096
"""jemalloc's ``MALLCTL_ARENAS_ALL``: ``arena.<i>.purge`` with this ``i`` purges every arena (jemalloc(3))."""


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


def _duckdb_module() -> Any | None:
    """DuckDB's compiled module when DuckDB is loaded in this process (never imported here)."""
    for name in ("_duckdb", "duckdb.duckdb"):
        module = sys.modules.get(name)
        if getattr(module, "__file__", None):
            return module
    return None


@functools.cache
def _jemalloc_ctl(path: str) -> Any | None:
    """``mallctl`` of the jemalloc linked into DuckDB's library at ``path``; ``None`` if it has none."""
    try:
        ctl = ctypes.CDLL(path).duckdb_je_mallctl
    except (OSError, AttributeError):  # builds without jemalloc (macOS, Windows, musl) export none
        return None
    ctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    ctl.restype = ctypes.c_int
    return ctl


def duckdb_jemalloc_ctl() -> Any | None:
    """``mallctl`` of DuckDB's jemalloc when DuckDB is loaded and has one; else ``None``."""
    module = _duckdb_module()
    return None if module is None else _jemalloc_ctl(str(module.__file__))


def release_free_memory() -> bool:
    """Return freed memory to the operating system: glibc's heap, DuckDB's jemalloc, Arrow's pool.

    Nothing is freed that is in use: only memory already given back by its owner and kept
    by its allocator. DuckDB and pyarrow are not imported here; their allocators are
    asked only when they are loaded. Costs a few milliseconds per gigabyte.

    Returns
    -------
    bool
        Whether any allocator could be asked (``False`` where none of the three is
        available, e.g. a C library without ``malloc_trim`` and neither engine loaded).
    """
    asked = False
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
        asked = True
    ctl = duckdb_jemalloc_ctl()
    if ctl is not None:
        asked = ctl(f"arena.{_ARENAS_ALL}.purge".encode(), None, None, None, 0) == 0 or asked
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()
        asked = True
    return asked
