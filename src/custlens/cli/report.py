"""CLI command: report (the self-contained HTML report, drawn from a stored analysis)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from custlens.cli._common import err_console, guarded

__all__ = ["register", "report_command"]


def _pair(text: str) -> tuple[str, str]:
    from custlens.errors import InputError

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) != 2:
        raise InputError(f"--snapshots takes FROM_ID,TO_ID; got {text!r}")
    return parts[0], parts[1]


@guarded
def report_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Draw the analysis stored in this workspace.")
    ] = None,
    analysis_id: Annotated[
        str | None, typer.Option("--analysis", help="Stored analysis id (default: the latest, or the latest --as-of).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="As-of date YYYY-MM-DD: the stored analysis of that date (with --transactions: the date to analyse).",
        ),
    ] = None,
    compare_to: Annotated[
        str | None,
        typer.Option("--compare-to", help="An earlier stored analysis id: adds the segment migration since then."),
    ] = None,
    migration_method: Annotated[
        str | None, typer.Option("--migration-method", help="Segmentation of the migration section (default rfm).")
    ] = None,
    persona_method: Annotated[
        str | None,
        typer.Option(
            "--persona-method",
            help="Segmentation of the persona cards, shown when tags were applied for the analysis's date "
            "(default value_matrix).",
        ),
    ] = None,
    snapshots: Annotated[
        str | None,
        typer.Option(
            "--snapshots",
            help="FROM_ID,TO_ID: also show the migration between two segment snapshots stored in --workspace.",
        ),
    ] = None,
    transactions: Annotated[
        Path | None,
        typer.Option(
            "--transactions",
            "-t",
            help="Transaction file (customer_id, ordered_at, amount[, order_id]): "
            "analyse it in memory and draw that analysis (nothing is stored).",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Analysis configuration TOML (with --transactions).")
    ] = None,
    playbook: Annotated[
        Path | None, typer.Option("--playbook", "-p", help="Playbook TOML (with --transactions; default: shipped).")
    ] = None,
    ahp: Annotated[
        Path | None,
        typer.Option("--ahp", help="AHP judgement file for the score (with --transactions; default: entropy weights)."),
    ] = None,
    indicators: Annotated[
        Path | None,
        typer.Option(
            "--indicators",
            help="No longer used: the analysis computes the indicators. Score a file with `custlens segment score`.",
        ),
    ] = None,
    migration: Annotated[
        Path | None, typer.Option("--migration", help="Migration table file (from_segment, to_segment, customers).")
    ] = None,
    title: Annotated[str, typer.Option("--title", help="Report title.")] = "custlens customer report",
) -> None:
    """Write the self-contained HTML report from the stored analysis.

    With --workspace W it draws the analysis stored by `custlens analyze` (the latest, or
    the one given by --analysis or --as-of); nothing is recomputed, so the report shows
    the same numbers as every other edge. With --transactions FILE it analyses that file
    in memory first (customers, leads and surveys are then absent).

    Examples: custlens report --workspace shop --out report.html;
    custlens report -w shop --compare-to 2025-06-30.1; custlens report -t orders.csv --as-of 2024-12-31
    """
    from custlens.analysis import analyze, load_analysis
    from custlens.errors import InputError

    if (transactions is None) == (workspace is None):
        raise InputError("give exactly one of --transactions FILE or --workspace W")
    if indicators is not None:
        raise InputError(
            "--indicators is no longer used: the report draws the stored analysis, which computes the "
            "indicators itself; score an indicator file with `custlens segment score FILE`"
        )
    if workspace is not None:
        given = [f for f, v in (("--config", config), ("--playbook", playbook), ("--ahp", ahp)) if v is not None]
        if given:
            raise InputError(
                f"{', '.join(given)} set how an analysis is made; with --workspace the stored analysis is drawn as "
                "it was made: put them in the analysis configuration and run `custlens analyze`"
            )
        stored = load_analysis(workspace, analysis_id=analysis_id, as_of=as_of)
    else:
        if analysis_id is not None or compare_to is not None or snapshots is not None:
            raise InputError("--analysis, --compare-to and --snapshots read stored analyses: give --workspace W")
        from custlens.ingest.readers import read_table

        overrides: dict[str, Any] = {}
        if playbook is not None:
            overrides["playbook"] = {"file": str(playbook)}
        if ahp is not None:
            overrides["score"] = {"ahp": str(ahp)}
        cfg: Any = config
        if overrides:
            from custlens.analysis import load_analysis_config

            base = load_analysis_config(config).to_dict()
            for section, values in overrides.items():
                base.setdefault(section, {}).update(values)
            cfg = base
        assert transactions is not None  # exactly one of --transactions and --workspace, checked above
        tx = read_table(transactions, text_columns=("customer_id",))
        stored = analyze({"transactions": tx}, as_of=as_of, config=cfg)
    with stored:
        path = _draw(stored, out, title, compare_to, migration_method, persona_method, snapshots, migration)
    err_console.print(f"wrote {path} (analysis {stored.analysis_id})")


def _draw(
    stored: Any,
    out: Path,
    title: str,
    compare_to: str | None,
    migration_method: str | None,
    persona_method: str | None,
    snapshots: str | None,
    migration: Path | None,
) -> Path:
    from custlens.report import ReportSection, build_report, migration_figure, report_sections, write_report

    sections = report_sections(
        stored, compare_to=compare_to, migration_method=migration_method, persona_method=persona_method
    )
    extra: list[ReportSection] = []
    if snapshots is not None:
        from custlens.segment import migration as snapshot_migration

        first, second = _pair(snapshots)
        moved = snapshot_migration(stored.con, first, second)
        extra.append(
            ReportSection(
                f"Migration {first} → {second}",
                migration_figure(moved.matrix),
                "Share of each earlier segment found in each later segment; cells show counts.",
            )
        )
    if migration is not None:
        from custlens.ingest.readers import read_table

        extra.append(
            ReportSection(
                "Segment migration",
                migration_figure(read_table(migration)),
                "Share of each earlier segment found in each later segment; cells show counts.",
            )
        )
    if extra:
        subtitle = f"As of {stored.as_of.isoformat()} · analysis {stored.analysis_id}"
        return write_report(out, [*sections, *extra], title=title, subtitle=subtitle)
    return build_report(
        stored,
        out,
        title=title,
        compare_to=compare_to,
        migration_method=migration_method,
        persona_method=persona_method,
    )


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app``."""
    app.command("report")(report_command)
