"""One definition per feature: every path that computes a per-customer feature finds one value.

On the demo company (``custlens.synth.write_company``, small), with half of its returns
recorded the other way round (a positive amount and the return flag, which the schema also
calls a return), each feature is read from every place custlens computes or shows it:
the value indicators, the wide customer features, the segmentation input builder, the
columns segmentations report (relationship state, lifecycle, RFM, value matrix, ABC), the
important-customer score (values recovered from its contributions) and the command line.
For every feature and customer all of them must agree.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.features import customer_features, value_indicators
from custlens.scoring import score_transactions
from custlens.segment import (
    TransactionColumns,
    abc_classes,
    features_from_transactions,
    lifecycle_stage_from_transactions,
    relationship_state_from_transactions,
    rfm_from_transactions,
    value_matrix,
)
from custlens.synth import write_company

AS_OF = "2025-06-30"  # before the company's last day: later lines must be cut everywhere
SCORED = ("order_count", "revenue", "avg_order_value", "recency_days", "tenure_days", "avg_purchase_cycle_days")


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, Path]:
    folder = tmp_path_factory.mktemp("company")
    files = write_company(folder, n_customers=300, seed=5, fmt="parquet")
    tx = pq.read_table(files["transactions"])
    returns = np.flatnonzero(tx["return_flag"].to_numpy(zero_copy_only=False))
    assert len(returns) > 10, "the demo company should have returns"
    flip = np.zeros(tx.num_rows, dtype=bool)
    flip[returns[::2]] = True  # every other return: positive amount, flagged
    amount = pc.if_else(pa.array(flip), pc.abs(tx["amount"]), tx["amount"])
    tx = tx.set_column(tx.column_names.index("amount"), "amount", amount)
    path = folder / "transactions_flipped.parquet"
    pq.write_table(tx, path)
    return tx, path


def _collect(values: dict, path: str, table: Any, columns: dict[str, str]) -> None:
    """Add ``table``'s ``columns`` (feature -> column) to ``values[feature][path]``."""
    frame = table.to_pyarrow() if hasattr(table, "to_pyarrow") else table
    frame = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    ids = [str(c) for c in frame["customer_id"].to_pylist()]
    for feature, column in columns.items():
        values[feature][path] = dict(zip(ids, frame[column].to_pylist()))


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or a != a) and (b is None or b != b)
    if isinstance(a, (pd.Timestamp, np.datetime64)) or hasattr(a, "tzinfo"):
        return pd.Timestamp(a) == pd.Timestamp(b)
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def _cli_csv(args: list[str]) -> pd.DataFrame:
    res = CliRunner().invoke(app, [*args, "--as-of", AS_OF, "--format", "csv"])
    assert res.exit_code == 0, res.output
    return pd.read_csv(io.StringIO(res.stdout), dtype={"customer_id": str})


def _score_values(tx: ibis.Table) -> dict[str, dict[str, float]]:
    """The scored indicators recovered from an equal-weight min-max score's contributions."""
    res = score_transactions(tx, list(SCORED), as_of=AS_OF, on_missing="worst")
    table = res.table.to_pyarrow()
    ids = [str(c) for c in table["customer_id"].to_pylist()]
    out: dict[str, dict[str, float]] = {}
    for c in SCORED:
        lo, hi = res.stats[c]["min"], res.stats[c]["max"]
        share = np.asarray(table[f"contribution_{c}"].to_pylist(), dtype=float) / res.weights[c]
        out[c] = dict(zip(ids, lo + share * (hi - lo)))
    return out


def test_every_path_finds_one_value_per_customer_and_feature(log: tuple[pa.Table, Path]) -> None:
    arrow, path = log
    tx = ibis.memtable(arrow)
    values: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    same = {c: c for c in (*SCORED, "first_purchase_at", "last_purchase_at")}

    _collect(values, "value_indicators", value_indicators(tx, as_of=AS_OF), same)
    wide = customer_features(tx, as_of=AS_OF)
    _collect(values, "customer_features", wide, {**same, "active_periods": "active_periods"})
    _collect(values, "customer_features", wide, {"trend_slope": "trend_slope", "trend_revenue": "trend_revenue"})
    feats, day = features_from_transactions(tx, as_of=AS_OF, columns=TransactionColumns())
    assert str(day) == AS_OF
    _collect(values, "segment inputs", feats, {**same, "active_periods": "active_periods"})

    state = relationship_state_from_transactions(tx, as_of=AS_OF).customers
    _collect(
        values,
        "relationship_state",
        state,
        {
            c: c
            for c in (
                "order_count",
                "revenue",
                "first_purchase_at",
                "last_purchase_at",
                "recency_days",
                "avg_purchase_cycle_days",
                "active_periods",
            )
        },
    )
    life = lifecycle_stage_from_transactions(tx, as_of=AS_OF).customers
    _collect(
        values,
        "lifecycle_stage",
        life,
        {c: c for c in ("tenure_days", "recency_days", "trend_revenue", "trend_slope")},
    )
    rfm = rfm_from_transactions(tx, as_of=AS_OF).customers
    _collect(values, "rfm", rfm, {"recency_days": "recency_days", "order_count": "frequency", "revenue": "monetary"})
    matrix = value_matrix(feats).customers
    _collect(values, "value_matrix", matrix, {"order_count": "frequency", "avg_order_value": "avg_order_value"})
    _collect(values, "abc_classes", abc_classes(feats).customers, {"revenue": "value"})
    for feature, by_customer in _score_values(tx).items():
        # a missing indicator is scored as the worst value (on_missing='worst'): nothing to recover
        known = values[feature]["value_indicators"]
        values[feature]["score_transactions"] = {c: v for c, v in by_customer.items() if known[c] is not None}

    cli = ["segment", "value-matrix", str(path), "--from-transactions"]
    _collect(
        values, "cli value-matrix", _cli_csv(cli), {"order_count": "frequency", "avg_order_value": "avg_order_value"}
    )
    _collect(
        values,
        "cli rfm",
        _cli_csv(["segment", "rfm", str(path)]),
        {"recency_days": "recency_days", "order_count": "frequency", "revenue": "monetary"},
    )

    reference = values["revenue"]["value_indicators"]
    assert len(reference) > 100
    disagreements = []
    for feature, paths in values.items():
        assert len(paths) >= 2, feature
        for customer in reference:
            found = {p: v[customer] for p, v in paths.items() if customer in v}
            first_path, first = next(iter(found.items()))
            for p, v in found.items():
                if not _same(first, v):
                    disagreements.append(f"{feature} of {customer}: {first_path} {first!r} != {p} {v!r}")
    assert not disagreements, "\n".join(disagreements[:20])
    # the buyers every path covers are the same customers (customers with returns only are no buyers)
    buyers = {c for c, n in values["order_count"]["value_indicators"].items() if n and n > 0}
    assert set(values["order_count"]["rfm"]) == buyers == set(values["order_count"]["relationship_state"])
    # returns lower the average order value: revenue / orders, with the flagged positive returns negative
    flipped = arrow.filter(pc.and_(arrow["return_flag"], pc.greater(arrow["amount"], 0)))
    assert flipped.num_rows > 0
