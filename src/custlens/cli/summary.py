"""CLI commands: summary (per-customer purchase histories in the lifetime-value sense)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custlens.cli._common import FormatOption, OutputFormat, OutputOption, emit, guarded
from custlens.errors import InputError

__all__ = ["register"]

_HELP = (
    "Per-customer purchase history: frequency, recency, T, monetary_value.\n\n"
    "One row per customer, in the sense of the lifetime-value models (BG/NBD, Pareto/NBD, "
    "Gamma-Gamma): purchases are grouped into periods of --freq (D days, W Monday-Sunday "
    "weeks, M calendar months); frequency = purchase periods after the first; recency = "
    "first to last purchase period; T = first purchase period to the period of --end; "
    "monetary_value = mean total per repeat period (0 without repeats, empty without "
    "--amount-col). Transactions after --end (default: the last transaction day) are "
    "ignored.\n\n"
    "Dates may be ISO text (1997-01-31, 1997-01-31 10:00:00, with or without a zone "
    "offset), YYYYMMDD numbers or text (19970131), or whatever --date-format describes "
    "(a strptime format such as %d/%m/%Y).\n\n"
    "Example: custlens summary CDNOW_master.txt --customer-col customer_id --date-col date "
    "--amount-col dollar_value --freq W --format csv"
)


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""

    @app.command("summary", help=_HELP)
    @guarded
    def summary(
        transactions_file: Annotated[
            Path | None,
            typer.Argument(
                help="Transaction file (CSV/TSV/whitespace text, Parquet, Excel); omit with --workspace.",
                show_default=False,
            ),
        ] = None,
        customer_col: Annotated[
            str, typer.Option("--customer-col", help="Column holding the customer id.")
        ] = "customer_id",
        date_col: Annotated[
            str, typer.Option("--date-col", help="Column holding the purchase date or time.")
        ] = "ordered_at",
        amount_col: Annotated[
            str | None,
            typer.Option("--amount-col", help="Column holding the purchase amount (for monetary_value)."),
        ] = None,
        end: Annotated[
            str | None,
            typer.Option("--end", help="Observation end YYYY-MM-DD, inclusive (default: the last transaction day)."),
        ] = None,
        freq: Annotated[str, typer.Option("--freq", help="Period: D (days), W (weeks), M (months).")] = "D",
        freq_multiplier: Annotated[
            float,
            typer.Option(
                "--freq-multiplier",
                help="Divide recency and T by this (--freq D --freq-multiplier 7 gives exact weeks).",
            ),
        ] = 1.0,
        date_format: Annotated[
            str | None,
            typer.Option(
                "--date-format",
                help="strptime format of the date column when it is neither ISO nor YYYYMMDD, e.g. '%d/%m/%Y'.",
            ),
        ] = None,
        workspace: Annotated[
            Path | None,
            typer.Option("--workspace", "-w", help="Summarise this workspace's transactions table instead of a file."),
        ] = None,
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
    ) -> None:
        from custlens.features import summarize_file, summarize_workspace

        if (transactions_file is None) == (workspace is None):
            raise InputError("give either TRANSACTIONS_FILE or --workspace W (exactly one)")
        if workspace is not None:
            result = summarize_workspace(workspace, end=end, freq=freq, freq_multiplier=freq_multiplier)
        else:
            result = summarize_file(
                transactions_file,
                customer_col=customer_col,
                date_col=date_col,
                amount_col=amount_col,
                end=end,
                freq=freq,
                date_format=date_format,
                freq_multiplier=freq_multiplier,
            )
        emit(result, fmt, output, title="Customer purchase histories")
