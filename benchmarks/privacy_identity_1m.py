"""Benchmark: the cost of encrypting personal data on import (1 million identity rows).

Run:  .venv/bin/python benchmarks/privacy_identity_1m.py [--rows 1000000]

Writes an identity CSV (name, contact person, phone, e-mail, address, postcode) under
.cache/bench/privacy/, then in child processes:

1. imports it into the ``identity`` table of a fresh workspace (every personal field
   encrypted with AES-256-GCM, blind index and row digests computed);
2. imports the same rows, with the same column sizes, into ``leads`` (no encryption) as
   the baseline of the plain import path;
3. reads 1,000 customers back with ``custlens.privacy.read_identity`` and looks 1,000 up by
   e-mail through the blind index.

Prints wall and CPU times, rows/s and peak RSS; writes benchmarks/results/privacy_identity_1m.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench" / "privacy"
RESULTS = ROOT / "benchmarks" / "results" / "privacy_identity_1m.json"

CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
from custlens.ingest import import_file
from custlens.privacy import find_customers, init_workspace, read_identity
folder, src, table = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
ws = init_workspace(folder / "ws", key_file=folder / "ws.key")
t0, c0 = time.perf_counter(), time.process_time()
report = import_file(ws, src, table=table)
out = {"table": table, "rows": report.rows_loaded, "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
if table == "identity":
    ids = [f"P{i:07d}" for i in range(0, report.rows_loaded, max(1, report.rows_loaded // 1000))][:1000]
    t1 = time.perf_counter(); read_identity(ws, ids); out["read_1000_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    for i in ids[:1000]:
        find_customers(ws, email=f"{i.lower()}@example.com")
    out["lookup_1000_s"] = time.perf_counter() - t2
ws.close()
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["db_mb"] = (folder / "ws" / "warehouse.duckdb").stat().st_size / 2**20
print(json.dumps(out))
"""


def write_csv(path: Path, rows: int, table: str) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    i = np.arange(rows)
    ids = np.char.add("P", np.char.zfill(i.astype(str), 7))
    text = {
        "name": np.char.add("Name Surname ", i.astype(str)),
        "contact_person": np.char.add("Contact ", i.astype(str)),
        "phone": np.char.add("+86 138 ", np.char.zfill(i.astype(str), 8)),
        "email": np.char.add(np.char.lower(ids), "@example.com"),
        "address": np.char.add("No. 12 Long Street, Building ", i.astype(str)),
        "postcode": np.char.zfill((i % 999999).astype(str), 6),
    }
    if table == "identity":
        cols = {"customer_id": ids, **text}
    else:  # the same text volume in a table without personal data
        cols = {
            "lead_id": ids,
            "customer_id": text["email"],
            "created_at": np.full(rows, "2024-01-01"),
            "source": text["name"],
            "region": text["address"],
            "industry": np.char.add(text["contact_person"], text["phone"]),
        }
    pacsv.write_csv(pa.table({k: pa.array(v) for k, v in cols.items()}), path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    results = []
    for table in ("identity", "leads"):
        src = CACHE / f"{table}-{args.rows}.csv"
        if not src.exists():
            write_csv(src, args.rows, table)
        folder = CACHE / f"run-{table}"
        subprocess.run(["rm", "-rf", str(folder)], check=True)
        folder.mkdir()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(folder), str(src), table], capture_output=True, text=True, check=True
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["rows_per_s"] = result["rows"] / result["wall_s"]
        results.append(result)
        print(json.dumps(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
