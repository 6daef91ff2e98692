"""The workspace: a folder holding the DuckDB warehouse, its settings and quarantine files.

Layout::

    my-workspace/
        workspace.toml      settings (format version, DuckDB limits, import defaults)
        warehouse.duckdb    the canonical tables, the import ledger, the migrations table
        quarantine/         one CSV per import that rejected rows
        tmp/                staging files of imports in progress
        audit/              the hash-chained audit log (custlens.privacy.audit)

Every folder is private to its owner (0700) and every file custlens writes is 0600. The
encryption key of the ``identity`` table is never kept here (see ``custlens.privacy``).
"""

from __future__ import annotations

import logging
import math
import re
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import ibis
import tomli_w

from custlens.errors import BackendError, ConfigError, ConflictError, InputError
from custlens.schema import table as schema_table
from custlens.warehouse._files import private_dir, private_file, remove_orphans, tighten
from custlens.warehouse._migrations import migrate, schema_version
from custlens.warehouse.compat import DUCKDB_CONFIG, detach_cache_finalizers, duckdb_connection

__all__ = [
    "Workspace",
    "WorkspaceSettings",
    "SETTINGS_FILE",
    "DATABASE_FILE",
    "QUARANTINE_DIR",
    "STAGING_DIR",
    "AUDIT_DIR",
    "write_settings",
    "memory_bytes",
    "memory_size",
    "reading",
]

log = logging.getLogger(__name__)

SETTINGS_FILE = "workspace.toml"
DATABASE_FILE = "warehouse.duckdb"
QUARANTINE_DIR = "quarantine"
STAGING_DIR = "tmp"
AUDIT_DIR = "audit"
FORMAT_VERSION = 1
BACKENDS = ("duckdb", "spark")
"""Where a workspace's canonical tables live (``[workspace] backend``)."""
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


#: Sizes DuckDB accepts for ``memory_limit`` (and writes when asked for it, ``3.7 GiB``):
#: a number and an optional unit.
_MEMORY_LIMIT = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*((?:[kmgt]i?)?b|bytes|%)?\s*", re.IGNORECASE)
_BYTES = {"b": 1, "bytes": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4}
_BYTES |= {"kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def memory_size(text: str) -> tuple[float, str] | None:
    """A DuckDB memory size as ``(number, unit)``, the unit lower-case (``"gb"``, ``"mib"``,
    ``"%"``; ``""`` when none is written); ``None`` when ``text`` is not such a size."""
    found = _MEMORY_LIMIT.fullmatch(text)
    return None if found is None else (float(found[1]), (found[2] or "").lower())


def memory_bytes(text: str) -> int | None:
    """Bytes of a DuckDB memory size with a unit (``600MB``, ``3.7 GiB``: 1000 or 1024 per step,
    as DuckDB counts); ``None`` for a share (``80%``), a number without a unit or not a size."""
    size = memory_size(text)
    if size is None or size[1] not in _BYTES:
        return None
    return int(size[0] * _BYTES[size[1]])


@dataclass(frozen=True)
class WorkspaceSettings:
    """Settings stored in ``workspace.toml``.

    Parameters
    ----------
    memory_limit
        DuckDB memory limit (e.g. ``"2GB"``); larger work spills to disk.
    threads
        DuckDB worker threads.
    max_reject_rate
        Default largest share of rejected rows an import accepts (0.01 = 1 %).
    currency
        The workspace's currency code (one currency per workspace); an amount written with
        the symbol of another currency is rejected on import.
    lock_wait
        Seconds a second writer waits for the workspace before giving up.
    earliest_date, latest_date
        Dates and timestamps outside this window (ISO dates) are rejected on import.
    max_amount
        Largest absolute value of an amount (money column) accepted on import.
    backend
        Where the canonical tables live and the analysis computes: ``"duckdb"`` (the
        warehouse file) or ``"spark"`` (Parquet tables read by Spark; ``[spark]`` below).
        Stored results (analyses, segment snapshots, tags) stay in ``warehouse.duckdb``.
    spark_tables
        ``[spark] tables``: the folder (or URI, ``hdfs://``, ``s3a://``) holding
        ``<table>.parquet`` for each canonical table; relative to the workspace folder.
    spark_master, spark_remote
        ``[spark] master`` (``local[*]``, ``spark://host:7077``) or ``[spark] remote``
        (a Spark Connect address ``sc://host:15002``); empty: the active session, else
        ``local[*]`` (``SPARK_REMOTE`` and ``spark-submit`` settings apply as usual).
    extra
        Other sections of ``workspace.toml`` (``[privacy]``, ``[retention]``, ...), kept as read.
    """

    memory_limit: str = "2GB"
    threads: int = 2
    max_reject_rate: float = 0.01
    currency: str = ""
    lock_wait: float = 10.0
    earliest_date: str = "1900-01-01"
    latest_date: str = "2100-12-31"
    max_amount: float = 1e15
    backend: str = "duckdb"
    spark_tables: str = "tables"
    spark_master: str = ""
    spark_remote: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        """The settings as the TOML document written to ``workspace.toml``."""
        doc: dict[str, Any] = {
            "workspace": {
                "format_version": FORMAT_VERSION,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "currency": self.currency,
                "lock_wait": self.lock_wait,
                **({"backend": self.backend} if self.backend != "duckdb" else {}),
            },
            "duckdb": {"memory_limit": self.memory_limit, "threads": self.threads},
            "import": {
                "max_reject_rate": self.max_reject_rate,
                "earliest_date": self.earliest_date,
                "latest_date": self.latest_date,
                "max_amount": self.max_amount,
            },
        }
        if self.backend == "spark":
            spark = {"tables": self.spark_tables, "master": self.spark_master, "remote": self.spark_remote}
            doc["spark"] = {k: v for k, v in spark.items() if v}
        doc.update(self.extra)
        return doc

    @classmethod
    def from_toml(cls, doc: dict[str, Any], source: Path) -> WorkspaceSettings:
        """Read settings from a parsed ``workspace.toml``; unknown sections are kept."""
        try:
            ws, db, imp = doc.get("workspace", {}), doc.get("duckdb", {}), doc.get("import", {})
            spark = doc.get("spark", {})
            version = int(ws.get("format_version", FORMAT_VERSION))
            if version > FORMAT_VERSION:
                raise ConfigError(
                    f"{source}: workspace format_version {version} is newer than this custlens "
                    f"understands ({FORMAT_VERSION}); upgrade custlens"
                )
            settings = cls(
                memory_limit=str(db.get("memory_limit", cls.memory_limit)),
                threads=int(db.get("threads", cls.threads)),
                max_reject_rate=float(imp.get("max_reject_rate", cls.max_reject_rate)),
                currency=str(ws.get("currency", "")),
                lock_wait=float(ws.get("lock_wait", cls.lock_wait)),
                earliest_date=str(imp.get("earliest_date", cls.earliest_date)),
                latest_date=str(imp.get("latest_date", cls.latest_date)),
                max_amount=float(imp.get("max_amount", cls.max_amount)),
                backend=str(ws.get("backend", cls.backend)),
                spark_tables=str(spark.get("tables", cls.spark_tables)),
                spark_master=str(spark.get("master", "")),
                spark_remote=str(spark.get("remote", "")),
                extra={k: v for k, v in doc.items() if k not in ("workspace", "duckdb", "import", "spark")},
            )
        except (TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"{source}: invalid setting ({exc})") from None
        if not 0.0 <= settings.max_reject_rate <= 1.0:
            raise ConfigError(
                f"{source}: [import] max_reject_rate must be between 0 and 1; got {settings.max_reject_rate}"
            )
        if not (math.isfinite(settings.lock_wait) and 0 <= settings.lock_wait <= 3600):
            raise ConfigError(
                f"{source}: [workspace] lock_wait must be seconds from 0 to 3600; got {settings.lock_wait}"
            )
        for key in ("earliest_date", "latest_date"):
            if not _DATE.fullmatch(getattr(settings, key)):
                raise ConfigError(f"{source}: [import] {key} must be a date YYYY-MM-DD; got {getattr(settings, key)!r}")
        if settings.earliest_date >= settings.latest_date:
            raise ConfigError(
                f"{source}: [import] earliest_date {settings.earliest_date} must be before "
                f"latest_date {settings.latest_date}"
            )
        if not (math.isfinite(settings.max_amount) and settings.max_amount > 0):
            raise ConfigError(f"{source}: [import] max_amount must be a positive number; got {settings.max_amount}")
        if settings.backend not in BACKENDS:
            raise ConfigError(
                f"{source}: [workspace] backend must be one of {', '.join(BACKENDS)}; got {settings.backend!r}"
            )
        if settings.backend == "spark" and not settings.spark_tables.strip():
            raise ConfigError(f"{source}: [spark] tables must name the folder of the Parquet tables; got ''")
        if settings.spark_master and settings.spark_remote:
            raise ConfigError(
                f"{source}: [spark] master {settings.spark_master!r} and remote {settings.spark_remote!r} "
                "exclude each other; keep one"
            )
        if settings.threads < 1:
            raise ConfigError(f"{source}: [duckdb] threads must be >= 1; got {settings.threads}")
        size = memory_size(settings.memory_limit)
        if size is None or size[0] <= 0 or not size[1]:  # DuckDB refuses a number without a unit
            raise ConfigError(
                f"{source}: [duckdb] memory_limit must be a positive size with a unit such as 2GB, "
                f"500MB or 80%; got {settings.memory_limit!r}"
            )
        return settings


class Workspace:
    """A custlens workspace: the warehouse of one company.

    Create one with :meth:`init`, open an existing one with :meth:`open`. The Ibis
    backend is :attr:`con`; :meth:`table` returns a canonical table as an Ibis
    expression. Use as a context manager (or call :meth:`close`) to release the
    database file, which DuckDB locks for a single writing process.
    """

    def __init__(
        self,
        path: Path,
        con: ibis.BaseBackend,
        settings: WorkspaceSettings,
        read_only: bool,
        key_file: Path | None = None,
    ) -> None:
        self.path = path
        self.con = con
        self.settings = settings
        self.read_only = read_only
        self.key_file = key_file
        self._engine: ibis.BaseBackend | None = None

    # -- creation and opening -------------------------------------------------
    @classmethod
    def init(cls, path: str | Path, *, settings: WorkspaceSettings | None = None) -> Workspace:
        """Create a workspace in ``path`` (created if missing) and open it.

        Raises
        ------
        InputError
            When ``path`` is a file, or already holds a workspace or a ``warehouse.duckdb``.
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise InputError(f"{path}: is a file; expected a folder for the workspace")
        if (path / SETTINGS_FILE).exists() or (path / DATABASE_FILE).exists():
            raise InputError(f"{path}: already holds a custlens workspace; open it instead")
        settings = settings or WorkspaceSettings()
        # validate before anything is written: a refused init leaves no half-made workspace
        WorkspaceSettings.from_toml(settings.to_toml(), path / SETTINGS_FILE)
        private_dir(path)
        private_dir(path / QUARANTINE_DIR)
        write_settings(path, settings.to_toml())
        log.info("created workspace %s", path)
        return cls.open(path)

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False, key_file: str | Path | None = None) -> Workspace:
        """Open the workspace in ``path``, migrating its warehouse to the current schema.

        ``key_file`` names the file of the key that encrypts personal data (see
        :mod:`custlens.privacy`); it is read only when personal data is.

        Raises
        ------
        InputError
            When ``path`` is not a custlens workspace.
        ConflictError
            When another process holds the workspace for writing longer than
            ``[workspace] lock_wait`` seconds: "workspace is in use".
        BackendError
            When the database cannot be opened for another reason.
        """
        path = Path(path)
        settings_path = path / SETTINGS_FILE
        if not settings_path.is_file():
            raise InputError(
                f"{path}: not a custlens workspace (no {SETTINGS_FILE}); create one with `custlens init {path}`"
            )
        try:
            doc = tomllib.loads(settings_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{settings_path}: not valid TOML ({exc})") from None
        except RecursionError:
            raise ConfigError(f"{settings_path}: not valid TOML (nested too deeply)") from None
        settings = WorkspaceSettings.from_toml(doc, settings_path)
        db_path = path / DATABASE_FILE
        if read_only and not db_path.exists():
            raise InputError(f"{path}: the workspace has no {DATABASE_FILE} yet")
        con = _connect(db_path, settings, read_only)
        con.con.execute("SET enable_progress_bar = false")  # no output from the library
        if not read_only:
            private_dir(path / QUARANTINE_DIR)
            # staging files nobody holds belong to imports killed before they committed;
            # those of imports in progress (this process included) are locked and kept
            remove_orphans(path / STAGING_DIR)
            tighten(path)
        ws = cls(path, con, settings, read_only, Path(key_file) if key_file is not None else None)
        if not read_only:
            migrate(ws.raw)
            private_file(db_path)
        return ws

    # -- access ------------------------------------------------------------------
    @property
    def raw(self) -> duckdb.DuckDBPyConnection:
        """The underlying DuckDB connection (for transactions and bulk loads)."""
        return duckdb_connection(self.con)

    @property
    def database_path(self) -> Path:
        """Path of ``warehouse.duckdb``."""
        return self.path / DATABASE_FILE

    @property
    def quarantine_dir(self) -> Path:
        """Folder of the quarantine files."""
        return self.path / QUARANTINE_DIR

    @property
    def schema_version(self) -> int:
        """Highest numbered migration applied to the warehouse."""
        return schema_version(self.raw)

    @property
    def backend(self) -> str:
        """Where the canonical tables live: ``"duckdb"`` or ``"spark"`` (``[workspace] backend``)."""
        return self.settings.backend

    @property
    def engine(self) -> ibis.BaseBackend:
        """The Ibis backend holding the canonical tables.

        On DuckDB this is :attr:`con`. On Spark it is the PySpark backend of the session
        (started on first use, see :func:`~custlens.warehouse.start_spark`) with each
        canonical table's Parquet file registered as a view of its name; stored results
        stay on :attr:`con`.
        """
        if self.settings.backend == "duckdb":
            return self.con
        if self._engine is None:
            from custlens.warehouse._spark import spark_engine

            self._engine = spark_engine(self)
        return self._engine

    def table(self, name: str) -> ibis.Table:
        """The canonical table ``name`` as an Ibis table expression of :attr:`engine`.

        ``identity`` (personal data, never analysed) always comes from the DuckDB file.

        Raises
        ------
        InputError
            When ``name`` is not a canonical table (the message lists them).
        """
        schema_table(name)
        if self.settings.backend == "spark" and name != "identity":
            return self.engine.table(name)
        return self.con.table(name)

    def row_counts(self) -> dict[str, int]:
        """Number of rows in each canonical table."""
        from custlens.schema import TABLES

        if self.settings.backend == "spark":
            return {name: int(self.table(name).count().to_pyarrow().as_py()) for name in TABLES}
        return {name: int(self.raw.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]) for name in TABLES}

    def imports(self) -> ibis.Table:
        """The import ledger (one row per committed import) as an Ibis table."""
        from custlens.warehouse._migrations import LEDGER_TABLE

        return self.con.table(LEDGER_TABLE)

    # -- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        """Release the database file.

        Tables cached with Ibis's ``.cache()`` (e.g. ``custlens.warehouse.compat.cache``) are temporary tables that end with the connection; their
        clean-up hooks are detached first, so that results still held by the caller do not
        try to drop them from a closed connection when they are garbage-collected (those of
        ``compat.materialise``, e.g. ``SegmentResult.cache()``, fail quietly there).
        """
        detach_cache_finalizers(self.con)
        try:
            self.con.disconnect()
        except duckdb.Error:  # pragma: no cover - already closed
            pass
        if not self.read_only:
            tighten(self.path)  # DuckDB creates its WAL with the process umask

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r}, read_only={self.read_only})"


def write_settings(path: Path, doc: dict[str, Any]) -> None:
    """Write ``workspace.toml`` of the workspace in ``path`` (mode 0600), replacing it atomically."""
    target = path / SETTINGS_FILE
    tmp = path / f".{SETTINGS_FILE}.tmp"
    tmp.write_bytes(tomli_w.dumps(doc).encode("utf-8"))
    private_file(tmp)
    tmp.replace(target)


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def _connect(db_path: Path, settings: WorkspaceSettings, read_only: bool) -> ibis.BaseBackend:
    """Connect to the warehouse, waiting up to ``settings.lock_wait`` s for another writer.

    Raises
    ------
    ConflictError
        When another process still holds the database after the wait.
    BackendError
        When DuckDB cannot open the file for another reason.
    """
    deadline = time.monotonic() + settings.lock_wait
    delay = 0.05
    while True:
        try:
            return ibis.duckdb.connect(
                str(db_path),
                read_only=read_only,
                memory_limit=settings.memory_limit,
                threads=settings.threads,
                **DUCKDB_CONFIG,
            )
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc):
                raise BackendError(f"{db_path}: cannot open the warehouse ({str(exc).splitlines()[0]})") from None
            if time.monotonic() >= deadline:
                raise ConflictError(
                    f"{db_path.parent}: workspace is in use (by another custlens process); waited "
                    f"{settings.lock_wait:g} s. Try again when it has finished, or raise [workspace] "
                    "lock_wait in workspace.toml"
                ) from None
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.5)


@contextmanager
def reading(source: Workspace | str | Path | Any) -> Iterator[tuple[Any, Callable[[str], ibis.Table]]]:
    """What a reader of stored results needs: their connection, and the canonical tables.

    ``source`` is a :class:`Workspace`, its folder (opened read-only for the duration) or
    an Ibis connection. Yields ``(con, table)``: ``con`` holds the stored results
    (analyses, snapshots, tags) and ``table(name)`` is a canonical table, from
    :attr:`Workspace.engine` (Spark for a Spark workspace) or from ``con`` itself.
    """
    if isinstance(source, (str, Path)):
        with Workspace.open(source, read_only=True) as ws:
            yield ws.con, ws.table
        return
    if isinstance(source, Workspace):
        yield source.con, source.table
        return
    yield source, source.table
