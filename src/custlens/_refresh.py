"""Refreshing a workspace: re-import its configured sources, re-analyse, re-tag.

``workspace.toml`` lists the sources in a ``[refresh]`` section::

    [refresh]
    analysis_config = "analysis.toml"   # optional, as for `custlens analyze --config`
    tags = "tags.toml"                  # optional taxonomy, as for `custlens tags apply`

    [[refresh.sources]]
    table = "customers"
    file = "/data/erp/customers.csv"
    mode = "upsert"                     # append (default) or upsert
    mapping = "erp-customers.toml"      # optional

Relative paths are read from the workspace folder. :func:`refresh` imports every source
in the order listed (each import all or nothing; a file already imported unchanged is
skipped by the ledger), runs :func:`custlens.analysis.analyze` (which stores the segment
snapshots) and :func:`custlens.tags.apply_tags`, and reports what changed, including how
many customers moved segment since the analysis before. See ``docs/refresh.md``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custlens.errors import ConfigError, InputError, did_you_mean

if TYPE_CHECKING:
    from custlens.analysis import StoredAnalysis
    from custlens.ingest import ImportReport
    from custlens.warehouse import Workspace

__all__ = ["RefreshSource", "RefreshPlan", "RefreshReport", "refresh", "refresh_plan"]

SECTION = "refresh"
_SOURCE_KEYS = ("table", "file", "mode", "mapping", "max_reject_rate")
_SECTION_KEYS = ("sources", "analysis_config", "tags")

_EXAMPLE = """[[refresh.sources]]
table = "transactions"
file = "orders.csv"        # relative paths are read from the workspace folder
mode = "append"            # or "upsert" (customers, receivables)"""


@dataclass(frozen=True)
class RefreshSource:
    """One configured source: a file imported into a table with a mode."""

    table: str
    file: Path
    mode: str = "append"
    mapping: Path | None = None
    max_reject_rate: float | None = None


@dataclass(frozen=True)
class RefreshPlan:
    """The ``[refresh]`` section of a workspace, resolved."""

    sources: tuple[RefreshSource, ...]
    analysis_config: Path | None = None
    tags: Path | None = None


@dataclass(frozen=True)
class RefreshReport:
    """What one refresh did.

    Attributes
    ----------
    imports
        The report of every source's import, in the order configured (status ``skipped``
        for a file imported before unchanged).
    analysis_id, as_of
        The analysis stored by this refresh.
    previous_analysis_id
        The newest analysis stored before it (``None`` for the first).
    tags
        The tag application's summary (:meth:`custlens.tags.TagRun.summary`).
    migrations
        Per segmentation stored in both analyses: the snapshot ids ``from`` and ``to``
        (for ``custlens segment migrate``), ``customers`` in either and ``moved`` (customers
        whose segment differs, entering or leaving included).
    seconds
        Time taken.
    """

    imports: tuple[ImportReport, ...]
    analysis_id: str
    as_of: date
    previous_analysis_id: str | None
    tags: dict[str, Any]
    migrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The refresh as plain values (for the command line and JSON)."""
        return {
            "sources": [
                {
                    "table": r.table,
                    "file": r.path,
                    "mode": r.mode,
                    "status": r.status,
                    "rows_read": r.rows_read,
                    "rows_loaded": r.rows_loaded,
                    "rows_inserted": r.rows_inserted,
                    "rows_updated": r.rows_updated,
                    "rows_unchanged": r.rows_unchanged,
                    "rows_rejected": r.rows_rejected,
                    "import_id": r.import_id,
                }
                for r in self.imports
            ],
            "analysis_id": self.analysis_id,
            "as_of": self.as_of.isoformat(),
            "previous_analysis_id": self.previous_analysis_id,
            "tags": self.tags,
            "migrations": self.migrations,
            "seconds": self.seconds,
        }


def _path(value: Any, where: str, key: str, base: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' must be a file path (text); got {value!r}")
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def refresh_plan(workspace: Workspace) -> RefreshPlan:
    """Read and check the ``[refresh]`` section of the workspace's ``workspace.toml``.

    Raises
    ------
    ConfigError
        When the section is missing or has no sources (the message shows what to add), or
        an entry has an unknown key, an unknown table or mode, or a path that is not text.
    """
    from custlens.ingest.importer import IMPORT_MODES, UPSERT_TABLES
    from custlens.schema import TABLES

    settings = workspace.path / "workspace.toml"
    section = workspace.settings.extra.get(SECTION)
    if not isinstance(section, Mapping) or not section.get("sources"):
        raise ConfigError(
            f"{settings}: no sources to refresh; add a [[refresh.sources]] entry per file, e.g.\n{_EXAMPLE}"
        )
    for key in section:
        if key not in _SECTION_KEYS:
            raise ConfigError(
                f"{settings}: unknown key [refresh] {key!r}{did_you_mean(key, _SECTION_KEYS)}; "
                f"expected {', '.join(_SECTION_KEYS)}"
            )
    raw_sources = section["sources"]
    if not isinstance(raw_sources, list) or not all(isinstance(s, Mapping) for s in raw_sources):
        raise ConfigError(f"{settings}: [refresh] sources must be an array of tables ([[refresh.sources]])")
    base = workspace.path
    sources = []
    for number, raw in enumerate(raw_sources, start=1):
        where = f"{settings} [[refresh.sources]] #{number}"
        for key in raw:
            if key not in _SOURCE_KEYS:
                raise ConfigError(
                    f"{where}: unknown key {key!r}{did_you_mean(key, _SOURCE_KEYS)}; expected {', '.join(_SOURCE_KEYS)}"
                )
        table = raw.get("table")
        if table not in TABLES:
            raise ConfigError(
                f"{where}: 'table' must be one of {', '.join(TABLES)}; got {table!r}"
                + (did_you_mean(str(table), TABLES) if isinstance(table, str) else "")
            )
        if "file" not in raw:
            raise ConfigError(f"{where}: 'file' is missing (the source file to import into {table!r})")
        mode = raw.get("mode", "append")
        if mode not in IMPORT_MODES:
            raise ConfigError(f"{where}: 'mode' must be 'append' or 'upsert'; got {mode!r}")
        if mode == "upsert" and table not in UPSERT_TABLES:
            raise ConfigError(
                f"{where}: 'mode' 'upsert' is supported for {' and '.join(UPSERT_TABLES)}; got table {table!r}"
            )
        rate = raw.get("max_reject_rate")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1):
            raise ConfigError(f"{where}: 'max_reject_rate' must be a number between 0 and 1; got {rate!r}")
        sources.append(
            RefreshSource(
                table=str(table),
                file=_path(raw["file"], where, "file", base),
                mode=str(mode),
                mapping=_path(raw["mapping"], where, "mapping", base) if "mapping" in raw else None,
                max_reject_rate=None if rate is None else float(rate),
            )
        )
    where = f"{settings} [refresh]"
    return RefreshPlan(
        sources=tuple(sources),
        analysis_config=(
            _path(section["analysis_config"], where, "analysis_config", base) if "analysis_config" in section else None
        ),
        tags=_path(section["tags"], where, "tags", base) if "tags" in section else None,
    )


def refresh(workspace: Workspace | str | Path, *, as_of: date | str | None = None) -> RefreshReport:
    """Re-import the configured sources, recompute and store the analysis and the tags.

    Every source of ``[refresh]`` in ``workspace.toml`` is imported in the order listed
    with its mode (:func:`custlens.ingest.import_file`; each import all or nothing, a file
    already imported unchanged is skipped). Then the standard analysis is run and stored
    with its segment snapshots (:func:`custlens.analysis.analyze`) and the tags are
    applied to it (:func:`custlens.tags.apply_tags`). A failed import stops the refresh:
    the sources before it stay imported, and the next refresh skips them.

    Parameters
    ----------
    workspace
        A :class:`~custlens.warehouse.Workspace` open for writing (with its key when a
        source fills ``identity``), or its folder.
    as_of
        The as-of date of the analysis and the tags; default the last transaction day.

    Returns
    -------
    RefreshReport

    Raises
    ------
    ConfigError
        When ``workspace.toml`` has no ``[refresh]`` sources or an invalid entry.
    InputError
        When a configured file does not exist (nothing is imported then), or an import
        refuses its file.
    RejectedImportError
        When a source has more rejected rows than allowed; it is not imported.
    """
    from custlens.warehouse import Workspace

    if isinstance(workspace, (str, Path)):
        with Workspace.open(workspace) as ws:
            return refresh(ws, as_of=as_of)
    if not isinstance(workspace, Workspace):
        raise InputError(f"'workspace' must be a Workspace or its folder; got {type(workspace).__name__}")
    if workspace.read_only:
        raise InputError(f"{workspace.path}: opened read-only; a refresh imports into the workspace")
    started = time.perf_counter()
    plan = refresh_plan(workspace)
    missing = [s for s in plan.sources if not s.file.is_file()]
    if missing:
        raise InputError(
            f"{missing[0].file}: no such file (source for table {missing[0].table!r} in "
            f"{workspace.path / 'workspace.toml'} [refresh]); nothing was imported"
        )
    reports = tuple(_import(workspace, source) for source in plan.sources)
    return _analyse(workspace, plan, reports, as_of, started)


def _import(workspace: Workspace, source: RefreshSource) -> ImportReport:
    from custlens.ingest import import_file

    return import_file(
        workspace,
        source.file,
        table=source.table,
        mapping=source.mapping,
        max_reject_rate=source.max_reject_rate,
        mode=source.mode,  # type: ignore[arg-type]  # checked by refresh_plan
    )


def _analyse(
    workspace: Workspace,
    plan: RefreshPlan,
    reports: tuple[ImportReport, ...],
    as_of: date | str | None,
    started: float,
) -> RefreshReport:
    from custlens.analysis import analyze, list_analyses
    from custlens.tags import apply_tags

    before = list_analyses(workspace)["analysis_id"].to_pylist()
    stored = analyze(workspace, as_of=as_of, config=plan.analysis_config)
    run = apply_tags(workspace, plan.tags, analysis_id=stored.analysis_id)
    previous = before[-1] if before else None
    return RefreshReport(
        imports=reports,
        analysis_id=stored.analysis_id,
        as_of=stored.as_of,
        previous_analysis_id=previous,
        tags=run.summary(),
        migrations=_migrations(stored, previous),
        seconds=round(time.perf_counter() - started, 3),
    )


def _migrations(stored: StoredAnalysis, previous: str | None) -> dict[str, dict[str, Any]]:
    """Customers moved per segmentation between the previous analysis and this one."""
    from custlens.analysis import StoredAnalysis

    if previous is None:
        return {}
    earlier = StoredAnalysis(stored.con, previous)
    out: dict[str, dict[str, Any]] = {}
    for method in stored.methods:
        if method not in earlier.snapshots:
            continue
        moves = stored.migration(earlier, method).customers
        counts = moves.aggregate(
            customers=moves.count(), moved=(moves.from_segment != moves.to_segment).sum()
        ).to_pyarrow()
        out[method] = {
            "from": earlier.snapshots[method],
            "to": stored.snapshots[method],
            "customers": int(counts["customers"][0].as_py()),
            "moved": int(counts["moved"][0].as_py() or 0),
        }
    return out
