"""The engine's memory for commands that read, compute one result and print it.

DuckDB's ``memory_limit`` bounds what it holds of a query's work; beyond it, hash tables
and sorts spill to disk. A command that reads the warehouse, prints a result and exits
(``custlens cube``) keeps nothing in the engine between queries, so the limit bounds its
peak, not its work: on 10 million transactions the cube takes the same time within
600 MB as within the workspace's 2 GB (``docs/performance.md``), and DuckDB fills
whatever limit it is given. Such a command therefore works within
:data:`ONE_SHOT_MEMORY`, the budget the file commands' scans have
(:data:`custlens.ingest.readers.SCAN_MEMORY_LIMIT`), or within a quarter of the
machine's memory when that is less, or within the workspace's ``[duckdb] memory_limit``
when that is lower still; ``--memory-limit`` sets it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from custlens.errors import InputError

__all__ = ["ONE_SHOT_MEMORY", "MemoryLimitOption", "machine_memory", "one_shot_memory_limit", "size_bytes"]

ONE_SHOT_MEMORY = 600 * 1000**2
"""Bytes of DuckDB memory for a one-shot command (600 MB, as a scanned file's)."""
MACHINE_SHARE = 4
"""A one-shot command takes at most 1/``MACHINE_SHARE`` of the machine's memory for the engine."""

MemoryLimitOption = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help=(
            "DuckDB's memory for this command, e.g. 600MB, 2GB or 25% (of the machine's memory); beyond it the "
            "engine spills to disk. Default: 600MB, or a quarter of the machine's memory if less, or the "
            "workspace's [duckdb] memory_limit if lower."
        ),
    ),
]


def machine_memory() -> int | None:
    """Bytes of memory this process may use: the machine's, or its control group's limit if lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    try:
        bound = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return total
    return min(total, int(bound)) if bound.isdigit() else total


def size_bytes(text: str, option: str = "--memory-limit") -> int:
    """Bytes of a DuckDB size (``600MB``, ``2GiB``; ``25%`` of :func:`machine_memory`).

    Raises
    ------
    InputError
        When ``text`` is not such a size, or is a share of a machine whose memory is unknown.
    """
    from custlens.warehouse._workspace import memory_bytes, memory_size

    size = memory_size(text)
    if size is None or size[0] <= 0 or not size[1]:  # DuckDB takes no size without a unit
        raise InputError(f"{option} must be a size above zero such as 600MB, 2GB or 25%; got {text!r}")
    number, unit = size
    if unit == "%":
        machine = machine_memory()
        if machine is None:
            raise InputError(f"{option} {text}: the machine's memory is unknown here; give a size such as 600MB")
        return int(machine * number / 100)
    found = memory_bytes(text)
    assert found is not None  # a size with a unit other than % (checked above)
    return found


def one_shot_memory_limit(given: str | None, configured: str | None = None) -> str:
    """DuckDB's ``memory_limit`` for a one-shot command, as DuckDB reads it.

    ``given`` (``--memory-limit``) when set; else the least of :data:`ONE_SHOT_MEMORY`,
    a :data:`MACHINE_SHARE` of :func:`machine_memory` and ``configured`` (the workspace's
    ``[duckdb] memory_limit``).
    """
    if given is not None:
        return f"{size_bytes(given)}B"
    bounds = [ONE_SHOT_MEMORY]
    machine = machine_memory()
    if machine is not None:
        bounds.append(machine // MACHINE_SHARE)
    if configured is not None:
        bounds.append(size_bytes(configured, "[duckdb] memory_limit"))
    return f"{min(bounds)}B"
