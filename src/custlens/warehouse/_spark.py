"""Running warehouse expressions on PySpark: tables registered from Parquet or Arrow.

DuckDB is the default engine. For data beyond one machine, the same Ibis expressions
run on Spark: export the canonical tables to Parquet (:func:`export_parquet`, or any
Parquet the company already has), then :func:`connect_spark` registers them as
temporary views of a Spark session and returns the Ibis PySpark backend.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens.errors import BackendError, InputError
from custlens.schema import TABLES
from custlens.warehouse._ddl import quote
from custlens.warehouse.compat import arrow_frame, arrow_memtables, is_spark_connect

if TYPE_CHECKING:
    import ibis

    from custlens.warehouse._workspace import Workspace

__all__ = ["connect_spark", "export_parquet", "start_spark", "spark_engine", "spark_workspace", "SPARK_TABLES"]

SPARK_TABLES = tuple(name for name in TABLES if name != "identity")
"""The canonical tables a Spark workspace keeps as Parquet (personal data stays in DuckDB)."""

log = logging.getLogger(__name__)


def export_parquet(
    workspace: Workspace, folder: str | Path | None = None, tables: Iterable[str] | None = None
) -> dict[str, Path]:
    """Write canonical tables of a workspace to ``<folder>/<table>.parquet``.

    Parameters
    ----------
    workspace
        The workspace to export.
    folder
        Target folder (default: ``<workspace>/exports/parquet``).
    tables
        Names of the tables to export (default: all canonical tables).

    Returns
    -------
    dict
        Path of the Parquet file of each exported table.
    """
    folder = Path(folder) if folder is not None else workspace.path / "exports" / "parquet"
    folder.mkdir(parents=True, exist_ok=True)
    names = list(tables) if tables is not None else list(TABLES)
    paths: dict[str, Path] = {}
    for name in names:
        if name not in TABLES:
            raise InputError(f"unknown table {name!r}; expected one of: {', '.join(TABLES)}")
        target = folder / f"{name}.parquet"
        literal = str(target).replace("'", "''")
        workspace.raw.execute(f"COPY (SELECT * FROM {quote(name)}) TO '{literal}' (FORMAT parquet)")
        paths[name] = target
    return paths


def connect_spark(
    session: Any,
    sources: Workspace | str | Path | Mapping[str, str | Path | pa.Table] | None = None,
) -> ibis.BaseBackend:
    """An Ibis PySpark backend with tables registered as temporary views.

    Parameters
    ----------
    session
        A ``pyspark.sql.SparkSession``.
    sources
        What to register: a :class:`~custlens.warehouse.Workspace` (its canonical
        tables are exported to Parquet first), a folder of ``<table>.parquet`` files,
        or a mapping of view name to a Parquet path or an Arrow table. ``None``
        registers nothing.

    Notes
    -----
    The warehouse stores timestamps in UTC and the features cut them into calendar days;
    Spark does that in its session time zone. A session in another zone is therefore
    switched to UTC (``spark.sql.session.timeZone``), with a log message naming the old one.

    Raises
    ------
    BackendError
        When pyspark is not installed.
    InputError
        When a source path does not exist.
    """
    try:
        import ibis
    except ImportError as exc:  # pragma: no cover - ibis is a dependency
        raise BackendError(f"ibis is not installed ({exc})") from None
    _require_pyspark()
    from custlens.warehouse._workspace import Workspace

    mapping: dict[str, Any]
    if sources is None:
        mapping = {}
    elif isinstance(sources, Workspace):
        mapping = dict(export_parquet(sources))
    elif isinstance(sources, (str, Path)):
        folder = Path(sources)
        if not folder.is_dir():
            raise InputError(f"{folder}: no such folder of Parquet files")
        mapping = {p.stem: p for p in sorted(folder.glob("*.parquet"))}
    else:
        mapping = dict(sources)
    zone = session.conf.get("spark.sql.session.timeZone")
    if zone != "UTC":
        log.info("setting spark.sql.session.timeZone from %s to UTC (custlens works in UTC days)", zone)
        session.conf.set("spark.sql.session.timeZone", "UTC")
    for name, source in mapping.items():
        _register(session, name, source)
    backend = ibis.pyspark.connect(session)
    arrow_memtables(backend)
    return backend


def start_spark(master: str | None = None, remote: str | None = None) -> Any:
    """The Spark session a command runs on: the active one, or a new one in UTC.

    Parameters
    ----------
    master
        Where a new session runs: ``local[*]`` (the default), ``local[2]``, or a cluster
        master such as ``spark://host:7077``. Under ``spark-submit`` the submitted master
        and configuration apply and this is ignored.
    remote
        A Spark Connect address (``sc://host:15002``) instead of a master; the
        ``SPARK_REMOTE`` environment variable does the same.

    Notes
    -----
    The session's time zone is set to UTC: custlens cuts timestamps into UTC days.

    Raises
    ------
    BackendError
        When PySpark is not installed or the session cannot start (no Java, for one).
    """
    _require_pyspark()
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("custlens")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")  # the library writes nothing to the terminal
    )
    if remote is not None:
        builder = builder.remote(remote)
    elif master is not None:
        builder = builder.master(master)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - a JVM that does not start: one line, not a Java trace
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackendError(f"cannot start Spark ({first}); is Java 17 installed and on the PATH?") from None
    session.conf.set("spark.sql.session.timeZone", "UTC")
    _arrow_transfers(session)
    return session


#: Spark's setting for moving rows between the JVM and Python as Arrow batches.
_ARROW = "spark.sql.execution.arrow.pyspark.enabled"


def _arrow_transfers(session: Any) -> None:
    """Move rows to and from Python as Arrow batches, unless the user's configuration says otherwise.

    Small results come back to the driver through Ibis (``toPandas``; the per-customer
    ones through :func:`custlens.warehouse.compat.to_arrow`) and in-memory tables go to
    Spark through ``createDataFrame``; without Arrow, Spark (4.0's default) sends them row
    by row as Python objects: storing the analysis of a million transactions took 94 s
    of the run against 58 s with Arrow (``docs/performance.md``), and at ten million
    customers the rows as objects do not fit. A value given to ``spark-submit`` or in
    ``spark-defaults.conf`` is kept. Spark Connect always uses Arrow.
    """
    if is_spark_connect(session):
        return
    if not session.sparkContext.getConf().contains(_ARROW):
        session.conf.set(_ARROW, "true")


def _require_pyspark() -> None:
    """Refuse to go on without PySpark, saying how to install it."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise BackendError("PySpark is not installed; install the spark extra: pip install 'custlens[spark]'") from None


def _register(session: Any, name: str, source: Any) -> None:
    if isinstance(source, pa.Table):
        frame = arrow_frame(session, source)
    elif _is_uri(source):  # hdfs://, s3a://: checked by Spark where it reads
        frame = session.read.parquet(str(source))
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path}: no such Parquet file for Spark view {name!r}")
        frame = session.read.parquet(str(path))
    frame.createOrReplaceTempView(name)
    log.info("registered Spark view %s", name)


def _is_uri(source: Any) -> bool:
    return isinstance(source, str) and "://" in source and not source.startswith("file://")


def tables_location(workspace: Workspace) -> str | Path:
    """The folder of a Spark workspace's Parquet tables: a local path, or a URI as written."""
    where = workspace.settings.spark_tables
    if _is_uri(where):
        return where.rstrip("/")
    folder = Path(where.removeprefix("file://"))
    return folder if folder.is_absolute() else workspace.path / folder


def spark_engine(workspace: Workspace) -> ibis.BaseBackend:
    """The PySpark backend of a Spark workspace, its canonical tables registered as views.

    Each of :data:`SPARK_TABLES` is read from ``<tables>/<name>.parquet``. A table whose
    file is absent from a local folder is registered empty, with its canonical columns
    (a company without leads or surveys); in a URI folder every file must exist.

    Raises
    ------
    InputError
        When the local tables folder does not exist.
    BackendError
        When PySpark is missing or Spark does not start.
    """
    from custlens.schema import table as schema_table

    where = tables_location(workspace)
    settings = workspace.settings
    session = start_spark(master=settings.spark_master or None, remote=settings.spark_remote or None)
    sources: dict[str, str | Path | pa.Table] = {}
    if isinstance(where, Path):
        if not where.is_dir():
            raise InputError(
                f"{workspace.path}: [spark] tables {settings.spark_tables!r} is not a folder ({where} does not "
                "exist); export the tables there (custlens init PATH --from W --backend spark)"
            )
        for name in SPARK_TABLES:
            path = where / f"{name}.parquet"
            sources[name] = path if path.exists() else schema_table(name).arrow_schema().empty_table()
    else:
        sources = {name: f"{where}/{name}.parquet" for name in SPARK_TABLES}
    return connect_spark(session, sources)


def spark_workspace(
    source: Workspace | str | Path,
    path: str | Path,
    *,
    tables: str | Path | None = None,
    master: str = "",
    remote: str = "",
) -> Workspace:
    """Create a workspace on Spark from a DuckDB workspace, and open it.

    The canonical tables of ``source`` (all but ``identity``: personal data is not
    analysed and stays in ``source``) are written as Parquet to ``tables`` (default
    ``<path>/tables``); the new workspace's ``workspace.toml`` says ``backend = "spark"``
    and where the tables are, and its ``warehouse.duckdb`` will hold what the commands
    store (analyses, segment snapshots, tags). Its other settings are those of ``source``.

    Parameters
    ----------
    source
        The DuckDB workspace (or its folder), read only.
    path
        Folder of the new workspace (must not hold one).
    tables
        Local folder for the Parquet files; a shared file system when Spark runs on a
        cluster. Copying them to HDFS or object storage and setting ``[spark] tables`` to
        that URI works as well.
    master, remote
        ``[spark] master`` or ``[spark] remote`` of the new workspace.

    Raises
    ------
    InputError
        When ``source`` is not a DuckDB workspace or ``path`` already holds a workspace.
    """
    from dataclasses import replace

    from custlens.warehouse._workspace import Workspace

    opened = Workspace.open(source, read_only=True) if isinstance(source, (str, Path)) else None
    src = opened if opened is not None else source
    assert isinstance(src, Workspace)
    try:
        if src.backend != "duckdb":
            raise InputError(f"{src.path}: already a workspace on {src.backend}; give a DuckDB workspace to export")
        target = Path(path)
        folder = Path(tables) if tables is not None else target / "tables"
        settings = replace(
            src.settings,
            backend="spark",
            spark_tables=str(folder.resolve()) if tables is not None else "tables",
            spark_master=master,
            spark_remote=remote,
            extra={k: v for k, v in src.settings.extra.items() if k != "privacy"},
        )
        ws = Workspace.init(target, settings=settings)
        try:
            export_parquet(src, folder, tables=SPARK_TABLES)
        except BaseException:
            ws.close()
            raise
    finally:
        if opened is not None:
            opened.close()
    log.info("created Spark workspace %s with tables in %s", target, folder)
    return ws
