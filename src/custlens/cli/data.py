"""CLI commands: init, import, refresh (warehouse and ingest)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from custlens.cli._common import OutputFormat, emit, err_console, guarded, progress

__all__ = ["register"]


class SummaryFormat(str, enum.Enum):
    """Formats of the import summary."""

    table = "table"
    json = "json"


class OnRepeat(str, enum.Enum):
    """What to do with a file that was already imported into the same table."""

    skip = "skip"
    error = "error"
    again = "import"


class ImportMode(str, enum.Enum):
    """How rows whose key is already stored with other values are treated."""

    append = "append"
    upsert = "upsert"


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    app.command("init")(guarded(init))
    app.command("import")(guarded(import_))
    app.command("refresh")(guarded(refresh_))


def init(
    path: Annotated[Path, typer.Argument(help="Folder for the workspace (created if missing).")] = Path("."),
    max_reject_rate: Annotated[
        float,
        typer.Option(
            "--max-reject-rate",
            help="Default largest share of rejected rows an import accepts (0.01 = 1 %), stored in workspace.toml.",
        ),
    ] = 0.01,
    memory_limit: Annotated[
        str, typer.Option("--memory-limit", help="DuckDB memory limit; larger work spills to disk.")
    ] = "2GB",
    currency: Annotated[str, typer.Option("--currency", help="Currency code of all amounts, e.g. CNY.")] = "",
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            "-k",
            help="Where to create the key that encrypts personal data (mode 0600, never inside the "
            "workspace). Default: $CUSTLENS_KEY_FILE, else PATH.key beside the workspace folder.",
            show_default=False,
        ),
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="duckdb (default) or spark: the tables of --from as Parquet, analysed on Spark (docs/scale.md).",
        ),
    ] = "duckdb",
    source: Annotated[
        Path | None,
        typer.Option("--from", help="With --backend spark: the DuckDB workspace whose tables are exported."),
    ] = None,
    tables: Annotated[
        Path | None,
        typer.Option("--tables", help="With --backend spark: folder for the Parquet tables (default PATH/tables)."),
    ] = None,
    spark_master: Annotated[
        str, typer.Option("--spark-master", help="With --backend spark: [spark] master, e.g. spark://head:7077.")
    ] = "",
) -> None:
    """Create a workspace: a folder with the warehouse (warehouse.duckdb), its settings (workspace.toml) and a quarantine/ folder for rejected rows.

    The key that encrypts personal data (the identity table) is created outside the
    workspace; keep it safe and apart from backups of the workspace (docs/privacy.md).

    Examples:

        custlens init shop

        custlens init shop --max-reject-rate 0.005 --currency CNY --key-file ~/.config/custlens/shop.key

        custlens init shop-spark --backend spark --from shop --spark-master spark://head:7077
    """
    from custlens.errors import InputError

    if backend not in ("duckdb", "spark"):
        raise InputError(f"--backend must be duckdb or spark; got {backend!r}")
    if backend == "spark":
        from custlens.warehouse import spark_workspace

        if source is None:
            raise InputError("--backend spark needs --from W: the DuckDB workspace whose tables go to Parquet")
        with spark_workspace(source, path, tables=tables, master=spark_master) as ws:
            err_console.print(f"created Spark workspace {ws.path}; tables in {ws.settings.spark_tables}")
        return
    if source is not None or tables is not None or spark_master:
        raise InputError("--from, --tables and --spark-master go with --backend spark")
    from custlens.privacy import init_workspace
    from custlens.warehouse import WorkspaceSettings

    settings = WorkspaceSettings(memory_limit=memory_limit, max_reject_rate=max_reject_rate, currency=currency)
    with init_workspace(path, settings=settings, key_file=key_file) as ws:
        key = ws.settings.extra.get("privacy", {})
        err_console.print(
            f"created workspace {ws.path} (schema version {ws.schema_version}); key {key.get('key_id')} in "
            f"{key.get('key_file')}"
        )


def import_(
    file: Annotated[Path, typer.Argument(help="Source file: .csv, .tsv, .txt, .parquet, .pq or .xlsx.")],
    table: Annotated[
        str,
        typer.Option(
            "--table",
            "-t",
            help="Canonical table to load: customers, identity, transactions, "
            "interactions, receivables, leads or survey_answers.",
        ),
    ],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            "-m",
            help="TOML mapping file: source columns, date formats, time zone, "
            "separators, value maps (see docs/import.md). Without it, columns named like "
            "canonical columns map to themselves.",
        ),
    ] = None,
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help="Workspace folder (see `custlens init`).")
    ] = Path("."),
    max_reject_rate: Annotated[
        float | None,
        typer.Option(
            "--max-reject-rate",
            "-r",
            help="Largest share of rejected rows accepted (0.01 = 1 %); "
            "above it nothing is imported (exit code 4). Default: the workspace setting.",
            show_default=False,
        ),
    ] = None,
    on_repeat: Annotated[
        OnRepeat,
        typer.Option(
            "--on-repeat",
            help="When this exact file was already imported into the table: skip "
            "it, fail (exit 2), or import it again (rows already present count as duplicates).",
        ),
    ] = OnRepeat.skip,
    mode: Annotated[
        ImportMode,
        typer.Option(
            "--mode",
            help="append: a row whose key is stored with other values is rejected (stored rows never "
            "change). upsert (customers, receivables): it replaces the stored values of the columns the file "
            "provides; the previous values stay in customers_history / receivables_history with valid_from "
            "and valid_to.",
        ),
    ] = ImportMode.append,
    fmt: Annotated[
        SummaryFormat, typer.Option("--format", "-f", help="Summary format: a readable table or JSON.")
    ] = SummaryFormat.table,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="Text encoding of a CSV/TSV file: utf-8, gb18030, latin-1 or cp1252 (default: the "
            "mapping's, else detected; a file that looks wrongly decoded is refused with a hint).",
            show_default=False,
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            "-k",
            help="The workspace key (needed for the identity table): default $CUSTLENS_KEY_FILE, else the file workspace.toml names.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Import FILE into a canonical table of the workspace, all or nothing.

    Every row is validated; rejected rows go to a quarantine CSV (file, line, column, value, reason) in the workspace's quarantine/ folder. If more rows are rejected than --max-reject-rate allows, nothing is committed. Exact duplicates (in the file or already in the warehouse) are dropped and counted apart. The summary reports rows read, loaded, rejected and duplicate. With --mode upsert, changed customers or receivables replace the stored ones (the summary adds inserted, updated, unchanged) and their previous values are kept as history.

    Exit codes: 0 imported (or skipped as already imported), 2 bad input or mapping, 4 too many rejected rows, 5 warehouse failure.

    Examples:

        custlens import orders.csv --table transactions --workspace shop

        custlens import 订单.xlsx -t transactions -m erp-orders.toml -w shop --format json

        custlens import customers.csv -t customers -w shop --mode upsert
    """
    from custlens.ingest import import_file
    from custlens.warehouse import Workspace

    with Workspace.open(workspace, key_file=key_file) as ws, progress() as bar:
        task = bar.add_task(f"importing {file.name}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = import_file(
            ws,
            file,
            table=table,
            mapping=mapping,
            max_reject_rate=max_reject_rate,
            on_repeat=on_repeat.value,
            progress=advance,
            encoding=encoding,
            mode=mode.value,
        )
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    summary = {
        "status": report.status,
        "file": report.path,
        "table": report.table,
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_rejected": report.rows_rejected,
        "rows_duplicate": report.rows_duplicate,
        "mode": report.mode,
        "rows_inserted": report.rows_inserted,
        "rows_updated": report.rows_updated,
        "rows_unchanged": report.rows_unchanged,
        "reject_rate": report.reject_rate,
        "max_reject_rate": report.max_reject_rate,
        "quarantine": report.quarantine_path,
        "import_id": report.import_id,
        "encoding": report.encoding,
        "seconds": round(report.seconds, 3),
        "message": report.message,
    }
    if fmt is SummaryFormat.json:
        full = report.to_dict()
        full.update(summary)
        emit(full, OutputFormat.json)
    else:
        emit(summary, OutputFormat.table, title=f"import of {file.name}")


def refresh_(
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help="Workspace folder (see `custlens init`).")
    ] = Path("."),
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="As-of date YYYY-MM-DD of the analysis and tags (default: the last transaction day)."
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            "-k",
            help="The workspace key (needed when a source fills the identity table): default $CUSTLENS_KEY_FILE, "
            "else the file workspace.toml names.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        SummaryFormat, typer.Option("--format", "-f", help="Summary format: readable tables or JSON.")
    ] = SummaryFormat.table,
) -> None:
    """Re-import the sources listed in workspace.toml [refresh], then recompute and store the analysis and the tags.

    Each source is imported with its mode (append or upsert); a file already imported unchanged is skipped. The analysis is stored with its segment snapshots and the tags applied to it; the summary lists every source's rows, the new analysis id, the tags and how many customers moved segment since the previous analysis (see docs/refresh.md for the [refresh] section and scheduling with cron or a systemd timer).

    Exit codes: 0 refreshed, 2 missing or bad [refresh] section or source file, 4 too many rejected rows in a source, 5 warehouse failure.

    Examples:

        custlens refresh --workspace shop

        custlens refresh -w shop --as-of 2026-11-30 --format json
    """
    from custlens import refresh
    from custlens.warehouse import Workspace

    with Workspace.open(workspace, key_file=key_file) as ws, err_console.status("refreshing"):
        report = refresh(ws, as_of=as_of)
    summary = report.summary()
    if fmt is SummaryFormat.json:
        emit(summary, OutputFormat.json)
        return
    import pyarrow as pa

    short = {"rows_read": "read", "rows_inserted": "new", "rows_updated": "updated", "rows_unchanged": "unchanged",
             "rows_rejected": "rejected"}  # fmt: skip
    sources = [
        {"table": s["table"], "status": s["status"]} | {v: s[k] for k, v in short.items()} for s in summary["sources"]
    ]
    emit(pa.Table.from_pylist(sources), OutputFormat.table, title="sources")
    moves = summary["migrations"]
    if moves:
        rows = [{"segmentation": method, **move} for method, move in moves.items()]
        emit(
            pa.Table.from_pylist(rows),
            OutputFormat.table,
            title=f"segment migration since {summary['previous_analysis_id']}",
        )
    tags = summary["tags"]
    emit(
        {
            "analysis_id": summary["analysis_id"],
            "as_of": summary["as_of"],
            "previous_analysis_id": summary["previous_analysis_id"] or "",
            "tags applied": tags["tags"],
            "tag assignments": tags["assignments"],
            "tags opened": tags["opened"],
            "tags closed": tags["closed"],
            "seconds": summary["seconds"],
        },
        OutputFormat.table,
        title="refresh",
    )
