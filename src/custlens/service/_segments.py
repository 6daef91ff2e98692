"""Segmentations of a stored analysis: methods, summaries, members, migration.

Permission ``segments:read`` for each; every figure is the stored one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custlens.errors import NotFoundError, did_you_mean
from custlens.service._queries import Page, check_page, list_page, plain

if TYPE_CHECKING:
    from custlens.access import User
    from custlens.service._service import Service

__all__ = ["segment_methods", "segment_summary", "segment_members", "segment_migration", "METHOD_RESULTS"]

METHOD_RESULTS: dict[str, tuple[str, ...]] = {
    "rfm": ("rfm_heatmap",),
    "state": ("state_flow",),
    "value_matrix": ("value_matrix_points",),
    "clv_matrix": ("clv_matrix_points",),
    "cluster": ("cluster_profiles",),
}
"""The stored result tables that belong to a segmentation (shown with its summary)."""


def segment_methods(
    service: Service, user: User, *, analysis_id: str | None = None, page: int = 1, page_size: int = 50
) -> Page:
    """The segmentations of a stored analysis: ``method``, ``snapshot_id``, ``segments``, ``customers``."""
    from custlens.access import check

    check(user.role, "segments:read")
    analysis = service.analysis(analysis_id)
    rows = []
    for method in analysis.methods:
        summary = analysis.segment_summary(method)
        rows.append(
            {
                "method": method,
                "snapshot_id": analysis.snapshots[method],
                "segments": summary.num_rows,
                "customers": int(sum(v or 0 for v in summary["customers"].to_pylist())),
            }
        )
    return list_page(rows, page=page, page_size=page_size)


def segment_summary(service: Service, user: User, method: str, *, analysis_id: str | None = None) -> dict[str, Any]:
    """One segmentation: a row per segment, its details, playbook actions and own result tables.

    Returns
    -------
    dict
        ``analysis_id``, ``as_of``, ``method``, ``snapshot_id``, ``segments`` (the stored
        summary rows: segment, segment_zh, segment_rank, customers, share, value,
        value_share, orders, avg_order_value), ``details`` (split points, cut points, ...),
        ``actions`` (the playbook rows of the method) and ``results`` (name -> rows of the
        method's own tables, :data:`METHOD_RESULTS`).

    Raises
    ------
    NotFoundError
        When the analysis has no such segmentation (the message lists those stored).
    """
    from custlens.access import check

    check(user.role, "segments:read")
    analysis = service.analysis(analysis_id)
    summary = analysis.segment_summary(method)
    actions = []
    if analysis.has_result("playbook"):
        actions = [r for r in analysis.result("playbook").to_pylist() if r.get("scheme") == method]
    results = {
        name: analysis.result(name).to_pylist() for name in METHOD_RESULTS.get(method, ()) if analysis.has_result(name)
    }
    return plain(
        {
            "analysis_id": analysis.analysis_id,
            "as_of": analysis.as_of,
            "method": method,
            "snapshot_id": analysis.snapshots[method],
            "segments": summary.to_pylist(),
            "details": analysis.details.get("segments", {}).get(method, {}),
            "actions": actions,
            "results": results,
        }
    )


def segment_members(
    service: Service,
    user: User,
    method: str,
    segment: str,
    *,
    analysis_id: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """The members of one segment, most important first (stored score rank, then id).

    Items hold :data:`custlens.service.LIST_COLUMNS` (no personal data).

    Raises
    ------
    NotFoundError
        When the analysis has no such segmentation or segment (the message lists them).
    """
    from custlens.access import check

    check(user.role, "segments:read")
    check_page(page, page_size)
    lookup = service.lookup(analysis_id)
    if method not in lookup.segment_names:
        service.analysis(lookup.analysis_id).segment_summary(method)  # raises, listing the methods
    names = list(lookup.segment_names[method])
    if segment not in names:
        raise NotFoundError(
            f"{method} has no segment {segment!r}{did_you_mean(segment, names)} (segments: {', '.join(names)})"
        )
    items, total = lookup.member_page(method, segment, (page - 1) * page_size, page_size)
    return Page(plain(items), page, page_size, total)


def segment_migration(
    service: Service, user: User, method: str, *, earlier: str | None = None, later: str | None = None
) -> dict[str, Any]:
    """How customers moved between the segments of ``method`` from one stored analysis to another.

    Parameters
    ----------
    earlier, later
        Analysis ids; ``later`` defaults to the latest analysis, ``earlier`` to the one
        stored before ``later``.

    Returns
    -------
    dict
        ``method``, ``earlier``, ``later`` and ``matrix``: rows of ``from_segment,
        to_segment, customers, share_of_from`` (``(absent)`` for customers in one only).

    Raises
    ------
    NotFoundError
        For an unknown analysis or method, or when no analysis precedes ``later``.
    """
    from custlens.access import check
    from custlens.analysis import list_analyses

    check(user.role, "segments:read")
    after = service.analysis(later)
    if earlier is None:
        ids = list_analyses(service.backend())["analysis_id"].to_pylist()
        before = ids[: ids.index(after.analysis_id)]
        if not before:
            raise NotFoundError(
                f"no stored analysis before {after.analysis_id} to compare with; run another analysis "
                "(POST /api/v1/analyses) or name 'earlier'"
            )
        earlier = before[-1]
    moved = after.migration(service.analysis(earlier), method)
    return plain(
        {
            "method": method,
            "earlier": earlier,
            "later": after.analysis_id,
            "matrix": moved.matrix.to_pyarrow().to_pylist(),
        }
    )
