"""How much the customers' lifetime value moves with each factor the course text lists: a table and a tornado chart.

The course text (客户终生价值, 影响客户终身价值的各种因素) lists the factors of lifetime value:
时间长短 the length of the relationship, 贴现率 the discount rate, 客户的维系率 the retention
rate, 产品被提及率 how often the product is recommended (referral rate), 客户的收入变化 the
change in what the customer spends, 客户关系的维系成本 the cost of keeping the relationship
(cost to serve) and 营销费用 marketing cost. :func:`clv_sensitivity` moves each factor in
turn, keeps the others at their base, and recomputes the potential value of every buyer
from the same fitted purchase model (:func:`custlens.clv.value_components`); the total
over buyers is reported per step. :func:`tornado_table` keeps the low and high step of
each factor, ordered by the swing between them, and :func:`tornado_figure` draws it.
The formula and the retention shift are in :mod:`custlens.clv._valuemath`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from custlens.clv._valuemath import CHUNK, MonthlyTotals, future_value, monthly_flows
from custlens.clv.components import ComponentsResult
from custlens.errors import InputError

__all__ = ["FACTORS", "Factor", "clv_sensitivity", "tornado_table", "tornado_figure"]


@dataclass(frozen=True)
class Factor:
    """One factor of lifetime value: its name, the text's name, and how a step moves it.

    ``kind`` ``relative``: a step of 1 multiplies the base setting by ``1 + relative``;
    ``points``: a step of 1 adds ``points`` (an absolute rate, per year).
    """

    name: str
    name_zh: str
    kind: str
    unit: str


FACTORS: tuple[Factor, ...] = (
    Factor("horizon", "时间长短", "relative", "months"),
    Factor("discount", "贴现率", "relative", "rate per month"),
    Factor("retention", "客户的维系率", "points", "annual retention rate"),
    Factor("referral", "产品被提及率", "relative", "referrals per customer-month"),
    Factor("spend_growth", "客户的收入变化", "points", "annual growth of spend"),
    Factor("cost_to_serve", "客户关系的维系成本", "relative", "cost to serve per month"),
    Factor("marketing", "营销费用", "relative", "marketing per customer-month"),
)
"""The factors of the course text, in its order (时间长短 ... 营销费用)."""

_COLUMNS = (
    "factor",
    "factor_zh",
    "unit",
    "step",
    "base_setting",
    "setting",
    "clv",
    "clv_mean",
    "change",
    "change_share",
)


def _check(name: str, value: Any, rule: str, ok: bool) -> None:
    if not ok:
        raise InputError(f"The {name!r} parameter of clv_sensitivity must be {rule}. Got {value!r} instead.")


def clv_sensitivity(
    components: ComponentsResult,
    *,
    relative: float = 0.10,
    retention_points: float = 0.05,
    growth_points: float = 0.05,
    steps: Sequence[float] = (-1.0, -0.5, 0.5, 1.0),
) -> pa.Table:
    """The customers' total potential value as each factor of the course text moves.

    Parameters
    ----------
    components
        The result of :func:`custlens.clv.value_components`; its potential part is the base
        (step 0).
    relative
        A step of 1 moves the relative factors (horizon, discount, referral rate, cost to
        serve, marketing) by this share of their base setting (0.10 = 10 %).
    retention_points
        A step of 1 moves the annual retention rate of every future month by this many
        points (0.05 = five points, the text's "维持率提高5").
    growth_points
        A step of 1 moves the annual growth of spend per purchase by this much (base 0).
    steps
        The steps of every factor (0 is always added as the base).

    Returns
    -------
    pyarrow.Table
        ``factor, factor_zh, unit, step, base_setting, setting, clv, clv_mean, change,
        change_share``: one row per factor and step; ``clv`` is the total potential value
        over the buyers, ``change`` its difference from the base, ``change_share`` that
        over the base total (null when the base is 0).
    """
    _check("relative", relative, "a float in (0, 1)", isinstance(relative, (int, float)) and 0 < relative < 1)
    for name, value in (("retention_points", retention_points), ("growth_points", growth_points)):
        _check(name, value, "a float in (0, 1)", isinstance(value, (int, float)) and 0 < value < 1)
    grid = sorted({0.0, *(float(s) for s in steps)})
    _check("steps", steps, "finite numbers in [-1, 1]", all(math.isfinite(s) and -1 <= s <= 1 for s in grid))
    d = components.details
    inp = components.inputs
    base = {
        "horizon": float(d["horizon_months"]),
        "discount": float(d["monthly_discount"]),
        "retention": 0.0,
        "referral": float(d["referral_rate"]),
        "spend_growth": 0.0,
        "cost_to_serve": 1.0,
        "marketing": float(d["marketing_per_month"]),
    }
    per_referral = float(d["referral_customer_value"])
    n = len(inp["spend"])
    settings: list[tuple[Factor, float, dict[str, float]]] = []
    for factor in FACTORS:
        for step in grid:
            setting = dict(base)
            if factor.name == "retention":
                setting["retention"] = step * retention_points
            elif factor.name == "spend_growth":
                setting["spend_growth"] = step * growth_points
            else:
                setting[factor.name] = base[factor.name] * (1.0 + step * relative)
            settings.append((factor, step, setting))
    totals = _totals(components, [setting for _, _, setting in settings], base, per_referral)
    base_total = totals[_key(base)]
    rows = []
    for factor, step, setting in settings:
        value = base_total if step == 0 else totals[_key(setting)]
        shown_base, shown = base[factor.name], setting[factor.name]
        if factor.name == "cost_to_serve":  # shown as the buyers' mean cost to serve per month
            mean_serve = float(np.mean(inp["serve_cost"])) if n else 0.0
            shown_base, shown = mean_serve, mean_serve * setting["cost_to_serve"]
        rows.append(
            {
                "factor": factor.name,
                "factor_zh": factor.name_zh,
                "unit": factor.unit,
                "step": step,
                "base_setting": shown_base,
                "setting": shown,
                "clv": value,
                "clv_mean": value / n if n else float("nan"),
                "change": value - base_total,
                "change_share": (value - base_total) / base_total if base_total else None,
            }
        )
    return pa.Table.from_pylist(rows).select(list(_COLUMNS))


def _key(setting: dict[str, float]) -> tuple[float, ...]:
    return tuple(setting[name] for name in sorted(setting))


def _totals(
    components: ComponentsResult,
    settings: list[dict[str, float]],
    base: dict[str, float],
    per_referral: float,
) -> dict[tuple[float, ...], float]:
    """The buyers' total potential value under each setting, in one pass over chunks of buyers.

    A setting without a retention shift is linear in each buyer's monthly expectations, so
    it needs only the monthly sums of its horizon (:class:`MonthlyTotals`); a retention shift
    changes each buyer's survival and is summed buyer by buyer. Memory holds one chunk's
    monthly matrices (:data:`CHUNK` buyers).
    """
    inp = components.inputs
    x, t_x, T = inp["frequency"], inp["recency"], inp["T"]
    spend, margin, serve = inp["spend"], inp["margin_rate"], inp["serve_cost"]
    upm = float(inp["units_per_month"][0])
    horizons = sorted({s["horizon"] for s in settings if s["retention"] == 0.0})
    shifts = sorted({s["retention"] for s in settings if s["retention"] != 0.0})
    sums: dict[float, MonthlyTotals] = {}
    shifted = dict.fromkeys(shifts, 0.0)
    for lo in range(0, len(spend), CHUNK):
        c = slice(lo, lo + CHUNK)
        for months in sorted({*horizons, base["horizon"]} if shifts else horizons):
            flows = monthly_flows(components.purchase_model, x[c], t_x[c], T[c], months, upm)
            if months in horizons:
                part = MonthlyTotals.of(flows, spend[c], margin[c], serve[c])
                sums[months] = sums[months] + part if months in sums else part
            if months == base["horizon"]:
                for shift in shifts:
                    shifted[shift] += float(
                        future_value(
                            flows,
                            spend[c],
                            margin[c],
                            serve[c],
                            discount=base["discount"],
                            marketing=base["marketing"],
                            referral_value=base["referral"] * per_referral,
                            retention_shift=shift,
                        ).value.sum()
                    )
    out: dict[tuple[float, ...], float] = {}
    for setting in settings:
        if setting["retention"] != 0.0:
            out[_key(setting)] = shifted[setting["retention"]]
        elif months_sum := sums.get(setting["horizon"]):
            out[_key(setting)] = months_sum.total(
                discount=setting["discount"],
                marketing=setting["marketing"],
                referral_value=setting["referral"] * per_referral,
                growth=setting["spend_growth"],
                serve_factor=setting["cost_to_serve"],
            )
        else:  # no buyers
            out[_key(setting)] = 0.0
    return out


def tornado_table(sensitivity: Any) -> pa.Table:
    """``factor, factor_zh, low_setting, high_setting, low_clv, high_clv, base_clv, swing``, largest swing first.

    Low and high are the smallest and largest step of each factor in ``sensitivity`` (the
    table of :func:`clv_sensitivity`); ``swing = |high_clv - low_clv|``.
    """
    from custlens._frames import as_arrow

    t = as_arrow(sensitivity, "sensitivity")
    missing = [c for c in ("factor", "factor_zh", "step", "setting", "clv") if c not in t.column_names]
    if missing:
        raise InputError(f"sensitivity: no column {missing[0]!r}; expected the table of clv_sensitivity")
    rows = t.to_pylist()
    out = []
    for name in dict.fromkeys(r["factor"] for r in rows):
        mine = sorted((r for r in rows if r["factor"] == name), key=lambda r: r["step"])
        base = next((r for r in mine if r["step"] == 0), None)
        if base is None or len(mine) < 2:
            raise InputError(f"sensitivity: factor {name!r} needs its base step 0 and at least one other step")
        low, high = mine[0], mine[-1]
        out.append(
            {
                "factor": name,
                "factor_zh": low["factor_zh"],
                "low_setting": low["setting"],
                "high_setting": high["setting"],
                "low_clv": low["clv"],
                "high_clv": high["clv"],
                "base_clv": base["clv"],
                "swing": abs(high["clv"] - low["clv"]),
            }
        )
    out.sort(key=lambda r: -r["swing"])
    return pa.Table.from_pylist(out)


def tornado_figure(sensitivity: Any, *, title: str = "Lifetime value by factor 影响客户终生价值的因素") -> Any:
    """The tornado chart (Plotly): for each factor, bars from the base value to its low and high value.

    ``sensitivity`` is the table of :func:`clv_sensitivity` or :func:`tornado_table`. Factors
    are ordered by swing, the largest at the top; labels are bilingual.
    """
    import plotly.graph_objects as go

    from custlens._frames import as_arrow

    t = as_arrow(sensitivity, "sensitivity")
    table = t if "swing" in t.column_names else tornado_table(t)
    rows = list(reversed(table.to_pylist()))  # plotly draws the first category at the bottom
    labels = [f"{r['factor']} {r['factor_zh']}" for r in rows]
    base = rows[0]["base_clv"] if rows else 0.0
    fig = go.Figure()
    for side, colour in (("low", "#d62728"), ("high", "#2ca02c")):
        fig.add_trace(
            go.Bar(
                y=labels,
                x=[r[f"{side}_clv"] - base for r in rows],
                base=base,
                orientation="h",
                name=f"{side} setting",
                marker_color=colour,
                customdata=[[r[f"{side}_setting"], r[f"{side}_clv"]] for r in rows],
                hovertemplate="%{y}<br>setting %{customdata[0]:.4g}<br>CLV %{customdata[1]:,.0f}<extra></extra>",
            )
        )
    fig.add_vline(x=base, line_color="grey", line_dash="dot")
    fig.update_layout(
        title=title,
        barmode="overlay",
        xaxis={"title": "total potential value of the buyers 客户潜在价值合计"},
        template="plotly_white",
    )
    return fig
