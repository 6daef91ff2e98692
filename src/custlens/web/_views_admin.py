"""What the administration pages show: imports with their jobs, users.

Imports and analysis runs are background jobs of the service (:func:`custlens.service.start_import`,
:func:`custlens.service.start_analysis`); a job's page shows its progress and, when done,
the import report with the first rows of its quarantine file.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from custlens.web._context import PageContext

__all__ = ["imports", "job", "start_import", "start_analysis", "users", "QUARANTINE_ROWS"]

QUARANTINE_ROWS = 50
"""Rows of a quarantine file shown on an import's page (the file holds all of them)."""


def imports(ctx: PageContext) -> dict[str, Any]:
    """The upload form, the tables it fills and the jobs so far."""
    from custlens.schema import table_names
    from custlens.service import list_jobs

    jobs = list_jobs(ctx.service, ctx.me, page_size=20).items
    return {"tables": table_names(), "jobs": jobs, "can_analyse": ctx.can("analysis:run")}


def start_import(
    ctx: PageContext, table: str, filename: str, source: IO[bytes], on_repeat: str, mode: str = "append"
) -> str:
    """Queue the import of an uploaded file; the job's id."""
    from custlens.service import start_import as start

    job = start(ctx.service, ctx.me, table=table, filename=filename, source=source, on_repeat=on_repeat, mode=mode)
    return job.job_id


def start_analysis(ctx: PageContext, as_of: str) -> str:
    """Queue a run of the standard analysis; the job's id."""
    from custlens.service import start_analysis as start

    return start(ctx.service, ctx.me, as_of=as_of or None).job_id


def _quarantine(ctx: PageContext, report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The first rows of an import's quarantine file (``line, column, value, reason``), if it has one.

    Only a file in the workspace's quarantine folder is read.
    """
    import pyarrow.csv as pacsv

    name = (report or {}).get("quarantine_path")
    if not name:
        return []
    folder = Path(ctx.service.workspace.quarantine_dir).resolve()
    path = Path(name).resolve()
    if path.parent != folder or not path.is_file():
        return []
    rows = pacsv.read_csv(path).slice(0, QUARANTINE_ROWS).select(["line", "column", "value", "reason"])
    return list(rows.to_pylist())


def job(ctx: PageContext, job_id: str) -> dict[str, Any]:
    """One job: status, progress, message; an import's report and quarantine rows when done."""
    from custlens.service import get_job

    record = get_job(ctx.service, ctx.me, job_id)
    done = record["status"] in ("done", "failed")
    return {
        "job": record,
        "done": done,
        "params": _params(ctx, record["params"]),
        "quarantine": _quarantine(ctx, record["result"]) if done else [],
    }


def _params(ctx: PageContext, params: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """A job's parameters: name, text in the page language, whether the text is shown as recorded."""
    t, shown = ctx.t, []
    for name, value in sorted(params.items()):
        if value is None:
            continue
        if name == "table":
            shown.append((name, t(f"table.{value}"), False))
        elif name == "on_repeat":
            shown.append((name, t(f"imports.repeat.{value}"), False))
        elif name == "mode":
            shown.append((name, t(f"imports.modes.{value}"), False))
        elif name == "max_reject_rate":
            shown.append((name, t.pct(value, 2), False))
        else:
            shown.append((name, str(value), True))
    return shown


def users(ctx: PageContext) -> dict[str, Any]:
    """Every user with role and state."""
    from custlens.access import ROLES
    from custlens.service import list_users

    return {"users": list_users(ctx.service, ctx.me, page_size=500).items, "roles": ROLES}
