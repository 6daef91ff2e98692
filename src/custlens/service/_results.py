"""Stored results of an analysis: overview, runs, lifetime value, churn, satisfaction.

Each function reads the stored analysis (:class:`custlens.analysis.StoredAnalysis`) and
checks one permission; a part the analysis left out answers 404 with the reason it was
left out (:meth:`StoredAnalysis.result`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custlens.errors import InputError, NotFoundError, did_you_mean
from custlens.service._queries import Page, check_page, list_page, page_of, plain, search_customers

if TYPE_CHECKING:
    from custlens.access import User
    from custlens.service._service import Service

__all__ = [
    "overview",
    "list_stored_analyses",
    "analysis_metadata",
    "clv_distribution",
    "top_customers",
    "clv_matrix",
    "at_risk_customers",
    "risk_bands",
    "satisfaction",
    "SATISFACTION_PARTS",
    "AT_RISK_COLUMNS",
]

SATISFACTION_PARTS = {
    "index": "satisfaction_index",
    "segments": "satisfaction_by_segment",
    "ipma": "ipma",
    "kano": "kano",
}
"""Satisfaction parts by their API name -> the stored result table."""

AT_RISK_COLUMNS = (
    "rank",
    "customer_id",
    "risk_band",
    "value_at_stake",
    "clv",
    "p_alive",
    "overdue_ratio",
    "expected_next_order",
    "revenue",
    "order_count",
    "recency_days",
    "score_tier",
)
"""Columns of the at-risk list."""


def _check(user: User, permission: str) -> None:
    from custlens.access import check

    check(user.role, permission)


def _run_info(analysis: Any) -> dict[str, Any]:
    return {
        "analysis_id": analysis.analysis_id,
        "as_of": analysis.as_of,
        "created_at": analysis.created_at,
        "customers": analysis.n_customers,
        "methods": list(analysis.methods),
        "skipped": analysis.skipped,
    }


def overview(service: Service, user: User, *, analysis_id: str | None = None) -> dict[str, Any]:
    """The overview's headline figures (permission ``analyses:read``).

    Returns
    -------
    dict
        The run (``analysis_id, as_of, created_at, customers, methods, skipped``),
        ``overview`` (customers, buyers, revenue, orders, repeat share, mean P(alive), total
        CLV, at-risk customers, value at stake) and ``concentration`` (top-20 % share, Gini).
    """
    _check(user, "analyses:read")
    analysis = service.analysis(analysis_id)
    return plain(
        {
            **_run_info(analysis),
            "overview": analysis.details.get("overview", {}),
            "concentration": analysis.details.get("concentration", {}),
        }
    )


def list_stored_analyses(service: Service, user: User, *, page: int = 1, page_size: int = 50) -> Page:
    """The stored analyses, newest first (permission ``analyses:read``).

    Items: ``analysis_id, as_of, created_at, config_hash, customers``.
    """
    from custlens.analysis import list_analyses

    _check(user, "analyses:read")
    rows = list_analyses(service.backend()).to_pylist()[::-1]
    return list_page(rows, page=page, page_size=page_size)


def analysis_metadata(service: Service, user: User, analysis_id: str) -> dict[str, Any]:
    """One stored run: configuration, fitted models, headline details, snapshots, skipped parts, timings.

    Permission ``analyses:read``. ``analysis_id`` may be ``latest``.
    """
    _check(user, "analyses:read")
    analysis = service.analysis(None if analysis_id == "latest" else analysis_id)
    return plain(
        {
            **_run_info(analysis),
            "config_hash": analysis.config_hash,
            "custlens_version": analysis.custlens_version,
            "config": analysis.config,
            "models": analysis.models,
            "details": analysis.details,
            "snapshots": analysis.snapshots,
            "timings": analysis.timings,
            "results": analysis.result_names,
        }
    )


def clv_distribution(service: Service, user: User, *, analysis_id: str | None = None) -> dict[str, Any]:
    """Lifetime value: the stored histogram, Pareto curve and concentration (permission ``value:read``).

    Returns
    -------
    dict
        ``analysis_id``, ``histogram`` (``bin_start, bin_end, customers``), ``pareto``
        (``customer_share, value_share``), ``concentration``, ``settings`` (model, horizon,
        discount, margin), ``models`` (the fitted models' parameters).
    """
    _check(user, "value:read")
    analysis = service.analysis(analysis_id)
    return plain(
        {
            "analysis_id": analysis.analysis_id,
            "histogram": analysis.result("clv_histogram").to_pylist(),
            "pareto": analysis.result("pareto").to_pylist() if analysis.has_result("pareto") else [],
            "concentration": analysis.details.get("concentration", {}),
            "settings": analysis.details.get("clv_settings", {}),
            "models": analysis.models,
        }
    )


def top_customers(
    service: Service, user: User, *, analysis_id: str | None = None, page: int = 1, page_size: int = 50
) -> Page:
    """Customers by stored CLV, highest first (permission ``value:read``); ``page_size`` is the N of a top N."""
    _check(user, "value:read")
    return search_customers(
        service, user, analysis_id=analysis_id, order_by="clv", descending=True, page=page, page_size=page_size
    )


def clv_matrix(service: Service, user: User, *, analysis_id: str | None = None) -> dict[str, Any]:
    """The CLV matrix: segment summary, details (split points) and the stored sample of points.

    Permission ``value:read``.
    """
    _check(user, "value:read")
    analysis = service.analysis(analysis_id)
    if "clv_matrix" not in analysis.methods:
        raise NotFoundError(
            f"analysis {analysis.analysis_id} has no CLV matrix (methods: {', '.join(analysis.methods)})"
        )
    return plain(
        {
            "analysis_id": analysis.analysis_id,
            "segments": analysis.segment_summary("clv_matrix").to_pylist(),
            "details": analysis.details.get("segments", {}).get("clv_matrix", {}),
            "points": analysis.result("clv_matrix_points").to_pylist(),
        }
    )


def at_risk_customers(
    service: Service,
    user: User,
    *,
    analysis_id: str | None = None,
    bands: tuple[str, ...] | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """Customers in the at-risk bands, most value at stake first (permission ``churn:read``).

    ``bands`` default the analysis' ``[churn] bands``; items hold :data:`AT_RISK_COLUMNS`.
    """
    _check(user, "churn:read")
    check_page(page, page_size)
    analysis = service.analysis(analysis_id)
    if bands:
        from custlens.churn import BAND_LABELS

        wrong = [b for b in bands if b not in BAND_LABELS]
        if wrong:
            raise InputError(
                f"'bands': unknown risk band {wrong[0]!r}{did_you_mean(wrong[0], BAND_LABELS)}; "
                f"bands: {', '.join(BAND_LABELS)}"
            )
    t = analysis.at_risk(bands=bands)
    t = t.select(*AT_RISK_COLUMNS)
    return page_of(t, page=page, page_size=page_size, order_by=["rank"])


def risk_bands(service: Service, user: User, *, analysis_id: str | None = None) -> dict[str, Any]:
    """Buyers and value at stake per risk band, and observed churn per month (permission ``churn:read``)."""
    _check(user, "churn:read")
    analysis = service.analysis(analysis_id)
    return plain(
        {
            "analysis_id": analysis.analysis_id,
            "at_risk_bands": list(analysis.config.get("churn", {}).get("bands", [])),
            "bands": analysis.result("risk_bands").to_pylist(),
            "churn_rates": analysis.result("churn_rates").to_pylist() if analysis.has_result("churn_rates") else [],
        }
    )


def satisfaction(service: Service, user: User, part: str, *, analysis_id: str | None = None) -> dict[str, Any]:
    """A stored satisfaction result (permission ``satisfaction:read``).

    Parameters
    ----------
    part
        ``index`` (construct indices, 0-100), ``segments`` (indices per segment), ``ipma``
        or ``kano``.

    Raises
    ------
    NotFoundError
        When the analysis left the part out; the message says why (e.g. no survey answers).
    """
    _check(user, "satisfaction:read")
    if part not in SATISFACTION_PARTS:
        raise NotFoundError(f"no satisfaction part {part!r}; parts: {', '.join(SATISFACTION_PARTS)}")
    analysis = service.analysis(analysis_id)
    rows = analysis.result(SATISFACTION_PARTS[part]).to_pylist()
    out: dict[str, Any] = {"analysis_id": analysis.analysis_id, "part": part, "rows": rows}
    if part == "segments":
        out["method"] = analysis.config.get("satisfaction", {}).get("segments")
    return plain(out)
