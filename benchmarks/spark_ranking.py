"""Benchmark: ranks on Spark by ranges of the order against one whole-table window.

Run:  .venv/bin/python benchmarks/spark_ranking.py [--customers 4000000] [--repeat 2] [--master local[2]]
          [--shuffle-partitions 4] [--tasks abc,score,winback]

Writes ``--customers`` synthetic customers (value: rounded log-normal with a quarter of
zeros, so tie groups are large; order count) to Parquet and, on one Spark session, times
ABC classes, the score rank and the win-back rank (``custlens.segment.abc_classes``,
``custlens.scoring.score_customers``, ``custlens.segment.winback_list`` of every customer
taken as lost, revenue >= 0 and at least one order) computed to the end (an aggregate over
every customer's rank and class) two ways, alternating, ``--repeat`` times:

* ``ranges``: what custlens runs on a Spark cluster (``custlens.warehouse.compat.ordered_rows``,
  allowed on the local master here with ``RANK_RANGES_LOCAL``);
* ``one_window``: the whole-table windows custlens ran on Spark before (and still runs on
  DuckDB and on a local master), selected by making the ABC and score modules take the
  table for a DuckDB one (the win-back list: ``ordered_rows``' own rule, no ranges on a
  local master).

The aggregates of both ways must be equal. Writes benchmarks/results/spark_ranking.json.
Take timings under the machine's benchmark lock (``flock /tmp/custlens-bench.lock ...``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]


def _data(n: int, path: Path) -> None:
    rng = np.random.default_rng(12)
    value = np.round(rng.lognormal(5, 1.5, n), 1)
    value[rng.random(n) < 0.25] = 0.0
    table = pa.table(
        {
            "customer_id": pa.array([f"C{i:09d}" for i in rng.permutation(n)]),
            "revenue": value,
            "order_count": rng.poisson(3, n).astype(np.float64),
        }
    )
    pq.write_table(table, path)


def _abc(table: Any) -> dict[str, Any]:
    from custlens.segment import abc_classes

    c = abc_classes(table, value_col="revenue").customers
    row = c.aggregate(
        ranks=c.value_rank.sum(), a=(c.segment == "A").sum(), b=(c.segment == "B").sum(), n=c.count()
    ).to_pyarrow()
    return row.to_pylist()[0]


def _score(table: Any) -> dict[str, Any]:
    from custlens.scoring import score_customers

    s = score_customers(table, columns=["revenue", "order_count"]).table
    first = s.filter(s["rank"] <= 3).select("rank", "customer_id").order_by("rank").to_pyarrow().to_pylist()
    tiers = s.group_by("tier").aggregate(n=s.count(), ranks=s["rank"].sum()).order_by("tier").to_pyarrow()
    return {"tiers": tiers.to_pylist(), "first": first}


def _winback(table: Any) -> dict[str, Any]:
    import ibis

    from custlens.segment import SegmentResult, winback_list

    lost = table.mutate(segment=ibis.literal("lost"))
    columns = ("customer_id", "revenue", "order_count", "segment")
    state = SegmentResult("state", None, lost, columns, config={"winback": {"min_revenue": 0.0, "min_orders": 1}})
    w = winback_list(state)
    # weighted by a column the order does not follow: a different order gives another sum
    row = w.aggregate(n=w.count(), weighted=(w.winback_rank * w.order_count.cast("int64")).sum()).to_pyarrow()
    return row.to_pylist()[0]


def _timed(fn: Any, table: Any, way: str) -> tuple[float, dict[str, Any]]:
    import custlens.scoring._score as score_module
    import custlens.segment.abc as abc_module
    from custlens.warehouse import compat

    original = abc_module.backend_name
    if way == "one_window":  # the global-window branch, as Spark ran it before
        abc_module.backend_name = score_module.backend_name = lambda _t: "duckdb"  # type: ignore[assignment]
    compat.RANK_RANGES_LOCAL = way == "ranges"  # ranges on the local master too
    try:
        gc.collect()  # the previous run's expressions gone: Ibis' cache of equal expressions cannot be reused
        started = time.perf_counter()
        result = fn(table)
        return time.perf_counter() - started, result
    finally:
        abc_module.backend_name = score_module.backend_name = original  # type: ignore[assignment]
        compat.RANK_RANGES_LOCAL = False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--shuffle-partitions", type=int, default=4)
    parser.add_argument("--tasks", default="abc,score,winback", help="comma-separated: abc, score, winback")
    args = parser.parse_args()
    tasks = {"abc": _abc, "score": _score, "winback": _winback}
    chosen = {name: tasks[name] for name in args.tasks.split(",")}
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    import ibis
    import pyspark

    session = (
        pyspark.sql.SparkSession.builder.master(args.master)
        .appName("custlens-ranking-benchmark")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory(prefix="custlens-ranking-") as tmp:
        path = Path(tmp) / "customers.parquet"
        _data(args.customers, path)
        session.read.parquet(str(path)).cache().createOrReplaceTempView("customers")
        session.table("customers").count()  # read and cached once, outside the timings
        table = ibis.pyspark.connect(session).table("customers")
        seconds: dict[str, dict[str, list[float]]] = {name: {} for name in chosen}
        results: dict[str, dict[str, Any]] = {name: {} for name in chosen}
        for _ in range(args.repeat):
            for task, fn in chosen.items():
                for way in ("ranges", "one_window"):
                    took, result = _timed(fn, table, way)
                    seconds[task].setdefault(way, []).append(round(took, 2))
                    results[task][way] = result
                    print(f"{task} {way}: {took:.1f} s", file=sys.stderr)
    session.stop()
    for task in results:
        if results[task]["ranges"] != results[task]["one_window"]:
            raise SystemExit(f"{task}: the two ways differ: {results[task]}")
    out = {
        "customers": args.customers,
        "master": args.master,
        "shuffle_partitions": args.shuffle_partitions,
        "seconds": seconds,
        "median": {t: {w: statistics.median(v) for w, v in ways.items()} for t, ways in seconds.items()},
        "results": {task: result["ranges"] for task, result in results.items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
    }
    target = ROOT / "benchmarks" / "results" / "spark_ranking.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(json.dumps(out["median"], indent=2))


if __name__ == "__main__":
    main()
