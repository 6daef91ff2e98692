"""The purchase and spend models of the analysis: fitted on sufficient statistics, scored where the data is.

The fit reads only what the likelihoods need, computed in the engine that holds the
purchase histories (DuckDB or Spark): the distinct ``(frequency, recency, T)`` rows with
the number of customers sharing each (the BG/NBD, MBG/NBD and Pareto/NBD likelihoods are
sums over customers, so equal rows add up as weights; Fader, Hardie and Lee 2005, eq. 6),
and the distinct ``(frequency, monetary_value)`` pairs of repeat buyers for Gamma-Gamma
(Fader, Hardie and Lee 2005b, eq. 3, again a sum over customers). Only these rows reach
the driver, however many customers there are.

Scoring is :func:`custlens.clv.value_customers` with the fitted models: on DuckDB over
the fetched histories, on Spark inside the executors (``DataFrame.mapInArrow``: each
Arrow batch of histories is scored where it lies); both give the same numbers, row by
row, because the same vectorised function runs on the same inputs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens.errors import BackendError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from custlens.clv import CLVResult

__all__ = ["fit_models", "score"]

_SCORED = "customer_id string, p_alive double, expected_purchases double, expected_spend double, clv double"


def fit_models(history: ir.Table, *, model: str, spend: str | None, penalizer: float) -> tuple[Any, Any]:
    """The fitted purchase model (``model``: bgnbd, mbgnbd, pnbd) and Gamma-Gamma (``spend="gg"``, else ``None``).

    ``history`` is the per-customer ``frequency, recency, T, monetary_value`` table in the
    engine; only its distinct rows with their counts are fetched.
    """
    from custlens.clv import MODELS

    stats = (
        history.group_by(["frequency", "recency", "T"])
        .aggregate(weight=history.count())
        .order_by(["frequency", "recency", "T"])
        .to_pyarrow()
    )
    purchase: Any = MODELS[model](penalizer=penalizer)
    purchase.fit(
        _floats(stats, "frequency"), _floats(stats, "recency"), _floats(stats, "T"), weights=_floats(stats, "weight")
    )
    if spend is None:
        return purchase, None
    repeat = history.filter(history.frequency > 0)
    pairs = (
        repeat.group_by(["frequency", "monetary_value"])
        .aggregate(weight=repeat.count())
        .order_by(["frequency", "monetary_value"])
        .to_pyarrow()
    )
    gg: Any = MODELS[spend](penalizer=penalizer)
    gg.fit(_floats(pairs, "frequency"), _floats(pairs, "monetary_value"), weights=_floats(pairs, "weight"))
    return purchase, gg


def _floats(table: pa.Table, name: str) -> Any:
    return table.column(name).to_numpy().astype(float)


def score(
    history: ir.Table, fetched: pa.Table, purchase: Any, spend: Any, options: Mapping[str, Any], *, on_duckdb: bool
) -> CLVResult:
    """Every buyer's lifetime value with fitted models, in the order of ``fetched``.

    Parameters
    ----------
    history
        The per-customer histories in the engine.
    fetched
        The same histories on the driver, ordered by ``customer_id`` (the order of the result).
    purchase, spend
        The fitted models (``spend`` ``None``: the observed mean spend).
    options
        ``horizon_months, monthly_discount, time_unit, margin`` of
        :func:`custlens.clv.value_customers`.
    on_duckdb
        Score ``fetched`` in this process (DuckDB), or ``history`` on the Spark executors.
    """
    from dataclasses import replace

    from custlens.clv import value_customers

    here = value_customers(fetched if on_duckdb else fetched.slice(0, 1), model=purchase, spend=spend, **options)
    if on_duckdb:
        return here
    table = _score_on_spark(history, purchase, spend, dict(options))
    if not table["customer_id"].equals(fetched["customer_id"]):
        raise BackendError("Spark returned the scored customers in another order than their histories")
    return replace(here, table=table)


def _score_on_spark(history: ir.Table, purchase: Any, spend: Any, options: dict[str, Any]) -> pa.Table:
    """``customer_id, p_alive, expected_purchases, expected_spend, clv`` scored by the executors."""
    from custlens.warehouse.compat import spark_frame

    frame = spark_frame(history.select("customer_id", "frequency", "recency", "T", "monetary_value"))

    def batches(parts: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from custlens.clv import value_customers

        for batch in parts:
            if batch.num_rows:
                scored = value_customers(pa.Table.from_batches([batch]), model=purchase, spend=spend, **options)
                yield from scored.table.to_batches()

    scored = frame.mapInArrow(batches, _SCORED).orderBy("customer_id")
    return scored.toArrow()
