"""The demo company: generation in deterministic blocks, in memory or streamed to files.

Customers are generated in blocks of :data:`BLOCK_SIZE`. Block ``k`` draws from its own
random streams, ``numpy.random.SeedSequence(seed, spawn_key=(k,))`` spawned once per
component, so every table is a pure function of ``(seed, start, end, params, n_customers)``
and does not depend on how blocks are grouped into chunks for writing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custlens.errors import InputError
from custlens.features.coerce import to_date
from custlens.schema import TABLES
from custlens.synth._arrow import US_PER_DAY
from custlens.synth._leads import leads_in_block, leads_table
from custlens.synth._orders import draw_orders, transactions_table
from custlens.synth._population import (
    Period,
    customers_table,
    draw_population,
    identity_table,
)
from custlens.synth._service import interactions_table, receivables_table
from custlens.synth._survey import survey_table
from custlens.synth.params import CompanyParams

__all__ = [
    "BLOCK_SIZE",
    "DEFAULT_CUSTOMERS",
    "PILOT_CUSTOMERS",
    "Company",
    "generate_company",
    "write_company",
    "customers_for_transactions",
]

log = logging.getLogger(__name__)

BLOCK_SIZE = 2048
"""Customers per deterministic generation block."""
DEFAULT_CUSTOMERS = 20_000
"""Customers when neither a customer nor a transaction count is given."""
PILOT_CUSTOMERS = 50 * BLOCK_SIZE
"""Customers generated to match a transaction target (see :func:`customers_for_transactions`)."""
_TABLE_ORDER = tuple(TABLES)


@dataclass(frozen=True)
class Company:
    """One Arrow table per canonical table of :mod:`custlens.schema`."""

    customers: pa.Table
    identity: pa.Table
    transactions: pa.Table
    interactions: pa.Table
    receivables: pa.Table
    leads: pa.Table
    survey_answers: pa.Table
    seed: int = 2024
    start: date = date(2023, 1, 1)
    end: date = date(2025, 12, 31)
    params: CompanyParams = field(default_factory=CompanyParams)

    def tables(self) -> dict[str, pa.Table]:
        """The tables by canonical name, in the order of :data:`custlens.schema.TABLES`."""
        return {name: getattr(self, name) for name in TABLES}

    def row_counts(self) -> dict[str, int]:
        """Rows per table."""
        return {name: t.num_rows for name, t in self.tables().items()}


def _period(start: str | date | datetime, end: str | date | datetime) -> tuple[date, date, Period]:
    s, e = to_date(start, "start"), to_date(end, "end")
    if e < s:
        raise InputError(f"'end' must not be before 'start'. Got start={s}, end={e}.")
    epoch = date(1970, 1, 1)
    start_day = (s - epoch).days
    return s, e, Period(start_us=start_day * US_PER_DAY, start_day=start_day, days=float((e - s).days + 1))


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name!r} must be an integer >= 1. Got {value!r} instead.")
    return int(value)


def _block(seed: int, k: int, period: Period, params: CompanyParams) -> tuple[dict[str, pa.Table], np.ndarray]:
    """All tables of block ``k`` (always :data:`BLOCK_SIZE` customers) and the number of
    transaction rows of each of its customers."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed, spawn_key=(k,)).spawn(9)]
    pop = draw_population(streams[0], k * BLOCK_SIZE + 1, BLOCK_SIZE, period, params)
    orders = draw_orders(streams[3], pop, period, params)
    transactions = transactions_table(streams[4], pop, orders, period, params)
    tables = {
        "customers": customers_table(streams[1], pop, period),
        "identity": identity_table(streams[2], pop),
        "transactions": transactions,
        "interactions": interactions_table(streams[5], pop, orders, period),
        "receivables": receivables_table(streams[6], pop, orders, period),
        "leads": leads_table(streams[7], pop, period, params, k * leads_in_block(BLOCK_SIZE, params) + 1),
        "survey_answers": survey_table(streams[8], pop, period, params),
    }
    return tables, orders.n_rows


def _truncate(tables: dict[str, pa.Table], m: int, params: CompanyParams) -> dict[str, pa.Table]:
    """Keep the first ``m`` customers of a block and everything that refers to them.

    Leads that did not convert are kept in proportion: the first ``leads_in_block(m)``
    rows of the block.
    """
    kept = tables["customers"]["customer_id"].slice(0, m)
    out = {name: tables[name].slice(0, m) for name in ("customers", "identity")}
    for name in ("transactions", "interactions", "receivables", "survey_answers"):
        t = tables[name]
        out[name] = t.filter(pc.is_in(t["customer_id"], value_set=kept))
    leads = tables["leads"]
    position = pa.array(np.arange(leads.num_rows) < leads_in_block(m, params))
    keep = pc.or_(
        pc.and_(pc.is_null(leads["customer_id"]), position),
        pc.fill_null(pc.is_in(leads["customer_id"], value_set=kept), False),
    )
    out["leads"] = leads.filter(keep)
    return out


def _blocks(
    seed: int, n_customers: int, period: Period, params: CompanyParams
) -> Iterator[tuple[int, dict[str, pa.Table], np.ndarray]]:
    """Blocks covering customers 1..n_customers: (customers in block, tables, rows per customer)."""
    n_blocks = -(-n_customers // BLOCK_SIZE)
    for k in range(n_blocks):
        m = min(BLOCK_SIZE, n_customers - k * BLOCK_SIZE)
        tables, rows = _block(seed, k, period, params)
        if m < BLOCK_SIZE:
            tables, rows = _truncate(tables, m, params), rows[:m]
        yield m, tables, rows


def customers_for_transactions(
    n_transactions: int,
    *,
    seed: int = 2024,
    start: str | date | datetime = "2023-01-01",
    end: str | date | datetime = "2025-12-31",
    params: CompanyParams | None = None,
) -> int:
    """Number of customers whose transaction table has about ``n_transactions`` rows.

    The company is generated block by block up to :data:`PILOT_CUSTOMERS` customers. If the
    target is reached within them, the answer is the smallest customer count whose
    transaction rows reach ``n_transactions`` (exact up to one customer's rows); otherwise
    it is extrapolated from the rows per customer of the pilot (within about 1 %).
    """
    n_transactions = _check_count(n_transactions, "n_transactions")
    params = params or CompanyParams()
    _, _, period = _period(start, end)
    total = 0
    seen = 0
    for _, _, rows in _blocks(seed, PILOT_CUSTOMERS, period, params):
        cum = total + np.cumsum(rows)
        if cum.size and cum[-1] >= n_transactions:
            return seen + int(np.searchsorted(cum, n_transactions)) + 1
        total = int(cum[-1]) if cum.size else total
        seen += len(rows)
    if total == 0:
        raise InputError(f"these parameters produce no transactions; cannot reach n_transactions={n_transactions}")
    return max(1, int(round(n_transactions * seen / total)))


def _resolve_customers(
    n_customers: int | None,
    n_transactions: int | None,
    seed: int,
    start: str | date | datetime,
    end: str | date | datetime,
    params: CompanyParams,
) -> int:
    if n_customers is not None and n_transactions is not None:
        raise InputError(
            "give either 'n_customers' or 'n_transactions', not both. "
            f"Got n_customers={n_customers}, n_transactions={n_transactions}."
        )
    if n_transactions is not None:
        return customers_for_transactions(n_transactions, seed=seed, start=start, end=end, params=params)
    return _check_count(DEFAULT_CUSTOMERS if n_customers is None else n_customers, "n_customers")


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"'seed' must be an integer >= 0. Got {seed!r} instead.")
    return int(seed)


def generate_company(
    n_customers: int | None = None,
    *,
    n_transactions: int | None = None,
    seed: int = 2024,
    start: str | date | datetime = "2023-01-01",
    end: str | date | datetime = "2025-12-31",
    params: CompanyParams | None = None,
) -> Company:
    """Generate the synthetic demo company in memory.

    Parameters
    ----------
    n_customers
        Number of customers (default :data:`DEFAULT_CUSTOMERS`, 20 000).
    n_transactions
        Instead of ``n_customers``: the approximate number of transaction rows wanted
        (see :func:`customers_for_transactions`).
    seed
        Seed of every random stream; the same arguments give identical tables.
    start, end
        First and last day (inclusive) of the observation period, UTC.
    params
        Distribution parameters (default :class:`CompanyParams`).

    Returns
    -------
    Company
        The seven canonical tables with exactly the columns and types of
        :mod:`custlens.schema`.

    Raises
    ------
    InputError
        For a bad count, seed, date or parameter.
    """
    seed = _check_seed(seed)
    params = params or CompanyParams()
    n = _resolve_customers(n_customers, n_transactions, seed, start, end, params)
    s, e, period = _period(start, end)
    parts: dict[str, list[pa.Table]] = {name: [] for name in TABLES}
    for _, block, _ in _blocks(seed, n, period, params):
        for name, t in block.items():
            parts[name].append(t)
    tables = {name: pa.concat_tables(ts).combine_chunks() for name, ts in parts.items()}
    return Company(**tables, seed=seed, start=s, end=e, params=params)


def write_company(
    out_dir: str | os.PathLike[str],
    *,
    n_customers: int | None = None,
    n_transactions: int | None = None,
    seed: int = 2024,
    start: str | date | datetime = "2023-01-01",
    end: str | date | datetime = "2025-12-31",
    fmt: Literal["parquet", "csv"] = "parquet",
    chunk_size: int = 65_536,
    params: CompanyParams | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Path]:
    """Stream the demo company to ``<out_dir>/<table>.parquet`` (or ``.csv``).

    Customers are generated ``chunk_size`` at a time (rounded up to whole blocks of
    :data:`BLOCK_SIZE`); each chunk becomes one Parquet row group per table (or is appended
    to the CSV, UTF-8 with a header), so memory stays bounded however many customers are
    written. Files are written under a temporary name and renamed when complete, so an
    interrupted run never leaves a truncated table under its final name. Existing files of
    the same names are replaced.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing).
    n_customers, n_transactions, seed, start, end, params
        As in :func:`generate_company`; the written tables equal its tables.
    fmt
        ``"parquet"`` or ``"csv"``.
    chunk_size
        Customers per chunk (memory grows with it; about 1 kB per customer).
    on_progress
        Called with ``(customers_done, customers_total)`` after each chunk.

    Returns
    -------
    dict
        Table name -> written file.
    """
    if fmt not in ("parquet", "csv"):
        raise InputError(f"'fmt' must be 'parquet' or 'csv'. Got {fmt!r} instead.")
    seed = _check_seed(seed)
    chunk_size = _check_count(chunk_size, "chunk_size")
    params = params or CompanyParams()
    n = _resolve_customers(n_customers, n_transactions, seed, start, end, params)
    _, _, period = _period(start, end)
    out = Path(out_dir)
    blocker = next((q for q in (out, *out.parents) if q.exists()), None)
    if blocker is not None and not blocker.is_dir():
        where = "is a file" if blocker == out else f"cannot be created: {blocker} is a file"
        raise InputError(f"{out}: {where}; expected a folder to write the tables into")
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.{fmt}" for name in _TABLE_ORDER}
    partial = {name: p.with_name(p.name + ".partial") for name, p in paths.items()}
    writers = {name: _open_writer(partial[name], TABLES[name].arrow_schema(), fmt) for name in _TABLE_ORDER}
    blocks_per_chunk = max(1, -(-chunk_size // BLOCK_SIZE))
    done = 0
    try:
        pending: dict[str, list[pa.Table]] = {name: [] for name in _TABLE_ORDER}
        n_pending = 0
        for size, block, _ in _blocks(seed, n, period, params):
            for name, t in block.items():
                pending[name].append(t)
            n_pending += 1
            done += size
            if n_pending == blocks_per_chunk or done == n:
                for name in _TABLE_ORDER:
                    writers[name].write_table(pa.concat_tables(pending[name]))
                    pending[name] = []
                n_pending = 0
                log.debug("wrote customers up to %d of %d", done, n)
                if on_progress is not None:
                    on_progress(done, n)
    except BaseException:
        for name in _TABLE_ORDER:
            writers[name].close()
            partial[name].unlink(missing_ok=True)
        raise
    for name in _TABLE_ORDER:
        writers[name].close()
        os.replace(partial[name], paths[name])
    return paths


def _open_writer(path: Path, schema: pa.Schema, fmt: str) -> Any:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetWriter(path, schema, compression="zstd")
    import pyarrow.csv as pacsv

    return pacsv.CSVWriter(path, schema)
