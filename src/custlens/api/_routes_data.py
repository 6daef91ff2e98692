"""Routes that read the stored analysis: overview, analyses, customers, segments, value, churn, satisfaction.

Every route takes ``analysis_id`` (default: the latest stored analysis) and answers from
one :mod:`custlens.service` function.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from custlens.access import User
from custlens.api._app import JSON
from custlens.api._routes import PageModel, PageQuery, from_memory, page_query, service_of
from custlens.api._security import current_user, secured
from custlens.errors import InputError

__all__ = ["router"]

router = APIRouter()

AnalysisId = Query(None, max_length=64, description="A stored analysis id (default: the latest).")
Sortable = Literal[
    "customer_id", "clv", "revenue", "order_count", "recency_days", "score_rank", "value_at_stake", "p_alive"
]


def _json(value: Any) -> Response:
    return JSON(value.to_dict() if hasattr(value, "to_dict") else value)


def _filters(items: list[str], **named: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in named.items() if v is not None}
    for item in items:
        column, sep, value = item.partition(":")
        if not sep or not column:
            raise InputError(f"'filter' must be column:value (e.g. region:east); got {item!r}")
        out[column] = value
    return out


# -- overview and analyses ------------------------------------------------------------------------------
@secured(router, "GET", "/api/v1/overview", "analyses:read", tags=["analyses"])
async def overview(
    request: Request, analysis_id: str | None = AnalysisId, user: User = Depends(current_user)
) -> Response:
    """The overview's headline figures of a stored analysis (customers, revenue, CLV, at risk, concentration)."""
    from custlens.service import overview

    return _json(
        await from_memory(request, analysis_id, partial(overview, service_of(request), user, analysis_id=analysis_id))
    )


@secured(router, "GET", "/api/v1/analyses", "analyses:read", response_model=PageModel, tags=["analyses"])
def analyses(request: Request, paging: PageQuery = Depends(page_query), user: User = Depends(current_user)) -> Response:
    """The stored analyses, newest first."""
    from custlens.service import list_stored_analyses

    return _json(list_stored_analyses(service_of(request), user, page=paging.page, page_size=paging.page_size))


@secured(router, "GET", "/api/v1/analyses/{analysis_id}", "analyses:read", tags=["analyses"])
def analysis(request: Request, analysis_id: str, user: User = Depends(current_user)) -> Response:
    """One stored run (``latest`` for the latest): configuration, models, details, skipped parts, timings."""
    from custlens.service import analysis_metadata

    return _json(analysis_metadata(service_of(request), user, analysis_id))


@secured(router, "POST", "/api/v1/analyses", "analysis:run", status_code=202, tags=["analyses", "jobs"])
def analysis_run(
    request: Request,
    as_of: str | None = Body(None, embed=True, max_length=32, description="The as-of date (default: last purchase)."),
    user: User = Depends(current_user),
) -> Response:
    """Run the standard analysis in the background; answers 202 with the job (see /api/v1/jobs/{job_id})."""
    from custlens.service import start_analysis

    return JSON(start_analysis(service_of(request), user, as_of=as_of).to_dict(), status_code=202)


# -- customers ------------------------------------------------------------------------------------------------
@secured(router, "GET", "/api/v1/customers", "customers:read", response_model=PageModel, tags=["customers"])
def customers(
    request: Request,
    q: str | None = Query(None, max_length=64, description="A customer-id prefix."),
    method: str | None = Query(None, max_length=64, description="With `segment`: a segmentation."),
    segment: str | None = Query(None, max_length=128, description="With `method`: one of its segments."),
    risk_band: str | None = Query(None, max_length=32, description="A churn risk band."),
    filter: list[str] = Query([], description="column:value, repeatable (stored columns and attributes)."),
    rule: str | None = Query(None, max_length=2000, description="A rule, e.g. revenue > 1000 and region = 'east'."),
    order_by: Sortable = "score_rank",
    descending: bool = False,
    analysis_id: str | None = AnalysisId,
    paging: PageQuery = Depends(page_query),
    user: User = Depends(current_user),
) -> Response:
    """Search customers: id prefix, filters, a segment, a risk band and a rule; one page of them."""
    from custlens.service import search_customers

    if (method is None) != (segment is None):
        raise InputError("give 'method' and 'segment' together (a segment of a segmentation)")
    return _json(
        search_customers(
            service_of(request),
            user,
            analysis_id=analysis_id,
            q=q,
            filters=_filters(filter, risk_band=risk_band),
            segment=(method, segment) if method is not None and segment is not None else None,
            rule=rule,
            order_by=order_by,
            descending=descending,
            page=paging.page,
            page_size=paging.page_size,
        )
    )


@secured(router, "GET", "/api/v1/customers/count", "customers:read", tags=["customers"])
def customers_count(
    request: Request,
    q: str | None = Query(None, max_length=64),
    method: str | None = Query(None, max_length=64),
    segment: str | None = Query(None, max_length=128),
    risk_band: str | None = Query(None, max_length=32),
    filter: list[str] = Query([]),
    rule: str | None = Query(None, max_length=2000),
    analysis_id: str | None = AnalysisId,
    user: User = Depends(current_user),
) -> Response:
    """How many customers match (the rule builder's live count): ``{analysis_id, customers, of}``."""
    from custlens.service import count_customers

    if (method is None) != (segment is None):
        raise InputError("give 'method' and 'segment' together (a segment of a segmentation)")
    return _json(
        count_customers(
            service_of(request),
            user,
            analysis_id=analysis_id,
            q=q,
            filters=_filters(filter, risk_band=risk_band),
            segment=(method, segment) if method is not None and segment is not None else None,
            rule=rule,
        )
    )


@secured(router, "GET", "/api/v1/customers/fields", "customers:read", tags=["customers"])
def customer_fields(
    request: Request, analysis_id: str | None = AnalysisId, user: User = Depends(current_user)
) -> Response:
    """The columns a filter or rule may name, with their types."""
    from custlens.service import customer_fields

    return _json({"fields": customer_fields(service_of(request), user, analysis_id=analysis_id)})


@secured(router, "GET", "/api/v1/customers/{customer_id}", "customers:read", tags=["customers"])
async def customer(
    request: Request,
    customer_id: str,
    timeline: int = Query(50, ge=0, le=500, description="Latest events of the timeline."),
    analysis_id: str | None = AnalysisId,
    user: User = Depends(current_user),
) -> Response:
    """One customer's profile: attributes, indicators, segments, CLV, P(alive), churn, actions, timeline.

    ``identity`` (personal data) is present only where the role may see it.
    """
    from custlens.service import customer_identity, customer_profile

    service = service_of(request)
    read = partial(customer_profile, service, user, customer_id, analysis_id=analysis_id, timeline=timeline)
    profile = await from_memory(request, analysis_id, partial(read, identity=False))
    # personal data: a DuckDB read and an audit entry synced to disk, on a worker thread
    identity = await run_in_threadpool(customer_identity, service, user, customer_id)
    if identity is not None:
        profile["identity"] = identity
    return _json(profile)


# -- segments ------------------------------------------------------------------------------------------------
@secured(router, "GET", "/api/v1/segments", "segments:read", response_model=PageModel, tags=["segments"])
def segments(
    request: Request,
    analysis_id: str | None = AnalysisId,
    paging: PageQuery = Depends(page_query),
    user: User = Depends(current_user),
) -> Response:
    """The segmentations of the analysis: method, snapshot, number of segments and customers."""
    from custlens.service import segment_methods

    return _json(
        segment_methods(
            service_of(request), user, analysis_id=analysis_id, page=paging.page, page_size=paging.page_size
        )
    )


@secured(router, "GET", "/api/v1/segments/{method}", "segments:read", tags=["segments"])
def segment(
    request: Request, method: str, analysis_id: str | None = AnalysisId, user: User = Depends(current_user)
) -> Response:
    """One segmentation: its segments (size, shares, value), details, playbook actions and own results."""
    from custlens.service import segment_summary

    return _json(segment_summary(service_of(request), user, method, analysis_id=analysis_id))


@secured(router, "GET", "/api/v1/segments/{method}/migration", "segments:read", tags=["segments"])
def migration(
    request: Request,
    method: str,
    earlier: str | None = Query(None, max_length=64, description="The earlier analysis (default: the one before)."),
    later: str | None = Query(None, max_length=64, description="The later analysis (default: the latest)."),
    user: User = Depends(current_user),
) -> Response:
    """How customers moved between the segments of a method from one stored analysis to another."""
    from custlens.service import segment_migration

    return _json(segment_migration(service_of(request), user, method, earlier=earlier, later=later))


@secured(
    router,
    "GET",
    "/api/v1/segments/{method}/{segment}/members",
    "segments:read",
    response_model=PageModel,
    tags=["segments"],
)
async def members(
    request: Request,
    method: str,
    segment: str,
    analysis_id: str | None = AnalysisId,
    paging: PageQuery = Depends(page_query),
    user: User = Depends(current_user),
) -> Response:
    """The members of one segment, most important first (no personal data)."""
    from custlens.service import segment_members

    read = partial(
        segment_members,
        service_of(request),
        user,
        method,
        segment,
        analysis_id=analysis_id,
        page=paging.page,
        page_size=paging.page_size,
    )
    return _json(await from_memory(request, analysis_id, read))


# -- lifetime value ------------------------------------------------------------------------------------------
@secured(router, "GET", "/api/v1/value/distribution", "value:read", tags=["value"])
def value_distribution(
    request: Request, analysis_id: str | None = AnalysisId, user: User = Depends(current_user)
) -> Response:
    """CLV histogram, Pareto curve, concentration, the CLV settings and fitted models."""
    from custlens.service import clv_distribution

    return _json(clv_distribution(service_of(request), user, analysis_id=analysis_id))


@secured(router, "GET", "/api/v1/value/top", "value:read", response_model=PageModel, tags=["value"])
def value_top(
    request: Request,
    analysis_id: str | None = AnalysisId,
    paging: PageQuery = Depends(page_query),
    user: User = Depends(current_user),
) -> Response:
    """Customers by CLV, highest first (``page_size`` is the N of a top N)."""
    from custlens.service import top_customers

    return _json(
        top_customers(service_of(request), user, analysis_id=analysis_id, page=paging.page, page_size=paging.page_size)
    )


@secured(router, "GET", "/api/v1/value/matrix", "value:read", tags=["value"])
def value_matrix(
    request: Request, analysis_id: str | None = AnalysisId, user: User = Depends(current_user)
) -> Response:
    """The CLV matrix: segments, split points and the stored sample of points."""
    from custlens.service import clv_matrix

    return _json(clv_matrix(service_of(request), user, analysis_id=analysis_id))


# -- churn --------------------------------------------------------------------------------------------------------
@secured(router, "GET", "/api/v1/churn/at-risk", "churn:read", response_model=PageModel, tags=["churn"])
def at_risk(
    request: Request,
    band: list[Literal["low", "medium", "high", "lost"]] = Query(
        [], description="Risk bands (default: the analysis')."
    ),
    analysis_id: str | None = AnalysisId,
    paging: PageQuery = Depends(page_query),
    user: User = Depends(current_user),
) -> Response:
    """Customers at risk, most value at stake first."""
    from custlens.service import at_risk_customers

    return _json(
        at_risk_customers(
            service_of(request),
            user,
            analysis_id=analysis_id,
            bands=tuple(band) or None,
            page=paging.page,
            page_size=paging.page_size,
        )
    )


@secured(router, "GET", "/api/v1/churn/risk-bands", "churn:read", tags=["churn"])
def churn_bands(request: Request, analysis_id: str | None = AnalysisId, user: User = Depends(current_user)) -> Response:
    """Buyers and value at stake per risk band; observed churn per month."""
    from custlens.service import risk_bands

    return _json(risk_bands(service_of(request), user, analysis_id=analysis_id))


# -- satisfaction --------------------------------------------------------------------------------------------
@secured(router, "GET", "/api/v1/satisfaction/{part}", "satisfaction:read", tags=["satisfaction"])
def satisfaction(
    request: Request,
    part: Literal["index", "segments", "ipma", "kano"],
    analysis_id: str | None = AnalysisId,
    user: User = Depends(current_user),
) -> Response:
    """A stored satisfaction result: ``index``, ``segments`` (per segment), ``ipma`` or ``kano``.

    404 with the reason when the analysis left it out (e.g. no survey answers).
    """
    from custlens.service import satisfaction

    return _json(satisfaction(service_of(request), user, part, analysis_id=analysis_id))
