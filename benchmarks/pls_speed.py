"""Benchmark: PLS path modelling on the ECSI mobi data (250 respondents, 24 items, 7 constructs).

Run: .venv/bin/python benchmarks/pls_speed.py
Prints a table and writes benchmarks/results/pls_speed.json.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from custlens.satisfaction import fit_pls

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "external" / "mobi.csv"
OUT = ROOT / "benchmarks" / "results" / "pls_speed.json"


def _time(fn, repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median_ms": 1000 * statistics.median(times), "min_ms": 1000 * min(times), "repeat": repeat}


def main() -> None:
    data = pd.read_csv(DATA)
    fit_pls(data, "ecsi")  # warm-up (imports, caches)
    figures: dict[str, dict[str, float]] = {}
    for scheme in ("path", "centroid", "factorial"):
        figures[f"fit ecsi {scheme} (tol 1e-7)"] = _time(lambda s=scheme: fit_pls(data, "ecsi", scheme=s), 50)
    figures["fit ecsi path + quality + index"] = _time(
        lambda: (lambda r: (r.quality(), r.index()))(fit_pls(data, "ecsi")), 20
    )
    fitted = fit_pls(data, "ecsi")
    figures["bootstrap 1000 resamples (ecsi, path)"] = _time(lambda: fitted.bootstrap(1000, seed=1), 5)
    fitted_c = fit_pls(data, "ecsi", scheme="centroid")
    figures["bootstrap 1000 resamples (ecsi, centroid)"] = _time(lambda: fitted_c.bootstrap(1000, seed=1), 5)
    big = pd.DataFrame(np.repeat(data.to_numpy(), 40, axis=0), columns=data.columns)
    figures["fit ecsi path, 10,000 respondents"] = _time(lambda: fit_pls(big, "ecsi"), 10)
    width = max(map(len, figures))
    print(f"{'benchmark':<{width}}  {'median ms':>10}  {'min ms':>10}  repeat")
    for name, f in figures.items():
        print(f"{name:<{width}}  {f['median_ms']:>10.1f}  {f['min_ms']:>10.1f}  {f['repeat']:>6}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "numpy": np.__version__,
                "machine": platform.machine(),
                "figures": figures,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"written {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
