"""CLI command: analyze (run the standard analysis for an as-of date and store it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from custlens.cli._common import FormatOption, OutputFormat, OutputOption, emit, err_console, guarded

__all__ = ["register", "analyze_command"]


@guarded
def analyze_command(
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder (see `custlens init`).")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", "--end", help="As-of date YYYY-MM-DD (default: the last transaction day)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Analysis configuration TOML overriding the defaults (docs/analysis.md)."),
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="List the analyses stored in the workspace instead of running one.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Run the standard analysis for an as-of date and store it in the workspace.

    Computes, once: value indicators, purchase histories, BG/NBD (or the configured model)
    and Gamma-Gamma with every customer's lifetime value, churn risk, the important-customer
    score, every segmentation (RFM, relationship state, lifecycle, ABC, pyramid, value
    matrix, CLV matrix, clusters), the state flow, satisfaction (index, IPMA, Kano) and the
    playbook per segment, and stores them as one dated analysis that `custlens report` and
    every other edge read.

    Examples: custlens analyze --workspace shop; custlens analyze -w shop --as-of 2025-06-30;
    custlens analyze -w shop --list
    """
    from custlens.analysis import analyze, list_analyses
    from custlens.warehouse import Workspace

    if list_:
        emit(list_analyses(workspace), fmt, output, title="stored analyses")
        return
    with Workspace.open(workspace) as ws:
        with err_console.status("analysing"):
            stored = analyze(ws, as_of=as_of, config=config)
        summary: dict[str, Any] = {
            "analysis_id": stored.analysis_id,
            "as_of": stored.as_of.isoformat(),
            "customers": stored.n_customers,
            "segmentations": ", ".join(stored.methods),
            "results": ", ".join(stored.result_names),
            "seconds": round(sum(stored.timings.values()), 2),
        }
        summary |= {f"left out: {k}": v for k, v in stored.skipped.items()}
    emit(summary, fmt, output, title="stored analysis")


def register(app: typer.Typer) -> None:
    """Add ``analyze`` to ``app``."""
    app.command("analyze")(analyze_command)
