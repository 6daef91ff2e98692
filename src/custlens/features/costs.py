"""Costs per customer and the value left after them: cost to serve, marketing, acquisition.

The course texts define a customer's lifetime value as the profit contribution the customer
brings *minus the cost of acquiring and keeping the relationship* (客户为企业带来的利润贡献
减去企业为获得和维系与该客户的关系而产生的成本), and the CLV matrix's 放弃型 customers as
those whose profit does not cover the cost of serving them. The value indicators hold the
gross profit; this module adds the costs, so that a customer's contribution and net value
can be negative. Inputs are a cost configuration (TOML file or mapping: a cost per
interaction kind, an acquisition cost per acquisition channel, a marketing spend per
customer-month) and, optionally, a table of recorded costs per customer. Every column and
formula is in ``docs/features.md`` ("Costs").
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from custlens._frames import as_ibis
from custlens._toml import read_toml
from custlens.errors import ConfigError, InputError, did_you_mean
from custlens.features._base import day_of, literal_date, require_columns
from custlens.features.coerce import to_date, typed
from custlens.schema import DAYS_PER_MONTH, INTERACTION_KINDS

__all__ = [
    "COST_COLUMNS",
    "COST_KINDS",
    "CostRates",
    "load_costs",
    "cost_features",
    "service_costs",
    "recorded_costs",
    "kind_cost",
]

COST_COLUMNS = ("customer_id", "service_cost", "marketing_cost", "acquisition_cost", "contribution", "net_value")
"""Columns of :func:`cost_features`, in order."""

COST_KINDS = ("service", "marketing", "acquisition")
"""Values of the ``kind`` column of a recorded-costs table."""


@dataclass(frozen=True)
class CostRates:
    """A company's cost inputs, read from TOML by :func:`load_costs`.

    Attributes
    ----------
    cost_to_serve
        Cost of one interaction by kind; ``default`` for kinds not listed.
    acquisition
        One-time acquisition cost by acquisition channel; ``default`` for other channels
        and customers without one.
    marketing_per_month
        Marketing and retention spend per customer and month of the relationship.
    gross_margin
        Share of revenue that is gross profit where the transactions carry no margin or
        cost (``None``: profit stays unknown there).
    """

    cost_to_serve: Mapping[str, float]
    acquisition: Mapping[str, float]
    marketing_per_month: float = 0.0
    gross_margin: float | None = None

    def serve_cost(self, kind: str) -> float:
        """The cost of one interaction of ``kind`` (``default`` for a kind not listed)."""
        if kind in self.cost_to_serve and kind != "default":
            return float(self.cost_to_serve[kind])
        return float(self.cost_to_serve.get("default", 0.0))

    def acquisition_cost(self, channel: str | None) -> float:
        """The cost of acquiring a customer through ``channel``."""
        return float(self.acquisition.get(channel or "", self.acquisition.get("default", 0.0)))

    @property
    def is_zero(self) -> bool:
        """True when no cost is stated (the shipped defaults)."""
        amounts = [*self.cost_to_serve.values(), *self.acquisition.values(), self.marketing_per_month]
        return all(a == 0 for a in amounts)


def _amount(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where} must be a number >= 0, got {value!r}")
    return float(value)


def load_costs(costs: str | Path | Mapping[str, Any] | CostRates | None = None) -> CostRates:
    """Read a cost configuration: the shipped defaults (no costs) with a TOML file or mapping over them.

    The file has ``gross_margin`` (optional, a share in [0, 1]) and the tables
    ``[cost_to_serve]`` (interaction kind -> cost; ``default``), ``[acquisition]``
    (acquisition channel -> cost; ``default``) and ``[marketing]`` (``per_month``). Every
    amount is a number >= 0 in the currency of the transactions.

    Raises
    ------
    ConfigError
        Naming the file, the table, the key and the value, for unknown tables, unknown
        interaction kinds (with a "did you mean"), negative or non-numeric amounts.
    """
    if isinstance(costs, CostRates):
        return costs
    text = resources.files("custlens.features").joinpath("defaults", "costs.toml").read_text(encoding="utf-8")
    doc = tomllib.loads(text)
    where = "costs"
    if costs is not None:
        given = read_toml(costs, "a costs TOML file") if isinstance(costs, (str, Path)) else dict(costs)
        where = str(costs) if isinstance(costs, (str, Path)) else "costs"
        unknown = [k for k in given if k not in ("gross_margin", "cost_to_serve", "acquisition", "marketing")]
        if unknown:
            raise ConfigError(
                f"{where}: unknown setting {unknown[0]!r}"
                f"{did_you_mean(unknown[0], ['gross_margin', 'cost_to_serve', 'acquisition', 'marketing'])} "
                "(known: gross_margin, cost_to_serve, acquisition, marketing)"
            )
        for key, value in given.items():
            if key != "gross_margin" and not isinstance(value, Mapping):
                raise ConfigError(f"{where}: [{key}] must be a table, got {value!r}")
            doc[key] = {**doc.get(key, {}), **value} if isinstance(value, Mapping) else value
    serve = {k: _amount(v, f"{where}: [cost_to_serve] {k!r}") for k, v in doc["cost_to_serve"].items()}
    kinds = ["default", *INTERACTION_KINDS]
    for kind in serve:
        if kind not in kinds:
            raise ConfigError(
                f"{where}: [cost_to_serve] {kind!r} is not an interaction kind{did_you_mean(kind, kinds)} "
                f"(kinds: {', '.join(kinds)})"
            )
    acq = {str(k): _amount(v, f"{where}: [acquisition] {k!r}") for k, v in doc["acquisition"].items()}
    marketing = doc["marketing"]
    extra = [k for k in marketing if k != "per_month"]
    if extra:
        raise ConfigError(f"{where}: [marketing] unknown setting {extra[0]!r} (known: per_month)")
    per_month = _amount(marketing.get("per_month", 0.0), f"{where}: [marketing] 'per_month'")
    margin = doc.get("gross_margin")
    if margin is not None:
        margin = _amount(margin, f"{where}: 'gross_margin'")
        if margin > 1:
            raise ConfigError(f"{where}: 'gross_margin' must be a share in [0, 1], got {margin!r}")
    return CostRates(serve, acq, per_month, margin)


def kind_cost(kind: ir.StringValue, rates: CostRates) -> ir.FloatingValue:
    """The cost to serve of one interaction of each ``kind`` (``default`` for kinds not listed)."""
    listed = [k for k in rates.cost_to_serve if k != "default"]
    default = rates.serve_cost("")
    if not listed:  # one cost for every kind, shaped like the column
        return ibis.ifelse(kind.isnull(), default, default).cast("float64")
    return kind.cases(*[(k, rates.serve_cost(k)) for k in listed], else_=default).cast("float64")


def service_costs(
    interactions: ir.Table, rates: CostRates, as_of: dt.date, *, since: dt.date | None = None
) -> ir.Table:
    """``customer_id, service_cost, interactions``: the cost to serve in ``(since, as_of]``.

    ``service_cost`` = Σ over the customer's interactions dated in the window of the cost
    of its kind (``rates.serve_cost(kind)``); ``since=None`` counts every interaction on or
    before ``as_of``. Interactions without a customer are ignored.
    """
    require_columns(
        interactions, {"customer_id": "customer_id", "occurred_at": "occurred_at", "kind": "kind"}, "interactions"
    )
    i = typed(interactions, dates=["occurred_at"], what="interactions")
    day = day_of(i.occurred_at)
    keep = i.customer_id.notnull() & (day <= literal_date(as_of))
    if since is not None:
        keep = keep & (day > literal_date(since))
    rows = i.filter(keep)
    rows = rows.mutate(_cost=kind_cost(rows.kind, rates))
    return rows.group_by(customer_id=rows.customer_id.cast("string")).aggregate(
        service_cost=rows._cost.sum(), interactions=rows.count()
    )


def recorded_costs(records: ir.Table, as_of: dt.date, *, since: dt.date | None = None) -> ir.Table:
    """``customer_id, service_cost, marketing_cost, acquisition_cost`` from a table of recorded costs.

    ``records`` has ``customer_id, kind, amount`` and optionally ``incurred_at``; ``kind`` is
    one of :data:`COST_KINDS`. Rows dated after ``as_of`` (or on or before ``since``) are
    ignored; undated rows always count.
    """
    require_columns(records, {"customer_id": "customer_id", "kind": "kind", "amount": "amount"}, "cost records")
    r = typed(records, dates=["incurred_at"], numbers=["amount"], what="cost records")
    bad = r.filter(~r.kind.isin(list(COST_KINDS)) | r.kind.isnull()).kind.topk(1).to_pyarrow().to_pylist()
    if bad:
        raise InputError(
            f"cost records: column 'kind' holds {bad[0]['kind']!r}; expected one of {', '.join(COST_KINDS)}"
        )
    keep = r.customer_id.notnull()
    if "incurred_at" in r.columns:
        day = day_of(r.incurred_at)
        window = day <= literal_date(as_of)
        if since is not None:
            window = window & (day > literal_date(since))
        keep = keep & (day.isnull() | window)
    r = r.filter(keep)
    amount = r.amount.cast("float64")
    return r.group_by(customer_id=r.customer_id.cast("string")).aggregate(
        **{f"{k}_cost": amount.sum(where=r.kind == k) for k in COST_KINDS}
    )


def cost_features(
    features: Any,
    *,
    interactions: Any = None,
    costs: str | Path | Mapping[str, Any] | CostRates | None = None,
    cost_records: Any = None,
    as_of: Any = None,
    customer_col: str = "customer_id",
) -> ir.Table:
    """Cost to serve, marketing and acquisition costs per customer, and the value left after them.

    Parameters
    ----------
    features
        One row per customer with ``profit``, ``revenue`` and ``tenure_days`` -- the table of
        :func:`custlens.features.value_indicators` or :func:`custlens.features.customer_features`
        (with ``customers``, its ``acquisition_channel`` prices the acquisition).
    interactions
        The canonical interactions table; each interaction on or before ``as_of`` costs its
        kind's cost to serve.
    costs
        A costs TOML file or mapping (:func:`load_costs`); default: no costs.
    cost_records
        Optional recorded costs per customer (``customer_id, kind, amount[, incurred_at]``,
        kind ``service``, ``marketing`` or ``acquisition``), added to the configured ones.
    as_of
        The as-of day of ``features``; needed with ``interactions`` or ``cost_records``.

    Returns
    -------
    ibis.Table
        :data:`COST_COLUMNS`, one row per row of ``features``:

        * ``service_cost`` = Σ cost_to_serve[kind] of the interactions + recorded service costs;
        * ``marketing_cost`` = ``marketing.per_month`` x ``tenure_days / 30.4375`` (months
          since the first purchase; 0 without a purchase) + recorded marketing costs;
        * ``acquisition_cost`` = ``acquisition[acquisition_channel]`` (``default`` for other
          or missing channels) + recorded acquisition costs;
        * ``contribution`` = gross profit - service_cost - marketing_cost, where gross profit
          is ``profit``, else ``revenue x gross_margin`` when configured, else 0 for a customer
          without revenue; null when the profit is unknown;
        * ``net_value`` = contribution - acquisition_cost (the historical value of the
          customer net of every cost of getting and keeping it).

    Raises
    ------
    InputError
        For a missing column (naming it and the parameter) or ``as_of`` missing where needed.
    """
    rates = load_costs(costs)
    features = as_ibis(features, "features")
    interactions = None if interactions is None else as_ibis(interactions, "interactions")
    cost_records = None if cost_records is None else as_ibis(cost_records, "cost_records")
    required = {customer_col: customer_col, "profit": "profit", "revenue": "revenue", "tenure_days": "tenure_days"}
    require_columns(features, required, "cost_features 'features'")
    day = None
    if interactions is not None or cost_records is not None:
        if as_of is None:
            raise InputError(
                "cost_features: give 'as_of' (the as-of day of 'features') with interactions or cost records"
            )
        day = to_date(as_of, "as_of")
    f = features
    base = f.select(
        customer_id=f[customer_col].cast("string"),
        _profit=f.profit.cast("float64"),
        _revenue=f.revenue.cast("float64"),
        _months=(f.tenure_days.cast("float64") / DAYS_PER_MONTH).fill_null(0.0),
        _channel=(f.acquisition_channel.cast("string") if "acquisition_channel" in f.columns else ibis.null("string")),
    )
    channels = [c for c in rates.acquisition if c != "default"]
    default_acq = rates.acquisition_cost(None)
    acq = (
        base._channel.cases(*[(c, rates.acquisition_cost(c)) for c in channels], else_=default_acq)
        if channels
        else ibis.literal(default_acq)
    )
    base = base.mutate(
        _acq=ibis.coalesce(acq, default_acq).cast("float64"), _mkt=base._months * rates.marketing_per_month
    )
    out = base.mutate(
        _svc=ibis.literal(0.0), _rec_svc=ibis.literal(0.0), _rec_mkt=ibis.literal(0.0), _rec_acq=ibis.literal(0.0)
    )
    if interactions is not None and day is not None:
        svc = (
            service_costs(interactions, rates, day)
            .select("customer_id", s_cost="service_cost")
            .rename(s_id="customer_id")
        )
        out = out.left_join(svc, out.customer_id == svc.s_id).drop("s_id")
        out = out.mutate(_svc=out.s_cost.fill_null(0.0)).drop("s_cost")
    if cost_records is not None and day is not None:
        rec = recorded_costs(cost_records, day).rename(r_id="customer_id")
        out = out.left_join(rec, out.customer_id == rec.r_id).drop("r_id")
        out = out.mutate(
            _rec_svc=out.service_cost.fill_null(0.0),
            _rec_mkt=out.marketing_cost.fill_null(0.0),
            _rec_acq=out.acquisition_cost.fill_null(0.0),
        ).drop("service_cost", "marketing_cost", "acquisition_cost")
    gross = out._profit
    if rates.gross_margin is not None:
        gross = gross.fill_null(out._revenue * rates.gross_margin)
    gross = ibis.cases((gross.isnull() & (out._revenue.fill_null(0.0) == 0), 0.0), else_=gross)
    service = out._svc + out._rec_svc
    marketing = out._mkt + out._rec_mkt
    acquisition = out._acq + out._rec_acq
    contribution = gross - service - marketing
    return out.select(
        customer_id=out.customer_id,
        service_cost=service,
        marketing_cost=marketing,
        acquisition_cost=acquisition,
        contribution=contribution,
        net_value=contribution - acquisition,
    )
