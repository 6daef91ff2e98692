"""CLI commands: fit, clv (probabilistic lifetime-value models)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer

from custlens.cli._common import BackendOption, FormatOption, OutputFormat, OutputOption, emit, guarded

__all__ = ["register"]


WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Use this workspace's transactions table (summarised by its engine: DuckDB or Spark) "
        "instead of DATA_FILE.",
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Observation end YYYY-MM-DD when summarising a log (--transactions or --workspace): later "
        "lines are left out and T runs to this day (default: the log's last day).",
        show_default=False,
    ),
]


class Model(str, enum.Enum):
    """Models of ``custlens fit``."""

    bgnbd = "bgnbd"
    mbgnbd = "mbgnbd"
    pnbd = "pnbd"
    bgbb = "bgbb"
    sbg = "sbg"
    gg = "gg"


class PurchaseModel(str, enum.Enum):
    """Purchase models of ``custlens clv``."""

    bgnbd = "bgnbd"
    mbgnbd = "mbgnbd"
    pnbd = "pnbd"


class Spend(str, enum.Enum):
    """Expected spend of ``custlens clv``: the Gamma-Gamma model, or the observed mean (none)."""

    gg = "gg"
    none = "none"


class TimeUnit(str, enum.Enum):
    """Time unit of recency and T."""

    D = "D"
    W = "W"
    M = "M"


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""

    @app.command("fit")
    @guarded
    def fit(
        model: Annotated[Model, typer.Argument(help="bgnbd, mbgnbd, pnbd, bgbb, sbg or gg.")],
        data_file: Annotated[
            Path | None,
            typer.Argument(
                help="Per-customer summary (CSV, Parquet, Excel); for sbg the columns period, survivors. "
                "Omit with --workspace.",
                show_default=False,
            ),
        ] = None,
        frequency_col: Annotated[str, typer.Option("--frequency-col", help="Repeat purchases column.")] = "frequency",
        recency_col: Annotated[
            str, typer.Option("--recency-col", help="Time of last repeat purchase column.")
        ] = "recency",
        t_col: Annotated[str, typer.Option("--t-col", help="Length of observation column.")] = "T",
        monetary_col: Annotated[
            str, typer.Option("--monetary-col", help="Mean purchase value column (gg).")
        ] = "monetary_value",
        n_periods_col: Annotated[
            str, typer.Option("--n-periods-col", help="Transaction opportunities column (bgbb).")
        ] = "n_periods",
        weight_col: Annotated[
            str, typer.Option("--weight-col", help="Customers per row column (bgbb, optional).")
        ] = "weight",
        period_col: Annotated[str, typer.Option("--period-col", help="Period column (sbg).")] = "period",
        survivors_col: Annotated[str, typer.Option("--survivors-col", help="Survivors column (sbg).")] = "survivors",
        penalizer: Annotated[float, typer.Option("--penalizer", help="L2 penalty on the parameters.")] = 0.0,
        transactions: Annotated[
            bool,
            typer.Option(
                "--transactions",
                help="DATA_FILE is a transaction log (customer_id, ordered_at, amount); summarise it first.",
            ),
        ] = False,
        customer_col: Annotated[
            str, typer.Option("--customer-col", help="Customer column of the transaction log.")
        ] = "customer_id",
        date_col: Annotated[
            str, typer.Option("--date-col", help="Date/timestamp column of the transaction log.")
        ] = "ordered_at",
        amount_col: Annotated[
            str, typer.Option("--amount-col", help="Amount column of the transaction log.")
        ] = "amount",
        time_unit: Annotated[
            TimeUnit, typer.Option("--time-unit", help="Unit of recency and T when summarising a log: D, W or M.")
        ] = TimeUnit.W,
        as_of: AsOfOption = None,
        workspace: WorkspaceOption = None,
        backend: BackendOption = "duckdb",
        fmt: FormatOption = OutputFormat.json,
        output: OutputOption = None,
    ) -> None:
        """Fit a customer-base model by maximum likelihood and print its estimates.

        With --transactions the log is summarised by the engine (--backend duckdb or spark)
        and only the distinct (frequency, recency, T) rows and their counts reach the fit.
        With --workspace W (no DATA_FILE) the log is the workspace's transactions table,
        summarised the same way by the workspace's engine (DuckDB, or Spark for a Spark
        workspace); bgbb and sbg need a summary file.
        """
        from custlens.clv.tables import fit_summary
        from custlens.errors import InputError

        _one_source(data_file, workspace, "DATA_FILE")
        if workspace is not None:
            if model.value in ("bgbb", "sbg"):
                raise InputError(
                    f"fit {model.value} needs a summary file, not --workspace: "
                    + (
                        "BG/BB reads discrete-time data (repeat transactions out of n_periods opportunities)"
                        if model is Model.bgbb
                        else "sBG reads a cohort's survivors per period"
                    )
                    + ", which a workspace's transaction log does not hold; fit bgnbd, mbgnbd, pnbd or gg there"
                )
            _no_backend(backend)
            from custlens.warehouse import Workspace

            with Workspace.open(workspace, read_only=True) as ws:
                result = fit_summary(
                    model.value,
                    ws.table("transactions"),
                    penalizer=penalizer,
                    transactions={"time_unit": time_unit.value, "as_of": as_of},
                )
            emit(result, fmt, output)
            return
        assert data_file is not None
        from custlens.ingest.readers import read_table, scan_table

        columns = {
            "frequency": frequency_col,
            "recency": recency_col,
            "T": t_col,
            "monetary_value": monetary_col,
            "n_periods": n_periods_col,
            "weight": weight_col,
            "period": period_col,
            "survivors": survivors_col,
        }
        log_options = None
        if transactions:
            log_options = {
                "customer_col": customer_col,
                "date_col": date_col,
                "amount_col": amount_col,
                "time_unit": time_unit.value,
                "as_of": as_of,
            }
        elif as_of is not None:
            _log_only("--as-of")
        if log_options is not None:
            data: Any = scan_table(data_file, text_columns=(customer_col,), backend=backend)
        elif backend != "duckdb":
            from custlens.errors import InputError

            raise InputError("--backend applies to a transaction log (--transactions); a summary is read as it is")
        else:
            data = read_table(data_file)
        emit(
            fit_summary(model.value, data, columns=columns, penalizer=penalizer, transactions=log_options), fmt, output
        )

    @app.command("clv")
    @guarded
    def clv(
        data_file: Annotated[
            Path | None,
            typer.Argument(
                help="Per-customer summary: customer_id, frequency, recency, T, monetary_value; with "
                "--transactions a transaction log. Omit with --workspace.",
                show_default=False,
            ),
        ] = None,
        horizon: Annotated[float, typer.Option("--horizon", help="Horizon in months (> 0).")] = 12.0,
        discount: Annotated[float, typer.Option("--discount", help="Monthly discount rate (>= 0), e.g. 0.01.")] = 0.01,
        margin: Annotated[
            float, typer.Option("--margin", help="Share of spend that is margin; 1 gives CLV in revenue terms.")
        ] = 1.0,
        model: Annotated[PurchaseModel, typer.Option("--model", help="Purchase model.")] = PurchaseModel.bgnbd,
        spend: Annotated[
            Spend,
            typer.Option(
                "--spend",
                help="Expected spend per purchase: gg fits the Gamma-Gamma model; none uses each customer's "
                "observed monetary_value.",
            ),
        ] = Spend.gg,
        time_unit: Annotated[
            TimeUnit, typer.Option("--time-unit", help="Unit of recency and T: D, W or M.")
        ] = TimeUnit.W,
        id_col: Annotated[str, typer.Option("--id-col", help="Customer id column.")] = "customer_id",
        frequency_col: Annotated[str, typer.Option("--frequency-col", help="Repeat purchases column.")] = "frequency",
        recency_col: Annotated[
            str, typer.Option("--recency-col", help="Time of last repeat purchase column.")
        ] = "recency",
        t_col: Annotated[str, typer.Option("--t-col", help="Length of observation column.")] = "T",
        monetary_col: Annotated[
            str, typer.Option("--monetary-col", help="Mean repeat-purchase value column.")
        ] = "monetary_value",
        transactions: Annotated[
            bool,
            typer.Option(
                "--transactions",
                help="DATA_FILE is a transaction log (--id-col, --date-col, --amount-col); summarise it first.",
            ),
        ] = False,
        date_col: Annotated[
            str, typer.Option("--date-col", help="Date/timestamp column of the transaction log.")
        ] = "ordered_at",
        amount_col: Annotated[
            str, typer.Option("--amount-col", help="Amount column of the transaction log.")
        ] = "amount",
        as_of: AsOfOption = None,
        workspace: WorkspaceOption = None,
        backend: BackendOption = "duckdb",
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
    ) -> None:
        """Value every customer: P(alive), expected purchases and spend, discounted CLV.

        Calls custlens.clv.value_customers, with the library's defaults: 12 months, 1% a
        month, margin 1, Gamma-Gamma spend, weeks. --horizon and --discount used to be
        required, and the observed monetary_value used to be the default spend (now
        --spend none).

        With --transactions (a log file, on --backend duckdb or spark) or --workspace W (its
        transactions table, on the workspace's engine) it calls
        custlens.clv.value_transactions: the log is summarised by the engine, the models are
        fitted on the sufficient statistics it computes, and every customer is scored there
        (on Spark by the executors).
        """
        from custlens.clv import value_customers, value_transactions
        from custlens.ingest.readers import read_table, scan_table

        _one_source(data_file, workspace, "DATA_FILE")
        options: dict[str, Any] = {
            "model": model.value,
            "spend": None if spend is Spend.none else spend.value,
            "horizon_months": horizon,
            "monthly_discount": discount,
            "margin": margin,
            "time_unit": time_unit.value,
        }
        if workspace is not None:
            _no_backend(backend)
            from custlens.warehouse import Workspace

            with Workspace.open(workspace, read_only=True) as ws:
                emit(value_transactions(ws.table("transactions"), as_of=as_of, **options).table, fmt, output)
            return
        assert data_file is not None
        if transactions:
            log = scan_table(data_file, text_columns=(id_col,), backend=backend)
            valued = value_transactions(
                log, customer_col=id_col, date_col=date_col, amount_col=amount_col, as_of=as_of, **options
            )
            emit(valued.table, fmt, output)
            return
        if as_of is not None:
            _log_only("--as-of")
        if backend != "duckdb":
            from custlens.errors import InputError

            raise InputError("--backend applies to a transaction log (--transactions); a summary is read as it is")

        columns = {
            "customer_id": id_col,
            "frequency": frequency_col,
            "recency": recency_col,
            "T": t_col,
            "monetary_value": monetary_col,
        }
        result = value_customers(read_table(data_file, text_columns=(id_col,)), columns=columns, **options)
        emit(result.table, fmt, output)


def _one_source(data_file: Path | None, workspace: Path | None, argument: str) -> None:
    """Exactly one of the data file and ``--workspace``."""
    if (data_file is None) == (workspace is None):
        from custlens.errors import InputError

        raise InputError(f"give either {argument} or --workspace W (exactly one)")


def _log_only(flag: str) -> None:
    """``flag`` summarises a transaction log: a summary file is read as it is."""
    from custlens.errors import InputError

    raise InputError(
        f"{flag} applies to a transaction log (--transactions or --workspace W); "
        "a per-customer summary is already measured at its own date"
    )


def _no_backend(backend: str) -> None:
    """``--backend`` names the engine of a file; a workspace's engine is its own (``workspace.toml``)."""
    if backend != "duckdb":
        from custlens.errors import InputError

        raise InputError(
            "--backend applies to a data file; a workspace computes on its own engine "
            "(backend in its workspace.toml; custlens init --backend spark makes a Spark workspace)"
        )
