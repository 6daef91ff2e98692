"""CLI commands: demo (the main job on the synthetic demo company)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from custlens.cli._common import err_console, guarded

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo)


@guarded
def demo(
    folder: Annotated[
        Path,
        typer.Option(
            "--folder", help="Folder for the company's files, the workspace and report.html (replaced on the next run)."
        ),
    ] = Path("custlens-demo"),
    customers: Annotated[int, typer.Option("--customers", min=100, help="Number of customers.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the demo company.")] = 2024,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the HTML report.")] = True,
) -> None:
    """Run the main job on the synthetic demo company and print an overview.

    Generates a deterministic company (customers, order lines, interactions, receivables,
    leads, survey answers), imports it into a new workspace, computes the customer
    summaries, fits BG/NBD and Gamma-Gamma, segments the customers (RFM, ABC, pyramid,
    value matrix, CLV matrix), measures satisfaction (ECSI index, Kano) and writes
    FOLDER/report.html.
    """
    from custlens.demo import run_demo

    with err_console.status("starting") as status:
        result = run_demo(
            folder, n_customers=customers, seed=seed, report=report, on_step=lambda message: status.update(message)
        )
    _print_overview(result)


def _table(title: str, data: pa.Table, columns: list[str] | None = None) -> Table:
    import pyarrow as pa

    table = Table(title=title, title_justify="left")
    names = columns or data.column_names
    for name in names:
        table.add_column(
            name,
            justify="right"
            if pa.types.is_floating(data.schema.field(name).type) or pa.types.is_integer(data.schema.field(name).type)
            else "left",
        )
    for row in data.select(names).to_pylist():
        table.add_row(*[_fmt(v) for v in row.values()])
    return table


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _print_overview(result: object) -> None:
    from custlens.demo import DemoResult

    assert isinstance(result, DemoResult)
    console = Console()
    console.rule(f"custlens demo company, as of {result.as_of}")
    counts = Table(title="Warehouse", title_justify="left")
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    for name, n in result.row_counts.items():
        counts.add_row(name, f"{n:,}")
    console.print(counts)
    head = Table(title="Overview", title_justify="left")
    head.add_column("figure")
    head.add_column("value", justify="right")
    for name, value in result.overview.items():
        head.add_row(name, _fmt(value) if "share" not in name else f"{value:.1%}")
    console.print(head)
    for name in ("abc", "pyramid", "value_matrix", "clv_matrix", "rfm"):
        if name in result.segments:
            summary = result.segments[name]
            wanted = [
                c
                for c in ("segment", "segment_zh", "customers", "customer_share", "value", "value_share")
                if c in summary.column_names
            ]
            console.print(_table(f"Segments: {name}", summary, wanted))
    params = Table(title="Fitted models", title_justify="left")
    params.add_column("model")
    params.add_column("parameters")
    for model, values in result.model_params.items():
        params.add_row(model, ", ".join(f"{k} = {v:.4g}" for k, v in values.items()))
    console.print(params)
    console.print(_table("Most valuable customers (12-month CLV)", result.top_customers))
    if result.satisfaction_index:
        idx = Table(title="ECSI index (0-100)", title_justify="left")
        idx.add_column("construct")
        idx.add_column("index", justify="right")
        for name, value in result.satisfaction_index.items():
            idx.add_row(name, f"{value:.1f}")
        console.print(idx)
    console.print(_table("Kano categories", result.kano))
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    where = f"workspace: {result.workspace}"
    if result.report is not None:
        where += f"\nreport:    {result.report}"
    console.print(Panel(f"{where}\ntimings:   {timing}", title="Written"))
