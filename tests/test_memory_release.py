"""custlens._memory: freed memory is given back to the operating system (glibc, DuckDB's jemalloc, Arrow)."""

from __future__ import annotations

import ctypes
import sys
import threading

import pytest

from custlens._memory import _libc, duckdb_jemalloc_ctl, release_free_memory


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux") or _libc() is None, reason="glibc's malloc_trim")
def test_freed_heap_memory_leaves_the_process() -> None:
    libc = _libc()
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    held: list[int] = []

    def allocate() -> None:
        # 300 MB in 64 KB blocks from a worker thread's arena, as an engine's threads allocate
        for _ in range(4800):
            p = libc.malloc(64 * 1024)
            libc.memset(p, 1, 64 * 1024)
            held.append(p)

    worker = threading.Thread(target=allocate)
    worker.start()
    worker.join()
    for p in held[:-1]:  # the last block stays, so the arena's top is in use
        libc.free(p)
    kept = _rss_mb()
    assert release_free_memory() is True
    assert _rss_mb() < kept - 200  # most of the 300 MB left
    libc.free(held[-1])


def test_memory_duckdb_freed_leaves_the_process() -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if duckdb_jemalloc_ctl() is None:
        pytest.skip("this DuckDB build has no jemalloc of its own")
    before = _rss_mb()
    # a hash aggregate of 20M keys: several hundred MB that DuckDB frees when the query ends
    con.sql("SELECT count(DISTINCT i), sum(i) FROM range(20000000) t(i)").fetchall()
    kept = _rss_mb()
    assert kept > before + 200, "the query did not leave freed memory behind; nothing to test"
    release_free_memory()
    assert _rss_mb() < kept - 200
    con.close()


def test_release_is_harmless_to_call_repeatedly() -> None:
    for _ in range(3):
        assert isinstance(release_free_memory(), bool)
