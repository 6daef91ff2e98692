"""Benchmark: start-up time of every custlens command, in fresh processes.

Run:  .venv/bin/python benchmarks/startup.py [--repeat 7]

For ``custlens --help``, ``custlens version`` and ``custlens <command> --help`` of every
command (and every subcommand of ``segment`` and ``clv-formula``) it starts a new Python
process ``--repeat`` times and reports the median wall time and CPU time (user + system of
the child, which other jobs on the machine disturb less than wall time), with the data
libraries each one imported. The target of the issue that asked for it: ``custlens --help``
and ``custlens version`` in at most 0.3 s, and no command imports scipy.stats, ibis,
pyspark, plotly or scikit-learn unless it uses them. As a floor, the same is measured for
a bare ``python -c pass``. Writes benchmarks/results/startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = (
    "numpy",
    "pyarrow",
    "pandas",
    "ibis",
    "duckdb",
    "scipy.stats",
    "scipy.optimize",
    "plotly",
    "sklearn",
    "pyspark",
)

_PROBE = """
import sys
sys.argv = ['custlens', *sys.argv[1:]]
from custlens.cli import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write('\\nHEAVY=' + ','.join(m for m in {heavy!r} if m in sys.modules) + '\\n')
"""


def _commands() -> list[list[str]]:
    from custlens.cli import load_all

    root = load_all()
    out: list[list[str]] = [["--help"], ["version"]]
    for name in sorted(root.commands):
        cmd = root.commands[name]
        sub = getattr(cmd, "commands", None)
        if sub:
            out.extend([[name, s, "--help"] for s in sorted(sub)])
        elif name != "version":
            out.append([name, "--help"])
    return out


def _run(argv: list[str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *argv], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    heavy = done.stderr.rsplit("HEAVY=", 1)[-1].strip() if "HEAVY=" in done.stderr else "?"
    return wall, cpu, heavy


def _floor(repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="processes per command (the median is reported)")
    args = parser.parse_args()
    floor_wall, floor_cpu = _floor(args.repeat)
    rows = []
    print(f"{'command':<44} {'wall s':>7} {'cpu s':>7}  data libraries imported")
    print(f"{'python -c pass (floor)':<44} {floor_wall:7.3f} {floor_cpu:7.3f}")
    for argv in _commands():
        runs = [_run(argv) for _ in range(args.repeat)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        heavy = runs[-1][2]
        label = "custlens " + " ".join(argv)
        print(f"{label:<44} {wall:7.3f} {cpu:7.3f}  {heavy or '-'}")
        rows.append({"command": label, "wall_s": round(wall, 4), "cpu_s": round(cpu, 4), "imports": heavy})
    target = {r["command"]: r for r in rows if r["command"] in ("custlens --help", "custlens version")}
    for name, row in target.items():
        verdict = "ok" if row["wall_s"] <= 0.3 else "ABOVE 0.3 s"
        print(f"target {name}: {row['wall_s']:.3f} s wall, {row['cpu_s']:.3f} s cpu -> {verdict}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "startup.json").write_text(
        json.dumps(
            {
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "floor": {"wall_s": floor_wall, "cpu_s": floor_cpu},
                "repeat": args.repeat,
                "commands": rows,
            },
            indent=2,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
