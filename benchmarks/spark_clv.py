"""Benchmark: ``custlens clv LOG --transactions`` on DuckDB and on Spark (local), against summary-then-clv.

Run:  .venv/bin/python benchmarks/spark_clv.py [--transactions 1000000] [--repeat 3] [--master local[2]]
          [--shuffle-partitions 4]

Writes the demo company's transactions (``--transactions`` lines, fixed seed) as one
Parquet file, then values every customer three ways, each in a fresh process, alternating,
``--repeat`` times: ``custlens clv LOG --transactions`` on DuckDB, the same with
``--backend spark`` (Spark's JVM start is part of its time, as it is for a user; the
executors score), and the two commands it replaces on DuckDB, ``custlens summary LOG
--time-unit D --freq-multiplier 7`` to a Parquet file then ``custlens clv SUMMARY`` (the
same weeks of 7 days). Each writes Parquet; the outputs are compared (customers, order,
and every value to 1e-6 relative). Writes benchmarks/results/spark_clv.json. Take
timings under the machine's benchmark lock (``flock /tmp/custlens-bench.lock ...``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from spark_pipeline import ROOT, run_custlens, spark_env


def _differing(reference: Path, other: Path) -> int:
    """Cells of ``other`` that differ from ``reference`` by more than 1e-6 relative (ids: exactly, in order)."""
    import numpy as np
    import pyarrow.parquet as pq

    a, b = pq.read_table(reference), pq.read_table(other)
    if a.num_rows != b.num_rows or not a["customer_id"].equals(b["customer_id"]):
        return max(a.num_rows, b.num_rows)
    bad = 0
    for name in ("p_alive", "expected_purchases", "expected_spend", "clv"):
        x, y = a[name].to_numpy(), b[name].to_numpy()
        bad += int(np.count_nonzero(~np.isclose(y, x, rtol=1e-6, atol=1e-12)))
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--shuffle-partitions", type=int, default=4)
    args = parser.parse_args()

    import pyarrow.parquet as pq

    from custlens.synth import write_company

    env = spark_env(
        f"--master {args.master} --conf spark.sql.shuffle.partitions={args.shuffle_partitions} pyspark-shell"
    )
    work = Path(tempfile.mkdtemp(prefix="custlens-clv-bench-"))
    try:
        files = write_company(work / "company", n_transactions=args.transactions, seed=7)
        log = work / "transactions.parquet"
        pq.write_table(pq.read_table(files["transactions"]), log, coerce_timestamps="us")  # Spark reads microseconds
        customers = len(pq.read_table(log, columns=["customer_id"])["customer_id"].unique())
        out = {name: work / f"{name}.parquet" for name in ("duckdb", "spark", "two_steps")}
        runs = {
            "duckdb": [["clv", str(log), "--transactions", "-f", "parquet", "-o", str(out["duckdb"])]],
            "spark": [
                ["clv", str(log), "--transactions", "--backend", "spark", "-f", "parquet", "-o", str(out["spark"])]
            ],
            "two_steps": [
                ["summary", str(log), "--amount-col", "amount", "--time-unit", "D", "--freq-multiplier", "7"]
                + ["-f", "parquet", "-o", str(work / "summary.parquet")],
                ["clv", str(work / "summary.parquet"), "-f", "parquet", "-o", str(out["two_steps"])],
            ],
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeat):
            for name, commands in runs.items():
                for path in [out[name], work / "summary.parquet"]:
                    path.unlink(missing_ok=True)
                times[name].append(sum(run_custlens(argv, env) for argv in commands))
                print(f"{name}: {times[name][-1]:.2f} s", flush=True)
        differing = {name: _differing(out["duckdb"], out[name]) for name in ("spark", "two_steps")}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"clv of a log, {args.transactions:,} transactions, {customers:,} customers: DuckDB {medians['duckdb']:.2f} s, "
        f"Spark {args.master} {medians['spark']:.2f} s, summary then clv {medians['two_steps']:.2f} s; "
        f"cells differing from DuckDB's: {differing}"
    )
    result = ROOT / "benchmarks" / "results" / "spark_clv.json"
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "transactions": args.transactions,
                "customers": customers,
                "master": args.master,
                "shuffle_partitions": args.shuffle_partitions,
                "repeat": args.repeat,
                "seconds": times,
                "median": medians,
                "differing_cells": differing,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
