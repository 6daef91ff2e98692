"""CLI commands: tags (apply a taxonomy with history, list, show, evaluate, personas, audiences).

Each command calls one function of :mod:`custlens.tags` and writes its table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custlens.cli._common import (
    ForceOption,
    FormatOption,
    OutputFormat,
    OutputOption,
    emit,
    err_console,
    guarded,
)

__all__ = ["register", "tags_app"]

tags_app = typer.Typer(
    name="tags",
    help="Customer tags and profiles: apply a tag taxonomy with history, list, show, evaluate, personas, audiences.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder (see `custlens init`).")]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="As-of date YYYY-MM-DD: the tags applied on or before it (default: the latest)."),
]
TagsOpt = Annotated[str | None, typer.Option("--tags", help="Comma-separated tag ids (default: all).")]


def _ids(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


@tags_app.command("apply")
@guarded
def tags_apply(
    workspace: WorkspaceOpt,
    definitions: Annotated[
        Path | None,
        typer.Option("--definitions", "-d", help="Tag taxonomy TOML (default: the shipped demo-company taxonomy)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="As-of date YYYY-MM-DD of the stored analysis to tag from (default: the latest)."),
    ] = None,
    analysis_id: Annotated[
        str | None, typer.Option("--analysis", help="A stored analysis id instead of --as-of.")
    ] = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Compute every tag for every customer from the stored analysis and store it with validity dates.

    Applying on a later date closes the assignments that ended and opens the new ones, so
    each tag's history is kept; applying again on the latest date replaces it.

    Example: custlens tags apply --workspace shop --as-of 2025-12-31
    """
    from custlens.tags import apply_tags

    with err_console.status("tagging"):
        run = apply_tags(workspace, definitions, as_of, analysis_id=analysis_id)
    emit(run.summary(), fmt, output, title="tags applied")


@tags_app.command("list")
@guarded
def tags_list(workspace: WorkspaceOpt, as_of: AsOfOpt = None, fmt: FormatOption = OutputFormat.table,
              output: OutputOption = None) -> None:  # fmt: skip
    """One row per tag: tag, category, customers, share (of the customers tagged).

    Example: custlens tags list --workspace shop --format csv
    """
    from custlens.tags import tag_counts

    emit(tag_counts(workspace, as_of), fmt, output, title="tags")


@tags_app.command("show")
@guarded
def tags_show(
    customer_id: Annotated[str, typer.Argument(help="The customer id.")],
    workspace: WorkspaceOpt,
    as_of: AsOfOpt = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """One customer's profile card: every tag held, with its names and since when.

    Example: custlens tags show C00000042 --workspace shop
    """
    from custlens.tags import profile_card

    emit(profile_card(workspace, customer_id, as_of), fmt, output, title=f"tags of {customer_id}")


@tags_app.command("definitions")
@guarded
def tags_definitions(
    definitions: Annotated[
        Path | None, typer.Option("--definitions", "-d", help="Tag taxonomy TOML (default: the shipped one).")
    ] = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Check a tag taxonomy and list its tags: id, category, kind, names and the condition in words.

    Example: custlens tags definitions --definitions my-tags.toml
    """
    from custlens.tags import load_taxonomy

    emit(load_taxonomy(definitions).table(), fmt, output, title="tag definitions")


@tags_app.command("history")
@guarded
def tags_history(workspace: WorkspaceOpt, fmt: FormatOption = OutputFormat.table,
                 output: OutputOption = None) -> None:  # fmt: skip
    """Every tag application: as-of date, analysis, customers, assignments opened and closed.

    Example: custlens tags history --workspace shop
    """
    from custlens.tags import tag_history

    emit(tag_history(workspace), fmt, output, title="tag applications")


@tags_app.command("coverage")
@guarded
def tags_coverage(workspace: WorkspaceOpt, as_of: AsOfOpt = None, fmt: FormatOption = OutputFormat.table,
                  output: OutputOption = None) -> None:  # fmt: skip
    """Coverage: the share of customers holding at least one tag of each category, and of any tag.

    Example: custlens tags coverage --workspace shop
    """
    from custlens.tags import coverage

    emit(coverage(workspace, as_of), fmt, output, title="tag coverage")


@tags_app.command("overlap")
@guarded
def tags_overlap(
    workspace: WorkspaceOpt,
    tags: TagsOpt = None,
    category: Annotated[str | None, typer.Option("--category", help="Only the tags of this category.")] = None,
    as_of: AsOfOpt = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Overlap of every pair of tags: holders of each, of both, and the Jaccard index.

    Example: custlens tags overlap --workspace shop --category risk
    """
    from custlens.tags import overlap

    emit(overlap(workspace, _ids(tags), as_of, category=category), fmt, output, title="tag overlap")


@tags_app.command("stability")
@guarded
def tags_stability(
    workspace: WorkspaceOpt,
    start: Annotated[str, typer.Option("--from", help="The earlier date YYYY-MM-DD (its application).")],
    end: Annotated[str, typer.Option("--to", help="The later date YYYY-MM-DD (its application).")],
    tags: TagsOpt = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Stability of each tag between two applications: kept, entered, left and the Jaccard index.

    Example: custlens tags stability --workspace shop --from 2025-06-30 --to 2025-12-31
    """
    from custlens.tags import stability

    emit(stability(workspace, start, end, _ids(tags)), fmt, output, title="tag stability")


@tags_app.command("lift")
@guarded
def tags_lift(
    workspace: WorkspaceOpt,
    as_of: AsOfOpt = None,
    days: Annotated[
        int, typer.Option("--days", help="Outcome: a purchase within this many days after the as-of date.")
    ] = 90,
    tags: TagsOpt = None,
    all_kinds: Annotated[bool, typer.Option("--all-kinds", help="Every tag, not only model tags.")] = False,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Lift of model tags against a holdout outcome: bought again in the next N days.

    Evaluate an application old enough for the transactions to cover the outcome window.

    Example: custlens tags lift --workspace shop --as-of 2025-06-30 --days 90
    """
    from custlens.tags import lift

    kinds = None if all_kinds else ("model",)
    emit(lift(workspace, as_of, days=days, kinds=kinds, tags=_ids(tags)), fmt, output, title="tag lift")


@tags_app.command("persona")
@guarded
def tags_persona(
    workspace: WorkspaceOpt,
    method: Annotated[
        str | None, typer.Option("--method", help="A stored segmentation (rfm, lifecycle, ...): one card per segment.")
    ] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Only this segment of --method.")] = None,
    audience: Annotated[
        str | None, typer.Option("--audience", help='Instead: a tag expression, e.g. "high_clv and not dormant".')
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Tags per card, most distinctive first.")] = 8,
    min_share: Annotated[
        float, typer.Option("--min-share", help="Only tags held by at least this share of the group.")
    ] = 0.1,
    as_of: AsOfOpt = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Persona cards: a group's size and value and its most distinctive tags by lift against the whole base.

    Example: custlens tags persona --workspace shop --method rfm --segment Champions
    """
    from custlens.tags import persona_card, persona_cards

    if method is not None and segment is None and audience is None:
        card = persona_cards(workspace, method, as_of=as_of, top=top, min_share=min_share)
    else:
        card = persona_card(
            workspace, method=method, segment=segment, audience=audience, as_of=as_of, top=top, min_share=min_share
        )
    emit(card, fmt, output, title="persona")


@tags_app.command("audience")
@guarded
def tags_audience(
    expression: Annotated[
        str, typer.Argument(help="Tag expression, e.g. \"tag('high_clv') and not tag('churn_risk_high')\".")
    ],
    workspace: WorkspaceOpt,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Write the audience (and a summary beside it) to FILE.csv / .xlsx / .parquet."),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="The audience's name in the export.")] = "audience",
    encoding: Annotated[
        str, typer.Option("--encoding", help="CSV encoding: utf-8, utf-8-sig or gb18030.")
    ] = "utf-8-sig",
    as_of: AsOfOpt = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Customers matching a tag expression (and, not, parentheses), printed or exported for a campaign.

    Example: custlens tags audience "high_clv and not churn_risk_high" --workspace shop --export vip.csv
    """
    from custlens.tags import audience, export_audience

    if export is not None:
        written = export_audience(
            workspace, expression, export, name=name, as_of=as_of, encoding=encoding, overwrite=force
        )
        emit({"written": ", ".join(str(p) for p in written)}, fmt, output, title="audience export")
        return
    emit(audience(workspace, expression, as_of), fmt, output, title="audience")


def register(app: typer.Typer) -> None:
    """Add the ``tags`` group to ``app``."""
    app.add_typer(tags_app, name="tags")
