"""CLI commands: segment METHOD (customer identification and segmentation).

Each command reads a file (or a warehouse table with --workspace), calls one function of
:mod:`custlens.segment` and writes the per-customer table (or with --summary the
per-segment summary) in the chosen format; --export writes both to CSV/XLSX/Parquet.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from custlens.cli._common import FormatOption, OutputFormat, OutputOption, emit, err_console, guarded

__all__ = ["register", "segment_app"]

segment_app = typer.Typer(
    name="segment",
    help="Customer identification and segmentation: relationship state, lifecycle, RFM, "
    "ABC/pyramid, value matrices, rule segments, clustering, snapshots and migration.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DataArg = Annotated[Path | None, typer.Argument(help="Data file (CSV/TSV/TXT, Parquet, XLSX); "
                                                "omit with --workspace.", show_default=False)]
WorkspaceOpt = Annotated[Path | None, typer.Option("--workspace", "-w",
                                                   help="Read the table from this custlens workspace.")]
TableOpt = Annotated[str | None, typer.Option("--table", help="Workspace table to read.")]
CustomerOpt = Annotated[str, typer.Option("--customer-col", help="Customer id column.")]
EndOpt = Annotated[str | None, typer.Option("--end", "--as-of",
                                            help="As-of date YYYY-MM-DD (default: the latest date in the data).")]
SummaryOpt = Annotated[bool, typer.Option("--summary", help="Print the per-segment summary instead "
                                          "of one row per customer.")]
ExportOpt = Annotated[Path | None, typer.Option("--export", help="Also write customers and summary "
                                                "to FILE.csv / FILE.xlsx / FILE.parquet.")]
EncodingOpt = Annotated[str, typer.Option("--encoding", help="CSV encoding: utf-8, utf-8-sig "
                                          "(with BOM, for Excel) or gb18030.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML file overriding the "
                                                "method's defaults.")]


def _read(data: Path | None, workspace: Path | None, table: str | None, default_table: str) -> Any:
    """Read the input as an Ibis table from a file or a workspace."""
    import ibis

    from custlens.errors import InputError

    if workspace is not None:
        try:
            from custlens.warehouse import Workspace  # type: ignore[attr-defined]
        except ImportError:
            raise InputError("--workspace needs the warehouse package, which is not available") from None
        return Workspace.open(workspace).table(table or default_table)
    if data is None:
        raise InputError("give a DATA_FILE or --workspace W")
    from custlens.ingest.readers import read_table

    return ibis.memtable(read_table(data))


def _finish(result: Any, summary: bool, fmt: OutputFormat, output: Path | None,
            export: Path | None, encoding: str, columns: list[str] | None = None) -> None:
    """Write the result (customers or summary) and the optional export."""
    from custlens.segment.export import csv_bytes, write_export

    customers = result.customers if columns is None else result.customers.select(*columns)
    if export is not None:
        written = write_export(export, {"customers": customers, "summary": result.summary}, encoding)
        err_console.print(f"wrote {', '.join(map(str, written))}")
    data = result.summary if summary else customers.order_by("customer_id")
    if fmt is OutputFormat.csv and encoding != "utf-8":
        raw = csv_bytes(data, encoding)
        if output is None:
            sys.stdout.flush()
            sys.stdout.buffer.write(raw)
        else:
            output.write_bytes(raw)
        return
    emit(data, fmt, output, title=f"{result.method} segments")


@segment_app.command("rfm")
@guarded
def rfm_command(
    data: DataArg = None,
    customer_col: CustomerOpt = "customer_id",
    date_col: Annotated[str, typer.Option("--date-col", help="Transaction date column.")] = "ordered_at",
    amount_col: Annotated[str, typer.Option("--amount-col", help="Amount column (negative = return).")] = "amount",
    order_col: Annotated[str | None, typer.Option("--order-col", help="Order id column (default: "
                                                  "order_id if present, else one row = one order).")] = None,
    quantity_col: Annotated[str | None, typer.Option("--quantity-col", help="Quantity column (RFA).")] = None,
    end: EndOpt = None,
    bins: Annotated[int | None, typer.Option("--bins", help="Quantile bins per dimension (default 5).")] = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="Segment map TOML (default: the "
                                                  "11-segment map).")] = None,
    thresholds: Annotated[Path | None, typer.Option("--thresholds", help="Threshold table TOML "
                                                    "replacing quantile scoring.")] = None,
    rfa: Annotated[bool, typer.Option("--rfa", help="RFA: score quantity instead of amount.")] = False,
    all_columns: Annotated[bool, typer.Option("--all-columns", help="Add rfm_score and segment_zh.")] = False,
    config: ConfigOpt = None,
    summary: SummaryOpt = False,
    workspace: WorkspaceOpt = None,
    table: TableOpt = None,
    export: ExportOpt = None,
    encoding: EncodingOpt = "utf-8",
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """RFM scores and named segments from a transaction log.

    Example: custlens segment rfm orders.csv --customer-col C --date-col D --amount-col A
    --end 2024-12-31 --bins 5 --format csv
    """
    from custlens.segment import TransactionColumns, rfm_from_transactions
    from custlens.segment._config import read_toml

    cfg = read_toml(config) if config else {}
    if rfa:
        cfg = {**cfg, "measures": {**cfg.get("measures", {}), "value": "quantity"}}
    tx = _read(data, workspace, table, "transactions")
    cols = TransactionColumns(customer_col, date_col, amount_col, order_col or "order_id", quantity_col)
    result = rfm_from_transactions(tx, as_of=end, columns=cols, bins=bins, thresholds=thresholds,
                                   segment_map=map_file, config=cfg or None)
    base = ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"]
    _finish(result, summary, fmt, output, export, encoding,
            None if all_columns else base)


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app`` (as the ``segment`` sub-app)."""
    app.add_typer(segment_app, name="segment")
