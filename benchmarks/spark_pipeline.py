"""Benchmark: ``custlens analyze`` on a Spark workspace (Spark local) against the same on DuckDB.

Run:  .venv/bin/python benchmarks/spark_pipeline.py [--customers 20000] [--repeat 3] [--master local[2]]
          [--shuffle-partitions 4]

Writes the demo company (``--customers`` customers, fixed seed) to Parquet, imports it
into a DuckDB workspace, makes a Spark workspace from it (``custlens init --backend
spark --from``), then runs ``custlens analyze`` on each, alternating, ``--repeat`` times,
each in a fresh process (so Spark's JVM start is part of its time, as it is for a user).
The reference is the DuckDB workspace in the same run; the ratio is Spark's median wall
time over DuckDB's. Both stored analyses are then compared (per-customer table, to 1e-6).
Writes benchmarks/results/spark_pipeline.json. Take timings under the machine's
benchmark lock (``flock /tmp/custlens-bench.lock ...``) when others share the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_RUN = "import sys; from custlens.cli import main; sys.argv = ['custlens', *sys.argv[1:]]; main()"


def spark_env(submit_args: str) -> dict[str, str]:
    """The environment of a ``custlens`` child on Spark: this checkout's sources, this Python, ``submit_args``."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        "PYSPARK_SUBMIT_ARGS": submit_args,
    }


def run_custlens(argv: list[str], env: dict[str, str]) -> float:
    """Run ``custlens argv`` in a fresh process; its wall seconds (a failure stops the benchmark)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _RUN, *argv], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"custlens {' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return seconds


def _compare(duck: Path, spark: Path) -> int:
    """Number of per-customer cells of the latest analyses that differ by more than 1e-6 (relative)."""
    import math

    from custlens.analysis import load_analysis

    with load_analysis(duck) as d, load_analysis(spark) as s:
        a = sorted(d.customers().to_pyarrow().to_pylist(), key=lambda r: r["customer_id"])
        b = sorted(s.customers().to_pyarrow().to_pylist(), key=lambda r: r["customer_id"])
    if len(a) != len(b):
        return max(len(a), len(b))
    bad = 0
    for x, y in zip(a, b, strict=True):
        for key, value in x.items():
            other = y[key]
            if isinstance(value, float) and isinstance(other, float):
                both_nan = math.isnan(value) and math.isnan(other)
                bad += not (both_nan or abs(value - other) <= 1e-6 * max(1.0, abs(value)))
            else:
                bad += value != other
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[2]", help="Spark master of the Spark workspace")
    parser.add_argument(
        "--shuffle-partitions",
        type=int,
        default=4,
        help="spark.sql.shuffle.partitions (Spark's default 200 is for clusters)",
    )
    args = parser.parse_args()

    from custlens.demo import IMPORT_ORDER
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company

    env = spark_env(f"--conf spark.sql.shuffle.partitions={args.shuffle_partitions} pyspark-shell")
    work = Path(tempfile.mkdtemp(prefix="custlens-spark-bench-"))
    try:
        files = write_company(work / "company", n_customers=args.customers, seed=7)
        duck, spark = work / "duck", work / "spark"
        with init_workspace(duck) as ws:
            for name in IMPORT_ORDER:
                import_file(ws, files[name], table=name)
            transactions = ws.row_counts()["transactions"]
        run_custlens(
            ["init", str(spark), "--backend", "spark", "--from", str(duck), "--spark-master", args.master], env
        )
        times: dict[str, list[float]] = {"duckdb": [], "spark": []}
        for _ in range(args.repeat):
            for name, path in (("duckdb", duck), ("spark", spark)):
                times[name].append(run_custlens(["analyze", "-w", str(path)], env))
                print(f"{name}: analyze {times[name][-1]:.2f} s", flush=True)
        differing = _compare(duck, spark)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in times.items()}
    ratio = medians["spark"] / medians["duckdb"]
    print(
        f"analyze, {args.customers:,} customers, {transactions:,} transactions: DuckDB {medians['duckdb']:.2f} s, "
        f"Spark {args.master} {medians['spark']:.2f} s, ratio {ratio:.2f}x; per-customer cells differing: {differing}"
    )
    out = ROOT / "benchmarks" / "results" / "spark_pipeline.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "customers": args.customers,
                "transactions": transactions,
                "master": args.master,
                "shuffle_partitions": args.shuffle_partitions,
                "repeat": args.repeat,
                "seconds": times,
                "median": medians,
                "ratio_spark_over_duckdb": ratio,
                "differing_cells": differing,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
