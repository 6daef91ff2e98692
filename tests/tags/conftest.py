"""Hand-made customers, stored-analysis rows, segments and lines; a demo workspace with two analyses.

The hand-made tables (five customers a..e, as of 2024-03-31) are small enough that every
tag of every kind is worked out by hand in the tests beside them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

AS_OF = date(2024, 3, 31)


def ts(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 9, tzinfo=UTC)


CUSTOMERS = pa.table(
    {
        "customer_id": ["a", "b", "c", "d", "e"],
        "customer_type": ["personal", "corporate", "corporate", "personal", "personal"],
        "region": ["east_china", "north_china", "east_china", None, "south_china"],
        "listed": pa.array([None, True, False, None, None], pa.bool_()),
        "annual_sales": pa.array([None, 500.0, 2000.0, None, None], pa.float64()),
    }
)
"""Attributes of the five customers."""

ANALYSIS = pa.table(
    {
        "customer_id": ["a", "b", "c", "d", "e"],
        "order_count": pa.array([3, 1, 5, 0, 2], pa.int64()),
        "revenue": [300.0, 50.0, 1000.0, 0.0, 120.0],
        "avg_order_value": pa.array([100.0, 50.0, 200.0, None, 60.0], pa.float64()),
        "recency_days": pa.array([10, 200, 30, None, 90], pa.int64()),
        "clv": pa.array([500.0, 20.0, 900.0, None, 100.0], pa.float64()),
        "p_alive": pa.array([0.9, 0.2, 0.7, None, 0.5], pa.float64()),
        "risk_band": pa.array(["low", "high", "medium", None, "medium"], pa.string()),
    }
)
"""The stored analysis's per-customer rows (the columns the tests' tags read)."""

LIFECYCLE = pa.table(
    {"customer_id": ["a", "b", "c", "e"], "segment": ["growth", "termination", "maturity", "acquisition"]}
)
"""Lifecycle segments (d never bought: no segment)."""


def _lines() -> pa.Table:
    rows = [
        # customer, order, day, category, channel, amount, return flag
        ("a", "o1", ts(2024, 3, 30), "food", "web", 10.0, False),
        ("a", "o2", ts(2024, 1, 15), "electronics", "store", 500.0, False),
        ("b", "o3", ts(2024, 3, 20), "food", "app", -10.0, False),  # a return: negative amount
        ("b", "o4", ts(2024, 3, 25), "food", "app", 5.0, True),  # a return: flagged
        ("c", "o5", ts(2024, 3, 1), "food", "store", 20.0, False),  # on the 30-day boundary: outside
        ("c", "o5", ts(2024, 3, 1), "electronics", "store", 300.0, False),
        ("c", "o6", ts(2024, 3, 10), "food", "web", 15.0, False),
        ("e", "o7", ts(2024, 4, 2), "food", "web", 50.0, False),  # after the as-of date
        ("e", "o8", ts(2023, 12, 1), "food", "web", 50.0, False),  # before every window
    ]
    cid, oid, at, cat, ch, amount, flag = zip(*rows)
    return pa.table(
        {
            "order_id": list(oid),
            "line": pa.array(range(1, len(rows) + 1), pa.int64()),
            "customer_id": list(cid),
            "ordered_at": pa.array(at, pa.timestamp("us", tz="UTC")),
            "amount": list(amount),
            "category": list(cat),
            "channel": list(ch),
            "return_flag": list(flag),
        }
    )


TRANSACTIONS = _lines()


@pytest.fixture()
def tables(backend: object) -> dict[str, object]:
    """The hand-made tables registered on the backend under test (DuckDB or Spark)."""
    from custlens.warehouse.compat import register_arrow

    names = {
        "customers": CUSTOMERS,
        "analysis": ANALYSIS,
        "lifecycle": LIFECYCLE,
        "transactions": TRANSACTIONS,
    }
    return {name: register_arrow(backend, f"tags_{name}", table) for name, table in names.items()}


# -- a demo workspace with two stored analyses and two tag applications ---------------------
FIRST, SECOND = date(2025, 6, 30), date(2025, 9, 30)


@pytest.fixture(scope="package")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """800 demo customers analysed as of 2025-06-30 and 2025-09-30, tags applied on both dates."""
    from custlens.analysis import analyze
    from custlens.demo import IMPORT_ORDER
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company
    from custlens.tags import apply_tags

    files = write_company(tmp_path_factory.mktemp("company"), n_customers=800, seed=11)
    path = tmp_path_factory.mktemp("ws") / "ws"
    with init_workspace(path, key_file=path.parent / "workspace.key") as ws:
        for name in IMPORT_ORDER:
            import_file(ws, files[name], table=name)
        analyze(ws, as_of=FIRST)
        analyze(ws, as_of=SECOND)
        apply_tags(ws, as_of=FIRST)
        apply_tags(ws, as_of=SECOND)
    return path


@pytest.fixture()
def demo(demo_path: Path) -> Iterator[object]:
    """The demo workspace opened read-only."""
    from custlens.warehouse import Workspace

    with Workspace.open(demo_path, read_only=True) as ws:
        yield ws


def profiled(ws: object) -> set[str]:
    """Ids of the customers tags may describe: ``consent_profiling`` not false (docs/tags.md)."""
    t = ws.table("customers")  # type: ignore[attr-defined]
    kept = t.filter(t.consent_profiling.isnull() | t.consent_profiling)
    return set(kept.select("customer_id").to_pyarrow()["customer_id"].to_pylist())
