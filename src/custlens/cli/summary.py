"""CLI commands: summary (per-customer purchase histories in the lifetime-value sense)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custlens.cli._common import BackendOption, FormatOption, OutputFormat, OutputOption, emit, guarded
from custlens.errors import InputError

__all__ = ["register"]

_HELP = (
    "Per-customer purchase history: frequency, recency, T, monetary_value.\n\n"
    "One row per customer, in the sense of the lifetime-value models (BG/NBD, Pareto/NBD, "
    "Gamma-Gamma): purchases are grouped into periods of --time-unit (W Monday-Sunday weeks, "
    "the default and the unit the models default to; D days; M calendar months); frequency = "
    "purchase periods after the first; recency = first to last purchase period; T = first "
    "purchase period to the period of --as-of; monetary_value = mean total per repeat period "
    "(0 without repeats, empty without --amount-col). Transactions after --as-of (default: "
    "the last transaction day) are ignored.\n\n"
    "Dates may be ISO text (1997-01-31, 1997-01-31 10:00:00, with or without a zone "
    "offset), 1997/01/31, YYYYMMDD numbers or text (19970131), or whatever --date-format "
    "describes (a strptime format such as %d/%m/%Y).\n\n"
    "Example: custlens summary CDNOW_master.txt --customer-col customer_id --date-col date "
    "--amount-col dollar_value --time-unit W --format csv"
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
        as_of: Annotated[
            str | None,
            typer.Option(
                "--as-of",
                "--end",
                help="Observation end YYYY-MM-DD, inclusive (default: the last transaction day); --end is an alias.",
            ),
        ] = None,
        time_unit: Annotated[
            str,
            typer.Option(
                "--time-unit", "--freq", help="Period: W (weeks, default), D (days), M (months); --freq is an alias."
            ),
        ] = "W",
        freq_multiplier: Annotated[
            float,
            typer.Option(
                "--freq-multiplier",
                help="Divide recency and T by this (--time-unit D --freq-multiplier 7 gives exact weeks).",
            ),
        ] = 1.0,
        date_format: Annotated[
            str | None,
            typer.Option(
                "--date-format",
                help="strptime format of the date column when it is in none of the accepted forms, e.g. '%d/%m/%Y'.",
            ),
        ] = None,
        workspace: Annotated[
            Path | None,
            typer.Option("--workspace", "-w", help="Summarise this workspace's transactions table instead of a file."),
        ] = None,
        backend: BackendOption = "duckdb",
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
    ) -> None:
        from custlens.features import as_of_date, purchase_history
        from custlens.schema import check_time_unit

        check_time_unit(time_unit)
        if (transactions_file is None) == (workspace is None):
            raise InputError("give either TRANSACTIONS_FILE or --workspace W (exactly one)")
        if workspace is not None:
            from custlens.warehouse import Workspace

            tx = Workspace.open(workspace, read_only=True).table("transactions")
            if int(tx.count().execute()) == 0:
                raise InputError(
                    f"{workspace}: the workspace has no transactions yet; import some first "
                    f"(custlens import FILE --table transactions --workspace {workspace})"
                )
            amount: str | None = "amount"
            returns: str | None = "return_flag"
        else:
            from custlens.ingest import load_transactions

            assert transactions_file is not None
            tx = load_transactions(
                transactions_file,
                customer_col=customer_col,
                date_col=date_col,
                amount_col=amount_col,
                date_format=date_format,
                backend=backend,
            )
            amount, returns = ("amount" if amount_col is not None else None), None
        day = as_of_date(tx, as_of)  # an as-of before every purchase leaves nothing to summarise
        result = purchase_history(
            tx, amount_col=amount, return_col=returns, as_of=day, time_unit=time_unit, freq_multiplier=freq_multiplier
        )
        emit(result.order_by("customer_id"), fmt, output, title="Customer purchase histories")
