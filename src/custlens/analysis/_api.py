"""The entry points: :func:`analyze` runs and stores; :class:`StoredAnalysis` reads back.

Every edge (the report, the demo, the CLI, the service) reads a :class:`StoredAnalysis`,
so two screens never disagree about a customer: the numbers were computed once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens.analysis import _store
from custlens.analysis._config import AnalysisConfig, load_analysis_config
from custlens.errors import InputError, NotFoundError, did_you_mean

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from custlens.segment import Migration
    from custlens.warehouse import Workspace

__all__ = ["analyze", "StoredAnalysis", "load_analysis", "list_analyses", "delete_analysis", "TABLE_NAMES"]

TABLE_NAMES = ("customers", "transactions", "receivables", "interactions", "leads", "survey_answers")
"""Canonical tables the analysis reads (``identity`` never: personal data is not analysed)."""


def _tables_of(source: Any) -> tuple[dict[str, Any], Any]:
    """The input tables and the connection to store on: a workspace's own, or in-memory DuckDB."""
    from custlens.warehouse import Workspace

    if isinstance(source, (str, Path)):
        source = Workspace.open(source)
    if isinstance(source, Workspace):
        if source.read_only:
            raise InputError(f"{source.path}: opened read-only; the analysis is stored in the workspace")
        return {name: source.table(name) for name in TABLE_NAMES}, source.con
    if isinstance(source, Mapping):
        import ibis

        from custlens._frames import as_ibis

        unknown = [k for k in source if k not in TABLE_NAMES]
        if unknown:
            raise InputError(
                f"unknown table {unknown[0]!r}{did_you_mean(str(unknown[0]), TABLE_NAMES)}; "
                f"the analysis reads {', '.join(TABLE_NAMES)}"
            )
        tables = {name: _prepare(name, as_ibis(data, name)) for name, data in source.items() if data is not None}
        from custlens.warehouse.compat import DUCKDB_CONFIG

        con = ibis.duckdb.connect(**DUCKDB_CONFIG)
        con.con.execute("SET enable_progress_bar = false")  # no output from the library
        return tables, con
    raise InputError(
        f"'source' must be a Workspace, a workspace folder or a mapping of tables by name; got {type(source).__name__}"
    )


def _prepare(name: str, table: ir.Table) -> ir.Table:
    """A user's table as the analysis reads it: canonical types, customer ids as text.

    Text dates and amounts are converted and checked (:func:`custlens.features.coerce.typed`);
    ``transactions`` must hold ``customer_id``, ``ordered_at`` and ``amount``.
    """
    from custlens.features.coerce import typed
    from custlens.schema import table as schema_table

    spec = schema_table(name)
    if name == "transactions":
        missing = [c for c in ("customer_id", "ordered_at", "amount") if c not in table.columns]
        if missing:
            raise InputError(
                f"transactions: no column {missing[0]!r}{did_you_mean(missing[0], table.columns)}; the analysis reads "
                f"customer_id, ordered_at and amount (and order_id, return_flag, cost, margin, quantity when present); "
                f"columns: {', '.join(table.columns)}"
            )
    dates = [c.name for c in spec.columns if c.dtype in ("date", "timestamp('UTC')")]
    numbers = [c.name for c in spec.columns if c.dtype in ("float64", "int64")]
    out = typed(table, dates=dates, numbers=numbers, what=name)
    ids = {c: out[c].cast("string") for c in ("customer_id", "respondent_id") if c in out.columns}
    return out.mutate(**ids) if ids else out


def analyze(
    source: Workspace | str | Path | Mapping[str, Any],
    *,
    as_of: date | str | None = None,
    config: AnalysisConfig | Mapping[str, Any] | str | Path | None = None,
) -> StoredAnalysis:
    """Run the standard analysis for one as-of date and store it.

    Computes, once each: value indicators, purchase histories, the purchase and spend
    models and every buyer's lifetime value, churn risk, the important-customer score,
    every configured segmentation (RFM, relationship state, lifecycle, ABC, pyramid, value
    matrix, CLV matrix, k-means), the state flow, satisfaction indices with IPMA and Kano
    (when survey answers exist), and the playbook per segment. See ``docs/analysis.md``.

    Parameters
    ----------
    source
        A :class:`~custlens.warehouse.Workspace` (or its folder) opened for writing: the
        analysis reads its canonical tables and is stored in it. Or a mapping of canonical
        tables by name (Arrow, pandas, polars or Ibis; ``transactions`` required): the
        analysis is stored in an in-memory DuckDB database that lives with the result.
    as_of
        The as-of date (inclusive); default the last transaction day.
    config
        An analysis configuration TOML file, a mapping of its sections, or an
        :class:`AnalysisConfig`; default the shipped defaults.

    Returns
    -------
    StoredAnalysis
        The stored analysis, read back from where it was stored.
    """
    from custlens import __version__
    from custlens.analysis._pipeline import Pipeline

    started = time.perf_counter()
    resolved = load_analysis_config(config)
    tables, con = _tables_of(source)
    pipeline = Pipeline(tables, as_of, resolved)
    analysis_id = _store.save(con, pipeline, custlens_version=__version__, seconds_so_far=time.perf_counter() - started)
    return StoredAnalysis(con, analysis_id)


def _connection(workspace: Workspace | str | Path | Any) -> tuple[Any, Workspace | None]:
    """The connection to read from, and the workspace opened here for it (``None`` if given)."""
    from custlens.warehouse import Workspace

    if isinstance(workspace, (str, Path)):
        opened = Workspace.open(workspace, read_only=True)
        return opened.con, opened
    if isinstance(workspace, Workspace):
        return workspace.con, None
    return workspace, None  # an Ibis connection


def list_analyses(workspace: Workspace | str | Path | Any) -> pa.Table:
    """The stored analyses of a workspace: ``analysis_id, as_of, created_at, config_hash, customers``.

    Ordered by as-of date, then by creation.
    """
    con, opened = _connection(workspace)
    try:
        return _store.run_ids(con)
    finally:
        if opened is not None:
            opened.close()


def load_analysis(
    workspace: Workspace | str | Path | Any, *, analysis_id: str | None = None, as_of: date | str | None = None
) -> StoredAnalysis:
    """A stored analysis: by id, else the newest run for ``as_of``, else the newest run of the latest as-of date.

    Given a workspace folder, it is opened read-only and stays open until the returned
    analysis is closed (``with load_analysis("ws") as stored: ...``).

    Raises
    ------
    NotFoundError
        When the workspace has no stored analysis (the message says how to make one), or
        none with the id or as-of date asked for.
    """
    con, opened = _connection(workspace)
    try:
        stored = _load(con, analysis_id, as_of)
    except BaseException:
        if opened is not None:
            opened.close()
        raise
    stored._workspace = opened  # a folder given: the stored analysis keeps it open until close()
    return stored


def _load(con: Any, analysis_id: str | None, as_of: date | str | None) -> StoredAnalysis:
    runs = _store.run_ids(con)
    if analysis_id is not None:
        return StoredAnalysis(con, analysis_id)
    if runs.num_rows == 0:
        raise NotFoundError("the workspace has no stored analysis yet; run one first (custlens analyze --workspace W)")
    ids = runs["analysis_id"].to_pylist()
    if as_of is not None:
        from custlens.features.coerce import to_date

        day = to_date(as_of, "as_of")
        dated = [aid for aid, d in zip(ids, runs["as_of"].to_pylist()) if d == day]
        if not dated:
            known = sorted({d.isoformat() for d in runs["as_of"].to_pylist()})
            raise NotFoundError(
                f"no stored analysis as of {day.isoformat()} (stored as-of dates: {', '.join(known[-5:])}); "
                f"run one (custlens analyze --workspace W --as-of {day.isoformat()})"
            )
        return StoredAnalysis(con, dated[-1])
    return StoredAnalysis(con, ids[-1])


def delete_analysis(workspace: Workspace | str | Path | Any, analysis_id: str) -> None:
    """Remove a stored analysis (its customers, results and segment snapshots).

    ``workspace`` must be open for writing (a :class:`~custlens.warehouse.Workspace` or its
    Ibis connection).
    """
    from custlens.warehouse import Workspace

    if isinstance(workspace, (str, Path)):
        with Workspace.open(workspace) as ws:
            _store.delete(ws.con, analysis_id)
        return
    _store.delete(workspace.con if isinstance(workspace, Workspace) else workspace, analysis_id)


class StoredAnalysis:
    """One stored analysis, read from the workspace (nothing is recomputed).

    Attributes
    ----------
    analysis_id
        ``<as_of>.<n>``: the n-th analysis stored for that as-of date.
    as_of, created_at, config, config_hash, models, details, snapshots, skipped, timings
        The stored run: the configuration (plain data), the fitted models' parameters and
        fit statistics, headline figures and method details, the segment snapshot id per
        method, parts left out (with the reason) and seconds per part.
    """

    def __init__(self, con: Any, analysis_id: str) -> None:
        run = _store.read_run(con, analysis_id)
        self.con = con
        self._workspace: Workspace | None = None
        self.analysis_id: str = analysis_id
        self.as_of: date = run["as_of"]
        self.created_at = run["created_at"]
        self.config: dict[str, Any] = run["config"]
        self.config_hash: str = run["config_hash"]
        self.models: dict[str, Any] = run["models"]
        self.details: dict[str, Any] = run["details"]
        self.snapshots: dict[str, str] = run["snapshots"]
        self.skipped: dict[str, str] = run["skipped"]
        self.timings: dict[str, float] = run["timings"]
        self.custlens_version: str = run["custlens_version"]
        self.n_customers: int = int(run["customers"])

    def close(self) -> None:
        """Release the workspace :func:`load_analysis` opened for a folder (nothing otherwise)."""
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None

    def __enter__(self) -> StoredAnalysis:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StoredAnalysis({self.analysis_id!r}, as_of={self.as_of.isoformat()}, customers={self.n_customers:,})"

    # -- tables -----------------------------------------------------------------------------
    @property
    def methods(self) -> tuple[str, ...]:
        """The segmentations stored, in display order."""
        from custlens.analysis._config import METHODS

        return tuple(m for m in METHODS if m in self.snapshots)

    def customers(self) -> ir.Table:
        """Every customer's stored outputs (see ``docs/analysis.md``), as an Ibis table."""
        t = self.con.table(_store.CUSTOMERS_TABLE)
        return t.filter(t.analysis_id == self.analysis_id).drop("analysis_id")

    def result(self, name: str) -> pa.Table:
        """A small result table by name (``segment_summaries``, ``pareto``, ``state_flow``, ...).

        Raises
        ------
        NotFoundError
            When the analysis stored no table of that name; the message lists those stored
            and, for parts that were left out, why.
        """
        table = _store.read_result(self.con, self.analysis_id, name)
        if table is None:
            names = self.result_names
            why = "".join(f"; {k} left out: {v}" for k, v in self.skipped.items())
            raise NotFoundError(
                f"analysis {self.analysis_id} has no result {name!r}{did_you_mean(name, names)} "
                f"(stored: {', '.join(names)}){why}"
            )
        return table

    def has_result(self, name: str) -> bool:
        """Whether a small result table of that name was stored."""
        return name in self.result_names

    @cached_property
    def result_names(self) -> list[str]:
        """Names of the stored small result tables."""
        return _store.result_names(self.con, self.analysis_id)

    def _check_method(self, method: str) -> str:
        if method not in self.snapshots:
            raise NotFoundError(
                f"analysis {self.analysis_id} has no segmentation {method!r}{did_you_mean(method, self.snapshots)} "
                f"(stored: {', '.join(self.snapshots)})"
            )
        return self.snapshots[method]

    def segment_summary(self, method: str) -> pa.Table:
        """One row per segment of ``method``: size, shares, value, orders (SUMMARY_COLUMNS)."""
        import pyarrow.compute as pc

        self._check_method(method)
        summaries = self.result("segment_summaries")
        return summaries.filter(pc.equal(summaries["method"], method)).drop_columns(["method"])

    def segments(self, method: str) -> ir.Table:
        """``customer_id, segment, segment_zh`` of every customer ``method`` assigned."""
        import ibis

        from custlens.segment import load_assignments

        assignments = load_assignments(self.con, self._check_method(method))
        summary = self.segment_summary(method).select(["segment", "segment_zh"])
        names = ibis.memtable(summary).rename(_seg="segment")
        j = assignments.left_join(names, assignments.segment == names._seg)
        return j.select("customer_id", "segment", segment_zh=j.segment_zh.fill_null(""))

    def migration(self, earlier: StoredAnalysis | str, method: str) -> Migration:
        """How customers moved between the segments of ``method`` from ``earlier`` to this analysis."""
        from custlens.segment import migration

        before = earlier if isinstance(earlier, StoredAnalysis) else StoredAnalysis(self.con, earlier)
        return migration(self.con, before._check_method(method), self._check_method(method))

    def at_risk(self, *, bands: tuple[str, ...] | None = None, top: int | None = None) -> ir.Table:
        """Customers in the at-risk bands, most value at stake first, with a ``rank``."""
        import ibis

        chosen = tuple(bands or self.config["churn"]["bands"])
        c = self.customers()
        kept = c.filter(c.risk_band.isin(chosen))
        kept = kept.mutate(rank=ibis.row_number().over(order_by=[ibis.desc(kept.value_at_stake), kept.customer_id]) + 1)
        kept = kept.order_by("rank")
        return kept.limit(top) if top is not None else kept

    # -- models -------------------------------------------------------------------------------
    def _model(self, role: str) -> Any:
        from custlens.clv import MODELS

        entry = self.models.get(role)
        if entry is None:
            return None
        return MODELS[entry["model"]].from_params(entry["params"])

    @cached_property
    def purchase_model(self) -> Any:
        """The fitted purchase model (BG/NBD, MBG/NBD or Pareto/NBD), restored from its parameters."""
        return self._model("purchase")

    @cached_property
    def spend_model(self) -> Any:
        """The fitted Gamma-Gamma spend model restored from its parameters (``None`` without one)."""
        return self._model("spend")

    # -- one customer --------------------------------------------------------------------------
    def customer(self, customer_id: str) -> dict[str, Any]:
        """One customer's stored outputs and segment under every method.

        Raises
        ------
        NotFoundError
            When the analysis has no customer with that id.
        """
        c = self.customers()
        rows = c.filter(c.customer_id == str(customer_id)).to_pyarrow().to_pylist()
        if not rows:
            raise NotFoundError(f"analysis {self.analysis_id} has no customer {customer_id!r}")
        segments: dict[str, Any] = {}
        for method in self.methods:
            s = self.segments(method)
            found = s.filter(s.customer_id == str(customer_id)).to_pyarrow().to_pylist()
            segments[method] = found[0] if found else None
        return {"customer": rows[0], "segments": segments}
