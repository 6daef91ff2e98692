"""The running service's hold on one workspace: the one writer, per-thread readers, access.

DuckDB lets one process write a database file. The service opens the workspace for
writing once and keeps it: reads run on per-thread cursors of that connection (DuckDB's
MVCC gives each a consistent view), writes (imports, analysis runs) run as background jobs
(:class:`~custlens.service.JobRunner`) one at a time, on a cursor of their own
(:meth:`Service.writer`). A CLI command on a workspace the service holds cannot open it and
says so in one line (:meth:`custlens.warehouse.Workspace.open` raises ``BackendError``).

At start the service creates ART indexes on ``customer_id`` of the tables it reads one
customer from (``CREATE INDEX IF NOT EXISTS``, kept in the file), so a profile reads its
orders, interactions, invoices, attributes and identity without scanning the tables.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from custlens.access import AccessStore, LoginPolicy
    from custlens.analysis import StoredAnalysis
    from custlens.service._jobs import JobRunner
    from custlens.service._lookup import CustomerLookup
    from custlens.service._timeline import CanonicalIndex
    from custlens.warehouse import Workspace

__all__ = ["Service", "INDEXED_TABLES"]

log = logging.getLogger(__name__)

INDEXED_TABLES = ("customers", "identity", "transactions", "interactions", "receivables")
"""Canonical tables indexed on ``customer_id`` by the service (one customer's rows)."""

_LOOKUPS_KEPT = 2


class Service:
    """A workspace held open for the service.

    Parameters
    ----------
    workspace
        The workspace folder.
    policy
        Login limits (:class:`~custlens.access.LoginPolicy`); default the documented ones.
    indexes
        Create the ``customer_id`` indexes of :data:`INDEXED_TABLES` at start.
    key_file
        The file of the key that encrypts personal data (default: ``$CUSTLENS_KEY_FILE``,
        else ``[privacy] key_file`` of the workspace; see ``docs/privacy.md``). It is read
        the first time personal data is shown, so a service without any may run without it.
    """

    def __init__(
        self,
        workspace: str | Path,
        *,
        policy: LoginPolicy | None = None,
        indexes: bool = True,
        key_file: str | Path | None = None,
    ) -> None:
        from custlens.access import AccessStore
        from custlens.service._jobs import JobRunner
        from custlens.warehouse import Workspace

        self.path = Path(workspace)
        self.workspace: Workspace = Workspace.open(self.path, key_file=key_file)
        self._key: Any = None
        self.access: AccessStore = AccessStore(self.workspace.raw, policy)
        self._local = threading.local()
        self.write_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._generation = 0
        self._latest: tuple[int, str | None] = (-1, None)
        self._lookups: dict[str, CustomerLookup] = {}
        self._lookup_lock = threading.Lock()
        self._canonical: CanonicalIndex | None = None
        self._canonical_lock = threading.Lock()
        if indexes:
            self.create_indexes()
        self.jobs: JobRunner = JobRunner(self)

    # -- connections -------------------------------------------------------------------------
    def cursor(self) -> Any:
        """This thread's DuckDB cursor on the workspace (for parameterised point queries)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self.workspace.raw.cursor()
            self._local.cursor = cur
        return cur

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

    def create_indexes(self) -> None:
        """``CREATE INDEX IF NOT EXISTS`` on ``customer_id`` of :data:`INDEXED_TABLES`."""
        with self.write_lock:
            cur = self.workspace.raw.cursor()
            try:
                for name in INDEXED_TABLES:
                    cur.execute(f'CREATE INDEX IF NOT EXISTS "custlens_{name}_customer_id" ON "{name}" (customer_id)')
            finally:
                cur.close()

    @contextmanager
    def writer(self) -> Iterator[Workspace]:
        """The workspace on a cursor of its own, for one write at a time (jobs use it).

        Holds :attr:`write_lock` while open; when it closes, readers see the new state
        (:meth:`changed`).
        """
        import ibis

        from custlens.warehouse import Workspace
        from custlens.warehouse.compat import detach_cache_finalizers

        with self.write_lock:
            con = ibis.duckdb.from_connection(self.workspace.raw.cursor())
            ws = Workspace(self.path, con, self.workspace.settings, read_only=False)
            try:
                yield ws
            finally:
                detach_cache_finalizers(con)
                con.con.close()
                self.changed()

    def identity_key(self) -> Any:
        """The workspace key for personal data (loaded and checked once), or ``None`` without one.

        ``None`` means the workspace holds no encrypted personal data (no key was ever
        created, so no identity rows could be imported).

        Raises
        ------
        ConfigError
            When the workspace has a key but its file cannot be found or holds another key.
        """
        if self._key is None:
            from custlens.privacy._keys import stored_key, workspace_key

            with self._state_lock:  # not the write lock: writers ask for the key while holding it
                if self._key is None:
                    if stored_key(self.workspace) is None:
                        return None
                    self._key = workspace_key(self.workspace)
        return self._key

    def record(
        self,
        action: str,
        *,
        actor: str,
        subject: str | None = None,
        details: dict[str, Any] | None = None,
        purpose: str | None = None,
    ) -> None:
        """Append an entry to the workspace's audit log (``custlens.privacy.audit``)."""
        from custlens.privacy import audit

        audit.record(self.workspace, action, actor=actor, purpose=purpose, subject=subject, details=details)

    def changed(self, *, analyses: bool = False) -> None:
        """Tell the service the workspace changed (a new analysis, new rows): caches renew.

        ``analyses=True`` says stored analyses were rewritten in place (an erasure, a
        retention run): their in-memory lookups are dropped too.
        """
        if analyses:
            with self._lookup_lock:
                self._lookups.clear()
        with self._state_lock:
            self._generation += 1

    # -- the stored analysis ---------------------------------------------------------------------
    def latest_analysis_id(self) -> str:
        """The id of the latest stored analysis (newest run of the latest as-of date).

        Raises
        ------
        NotFoundError
            When the workspace holds no analysis yet.
        """
        from custlens.analysis import list_analyses
        from custlens.errors import NotFoundError

        generation, latest = self._latest
        if generation != self._generation or latest is None:
            generation = self._generation
            ids = list_analyses(self.backend())["analysis_id"].to_pylist()
            latest = ids[-1] if ids else None
            self._latest = (generation, latest)
        if latest is None:
            raise NotFoundError("the workspace has no stored analysis yet; run one first (POST /api/v1/analyses)")
        return latest

    def analysis(self, analysis_id: str | None = None) -> StoredAnalysis:
        """A stored analysis (default: the latest) read on this thread's backend.

        Raises
        ------
        NotFoundError
            When the workspace holds no analysis (or none with that id).
        """
        from custlens.analysis import StoredAnalysis

        wanted = self.latest_analysis_id() if analysis_id is None else analysis_id
        local = self._local.__dict__
        if local.get("analyses_generation") != self._generation:  # renewed after every write
            local["analyses"], local["analyses_generation"] = {}, self._generation
        cache: dict[str, StoredAnalysis] = local["analyses"]
        if wanted not in cache:
            cache[wanted] = StoredAnalysis(self.backend(), wanted)
        return cache[wanted]

    def lookup(self, analysis_id: str | None = None) -> CustomerLookup:
        """The in-memory lookup of one stored analysis (built on first use, shared by threads)."""
        from custlens.service._lookup import CustomerLookup

        analysis = self.analysis(analysis_id)
        found = self._lookups.get(analysis.analysis_id)
        if found is not None:
            return found
        with self._lookup_lock:
            found = self._lookups.get(analysis.analysis_id)
            if found is None:
                found = CustomerLookup.build(self, analysis)
                while len(self._lookups) >= _LOOKUPS_KEPT:
                    self._lookups.pop(next(iter(self._lookups)))
                self._lookups[analysis.analysis_id] = found
        return found

    def canonical(self) -> CanonicalIndex:
        """The in-memory customers' attributes and timelines of the current state (rebuilt after writes)."""
        from custlens.service._timeline import CanonicalIndex

        found = self._canonical
        if found is not None and found.generation == self._generation:
            return found
        with self._canonical_lock:
            found = self._canonical
            generation = self._generation
            if found is None or found.generation != generation:
                found = CanonicalIndex.build(self, generation)
                self._canonical = found
        return found

    def warmed(self, analysis_id: str | None = None) -> bool:
        """Whether reads of ``analysis_id`` (default: the latest) are answered from memory now.

        True when the latest analysis id, the canonical index and the lookup of that
        analysis are current for this generation (nothing to read from DuckDB or to build
        first). A quick check without locks: a write between it and the read only means
        the read builds what it needs, as it would have anyway.
        """
        generation, latest = self._latest
        if generation != self._generation or latest is None:
            return False
        canonical = self._canonical
        if canonical is None or canonical.generation != generation:
            return False
        return (latest if analysis_id is None else analysis_id) in self._lookups

    def warm(self) -> str | None:
        """Build the in-memory indexes now: the canonical tables' and the latest analysis'.

        ``custlens serve`` calls it before it listens, the job runner after every write.
        Returns the latest analysis id, or ``None`` when the workspace has no analysis yet.
        """
        from custlens.errors import NotFoundError

        self.canonical()
        try:
            return self.lookup().analysis_id
        except NotFoundError:
            return None

    def forget(self, analysis_id: str) -> None:
        """Drop what is cached of an analysis (after it was deleted)."""
        with self._lookup_lock:
            self._lookups.pop(analysis_id, None)
        self.changed()

    # -- lifetime ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Wait for the running job, then release the workspace."""
        self.jobs.shutdown()
        self.workspace.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
