"""Benchmark: import a 10-million-line transactions CSV, then compute customer summaries.

Run:  .venv/bin/python benchmarks/import_summary_10m.py [--rows 10000000] [--regenerate]

1. Builds the CSV once under .cache/bench/import_summary/ with the demo-company generator
   (custlens.synth.write_company), or with vectorised numpy when custlens.synth is absent.
2. Imports it into a fresh workspace in a child process: wall time, rows/s, peak RSS
   (VmHWM from /proc/self/status, i.e. the child's own high-water mark).
3. In another child process, times custlens.features.purchase_history and
   value_indicators on the imported table when those functions exist.
4. The reference, in a fresh child process: DuckDB's own ``read_csv`` of the same file
   (types sniffed, no validation, no quarantine, no ledger) into a table of a new
   database file with the same memory limit and two threads; the ratio
   custlens / reference of the wall times is printed.

Prints a table and writes benchmarks/results/import_summary_10m.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench" / "import_summary"
RESULTS = ROOT / "benchmarks" / "results" / "import_summary_10m.json"


def peak_rss_mb() -> float:
    """High-water resident set size of this process (MB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_csv(rows: int, regenerate: bool) -> dict:
    folder = CACHE / f"tx_{rows}"
    csv_path = folder / "transactions.csv"
    meta_path = folder / "meta.json"
    if csv_path.exists() and meta_path.exists() and not regenerate:
        return json.loads(meta_path.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    try:
        from custlens.synth import write_company

        generator = "custlens.synth.write_company"
        paths = write_company(folder, n_transactions=rows, fmt="csv", seed=2024)
        for name, path in paths.items():
            if name != "transactions":
                path.unlink()
    except ImportError:
        generator = "numpy (custlens.synth absent)"
        _numpy_csv(csv_path, rows)
    with csv_path.open("rb") as fh:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
    meta = {
        "path": str(csv_path),
        "generator": generator,
        "data_lines": lines - 1,
        "bytes": csv_path.stat().st_size,
        "generate_seconds": time.perf_counter() - started,
    }
    meta_path.write_text(json.dumps(meta))
    return meta


def _numpy_csv(path: Path, rows: int, chunk: int = 1_000_000) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(2024)
    start = np.datetime64("2023-01-01T00:00:00", "s").astype(np.int64)
    span = 3 * 365 * 86400
    writer = None
    for offset in range(0, rows, chunk):
        n = min(chunk, rows - offset)
        ids = np.arange(offset, offset + n)
        amount = np.round(rng.gamma(2.0, 50.0, n) * np.where(rng.random(n) < 0.03, -1, 1), 2)
        table = pa.table(
            {
                "order_id": pa.array(np.char.add("SO", ids.astype(str))),
                "line": np.ones(n, dtype=np.int64),
                "customer_id": pa.array(np.char.add("C", rng.integers(0, rows // 9, n).astype(str))),
                "ordered_at": pa.array((start + rng.integers(0, span, n)).astype("datetime64[s]")),
                "amount": amount,
                "cost": np.round(np.abs(amount) * 0.7, 2),
                "quantity": rng.integers(1, 5, n).astype(np.float64),
                "channel": pa.array(rng.choice(["store", "web", "app"], n)),
            }
        )
        if writer is None:
            writer = pacsv.CSVWriter(str(path), table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


def cpu_seconds() -> float:
    """User + system CPU time of this process."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def phase_import(csv_path: str, workspace: str, memory_limit: str) -> dict:
    from custlens.ingest import import_file
    from custlens.warehouse import Workspace, WorkspaceSettings

    shutil.rmtree(workspace, ignore_errors=True)
    started, cpu = time.perf_counter(), cpu_seconds()
    with Workspace.init(workspace, settings=WorkspaceSettings(memory_limit=memory_limit)) as ws:
        report = import_file(ws, csv_path, table="transactions", max_reject_rate=0.01)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu,
        "memory_limit": memory_limit,
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_rejected": report.rows_rejected,
        "rows_duplicate": report.rows_duplicate,
        "rows_per_second": report.rows_read / seconds,
        "peak_rss_mb": peak_rss_mb(),
        "database_mb": (Path(workspace) / "warehouse.duckdb").stat().st_size / 2**20,
    }


def phase_reference(csv_path: str, workspace: str, memory_limit: str) -> dict:
    """DuckDB's own CSV reader loading the file into a table: the peer the import is compared with."""
    import duckdb

    folder = Path(workspace + "_reference")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started, cpu = time.perf_counter(), cpu_seconds()
    con = duckdb.connect(str(folder / "reference.duckdb"), config={"memory_limit": memory_limit, "threads": 2})
    literal = csv_path.replace("'", "''")
    con.execute(f"CREATE TABLE transactions AS SELECT * FROM read_csv('{literal}')")
    rows = int(con.execute("SELECT count(*) FROM transactions").fetchall()[0][0])
    con.close()
    seconds = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu,
        "rows": rows,
        "rows_per_second": rows / seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def _materialise(result: object) -> int:
    if hasattr(result, "to_pyarrow"):
        return result.to_pyarrow().num_rows  # type: ignore[union-attr]
    if hasattr(result, "num_rows"):
        return int(result.num_rows)  # type: ignore[union-attr]
    return len(result)  # type: ignore[arg-type]


def phase_summary(workspace: str) -> dict:
    try:
        from custlens import features
    except ImportError:
        return {"skipped": "custlens.features is not available"}
    from custlens.warehouse import Workspace

    out: dict = {}
    with Workspace.open(workspace, read_only=True) as ws:
        tx = ws.table("transactions")
        for name in ("purchase_history", "value_indicators"):
            fn = getattr(features, name, None)
            if fn is None:
                out[name] = {"skipped": f"custlens.features.{name} is not available"}
                continue
            # transactions only: the benchmark workspace holds no other table
            started = time.perf_counter()
            rows = _materialise(fn(tx))
            out[name] = {"seconds": time.perf_counter() - started, "customers": rows}
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def run_child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--memory-limit", default="2GB", help="DuckDB memory limit of the workspace (the default setting is 2GB)"
    )
    parser.add_argument("--phase", choices=["import", "summary", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "import":
        print(json.dumps(phase_import(args.csv, args.workspace, args.memory_limit)))
        return
    if args.phase == "reference":
        print(json.dumps(phase_reference(args.csv, args.workspace, args.memory_limit)))
        return
    if args.phase == "summary":
        print(json.dumps(phase_summary(args.workspace)))
        return
    meta = build_csv(args.rows, args.regenerate)
    workspace = str(CACHE / f"ws_{args.rows}")
    imported = run_child(
        "--phase", "import", "--csv", meta["path"], "--workspace", workspace, "--memory-limit", args.memory_limit
    )
    summary = run_child("--phase", "summary", "--workspace", workspace) if "error" not in imported else {}
    reference = run_child(
        "--phase", "reference", "--csv", meta["path"], "--workspace", workspace, "--memory-limit", args.memory_limit
    )
    result = {
        "source": meta,
        "import": imported,
        "summary": summary,
        "reference": reference,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    rows = [
        ("CSV data lines", f"{meta['data_lines']:,}"),
        ("CSV size (MB)", f"{meta['bytes'] / 2**20:,.0f}"),
        ("generator", meta["generator"]),
    ]
    if "error" in imported:
        rows.append(("import", "FAILED: " + imported["error"]))
    else:
        rows += [
            ("import wall time (s)", f"{imported['seconds']:.1f}"),
            ("import CPU time (s)", f"{imported['cpu_seconds']:.1f}"),
            ("DuckDB memory limit", imported["memory_limit"]),
            ("import rows/s", f"{imported['rows_per_second']:,.0f}"),
            (
                "rows loaded / rejected / dup",
                f"{imported['rows_loaded']:,} / {imported['rows_rejected']:,} / {imported['rows_duplicate']:,}",
            ),
            ("import peak RSS (MB)", f"{imported['peak_rss_mb']:,.0f}"),
            ("warehouse file (MB)", f"{imported['database_mb']:,.0f}"),
        ]
    if "error" in reference:
        rows.append(("DuckDB read_csv reference", "FAILED: " + reference["error"]))
    else:
        rows += [
            ("DuckDB read_csv (s)", f"{reference['seconds']:.1f} ({reference['rows_per_second']:,.0f} rows/s)"),
            ("DuckDB read_csv peak RSS (MB)", f"{reference['peak_rss_mb']:,.0f}"),
        ]
        if "error" not in imported:
            rows.append(("ratio import / read_csv", f"{imported['seconds'] / reference['seconds']:.2f}x"))
    for name in ("purchase_history", "value_indicators"):
        item = summary.get(name, {})
        if "seconds" in item:
            rows.append((f"{name} (s)", f"{item['seconds']:.1f} ({item['customers']:,} customers)"))
        else:
            rows.append((name, item.get("skipped", summary.get("skipped", summary.get("error", "not run")))))
    if "peak_rss_mb" in summary:
        rows.append(("summary peak RSS (MB)", f"{summary['peak_rss_mb']:,.0f}"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
