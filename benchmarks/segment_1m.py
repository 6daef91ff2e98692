"""Benchmark: segment one million customers with every custlens.segment method.

Run:  .venv/bin/python benchmarks/segment_1m.py [--customers 1000000] [--threads N]

Generates a transaction log with numpy (about 4.5 orders per customer over three years,
log-normal amounts, customer-specific purchase rates), loads it into an in-memory DuckDB
database and times each method end to end, including materialising its per-customer
table and summary to Arrow. Prints a table and writes benchmarks/results/segment_1m.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import date, timedelta
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custlens.scoring import ahp_weights, score_customers
from custlens.segment import (
    SegmentResult,
    abc_classes,
    clv_matrix,
    combine,
    concentration,
    customer_summary,
    kmeans_segments,
    lifecycle_stage,
    migration,
    pareto_curve,
    relationship_state,
    rfm_from_transactions,
    rule_segments,
    save_snapshot,
    value_matrix,
    value_pyramid,
)

AS_OF = date(2024, 12, 31)


def make_transactions(n_customers: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    start = AS_OF - timedelta(days=3 * 365)
    first = rng.integers(0, 3 * 365, n_customers)  # first purchase day offset
    rate = rng.gamma(0.8, 1 / 60, n_customers)  # purchases per day
    life = rng.exponential(400, n_customers)  # active days
    span = np.minimum(3 * 365 - first, life)
    orders = 1 + rng.poisson(rate * span)
    cust = np.repeat(np.arange(n_customers), orders)
    base = np.repeat(first, orders)
    width = np.repeat(span, orders)
    day = base + (rng.random(len(cust)) * width).astype(np.int64)
    is_first = np.r_[True, cust[1:] != cust[:-1]]
    day[is_first] = first[cust[is_first]]
    amount = np.round(rng.lognormal(3.5, 0.9, len(cust)), 2)
    amount[rng.random(len(cust)) < 0.02] *= -1  # 2 % returns
    ids = pc.cast(pa.array(cust), pa.string())
    dates = pa.array(np.datetime64(start) + day.astype("timedelta64[D]"), pa.date32())
    return pa.table(
        {
            "customer_id": ids,
            "order_id": pc.cast(pa.array(np.arange(len(cust))), pa.string()),
            "ordered_at": dates,
            "amount": amount,
            "quantity": np.ones(len(cust)),
        }
    )


def materialise(result) -> int:
    """Execute a SegmentResult (or table) fully; return the number of customer rows."""
    if isinstance(result, SegmentResult):
        rows = result.customers.to_pyarrow().num_rows
        result.summary.to_pyarrow()
        return rows
    return result.to_pyarrow().num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    args = parser.parse_args()

    import sklearn.cluster  # noqa: F401 - import once before timing (a cold import takes seconds)

    t0 = time.perf_counter()
    tx_arrow = make_transactions(args.customers)
    gen_s = time.perf_counter() - t0
    con = ibis.duckdb.connect()
    if args.threads:
        con.raw_sql(f"SET threads = {args.threads}")
    tx = con.create_table("transactions", tx_arrow)
    figures: list[tuple[str, float, int]] = []

    def timed(name: str, fn):
        start = time.perf_counter()
        out = fn()
        n = materialise(out) if out is not None else 0
        figures.append((name, time.perf_counter() - start, n))
        return out

    feats_t = timed("features (per-customer summary from transactions)", lambda: customer_summary(tx, as_of=AS_OF)[0])
    rng = np.random.default_rng(1)
    feat_arrow = feats_t.to_pyarrow()
    feat_arrow = feat_arrow.append_column("potential_value", pa.array(rng.lognormal(5, 1, feat_arrow.num_rows)))
    feat_arrow = feat_arrow.append_column(
        "customer_type", pa.array(np.where(rng.random(feat_arrow.num_rows) < 0.8, "personal", "corporate"))
    )
    feats = con.create_table("features", feat_arrow)

    rfm = timed("rfm (from transactions, quintiles, 11-segment map)", lambda: rfm_from_transactions(tx, as_of=AS_OF))
    state = timed("relationship state", lambda: relationship_state(tx, as_of=AS_OF))
    timed("lifecycle stage", lambda: lifecycle_stage(tx, as_of=AS_OF))
    abc = timed("abc classes", lambda: abc_classes(feats, as_of=AS_OF))
    pyr = timed("value pyramid", lambda: value_pyramid(feats, as_of=AS_OF))
    timed("pareto curve (100 points)", lambda: pareto_curve(feats))
    timed("concentration (top 20 %, Gini)", lambda: concentration(feats) and None)
    timed("value matrix", lambda: value_matrix(feats, as_of=AS_OF))
    timed("clv matrix", lambda: clv_matrix(feats, as_of=AS_OF))
    rules = {
        "rule": [
            {"name": "vip", "when": "revenue >= 2000 and recency_days < 180"},
            {"name": "lapsed big", "when": "revenue >= 1000 and recency_days >= 365"},
            {"name": "new", "when": "tenure_days < 90"},
        ]
    }
    score_cols = ["revenue", "order_count", "avg_order_value", "recency_days", "tenure_days"]
    timed(
        "important-customer score (entropy weights, 5 indicators)",
        lambda: score_customers(feats, score_cols, cost=["recency_days"], method="entropy", on_missing="worst").table,
    )
    priorities = np.array([5.0, 3.0, 3.0, 2.0, 1.0])  # a consistent judgement matrix a_ij = w_i / w_j
    ahp = ahp_weights(np.outer(priorities, 1.0 / priorities), score_cols)
    timed(
        "important-customer score (AHP weights, 5 indicators)",
        lambda: score_customers(feats, score_cols, cost=["recency_days"], ahp=ahp, on_missing="worst").table,
    )
    timed("rule segments (3 rules)", lambda: rule_segments(feats, rules, as_of=AS_OF))
    timed("k-means (k by silhouette 2..8)", lambda: kmeans_segments(feats, as_of=AS_OF))
    timed(
        "scheme (type x state x tier)",
        lambda: combine(
            {"relationship": state, "tier": pyr},
            attributes=feats,
            attribute_columns=["customer_type"],
            value_col="revenue",
        ),
    )
    snap_con = ibis.duckdb.connect()
    ids: list[str] = []
    timed("snapshot save (rfm)", lambda: ids.append(save_snapshot(snap_con, rfm)))
    ids.append(save_snapshot(snap_con, abc))
    timed("migration matrix (rfm -> abc)", lambda: migration(snap_con, ids[0], ids[1]).matrix)
    del rng

    total = sum(s for _, s, _ in figures)
    width = max(len(n) for n, _, _ in figures)
    print(
        f"custlens segmentation benchmark: {args.customers:,} customers, {tx_arrow.num_rows:,} transactions "
        f"(generated in {gen_s:.1f} s); {os.cpu_count()} cores, DuckDB threads: {args.threads or 'all'}"
    )
    print(f"{'method'.ljust(width)}  {'seconds':>8}  {'rows':>10}")
    for name, secs, rows in figures:
        print(f"{name.ljust(width)}  {secs:8.2f}  {rows:10,}")
    print(f"{'total'.ljust(width)}  {total:8.2f}")
    out = Path(__file__).parent / "results" / "segment_1m.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "customers": args.customers,
                "transactions": tx_arrow.num_rows,
                "cores": os.cpu_count(),
                "threads": args.threads,
                "python": platform.python_version(),
                "seconds": {name: round(secs, 3) for name, secs, _ in figures},
                "total_seconds": round(total, 3),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
