"""Benchmark: the whole pipeline (import -> analyze -> report) at 1M, 10M and 100M transactions.

Run:  .venv/bin/python benchmarks/pipeline_scale.py [--sizes 1000000,10000000,100000000]
                                                     [--memory-limit 6GB] [--plot-only] [--keep]
                                                     [--backend spark [--spark-master local[2]]
                                                      [--shuffle-partitions 8] [--driver-memory 8g]
                                                      [--max-result-size 2g]]

For each size N (transactions):

1. The demo company is generated once under ``.cache/bench/pipeline/tx_N/`` as CSV
   (:func:`custlens.synth.write_company`, about 109 customers per 1,000 transactions);
   only ``customers.csv`` and ``transactions.csv`` are kept, the tables that carry the
   company's size (service interactions and surveys are left out: they would measure the
   generator's choice of how many survey answers a customer gives, not custlens).
2. In a fresh workspace, each stage runs as the user would run it, one ``custlens``
   process per stage: ``init``, ``import customers.csv``, ``import transactions.csv``,
   ``analyze``, ``report``. Each stage's wall time, CPU time and peak resident memory
   (the child's own high-water mark from ``wait4``) are recorded.
3. The reference for the import is DuckDB's own CSV reader loading the same file into a
   table in a fresh process (no validation): the floor an import can reach.

Prints one table, writes ``benchmarks/results/pipeline_scale.json`` (this machine's runs,
not committed) and draws ``docs/img/pipeline_scale.svg`` (seconds per stage against
transactions, both axes logarithmic) from ``docs/img/pipeline_scale.json``, the committed
runs the plot draws: each completed run replaces the one of its size and backend there,
so sizes may be run one at a time, on a fresh clone too.
The targets of issue 12 for 100M transactions: under 15 minutes and 8 GB peak.
``--memory-limit`` sets the workspaces' ``[duckdb] memory_limit`` (the analysis of 100M
transactions runs out of the default 2GB).

``--backend spark`` runs the same pipeline with the analysis on Spark: the import into a
DuckDB workspace as above (the validated import is DuckDB's), then ``init --backend spark
--from`` (the tables exported to Parquet: stage "export to spark"), then ``analyze`` and
``report`` on the Spark workspace (``--spark-master``, ``local[2]`` by default; Spark
settings through ``PYSPARK_SUBMIT_ARGS``: ``--driver-memory``, shuffle partitions,
``spark.driver.maxResultSize``). Spark's
JVM and Python workers are descendants of the ``custlens`` process, so for every stage the
resident memory of the whole process tree is sampled (every 0.5 s) and its peak reported
beside the process' own high-water mark, and the CPU seconds of descendants that were not
waited for (the JVM) are added from their last sample. Spark runs are stored beside the
DuckDB ones (``spark-N``) and drawn as their own total line.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench" / "pipeline"
RESULTS = ROOT / "benchmarks" / "results" / "pipeline_scale.json"
PLOT = ROOT / "docs" / "img" / "pipeline_scale.svg"
PLOT_DATA = PLOT.with_suffix(".json")
"""The runs the plot draws, committed beside it (a fresh clone has no ``RESULTS``)."""
CUSTLENS = str(Path(sys.executable).with_name("custlens"))
STAGES = ("import customers", "import transactions", "export to spark", "analyze", "report")
TARGET_SECONDS = 15 * 60
TARGET_MB = 8 * 1024


class StageFailed(RuntimeError):
    """A stage exited with an error or was stopped at the memory cap."""


_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree(root: int) -> dict[int, tuple[float, float, int]]:
    """``{pid: (resident MB, CPU seconds, parent)}`` of ``root`` and every descendant (from /proc).

    A process' CPU seconds include those of the children it has waited for.
    """
    parents: dict[int, int] = {}
    stats: dict[int, tuple[float, float, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        # fields after the name (proc(5)): state ppid ... utime stime cutime cstime ... rss
        rss_mb = int(fields[21]) * _PAGE / 2**20
        stats[pid] = (rss_mb, sum(int(f) for f in fields[11:15]) / _TICK, parents[pid])
    inside = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in inside and pid not in inside:
                inside.add(pid)
                grew = True
    return {pid: stats[pid] for pid in inside if pid in stats}


def run_stage(argv: list[str], log: Path, cap_mb: float, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run one command; its wall time, CPU time and peak RSS (MB).

    ``peak_mb`` is the process' own high-water mark (``wait4``); ``tree_peak_mb`` the
    highest sampled sum over the process and its descendants (Spark's JVM). CPU is
    ``wait4``'s (the process and the children it waited for) plus the last sampled CPU
    (with their own waited children) of its children still running at the last sample,
    which it does not wait for (Spark's JVM); so Spark's CPU is approximate (up to half
    a second per child missed). A watchdog stops the command when the tree's resident
    memory passes ``cap_mb`` (the machine must survive a stage that would not fit), and the
    stage counts as failed.
    """
    started = time.perf_counter()
    stopped = threading.Event()
    with log.open("ab") as out:
        out.write(("$ " + " ".join(argv) + "\n").encode())
        out.flush()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        capped: list[float] = []
        tree_peak = [0.0]
        last_cpu: dict[int, float] = {}

        def watch() -> None:
            while not stopped.wait(0.5):
                tree = _tree(proc.pid)
                last_cpu.clear()
                last_cpu.update({pid: cpu for pid, (_, cpu, parent) in tree.items() if parent == proc.pid})
                rss = sum(mb for mb, _, _ in tree.values())
                tree_peak[0] = max(tree_peak[0], rss)
                if rss > cap_mb:
                    capped.append(rss)
                    for pid in tree:
                        try:
                            os.kill(pid, 9)
                        except OSError:
                            pass
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        stopped.set()
        watcher.join()
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if capped:
        raise StageFailed(f"stopped at {capped[0]:,.0f} MB (cap {cap_mb:,.0f} MB) after {wall:.0f} s: {' '.join(argv)}")
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise StageFailed(f"exit {code} after {wall:.0f} s: {' '.join(argv)}\n" + "\n".join(tail))
    unwaited = sum(last_cpu.values())  # children alive at the last sample: not waited for
    return {
        "seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime + unwaited, 2),
        "peak_mb": round(usage.ru_maxrss / 1024, 1),
        "tree_peak_mb": round(max(tree_peak[0], usage.ru_maxrss / 1024), 1),
    }


def _write_company(folder: Path, rows: int) -> None:
    """The company's customers and transactions as CSV in ``folder`` (the other tables removed)."""
    from custlens.synth import write_company

    paths = write_company(folder, n_transactions=rows, fmt="csv", seed=2024)
    for name, path in paths.items():
        if name not in ("customers", "transactions"):
            path.unlink()


def build_data(rows: int) -> dict[str, Any]:
    """Generate (once) the company of ``rows`` transactions as CSV; its metadata."""
    folder = CACHE / f"tx_{rows}"
    meta_path = folder / "meta.json"
    if meta_path.exists():
        return dict(json.loads(meta_path.read_text()))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    # in a spawned process: a child started from this one inherits its high-water mark of
    # resident memory (Linux carries it over exec), so generating here would raise every
    # later stage's measured peak to the generator's
    child = multiprocessing.get_context("spawn").Process(target=_write_company, args=(folder, rows))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"generating {rows:,} transactions failed (exit {child.exitcode})")
    paths = {name: folder / f"{name}.csv" for name in ("customers", "transactions")}
    lines = {}
    for name in ("customers", "transactions"):
        with paths[name].open("rb") as fh:
            lines[name] = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
    meta = {
        "rows": rows,
        "generate_seconds": round(time.perf_counter() - started, 1),
        "lines": lines,
        "bytes": {name: paths[name].stat().st_size for name in ("customers", "transactions")},
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    return meta


REFERENCE = """
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, header=true)", [sys.argv[2]])
print(con.execute("SELECT count(*) FROM t").fetchone()[0])
"""


def analysis_parts(workspace: Path) -> dict[str, float]:
    """The stored analysis' own timing of each of its parts (seconds), read in a child process."""
    code = (
        "import json, sys\n"
        "from custlens.analysis import load_analysis\n"
        "print(json.dumps(load_analysis(sys.argv[1]).timings))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(workspace)], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def set_memory_limit(workspace: Path, limit: str) -> None:
    """Set ``[duckdb] memory_limit`` in a workspace's ``workspace.toml`` (the setting a user edits)."""
    import tomllib

    import tomli_w

    path = workspace / "workspace.toml"
    doc = tomllib.loads(path.read_text())
    doc.setdefault("duckdb", {})["memory_limit"] = limit
    path.write_text(tomli_w.dumps(doc))


def spark_env(
    master: str, shuffle_partitions: int, driver_memory: str, max_result_size: str, local_dir: Path | None = None
) -> dict[str, str]:
    """The environment of a ``custlens`` stage on Spark (this Python for the workers, the settings).

    ``local_dir`` is Spark's scratch space (``spark.local.dir``: shuffle and spill files,
    about 30 GB during the analysis of 100M transactions); the run puts it in its own
    folder and empties it after every stage, since a JVM the watchdog kills leaves its
    files behind.
    """
    scratch = f"--conf spark.local.dir={local_dir} " if local_dir is not None else ""
    return {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        "PYSPARK_SUBMIT_ARGS": (
            f"--master {master} --driver-memory {driver_memory} "
            f"--conf spark.sql.shuffle.partitions={shuffle_partitions} "
            f"--conf spark.driver.maxResultSize={max_result_size} {scratch}pyspark-shell"
        ),
    }


def run_size(
    rows: int,
    keep: bool,
    cap_mb: float,
    progress: Any = None,
    memory_limit: str | None = None,
    spark: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """All stages for one size, in a fresh workspace; the figures (a failed stage ends the run).

    ``spark`` (``master``, ``shuffle_partitions``, ``driver_memory``) runs the analysis and
    the report on a Spark workspace made from the imported DuckDB one.
    """
    meta = build_data(rows)
    folder = CACHE / f"tx_{rows}"
    work = Path(tempfile.mkdtemp(prefix="run_", dir=CACHE))
    log = work / "log.txt"
    workspace = work / "workspace"
    analysed = work / "workspace-spark" if spark else workspace
    stages: dict[str, dict[str, float]] = {}
    commands = {
        "import customers": ["import", str(folder / "customers.csv"), "-t", "customers", "-w", str(workspace)],
        "import transactions": ["import", str(folder / "transactions.csv"), "-t", "transactions", "-w", str(workspace)],
    }
    env = None
    scratch: Path | None = None
    if spark:
        scratch = work / "spark-local"
        env = spark_env(
            spark["master"], spark["shuffle_partitions"], spark["driver_memory"], spark["max_result_size"], scratch
        )
        commands["export to spark"] = [
            "init",
            str(analysed),
            "--backend",
            "spark",
            "--from",
            str(workspace),
            "--spark-master",
            spark["master"],
        ]
    commands["analyze"] = ["analyze", "--workspace", str(analysed)]
    commands["report"] = ["report", "--workspace", str(analysed), "--out", str(work / "report.html")]
    tx_lines = meta["lines"]["transactions"]
    out: dict[str, Any] = {
        "rows": rows,
        "customers": meta["lines"]["customers"],
        "transactions": tx_lines,
        "csv_mb": round(meta["bytes"]["transactions"] / 2**20, 1),
        "memory_cap_mb": cap_mb,
        "duckdb_memory_limit": memory_limit or "the workspace default (2GB)",
        "backend": "spark" if spark else "duckdb",
        **({"spark": spark} if spark else {}),
        "date": time.strftime("%Y-%m-%d"),
    }
    try:
        run_stage([CUSTLENS, "init", str(workspace)], log, cap_mb)
        if memory_limit:
            set_memory_limit(workspace, memory_limit)
        try:
            for stage, argv in commands.items():
                try:
                    stages[stage] = run_stage([CUSTLENS, *argv], log, cap_mb, env=env)
                finally:
                    if scratch is not None:
                        shutil.rmtree(scratch, ignore_errors=True)
                if progress is not None:  # a long run keeps what it measured so far
                    progress({**out, "stages": stages, "partial": True})
        except StageFailed as exc:
            out["failed"] = f"{stage}: {exc}"
        if "analyze" in stages:
            out["analyze_parts"] = analysis_parts(analysed)
        out["warehouse_mb"] = round((workspace / "warehouse.duckdb").stat().st_size / 2**20, 1)
        reference = run_stage(
            [sys.executable, "-c", REFERENCE, str(work / "reference.duckdb"), str(folder / "transactions.csv")],
            log,
            cap_mb,
        )
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    out["stages"] = stages
    out["total_seconds"] = round(sum(s["seconds"] for s in stages.values()), 1)
    out["peak_mb"] = max(s["tree_peak_mb"] for s in stages.values()) if stages else None
    if "import transactions" in stages:
        out["import_rows_per_second"] = round(tx_lines / stages["import transactions"]["seconds"])
    out["reference_duckdb_read_csv"] = reference
    out["reference_rows_per_second"] = round(tx_lines / reference["seconds"])
    return out


def svg_plot(runs: list[dict[str, Any]], path: Path) -> bool:
    """Seconds per stage (and in all) against transactions, log-log, as a small SVG.

    Only completed runs are drawn; with none (every stored run failed or stopped) the plot
    is left as it is and ``False`` returned.
    """
    runs = sorted((r for r in runs if "failed" not in r and not r.get("partial")), key=lambda r: r["transactions"])
    if not runs:
        return False
    spark = [r for r in runs if r.get("backend") == "spark"]
    runs = [r for r in runs if r.get("backend", "duckdb") == "duckdb"]
    series = {
        stage: [(r["transactions"], r["stages"][stage]["seconds"]) for r in runs if stage in r["stages"]]
        for stage in STAGES
        if stage != "export to spark"
    }
    series["total"] = [(r["transactions"], r["total_seconds"]) for r in runs if "total_seconds" in r]
    series["total, Spark local"] = [(r["transactions"], r["total_seconds"]) for r in spark if "total_seconds" in r]
    if not series["total, Spark local"]:
        del series["total, Spark local"]
    runs = runs + spark
    names = [s for s in STAGES if s != "export to spark"] + ["total", "total, Spark local"]
    colours = dict(zip(names, ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#222222", "#e45756"]))
    xs = [r["transactions"] for r in runs]
    ys = [max(y, 0.1) for points in series.values() for _, y in points]
    x0, x1 = math.floor(math.log10(min(xs)) + 0.05), math.ceil(math.log10(max(xs)) - 0.05)
    x1 = max(x1, x0 + 1)
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    y1 = max(y1, y0 + 1)
    width, height, left, right, top, bottom = 640, 400, 70, 170, 30, 50

    def px(x: float) -> float:
        return left + (math.log10(x) - x0) / (x1 - x0) * (width - left - right)

    def py(y: float) -> float:
        return height - bottom - (math.log10(max(y, 0.1)) - y0) / (y1 - y0) * (height - top - bottom)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="18" font-size="14">custlens pipeline: seconds per stage (log-log), '
        f"{platform.machine()} {os.cpu_count()} cores</text>",
    ]
    for e in range(x0, x1 + 1):
        x = px(10**e)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" stroke="#ddd"/>')
        label = f"{10**e:,.0f}" if e < 6 else f"{10 ** (e - 6):g}M"
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">{label}</text>')
    for e in range(y0, y1 + 1):
        y = py(10**e)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{10**e:g} s</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">transactions</text>')
    for i, (name, points) in enumerate(series.items()):
        colour = colours[name]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        ly = top + 16 + 18 * i
        parts.append(
            f'<line x1="{width - right + 12}" y1="{ly - 4}" x2="{width - right + 32}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        parts.append(f'<text x="{width - right + 38}" y="{ly}">{name}</text>')
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")
    return True


def plotted(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The plot's runs (:data:`PLOT_DATA`) with the completed ones of ``runs`` in place of theirs.

    Each kept run holds what the plot and ``docs/performance.md`` need: the date, the
    backend, the transactions, each stage's seconds, the total and the peak.
    """
    kept: dict[str, dict[str, Any]] = json.loads(PLOT_DATA.read_text())["runs"] if PLOT_DATA.exists() else {}
    for key, run in runs.items():
        if "failed" in run or run.get("partial") or "total_seconds" not in run:
            continue
        kept[key] = {
            "date": run.get("date"),
            "backend": run.get("backend", "duckdb"),
            "transactions": run["transactions"],
            "stages": {name: {"seconds": stage["seconds"]} for name, stage in run["stages"].items()},
            "total_seconds": run["total_seconds"],
            "peak_mb": run.get("peak_mb"),
        }
    return kept


def table(runs: list[dict[str, Any]]) -> str:
    """The figures as a plain-text table."""
    lines = [f"{'transactions':>13} {'stage':<20} {'seconds':>9} {'cpu s':>8} {'peak MB':>9}"]
    for run in sorted(runs, key=lambda r: (r.get("backend", "duckdb"), r["transactions"])):
        n = run["transactions"]
        backend = run.get("backend", "duckdb")
        where = f"Spark {run['spark']['master']}" if backend == "spark" else "DuckDB"
        lines.append(f"{n:>13,} {'analysis on ' + where}")
        for stage in STAGES:
            if stage in run["stages"]:
                s = run["stages"][stage]
                peak = s.get("tree_peak_mb", s["peak_mb"])
                lines.append(f"{n:>13,} {stage:<20} {s['seconds']:>9.1f} {s['cpu_seconds']:>8.1f} {peak:>9,.0f}")
        if "failed" in run:
            lines.append(f"{n:>13,} FAILED {run['failed'].splitlines()[0]}")
        elif run.get("partial"):
            lines.append(f"{n:>13,} (unfinished: the run was stopped after these stages)")
        else:
            lines.append(f"{n:>13,} {'total':<20} {run['total_seconds']:>9.1f} {'':>8} {run['peak_mb']:>9,.0f}")
        if "import_rows_per_second" in run:
            ref = run["reference_duckdb_read_csv"]
            ratio = run["reference_rows_per_second"] / run["import_rows_per_second"]
            lines.append(
                f"{'':>13} import {run['import_rows_per_second']:,} rows/s; DuckDB read_csv (no validation) "
                f"{run['reference_rows_per_second']:,} rows/s in {ref['seconds']:.1f} s: ratio {ratio:.2f}x"
            )
        parts = sorted(run.get("analyze_parts", {}).items(), key=lambda kv: -kv[1])[:7]
        if parts:
            lines.append(f"{'':>13} analyze's largest parts: " + ", ".join(f"{k} {v:.1f} s" for k, v in parts))
        if n >= 50_000_000 and backend == "duckdb":  # issue 12's targets are for one machine on DuckDB
            done = "failed" not in run and not run.get("partial")
            ok_t = done and run["total_seconds"] <= TARGET_SECONDS
            ok_m = done and run["peak_mb"] <= TARGET_MB
            lines.append(
                f"{'':>13} target under 15 min: {'met' if ok_t else 'MISSED'}; "
                f"under 8 GB peak: {'met' if ok_m else 'MISSED'}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,10000000,100000000", help="comma-separated transaction counts")
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot from the stored results")
    parser.add_argument("--keep", action="store_true", help="keep each run's workspace and log")
    parser.add_argument(
        "--memory-limit", default=None, help="[duckdb] memory_limit of the workspaces (default: the workspace default)"
    )
    parser.add_argument(
        "--memory-cap-mb", type=float, default=16_000, help="stop a stage whose resident memory passes this (MB)"
    )
    parser.add_argument("--backend", choices=("duckdb", "spark"), default="duckdb", help="where the analysis runs")
    parser.add_argument("--spark-master", default="local[2]", help="Spark master of the Spark workspace")
    parser.add_argument(
        "--shuffle-partitions", type=int, default=8, help="spark.sql.shuffle.partitions (Spark's 200 is for clusters)"
    )
    parser.add_argument("--driver-memory", default="8g", help="Spark driver memory (local: the executors' too)")
    parser.add_argument(
        "--max-result-size", default="2g", help="spark.driver.maxResultSize (what one fetch to the driver may hold)"
    )
    args = parser.parse_args()
    spark = (
        {
            "master": args.spark_master,
            "shuffle_partitions": args.shuffle_partitions,
            "driver_memory": args.driver_memory,
            "max_result_size": args.max_result_size,
        }
        if args.backend == "spark"
        else None
    )
    stored: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    runs: dict[str, Any] = dict(stored.get("runs", {}))
    if not args.plot_only:
        CACHE.mkdir(parents=True, exist_ok=True)
        machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        for size in (int(float(s)) for s in args.sizes.split(",")):
            key = f"spark-{size}" if spark else str(size)

            def save(run: dict[str, Any], key: str = key) -> None:
                RESULTS.write_text(json.dumps({"machine": machine, "runs": {**runs, key: run}}, indent=2))

            runs[key] = run_size(
                size, args.keep, args.memory_cap_mb, progress=save, memory_limit=args.memory_limit, spark=spark
            )
            RESULTS.write_text(json.dumps({"machine": machine, "runs": runs}, indent=2))
    if runs:
        print(table(list(runs.values())))
    drawn = plotted(runs)
    if drawn and svg_plot(list(drawn.values()), PLOT):
        PLOT_DATA.write_text(json.dumps({"runs": dict(sorted(drawn.items()))}, indent=2) + "\n")
        print(
            f"plot: {PLOT.relative_to(ROOT)} from {PLOT_DATA.relative_to(ROOT)}; results: {RESULTS.relative_to(ROOT)}"
        )
    else:
        print("plot not redrawn (no completed run)")


if __name__ == "__main__":
    main()
