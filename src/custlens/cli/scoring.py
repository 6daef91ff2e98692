"""CLI commands: segment score (important customers) and playbook."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from custlens.cli._common import FormatOption, OutputFormat, OutputOption, emit, err_console, guarded

__all__ = ["register", "score_command", "playbook_command"]


class Normalisation(str, Enum):
    """Indicator normalisation of the score."""

    minmax = "minmax"
    zscore = "zscore"


class Missing(str, Enum):
    """What a missing indicator value means."""

    error = "error"
    worst = "worst"


class Encoding(str, Enum):
    """CSV encodings of the campaign export."""

    utf8_sig = "utf-8-sig"
    utf8 = "utf-8"
    gb18030 = "gb18030"


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _read(data: Path | None, workspace: Path | None, table: str, what: str, customer_col: str = "customer_id") -> Any:
    """An Ibis table from a data file (scanned by the engine) or a workspace table."""
    from custlens.errors import InputError

    if workspace is not None:
        from custlens.warehouse import Workspace

        return Workspace.open(workspace, read_only=True).table(table)
    if data is None:
        raise InputError(f"give the {what} file or --workspace W")
    from custlens.ingest.readers import scan_table

    return scan_table(data, text_columns=(customer_col,))  # ids keep leading zeros


WorkspaceOpt = Annotated[Path | None, typer.Option("--workspace", "-w", help="Read from this custlens workspace.")]


@guarded
def score_command(
    data: Annotated[
        Path | None,
        typer.Argument(
            help="Per-customer indicator file (CSV/TSV/TXT, Parquet, XLSX); omit with --workspace.", show_default=False
        ),
    ] = None,
    indicators: Annotated[
        str | None,
        typer.Option(
            "--indicators", "-i", help="Comma-separated indicator columns (default with --ahp: the AHP elements)."
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            help="User weights: 'revenue=0.5,profit=0.3' or '0.5,0.3' in --indicators order (rescaled to sum 1).",
        ),
    ] = None,
    entropy: Annotated[bool, typer.Option("--entropy", help="Derive weights by the entropy-weight method.")] = False,
    ahp: Annotated[
        Path | None,
        typer.Option("--ahp", help="AHP judgement file (TOML) to derive weights from pairwise comparisons."),
    ] = None,
    cost: Annotated[
        str | None,
        typer.Option(
            "--cost-indicators",
            help="Comma-separated indicators where lower is better (e.g. recency_days,arrears_rate).",
        ),
    ] = None,
    normalisation: Annotated[
        Normalisation, typer.Option("--normalisation", help="minmax (score in [0, 1]) or zscore.")
    ] = Normalisation.minmax,
    customer_col: Annotated[str, typer.Option("--customer-col", help="Customer id column.")] = "customer_id",
    on_missing: Annotated[
        Missing, typer.Option("--on-missing", help="A missing value is an error, or counts as the worst value.")
    ] = Missing.error,
    allow_inconsistent: Annotated[
        bool, typer.Option("--allow-inconsistent", help="Use AHP judgements even when CR >= 0.10.")
    ] = False,
    top: Annotated[int | None, typer.Option("--top", help="Only the N highest-ranked customers.")] = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="Print the weights, method and consistency (JSON) instead of the ranking.")
    ] = False,
    from_transactions: Annotated[
        bool,
        typer.Option(
            "--from-transactions",
            help="DATA_FILE is a transaction "
            "log (customer_id, ordered_at, amount[, order_id]): score "
            "its value indicators (order_count, revenue, profit, "
            "avg_order_value, recency_days, tenure_days, ...).",
        ),
    ] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As-of date of the summary with --from-transactions or --workspace.")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Rank customers by the important-customer score (weighted, normalised value indicators).

    Example: custlens segment score indicators.csv --indicators revenue,order_count,recency_days
    --cost-indicators recency_days --entropy --format csv. With --workspace W (or
    --from-transactions) the value indicators are computed from the transactions (and the
    workspace's receivables and interactions).
    """
    from custlens.errors import InputError
    from custlens.scoring import load_ahp, parse_weights, score_customers, score_transactions

    if top is not None and top < 1:
        raise InputError(f"--top must be a whole number >= 1; got {top}")

    chosen = [
        name
        for name, on in (("--weights", weights is not None), ("--entropy", entropy), ("--ahp", ahp is not None))
        if on
    ]
    if len(chosen) > 1:
        raise InputError(f"give one of --weights, --entropy, --ahp; got {' and '.join(chosen)}")
    cols = _split(indicators) or None
    if cols is None and ahp is None:
        raise InputError(
            "give --indicators (comma-separated indicator columns, e.g. "
            "--indicators revenue,order_count,recency_days) or --ahp FILE naming them"
        )
    judged = load_ahp(ahp) if ahp is not None else None
    parsed = parse_weights(weights) if weights is not None else None
    method = "entropy" if entropy else None
    options: dict[str, Any] = {
        "cost": _split(cost),
        "method": method,
        "weights": parsed,
        "ahp": judged,
        "normalisation": normalisation.value,
        "customer_col": customer_col,
        "on_missing": on_missing.value,
        "allow_inconsistent": allow_inconsistent,
    }
    if workspace is not None:
        from custlens.warehouse import Workspace

        ws = Workspace.open(workspace, read_only=True)
        result = score_transactions(
            ws.table("transactions"),
            cols,
            as_of=as_of,
            receivables=ws.table("receivables"),
            interactions=ws.table("interactions"),
            **options,
        )
    elif from_transactions:
        result = score_transactions(_read(data, None, "", "transaction"), cols, as_of=as_of, **options)
    else:
        if as_of is not None:
            raise InputError("--as-of applies to --from-transactions or --workspace")
        result = score_customers(_read(data, None, "", "indicator", customer_col), cols, **options)
    if summary:
        emit(result.summary(), OutputFormat.json if fmt is OutputFormat.table else fmt, output)
        return
    ranked = result.table if top is None else result.table.limit(top)
    emit(ranked, fmt, output, title=f"important customers ({result.method} weights)")


@guarded
def playbook_command(
    segments: Annotated[
        Path | None,
        typer.Option("--segments", "-s", help="Per-customer segment file (customer_id, segment) to attach actions to."),
    ] = None,
    playbook: Annotated[
        Path | None, typer.Option("--playbook", "-p", help="Playbook TOML (default: the shipped playbook).")
    ] = None,
    scheme: Annotated[
        str | None,
        typer.Option(
            "--scheme", help="Playbook section: rfm, abc, pyramid, value_matrix, clv_matrix, state, lifecycle, ..."
        ),
    ] = None,
    segment_col: Annotated[str, typer.Option("--segment-col", help="Segment column of --segments.")] = "segment",
    customer_col: Annotated[str, typer.Option("--customer-col", help="Customer column of --segments.")] = "customer_id",
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="List the segments of --segments that have no action (exit code 2 when there are any)."
        ),
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Segments without an action are an error.")] = False,
    export: Annotated[
        Path | None, typer.Option("--export", help="Write the campaign list CSV (no personal data) to this file.")
    ] = None,
    encoding: Annotated[
        Encoding,
        typer.Option("--encoding", help="Encoding of --export: utf-8-sig (with BOM, for Excel), utf-8 or gb18030."),
    ] = Encoding.utf8_sig,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Show the playbook, or attach each customer's suggested action (service, channel, priority, offer).

    Examples: custlens playbook --scheme rfm --format csv;
    custlens playbook --segments rfm.csv --scheme rfm --export campaign.csv
    """
    from custlens.playbook import apply_playbook, export_campaign, load_playbook, missing_actions

    pb = load_playbook(playbook)
    if segments is None:
        if check or export is not None:
            from custlens.errors import InputError

            raise InputError("--check and --export need --segments FILE")
        emit(pb.table(scheme), fmt, output, title="playbook")
        return
    assignments = _read(segments, None, "", "segments")
    if check:
        missing = missing_actions(assignments, pb, scheme, segment_col=segment_col)
        emit({"playbook": pb.source, "scheme": scheme, "missing": missing}, OutputFormat.json, output)
        if missing:
            raise typer.Exit(2)
        return
    if export is not None:
        from custlens.cli._common import check_output_path

        check_output_path(export, "--export")  # a workspace file, an input, an existing file: refused
        n = export_campaign(
            assignments,
            pb,
            export,
            scheme=scheme,
            encoding=encoding.value,
            segment_col=segment_col,
            customer_col=customer_col,
            strict=strict,
            overwrite=True,  # checked above, with the command's rules
        )
        err_console.print(f"wrote {n:,} customers to {export}")
        return
    emit(
        apply_playbook(
            assignments, pb, scheme=scheme, segment_col=segment_col, customer_col=customer_col, strict=strict
        ),
        fmt,
        output,
        title="actions",
    )


def register(app: typer.Typer) -> None:
    """Add ``segment score`` to the segment sub-app, and the ``playbook`` command."""
    from custlens.cli import segment as segment_cli

    segment_app = getattr(segment_cli, "segment_app", None)
    if segment_app is not None:
        segment_app.command("score")(score_command)
    app.command("playbook")(playbook_command)
