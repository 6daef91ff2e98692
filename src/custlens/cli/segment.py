"""CLI commands: segment METHOD (customer identification and segmentation).

Each command reads a file (or a warehouse table with --workspace), calls one function of
:mod:`custlens.segment` and writes the per-customer table (or with --summary the
per-segment summary) in the chosen format; --export writes both to CSV/XLSX/Parquet.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from custlens.cli._common import (
    BackendOption,
    FormatOption,
    OutputFormat,
    OutputOption,
    check_output_path,
    emit,
    err_console,
    guarded,
    write_output,
)

__all__ = ["register", "segment_app"]

segment_app = typer.Typer(
    name="segment",
    help="Customer identification and segmentation: relationship state, lifecycle, RFM, "
    "ABC/pyramid, value matrices, rule segments, clustering, snapshots and migration.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DataArg = Annotated[
    Path | None,
    typer.Argument(help="Data file (CSV/TSV/TXT, Parquet, XLSX); omit with --workspace.", show_default=False),
]
WorkspaceOpt = Annotated[
    Path | None, typer.Option("--workspace", "-w", help="Read the table from this custlens workspace.")
]
TableOpt = Annotated[str | None, typer.Option("--table", help="Workspace table to read.")]
CustomerOpt = Annotated[str, typer.Option("--customer-col", help="Customer id column.")]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of", "--end", help="As-of date YYYY-MM-DD (default: the latest date in the data); --end is an alias."
    ),
]
SummaryOpt = Annotated[
    bool, typer.Option("--summary", help="Print the per-segment summary instead of one row per customer.")
]
ExportOpt = Annotated[
    Path | None,
    typer.Option("--export", help="Also write customers and summary to FILE.csv / FILE.xlsx / FILE.parquet."),
]
EncodingOpt = Annotated[
    str, typer.Option("--encoding", help="CSV encoding: utf-8, utf-8-sig (with BOM, for Excel) or gb18030.")
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML file overriding the method's defaults.")]


DateOpt = Annotated[str, typer.Option("--date-col", help="Transaction date column.")]
AmountOpt = Annotated[str, typer.Option("--amount-col", help="Amount column (negative = return).")]
OrderOpt = Annotated[
    str | None,
    typer.Option("--order-col", help="Order id column (default: order_id if present, else one row = one order)."),
]
FromTxOpt = Annotated[
    bool,
    typer.Option("--from-transactions", help="DATA_FILE is a transaction log: compute the value indicators first."),
]
SnapshotOpt = Annotated[
    Path | None, typer.Option("--save-snapshot", help="Store the result as a dated snapshot in this DuckDB file.")
]


def _read(
    data: Path | None,
    workspace: Path | None,
    table: str | None,
    default_table: str,
    customer_col: str = "customer_id",
    backend: str = "duckdb",
) -> Any:
    """Read the input as an Ibis table from a file or a workspace."""
    from custlens.errors import InputError

    if workspace is not None:
        try:
            from custlens.warehouse import Workspace
        except ImportError:
            raise InputError("--workspace needs the warehouse package, which is not available") from None
        return Workspace.open(workspace).table(table or default_table)
    if data is None:
        raise InputError("give a DATA_FILE or --workspace W")
    from custlens.ingest.readers import scan_table

    # the engine scans the file (only the columns used); customer ids stay as written
    # (leading zeros kept), as in `custlens summary`
    return scan_table(data, text_columns=(customer_col,), backend=backend)


def _finish(
    result: Any,
    summary: bool,
    fmt: OutputFormat,
    output: Path | None,
    export: Path | None,
    encoding: str,
    columns: list[str] | None = None,
) -> None:
    """Write the result (customers or summary) and the optional export."""
    from custlens.segment.export import csv_bytes, write_export

    if export is not None:
        result = result.cache()  # customers and summary both read it: run the pipeline once
    customers = result.customers if columns is None else result.customers.select(*columns)
    if export is not None:
        check_output_path(export, "--export")  # a workspace file, an input, an existing file: refused
        written = write_export(export, {"customers": customers, "summary": result.summary}, encoding)
        err_console.print(f"wrote {', '.join(map(str, written))}")
    data = result.summary if summary else customers.order_by("customer_id")
    if fmt is OutputFormat.csv and encoding != "utf-8":
        raw = csv_bytes(data, encoding)
        if output is None:
            sys.stdout.flush()
            sys.stdout.buffer.write(raw)
        else:
            write_output(raw, output)
        return
    emit(data, fmt, output, title=f"{result.method} segments")


@segment_app.command("rfm")
@guarded
def rfm_command(
    data: DataArg = None,
    customer_col: CustomerOpt = "customer_id",
    date_col: Annotated[str, typer.Option("--date-col", help="Transaction date column.")] = "ordered_at",
    amount_col: Annotated[str, typer.Option("--amount-col", help="Amount column (negative = return).")] = "amount",
    order_col: Annotated[
        str | None,
        typer.Option("--order-col", help="Order id column (default: order_id if present, else one row = one order)."),
    ] = None,
    quantity_col: Annotated[str | None, typer.Option("--quantity-col", help="Quantity column (RFA).")] = None,
    as_of: AsOfOpt = None,
    bins: Annotated[int | None, typer.Option("--bins", help="Quantile bins per dimension (default 5).")] = None,
    map_file: Annotated[
        str | None,
        typer.Option(
            "--map", help="Segment map TOML, or a shipped map: default (11 segments), cn8 (8 classes, use --bins 2)."
        ),
    ] = None,
    thresholds: Annotated[
        str | None,
        typer.Option(
            "--thresholds",
            help="Threshold table TOML replacing quantile scoring, or a shipped table: airline (the course text's).",
        ),
    ] = None,
    rfa: Annotated[bool, typer.Option("--rfa", help="RFA: score quantity instead of amount.")] = False,
    all_columns: Annotated[bool, typer.Option("--all-columns", help="Add rfm_score and segment_zh.")] = False,
    config: ConfigOpt = None,
    summary: SummaryOpt = False,
    save_snapshot: SnapshotOpt = None,
    backend: BackendOption = "duckdb",
    workspace: WorkspaceOpt = None,
    table: TableOpt = None,
    export: ExportOpt = None,
    encoding: EncodingOpt = "utf-8",
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """RFM scores and named segments from a transaction log.

    Example: custlens segment rfm orders.csv --customer-col C --date-col D --amount-col A
    --as-of 2024-12-31 --bins 5 --format csv
    """
    from custlens.segment import TransactionColumns, rfm_from_transactions
    from custlens.segment._config import read_toml

    cfg = read_toml(config) if config else {}
    if rfa:
        cfg = {**cfg, "measures": {**cfg.get("measures", {}), "value": "quantity"}}
    tx = _read(data, workspace, table, "transactions", customer_col, backend)
    cols = TransactionColumns(customer_col, date_col, amount_col, order_col or "order_id", quantity_col or "quantity")
    result = rfm_from_transactions(
        tx,
        as_of=as_of,
        columns=cols,
        bins=bins,
        thresholds=thresholds,
        segment_map=map_file,
        config=cfg or None,
        check_as_of=True,
    )
    base = ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"]
    _snapshot(result, save_snapshot)
    _finish(result, summary, fmt, output, export, encoding, None if all_columns else base)


def _tx_columns(customer_col: str, date_col: str, amount_col: str, order_col: str | None) -> Any:
    from custlens.segment import TransactionColumns

    return TransactionColumns(customer_col, date_col, amount_col, order_col or "order_id")


def _features(
    data: Path | None,
    workspace: Path | None,
    table: str | None,
    from_tx: bool,
    customer_col: str,
    date_col: str,
    amount_col: str,
    order_col: str | None,
    as_of: str | None,
) -> tuple[Any, Any]:
    """Per-customer features and the as-of date: a features file, or the features of a transaction log."""
    if not from_tx and workspace is None:
        return _read(data, workspace, table, "customers", customer_col), as_of
    from custlens.segment import features_from_transactions

    tx = _read(data, workspace, table, "transactions", customer_col)
    customers = None
    if workspace is not None and table is None:
        from custlens.warehouse import Workspace

        customers = Workspace.open(workspace).table("customers")
    cols = _tx_columns(customer_col, date_col, amount_col, order_col)
    return features_from_transactions(tx, as_of=as_of, columns=cols, customers=customers, check_as_of=True)


def _snapshot(result: Any, target: Path | None) -> None:
    """Store the result as a dated snapshot in the DuckDB file ``target`` (if given)."""
    if target is None:
        return
    from custlens.segment import open_snapshot_db, save_snapshot

    sid = save_snapshot(open_snapshot_db(target), result)
    err_console.print(f"saved snapshot {sid} in {target}")


def _snapshot_con(db: Path | None, workspace: Path | None) -> Any:
    from custlens.errors import InputError

    if workspace is not None:
        from custlens.warehouse import Workspace

        return Workspace.open(workspace).con
    if db is None:
        raise InputError("give --db FILE (the DuckDB file holding the snapshots) or --workspace W")
    from custlens.segment import open_snapshot_db

    return open_snapshot_db(db, create=False)


@segment_app.command("state")
@guarded
def state_command(
    data: DataArg = None,
    customer_col: CustomerOpt = "customer_id",
    date_col: DateOpt = "ordered_at",
    amount_col: AmountOpt = "amount",
    order_col: OrderOpt = None,
    as_of: AsOfOpt = None,
    leads: Annotated[
        Path | None,
        typer.Option("--leads", help="Leads file (lead_id, customer_id, budget, decision_authority, need, ...)."),
    ] = None,
    p_alive: Annotated[
        Path | None, typer.Option("--p-alive", help="File with customer_id and p_alive (decides 'lost' where given).")
    ] = None,
    flow_from: Annotated[
        str | None, typer.Option("--flow-from", help="Print the flow table from this date to --as-of instead.")
    ] = None,
    winback: Annotated[bool, typer.Option("--winback", help="Print the win-back list of lost customers.")] = False,
    top: Annotated[int | None, typer.Option("--top", help="Win-back list: only the first N.")] = None,
    config: ConfigOpt = None,
    summary: SummaryOpt = False,
    save_snapshot: SnapshotOpt = None,
    backend: BackendOption = "duckdb",
    workspace: WorkspaceOpt = None,
    table: TableOpt = None,
    export: ExportOpt = None,
    encoding: EncodingOpt = "utf-8",
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Relationship states (non-customer ... loyal, lost), the customer flow, the win-back list.

    Example: custlens segment state orders.csv --as-of 2024-12-31 --leads leads.csv --summary
    """
    from custlens.ingest.readers import read_table
    from custlens.segment import relationship_state_from_transactions, state_flow, winback_list
    from custlens.segment._config import read_toml

    tx = _read(data, workspace, table, "transactions", customer_col, backend)
    cols = _tx_columns(customer_col, date_col, amount_col, order_col)
    cfg = read_toml(config) if config else None
    ld = read_table(leads) if leads else (_read(None, workspace, "leads", "leads") if workspace is not None else None)
    pa_t = read_table(p_alive) if p_alive else None
    if flow_from is not None:
        from custlens.errors import InputError

        if as_of is None:
            raise InputError("--flow-from needs --as-of (the second date)")
        flow = state_flow(tx, flow_from, as_of, leads=ld, columns=cols, config=cfg, check_as_of=True)
        _emit_table(flow, fmt, output, encoding)
        return
    result = relationship_state_from_transactions(
        tx, as_of=as_of, leads=None if winback else ld, p_alive=pa_t, columns=cols, config=cfg, check_as_of=True
    )
    if winback:
        _emit_table(winback_list(result, top=top), fmt, output, encoding)
        return
    _snapshot(result, save_snapshot)
    _finish(result, summary, fmt, output, export, encoding)


def _emit_table(data: Any, fmt: OutputFormat, output: Path | None, encoding: str) -> None:
    from custlens.segment.export import csv_bytes

    if fmt is OutputFormat.csv and encoding != "utf-8":
        raw = csv_bytes(data, encoding)
        if output is None:
            sys.stdout.flush()
            sys.stdout.buffer.write(raw)
        else:
            write_output(raw, output)
        return
    emit(data, fmt, output)


@segment_app.command("lifecycle")
@guarded
def lifecycle_command(
    data: DataArg = None,
    customer_col: CustomerOpt = "customer_id",
    date_col: DateOpt = "ordered_at",
    amount_col: AmountOpt = "amount",
    order_col: OrderOpt = None,
    as_of: AsOfOpt = None,
    variant: Annotated[
        str | None,
        typer.Option(
            "--variant",
            help="Stage names: lifecycle (潜在获取期 ... 终止期, default) or relationship (培育期 ... 终止期).",
        ),
    ] = None,
    config: ConfigOpt = None,
    summary: SummaryOpt = False,
    save_snapshot: SnapshotOpt = None,
    backend: BackendOption = "duckdb",
    workspace: WorkspaceOpt = None,
    table: TableOpt = None,
    export: ExportOpt = None,
    encoding: EncodingOpt = "utf-8",
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Lifecycle stages (acquisition, growth, maturity, decline, termination) from transactions.

    Example: custlens segment lifecycle orders.csv --as-of 2024-12-31 --variant relationship --summary
    """
    from custlens.segment import lifecycle_stage_from_transactions
    from custlens.segment._config import read_toml

    tx = _read(data, workspace, table, "transactions", customer_col, backend)
    cfg = read_toml(config) if config else {}
    if variant is not None:
        cfg = {**cfg, "variant": variant}
    result = lifecycle_stage_from_transactions(
        tx,
        as_of=as_of,
        columns=_tx_columns(customer_col, date_col, amount_col, order_col),
        config=cfg or None,
        check_as_of=True,
    )
    _snapshot(result, save_snapshot)
    _finish(result, summary, fmt, output, export, encoding)


def _value_command(method: str):
    def command(
        data: DataArg = None,
        value_col: Annotated[str | None, typer.Option("--value-col", help="Value column (default revenue).")] = None,
        pareto: Annotated[bool, typer.Option("--pareto", help="Print the Pareto curve instead.")] = False,
        concentration: Annotated[
            bool,
            typer.Option(
                "--concentration", help="Print the share of value from the top 20 % and the Gini coefficient."
            ),
        ] = False,
        from_transactions: FromTxOpt = False,
        customer_col: CustomerOpt = "customer_id",
        date_col: DateOpt = "ordered_at",
        amount_col: AmountOpt = "amount",
        order_col: OrderOpt = None,
        as_of: AsOfOpt = None,
        config: ConfigOpt = None,
        summary: SummaryOpt = False,
        save_snapshot: SnapshotOpt = None,
        workspace: WorkspaceOpt = None,
        table: TableOpt = None,
        export: ExportOpt = None,
        encoding: EncodingOpt = "utf-8",
        fmt: FormatOption = OutputFormat.table,
        output: OutputOption = None,
    ) -> None:
        from custlens.segment import abc_classes, pareto_curve, value_pyramid
        from custlens.segment import concentration as conc
        from custlens.segment._config import read_toml

        feats, day = _features(
            data, workspace, table, from_transactions, customer_col, date_col, amount_col, order_col, as_of
        )
        cfg = read_toml(config) if config else None
        cust = "customer_id" if from_transactions or workspace is not None else customer_col
        if pareto:
            _emit_table(pareto_curve(feats, value_col=value_col, customer_col=cust, config=cfg), fmt, output, encoding)
            return
        if concentration:
            emit(conc(feats, value_col=value_col, customer_col=cust, config=cfg), fmt, output)
            return
        fn = abc_classes if method == "abc" else value_pyramid
        result = fn(feats, value_col=value_col, customer_col=cust, as_of=day, config=cfg)
        _snapshot(result, save_snapshot)
        _finish(result, summary, fmt, output, export, encoding)

    return command


_abc = _value_command("abc")
_abc.__doc__ = """ABC classes by cumulative contribution (A up to 80 %, B up to 95 %), Pareto curve, Gini.

    Example: custlens segment abc features.csv --value-col profit --summary
    """
segment_app.command("abc")(guarded(_abc))
_pyr = _value_command("pyramid")
_pyr.__doc__ = """The customer pyramid: VIP (top 1 %), major (next 4 %), ordinary (next 15 %), small.

    Example: custlens segment pyramid orders.csv --from-transactions --summary
    """
segment_app.command("pyramid")(guarded(_pyr))


@segment_app.command("value-matrix")
@guarded
def value_matrix_command(
    data: DataArg = None,
    frequency_col: Annotated[
        str | None, typer.Option("--frequency-col", help="Purchase frequency column (default order_count).")
    ] = None,
    aov_col: Annotated[
        str | None, typer.Option("--aov-col", help="Average order value column (default avg_order_value).")
    ] = None,
    split: Annotated[str | None, typer.Option("--split", help="median (default), mean or thresholds.")] = None,
    frequency_threshold: Annotated[float | None, typer.Option("--frequency-threshold")] = None,
    aov_threshold: Annotated[float | None, typer.Option("--aov-threshold")] = None,
    from_transactions: FromTxOpt = False,
    customer_col: CustomerOpt = "customer_id",
    date_col: DateOpt = "ordered_at",
    amount_col: AmountOpt = "amount",
    order_col: OrderOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    summary: SummaryOpt = False,
    save_snapshot: SnapshotOpt = None,
    workspace: WorkspaceOpt = None,
    table: TableOpt = None,
    export: ExportOpt = None,
    encoding: EncodingOpt = "utf-8",
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Customer value matrix: purchase frequency x average order value, four quadrants.

    Example: custlens segment value-matrix features.csv --summary
    """
    from custlens.segment import value_matrix
    from custlens.segment._config import read_toml

    feats, day = _features(
        data, workspace, table, from_transactions, customer_col, date_col, amount_col, order_col, as_of
    )
    cust = "customer_id" if from_transactions or workspace is not None else customer_col
    result = value_matrix(
        feats,
        frequency_col=frequency_col,
        avg_value_col=aov_col,
        split=split,
        frequency_threshold=frequency_threshold,
        avg_value_threshold=aov_threshold,
        customer_col=cust,
        as_of=day,
        config=read_toml(config) if config else None,
    )
    _snapshot(result, save_snapshot)
    _finish(result, summary, fmt, output, export, encoding)


@segment_app.command("clv-matrix")
@guarded
def clv_matrix_command(
    data: DataArg = None,
    current_col: Annotated[
        str | None, typer.Option("--current-col", help="Current value column (default revenue).")
    ] = None,
    potential_col: Annotated[
        str | None, typer.Option("--potential-col", help="Potential value column (default potential_value; e.g. clv).")
    ] = None,
    split: Annotated[str | None, typer.Option("--split", help="median (default), mean or thresholds.")] = None,
    current_threshold: Annotated[float | None, typer.Option("--current-threshold")] = None,
    potential_threshold: Annotated[float | None, typer.Option("--potential-threshold")] = None,
    abandon: Annotated[
        str | None,
        typer.Option(
            "--abandon",
            help="Abandon class: below_zero (value below zero, the text's rule; default) or quadrant (low-low cell).",
        ),
    ] = None,
    customer_col: CustomerOpt = "customer_id",
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    summary: SummaryOpt = False,
    save_snapshot: SnapshotOpt = None,
    workspace: WorkspaceOpt = None,
    table: TableOpt = None,
    export: ExportOpt = None,
    encoding: EncodingOpt = "utf-8",
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """CLV matrix: current x potential value -> most valuable, most growable, maintain, abandon.

    Example: custlens segment clv-matrix scores.csv --current-col revenue --potential-col clv
    """
    from custlens.segment import clv_matrix
    from custlens.segment._config import read_toml

    feats = _read(data, workspace, table, "customers", customer_col)
    result = clv_matrix(
        feats,
        current_col=current_col,
        potential_col=potential_col,
        split=split,
        current_threshold=current_threshold,
        potential_threshold=potential_threshold,
        abandon=abandon,
        customer_col=customer_col,
        as_of=as_of,
        config=read_toml(config) if config else None,
    )
    _snapshot(result, save_snapshot)
    _finish(result, summary, fmt, output, export, encoding)


@segment_app.command("rules")
@guarded
def rules_command(
    data: DataArg = None,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="Rules TOML: [[rule]] name, when, name_zh; first match wins.")
    ] = None,
    keep: Annotated[list[str] | None, typer.Option("--keep", help="Feature column to keep (repeatable).")] = None,
    from_transactions: FromTxOpt = False,
    customer_col: CustomerOpt = "customer_id",
    date_col: DateOpt = "ordered_at",
    amount_col: AmountOpt = "amount",
    order_col: OrderOpt = None,
    as_of: AsOfOpt = None,
    summary: SummaryOpt = False,
    save_snapshot: SnapshotOpt = None,
    workspace: WorkspaceOpt = None,
    table: TableOpt = None,
    export: ExportOpt = None,
    encoding: EncodingOpt = "utf-8",
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Rule segments written in the rule language (compiled to Ibis); the first matching rule wins.

    Example: custlens segment rules features.csv --rules segments.toml --summary
    """
    from custlens.segment import rule_segments

    feats, day = _features(
        data, workspace, table, from_transactions, customer_col, date_col, amount_col, order_col, as_of
    )
    cust = "customer_id" if from_transactions or workspace is not None else customer_col
    result = rule_segments(feats, rules, as_of=day, customer_col=cust, keep=keep or ())
    _snapshot(result, save_snapshot)
    _finish(result, summary, fmt, output, export, encoding)


@segment_app.command("cluster")
@guarded
def cluster_command(
    data: DataArg = None,
    k: Annotated[int | None, typer.Option("--k", help="Number of clusters (default: best silhouette).")] = None,
    features: Annotated[
        list[str] | None,
        typer.Option(
            "--feature",
            help="Feature column (repeatable; default recency_days, order_count, revenue, avg_order_value).",
        ),
    ] = None,
    profile: Annotated[bool, typer.Option("--profile", help="Print the cluster profile instead.")] = False,
    from_transactions: FromTxOpt = False,
    customer_col: CustomerOpt = "customer_id",
    date_col: DateOpt = "ordered_at",
    amount_col: AmountOpt = "amount",
    order_col: OrderOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    summary: SummaryOpt = False,
    save_snapshot: SnapshotOpt = None,
    workspace: WorkspaceOpt = None,
    table: TableOpt = None,
    export: ExportOpt = None,
    encoding: EncodingOpt = "utf-8",
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """k-means clusters on standardised (log for money) features, k by silhouette, with profiles.

    Example: custlens segment cluster orders.csv --from-transactions --profile
    """
    from custlens.segment import kmeans_segments
    from custlens.segment._config import read_toml

    feats, day = _features(
        data, workspace, table, from_transactions, customer_col, date_col, amount_col, order_col, as_of
    )
    cust = "customer_id" if from_transactions or workspace is not None else customer_col
    result = kmeans_segments(
        feats, k=k, columns=features, customer_col=cust, as_of=day, config=read_toml(config) if config else None
    )
    if profile:
        _emit_table(result.details["profile"], fmt, output, encoding)
        return
    _snapshot(result, save_snapshot)
    _finish(result, summary, fmt, output, export, encoding)


@segment_app.command("migrate")
@guarded
def migrate_command(
    from_id: Annotated[str | None, typer.Argument(help="Earlier snapshot id.", show_default=False)] = None,
    to_id: Annotated[str | None, typer.Argument(help="Later snapshot id.", show_default=False)] = None,
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB file holding the snapshots.")] = None,
    customers: Annotated[
        bool, typer.Option("--customers", help="List every customer's move instead of the counts.")
    ] = False,
    list_only: Annotated[bool, typer.Option("--list", help="List the stored snapshots.")] = False,
    workspace: WorkspaceOpt = None,
    encoding: EncodingOpt = "utf-8",
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Migration matrix between two stored segment snapshots (counts, or --customers lists).

    Example: custlens segment migrate rfm-2024-06-30-1a2b3c4d rfm-2024-12-31-5e6f7a8b --db snaps.duckdb
    """
    from custlens.errors import InputError
    from custlens.segment import list_snapshots, migration

    con = _snapshot_con(db, workspace)
    if list_only:
        _emit_table(list_snapshots(con), fmt, output, encoding)
        return
    if from_id is None or to_id is None:
        raise InputError("give FROM_ID and TO_ID (see --list for the stored snapshots)")
    mig = migration(con, from_id, to_id)
    _emit_table(mig.customers if customers else mig.matrix, fmt, output, encoding)


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app`` (as the ``segment`` sub-app)."""
    app.add_typer(segment_app, name="segment")
