"""The running service's hold on one workspace: the one writer, per-thread readers, access.

DuckDB lets one process write a database file. The service opens the workspace for
writing once and keeps it: reads run on per-thread cursors of that connection (DuckDB's
MVCC gives each a consistent view), writes (imports, analysis runs) run as background jobs
on their own cursor, one at a time. A CLI command on a workspace the service holds gets the
one-line "workspace is in use" error from :class:`~custlens.warehouse.Workspace`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from custlens.access import AccessStore, LoginPolicy
    from custlens.analysis import StoredAnalysis
    from custlens.warehouse import Workspace

__all__ = ["Service"]


class Service:
    """A workspace held open for the service.

    Parameters
    ----------
    workspace
        The workspace folder.
    policy
        Login limits (:class:`~custlens.access.LoginPolicy`); default the documented ones.
    """

    def __init__(self, workspace: str | Path, *, policy: LoginPolicy | None = None) -> None:
        from custlens.access import AccessStore
        from custlens.warehouse import Workspace

        self.path = Path(workspace)
        self.workspace: Workspace = Workspace.open(self.path)
        self.access: AccessStore = AccessStore(self.workspace.raw, policy)
        self._local = threading.local()
        self.write_lock = threading.Lock()

    # -- connections -------------------------------------------------------------------------
    def backend(self) -> Any:
        """This thread's Ibis backend on the workspace (a cursor of the one connection)."""
        backend = getattr(self._local, "backend", None)
        if backend is None:
            import ibis

            backend = ibis.duckdb.from_connection(self.workspace.raw.cursor())
            self._local.backend = backend
        return backend

    def table(self, name: str) -> Any:
        """A canonical table as an Ibis expression on this thread's backend."""
        from custlens.schema import table as schema_table

        schema_table(name)
        return self.backend().table(name)

    def analysis(self, analysis_id: str | None = None) -> StoredAnalysis:
        """A stored analysis (default: the latest) read on this thread's backend.

        Raises
        ------
        NotFoundError
            When the workspace holds no analysis (or none with that id).
        """
        from custlens.analysis import StoredAnalysis, load_analysis

        cache: dict[str, StoredAnalysis] = self._local.__dict__.setdefault("analyses", {})
        if analysis_id is None:
            latest = load_analysis(self.backend())
            cache[latest.analysis_id] = latest
            return latest
        if analysis_id not in cache:
            cache[analysis_id] = StoredAnalysis(self.backend(), analysis_id)
        return cache[analysis_id]

    def close(self) -> None:
        """Release the workspace."""
        self.workspace.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
