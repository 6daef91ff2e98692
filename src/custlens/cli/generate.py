"""CLI commands: generate (the synthetic demo company)."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from custlens.cli._common import guarded, progress

__all__ = ["register"]


class FileFormat(str, Enum):
    """File formats ``custlens generate`` writes."""

    parquet = "parquet"
    csv = "csv"


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    app.command("generate")(guarded(generate))


def generate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the seven tables into (created if missing).")],
    customers: Annotated[
        int | None, typer.Option("--customers", "-n", help="Number of customers (default 20000).", show_default=False)
    ] = None,
    transactions: Annotated[
        int | None,
        typer.Option(
            "--transactions",
            "-t",
            help="Instead of --customers: about this many transaction rows (the customer count is chosen to match).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", "-s", help="Random seed; the same arguments give identical files.")
    ] = 2024,
    start: Annotated[
        str, typer.Option("--start", help="First day of the observation period (YYYY-MM-DD, UTC).")
    ] = "2023-01-01",
    end: Annotated[
        str, typer.Option("--end", help="Last day of the observation period (YYYY-MM-DD, inclusive).")
    ] = "2025-12-31",
    fmt: Annotated[
        FileFormat, typer.Option("--format", "-f", help="File format: Parquet, or CSV (UTF-8 with a header).")
    ] = FileFormat.parquet,
    params_file: Annotated[
        Path | None,
        typer.Option(
            "--params",
            "-p",
            help='TOML file of generator parameters (name = value, e.g. process = "bg_nbd", '
            "corporate_share = 0.3); see docs/demo-company.md.",
            show_default=False,
        ),
    ] = None,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="Customers generated and written at a time (bounds memory, ~1 kB each).")
    ] = 65_536,
) -> None:
    """Generate the synthetic demo company into OUT_DIR.

    Writes one file per canonical table (customers, identity, transactions, interactions, receivables, leads, survey_answers). Purchases follow a Pareto/NBD buy-till-you-die process with Gamma-Gamma spend; the tables stream to disk chunk by chunk, so millions of customers and 100 million transactions fit in bounded memory.

    See docs/demo-company.md for the process and its designed truths.

    Examples:

        custlens generate demo-data

        custlens generate big --transactions 10000000 --seed 7

        custlens generate csv-data --customers 5000 --format csv

        custlens generate bgnbd-data --params bgnbd.toml
    """
    from custlens.synth import CompanyParams, write_company

    params = CompanyParams.from_toml(params_file) if params_file is not None else None
    began = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("generating customers", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        paths = write_company(
            out_dir,
            n_customers=customers,
            n_transactions=transactions,
            seed=seed,
            start=start,
            end=end,
            fmt=fmt.value,
            chunk_size=chunk_size,
            params=params,
            on_progress=advance,
        )
    seconds = time.perf_counter() - began
    summary = RichTable(title=f"demo company written to {out_dir} in {seconds:,.1f} s")
    summary.add_column("table")
    summary.add_column("rows", justify="right")
    summary.add_column("file")
    summary.add_column("size", justify="right")
    import pyarrow.parquet as pq

    for name, path in paths.items():
        rows = pq.ParquetFile(path).metadata.num_rows if fmt is FileFormat.parquet else _csv_rows(path)
        summary.add_row(name, f"{rows:,}", str(path), f"{path.stat().st_size / 1e6:,.1f} MB")
    Console().print(summary)


def _csv_rows(path: Path) -> int:
    """Data rows of a CSV written by the generator (no embedded newlines in its values)."""
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1
