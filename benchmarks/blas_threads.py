"""Model fits while another job holds the second core: one BLAS thread against the default.

SciPy's optimisers call BLAS on small matrices; with the default two BLAS threads on a
2-core machine, a fit slows several times when the other core is busy, because the two
threads wait on each other. custlens fits under ``threadpoolctl.threadpool_limits(1)``
(``custlens.clv._numeric.single_blas_thread``). This benchmark fits BG/NBD and Pareto/NBD on
CDNOW (2,357 customers) and BG/NBD on 200,000 simulated customers, with a busy process on
every other core, once as shipped and once with the limit removed (the BLAS default), in
the same run, alternating, and prints the median of each.

Run:  .venv/bin/python benchmarks/blas_threads.py [--repeat 15]
Writes benchmarks/results/blas_threads.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.csv as pacsv

import custlens.clv._base as base
from custlens.clv import BetaGeo, ParetoNBD, _bgnbd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CDNOW = ROOT / "tests" / "data" / "external" / "cdnow_customers_summary_with_transactions.csv"


def _spin(stop: Any) -> None:
    x = 0
    while not stop.is_set():
        x = (x * 1103515245 + 12345) % 2147483648


@contextlib.contextmanager
def _busy(workers: int) -> Iterator[None]:
    stop = mp.Event()
    procs = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(workers)]
    for p in procs:
        p.start()
    try:
        time.sleep(0.5)
        yield
    finally:
        stop.set()
        for p in procs:
            p.join()


def _time(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--customers", type=int, default=200_000)
    args = parser.parse_args()

    if not CDNOW.exists():
        raise SystemExit(f"{CDNOW} is missing: run `make testdata` first")
    table = pacsv.read_csv(CDNOW)
    x, t_x, T = (table[c].to_numpy().astype(float) for c in ("x", "t_x", "T"))
    rng = np.random.default_rng(1)
    n = args.customers
    T_sim = rng.integers(1, 366, n) / 7.0
    sim = _bgnbd.simulate(r=0.243, alpha=4.414, a=0.793, b=2.426, T=T_sim, rng=rng)
    fits: dict[str, Callable[[], Any]] = {
        "bgnbd_cdnow": lambda: BetaGeo().fit(x, t_x, T),
        "pnbd_cdnow": lambda: ParetoNBD().fit(x, t_x, T),
        f"bgnbd_{n}": lambda: BetaGeo().fit(sim["frequency"], sim["recency"], sim["T"]),
    }
    shipped = base.single_blas_thread
    modes: dict[str, Callable[[], Any]] = {"one_blas_thread": shipped, "blas_default": contextlib.nullcontext}
    for fn in fits.values():  # warm caches and imports
        fn()
    times: dict[str, dict[str, list[float]]] = {m: {k: [] for k in fits} for m in modes}
    others = max(1, (os.cpu_count() or 2) - 1)
    with _busy(others):
        for _ in range(args.repeat):
            for mode, ctx in modes.items():
                base.single_blas_thread = ctx  # type: ignore[assignment]
                try:
                    for name, fn in fits.items():
                        times[mode][name].append(_time(fn))
                finally:
                    base.single_blas_thread = shipped
    out: dict[str, Any] = {"busy_processes": others, "repeat": args.repeat, "median_seconds": {}}
    print(f"{'fit':<22}{'one BLAS thread':>18}{'BLAS default':>15}{'ratio':>8}")
    for name in fits:
        one = statistics.median(times["one_blas_thread"][name])
        default = statistics.median(times["blas_default"][name])
        out["median_seconds"][name] = {"one_blas_thread": one, "blas_default": default, "ratio": default / one}
        print(f"{name:<22}{one:>17.3f}s{default:>14.3f}s{default / one:>7.1f}x")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "blas_threads.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
