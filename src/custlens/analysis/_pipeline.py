"""The standard analysis, computed once: every method run for one as-of date.

:class:`Pipeline` holds the canonical tables, the as-of date and the configuration; each
part of the analysis is a cached property computed on first use and never again, and each
part reads the parts it needs (the value indicators are computed once and read by
segmentation, scoring and the CLV matrix; the purchase models are fitted once and read by
CLV, churn and the relationship states). Nothing here writes: :mod:`._store` saves the
parts, and every edge reads what was saved.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custlens.analysis._config import AnalysisConfig
from custlens.errors import CustlensError, InputError
from custlens.warehouse.compat import cache as cache_table
from custlens.warehouse.compat import to_arrow

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from custlens.clv import CLVResult, ComponentsResult
    from custlens.scoring import ScoreResult
    from custlens.segment import SegmentResult

__all__ = [
    "Pipeline",
    "customer_columns",
    "HISTORY_COLUMNS",
    "CLV_COLUMNS",
    "CHURN_COLUMNS",
    "SCORE_COLUMNS",
    "RFM_SCORE_COLUMNS",
]

log = logging.getLogger(__name__)

STORED_ROW_BYTES = 400
"""About the bytes of one row of the stored per-customer table in Arrow (50 columns; 382
measured on 108,818 customers of the demo company): sizes the parts fetched from Spark."""

HISTORY_COLUMNS = ("frequency", "recency", "T", "monetary_value")
"""Purchase-history columns of the stored per-customer table (in the analysis time unit)."""
CLV_COLUMNS = ("p_alive", "expected_purchases", "expected_spend", "clv")
"""Lifetime-value columns of the stored per-customer table."""
CHURN_COLUMNS = ("risk_band", "overdue_ratio", "next_order_in", "expected_next_order", "value_at_stake")
"""Churn columns of the stored per-customer table."""
SCORE_COLUMNS = ("score", "score_rank", "score_tier")
"""Important-customer score columns of the stored per-customer table."""
RFM_SCORE_COLUMNS = ("r_score", "f_score", "m_score")
"""RFM score columns of the stored per-customer table."""


def _indicator_columns() -> tuple[str, ...]:
    from custlens.features import INDICATOR_COLUMNS

    return tuple(INDICATOR_COLUMNS)


def customer_columns() -> tuple[str, ...]:
    """Columns of the stored per-customer table, in order (``customer_id`` first)."""
    return (
        *_indicator_columns(),
        *HISTORY_COLUMNS,
        *CLV_COLUMNS,
        *CHURN_COLUMNS,
        *SCORE_COLUMNS,
        *RFM_SCORE_COLUMNS,
    )


class Pipeline:
    """Every part of the standard analysis of one company at one as-of date.

    Parameters
    ----------
    tables
        Canonical tables by name as Ibis tables (``transactions`` required and not empty;
        ``customers``, ``receivables``, ``interactions``, ``leads``, ``survey_answers``
        optional: ``None`` or empty leaves their parts out, with the reason in
        :attr:`skipped`).
    as_of
        The as-of date (inclusive); default the last transaction day.
    config
        The resolved configuration.
    """

    def __init__(self, tables: Mapping[str, ir.Table | None], as_of: Any, config: AnalysisConfig) -> None:
        self.config = config
        self.tables = dict(tables)
        self.timings: dict[str, float] = {}
        self.skipped: dict[str, str] = {}
        tx = self.tables.get("transactions")
        if tx is None:
            raise InputError("the analysis needs a 'transactions' table")
        self.as_of: date = self._resolve_as_of(tx, as_of)

    # -- inputs -----------------------------------------------------------------------------
    @staticmethod
    def _resolve_as_of(tx: ir.Table, as_of: Any) -> date:
        from custlens.features import as_of_date

        if int(tx.count().to_pyarrow().as_py()) == 0:
            raise InputError("transactions: no rows; import transactions before analysing")
        return as_of_date(tx, as_of)

    def _table(self, name: str) -> ir.Table | None:
        """A canonical table, or ``None`` when absent or empty (one count query, once)."""
        cache: dict[str, ir.Table | None] = self.__dict__.setdefault("_present", {})
        if name not in cache:
            t = self.tables.get(name)
            cache[name] = t if t is not None and int(t.count().to_pyarrow().as_py()) > 0 else None
        return cache[name]

    def _timed(self, name: str, fn: Callable[[], Any]) -> Any:
        """``fn()``, timed and logged as stage ``name``; the heap's freed memory is then trimmed."""
        from custlens._memory import release_free_memory

        started = time.perf_counter()
        value = fn()
        release_free_memory()  # what the stage's queries freed is not kept resident (custlens._memory)
        self.timings[name] = round(time.perf_counter() - started, 3)
        log.info("analysis: %s in %.2f s", name, self.timings[name])
        return value

    # -- features ----------------------------------------------------------------------------
    def features(self, window_days: int | None = None, period_days: int = 90, periods: int = 4) -> ir.Table:
        """Every per-customer feature (all customers) for one window setting, computed once.

        :func:`custlens.features.customer_features`: the value indicators, then the window
        and activity features of ``window_days`` (RFM's frequency window) and ``periods``
        periods of ``period_days`` days (loyalty, lifecycle trend). The shipped
        configurations share one setting, so the table is computed once.
        """
        from custlens.features import customer_features

        key = (window_days, int(period_days), int(periods))
        cache: dict[tuple[int | None, int, int], ir.Table] = self.__dict__.setdefault("_features", {})
        if key not in cache:

            def run() -> ir.Table:
                expr = customer_features(
                    self.tables["transactions"],
                    as_of=self.as_of,
                    receivables=self._table("receivables"),
                    interactions=self._table("interactions"),
                    customers=self._table("customers"),
                    window_days=window_days,
                    period_days=int(period_days),
                    periods=int(periods),
                )
                return cache_table(expr)

            cache[key] = self._timed(f"features {key}", run)
        return cache[key]

    @cached_property
    def indicators(self) -> ir.Table:
        """Value indicators of every customer (buyers and customers without purchases)."""
        return self.features().select(*_indicator_columns())

    @cached_property
    def buyers(self) -> ir.Table:
        """The features of customers with at least one purchase order."""
        f = self.features()
        return f.filter(f.order_count > 0)

    def _method_features(self, method: str) -> ir.Table:
        """The feature table whose windows match ``method``'s configuration."""
        from custlens.segment import load_config

        user = self.config.segment.get(method)
        if method == "rfm":
            window = load_config("rfm", user)["measures"]["frequency_window_days"]
            return self.features(window_days=int(window) or None)
        if method == "state":
            loyal = load_config("state", user)["loyal"]
            return self.features(period_days=int(loyal["period_days"]), periods=int(loyal["window_periods"]))
        cfg = load_config("lifecycle", user)
        return self.features(period_days=int(cfg["period_days"]), periods=int(cfg["window_periods"]))

    @cached_property
    def history_expr(self) -> ir.Table:
        """Purchase histories in the engine (frequency, recency, T, monetary value), in the analysis time unit."""
        from custlens.features import purchase_history

        expr = purchase_history(self.tables["transactions"], time_unit=self.config.time_unit, as_of=self.as_of)
        return expr if self._on_duckdb else cache_table(expr)

    @cached_property
    def history(self) -> pa.Table:
        """Purchase histories (frequency, recency, T, monetary value) in the analysis time unit, by customer id."""
        return self._timed("history", lambda: to_arrow(self.history_expr.order_by("customer_id")))

    # -- value --------------------------------------------------------------------------------
    @cached_property
    def clv(self) -> CLVResult:
        """The fitted purchase and spend models and every buyer's lifetime value.

        The models are fitted on sufficient statistics computed in the engine, and the
        buyers are scored there: on Spark by the executors (:mod:`._models`).
        """
        from dataclasses import replace

        from custlens.clv._engine import fit_models, score

        c = self.config["clv"]
        spend = None if c["spend"] == "none" else str(c["spend"])

        def run() -> CLVResult:
            purchase, spend_model = fit_models(
                self.history_expr, model=str(c["model"]), spend=spend, penalizer=float(c["penalizer"])
            )
            options = {
                "horizon_months": float(c["horizon_months"]),
                "monthly_discount": float(c["monthly_discount"]),
                "time_unit": self.config.time_unit,
                "margin": float(c["margin"]),
            }
            result = score(self.history_expr, self.history, purchase, spend_model, options, on_duckdb=self._on_duckdb)
            return replace(result, settings={**result.settings, "penalizer": float(c["penalizer"])})

        return self._timed("clv", run)

    @cached_property
    def churn(self) -> pa.Table:
        """Per-buyer churn outputs: risk band, overdue ratio, next order, value at stake."""
        from custlens.churn import churn_table

        def run() -> pa.Table:
            summary = self.history.select(["customer_id", "frequency", "recency", "T"])
            clv = self.clv.table
            summary = summary.append_column("p_alive", clv["p_alive"]).append_column("clv", clv["clv"])
            table = churn_table(summary, time_unit=self.config.time_unit, as_of=self.as_of, value_column="clv")
            # only what is stored or summarised is kept (at 10M buyers each column is 80 MB)
            return table.select(["customer_id", *[c for c in CHURN_COLUMNS if c in table.column_names]])

        return self._timed("churn", run)

    def components(self) -> ComponentsResult | None:
        """Every buyer's CLV components (CLV1..CLV6 and the cost lines): historical, current, potential.

        :func:`custlens.clv.value_components` with the fitted models and expected spend of
        :attr:`clv`, the interactions and customers when present and ``[value]``'s costs
        (none by default); ``None`` when it cannot be computed (the reason in :attr:`skipped`).
        Not kept: the analysis stores their sums (:attr:`value_results`), and at 10M buyers
        the per-buyer rows take about 3.5 GB.
        """
        from custlens.clv import value_components

        v = self.config["value"]

        def run() -> ComponentsResult:
            return value_components(
                self.tables["transactions"],
                self.history,
                self.clv,
                as_of=self.as_of,
                interactions=self._table("interactions"),
                customers=self._table("customers"),
                costs=v["costs"],
                current_months=float(v["current_months"]),
                baseline_months=float(v["baseline_months"]),
                referral_channels=tuple(v["referral_channels"]),
            )

        try:
            result: ComponentsResult = self._timed("value components", run)
        except CustlensError as exc:
            self.skipped["value components"] = str(exc)
            return None
        return result

    @cached_property
    def score(self) -> ScoreResult | None:
        """The important-customer score of every customer (entropy or equal weights)."""
        from custlens.scoring import score_customers

        s = self.config["score"]
        present = set(self.indicators.columns)
        columns = [c for c in s["indicators"] if c in present]
        missing = [c for c in s["indicators"] if c not in present]
        if missing:
            raise InputError(f"[score] indicators: {', '.join(missing)} are not value indicators")
        ahp = None
        if s.get("ahp"):
            from custlens.scoring import load_ahp

            ahp = load_ahp(s["ahp"])

        def run() -> ScoreResult:
            from dataclasses import replace

            result = score_customers(
                self.indicators,
                columns if ahp is None else None,  # AHP scores the elements it judges
                cost=[c for c in s["cost"] if c in columns],
                method=None if ahp is not None else s["method"],
                ahp=ahp,
                on_missing="worst",
            )
            # read by the per-customer table, the results and the saved run: ranked once
            return replace(result, table=cache_table(result.table))

        return self._timed("score", run)

    # -- segmentations ------------------------------------------------------------------------
    @cached_property
    def buyers_with_clv(self) -> ir.Table:
        """Buyers' indicators with their ``p_alive`` and ``clv``."""
        import ibis

        clv = ibis.memtable(self.clv.table.select(["customer_id", "p_alive", "clv"]))
        clv = clv.rename(_cid="customer_id")
        b = self.buyers
        joined = b.left_join(clv, b.customer_id == clv._cid).drop("_cid")
        return joined.mutate(clv=joined.clv.fill_null(0.0))

    @cached_property
    def segments(self) -> dict[str, SegmentResult]:
        """Every configured segmentation, by method name."""
        from custlens import segment as seg

        leads = self._table("leads")
        cfg = self.config.segment
        runners: dict[str, Callable[[], SegmentResult]] = {
            "rfm": lambda: seg.rfm(_buyers(self._method_features("rfm")), as_of=self.as_of, config=cfg.get("rfm")),
            "state": lambda: seg.relationship_state(
                self._method_features("state"),
                as_of=self.as_of,
                leads=leads,
                p_alive=self.clv.table.select(["customer_id", "p_alive"]),
                config=cfg.get("state"),
            ),
            "lifecycle": lambda: seg.lifecycle_stage(
                _buyers(self._method_features("lifecycle")), as_of=self.as_of, config=cfg.get("lifecycle")
            ),
            "abc": lambda: seg.abc_classes(self.buyers, value_col="revenue", as_of=self.as_of, config=cfg.get("abc")),
            "pyramid": lambda: seg.value_pyramid(
                self.buyers, value_col="revenue", as_of=self.as_of, config=cfg.get("pyramid")
            ),
            "value_matrix": lambda: seg.value_matrix(self.buyers, as_of=self.as_of, config=cfg.get("value_matrix")),
            "clv_matrix": lambda: seg.clv_matrix(
                self.buyers_with_clv,
                current_col=self.config["clv_matrix"]["current"],
                potential_col="clv",
                value_col="revenue",
                as_of=self.as_of,
                config=cfg.get("clv_matrix"),
            ),
            "cluster": lambda: seg.kmeans_segments(self.buyers_with_clv, as_of=self.as_of, config=cfg.get("cluster")),
        }
        out: dict[str, SegmentResult] = {}
        for method in self.config.methods:
            # computed once, not once per reader (summaries, snapshot, per-customer table)
            out[method] = self._timed(f"segment {method}", functools.partial(_cached, runners[method]))
        return out

    @cached_property
    def _on_duckdb(self) -> bool:
        """Whether the transactions are DuckDB tables (else Spark: results are materialised once)."""
        from custlens.warehouse.compat import backend_name

        return backend_name(self.tables["transactions"]) == "duckdb"

    # -- the per-customer table -----------------------------------------------------------------
    @cached_property
    def _per_buyer(self) -> pa.Table:
        """The per-buyer columns computed in Python (history, CLV, churn), keyed by ``_cid``."""
        clv = self.clv.table
        churn = self.churn
        per_buyer = pa.table(
            {
                "_cid": self.history["customer_id"],
                **{c: self.history[c] for c in HISTORY_COLUMNS},
                **{c: clv[c] for c in CLV_COLUMNS},
                **{c: churn[c] for c in CHURN_COLUMNS if c in churn.column_names},
            }
        )
        if "expected_next_order" not in per_buyer.column_names:
            per_buyer = per_buyer.append_column("expected_next_order", pa.nulls(per_buyer.num_rows, pa.date32()))
        return per_buyer

    def customers_parts(self, memory_limit: int | None) -> int:
        """Into how many parts :meth:`customers_table` is cut to be stored within ``memory_limit`` bytes.

        Storing joins the per-buyer columns (an in-memory table) and the score and RFM
        results to the features; each join holds its right side in a hash table, about
        three times the side's size. On DuckDB the table is cut into parts by a hash of
        the customer id, so that the per-buyer rows of one part take at most a tenth of
        the engine's memory limit. On Spark ``memory_limit`` is what the driver may fetch
        at once (``spark.driver.maxResultSize``): each part comes to the driver, and is
        kept to a quarter of that (a stored row is about :data:`STORED_ROW_BYTES`). One
        part when the limit is unknown.
        """
        if not memory_limit or memory_limit <= 0:
            return 1
        if self._on_duckdb:
            return max(1, min(64, -(-self._per_buyer.nbytes * 10 // memory_limit)))
        return max(1, min(1024, -(-self._per_buyer.num_rows * STORED_ROW_BYTES * 4 // memory_limit)))

    @cached_property
    def _per_buyer_on_engine(self) -> ir.Table:
        """The per-buyer columns registered on the engine from Arrow once (Spark: every part reads them)."""
        import uuid

        from custlens.warehouse.compat import backend_of, register_arrow

        return register_arrow(backend_of(self.indicators), f"custlens_per_buyer_{uuid.uuid4().hex}", self._per_buyer)

    def customers_table(self, part: tuple[int, int] = (0, 1)) -> ir.Table:
        """One row per customer with every stored per-customer column (an Ibis expression).

        ``part = (i, n)``: only the customers whose id hashes to ``i`` modulo ``n``
        (:meth:`customers_parts`); each source is filtered before it is joined, so a part's
        joins hold a part of each side.
        """
        import ibis

        index, parts = part

        def mine(t: ir.Table, key: str) -> ir.Table:
            # Ibis' hash is a signed 64-bit integer: its remainder can be negative
            return t if parts == 1 else t.filter((t[key].hash() % parts + parts) % parts == index)

        ind = mine(self.indicators, "customer_id")
        # on Spark the in-memory table goes to the executors once, not once per part
        buyer_t = mine(ibis.memtable(self._per_buyer) if self._on_duckdb else self._per_buyer_on_engine, "_cid")
        out = ind.left_join(buyer_t, ind.customer_id == buyer_t._cid).drop("_cid")
        if self.score is not None:
            sc = self.score.table
            sc = sc.select(
                _sid=sc.customer_id.cast("string"), score=sc.score, score_rank=sc["rank"], score_tier=sc.tier
            )
            sc = mine(sc, "_sid")
            out = out.left_join(sc, out.customer_id == sc._sid).drop("_sid")
        else:
            out = out.mutate(
                score=ibis.null().cast("float64"),
                score_rank=ibis.null().cast("int64"),
                score_tier=ibis.null().cast("string"),
            )
        rfm = self.segments.get("rfm")
        if rfm is not None:
            r = rfm.customers
            r = r.select(_rid=r.customer_id.cast("string"), r_score=r.r_score, f_score=r.f_score, m_score=r.m_score)
            r = mine(r, "_rid")
            out = out.left_join(r, out.customer_id == r._rid).drop("_rid")
        else:
            out = out.mutate(**{c: ibis.null().cast("int64") for c in RFM_SCORE_COLUMNS})
        out = out.select(*customer_columns())
        # Spark has no time zone in its timestamp type: the stored columns are UTC, as on DuckDB
        naive = [n for n, t in out.schema().items() if t.is_timestamp() and t.timezone is None]
        return out.mutate(**{n: out[n].cast("timestamp('UTC')") for n in naive}) if naive else out

    # -- small result tables -----------------------------------------------------------------
    def results(self) -> dict[str, pa.Table]:
        """The small result tables by name (see ``docs/analysis.md``)."""
        out: dict[str, pa.Table] = {}
        out["segment_summaries"] = self._segment_summaries()
        out["pareto"] = self._pareto()
        out["clv_histogram"] = self._clv_histogram()
        out["churn_rates"] = self._timed("churn rates", self._churn_rates)
        out["score_weights"] = self._score_weights()
        out["risk_bands"] = self._risk_bands()
        if "rfm" in self.segments:
            from custlens.segment import rfm_heatmap

            out["rfm_heatmap"] = rfm_heatmap(self.segments["rfm"]).to_pyarrow()
        for method in ("value_matrix", "clv_matrix"):
            if method in self.segments:
                out[f"{method}_points"] = self._points(self.segments[method])
        if "cluster" in self.segments:
            out["cluster_profiles"] = self._cluster_profiles()
        if "state" in self.segments:
            out["state_flow"] = self._timed("state flow", self._state_flow)
        out["playbook"] = self._playbook(out["segment_summaries"])
        out.update(self._timed("satisfaction", self._satisfaction))
        out.update(self.value_results[0])
        out.update(self._timed("lost customers", self._lost))
        out.update(self._timed("cube", self._cube))
        return out

    def _segment_table(self, method: str) -> pa.Table | None:
        """``customer_id, segment`` of ``method``, or ``None`` when it was not run."""
        if method not in self.segments:
            return None
        c = self.segments[method].customers
        return to_arrow(c.select(customer_id=c.customer_id.cast("string"), segment=c.segment))

    @cached_property
    def value_results(self) -> tuple[dict[str, pa.Table], dict[str, Any] | None]:
        """CLV components overall and per ``[value] segments`` segment, the sensitivity table; the components' details.

        The per-buyer components are summed block by block (their rows are never built) and
        let go before the sensitivity.
        """

        from custlens.clv import clv_sensitivity

        components = self.components()
        if components is None:
            return {}, None
        v = self.config["value"]
        out = {"value_components": self._timed("value components summary", components.summary)}
        method = str(v["segments"])
        segments = self._timed("value components segments", lambda: self._segment_table(method))
        if segments is None:
            self.skipped["value components by segment"] = f"segmentation {method!r} ([value] segments) was not run"
        else:
            by = self._timed("value components by segment", functools.partial(components.by_segment, segments))
            out["value_components_by_segment"] = by.add_column(0, "method", pa.array([method] * by.num_rows))
        del segments
        # the sensitivity recomputes from the inputs and the model, not the per-buyer rows
        components = components.without_rows()
        try:
            out["clv_sensitivity"] = self._timed(
                "clv sensitivity",
                lambda: clv_sensitivity(
                    components,
                    relative=float(v["relative"]),
                    retention_points=float(v["retention_points"]),
                    growth_points=float(v["growth_points"]),
                ),
            )
        except CustlensError as exc:
            self.skipped["clv sensitivity"] = str(exc)
        return out, components.details

    def _lost(self) -> dict[str, pa.Table]:
        """Loss types of the lost customers (relationship state ``lost``); reasons and complaints from interactions."""
        from custlens.churn import churn_reasons, complaint_resolution, gap_returns, loss_types, reasons_by_segment

        if "state" not in self.segments:
            self.skipped["lost customers"] = "needs the relationship-state segmentation ('state' in [analysis] methods)"
            return {}
        cfg = self.config["lost"]
        states = self.segments["state"].customers
        lost_ids = states.filter(states.segment == "lost").select(_lid=states.customer_id.cast("string"))
        ind = self.indicators
        ind = ind.select(customer_id=ind.customer_id.cast("string"), last_purchase_at=ind.last_purchase_at)
        lost = ind.inner_join(lost_ids, ind.customer_id == lost_ids._lid).drop("_lid")
        lost_t = to_arrow(lost.order_by("customer_id"))
        gaps = gap_returns(self.tables["transactions"], as_of=self.as_of, config=self.config.segment.get("state"))
        types = loss_types(
            lost_t,
            p_alive=self.clv.table.select(["customer_id", "p_alive"]),
            gaps=to_arrow(gaps),
            p_alive_threshold=float(cfg["p_alive_threshold"]),
        )
        grouped = types.group_by(["loss_type", "loss_type_zh", "basis"], use_threads=False).aggregate(
            [("customer_id", "count")]
        )
        out = {
            "loss_types": grouped.rename_columns(["loss_type", "loss_type_zh", "basis", "customers"]).sort_by(
                [("loss_type", "ascending"), ("basis", "ascending")]
            )
        }
        interactions = self._table("interactions")
        if interactions is None:
            self.skipped["churn reasons"] = "no interactions"
            return out
        method = str(cfg["segments"])
        segments = self._segment_table(method)
        if segments is None:
            self.skipped["churn reasons by segment"] = f"segmentation {method!r} ([lost] segments) was not run"
        try:
            reasons = churn_reasons(lost_t, interactions, as_of=self.as_of, reasons=cfg["reasons"])
            by_segment = reasons_by_segment(reasons, segments)
            complaints = complaint_resolution(
                interactions, as_of=self.as_of, lost=lost_t, segments=segments, reasons=cfg["reasons"]
            )
        except CustlensError as exc:
            self.skipped["churn reasons"] = str(exc)
            return out
        label = pa.array([method if segments is not None else "all"] * by_segment.num_rows, pa.string())
        out["churn_reasons"] = by_segment.add_column(0, "method", label)
        label = pa.array([method if segments is not None else "all"] * complaints.num_rows, pa.string())
        out["complaint_resolution"] = complaints.add_column(0, "method", label)
        return out

    def _cube(self) -> dict[str, pa.Table]:
        """The ``[cube]`` measures by rows x columns with both subtotals and the grand total."""
        from custlens.cube import SEGMENT_METHODS, cube_table

        c = self.config["cube"]
        rows, columns = str(c["rows"]), str(c["columns"])
        segments = {}
        for dim in (rows, columns):
            if dim in SEGMENT_METHODS:
                if dim not in self.segments:
                    self.skipped["cube"] = f"segmentation {dim!r} ([cube] rows or columns) was not run"
                    return {}
                segments[dim] = self.segments[dim].customers.select("customer_id", "segment")
        try:
            table = cube_table(
                self.tables["transactions"],
                measures=list(c["measures"]),
                by=[rows, columns],
                customers=self._table("customers"),
                segments=segments,
                subtotals=[(rows, columns), (rows,), (columns,), ()],
                as_of=self.as_of,
            )
        except CustlensError as exc:
            self.skipped["cube"] = str(exc)
            return {}
        return {"cube": table}

    def _segment_summaries(self) -> pa.Table:
        tables = []
        for method, result in self.segments.items():
            summary = result.summary.to_pyarrow()
            tables.append(summary.add_column(0, "method", pa.array([method] * summary.num_rows, pa.string())))
        return pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({"method": []})

    def _pareto(self) -> pa.Table:
        from custlens.segment import pareto_curve

        return pareto_curve(self.buyers, value_col="revenue", points=int(self.config["points"]["pareto"])).to_pyarrow()

    def concentration(self) -> dict[str, float]:
        """Top-20 % value share and Gini coefficient of the buyers' revenue."""
        from custlens.segment import concentration

        return concentration(self.buyers, value_col="revenue")

    def _clv_histogram(self) -> pa.Table:
        values = self.clv.table["clv"].to_numpy(zero_copy_only=False).astype(float)
        values = values[np.isfinite(values)]
        bins = int(self.config["clv"]["histogram_bins"])
        if values.size == 0:
            return pa.table(
                {
                    "bin_start": pa.array([], pa.float64()),
                    "bin_end": pa.array([], pa.float64()),
                    "customers": pa.array([], pa.int64()),
                }
            )
        # equal-width bins up to the 99.5th percentile; the last bin holds the long tail
        top = float(np.quantile(values, 0.995))
        low = float(min(values.min(), 0.0))
        edges = np.linspace(low, top if top > low else low + 1.0, bins + 1)
        counts, _ = np.histogram(np.clip(values, low, edges[-1]), bins=edges)
        ends = edges[1:].copy()
        ends[-1] = max(float(values.max()), ends[-1])
        return pa.table({"bin_start": edges[:-1], "bin_end": ends, "customers": counts.astype(np.int64)})

    def _churn_rates(self) -> pa.Table:
        """Observed churn per calendar month from purchase activity (docs/churn.md)."""
        from custlens.churn import churn_rate_by_period
        from custlens.features import period_values

        periods = period_values(self.tables["transactions"], time_unit="M", as_of=self.as_of)
        active = periods.filter(periods.orders > 0)
        month = (active.period_start.year() * 12 + active.period_start.month() - 1).cast("int64")
        rates = churn_rate_by_period(active.select(customer_id=active.customer_id, period=month))
        labels = [f"{p // 12:04d}-{p % 12 + 1:02d}" for p in rates["period"].to_pylist()]
        return rates.append_column("month", pa.array(labels, pa.string()))

    def _risk_bands(self) -> pa.Table:
        """Buyers and value at stake per churn risk band."""
        churn = self.churn
        grouped = churn.group_by("risk_band").aggregate([("customer_id", "count"), ("value_at_stake", "sum")])
        return grouped.rename_columns(["risk_band", "customers", "value_at_stake"]).sort_by("risk_band")

    def overview(self) -> dict[str, float]:
        """Headline figures: customers, buyers, revenue, orders, repeat share, P(alive), CLV."""
        ind = self.indicators
        row = (
            ind.aggregate(
                customers=ind.count(),
                buyers=(ind.order_count > 0).sum(),
                repeat_buyers=(ind.order_count > 1).sum(),
                revenue=ind.revenue.sum(),
                orders=ind.order_count.sum(),
            )
            .to_pyarrow()
            .to_pylist()[0]
        )
        clv = self.clv.table
        churn = self.churn
        at_risk = pc.is_in(churn["risk_band"], value_set=pa.array(list(self.config["churn"]["bands"]), pa.string()))
        buyers = int(row["buyers"] or 0)
        return {
            "customers": float(row["customers"] or 0),
            "buyers": float(buyers),
            "revenue": float(row["revenue"] or 0.0),
            "orders": float(row["orders"] or 0),
            "repeat_share": float(row["repeat_buyers"] or 0) / buyers if buyers else 0.0,
            "mean_p_alive": float(pc.mean(clv["p_alive"]).as_py() or 0.0),
            "clv_total": float(pc.sum(clv["clv"]).as_py() or 0.0),
            "at_risk_customers": float(pc.sum(at_risk).as_py() or 0),
            "value_at_stake": float(pc.sum(pc.filter(churn["value_at_stake"], at_risk)).as_py() or 0.0),
        }

    def _score_weights(self) -> pa.Table:
        if self.score is None:
            return pa.table({"indicator": pa.array([], pa.string()), "weight": pa.array([], pa.float64())})
        weights = self.score.weights
        return pa.table(
            {
                "indicator": list(weights),
                "weight": [float(w) for w in weights.values()],
                "cost": [name in self.score.cost for name in weights],
            }
        )

    def _points(self, result: SegmentResult) -> pa.Table:
        """An even sample of at most ``[points] scatter`` customers of a matrix result.

        Every ``step``-th customer in customer-id order from the first (``step`` the
        ceiling of customers / limit), in that order. The positions come from
        :func:`custlens.warehouse.compat.ordered_rows`: one window over the whole table on
        DuckDB, by ranges of the order on a Spark cluster (no single partition).
        """
        from custlens.warehouse.compat import ordered_rows

        c = result.customers
        limit = int(self.config["points"]["scatter"])
        n = int(c.count().to_pyarrow().as_py())
        step = max(1, -(-n // limit))
        numbered = ordered_rows(c, [("customer_id", False)])
        keep = numbered.filter(numbered._row % step == 0).drop("_row", "_count")
        return to_arrow(keep.order_by("customer_id"))

    def _cluster_profiles(self) -> pa.Table:
        result = self.segments["cluster"]
        features = list(result.details.get("features", ())) if result.details else []
        c = result.customers.select(_cid=result.customers.customer_id.cast("string"), segment=result.customers.segment)
        b = self.buyers_with_clv
        j = b.inner_join(c, b.customer_id == c._cid)
        names = [f for f in (*features, "revenue", "clv") if f in b.columns]
        names = list(dict.fromkeys(names))
        agg = j.group_by("segment").aggregate(
            customers=j.count(), **{f"mean_{f}": j[f].cast("float64").mean() for f in names}
        )
        return agg.order_by("segment").to_pyarrow()

    def _state_flow(self) -> pa.Table:
        from custlens.segment import state_flow

        start = self.as_of - timedelta(days=int(self.config["state_flow"]["days"]))
        flow = state_flow(
            self.tables["transactions"],
            start,
            self.as_of,
            leads=self._table("leads"),
            config=self.config.segment.get("state"),
            end_states=self.segments["state"],
        )
        return flow.to_pyarrow()

    def _playbook(self, summaries: pa.Table) -> pa.Table:
        from custlens.playbook import load_playbook

        playbook = load_playbook(self.config["playbook"]["file"])
        tables = []
        for method in self.segments:
            if method not in playbook.schemes:
                continue
            acts = playbook.table(method)
            mask = pc.equal(summaries["method"], method)
            summ = summaries.filter(mask)
            sizes = dict(zip(summ["segment"].to_pylist(), summ["customers"].to_pylist()))
            acts = acts.append_column(
                "customers", pa.array([sizes.get(s) for s in acts["segment"].to_pylist()], pa.int64())
            )
            tables.append(acts)
        return pa.concat_tables(tables) if tables else pa.table({"scheme": pa.array([], pa.string())})

    def _satisfaction(self) -> dict[str, pa.Table]:
        """Index, indices per segment, IPMA and Kano from the survey answers, when there are any."""
        s = self.config["satisfaction"]
        answers_t = self._table("survey_answers")
        if answers_t is None:
            self.skipped["satisfaction"] = "no survey answers"
            return {}
        from custlens.satisfaction import indices_by_segment, ipma, kano, kano_answers

        answers = answers_t.to_pyarrow()
        out: dict[str, pa.Table] = {}
        instruments = set(pc.unique(answers["instrument"]).to_pylist())
        scale = (float(s["scale"][0]), float(s["scale"][1]))
        if s["instrument"] in instruments:
            method = s["segments"]
            seg_table = to_arrow(self.segments[method].customers.select("customer_id", "segment"))
            try:
                result = indices_by_segment(answers, seg_table, s["model"], scale=scale, instrument=s["instrument"])
            except CustlensError as exc:
                self.skipped["satisfaction index"] = str(exc)
            else:
                overall = result["overall"]
                constructs = [k for k in overall if k != "n"]
                out["satisfaction_index"] = pa.table(
                    {
                        "construct": constructs,
                        "index": [float(overall[k]) for k in constructs],
                        "respondents": [int(overall["n"])] * len(constructs),
                    }
                )
                rows = [
                    {
                        "method": method,
                        "segment": r["segment"],
                        "respondents": int(r["n"]),
                        "construct": k,
                        "index": float(v),
                    }
                    for r in result["segments"]
                    for k, v in r.items()
                    if k not in ("segment", "n")
                ]
                out["satisfaction_by_segment"] = pa.Table.from_pylist(rows)
                imp = ipma(result["fit"], scale=scale)
                out["ipma"] = pa.Table.from_pylist(
                    [
                        {**row, "target": imp["target"], "target_performance": imp["target_performance"]}
                        for row in imp["rows"]
                    ]
                )
        else:
            self.skipped["satisfaction index"] = f"no answers of instrument {s['instrument']!r}"
        if s["kano_instrument"] in instruments:
            try:
                k = kano(kano_answers(answers, instrument=s["kano_instrument"]))
            except CustlensError as exc:
                self.skipped["kano"] = str(exc)
            else:
                out["kano"] = pa.Table.from_pylist(k.table())
        else:
            self.skipped["kano"] = f"no answers of instrument {s['kano_instrument']!r}"
        return out

    # -- fitted models and headline figures ---------------------------------------------------
    def models(self) -> dict[str, Any]:
        """The fitted models as plain data: code, parameters and fit statistics."""
        from custlens.clv import MODELS

        codes = {cls: code for code, cls in MODELS.items()}
        out: dict[str, Any] = {}
        for role, model in (("purchase", self.clv.purchase_model), ("spend", self.clv.spend_model)):
            if model is None:
                continue
            entry: dict[str, Any] = {"model": codes[type(model)], "params": dict(model.params_)}
            fit = getattr(model, "result_", None)
            if fit is not None:
                entry["fit"] = _plain(fit.to_dict())
            out[role] = entry
        return out

    def details(self) -> dict[str, Any]:
        """Headline figures and method details as plain data (stored as JSON)."""
        out: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "time_unit": self.config.time_unit,
            "overview": self.overview(),
            "concentration": self.concentration(),
            "clv_settings": dict(self.clv.settings),
            "segments": {m: _plain(r.details) for m, r in self.segments.items()},
        }
        if self.score is not None:
            out["score"] = {"method": self.score.method, "normalisation": self.score.normalisation}
        if self.value_results[1] is not None:
            out["value_components"] = _plain(self.value_results[1])
        return out


def _cached(run: Callable[[], SegmentResult]) -> SegmentResult:
    """A segmentation's result with its per-customer table materialised once.

    Materialised into a table of its own (:func:`custlens.warehouse.compat.materialise`),
    so that k-means' in-memory result is not kept beside its engine copy.
    """
    from dataclasses import replace

    from custlens.warehouse.compat import materialise

    result = run()
    return replace(result, table=materialise(result.table))


def _buyers(features: ir.Table) -> ir.Table:
    """The rows of customers with at least one purchase order."""
    return features.filter(features.order_count > 0)


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready data: mappings, lists, numbers and text."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, pa.Table):  # e.g. the cluster profile: its rows, not its printed form
        return _plain(value.to_pylist())
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
