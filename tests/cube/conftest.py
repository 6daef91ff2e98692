"""A hand-made cube small enough to compute every cell by hand, and a demo workspace.

Customers a (east, personal), b (east, corporate), c (west, personal); d never bought.
Lines up to the as-of date 2024-02-29 (profit = margin, else amount - cost)::

    order line cust day         category channel amount qty cost margin return   profit
    o1    1    a    2024-01-05  food     web       10    1    6    -     no        4
    o1    2    a    2024-01-05  toys     web       20    2    -    5     no        5
    o2    1    a    2024-02-10  food     store     30    3   20    -     no       10
    o3    1    b    2024-01-20  toys     web      100    1   70    -     no       30
    o4    1    b    2024-02-02  toys     web       40    1   30    -     yes     -10  (counts -40, -1 unit)
    o5    1    c    2024-02-15  food     store      5    1    3    -     no        2
    o6    1    c    2024-03-05  food     store     99    1    -    -     no      (after the as-of date)

Stored analysis: CLV a 100, b 200, c 50; P(alive) a 0.8, b 0.4, c 1.0; RFM segment a and c
Champions, b Lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

AS_OF = date(2024, 2, 29)


def _ts(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 10, tzinfo=UTC)


TRANSACTIONS = pa.table(
    {
        "order_id": ["o1", "o1", "o2", "o3", "o4", "o5", "o6"],
        "line": pa.array([1, 2, 1, 1, 1, 1, 1], pa.int64()),
        "customer_id": ["a", "a", "a", "b", "b", "c", "c"],
        "ordered_at": pa.array(
            [
                _ts(2024, 1, 5),
                _ts(2024, 1, 5),
                _ts(2024, 2, 10),
                _ts(2024, 1, 20),
                _ts(2024, 2, 2),
                _ts(2024, 2, 15),
                _ts(2024, 3, 5),
            ],  # fmt: skip
            pa.timestamp("us", tz="UTC"),
        ),
        "amount": [10.0, 20.0, 30.0, 100.0, 40.0, 5.0, 99.0],
        "quantity": [1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 1.0],
        "cost": pa.array([6.0, None, 20.0, 70.0, 30.0, 3.0, None], pa.float64()),
        "margin": pa.array([None, 5.0, None, None, None, None, None], pa.float64()),
        "category": ["food", "toys", "food", "toys", "toys", "food", "food"],
        "channel": ["web", "web", "store", "web", "web", "store", "store"],
        "product_id": ["F1", "T1", "F2", "T1", "T1", "F1", "F1"],
        "return_flag": [False, False, False, False, True, False, False],
    }
)
CUSTOMERS = pa.table(
    {
        "customer_id": ["a", "b", "c", "d"],
        "customer_type": ["personal", "corporate", "personal", "personal"],
        "region": ["east", "east", "west", "west"],
    }
)
ANALYSIS = pa.table(
    {
        "customer_id": ["a", "b", "c", "d"],
        "order_count": pa.array([2, 1, 1, 0], pa.int64()),
        "clv": pa.array([100.0, 200.0, 50.0, None], pa.float64()),
        "p_alive": pa.array([0.8, 0.4, 1.0, None], pa.float64()),
        "value_at_stake": pa.array([20.0, 120.0, 0.0, None], pa.float64()),
        "expected_purchases": pa.array([2.0, 0.5, 1.5, None], pa.float64()),
        "risk_band": pa.array(["low", "high", "low", None], pa.string()),
        "score_tier": pa.array(["A", "B", "C", None], pa.string()),
    }
)
RFM = pa.table({"customer_id": ["a", "b", "c"], "segment": ["Champions", "Lost", "Champions"]})


@pytest.fixture()
def hand(backend: object) -> dict[str, object]:
    """The hand-made tables on the backend under test."""
    from custlens.warehouse.compat import register_arrow

    tables = {"transactions": TRANSACTIONS, "customers": CUSTOMERS, "analysis": ANALYSIS, "rfm": RFM}
    return {name: register_arrow(backend, f"cube_{name}", t) for name, t in tables.items()}


@pytest.fixture(scope="package")
def cube_ws_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """800 demo customers with one stored analysis (as of the last transaction day)."""
    from custlens.analysis import analyze
    from custlens.demo import IMPORT_ORDER
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company

    files = write_company(tmp_path_factory.mktemp("cube_company"), n_customers=800, seed=5)
    path = tmp_path_factory.mktemp("cube_ws") / "ws"
    with init_workspace(path, key_file=path.parent / "workspace.key") as ws:
        for name in IMPORT_ORDER:
            import_file(ws, files[name], table=name)
        analyze(ws, as_of="2025-09-30")
    return path


@pytest.fixture()
def cube_ws(cube_ws_path: Path) -> Iterator[object]:
    from custlens.warehouse import Workspace

    with Workspace.open(cube_ws_path, read_only=True) as ws:
        yield ws
