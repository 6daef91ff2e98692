"""Benchmark: a cube of four dimensions over ten million transaction lines.

Run:  PYTHONPATH=src .venv/bin/python benchmarks/cube_10m.py [--transactions 10000000] [--repeat 3]

The first run generates the demo company with about 10 million lines
(custlens.synth.write_company), imports it into a workspace and runs the standard
analysis, all cached under .cache/bench/cube_10m/ (minutes). Then it times
``custlens.cube.cube`` on the workspace (DuckDB): revenue, customers, orders and CLV by
region, industry, segment (RFM) and month, with roll-up subtotals (the target: under 10 s),
with every combination (CUBE), and as plain groups. Prints a table and writes
benchmarks/results/cube_10m.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("customers", "transactions", "receivables", "interactions", "leads")
"""Imported tables (no identity, no survey answers: neither tags nor the cube read them)."""


def prepared_workspace(
    name: str, *, n_customers: int | None = None, n_transactions: int | None = None
) -> tuple[Path, dict]:
    """The cached workspace of ``.cache/bench/<name>``; generated, imported and analysed on first use."""
    from custlens.analysis import analyze
    from custlens.ingest import import_file
    from custlens.synth import write_company
    from custlens.warehouse import Workspace

    folder = ROOT / ".cache" / "bench" / name
    ready = folder / "ready.json"
    if ready.exists():
        return folder / "ws", json.loads(ready.read_text())
    steps: dict[str, float] = {}
    company = folder / "company"
    files = {t: company / f"{t}.parquet" for t in TABLES}
    if not all(p.exists() for p in files.values()):
        started = time.perf_counter()
        write_company(company, n_customers=n_customers, n_transactions=n_transactions, seed=2024)
        steps["generate"] = time.perf_counter() - started
    ws_path = folder / "ws"
    if ws_path.exists():
        import shutil

        shutil.rmtree(ws_path)
    with Workspace.init(ws_path) as ws:
        started = time.perf_counter()
        for table in TABLES:
            import_file(ws, files[table], table=table)
        steps["import"] = time.perf_counter() - started
        started = time.perf_counter()
        stored = analyze(ws)
        steps["analyze"] = time.perf_counter() - started
        counts = ws.row_counts()
    meta = {"steps": steps, "rows": counts, "analysis_id": stored.analysis_id, "as_of": stored.as_of.isoformat()}
    ready.write_text(json.dumps(meta, indent=2))
    return ws_path, meta


CASES = {
    "rollup": {"subtotals": "rollup"},
    "cube (all 16 sets)": {"subtotals": "cube"},
    "plain groups": {"subtotals": "none"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (best and median reported)")
    args = parser.parse_args()

    from custlens.cube import cube
    from custlens.warehouse import Workspace

    name = "cube_10m" if args.transactions == 10_000_000 else f"cube_{args.transactions}"
    ws_path, meta = prepared_workspace(name, n_transactions=args.transactions)
    measures, by = "revenue,customers,orders,clv", "region,industry,segment,month"
    results = []
    with Workspace.open(ws_path, read_only=True) as ws:
        for case, kwargs in CASES.items():
            times, rows = [], 0
            for _ in range(args.repeat):
                started = time.perf_counter()
                table = cube(ws, measures, by, **kwargs)
                times.append(time.perf_counter() - started)
                rows = table.num_rows
            times.sort()
            results.append({"case": case, "best": times[0], "median": times[len(times) // 2], "rows": rows})
    load = os.getloadavg()
    print(f"workspace {ws_path} ({meta['rows']['transactions']:,} lines, {meta['rows']['customers']:,} customers)")
    print(f"cube --measures {measures} --by {by}; load average {load[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'case':<20} {'best s':>8} {'median s':>9} {'rows':>8}")
    for r in results:
        print(f"{r['case']:<20} {r['best']:>8.1f} {r['median']:>9.1f} {r['rows']:>8,}")
    out = ROOT / "benchmarks" / "results" / "cube_10m.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"results": results, "prepared": meta, "load_average": load, "cpus": os.cpu_count(),
                               "python": platform.python_version(), "measures": measures, "by": by}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
