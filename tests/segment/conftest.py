"""Small hand-checkable inputs shared by the segmentation tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest


def ts(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, tzinfo=UTC)


@pytest.fixture
def small_transactions() -> pa.Table:
    """Canonical transactions of five customers (as of 2024-03-31).

    a: orders 2024-01-01 (10), 2024-03-01 (20)            -> recency 30, 2 orders, 30
    b: 2024-02-01 (5)                                     -> recency 59, 1 order, 5
    c: 2024-01-05 (7), 2024-02-05 (8), 2024-03-05 (9), a return of -4 on 2024-03-06
                                                          -> recency 26, 3 orders, 20
    d: 2023-06-01 (100)                                   -> recency 304, 1 order, 100
    e: 2024-03-10 (1); an order after the as-of date is ignored
    """
    rows = [
        ("a", "o1", ts(2024, 1, 1), 10.0),
        ("a", "o2", ts(2024, 3, 1), 20.0),
        ("b", "o3", ts(2024, 2, 1), 5.0),
        ("c", "o4", ts(2024, 1, 5), 7.0),
        ("c", "o5", ts(2024, 2, 5), 8.0),
        ("c", "o6", ts(2024, 3, 5), 9.0),
        ("c", "o7", ts(2024, 3, 6), -4.0),
        ("d", "o8", ts(2023, 6, 1), 100.0),
        ("e", "o9", ts(2024, 3, 10), 1.0),
        ("e", "o10", ts(2024, 5, 1), 50.0),
    ]
    cid, oid, when, amount = zip(*rows)
    return pa.table(
        {
            "customer_id": list(cid),
            "order_id": list(oid),
            "ordered_at": pa.array(when, pa.timestamp("us", tz="UTC")),
            "amount": list(amount),
            "quantity": [1.0] * len(rows),
            "return_flag": [a < 0 for a in amount],
        }
    )


AS_OF = date(2024, 3, 31)
