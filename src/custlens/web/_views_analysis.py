"""What the analysis pages show, read from the stored analysis (nothing is computed here).

One function per page: it reads the stored results the page needs, draws them with
:mod:`custlens.web._charts` and returns the template's values. Labels and number formats
are the template's (:class:`custlens.i18n.Translator`).
"""

from __future__ import annotations

from typing import Any

from custlens.web import _charts as charts
from custlens.web._context import PageContext, page_count

__all__ = ["overview", "segments", "rfm", "migration", "concentration", "clv", "churn", "satisfaction"]

MODEL_NAMES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pnbd": "Pareto/NBD", "gg": "Gamma-Gamma", "bgbb": "BG/BB"}


def overview(ctx: PageContext) -> dict[str, Any]:
    """Headline figures, concentration and the fitted models of the latest analysis."""
    a = ctx.service.analysis()
    t, o, c = ctx.t, a.details.get("overview", {}), a.details.get("concentration", {})
    horizon = a.config["clv"]["horizon_months"]
    kpis = [
        ("kpi.customers", t.num(o.get("customers")), "customers:read"),
        ("kpi.buyers", t.num(o.get("buyers")), "customers:read"),
        ("kpi.revenue", t.money(o.get("revenue")), "customers:read"),
        ("kpi.orders", t.num(o.get("orders")), "customers:read"),
        ("kpi.repeat_share", t.pct(o.get("repeat_share")), "customers:read"),
        ("kpi.mean_p_alive", t.pct(o.get("mean_p_alive")), "churn:read"),
        ("kpi.clv_total", t.money(o.get("clv_total")), "value:read"),
        ("kpi.at_risk", t.num(o.get("at_risk_customers")), "churn:read"),
        ("kpi.value_at_stake", t.money(o.get("value_at_stake")), "churn:read"),
        ("kpi.gini", t.dec(c.get("gini")), "value:read"),
        ("kpi.top_share", t.pct(c.get("top_share_value")), "value:read"),
    ]
    models = [
        {
            "role": role,
            "name": MODEL_NAMES.get(entry["model"], entry["model"]),
            "params": sorted(entry["params"].items()),
            "n_obs": entry.get("fit", {}).get("n_obs"),
            "log_likelihood": entry.get("fit", {}).get("log_likelihood"),
            "converged": bool(entry.get("fit", {}).get("converged")),
        }
        for role, entry in a.models.items()
    ]
    return {
        "analysis": a,
        "kpis": [
            (t(key, months=t.num(horizon), share=t.pct(c.get("top_share", 0.2), 0)), v)
            for key, v, p in kpis
            if ctx.can(p)
        ],
        "models": models if ctx.can("value:read") else [],
        "skipped": sorted(a.skipped.items()),
    }


def segments(ctx: PageContext, method: str | None, rule: str | None = None) -> dict[str, Any]:
    """A segmentation's segments with their sizes, value shares and playbook actions; a rule's preview."""
    a = ctx.service.analysis()
    method = method or a.methods[0]
    summary = a.segment_summary(method)
    actions = []
    if a.has_result("playbook"):
        actions = [r for r in a.result("playbook").to_pylist() if r.get("scheme") == method]
    title = ctx.t("chart.sizes.title", method=ctx.t(f"method.{method}"))
    preview, error = _rule_preview(a, rule) if rule else (None, None)
    return {
        "analysis": a,
        "method": method,
        "methods": a.methods,
        "summary": summary.to_pylist(),
        "actions": actions,
        "sizes_chart": charts.segment_sizes_chart(summary, ctx.t, title),
        "rule": rule or "",
        "rule_error": error,
        "preview": preview,
        "fields": [c for c in a.customers().columns if c != "customer_id"],
    }


def _rule_preview(a: Any, rule: str, first: int = 20) -> tuple[dict[str, Any] | None, str | None]:
    """How many customers of the analysis a rule selects, and the most important of them."""
    from custlens.segment import RuleError, compile_rule

    c = a.customers()
    try:
        kept = c.filter(compile_rule(rule, c, name="rule").fill_null(False))
    except RuleError as exc:
        return None, str(exc)
    count = int(kept.count().to_pyarrow().as_py())
    cols = ["customer_id", "order_count", "revenue", "clv", "risk_band", "score_tier"]
    rows = kept.order_by([kept.score_rank, kept.customer_id]).limit(first).select(*cols).to_pyarrow().to_pylist()
    share = count / a.n_customers if a.n_customers else None
    return {"count": count, "total": a.n_customers, "share": share, "members": rows}, None


def rfm(ctx: PageContext) -> dict[str, Any]:
    """The RFM heat map and the score cut points."""
    a = ctx.service.analysis()
    cuts = a.details.get("segments", {}).get("rfm", {}).get("cut_points", {})
    return {
        "analysis": a,
        "heatmap": charts.rfm_chart(a.result("rfm_heatmap"), ctx.t),
        "cut_points": [(name, cuts[name]) for name in ("recency", "frequency", "monetary") if name in cuts],
    }


def migration(ctx: PageContext, method: str | None, earlier: str | None, later: str | None) -> dict[str, Any]:
    """Customers moving between the segments of two stored analyses, and the relationship-state flow."""
    from custlens.analysis import list_analyses

    service = ctx.service
    ids = list_analyses(service.backend())["analysis_id"].to_pylist()
    later_a = service.analysis(later) if later else service.analysis()
    method = method or ("rfm" if "rfm" in later_a.methods else later_a.methods[0])
    before = [i for i in ids if i != later_a.analysis_id]
    earlier = earlier or (before[-1] if before else None)
    names = {
        r["segment"]: ctx.t.segment(r["segment"], r["segment_zh"]) for r in later_a.segment_summary(method).to_pylist()
    }
    names["(absent)"] = ctx.t("migration.absent")
    view: dict[str, Any] = {
        "analysis": later_a,
        "ids": ids,
        "method": method,
        "methods": later_a.methods,
        "earlier": earlier,
        "later": later_a.analysis_id,
        "sankey": None,
        "moves": [],
    }
    if earlier is not None and earlier != later_a.analysis_id:
        moved = later_a.migration(earlier, method)
        rows = moved.matrix.to_pyarrow().to_pylist()
        view["moves"] = [
            {
                **r,
                "from": names.get(r["from_segment"], r["from_segment"]),
                "to": names.get(r["to_segment"], r["to_segment"]),
            }
            for r in rows
        ]
        flow = [
            {"from_state": r["from_segment"], "to_state": r["to_segment"], "customers": r["customers"]} for r in rows
        ]
        view["sankey"] = charts.flow_chart(
            flow, names, ctx.t, ctx.t("migration.chart", method=ctx.t(f"method.{method}"))
        )
    if later_a.has_result("state_flow"):
        states = (
            {
                r["segment"]: ctx.t.segment(r["segment"], r["segment_zh"])
                for r in later_a.segment_summary("state").to_pylist()
            }
            if "state" in later_a.methods
            else {}
        )
        days = later_a.config["state_flow"]["days"]
        view["state_chart"] = charts.flow_chart(
            later_a.result("state_flow").to_pylist(), states, ctx.t, ctx.t("migration.state_chart", days=days)
        )
    else:
        view["state_chart"] = None
    return view


def concentration(ctx: PageContext) -> dict[str, Any]:
    """The Pareto curve and the value pyramid."""
    a = ctx.service.analysis()
    pyramid = a.segment_summary("pyramid") if "pyramid" in a.methods else None
    return {
        "analysis": a,
        "concentration": a.details.get("concentration", {}),
        "pareto": charts.pareto_chart(a.result("pareto"), a.details.get("concentration", {}), ctx.t),
        "pyramid": charts.pyramid_chart(pyramid, ctx.t) if pyramid is not None else None,
        "tiers": pyramid.to_pylist() if pyramid is not None else [],
    }


def clv(ctx: PageContext) -> dict[str, Any]:
    """The lifetime-value distribution, the CLV matrix and the customers of highest lifetime value."""
    import ibis

    a = ctx.service.analysis()
    split = a.details.get("segments", {}).get("clv_matrix", {})
    thresholds = (float(split["x_split"]), float(split["y_split"])) if split.get("x_split") is not None else None
    c = a.customers()
    top = c.filter(c.clv.notnull()).order_by([ibis.desc(c.clv), c.customer_id]).limit(20)
    top = top.select("customer_id", "order_count", "revenue", "p_alive", "expected_purchases", "clv", "risk_band")
    matrix = a.segment_summary("clv_matrix").to_pylist() if "clv_matrix" in a.methods else []
    return {
        "analysis": a,
        "clv_config": a.config["clv"],
        "histogram": charts.clv_histogram_chart(a.result("clv_histogram"), ctx.t),
        "matrix": charts.clv_matrix_chart(a.result("clv_matrix_points"), thresholds, ctx.t)
        if a.has_result("clv_matrix_points")
        else None,
        "quadrants": matrix,
        "top": top.to_pyarrow().to_pylist(),
    }


def churn(ctx: PageContext, page: int, page_size: int = 50) -> dict[str, Any]:
    """Risk bands and the at-risk list, most value at stake first."""
    from custlens.service import page_of

    a = ctx.service.analysis()
    at_risk = a.at_risk().select(
        "rank",
        "customer_id",
        "risk_band",
        "p_alive",
        "clv",
        "value_at_stake",
        "recency_days",
        "order_count",
        "expected_next_order",
    )
    listed = page_of(at_risk, page=page, page_size=page_size, order_by=["rank"])
    return {
        "analysis": a,
        "bands": a.config["churn"]["bands"],
        "bands_chart": charts.risk_chart(a.result("risk_bands"), ctx.t),
        "list": listed,
        "pages": page_count(listed),
    }


def satisfaction(ctx: PageContext) -> dict[str, Any]:
    """Satisfaction indices overall and per segment, the importance-performance map and the Kano diagram."""
    a = ctx.service.analysis()
    has = a.has_result
    by_segment = a.result("satisfaction_by_segment") if has("satisfaction_by_segment") else None
    seg_method = a.config["satisfaction"]["segments"]
    names = (
        {r["segment"]: ctx.t.segment(r["segment"], r["segment_zh"]) for r in a.segment_summary(seg_method).to_pylist()}
        if seg_method in a.methods
        else {}
    )
    kano = a.result("kano").to_pylist() if has("kano") else []
    ipma = a.result("ipma").to_pylist() if has("ipma") else []
    index = a.result("satisfaction_index") if has("satisfaction_index") else None
    return {
        "analysis": a,
        "method": seg_method,
        "index": index.to_pylist() if index is not None else [],
        "index_chart": charts.satisfaction_chart(index, by_segment, names, ctx.t) if index is not None else None,
        "kano": kano,
        "kano_chart": charts.kano_chart(kano, ctx.t) if kano else None,
        "ipma_chart": charts.ipma_chart(ipma, ctx.t) if ipma else None,
        "skipped": a.skipped.get("satisfaction"),
    }
