"""Leads of one block: prospects with source, need, budget and decision authority.

A share of the leads converted: they carry the customer id of a customer of the block,
were recorded before that customer registered, and meet money, authority and need more
often than the leads that did not convert.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from custlens.schema import TABLES
from custlens.synth import _vocab as V
from custlens.synth._arrow import join, padded, take, timestamps
from custlens.synth._population import Period, Population
from custlens.synth.params import CompanyParams

__all__ = ["leads_table", "leads_in_block"]


def leads_in_block(n_customers: int, params: CompanyParams) -> int:
    """Number of leads drawn for a block of ``n_customers`` customers."""
    return int(round(params.leads_per_customer * n_customers))


def leads_table(
    rng: np.random.Generator, pop: Population, period: Period, params: CompanyParams, first_number: int
) -> pa.Table:
    """The ``leads`` rows of a block; lead numbers start at ``first_number``."""
    m = leads_in_block(pop.n, params)
    n_conv = min(int(round(params.lead_conversion_share * m)), pop.n)
    conv_cust = np.sort(rng.choice(pop.n, n_conv, replace=False)) if n_conv else np.zeros(0, np.int64)
    converted = np.zeros(m, bool)
    converted[:n_conv] = True
    cust = np.full(m, -1)
    cust[:n_conv] = conv_cust
    created = rng.random(m) * period.days
    lead_time = np.maximum(pop.created[conv_cust] - rng.gamma(2.0, 10.0, n_conv), 0.0)
    created[:n_conv] = lead_time
    region = rng.choice(len(V.REGION_CODES), m, p=np.array(V.REGION_WEIGHTS) / sum(V.REGION_WEIGHTS))
    region[:n_conv] = pop.region[conv_cust]
    industry = np.where(rng.random(m) < 0.6, rng.integers(0, len(V.INDUSTRIES), m), -1)
    industry[:n_conv] = pop.industry[conv_cust]
    need = rng.random(m) < np.where(converted, 0.9, 0.45)
    authority = rng.random(m) < np.where(converted, 0.8, 0.35)
    budget = np.round(
        np.exp(np.where(converted, 9.5, 8.5) + np.where(converted, 1.0, 1.2) * rng.standard_normal(m)), -2
    )
    no_budget = ~converted & (rng.random(m) < 0.25)
    source = rng.choice(len(V.LEAD_SOURCES), m, p=[0.30, 0.15, 0.15, 0.10, 0.10, 0.12, 0.08])
    cust_safe = np.maximum(cust, 0)
    cols = {
        "lead_id": join("LD", padded(np.arange(first_number, first_number + m), 8)),
        "customer_id": pop.customer_id.take(pa.array(cust_safe, mask=~converted))
        if pop.n
        else pa.nulls(m, pa.string()),
        "created_at": timestamps(period.start_us, created),
        "source": take(V.LEAD_SOURCES, source),
        "need": pa.array(need),
        "budget": pa.array(budget, mask=no_budget),
        "decision_authority": pa.array(authority),
        "region": take(V.REGION_CODES, region),
        "industry": take([i[0] for i in V.INDUSTRIES], np.maximum(industry, 0), industry < 0),
    }
    table = pa.Table.from_pydict(cols, schema=TABLES["leads"].arrow_schema())
    # converted leads are drawn first; shuffle the rows but keep lead ids in order
    return table.take(pa.array(rng.permutation(m))).set_column(0, table.schema.field(0), cols["lead_id"])
