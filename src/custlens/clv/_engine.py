"""The purchase and spend models fitted on sufficient statistics, and scored where the data is.

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

The analysis (:mod:`custlens.analysis`) and :func:`value_transactions` (``custlens clv
--workspace`` and ``custlens clv LOG --transactions``) both value customers this way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens.errors import BackendError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from custlens.clv.tables import CLVResult
    from custlens.clv.value import Discounting

__all__ = ["fit_models", "purchase_statistics", "score", "value_transactions"]

_SCORED = "p_alive double, expected_purchases double, expected_spend double, clv double"


def purchase_statistics(history: ir.Table) -> pa.Table:
    """``frequency, recency, T, weight``: the distinct rows of ``history`` and how many customers
    share each, counted in the engine (the sufficient statistics of the purchase models)."""
    grouped = history.group_by(["frequency", "recency", "T"]).aggregate(weight=history.count())
    return grouped.order_by(["frequency", "recency", "T"]).to_pyarrow()


def fit_models(history: ir.Table, *, model: str, spend: str | None, penalizer: float) -> tuple[Any, Any]:
    """The fitted purchase model (``model``: bgnbd, mbgnbd, pnbd) and Gamma-Gamma (``spend="gg"``, else ``None``).

    ``history`` is the per-customer ``frequency, recency, T, monetary_value`` table in the
    engine; only its distinct rows with their counts are fetched.
    """
    from custlens.clv import MODELS

    stats = purchase_statistics(history)
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
    history: ir.Table,
    fetched: pa.Table | None,
    purchase: Any,
    spend: Any,
    options: Mapping[str, Any],
    *,
    on_duckdb: bool,
) -> CLVResult:
    """Every buyer's lifetime value with fitted models, in ``customer_id`` order.

    Parameters
    ----------
    history
        The per-customer histories in the engine.
    fetched
        The same histories on the driver, ordered by ``customer_id`` (the order of the
        result), when the caller has them; ``None``: DuckDB fetches them here, Spark
        leaves them on the executors.
    purchase, spend
        The fitted models (``spend`` ``None``: the observed mean spend).
    options
        ``horizon_months, monthly_discount, time_unit, margin`` (and optionally
        ``discounting``) of :func:`custlens.clv.value_customers`.
    on_duckdb
        Score the histories in this process (DuckDB), or ``history`` on the Spark executors.
    """
    from dataclasses import replace

    from custlens.clv.tables import value_customers
    from custlens.warehouse.compat import to_arrow

    if on_duckdb:
        if fetched is None:
            fetched = to_arrow(_columns(history).order_by("customer_id"))
        return value_customers(fetched, model=purchase, spend=spend, **options)
    # the models and settings of the result, from one customer (the models are fitted already)
    first = fetched.slice(0, 1) if fetched is not None else to_arrow(_columns(history).limit(1))
    here = value_customers(first, model=purchase, spend=spend, **options)
    table = _score_on_spark(history, purchase, spend, dict(options))
    if fetched is not None and not table["customer_id"].equals(fetched["customer_id"]):
        raise BackendError("Spark returned the scored customers in another order than their histories")
    return replace(here, table=table)


def _columns(history: ir.Table) -> ir.Table:
    return history.select("customer_id", "frequency", "recency", "T", "monetary_value")


def _score_on_spark(history: ir.Table, purchase: Any, spend: Any, options: dict[str, Any]) -> pa.Table:
    """``customer_id, p_alive, expected_purchases, expected_spend, clv`` scored by the executors."""
    from custlens.warehouse.compat import spark_frame

    frame = spark_frame(_columns(history))
    # the ids keep their type, as value_customers keeps it on DuckDB
    schema = f"customer_id {frame.schema['customer_id'].dataType.simpleString()}, {_SCORED}"

    def batches(parts: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from custlens.clv import value_customers

        for batch in parts:
            if batch.num_rows:
                scored = value_customers(pa.Table.from_batches([batch]), model=purchase, spend=spend, **options)
                yield from scored.table.to_batches()

    scored = frame.mapInArrow(batches, schema).orderBy("customer_id")
    return scored.toArrow()


def value_transactions(
    transactions: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    time_unit: str = "W",
    as_of: Any = None,
    model: str = "bgnbd",
    spend: str | None = "gg",
    horizon_months: float = 12.0,
    monthly_discount: float = 0.01,
    margin: float = 1.0,
    discounting: Discounting = "discrete",
    penalizer: float = 0.0,
) -> CLVResult:
    """Value every customer of a transaction log, in the engine that holds it (DuckDB or Spark).

    The log is summarised where it lies, as :func:`~custlens.clv.summary_from_transactions`
    does (``recency`` and ``T`` in ``time_unit``: ``D`` days, ``W`` = 7 days, ``M`` =
    365.25/12 days; rows flagged in a ``return_flag`` column and negative amounts are
    returns, not purchases). The purchase model and Gamma-Gamma are fitted on the
    sufficient statistics the engine computes (the distinct ``(frequency, recency, T)``
    rows with their counts, the repeat buyers' distinct ``(frequency, monetary_value)``
    pairs), and every customer is scored by :func:`~custlens.clv.value_customers` with the
    fitted models: in this process on DuckDB, by the executors on Spark
    (``DataFrame.mapInArrow``); the per-customer histories never reach the driver there.
    Both engines give the same table (to floating-point summation order).

    Parameters
    ----------
    transactions
        A transaction log: an Ibis table of any backend (a workspace's ``transactions``, a
        file read by :func:`custlens.ingest.scan_table`, a Spark table), or an Arrow,
        pandas or polars table (valued on DuckDB).
    customer_col, date_col, amount_col
        The log's customer, date (or timestamp; UTC days) and amount columns.
    time_unit
        Unit of ``recency`` and ``T``: ``D``, ``W`` or ``M``.
    as_of
        Observation end (inclusive day); default the last transaction day.
    model
        Purchase model to fit: ``bgnbd``, ``mbgnbd`` or ``pnbd``.
    spend
        ``gg`` to fit Gamma-Gamma for the expected spend, ``None`` to use each customer's
        observed mean repeat spend.
    horizon_months, monthly_discount, margin, discounting
        As in :func:`~custlens.clv.customer_lifetime_value`.
    penalizer
        L2 penalty of both fits.

    Returns
    -------
    CLVResult
        ``customer_id, p_alive, expected_purchases, expected_spend, clv`` ordered by
        ``customer_id``, the fitted models, and the settings (``penalizer`` included).
    """
    from dataclasses import replace

    from custlens._frames import as_ibis
    from custlens.clv._registry import PURCHASE_MODELS
    from custlens.clv.tables import _summary_expression
    from custlens.clv.value import check_value_options
    from custlens.errors import InputError, did_you_mean
    from custlens.schema import check_time_unit
    from custlens.warehouse.compat import backend_name, to_arrow
    from custlens.warehouse.compat import cache as cache_table

    unit = check_time_unit(time_unit)
    check_value_options(horizon_months, monthly_discount, unit, discounting, margin)
    if model not in PURCHASE_MODELS:
        raise InputError(
            f"'model' must be one of {', '.join(PURCHASE_MODELS)}; got {model!r}{did_you_mean(str(model), PURCHASE_MODELS)}"
        )
    if spend not in ("gg", None):
        raise InputError(f"'spend' must be 'gg' or None; got {spend!r}")
    log = as_ibis(transactions, "transactions")
    if spend is not None and amount_col not in log.columns:
        raise InputError(
            f"'amount_col' {amount_col!r} is not a column of the transactions{did_you_mean(amount_col, log.columns)}; "
            "the Gamma-Gamma spend model needs the amounts (or give spend=None)"
        )
    history = _summary_expression(
        log, customer_col=customer_col, date_col=date_col, amount_col=amount_col, time_unit=unit, as_of=as_of
    )
    # read three times (two statistics and the scoring): computed once. DuckDB scores in
    # this process, so its histories are fetched once and the statistics counted from them.
    on_duckdb = backend_name(history) != "pyspark"
    fetched = None
    if on_duckdb:
        import ibis

        fetched = to_arrow(_columns(history).order_by("customer_id"))
        history = ibis.memtable(fetched)
    else:
        history = cache_table(history)
    purchase, spend_model = fit_models(history, model=model, spend=spend, penalizer=penalizer)
    options = {
        "horizon_months": float(horizon_months),
        "monthly_discount": float(monthly_discount),
        "time_unit": unit,
        "margin": float(margin),
        "discounting": discounting,
    }
    result = score(history, fetched, purchase, spend_model, options, on_duckdb=on_duckdb)
    return replace(result, settings={**result.settings, "penalizer": float(penalizer)})
