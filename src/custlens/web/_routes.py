"""The page routes: each checks its permission (declared with :func:`page`), calls one view and renders."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse

from custlens.web import _views_analysis as views
from custlens.web import _views_people as people
from custlens.web._context import PageContext, page, page_context
from custlens.web._routes_admin import router as admin_router
from custlens.web._routes_auth import router as auth_router

__all__ = ["router"]

router = APIRouter()
router.routes.extend([*auth_router.routes, *admin_router.routes])  # one flat table of page routes


@page(router, "GET", "/", "analyses:read")
def overview(ctx: PageContext = Depends(page_context)) -> HTMLResponse:
    """Headline figures of the latest analysis."""
    return ctx.render("overview.html", views.overview(ctx))


@page(router, "GET", "/customers", "customers:read")
def customers(
    ctx: PageContext = Depends(page_context),
    q: str = Query("", max_length=64),
    risk_band: str = "",
    score_tier: str = "",
    order_by: str = Query("score_rank", pattern="^(" + "|".join(people.ORDERS) + ")$"),
    page: int = Query(1, ge=1),
) -> HTMLResponse:
    """Search customers by id prefix, risk band and score tier."""
    view = people.customers(ctx, q=q, risk_band=risk_band, score_tier=score_tier, order_by=order_by, page=page)
    return ctx.render("customers.html", view)


@page(router, "GET", "/customers/{customer_id}", "customers:read")
def profile(customer_id: str, ctx: PageContext = Depends(page_context)) -> HTMLResponse:
    """One customer's profile and timeline."""
    return ctx.render("profile.html", people.profile(ctx, customer_id))


@page(router, "GET", "/segments", "segments:read")
def segments(ctx: PageContext = Depends(page_context), method: str | None = None) -> HTMLResponse:
    """A segmentation's segments, their actions and the rule builder."""
    return ctx.render("segments.html", views.segments(ctx, method))


@page(router, "POST", "/segments/rule", "segments:read")
def segment_rule(
    ctx: PageContext = Depends(page_context),
    rule: str = Form("", max_length=2000),
    method: str | None = Form(None),
) -> HTMLResponse:
    """The rule builder: how many customers a rule selects, and the first of them."""
    return ctx.render("segments.html", views.segments(ctx, method, rule=rule))


@page(router, "GET", "/segments/members", "segments:read")
def members(
    method: str, segment: str, ctx: PageContext = Depends(page_context), page: int = Query(1, ge=1)
) -> HTMLResponse:
    """The members of one segment."""
    return ctx.render("members.html", people.members(ctx, method, segment, page))


@page(router, "GET", "/segments/rfm", "segments:read")
def rfm(ctx: PageContext = Depends(page_context)) -> HTMLResponse:
    """The RFM heat map."""
    return ctx.render("rfm.html", views.rfm(ctx))


@page(router, "GET", "/segments/migration", "segments:read")
def migration(
    ctx: PageContext = Depends(page_context),
    method: str | None = None,
    earlier: str | None = None,
    later: str | None = None,
) -> HTMLResponse:
    """Segment migration between two stored analyses (Sankey) and the relationship-state flow."""
    return ctx.render("migration.html", views.migration(ctx, method, earlier, later))


@page(router, "GET", "/value/concentration", "value:read")
def concentration(ctx: PageContext = Depends(page_context)) -> HTMLResponse:
    """The Pareto curve and the value pyramid."""
    return ctx.render("concentration.html", views.concentration(ctx))


@page(router, "GET", "/value/clv", "value:read")
def clv(ctx: PageContext = Depends(page_context)) -> HTMLResponse:
    """Lifetime value: distribution, CLV matrix, top customers."""
    return ctx.render("clv.html", views.clv(ctx))


@page(router, "GET", "/churn", "churn:read")
def churn(ctx: PageContext = Depends(page_context), page: int = Query(1, ge=1)) -> HTMLResponse:
    """Risk bands and the at-risk list."""
    return ctx.render("churn.html", views.churn(ctx, page))


@page(router, "GET", "/satisfaction", "satisfaction:read")
def satisfaction(ctx: PageContext = Depends(page_context)) -> HTMLResponse:
    """Satisfaction indices by segment, IPMA and the Kano diagram."""
    return ctx.render("satisfaction.html", views.satisfaction(ctx))
