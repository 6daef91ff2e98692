"""Purchases of one block: a buy-till-you-die process, Gamma-Gamma spend, order lines.

After a customer's first purchase, repeat purchases arrive as a Poisson process with the
customer's rate ``lam`` until the customer drops out:

* Pareto/NBD (Schmittlein, Morrison and Colombo 1987): after an exponential lifetime with
  rate ``mu``;
* BG/NBD (Fader, Hardie and Lee 2005): after each repeat purchase with probability ``p``.

Given the number of Poisson events in a window, their times are independent uniforms, so
both processes are drawn exactly without looping over customers. Order values follow the
Gamma-Gamma model (Fader, Hardie and Lee 2005, "RFM and CLV"); each order is split into
1-4 lines with Dirichlet(2) shares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from custlens.schema import TABLES
from custlens.synth import _vocab as V
from custlens.synth._arrow import join, padded, take, timestamps
from custlens.synth._population import Period, Population
from custlens.synth.params import CompanyParams

__all__ = ["Orders", "draw_orders", "transactions_table"]

_N_CAT = len(V.CATEGORIES)
_N_PROD = V.PRODUCTS_PER_CATEGORY
_PRODUCT_WEIGHTS = 1.0 / np.arange(1, _N_PROD + 1) ** 0.8
_PRODUCT_WEIGHTS /= _PRODUCT_WEIGHTS.sum()
_PRODUCT_IDS = [f"{V.CATEGORY_CODE[c]}-{k + 1:03d}" for c in V.CATEGORIES for k in range(_N_PROD)]
_LIST_PRICE = np.array(
    [V.CATEGORY_PRICE[c] * (0.5 + 1.5 * k / (_N_PROD - 1)) for c in V.CATEGORIES for k in range(_N_PROD)]
)
_MARGIN = np.array([V.CATEGORY_MARGIN[c] for c in V.CATEGORIES])


@dataclass
class Orders:
    """Orders of a block (sorted by customer, then time) and per-customer outcomes."""

    customer: np.ndarray  # block position of the buying customer
    time: np.ndarray  # days after the period start
    seq: np.ndarray  # 1-based order number within the customer
    value: np.ndarray  # order value (sum of its lines, before returns)
    death: np.ndarray  # per customer: day of dropout (inf if still alive at the end)
    n_orders: np.ndarray  # per customer
    n_returns: np.ndarray  # per customer: returned lines
    n_rows: np.ndarray  # per customer: transaction rows (order lines plus return lines)


def _group_rank(group: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal (sorted) ``group`` values."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    run = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n) - run


def draw_orders(rng: np.random.Generator, pop: Population, period: Period, params: CompanyParams) -> Orders:
    """Draw the order times and values of every customer of the block."""
    n = pop.n
    buys = ~np.isnan(pop.first_purchase)
    b = np.where(buys, pop.first_purchase, period.days)
    window = period.days - b
    if params.process == "pareto_nbd":
        lifetime = rng.exponential(1.0, n) / pop.stay
        window = np.minimum(window, lifetime)
        death = np.where(lifetime < period.days - b, b + lifetime, np.inf)
        cap = None
    else:
        cap = rng.geometric(pop.stay)  # repeat purchases until (and including) the last one
        death = np.full(n, np.inf)
    k = rng.poisson(pop.lam * window)
    k[~buys] = 0
    who = np.repeat(np.arange(n), k)
    u = rng.random(len(who))
    u = u[np.lexsort((u, who))]  # sorted within each customer (who is already grouped)
    rep_time = b[who] + u * window[who]
    if cap is not None:
        rank = _group_rank(who)
        keep = rank < cap[who]
        last = keep & (rank == cap[who] - 1)
        death[who[last]] = rep_time[last]
        who, rep_time = who[keep], rep_time[keep]
    first_who = np.flatnonzero(buys)
    cust = np.concatenate([first_who, who])
    time = np.concatenate([b[first_who], rep_time])
    order = np.lexsort((time, cust))
    cust, time = cust[order], time[order]
    value = rng.gamma(params.p, 1.0, len(cust)) / pop.nu[cust]
    n_orders = np.bincount(cust, minlength=n)
    return Orders(
        customer=cust,
        time=time,
        seq=_group_rank(cust) + 1,
        value=value,
        death=death,
        n_orders=n_orders,
        n_returns=np.zeros(n, dtype=np.int64),
        n_rows=np.zeros(n, dtype=np.int64),
    )


def transactions_table(
    rng: np.random.Generator, pop: Population, orders: Orders, period: Period, params: CompanyParams
) -> pa.Table:
    """Order lines and return lines of the block; fills ``orders.n_returns`` and ``n_rows``.

    Line amounts are rounded to cents, so ``orders.value`` is replaced by the sum of the
    rounded line amounts.
    """
    n_ord = len(orders.customer)
    n_lines = 1 + rng.binomial(3, params.extra_line_prob, n_ord)
    o = np.repeat(np.arange(n_ord), n_lines)
    line = _group_rank(o) + 1
    share = rng.gamma(2.0, 1.0, len(o))
    share /= np.bincount(o, share, minlength=n_ord)[o]
    amount = np.maximum(np.round(orders.value[o] * share, 2), 0.01)
    orders.value = np.bincount(o, amount, minlength=n_ord)
    cust = orders.customer[o]

    fav = rng.random(len(o)) < 0.4
    personal_cat = _draw(rng, np.array(V.CATEGORY_POPULARITY["personal"]), len(o))
    corporate_cat = _draw(rng, np.array(V.CATEGORY_POPULARITY["corporate"]), len(o))
    category = np.where(fav, pop.favourite_category[cust], np.where(pop.corporate[cust], corporate_cat, personal_cat))
    product = category * _N_PROD + _draw(rng, _PRODUCT_WEIGHTS, len(o))
    quantity = np.maximum(1.0, np.round(amount / _LIST_PRICE[product]))
    rate = np.clip(_MARGIN[category] + 0.04 * rng.standard_normal(len(o)), -0.05, 0.95)
    cost = np.round(amount * (1.0 - rate), 2)
    margin = np.round(amount - cost, 2)
    order_channel = np.where(
        rng.random(n_ord) < 0.7, pop.preferred_channel[orders.customer], rng.integers(0, len(V.CHANNELS), n_ord)
    )
    channel = order_channel[o]

    p_ret = np.minimum(params.return_rate * np.exp(-0.4 * pop.xi[cust] - 0.08), 0.5)
    delay = 0.5 + rng.gamma(2.0, 5.0, n_ord)
    returned = rng.random(len(o)) < p_ret
    ret_time = orders.time[o] + delay[o]
    returned &= ret_time < period.days
    r = np.flatnonzero(returned)
    orders.n_returns = np.bincount(cust[r], minlength=pop.n)

    def ids(prefix: str, idx: np.ndarray) -> pa.Array:
        c = orders.customer[idx]
        return join(prefix, padded(pop.number[c], 8), "-", padded(orders.seq[idx], 4))

    sale = {
        "order_id": ids("SO", o),
        "line": line,
        "cust": cust,
        "time": orders.time[o],
        "amount": amount,
        "cost": cost,
        "margin": margin,
        "quantity": quantity,
        "product": product,
        "category": category,
        "channel": channel,
    }
    ret = {
        "order_id": ids("RT", o[r]),
        "line": line[r],
        "cust": cust[r],
        "time": ret_time[r],
        "amount": -amount[r],
        "cost": -cost[r],
        "margin": -margin[r],
        "quantity": -quantity[r],
        "product": product[r],
        "category": category[r],
        "channel": channel[r],
    }
    flags = np.r_[np.zeros(len(o), bool), np.ones(len(r), bool)]
    both = {
        k: (pa.concat_arrays([sale[k], ret[k]]) if isinstance(sale[k], pa.Array) else np.concatenate([sale[k], ret[k]]))
        for k in sale
    }
    orders.n_rows = np.bincount(both["cust"], minlength=pop.n)
    tz = pop.tz.take(pa.array(both["cust"]))
    cols = {
        "order_id": both["order_id"],
        "line": pa.array(both["line"], pa.int64()),
        "customer_id": pop.customer_id.take(pa.array(both["cust"])),
        "ordered_at": timestamps(period.start_us, both["time"]),
        "ordered_tz": tz,
        "amount": pa.array(both["amount"]),
        "cost": pa.array(both["cost"]),
        "margin": pa.array(both["margin"]),
        "quantity": pa.array(both["quantity"]),
        "product_id": take(_PRODUCT_IDS, both["product"]),
        "category": take(V.CATEGORIES, both["category"]),
        "channel": take(V.CHANNELS, both["channel"]),
        "return_flag": pa.array(flags),
    }
    return pa.Table.from_pydict(cols, schema=TABLES["transactions"].arrow_schema())


def _draw(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with the given weights (inverse-CDF, vectorised)."""
    cum = np.cumsum(weights)
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(size), side="right"), len(weights) - 1)
