"""The service's writes as background jobs: imports of uploaded files and analysis runs.

Each function checks the permission and the parameters at once (a bad request is refused
before anything is queued), then queues the work on the service's one writer
(:class:`custlens.service.JobRunner`) and returns the job record.
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from custlens.errors import InputError
from custlens.service._queries import Page, list_page

if TYPE_CHECKING:
    from custlens.access import User
    from custlens.service._jobs import Job
    from custlens.service._service import Service
    from custlens.warehouse import Workspace

__all__ = ["start_import", "start_analysis", "list_jobs", "get_job", "UPLOAD_SUFFIXES", "UPLOAD_DIR"]

UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".xlsx")
"""File types an import accepts (the suffix of the uploaded file's name)."""

UPLOAD_DIR = "tmp/uploads"
"""Where uploads wait in the workspace until their import has run (then they are removed)."""


def _save_upload(service: Service, filename: str, source: IO[bytes], suffixes: tuple[str, ...]) -> Path:
    name = Path(str(filename or "")).name
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        raise InputError(f"file {name!r}: expected a {', '.join(suffixes)} file; got the suffix {suffix or '(none)'!r}")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).stem)[:80] or "upload"
    folder = service.path / UPLOAD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex[:12]}-{safe}{suffix}"
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, length=1 << 20)
    return target


def start_import(
    service: Service,
    user: User,
    *,
    table: str,
    filename: str,
    source: IO[bytes],
    mapping: IO[bytes] | None = None,
    max_reject_rate: float | None = None,
    on_repeat: str = "skip",
    mode: str = "append",
) -> Job:
    """Queue the import of an uploaded file into a canonical table (permission ``imports:run``).

    The file is saved in the workspace's ``tmp/uploads/`` and removed after its import.
    The job's progress follows the file as it is read (:func:`custlens.ingest.import_file`'s
    ``progress`` hook); its result is the import report (``ImportReport.to_dict()``: rows
    read, loaded, rejected, the quarantine file).

    Parameters
    ----------
    table
        The canonical table (see :mod:`custlens.schema`).
    filename, source
        The uploaded file's name (its suffix gives the format) and content.
    mapping
        A TOML mapping file's content (see ``docs/import.md``), or ``None``.
    max_reject_rate, on_repeat, mode
        As in :func:`custlens.ingest.import_file` (``mode="upsert"`` updates ``customers``
        and ``receivables`` by key, keeping the old values as history).
    """
    from custlens.access import check
    from custlens.schema import table as schema_table

    check(user.role, "imports:run")
    schema_table(table)
    if on_repeat not in ("skip", "error", "import"):
        raise InputError(f"'on_repeat' must be 'skip', 'error' or 'import'; got {on_repeat!r}")
    if mode not in ("append", "upsert"):
        raise InputError(f"'mode' must be 'append' or 'upsert'; got {mode!r}")
    if max_reject_rate is not None and not 0.0 <= float(max_reject_rate) <= 1.0:
        raise InputError(f"'max_reject_rate' must be a number between 0 and 1; got {max_reject_rate!r}")
    upload = _save_upload(service, filename, source, UPLOAD_SUFFIXES)
    mapping_path = _save_upload(service, "mapping.toml", mapping, (".toml",)) if mapping is not None else None

    def work(ws: Workspace, progress: Any) -> dict[str, Any]:
        from custlens.ingest import import_file

        try:
            progress(0.0, f"reading {filename}")
            report = import_file(
                ws,
                upload,
                table=table,
                mapping=mapping_path,
                max_reject_rate=max_reject_rate,
                on_repeat=on_repeat,  # type: ignore[arg-type]
                mode=mode,  # type: ignore[arg-type]
                progress=lambda done, total: progress(done / total if total else 0.0, f"reading {filename}"),
            )
        finally:
            upload.unlink(missing_ok=True)
            if mapping_path is not None:
                mapping_path.unlink(missing_ok=True)
        out = report.to_dict()
        out["path"] = filename
        out["message"] = report.message.replace(str(upload), filename)
        return out

    params = {
        "table": table,
        "filename": filename,
        "on_repeat": on_repeat,
        "mode": mode,
        "max_reject_rate": max_reject_rate,
    }
    return service.jobs.submit("import", user.username, work, params)


def start_analysis(service: Service, user: User, *, as_of: str | None = None) -> Job:
    """Queue a run of the standard analysis (permission ``analysis:run``).

    The job's result is ``{"analysis_id": ...}``; the new analysis becomes the latest
    that every read sees when the job is done.
    """
    from custlens.access import check
    from custlens.features.coerce import to_date

    check(user.role, "analysis:run")
    day = to_date(as_of, "as_of") if as_of not in (None, "") else None

    def work(ws: Workspace, progress: Any) -> dict[str, Any]:
        from custlens.analysis import analyze

        progress(0.0, "analysing: summaries, segments, lifetime value, churn, satisfaction")
        stored = analyze(ws, as_of=day)
        return {
            "analysis_id": stored.analysis_id,
            "as_of": stored.as_of.isoformat(),
            "customers": stored.n_customers,
            "message": f"stored analysis {stored.analysis_id} of {stored.n_customers:,} customers",
        }

    return service.jobs.submit("analysis", user.username, work, {"as_of": day.isoformat() if day else None})


def list_jobs(service: Service, user: User, *, page: int = 1, page_size: int = 50) -> Page:
    """Background jobs, newest first (permission ``jobs:read``)."""
    from custlens.access import check

    check(user.role, "jobs:read")
    return list_page([j.to_dict() for j in service.jobs.list()], page=page, page_size=page_size)


def get_job(service: Service, user: User, job_id: str) -> dict[str, Any]:
    """One background job: status, progress, message, result or error (permission ``jobs:read``)."""
    from custlens.access import check

    check(user.role, "jobs:read")
    return service.jobs.get(job_id).to_dict()
