"""What the analysis pages show, asked of :mod:`custlens.service` (nothing is computed here).

One function per page: it calls the service's query for what the page shows (each checks
the user's permission), draws the stored results with :mod:`custlens.web._charts` and
returns the template's values. Labels and number formats are the template's
(:class:`custlens.i18n.Translator`).
"""

from __future__ import annotations

from typing import Any

from custlens.errors import InputError, NotFoundError
from custlens.web import _charts as charts
from custlens.web._context import PageContext, page_count

__all__ = ["overview", "segments", "rfm", "migration", "concentration", "clv", "churn", "satisfaction"]

MODEL_NAMES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pnbd": "Pareto/NBD", "gg": "Gamma-Gamma", "bgbb": "BG/BB"}

_KPIS = (
    ("kpi.customers", "customers", "num", "analyses:read"),
    ("kpi.buyers", "buyers", "num", "analyses:read"),
    ("kpi.revenue", "revenue", "money", "analyses:read"),
    ("kpi.orders", "orders", "num", "analyses:read"),
    ("kpi.repeat_share", "repeat_share", "pct", "analyses:read"),
    ("kpi.mean_p_alive", "mean_p_alive", "pct", "churn:read"),
    ("kpi.clv_total", "clv_total", "money", "value:read"),
    ("kpi.at_risk", "at_risk_customers", "num", "churn:read"),
    ("kpi.value_at_stake", "value_at_stake", "money", "churn:read"),
)
"""The overview's headline figures: label, ``details["overview"]`` key, format, permission to see it."""


def _run(data: dict[str, Any]) -> dict[str, Any]:
    """The analysis a page was read from, for its footer."""
    return {"analysis_id": data.get("analysis_id"), "as_of": data.get("as_of")}


def _names(ctx: PageContext, method: str, analysis_id: str | None = None) -> dict[str, str]:
    """Display names of a segmentation's segments (their Chinese names in Chinese).

    Read from the stored summary's ``segment, segment_zh`` only: the satisfaction page
    names the segments its indices are averaged over for roles without ``segments:read``.
    """
    summary = ctx.service.analysis(analysis_id).segment_summary(method).select(["segment", "segment_zh"])
    return {r["segment"]: ctx.t.segment(r["segment"], r["segment_zh"]) for r in summary.to_pylist()}


def overview(ctx: PageContext) -> dict[str, Any]:
    """Headline figures, concentration and the fitted models of the latest analysis."""
    from custlens.service import analysis_metadata

    t = ctx.t
    meta = analysis_metadata(ctx.service, ctx.me, "latest")
    figures, conc = meta["details"].get("overview", {}), meta["details"].get("concentration", {})
    formats = {"num": t.num, "money": t.money, "pct": t.pct}
    months = t.num(meta["config"]["clv"]["horizon_months"])
    kpis = [
        (t(key, months=months), formats[kind](figures.get(name))) for key, name, kind, perm in _KPIS if ctx.can(perm)
    ]
    if ctx.can("value:read"):
        kpis += [
            (t("kpi.gini"), t.dec(conc.get("gini"))),
            (t("kpi.top_share", share=t.pct(conc.get("top_share", 0.2), 0)), t.pct(conc.get("top_share_value"))),
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
        for role, entry in meta["models"].items()
    ]
    return {
        "run": _run(meta),
        "meta": meta,
        "kpis": kpis,
        "models": models if ctx.can("value:read") else [],
        "skipped": sorted(meta["skipped"].items()),
    }


def _rule_preview(ctx: PageContext, rule: str, first: int = 20) -> tuple[dict[str, Any] | None, str | None]:
    """How many customers a rule selects and the most important of them, or the rule's error."""
    from custlens.service import count_customers, search_customers

    try:
        counted = count_customers(ctx.service, ctx.me, rule=rule)
        members = search_customers(ctx.service, ctx.me, rule=rule, page_size=first)
    except InputError as exc:  # RuleError: the rule does not parse or does not fit the columns
        return None, str(exc)
    share = counted["customers"] / counted["of"] if counted["of"] else None
    return {"count": counted["customers"], "total": counted["of"], "share": share, "members": members.items}, None


def segments(ctx: PageContext, method: str | None, rule: str | None = None) -> dict[str, Any]:
    """A segmentation's segments with sizes, value shares and playbook actions; a rule's preview."""
    from custlens.service import customer_fields, segment_methods, segment_summary

    methods = [m["method"] for m in segment_methods(ctx.service, ctx.me).items]
    summary = segment_summary(ctx.service, ctx.me, method or methods[0])
    method = summary["method"]
    title = ctx.t("chart.sizes.title", method=ctx.t(f"method.{method}"))
    preview, error = _rule_preview(ctx, rule) if rule else (None, None)
    return {
        "run": _run(summary),
        "method": method,
        "methods": methods,
        "summary": summary["segments"],
        "actions": [a for a in summary["actions"] if a["segment"] in {r["segment"] for r in summary["segments"]}],
        "sizes_chart": charts.segment_sizes_chart(summary["segments"], ctx.t, title),
        "rule": rule or "",
        "rule_error": error,
        "preview": preview,
        "fields": [f["name"] for f in customer_fields(ctx.service, ctx.me) if f["name"] != "customer_id"],
    }


def rfm(ctx: PageContext) -> dict[str, Any]:
    """The RFM heat map and the score cut points."""
    from custlens.service import segment_summary

    summary = segment_summary(ctx.service, ctx.me, "rfm")
    cuts = summary["details"].get("cut_points", {})
    return {
        "run": _run(summary),
        "heatmap": charts.rfm_chart(summary["results"]["rfm_heatmap"], ctx.t),
        "counts": charts.rfm_chart(summary["results"]["rfm_heatmap"], ctx.t, "customers"),
        "cut_points": [(name, cuts[name]) for name in ("recency", "frequency", "monetary") if name in cuts],
    }


def migration(ctx: PageContext, method: str | None, earlier: str | None, later: str | None) -> dict[str, Any]:
    """Customers moving between the segments of two stored analyses, and the relationship-state flow."""
    from custlens.service import analysis_metadata, list_stored_analyses, segment_migration, segment_summary

    ids = [r["analysis_id"] for r in list_stored_analyses(ctx.service, ctx.me, page_size=500).items][::-1]
    meta = analysis_metadata(ctx.service, ctx.me, later or "latest")
    later, method = meta["analysis_id"], method or "rfm"
    view: dict[str, Any] = {
        "run": _run(meta),
        "ids": ids,
        "method": method,
        "methods": meta["methods"],
        "earlier": earlier,
        "later": later,
        "sankey": None,
        "moves": [],
    }
    if earlier != later:
        try:
            moved = segment_migration(ctx.service, ctx.me, method, earlier=earlier, later=later)
        except NotFoundError:
            moved = None  # nothing stored before this analysis to compare with
        if moved is not None:
            names = {**_names(ctx, method, later), "(absent)": ctx.t("migration.absent")}
            rows = moved["matrix"]
            view["earlier"] = moved["earlier"]
            view["moves"] = [
                {
                    **r,
                    "from": names.get(r["from_segment"], r["from_segment"]),
                    "to": names.get(r["to_segment"], r["to_segment"]),
                }
                for r in rows
            ]
            flow = [
                {"from_state": r["from_segment"], "to_state": r["to_segment"], "customers": r["customers"]}
                for r in rows
            ]
            view["sankey"] = charts.flow_chart(
                flow, names, ctx.t, ctx.t("migration.chart", method=ctx.t(f"method.{method}"))
            )
    state = segment_summary(ctx.service, ctx.me, "state", analysis_id=later)
    flow = state["results"].get("state_flow")
    states = {r["segment"]: ctx.t.segment(r["segment"], r["segment_zh"]) for r in state["segments"]}
    title = ctx.t("migration.state_chart", days=meta["config"]["state_flow"]["days"])
    view["state_chart"] = charts.flow_chart(flow, states, ctx.t, title) if flow else None
    return view


def concentration(ctx: PageContext) -> dict[str, Any]:
    """The Pareto curve and the value pyramid."""
    from custlens.service import clv_distribution, segment_summary

    value = clv_distribution(ctx.service, ctx.me)
    pyramid = segment_summary(ctx.service, ctx.me, "pyramid")["segments"]
    return {
        "run": _run(value),
        "concentration": value["concentration"],
        "pareto": charts.pareto_chart(value["pareto"], value["concentration"], ctx.t),
        "pyramid": charts.pyramid_chart(pyramid, ctx.t),
        "tiers": pyramid,
    }


def clv(ctx: PageContext) -> dict[str, Any]:
    """The lifetime-value distribution, the CLV matrix and the customers of highest lifetime value."""
    from custlens.service import clv_distribution, clv_matrix, top_customers

    value = clv_distribution(ctx.service, ctx.me)
    matrix = clv_matrix(ctx.service, ctx.me)
    split = matrix["details"]
    thresholds = (float(split["x_split"]), float(split["y_split"])) if split.get("x_split") is not None else None
    return {
        "run": _run(value),
        "settings": value["settings"],
        "histogram": charts.clv_histogram_chart(value["histogram"], ctx.t),
        "matrix": charts.clv_matrix_chart(matrix["points"], thresholds, ctx.t),
        "quadrants": matrix["segments"],
        "top": top_customers(ctx.service, ctx.me, page_size=20).items,
    }


def churn(ctx: PageContext, page: int, page_size: int = 50) -> dict[str, Any]:
    """Risk bands and the at-risk list, most value at stake first."""
    from custlens.service import at_risk_customers, risk_bands

    bands = risk_bands(ctx.service, ctx.me)
    listed = at_risk_customers(ctx.service, ctx.me, page=page, page_size=page_size)
    return {
        "run": _run(bands),
        "bands": bands["at_risk_bands"],
        "bands_chart": charts.risk_chart(bands["bands"], ctx.t),
        "list": listed,
        "pages": page_count(listed),
    }


def _part(ctx: PageContext, part: str) -> dict[str, Any] | None:
    """A stored satisfaction part, or ``None`` when the analysis left it out."""
    from custlens.service import satisfaction as stored

    try:
        return stored(ctx.service, ctx.me, part)
    except NotFoundError:
        return None


def satisfaction(ctx: PageContext) -> dict[str, Any]:
    """Satisfaction indices overall and per segment, the importance-performance map and the Kano diagram."""
    index, by_segment, ipma, kano = (_part(ctx, p) for p in ("index", "segments", "ipma", "kano"))
    method = by_segment["method"] if by_segment else None
    names = _names(ctx, method) if method else {}
    segs = by_segment["rows"] if by_segment else None
    return {
        "run": _run(index or kano or {}),
        "method": method,
        "index": index["rows"] if index else [],
        "index_chart": charts.satisfaction_chart(index["rows"], segs, names, ctx.t) if index else None,
        "kano": kano["rows"] if kano else [],
        "kano_chart": charts.kano_chart(kano["rows"], ctx.t) if kano and kano["rows"] else None,
        "ipma_chart": charts.ipma_chart(ipma["rows"], ctx.t) if ipma and ipma["rows"] else None,
    }
