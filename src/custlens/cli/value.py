"""CLI commands: value (CLV components, sensitivity, share of wallet) and lost (loss types, reasons, complaints, conversion, win-back).

Each command reads the workspace's canonical tables and its stored analysis (the fitted
purchase model, the customers' histories and segments: nothing is refitted), calls one
function of :mod:`custlens.clv` or :mod:`custlens.churn` and prints the table it returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from custlens.cli._common import FormatOption, OutputFormat, OutputOption, emit, err_console, guarded

__all__ = ["register", "value_app", "lost_app"]

value_app = typer.Typer(
    name="value",
    help="The whole value story from the stored analysis: CLV components (historical, current, potential), "
    "sensitivity to each factor (tornado), share of wallet.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
lost_app = typer.Typer(
    name="lost",
    help="Lost customers from the stored analysis: permanent or temporary loss, reasons, complaint resolution, "
    "conversion between relationship states, win-back campaigns.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="The custlens workspace (with a stored analysis).")
]
AnalysisOpt = Annotated[
    str | None, typer.Option("--analysis", help="Stored analysis id (default: the latest).", show_default=False)
]
CostsOpt = Annotated[
    Path | None,
    typer.Option("--costs", help="Costs TOML: cost to serve per interaction kind, acquisition, marketing."),
]
ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Report per segment of this stored segmentation (rfm, state, pyramid, ...)."),
]


@contextmanager
def _stored(workspace: Path, analysis_id: str | None) -> Iterator[tuple[Any, Any]]:
    """The workspace (read-only) and its stored analysis."""
    from custlens.analysis import load_analysis
    from custlens.warehouse import Workspace

    with Workspace.open(workspace, read_only=True) as ws:
        with load_analysis(ws, analysis_id=analysis_id) as stored:
            yield ws, stored


def _history(stored: Any) -> Any:
    """The buyers' stored purchase history and expected spend."""
    c = stored.customers()
    c = c.filter(c.frequency.notnull())
    return c.select("customer_id", "frequency", "recency", "T", "expected_spend").to_pyarrow()


def _components(
    ws: Any,
    stored: Any,
    costs: Path | None,
    current_months: float,
    baseline_months: float,
    referral_channels: list[str] | None,
) -> Any:
    from custlens.clv import value_components

    return value_components(
        ws.table("transactions"),
        _history(stored),
        stored.purchase_model,
        as_of=stored.as_of,
        interactions=ws.table("interactions"),
        customers=ws.table("customers"),
        costs=costs,
        horizon_months=float(stored.config["clv"]["horizon_months"]),
        monthly_discount=float(stored.config["clv"]["monthly_discount"]),
        time_unit=str(stored.config["analysis"]["time_unit"]),
        current_months=current_months,
        baseline_months=baseline_months,
        referral_channels=tuple(referral_channels or ("referral",)),
    )


CurrentOpt = Annotated[float, typer.Option("--current-months", help="The current value covers the last N months.")]
BaselineOpt = Annotated[
    float, typer.Option("--baseline-months", help="A customer's first N months make it a new customer (CLV4, CLV6).")
]
ReferralOpt = Annotated[
    list[str] | None,
    typer.Option("--referral-channel", help="Acquisition channel meaning 'referred' (repeatable; default referral)."),
]


@value_app.command("components")
@guarded
def components_command(
    workspace: WorkspaceOpt,
    analysis_id: AnalysisOpt = None,
    costs: CostsOpt = None,
    by: ByOpt = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="One row per part (historical, current, potential).")
    ] = False,
    side_by_side: Annotated[
        bool, typer.Option("--side-by-side", help="Each buyer's historical, current and potential value in one row.")
    ] = False,
    current_months: CurrentOpt = 12.0,
    baseline_months: BaselineOpt = 12.0,
    referral_channel: ReferralOpt = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """CLV components (CLV1 first purchase ... CLV6 loyalty) and costs per buyer: historical, current, potential.

    Example: custlens value components -w shop --costs costs.toml --by pyramid
    """
    with _stored(workspace, analysis_id) as (ws, stored):
        result = _components(ws, stored, costs, current_months, baseline_months, referral_channel)
        if by is not None:
            table = result.by_segment(stored.segments(by).to_pyarrow())
        elif summary:
            table = result.summary()
        elif side_by_side:
            table = result.side_by_side()
        else:
            table = result.customers
    emit(table, fmt, output, title="CLV components 客户终生价值的构成")


@value_app.command("sensitivity")
@guarded
def sensitivity_command(
    workspace: WorkspaceOpt,
    analysis_id: AnalysisOpt = None,
    costs: CostsOpt = None,
    relative: Annotated[float, typer.Option("--relative", help="Step of the relative factors (0.1 = 10 %).")] = 0.10,
    retention_points: Annotated[
        float, typer.Option("--retention-points", help="Step of the annual retention rate (0.05 = five points).")
    ] = 0.05,
    growth_points: Annotated[
        float, typer.Option("--growth-points", help="Step of the annual growth of spend (0.05 = 5 % a year).")
    ] = 0.05,
    tornado: Annotated[bool, typer.Option("--tornado", help="Print the tornado table (low, high, swing).")] = False,
    figure: Annotated[
        Path | None, typer.Option("--figure", help="Also write the tornado chart to this HTML file.")
    ] = None,
    current_months: CurrentOpt = 12.0,
    baseline_months: BaselineOpt = 12.0,
    referral_channel: ReferralOpt = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Lifetime value as each factor of the course text moves (horizon, discount, retention, referral, ...).

    Example: custlens value sensitivity -w shop --costs costs.toml --tornado --figure tornado.html
    """
    from custlens.clv import clv_sensitivity, tornado_figure, tornado_table

    with _stored(workspace, analysis_id) as (ws, stored):
        result = _components(ws, stored, costs, current_months, baseline_months, referral_channel)
    table = clv_sensitivity(result, relative=relative, retention_points=retention_points, growth_points=growth_points)
    if figure is not None:
        tornado_figure(table).write_html(figure, include_plotlyjs=True)
        err_console.print(f"wrote {figure}")
    emit(tornado_table(table) if tornado else table, fmt, output, title="CLV sensitivity 敏感性分析")


@value_app.command("wallet")
@guarded
def wallet_command(
    estimates: Annotated[
        Path, typer.Argument(help="File with customer_id and each customer's estimated spend in the category.")
    ],
    workspace: WorkspaceOpt,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As-of date (default: the last transaction day).")
    ] = None,
    months: Annotated[float, typer.Option("--months", help="Months the estimate covers.")] = 12.0,
    spend_col: Annotated[str, typer.Option("--spend-col", help="Column of the estimate.")] = "category_spend",
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Share of wallet: each customer's spend with us over its estimated spend in the category.

    Example: custlens value wallet estimates.csv -w shop --months 12
    """
    from custlens.features import share_of_wallet
    from custlens.ingest.readers import read_table
    from custlens.warehouse import Workspace

    est = read_table(estimates, text_columns=("customer_id",))
    with Workspace.open(workspace, read_only=True) as ws:
        table = share_of_wallet(ws.table("transactions"), est, as_of=as_of, months=months, spend_col=spend_col)
        emit(table.order_by("customer_id").to_pyarrow(), fmt, output, title="share of wallet 钱包份额")


def _lost(stored: Any) -> Any:
    """The customers the stored relationship states call lost, with their last purchase."""
    seg = stored.segments("state")
    lost = seg.filter(seg.segment == "lost")
    c = stored.customers().select("customer_id", "last_purchase_at", "p_alive")
    return lost.join(c, lost.customer_id == c.customer_id).select("customer_id", "last_purchase_at", "p_alive")


@lost_app.command("types")
@guarded
def types_command(
    workspace: WorkspaceOpt,
    analysis_id: AnalysisOpt = None,
    p_alive_threshold: Annotated[
        float, typer.Option("--p-alive-threshold", help="Lost customers with P(alive) at least this are temporary.")
    ] = 0.15,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Permanent or temporary loss (永久流失型/暂时流失型) of every lost customer.

    Example: custlens lost types -w shop --format csv
    """
    from custlens.churn import gap_returns, loss_types

    with _stored(workspace, analysis_id) as (ws, stored):
        lost = _lost(stored).to_pyarrow()
        gaps = gap_returns(ws.table("transactions"), as_of=stored.as_of).to_pyarrow()
    table = loss_types(lost, p_alive=lost, gaps=gaps, p_alive_threshold=p_alive_threshold)
    emit(table, fmt, output, title="loss types 流失类型")


@lost_app.command("reasons")
@guarded
def reasons_command(
    workspace: WorkspaceOpt,
    analysis_id: AnalysisOpt = None,
    reasons: Annotated[Path | None, typer.Option("--reasons", help="Reasons TOML replacing the shipped rules.")] = None,
    by: ByOpt = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Why each lost customer left (competitor, service attitude, product or price, ...), from its interactions.

    Example: custlens lost reasons -w shop --by pyramid
    """
    from custlens.churn import churn_reasons, reasons_by_segment

    with _stored(workspace, analysis_id) as (ws, stored):
        table = churn_reasons(_lost(stored), ws.table("interactions"), as_of=stored.as_of, reasons=reasons)
        if by is not None:
            table = reasons_by_segment(table, stored.segments(by).to_pyarrow())
    emit(table, fmt, output, title="churn reasons 流失原因")


@lost_app.command("complaints")
@guarded
def complaints_command(
    workspace: WorkspaceOpt,
    analysis_id: AnalysisOpt = None,
    by: ByOpt = None,
    reasons: Annotated[Path | None, typer.Option("--reasons", help="Reasons TOML (its resolved outcomes).")] = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Complaint resolution rates and how many complainants stayed, per segment.

    Example: custlens lost complaints -w shop --by state
    """
    from custlens.churn import complaint_resolution

    with _stored(workspace, analysis_id) as (ws, stored):
        table = complaint_resolution(
            ws.table("interactions"),
            as_of=stored.as_of,
            lost=_lost(stored).to_pyarrow(),
            segments=None if by is None else stored.segments(by).to_pyarrow(),
            reasons=reasons,
        )
    emit(table, fmt, output, title="complaint resolution 投诉处理")


@lost_app.command("conversion")
@guarded
def conversion_command(
    workspace: WorkspaceOpt,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="End of the last period (default: last transaction day).")
    ] = None,
    periods: Annotated[int, typer.Option("--periods", help="Number of periods.")] = 4,
    period_days: Annotated[int, typer.Option("--period-days", help="Length of a period in days.")] = 91,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Conversion rates between relationship states in each period, with the share who bought.

    Example: custlens lost conversion -w shop --periods 4 --period-days 91
    """
    from custlens.churn import period_ends, state_conversion
    from custlens.features import as_of_date
    from custlens.warehouse import Workspace

    with Workspace.open(workspace, read_only=True) as ws:
        tx = ws.table("transactions")
        dates = period_ends(as_of_date(tx, as_of), periods=periods, period_days=period_days)
        table = state_conversion(tx, dates, leads=ws.table("leads"))
    emit(table, fmt, output, title="state conversion 客户状态转换")


@lost_app.command("winback")
@guarded
def winback_command(
    campaign: Annotated[
        Path, typer.Argument(help="Campaign record: customer_id, targeted_at[, campaign_id, group (target/control)].")
    ],
    workspace: WorkspaceOpt,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Count purchases up to this date.")] = None,
    window_days: Annotated[
        int, typer.Option("--window-days", help="Recovered: bought again within N days of the contact.")
    ] = 90,
    customers: Annotated[
        bool, typer.Option("--customers", help="One row per targeted customer instead of the summary.")
    ] = False,
    complete_only: Annotated[
        bool, typer.Option("--complete-only", help="Summary: only customers whose whole window has passed.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Win-back campaign results: the recovered rate per campaign and group (lift over control).

    Example: custlens lost winback campaign.csv -w shop --window-days 90
    """
    from custlens.churn import winback_outcomes, winback_summary
    from custlens.ingest.readers import read_table
    from custlens.warehouse import Workspace

    record = read_table(campaign, text_columns=("customer_id",))
    with Workspace.open(workspace, read_only=True) as ws:
        outcomes = winback_outcomes(record, ws.table("transactions"), as_of=as_of, window_days=window_days)
    table = outcomes if customers else winback_summary(outcomes, complete_only=complete_only)
    emit(table, fmt, output, title="win-back 客户挽回")


def register(app: typer.Typer) -> None:
    """Add this module's command groups to ``app``."""
    app.add_typer(value_app, name="value")
    app.add_typer(lost_app, name="lost")
