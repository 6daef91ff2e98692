"""The validated, atomic import of one source file into one canonical table.

Steps (all rows flow through Arrow compute and DuckDB SQL, never a Python row loop):

1. one pass over the file: SHA-256 and encoding (strict UTF-8, else GB18030);
2. the ledger: a file already imported into this table is skipped (or refused);
3. batches are read, cleaned and validated (:func:`custlens.ingest.clean.clean_batch`);
   accepted rows stream to a Parquet staging file in the workspace's ``tmp/`` folder,
   every rejected cell to the quarantine file (the warehouse is not touched yet);
4. in one DuckDB transaction, duplicate keys are resolved in SQL over the staging file:
   an exact copy of a row seen earlier in the file or already in the warehouse is dropped
   as a duplicate; the same key with other values is rejected;
5. if the share of rejected rows exceeds ``max_reject_rate`` the transaction is rolled
   back and :class:`~custlens.errors.RejectedImportError` is raised; otherwise the rows
   (one ``INSERT ... SELECT`` from the staging file) and a ledger record are committed
   together.

A plain CSV file (a clean export: see :mod:`custlens.ingest.plain`) takes a shorter road
after step 2: DuckDB reads it, checks every cell against the plain forms of the Arrow rules
and inserts the rows in one parallel statement, inside the transaction of step 5 with the
same ledger record. Any cell outside those forms, any key held twice, any row DuckDB
reads differently (fewer rows than data lines) rolls that back, and the file takes steps
3-5 as above, so quarantine records and messages always come from the Arrow rules.

``mode="upsert"`` (``customers`` and ``receivables``, the tables of
:data:`~custlens.warehouse._migrations.HISTORY_TABLES`) changes step 4: a row whose key is
stored with other values in the columns the file provides replaces those values (one
``UPDATE ... FROM``) instead of being rejected. Both modes keep every version of these
tables' rows in their history table (``customers_history``: the canonical columns,
``valid_from``, ``valid_to``, ``import_id``), written in the same transaction: a replaced
version is closed (``valid_to`` = the import's time) and the new one opened.

A process killed at any point before the commit leaves the warehouse as it was: DuckDB
discards an uncommitted transaction when the database is next opened, and a leftover
staging file is removed then. A staging file belongs to the import writing it (it holds a
lock on it), so opening the workspace again meanwhile, in this process or another, never
removes it; a staging file that disappears anyway is an error, and so is any difference
between ``rows_read`` and ``rows_loaded + rows_rejected + rows_duplicate``: nothing is
committed then.

Personal data: rows of the ``identity`` table are encrypted (:mod:`custlens.privacy`)
before they are staged, and their quarantine records keep the line and reason only. Rows
of erased persons are refused (identity) or pseudonymised (other tables). Staging outside the transaction keeps memory bounded:
DuckDB holds many small appends made inside one transaction in memory, whereas one large
``INSERT ... SELECT`` streams within its memory limit.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from custlens.errors import BackendError, InputError, RejectedImportError
from custlens.ingest.clean import CleanResult, clean_batch
from custlens.ingest.mapping import ImportMapping, load_mapping
from custlens.ingest.plain import plain_insert, plain_refusal, table_rows
from custlens.ingest.plan import ImportPlan, build_plan, limits_of
from custlens.ingest.quarantine import QuarantineWriter
from custlens.ingest.sources import Batch, Progress, SourceInfo, inspect_source, iter_batches, read_header
from custlens.schema import Table, arrow_type
from custlens.schema import table as schema_table
from custlens.warehouse import LEDGER_TABLE, STAGING_DIR, Workspace
from custlens.warehouse._ddl import quote
from custlens.warehouse._files import StagingFile
from custlens.warehouse._migrations import HISTORY_TABLES, IDENTITY_INTERNAL_COLUMNS

if TYPE_CHECKING:
    from custlens.privacy._blocklist import ImportGuard

__all__ = ["import_file", "ImportReport", "DEFAULT_MAX_REJECT_RATE", "IMPORT_MODES", "UPSERT_TABLES"]

log = logging.getLogger(__name__)

DEFAULT_MAX_REJECT_RATE = 0.01
"""Largest share of rejected rows an import accepts unless told otherwise (1 %)."""

IMPORT_MODES = ("append", "upsert")
"""How an import treats rows whose key is already stored with other values: ``append``
rejects them (stored rows never change), ``upsert`` replaces the stored values."""

UPSERT_TABLES = tuple(HISTORY_TABLES)
"""Tables an import may update (``mode="upsert"``); each keeps the history of its rows."""

_STAGE = "_custlens_stage"
_DUPS = "_custlens_dups"
_UPDATES = "_custlens_updates"


@dataclass(frozen=True)
class _Counts:
    """Row counts of the load phase."""

    loaded: int
    rejected: int
    duplicates: int
    inserted: int
    updated: int
    unchanged: int
    import_id: int


@dataclass(frozen=True)
class ImportReport:
    """What an import did.

    ``rows_read = rows_loaded + rows_rejected + rows_duplicate``. Duplicates are exact
    copies of rows earlier in the file or already in the warehouse; they are dropped and
    do not count towards the reject rate. ``rows_blocked`` (part of ``rows_rejected``)
    are identity rows of erased persons; they do not count towards the reject rate either.

    ``rows_loaded = rows_inserted + rows_updated``: new keys, and stored rows whose values
    an upsert replaced. ``rows_unchanged`` (part of ``rows_duplicate``) are rows already
    stored with the same values.
    """

    status: Literal["loaded", "skipped"]
    table: str
    path: str
    sha256: str
    format: str
    encoding: str | None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rows_blocked: int = 0
    mode: str = "append"
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    max_reject_rate: float = DEFAULT_MAX_REJECT_RATE
    quarantine_path: str | None = None
    import_id: int | None = None
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: tuple[str, ...] = ()
    seconds: float = 0.0
    message: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def reject_rate(self) -> float:
        """Rejected rows / rows read (0 for an empty file)."""
        return self.rows_rejected / self.rows_read if self.rows_read else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-value form (for JSON)."""
        out = asdict(self)
        out["ignored_columns"] = list(self.ignored_columns)
        out["warnings"] = list(self.warnings)
        out["reject_rate"] = self.reject_rate
        return out


def import_file(
    workspace: Workspace,
    path: str | Path,
    *,
    table: str,
    mapping: ImportMapping | str | Path | None = None,
    max_reject_rate: float | None = None,
    on_repeat: Literal["skip", "error", "import"] = "skip",
    progress: Progress | None = None,
    encoding: str | None = None,
    mode: Literal["append", "upsert"] = "append",
) -> ImportReport:
    """Import one CSV/TSV, Parquet or Excel file into a canonical table, all or nothing.

    Parameters
    ----------
    workspace
        The open workspace to load into.
    path
        The source file (``.csv``, ``.tsv``, ``.txt``, ``.parquet``, ``.pq``, ``.xlsx``).
    table
        The canonical table to fill (see :mod:`custlens.schema`).
    mapping
        An :class:`ImportMapping`, or the path of a TOML mapping file. ``None``: columns
        named like canonical columns map to themselves, with the default parsing rules.
    max_reject_rate
        Largest share (0..1) of rejected rows accepted; above it nothing is committed.
        ``None`` uses the workspace setting (default 0.01 = 1 %).
    on_repeat
        What to do when this exact file (same SHA-256) was already imported into
        ``table``: ``"skip"`` (return a report with status ``"skipped"``), ``"error"``
        (raise :class:`InputError`) or ``"import"`` (import again; rows already present
        count as duplicates).
    progress
        Called with ``(done, total)`` as the file is read (bytes for text, rows otherwise).
    encoding
        Encoding of a text file (``utf-8``, ``gb18030``, ``latin-1``, ``cp1252``), overriding
        the mapping's; default: detected (UTF-8, else GB18030 unless that looks like mojibake).
    mode
        ``"append"``: a row whose key is stored with other values is rejected; stored rows
        never change. ``"upsert"`` (tables ``customers`` and ``receivables``): such a row
        replaces the stored values of the columns the file provides, and the replaced
        version stays in the table's history (``customers_history``,
        ``receivables_history``) with its ``valid_from`` and ``valid_to``. Identical rows
        are left alone; new keys are inserted. The ledger looks files up by content, so a
        file changed in place is imported again while an unchanged one is skipped.

    Returns
    -------
    ImportReport

    Raises
    ------
    InputError
        Unreadable file, unknown table, a required column without source, a bad mapping,
        an unknown ``mode`` or ``"upsert"`` into a table that keeps no history.
    RejectedImportError
        More rows rejected than ``max_reject_rate`` allows; the warehouse is unchanged and
        the quarantine file lists every rejected row.
    BackendError
        DuckDB failed while loading (e.g. out of disk); the warehouse is unchanged.
    """
    started = time.perf_counter()
    path = Path(path)
    target = schema_table(table)
    if workspace.read_only:
        raise InputError(f"{workspace.path}: the workspace is open read-only; cannot import")
    if workspace.backend == "spark" and table != "identity":
        raise InputError(
            f"{workspace.path}: a Spark workspace reads its {table!r} table from Parquet ([spark] tables in "
            "workspace.toml), so rows imported into its DuckDB file would never be read. Import into the DuckDB "
            "workspace it was made from and make the Spark workspace again (custlens init NEW --backend spark "
            "--from W), or write the Parquet files with your own pipeline"
        )
    if max_reject_rate is None:
        max_reject_rate = workspace.settings.max_reject_rate
    try:
        rate_ok = 0.0 <= float(max_reject_rate) <= 1.0
    except (TypeError, ValueError):
        rate_ok = False
    if not rate_ok:
        raise InputError(f"'max_reject_rate' must be a number between 0 and 1; got {max_reject_rate!r}")
    if on_repeat not in ("skip", "error", "import"):
        raise InputError(f"'on_repeat' must be 'skip', 'error' or 'import'; got {on_repeat!r}")
    if mode not in IMPORT_MODES:
        raise InputError(f"'mode' must be 'append' or 'upsert'; got {mode!r}")
    if mode == "upsert" and table not in UPSERT_TABLES:
        raise InputError(
            f"'mode' 'upsert' is supported for the tables {' and '.join(UPSERT_TABLES)} (they keep a history "
            f"of replaced values); got table {table!r}. Import it with mode 'append'"
            + (", and correct personal data with `custlens privacy correct`" if target.personal_data else "")
        )
    if mapping is None:
        mapping = ImportMapping()
    elif not isinstance(mapping, ImportMapping):
        mapping = load_mapping(mapping)
    if encoding is not None:
        from dataclasses import replace

        from custlens.ingest.readers import check_encoding

        mapping = replace(mapping, encoding=check_encoding(encoding))
    info = inspect_source(path, mapping)
    base: dict[str, Any] = dict(
        table=table,
        path=str(path),
        sha256=info.sha256,
        format=info.format,
        encoding=info.encoding,
        max_reject_rate=float(max_reject_rate),
        mode=mode,
    )
    raw = workspace.raw
    previous = raw.execute(
        f"SELECT import_id, strftime(timezone('UTC', imported_at), '%Y-%m-%d %H:%M') "
        f"FROM {LEDGER_TABLE} WHERE sha256 = ? AND target_table = ? ORDER BY import_id",
        [info.sha256, table],
    ).fetchall()
    if previous and on_repeat != "import":
        import_id, when = previous[0]
        text = (
            f"{path}: this file (sha256 {info.sha256[:12]}...) was already imported into "
            f"{table!r} as import {import_id} on {when} UTC"
        )
        if on_repeat == "error":
            raise InputError(text + "; nothing done")
        return ImportReport(
            status="skipped",
            import_id=import_id,
            seconds=time.perf_counter() - started,
            message=text + "; skipped",
            **base,
        )
    names, batches = iter_batches(info, mapping, progress=progress)
    plan = build_plan(target, mapping, names, origin=str(path), limits=limits_of(workspace.settings))
    guard = _guard(workspace, target)
    ledger = [info.sha256, table, str(path.resolve()), info.size, info.format, info.encoding, mapping.sha256]
    quarantine = QuarantineWriter(
        workspace.quarantine_dir, path, table, info.sha256, keep_values=not target.personal_data
    )
    fast = _load_plain(
        workspace, info, mapping, plan, names, mode=mode, guarded=guard is not None, ledger=ledger, progress=progress
    )
    if fast is not None:
        read, blocked, counts = fast.loaded, 0, fast
    else:
        try:
            with StagingFile(workspace.path / STAGING_DIR, "import") as stage:
                read, rejected, blocked, staged = _stage_rows(batches, plan, mapping, quarantine, stage.path, guard)
                if staged and not stage.has_data:
                    raise BackendError(
                        f"{path}: the staging file {stage.path} disappeared before the commit; nothing was imported"
                    )
                counts = _load(
                    workspace,
                    target,
                    stage.path if staged else None,
                    quarantine,
                    read=read,
                    rejected=rejected,
                    blocked=blocked,
                    staged=staged,
                    max_reject_rate=float(max_reject_rate),
                    ledger=ledger,
                    path=path,
                    mode=mode,
                    provided=[c for c in target.column_names if c in plan.mapped()],
                )
        finally:
            quarantine.close()
    loaded = counts.loaded
    upserted = (
        f" ({counts.inserted:,} new, {counts.updated:,} updated, {counts.unchanged:,} unchanged)"
        if mode == "upsert"
        else ""
    )
    report = ImportReport(
        status="loaded",
        rows_read=read,
        rows_loaded=loaded,
        rows_rejected=counts.rejected,
        rows_duplicate=counts.duplicates,
        rows_blocked=blocked,
        rows_inserted=counts.inserted,
        rows_updated=counts.updated,
        rows_unchanged=counts.unchanged,
        quarantine_path=str(quarantine.written) if quarantine.written else None,
        import_id=counts.import_id,
        columns=plan.mapped(),
        ignored_columns=plan.ignored,
        seconds=time.perf_counter() - started,
        message=f"{path}: loaded {loaded:,} of {read:,} rows into {table!r}{upserted}",
        warnings=info.warnings,
        **base,
    )
    log.info(report.message)
    if target.personal_data:
        from custlens.privacy import audit

        audit.record(
            workspace,
            "import",
            subject=str(path.resolve()),
            details={"table": table, "sha256": info.sha256, "rows_loaded": loaded, "rows_blocked": blocked},
        )
    return report


def _guard(workspace: Workspace, target: Table) -> ImportGuard | None:
    from custlens.privacy._blocklist import import_guard

    return import_guard(workspace, target)


def _stage_schema(target: Table) -> pa.Schema:
    fields = [(c.name, arrow_type(c.dtype)) for c in target.columns]
    if target.personal_data:
        fields += [(name, pa.string()) for name in IDENTITY_INTERNAL_COLUMNS]
    return pa.schema([*fields, ("_line", pa.int64())])


def _stage_rows(
    batches: Iterable[Batch],
    plan: ImportPlan,
    mapping: ImportMapping,
    quarantine: QuarantineWriter,
    stage: Path,
    guard: ImportGuard | None,
) -> tuple[int, int, int, int]:
    """Clean every batch; write accepted rows to a Parquet staging file, rejected cells to
    the quarantine file. Returns (rows read, rejected, of them refused as erased persons,
    staged). The warehouse is not touched."""
    from custlens.privacy._blocklist import BLOCKED_REASON

    schema = _stage_schema(plan.table)
    writer: pq.ParquetWriter | None = None
    read = rejected = blocked = staged = 0

    def take(batch: Batch, result: CleanResult) -> None:
        nonlocal writer, read, rejected, blocked, staged
        quarantine.write(batch.broken)
        quarantine.write(result.errors)
        read += batch.rows.num_rows + batch.broken.num_rows
        rejected += result.n_rejected + batch.broken.num_rows
        rows = result.rows
        if guard is not None and rows.num_rows:
            rows, refused = guard.apply(rows)
            if len(refused):
                n = len(refused)
                quarantine.write(
                    pa.table(
                        {
                            "line": refused,
                            "column": pa.repeat(pa.scalar("", pa.string()), n),
                            "value": pa.repeat(pa.scalar("", pa.string()), n),
                            "reason": pa.repeat(pa.scalar(BLOCKED_REASON, pa.string()), n),
                        }
                    )
                )
                rejected += n
                blocked += n
        if rows.num_rows:
            if writer is None:
                # a staging file is read once: no dictionaries or statistics to build (half the cost)
                writer = pq.ParquetWriter(
                    stage, schema, compression="lz4", use_dictionary=False, write_statistics=False
                )
            writer.write_table(rows.select(schema.names).cast(schema))
            staged += rows.num_rows

    # Batches are cleaned on a small thread pool (Arrow compute releases the GIL) while the
    # next batch is read; results are taken in file order, at most ``workers + 1`` batches
    # in flight, so memory stays bounded and the quarantine and staging files keep order.
    workers = max(1, min(_CLEAN_WORKERS, os.cpu_count() or 1))
    pending: deque[tuple[Batch, Future[CleanResult]]] = deque()
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="custlens-clean") as pool:
            try:
                for batch in batches:
                    pending.append((batch, pool.submit(clean_batch, batch.rows, batch.lines, plan, mapping)))
                    if len(pending) > workers:
                        done, future = pending.popleft()
                        take(done, future.result())
                while pending:
                    done, future = pending.popleft()
                    take(done, future.result())
            finally:
                for _, future in pending:
                    future.cancel()
    finally:
        if writer is not None:
            writer.close()
    return read, rejected, blocked, staged


_CLEAN_WORKERS = 2
"""Threads cleaning batches during an import (fewer on a machine with fewer cores)."""


def _load(
    workspace: Workspace,
    target: Table,
    stage: Path | None,
    quarantine: QuarantineWriter,
    *,
    read: int,
    rejected: int,
    blocked: int,
    staged: int,
    max_reject_rate: float,
    ledger: list[Any],
    path: Path,
    mode: str,
    provided: list[str],
) -> _Counts:
    """Resolve keys, check the reject rate and the row counts, and commit rows, their
    versions (tables with a history) and the ledger record, in one transaction."""
    raw = workspace.raw
    try:
        raw.execute("BEGIN TRANSACTION")
        try:
            conflicts = duplicates = unchanged = updated = in_stage = 0
            if stage is not None:
                literal = str(stage).replace("'", "''")
                raw.execute(f"CREATE OR REPLACE TEMP VIEW {_STAGE} AS SELECT * FROM read_parquet('{literal}')")
                conflicts, duplicates, unchanged, updated = _resolve_keys(raw, target, quarantine, mode, provided)
                in_stage = int(raw.execute(f"SELECT count(*) FROM {_STAGE}").fetchall()[0][0])
            if in_stage != staged:
                raise BackendError(
                    f"{path}: the staging file holds {in_stage:,} rows but {staged:,} were staged; nothing was imported"
                )
            rejected += conflicts
            rate = (rejected - blocked) / read if read else 0.0
            if rate > max_reject_rate:
                raise RejectedImportError(
                    f"{path}: {rejected:,} of {read:,} rows rejected ({rate:.2%}), more than the "
                    f"accepted {max_reject_rate:.2%}; nothing was imported. Every rejected row "
                    f"and its reason is in {quarantine.path}"
                )
            import_id = _next_import_id(raw)
            if stage is not None:
                if updated:
                    _update_rows(raw, target, provided, import_id)
                _insert_rows(raw, target, import_id, every_row=not (conflicts or duplicates or updated))
            loaded = staged - conflicts - duplicates
            inserted = loaded - updated
            if read != loaded + rejected + duplicates:
                raise BackendError(
                    f"{path}: rows do not add up ({read:,} read, {loaded:,} loaded, {rejected:,} rejected, "
                    f"{duplicates:,} duplicate); nothing was imported"
                )
            quarantine.close()
            _write_ledger(
                raw,
                import_id,
                ledger,
                read=read,
                loaded=loaded,
                mode=mode,
                rejected=rejected,
                duplicates=duplicates,
                quarantine=quarantine.written,
                inserted=inserted,
                updated=updated,
                unchanged=unchanged,
            )
            raw.execute(f"DROP VIEW IF EXISTS {_STAGE}")
            raw.execute(f"DROP TABLE IF EXISTS {_DUPS}")
            raw.execute(f"DROP TABLE IF EXISTS {_UPDATES}")
            raw.execute("COMMIT")
        except BaseException:
            _rollback(raw)
            raise
    except (duckdb.Error, OSError) as exc:
        raise BackendError(f"{path}: the warehouse failed during the import and was left unchanged ({exc})") from None
    return _Counts(loaded, rejected, duplicates, inserted, updated, unchanged, import_id)


def _load_plain(
    workspace: Workspace,
    info: SourceInfo,
    mapping: ImportMapping,
    plan: ImportPlan,
    names: list[str],
    *,
    mode: str,
    guarded: bool,
    ledger: list[Any],
    progress: Progress | None,
) -> _Counts | None:
    """The one-pass import of a plain CSV file (:mod:`custlens.ingest.plain`), committed
    with its ledger record; ``None`` (nothing changed) when the file is not plain.

    ``progress`` follows DuckDB's own progress through the insert (as a share of the
    file's bytes), reported from a second thread."""
    if info.format != "csv":
        return None
    _, delimiter = read_header(info, mapping)
    refusal = plain_refusal(info, mapping, plan, delimiter, mode=mode, guarded=guarded)
    if refusal is not None:
        log.debug("%s: the usual import path (%s)", info.path, refusal)
        return None
    raw = workspace.raw
    target = plan.table
    lines = info.text.lines - 1 if info.text is not None else 0
    stored = int(raw.execute(table_rows(target)).fetchall()[0][0])
    if stored > lines:  # the key check groups the whole table: not worth it for a small file
        log.debug("%s: the usual import path (%s rows stored, %s in the file)", info.path, stored, lines)
        return None
    statements = plain_insert(info, mapping, plan, names, delimiter)
    try:
        raw.execute("BEGIN TRANSACTION")
        try:
            with _engine_progress(raw, progress, info.size):
                inserted = int(raw.execute(statements.insert).fetchall()[0][0])
            if inserted != statements.data_lines:
                why = f"{inserted:,} rows read from {statements.data_lines:,} data lines"
            elif int(raw.execute(statements.duplicate_keys).fetchall()[0][0]):
                why = "a key held by two rows"
            else:
                import_id = _next_import_id(raw)
                _write_ledger(raw, import_id, ledger, read=inserted, loaded=inserted, mode=mode)
                raw.execute("COMMIT")
                log.debug("%s: read, checked and inserted in one pass", info.path)
                return _Counts(inserted, 0, 0, inserted, 0, 0, import_id)
            _rollback(raw)
        except duckdb.Error as exc:
            _rollback(raw)
            why = str(exc).splitlines()[0][:200]
        except BaseException:
            _rollback(raw)
            raise
    except duckdb.Error as exc:  # BEGIN failed: the usual path reports what is wrong
        why = str(exc).splitlines()[0][:200]
    log.debug("%s: not plain, the usual import path (%s)", info.path, why)
    return None


@contextmanager
def _engine_progress(raw: duckdb.DuckDBPyConnection, progress: Progress | None, total: int) -> Iterator[None]:
    """Report DuckDB's progress through the statement run inside as ``(done, total)``."""
    if progress is None:
        yield
        return
    finished = threading.Event()

    def poll() -> None:
        while not finished.wait(0.1):
            share = raw.query_progress()
            if share >= 0:
                progress(int(total * min(share, 100.0) / 100), total)

    raw.execute("SET enable_progress_bar = true")
    raw.execute("SET enable_progress_bar_print = false")  # the share is read, never printed
    watcher = threading.Thread(target=poll, name="custlens-import-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        watcher.join()
        raw.execute("SET enable_progress_bar = false")
    progress(total, total)


def _write_ledger(
    raw: duckdb.DuckDBPyConnection,
    import_id: int,
    ledger: list[Any],
    *,
    read: int,
    loaded: int,
    mode: str,
    rejected: int = 0,
    duplicates: int = 0,
    quarantine: Path | None = None,
    inserted: int | None = None,
    updated: int = 0,
    unchanged: int = 0,
) -> None:
    """The ledger record of an import (inside its transaction)."""
    raw.execute(
        f"""INSERT INTO {LEDGER_TABLE} (import_id, sha256, target_table, source_path, source_bytes,
            source_format, encoding, mapping_sha256, rows_read, rows_loaded, rows_rejected, rows_duplicate,
            quarantine_path, imported_at, mode, rows_inserted, rows_updated, rows_unchanged)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?, ?, ?)""",
        [
            import_id,
            *ledger,
            read,
            loaded,
            rejected,
            duplicates,
            str(quarantine) if quarantine else None,
            mode,
            loaded if inserted is None else inserted,
            updated,
            unchanged,
        ],
    )


def _rollback(raw: duckdb.DuckDBPyConnection) -> None:
    try:
        raw.execute("ROLLBACK")
    except duckdb.Error:  # no transaction open (e.g. BEGIN itself failed)
        pass


def _on(key: tuple[str, ...], a: str, b: str) -> str:
    return " AND ".join(f"{a}.{quote(k)} = {b}.{quote(k)}" for k in key)


def _resolve_keys(
    raw: duckdb.DuckDBPyConnection, target: Table, quarantine: QuarantineWriter, mode: str, provided: list[str]
) -> tuple[int, int, int, int]:
    """Find duplicate keys in the file and against the warehouse.

    Returns (rejected key conflicts, dropped exact duplicates, of them rows already stored
    unchanged, rows that update a stored row). Conflicts and duplicates are recorded in the
    quarantine file (an upsert's unchanged rows are not: they are its expected outcome) and
    their lines left in the temporary table ``_custlens_dups``; the lines of updates (upsert
    only) in ``_custlens_updates``.
    """
    key = target.key
    upsert = mode == "upsert"

    def on(a: str, b: str) -> str:
        return _on(key, a, b)

    if target.personal_data:
        compared = ["customer_id", "_row_digest"]
    elif upsert:
        compared = provided  # an upsert compares (and replaces) the columns the file provides
    else:
        compared = target.column_names

    def same(a: str, b: str) -> str:
        return " AND ".join(f"{a}.{quote(c)} IS NOT DISTINCT FROM {b}.{quote(c)}" for c in compared)

    keys = ", ".join(quote(k) for k in key)
    key_label = "+".join(key)
    key_value = "concat_ws('|', " + ", ".join(f"s.{quote(k)}::VARCHAR" for k in key) + ")"
    raw.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_DUPS} AS
        WITH firsts AS (
            SELECT {keys}, min(_line) AS _first FROM {_STAGE} GROUP BY {keys} HAVING count(*) > 1
        )
        SELECT s._line, f._first, ({same("s", "x")}) AS _same, 'file' AS _where,
               {key_value} AS _key
        FROM {_STAGE} s JOIN firsts f ON {on("s", "f")}
        JOIN {_STAGE} x ON x._line = f._first
        WHERE s._line <> f._first
    """)
    raw.execute(f"""
        INSERT INTO {_DUPS}
        SELECT s._line, NULL, ({same("s", "w")}), 'warehouse', {key_value}
        FROM {_STAGE} s JOIN main.{quote(target.name)} w ON {on("s", "w")}
        WHERE s._line NOT IN (SELECT _line FROM {_DUPS})
    """)
    raw.execute(f"CREATE OR REPLACE TEMP TABLE {_UPDATES} (_line BIGINT)")
    if upsert:
        raw.execute(f"INSERT INTO {_UPDATES} SELECT _line FROM {_DUPS} WHERE _where = 'warehouse' AND NOT _same")
        raw.execute(f"DELETE FROM {_DUPS} WHERE _where = 'warehouse' AND NOT _same")
    quiet = "WHERE NOT (_where = 'warehouse' AND _same)" if upsert else ""
    reader = raw.sql(f"""
        SELECT _line AS line, '{key_label}' AS "column", _key AS value,
            CASE
              WHEN _where = 'file' AND _same THEN
                'exact duplicate of line ' || _first || ' (dropped, not counted as rejected)'
              WHEN _where = 'file' THEN
                'same {key_label} as line ' || _first || ' but different values'
              WHEN _same THEN 'already in the warehouse (dropped, not counted as rejected)'
              ELSE '{key_label} already in the warehouse with different values'
            END AS reason
        FROM {_DUPS} {quiet} ORDER BY _line
    """).to_arrow_reader(100_000)
    for record_batch in reader:
        quarantine.write(pa.Table.from_batches([record_batch]))
    rows = raw.execute(
        f"SELECT count(*) FILTER (WHERE NOT _same), count(*) FILTER (WHERE _same), "
        f"count(*) FILTER (WHERE _same AND _where = 'warehouse'), (SELECT count(*) FROM {_UPDATES}) FROM {_DUPS}"
    ).fetchall()[0]
    return int(rows[0]), int(rows[1]), int(rows[2]), int(rows[3])


def _update_rows(raw: duckdb.DuckDBPyConnection, target: Table, provided: list[str], import_id: int) -> None:
    """Replace the provided columns of the stored rows the file updates, closing their
    current versions in the history table and opening the new ones."""
    history = quote(HISTORY_TABLES[target.name])
    table = f"main.{quote(target.name)}"
    cols = ", ".join(quote(c) for c in target.column_names)
    changed = f"(SELECT s.* FROM {_STAGE} s WHERE s._line IN (SELECT _line FROM {_UPDATES}))"
    # a stored row without an open version (written outside the importer) gets one first
    raw.execute(f"""
        INSERT INTO {history} ({cols}, valid_from, valid_to, import_id)
        SELECT {", ".join(f"w.{quote(c)}" for c in target.column_names)}, NULL, NULL, NULL
        FROM {table} w JOIN {changed} u ON {_on(target.key, "w", "u")}
        WHERE NOT EXISTS (SELECT 1 FROM {history} h WHERE h.valid_to IS NULL AND {_on(target.key, "h", "w")})
    """)
    raw.execute(f"""
        UPDATE {history} AS h SET valid_to = now()
        FROM {changed} u WHERE h.valid_to IS NULL AND {_on(target.key, "h", "u")}
    """)
    values = [c for c in provided if c not in target.key]
    raw.execute(f"""
        UPDATE {table} AS w SET {", ".join(f"{quote(c)} = u.{quote(c)}" for c in values)}
        FROM {changed} u WHERE {_on(target.key, "w", "u")}
    """)
    raw.execute(f"""
        INSERT INTO {history} ({cols}, valid_from, valid_to, import_id)
        SELECT {", ".join(f"w.{quote(c)}" for c in target.column_names)}, now(), NULL, {int(import_id)}
        FROM {table} w JOIN {changed} u ON {_on(target.key, "w", "u")}
    """)


def _insert_rows(raw: duckdb.DuckDBPyConnection, target: Table, import_id: int, *, every_row: bool) -> None:
    """Insert the staged rows that are neither duplicates, key conflicts nor updates.

    ``every_row``: no staged row is any of these (the usual import), so the rows are
    inserted without the anti-joins, in the file's order (the anti-joins' hash joins
    hand the rows on in another order) and with less work.
    """
    names = target.column_names + (list(IDENTITY_INTERNAL_COLUMNS) if target.personal_data else [])
    cols = ", ".join(quote(c) for c in names)
    new = (
        f"FROM {_STAGE} s"
        if every_row
        else (
            f"FROM {_STAGE} s WHERE NOT EXISTS (SELECT 1 FROM {_DUPS} d WHERE d._line = s._line) "
            f"AND NOT EXISTS (SELECT 1 FROM {_UPDATES} u WHERE u._line = s._line)"
        )
    )
    raw.execute(f"INSERT INTO main.{quote(target.name)} ({cols}) SELECT {cols} {new}")
    history = HISTORY_TABLES.get(target.name)
    if history is not None:
        raw.execute(
            f"INSERT INTO {quote(history)} ({cols}, valid_from, valid_to, import_id) "
            f"SELECT {cols}, now(), NULL, {int(import_id)} {new}"
        )


def _next_import_id(raw: duckdb.DuckDBPyConnection) -> int:
    return int(raw.execute(f"SELECT coalesce(max(import_id), 0) + 1 FROM {LEDGER_TABLE}").fetchall()[0][0])
