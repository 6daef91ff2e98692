"""Where the analysis's memory goes: resident memory, Arrow's pool and DuckDB's buffers, stage by stage.

Runs :func:`custlens.analysis.analyze` in this process on an existing workspace (import
the data first, e.g. with ``benchmarks/pipeline_scale.py --keep``) and samples, every
0.2 s: the process's resident memory (``VmRSS``), the bytes allocated by Arrow's memory
pool (``pyarrow.total_allocated_bytes``; NumPy arrays, also when wrapped by Arrow tables,
are not in it) and DuckDB's buffer memory (``duckdb_memory()`` through a second cursor).
For each stage the analysis logs (``analysis: <stage> in <s>``) it prints the highest
resident memory since the previous stage, with the Arrow and DuckDB figures at that moment
and the highest DuckDB figure. What is neither Arrow nor DuckDB is NumPy arrays, the
interpreter and the libraries (about 0.3 GB).

The analysis is stored in the workspace as usual (a new analysis id each run). A run
that fails (e.g. out of DuckDB's memory) still prints the stages it reached.

    .venv/bin/python benchmarks/analysis_memory.py WORKSPACE [--interval 0.2]
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from typing import Any

import pyarrow as pa


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


class _Events(logging.Handler):
    def __init__(self, start: float) -> None:
        super().__init__()
        self.start = start
        self.rows: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.rows.append((time.perf_counter() - self.start, record.getMessage()))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("workspace")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    args = parser.parse_args()

    from custlens.analysis import analyze
    from custlens.warehouse import Workspace

    start = time.perf_counter()
    samples: list[tuple[float, float, float, float]] = []
    cursor: list[Any] = [None]
    done = threading.Event()

    def duckdb_mb() -> float:
        if cursor[0] is None:
            return 0.0
        try:
            used = cursor[0].execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
        except Exception:  # noqa: BLE001 - a busy or closing connection: no sample
            return float("nan")
        return float(used or 0) / 2**20

    def sample() -> None:
        while not done.is_set():
            samples.append((time.perf_counter() - start, _rss_mb(), pa.total_allocated_bytes() / 2**20, duckdb_mb()))
            done.wait(args.interval)

    events = _Events(start)
    log = logging.getLogger("custlens")
    log.addHandler(events)
    log.setLevel(logging.INFO)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with Workspace.open(args.workspace) as ws:
            cursor[0] = ws.raw.cursor()
            analyze(ws)
    except Exception as exc:  # noqa: BLE001 - report how far it got
        events.rows.append((time.perf_counter() - start, f"FAILED: {str(exc).splitlines()[0]}"))
    finally:
        done.set()
        sampler.join()

    print(f"{'s':>7}  {'peak RSS':>9}  {'Arrow':>7}  {'DuckDB':>7}  {'max DuckDB':>10}  stage")
    previous = 0.0
    for at, message in events.rows:
        window = [s for s in samples if previous <= s[0] <= at]
        previous = at
        if not window:
            continue
        top = max(window, key=lambda s: s[1])
        duck = max((s[3] for s in window if s[3] == s[3]), default=float("nan"))
        print(f"{at:7.1f}  {top[1]:7.0f} MB  {top[2]:7.0f}  {top[3]:7.0f}  {duck:10.0f}  {message[:90]}")
    print(
        f"peak: RSS {max(s[1] for s in samples):.0f} MB, Arrow {max(s[2] for s in samples):.0f} MB, "
        f"DuckDB {max(s[3] for s in samples if s[3] == s[3]):.0f} MB"
    )


if __name__ == "__main__":
    main()
