"""Speed of custlens' CLV models against lifetimes 0.11.3, on the same data in the same run.

Fits BG/NBD, Pareto/NBD and Gamma-Gamma and scores 12-month CLV (BG/NBD x Gamma-Gamma,
1% monthly discount, weekly time unit) on CDNOW (2,357 customers) and on synthetic
customers (default 1,000,000, drawn from the BG/NBD and Gamma-Gamma simulators at the
CDNOW estimates, observation windows of 1-365 whole days expressed in weeks, as a
transaction log would give).

lifetimes does not run on numpy 2 / pandas 3, so it runs in its own venv
(.cache/bench-lifetimes, built from benchmarks/requirements-lifetimes.txt on first use) in
a subprocess that reads the same CSV files and times the same steps.

Then the whole process on the synthetic summary CSV: `custlens fit bgnbd|gg FILE` against a
Python script reading the same CSV with pandas and fitting with lifetimes (fresh processes,
wall time, median of 3).

Run:  .venv/bin/python benchmarks/clv_speed.py [--customers N] [--pnbd-timeout S]
Writes benchmarks/results/clv_speed.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time
import venv
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from custlens.clv import BetaGeo, GammaGamma, ParetoNBD, _bgnbd, _gamma_gamma, customer_lifetime_value

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
VENV = CACHE / "bench-lifetimes"
DATA = CACHE / "bench-data"
RESULTS = ROOT / "benchmarks" / "results"
CDNOW = ROOT / "tests" / "data" / "external" / "cdnow_customers_summary_with_transactions.csv"

LIFETIMES_RUNNER = textwrap.dedent("""
    import json, sys, time, warnings
    import numpy as np, pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
    path, steps = sys.argv[1], sys.argv[2].split(",")
    df = pd.read_csv(path)
    x, tx, T, m = df["frequency"], df["recency"], df["T"], df["monetary_value"]
    out = {"n": len(df), "seconds": {}, "cpu_seconds": {}, "params": {}, "warnings": {}}
    def timed(name, fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            out["seconds"][name] = time.perf_counter() - t0
            out["cpu_seconds"][name] = time.process_time() - c0
        out["warnings"][name] = sorted({f"{w.category.__name__}: {str(w.message)[:80]}" for w in caught})
        return result
    if "bgnbd" in steps or "clv" in steps:
        bgf = timed("fit_bgnbd", lambda: BetaGeoFitter().fit(x, tx, T))
        out["params"]["bgnbd"] = {k: float(v) for k, v in bgf.params_.items()}
    if "pnbd" in steps:
        pnf = timed("fit_pnbd", lambda: ParetoNBDFitter().fit(x, tx, T))
        out["params"]["pnbd"] = {k: float(v) for k, v in pnf.params_.items()}
    if "gg" in steps or "clv" in steps:
        pos = x > 0
        ggf = timed("fit_gg", lambda: GammaGammaFitter().fit(x[pos], m[pos]))
        out["params"]["gg"] = {k: float(v) for k, v in ggf.params_.items()}
    if "clv" in steps:
        clv = timed("clv", lambda: ggf.customer_lifetime_value(bgf, x, tx, T, m, time=12, discount_rate=0.01, freq="W"))
        np.save(path + ".lifetimes_clv.npy", np.asarray(clv, dtype=float))
    print(json.dumps(out))
""")


def ensure_lifetimes() -> Path:
    """The lifetimes venv's python, building the venv on first use."""
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"building {VENV} (lifetimes 0.11.3, numpy<2) ...", file=sys.stderr)
        venv.create(VENV, with_pip=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "-r",
                str(ROOT / "benchmarks" / "requirements-lifetimes.txt"),
            ],
            check=True,
        )
    runner = VENV / "run_lifetimes.py"
    runner.write_text(LIFETIMES_RUNNER, encoding="utf-8")
    return python


def write_cdnow() -> Path:
    table = pacsv.read_csv(CDNOW)
    out = DATA / "cdnow.csv"
    pacsv.write_csv(
        pa.table(
            {
                "frequency": table.column("x"),
                "recency": table.column("t_x"),
                "T": table.column("T"),
                "monetary_value": table.column("zbar"),
            }
        ),
        out,
    )
    return out


def write_synthetic(n: int, seed: int = 2026) -> Path:
    out = DATA / f"synthetic_{n}.csv"
    if out.exists():
        return out
    rng = np.random.default_rng(seed)
    T_days = rng.integers(1, 366, n).astype(float)
    sim = _bgnbd.simulate(0.243, 4.414, 0.793, 2.426, T_days / 7.0, rng=rng)
    recency = np.round(sim["recency"] * 7.0) / 7.0  # whole days, in weeks
    spend = np.round(_gamma_gamma.simulate(6.25, 3.74, 15.44, sim["frequency"], rng=rng), 2)
    spend = np.where(sim["frequency"] > 0, np.maximum(spend, 0.01), 0.0)
    pacsv.write_csv(
        pa.table({"frequency": sim["frequency"], "recency": recency, "T": sim["T"], "monetary_value": spend}), out
    )
    return out


def run_custlens(path: Path) -> dict[str, object]:
    table = pacsv.read_csv(path)
    x, tx, T, m = (table.column(c).to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}
    caught_all: dict[str, list[str]] = {}

    def timed(name: str, fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            seconds[name] = time.perf_counter() - t0
            cpu_seconds[name] = time.process_time() - c0
        caught_all[name] = sorted({f"{w.category.__name__}: {str(w.message)[:80]}" for w in caught})
        return result

    # custlens imports SciPy's optimiser and special functions on first use, lifetimes when
    # the package is imported (before its timings start): one small untimed fit of each
    # model puts both sides on the same footing, in process, modules loaded
    warm = slice(0, min(500, x.size))
    BetaGeo().fit(x[warm], tx[warm], T[warm])
    ParetoNBD().fit(x[warm], tx[warm], T[warm])
    GammaGamma().fit(x[warm], m[warm])
    bg = timed("fit_bgnbd", lambda: BetaGeo().fit(x, tx, T))
    pn = timed("fit_pnbd", lambda: ParetoNBD().fit(x, tx, T))
    gg = timed("fit_gg", lambda: GammaGamma().fit(x, m))

    def score():
        spend = gg.conditional_expected_spend(x, m)
        return customer_lifetime_value(bg, x, tx, T, spend, horizon_months=12, monthly_discount=0.01, time_unit="W")

    clv = timed("clv", score)
    return {
        "n": int(x.size),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "warnings": caught_all,
        "params": {"bgnbd": bg.params_, "pnbd": pn.params_, "gg": gg.params_},
        "distinct_rows": {"bgnbd": bg.result_.n_unique, "pnbd": pn.result_.n_unique, "gg": gg.result_.n_unique},
        "clv": clv.column("clv").to_numpy(),
    }


def run_lifetimes(python: Path, path: Path, steps: str, timeout: float | None) -> dict[str, object] | None:
    try:
        done = subprocess.run(
            [str(python), str(VENV / "run_lifetimes.py"), str(path), steps],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def subsample(path: Path, n: int) -> Path:
    out = path.with_name(f"{path.stem}_sub{n}.csv")
    if not out.exists():
        table = pacsv.read_csv(path)
        pacsv.write_csv(table.slice(0, n), out)
    return out


PROCESS_SCRIPTS = {
    "bgnbd": (
        "import sys, pandas as pd\nfrom lifetimes import BetaGeoFitter\n"
        "df = pd.read_csv(sys.argv[1])\n"
        "print(BetaGeoFitter().fit(df['frequency'], df['recency'], df['T']).params_.to_dict())\n"
    ),
    "gg": (
        "import sys, pandas as pd\nfrom lifetimes import GammaGammaFitter\n"
        "df = pd.read_csv(sys.argv[1])\ndf = df[df['frequency'] > 0]\n"
        "print(GammaGammaFitter().fit(df['frequency'], df['monetary_value']).params_.to_dict())\n"
    ),
}
"""The lifetimes side of the whole-process comparison: read the summary CSV, fit, print."""


def whole_process(python: Path, path: Path, repeat: int = 3) -> dict[str, dict[str, float]]:
    """Wall seconds of a fresh process from the summary CSV to printed parameters (median of ``repeat``).

    custlens: ``custlens fit bgnbd|gg FILE --format json`` (start-up, reading, checks, fit);
    lifetimes: a Python script doing the same with pandas and lifetimes in its own venv.
    Runs alternate between the two.
    """
    custlens = Path(sys.executable).with_name("custlens")
    out: dict[str, dict[str, float]] = {}
    for model, script in PROCESS_SCRIPTS.items():
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(repeat):
            for argv, times in (
                ([str(custlens), "fit", model, str(path), "--format", "json"], ours),
                ([str(python), "-c", script, str(path)], theirs),
            ):
                started = time.perf_counter()
                subprocess.run(argv, check=True, capture_output=True)
                times.append(time.perf_counter() - started)
        out[model] = {"custlens": float(np.median(ours)), "lifetimes": float(np.median(theirs))}
        out[model]["speedup"] = out[model]["lifetimes"] / out[model]["custlens"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--pnbd-timeout",
        type=float,
        default=600.0,
        help="seconds lifetimes' Pareto/NBD fit may take on the full synthetic data",
    )
    parser.add_argument(
        "--pnbd-subsample",
        type=int,
        default=100_000,
        help="customers for lifetimes' Pareto/NBD when the full fit times out",
    )
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    python = ensure_lifetimes()
    report: dict[str, object] = {"datasets": {}}
    for name, path in (("cdnow", write_cdnow()), (f"synthetic_{args.customers}", write_synthetic(args.customers))):
        ours = run_custlens(path)
        theirs = run_lifetimes(python, path, "bgnbd,gg,clv", None) or {}
        pnbd = run_lifetimes(python, path, "pnbd", args.pnbd_timeout)
        pnbd_note = "full data"
        if pnbd is None:
            small = subsample(path, args.pnbd_subsample)
            pnbd = run_lifetimes(python, small, "pnbd", None) or {}
            scale = ours["n"] / pnbd["n"]
            pnbd["seconds"]["fit_pnbd"] *= scale
            pnbd["cpu_seconds"]["fit_pnbd"] *= scale
            pnbd_note = (
                f"did not finish in {args.pnbd_timeout:.0f} s on {ours['n']:,} customers; timed on the first "
                f"{pnbd['n']:,} and scaled linearly by {scale:g} (a lower bound)"
            )
        lt_seconds = {**theirs.get("seconds", {}), **pnbd.get("seconds", {})}
        lt_cpu = {**theirs.get("cpu_seconds", {}), **pnbd.get("cpu_seconds", {})}
        lt_params = {**theirs.get("params", {}), **pnbd.get("params", {})}
        lt_clv = np.load(str(path) + ".lifetimes_clv.npy")
        rel = np.abs(ours["clv"] - lt_clv) / np.maximum(np.abs(lt_clv), 1e-9)
        steps = ["fit_bgnbd", "fit_pnbd", "fit_gg", "clv"]
        e2e = {"custlens": sum(ours["seconds"][s] for s in steps), "lifetimes": sum(lt_seconds[s] for s in steps)}
        e2e_cpu = {"custlens": sum(ours["cpu_seconds"][s] for s in steps), "lifetimes": sum(lt_cpu[s] for s in steps)}
        no_pnbd = [s for s in steps if s != "fit_pnbd"]
        e2e_cpu_no_pnbd = {
            "custlens": sum(ours["cpu_seconds"][s] for s in no_pnbd),
            "lifetimes": sum(lt_cpu[s] for s in no_pnbd),
        }
        report["datasets"][name] = {
            "customers": ours["n"],
            "distinct_rows": ours["distinct_rows"],
            "custlens_seconds": ours["seconds"],
            "lifetimes_seconds": lt_seconds,
            "custlens_cpu_seconds": ours["cpu_seconds"],
            "lifetimes_cpu_seconds": lt_cpu,
            "speedup_cpu": {s: lt_cpu[s] / ours["cpu_seconds"][s] for s in steps},
            "speedup_wall": {s: lt_seconds[s] / ours["seconds"][s] for s in steps},
            "end_to_end_seconds": e2e,
            "end_to_end_cpu_seconds": e2e_cpu,
            "end_to_end_speedup_cpu": e2e_cpu["lifetimes"] / e2e_cpu["custlens"],
            "end_to_end_speedup_wall": e2e["lifetimes"] / e2e["custlens"],
            "bgnbd_gg_clv_speedup_cpu": e2e_cpu_no_pnbd["lifetimes"] / e2e_cpu_no_pnbd["custlens"],
            "lifetimes_pnbd": pnbd_note,
            "custlens_warnings": ours["warnings"],
            "lifetimes_warnings": {**theirs.get("warnings", {}), **pnbd.get("warnings", {})},
            "custlens_params": ours["params"],
            "lifetimes_params": lt_params,
            "clv_median_relative_difference": float(np.median(rel)),
            "clv_note": "lifetimes counts 4.345 weeks per month, custlens 365.25/12/7 = 4.348",
        }
    synthetic = write_synthetic(args.customers)
    report["whole_process"] = whole_process(python, synthetic)
    (RESULTS / "clv_speed.json").write_text(json.dumps(report, indent=2, default=float), encoding="utf-8")
    print("CPU seconds (process time; the machine is shared, so wall time is noisier)")
    print(f"{'dataset':<22}{'step':<12}{'custlens':>10}{'lifetimes':>11}{'speed-up':>10}")
    for name, d in report["datasets"].items():
        for s in ("fit_bgnbd", "fit_pnbd", "fit_gg", "clv"):
            print(
                f"{name:<22}{s:<12}{d['custlens_cpu_seconds'][s]:>10.3f}{d['lifetimes_cpu_seconds'][s]:>11.3f}"
                f"{d['speedup_cpu'][s]:>9.1f}x"
            )
        e = d["end_to_end_cpu_seconds"]
        print(
            f"{name:<22}{'end to end':<12}{e['custlens']:>10.3f}{e['lifetimes']:>11.3f}"
            f"{d['end_to_end_speedup_cpu']:>9.1f}x   (wall {d['end_to_end_speedup_wall']:.1f}x)"
        )
        print(
            f"  without Pareto/NBD: {d['bgnbd_gg_clv_speedup_cpu']:.1f}x; lifetimes Pareto/NBD: {d['lifetimes_pnbd']}"
        )
        print(
            f"  custlens warnings: {sum(len(v) for v in d['custlens_warnings'].values())}; "
            f"lifetimes warnings: {d['lifetimes_warnings']}"
        )
    print(f"whole process, summary CSV of {args.customers:,} customers to parameters (wall seconds, median of 3):")
    for model, w in report["whole_process"].items():
        print(
            f"  fit {model:<6} custlens {w['custlens']:.2f}  lifetimes script {w['lifetimes']:.2f}  {w['speedup']:.1f}x"
        )
    print(f"wrote {RESULTS / 'clv_speed.json'}")


if __name__ == "__main__":
    main()
