"""Background jobs: the service's writes (imports, analysis runs), one at a time.

A :class:`JobRunner` owns one worker thread. A job waits in the queue, runs on the
service's writer (:meth:`custlens.service.Service.writer`: a cursor of its own, under the
write lock), reports its progress, and keeps its result (the import report, the analysis
id) or its one-line error. Records live in memory while the service runs (the newest
:data:`JOBS_KEPT`); what a job wrote is in the workspace (the import ledger, the stored
analyses).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from custlens.errors import CustlensError, NotFoundError

if TYPE_CHECKING:
    from custlens.service._service import Service
    from custlens.warehouse import Workspace

__all__ = ["Job", "JobRunner", "JOBS_KEPT", "JOB_STATUSES", "error_code"]

log = logging.getLogger(__name__)

JOBS_KEPT = 500
"""Job records kept in memory (the oldest finished ones are dropped first)."""

JOB_STATUSES = ("queued", "running", "done", "failed")
"""A job's states, in order."""

Work = Callable[["Workspace", Callable[[float, str], None]], dict[str, Any]]
"""What a job does: given the writer workspace and a progress callback, return its result."""


@dataclass(frozen=True)
class Job:
    """One background job and where it stands.

    Attributes
    ----------
    job_id
        ``<kind>-<n>``, numbered from 1 while the service runs.
    kind
        ``import`` or ``analysis``.
    status
        One of :data:`JOB_STATUSES`.
    progress
        Share done, 0 to 1.
    message
        What the job is doing, or did.
    result
        When done: the import report or ``{"analysis_id": ...}``.
    error
        When failed: the one-line error (``code: message``).
    """

    job_id: str
    kind: str
    created_by: str
    created_at: datetime
    status: str = "queued"
    progress: float = 0.0
    message: str = "waiting for the writer"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain form (times as ISO text)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("created_at", "started_at", "finished_at"):
            out[k] = out[k].isoformat() if out[k] is not None else None
        return out


def _now() -> datetime:
    return datetime.now(UTC)


def error_code(exc: BaseException) -> str:
    """The API's error code of an exception: ``PermissionDeniedError`` -> ``permission_denied``."""
    import re

    name = type(exc).__name__.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() or "error"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, CustlensError):
        return f"{error_code(exc)}: {text}"
    return f"internal: {type(exc).__name__}: {text}"


class JobRunner:
    """The service's queue of writes: one worker thread, jobs run in the order submitted."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="custlens-writer")
        self._futures: dict[str, Future[None]] = {}

    def submit(self, kind: str, created_by: str, work: Work, params: dict[str, Any] | None = None) -> Job:
        """Queue ``work``; return its record (status ``queued``)."""
        job = Job(f"{kind}-{next(self._numbers)}", kind, created_by, _now(), params=dict(params or {}))
        with self._lock:
            self._jobs[job.job_id] = job
            self._trim()
        self._futures[job.job_id] = self._pool.submit(self._run, job.job_id, work)
        return job

    def _trim(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status in ("done", "failed")]
        while len(self._jobs) > JOBS_KEPT and finished:
            dropped = finished.pop(0)
            self._jobs.pop(dropped)
            self._futures.pop(dropped, None)

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def _run(self, job_id: str, work: Work) -> None:
        self._update(job_id, status="running", started_at=_now(), message="started")

        def progress(share: float, message: str) -> None:
            self._update(job_id, progress=round(min(max(float(share), 0.0), 1.0), 4), message=message)

        try:
            with self._service.writer() as ws:
                result = work(ws, progress)
        except BaseException as exc:  # the job's error is its result; the worker goes on
            if not isinstance(exc, CustlensError):
                log.exception("job %s failed", job_id)
            line = _one_line(exc)
            self._update(job_id, status="failed", finished_at=_now(), error=line, message=line)
            return
        self._service.warm()  # index the new state before readers ask
        self._update(
            job_id,
            status="done",
            progress=1.0,
            finished_at=_now(),
            result=result,
            message=str(result.get("message", "done")),
        )

    def get(self, job_id: str) -> Job:
        """The record of one job.

        Raises
        ------
        NotFoundError
            For an unknown job id.
        """
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r} (jobs are kept while the service runs)")
        return job

    def list(self) -> list[Job]:
        """Every job kept, newest first."""
        with self._lock:
            return list(reversed(self._jobs.values()))

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until a job has finished (for tests and scripts); return its record."""
        future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)
        return self.get(job_id)

    def shutdown(self) -> None:
        """Finish the running and queued jobs, then stop the worker."""
        self._pool.shutdown(wait=True)
