"""CLI command: cube (multi-dimensional analysis: measures by dimensions with subtotals)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from custlens.cli._common import FormatOption, OutputFormat, OutputOption, emit, guarded
from custlens.cli._memory import MemoryLimitOption

__all__ = ["register", "cube_command"]


@guarded
def cube_command(
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder (see `custlens init`).")],
    measures: Annotated[
        str | None,
        typer.Option(
            "--measures",
            "-m",
            help="Comma-separated measures (see --list); default revenue,orders,customers (customers,revenue,clv "
            "with --scheme).",
        ),
    ] = None,
    by: Annotated[
        str, typer.Option("--by", "-b", help="Comma-separated dimensions, coarsest first, e.g. region,segment,month.")
    ] = "",
    where: Annotated[
        str | None,
        typer.Option("--where", help="Slice in the rule language, e.g. \"category = 'food' and month >= '2025-01'\"."),
    ] = None,
    subtotals: Annotated[
        str, typer.Option("--subtotals", help="rollup (subtotals along --by), cube (every combination) or none.")
    ] = "rollup",
    no_subtotals: Annotated[bool, typer.Option("--no-subtotals", help="Plain groups: no subtotal rows.")] = False,
    scheme: Annotated[
        str | None,
        typer.Option(
            "--scheme", help="hsbc: the HSBC-style scheme (basic, relationship, activity, value and loyalty)."
        ),
    ] = None,
    segment_method: Annotated[
        str, typer.Option("--segment-method", help="Stored segmentation of the 'segment' dimension.")
    ] = "rfm",
    language: Annotated[str, typer.Option("--language", help="Scheme labels: en or zh (with --scheme).")] = "en",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="As-of date YYYY-MM-DD (the stored analysis of that date when one is needed)."),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the dimensions and measures instead.")] = False,
    memory_limit: MemoryLimitOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Multi-dimensional analysis: measures by dimensions with roll-up subtotals, slices and drill-down.

    Output columns are the dimensions, then `grouping` (the rolled-up dimensions of a
    subtotal row, whose own values are empty), then the measures. Drill down by adding a
    dimension to --by and slicing the cell with --where.

    The engine works within 600 MB (or --memory-limit), spilling to disk beyond it: the
    cube is one query whose result is small, and takes the same time within 600 MB as
    within more.

    Examples: custlens cube -w shop --measures revenue,customers,orders,clv --by region,industry,segment,month
    --format csv; custlens cube -w shop --scheme hsbc --measures customers,revenue,clv
    """
    from custlens.errors import InputError

    if list_:
        from custlens.cube import catalogue

        emit(catalogue(), fmt, output, title="cube dimensions and measures")
        return
    chosen = "none" if no_subtotals else subtotals
    if chosen not in ("rollup", "cube", "none"):
        raise InputError(f"--subtotals must be rollup, cube or none; got {subtotals!r}")
    if scheme is not None:
        if scheme != "hsbc":
            raise InputError(f"--scheme: the known scheme is hsbc; got {scheme!r}")
        if by or where:
            raise InputError("--scheme hsbc has its own dimensions; leave out --by and --where")
        if chosen == "cube":
            raise InputError("--scheme hsbc rolls up its tree level by level; use --subtotals rollup or --no-subtotals")
    elif language != "en":
        raise InputError("--language applies to --scheme labels")
    with _bounded(workspace, memory_limit) as ws:
        if scheme is not None:
            from custlens.cube import scheme_cube

            table = scheme_cube(
                ws, measures or "customers,revenue,clv", as_of=as_of, subtotals=chosen, language=language
            )
        else:
            from custlens.cube import cube

            table = cube(
                ws,
                measures or "revenue,orders,customers",
                by,
                where=where,
                subtotals=chosen,
                as_of=as_of,
                segment_method=segment_method,
            )
    emit(table, fmt, output, title="cube")


@contextmanager
def _bounded(workspace: Path, memory_limit: str | None) -> Iterator[Any]:
    """The workspace opened read-only, its engine within :func:`~custlens.cli._memory.one_shot_memory_limit`."""
    from custlens.cli._memory import one_shot_memory_limit
    from custlens.warehouse import Workspace

    limit = one_shot_memory_limit(memory_limit)  # a wrong --memory-limit is refused before the workspace opens
    with Workspace.open(workspace, read_only=True) as ws:
        if memory_limit is None:
            limit = one_shot_memory_limit(None, ws.settings.memory_limit)
        ws.raw.execute(f"SET memory_limit = '{limit}'")
        yield ws


def register(app: typer.Typer) -> None:
    """Add ``cube`` to ``app``."""
    app.command("cube")(cube_command)
