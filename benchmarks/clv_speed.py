"""Speed of custlens' model fits and CLV against lifetimes 0.11.3 and pymc-marketing's MAP fit.

Same data, same run, every fit in process with its modules loaded. The data (written
once to .cache/bench-data):

* ``synthetic_N.csv``: N customers (default 1,000,000) drawn from the BG/NBD simulator at
  the CDNOW estimates with Gamma-Gamma spend; observation windows uniform on 1-365 days
  and the time of the last purchase continuous, both in weeks, so **no two rows are alike**
  (checked and printed) and compressing identical rows cannot help. BG/NBD, MBG/NBD,
  Pareto/NBD and Gamma-Gamma (repeat buyers) are fitted on it, and 12-month CLV
  (BG/NBD x Gamma-Gamma, 1% a month) is scored.
* ``bgbb_N.csv``: N customers from the BG/BB simulator at the donation estimates of Fader,
  Hardie & Shang (2010), one cohort of 52 transaction opportunities (pymc-marketing's BG/BB
  takes one cohort only). Discrete data has few distinct rows (printed); every side gets
  the same N rows.

References, each in its own venv and subprocess reading the same CSV file:

* lifetimes 0.11.3 (``.cache/bench-lifetimes``, ``benchmarks/requirements-lifetimes.txt``).
* pymc-marketing 1.3.0 (``.cache/bench-pymc``, ``benchmarks/requirements-pymc.txt``, Python
  >= 3.12): ``fit(method="map")`` with a ``HalfFlat`` prior on every parameter, so the MAP
  (``pm.find_MAP``, no Jacobian term) is the maximum-likelihood estimate. A first fit on
  1,000 rows compiles pytensor's C code (reported as ``compile``); then a fresh model is
  fitted on all rows and timed twice: the whole ``fit`` call and the time spent inside
  ``scipy.optimize.minimize`` (the optimisation alone, without building and rewriting
  the graph). The ratios use the optimisation alone, the stricter comparison.

A reference whose time on ``--subsample`` rows, scaled linearly, predicts more than
``--timeout`` seconds on all rows is reported at that scaled time (marked ``scaled``; its
cost per iteration is linear in the rows, so this is a lower bound unless more rows
need fewer iterations). The estimates are compared: custlens' log-likelihood on the same
rows at each side's parameters, and the largest relative difference of the parameters.

Then the whole process: ``custlens fit MODEL FILE`` against a Python script reading the
same CSV with pandas and fitting with lifetimes (fresh processes, wall time, median of 3).
custlens' modules are compiled to bytecode first, as installing a package does (lifetimes
and pandas in their venv have theirs); without that, a shell with PYTHONDONTWRITEBYTECODE
set compiles custlens' sources in every run (about 0.035 s of CPU for ``fit gg``).
``--source-only`` skips the compilation.

Run:  .venv/bin/python benchmarks/clv_speed.py [--customers N] [--timeout S] [--subsample N]
Writes benchmarks/results/clv_speed.json and prints a table with every ratio. ``--clv-only``
times the CLV step alone (custlens fastest of 5, lifetimes once) into clv_speed_clv.json;
``--process-only`` makes only the whole-process runs (``--process-models``) into
clv_speed_process.json. ``--models bgnbd,mbgnbd,gg`` fits only those models in process
(with their references; the CLV step runs when bgnbd and gg are among them), which skips
the scaled Pareto/NBD and BG/BB references that take minutes. ``--custlens-only`` times
three fits of each of ``--models`` in process, custlens alone (``PYTHONPATH`` picks the
library: two versions back to back).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
import venv
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from custlens.clv import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    _bgbb,
    _bgnbd,
    _gamma_gamma,
    customer_lifetime_value,
)

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
LIFETIMES_VENV = CACHE / "bench-lifetimes"
PYMC_VENV = CACHE / "bench-pymc"
DATA = CACHE / "bench-data"
RESULTS = ROOT / "benchmarks" / "results"

MODELS = ("bgnbd", "mbgnbd", "pnbd", "gg", "bgbb")
#: custlens' parameter names per model, and each reference's name for them where it differs
PARAMS = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "pnbd": ("r", "alpha", "s", "beta"),
    "gg": ("p", "q", "gamma"),
    "bgbb": ("alpha", "beta", "gamma", "delta"),
}
REFERENCE_NAMES = {"gg": {"gamma": "v"}}  # Gamma-Gamma's scale is v in lifetimes and pymc-marketing

_COMMON = """
import json, sys, time, warnings
import numpy as np, pandas as pd
path, steps, rows = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
df = pd.read_csv(path)
if rows > 0:
    df = df.iloc[:rows].reset_index(drop=True)
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
"""

LIFETIMES_RUNNER = _COMMON + textwrap.dedent("""
    from lifetimes import (BetaGeoBetaBinomFitter, BetaGeoFitter, GammaGammaFitter,
                           ModifiedBetaGeoFitter, ParetoNBDFitter)
    if "bgbb" in steps:
        f = timed("bgbb", lambda: BetaGeoBetaBinomFitter().fit(df["frequency"], df["recency"], df["n_periods"]))
        out["params"]["bgbb"] = {k: float(v) for k, v in f.params_.items()}
    else:
        x, tx, T, m = df["frequency"], df["recency"], df["T"], df["monetary_value"]
        pos = x > 0
        fitters = {"bgnbd": BetaGeoFitter, "mbgnbd": ModifiedBetaGeoFitter, "pnbd": ParetoNBDFitter}
        fitted = {}
        for step in steps:
            if step in fitters:
                fitted[step] = timed(step, lambda: fitters[step]().fit(x, tx, T))
            elif step == "gg":
                fitted[step] = timed(step, lambda: GammaGammaFitter().fit(x[pos], m[pos]))
            if step in fitted:
                out["params"][step] = {k: float(v) for k, v in fitted[step].params_.items()}
        if "clv" in steps:
            clv = timed("clv", lambda: fitted["gg"].customer_lifetime_value(
                fitted["bgnbd"], x, tx, T, m, time=12, discount_rate=0.01, freq="W"))
            np.save(path + ".lifetimes_clv.npy", np.asarray(clv, dtype=float))
    print(json.dumps(out))
""")

PYMC_RUNNER = _COMMON + textwrap.dedent("""
    import scipy.optimize
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import (BetaGeoBetaBinomModel, BetaGeoModel, GammaGammaModel,
                                    ModifiedBetaGeoModel, ParetoNBDModel)
    classes = {"bgnbd": (BetaGeoModel, ("r", "alpha", "a", "b")),
               "mbgnbd": (ModifiedBetaGeoModel, ("r", "alpha", "a", "b")),
               "pnbd": (ParetoNBDModel, ("r", "alpha", "s", "beta")),
               "gg": (GammaGammaModel, ("p", "q", "v")),
               "bgbb": (BetaGeoBetaBinomModel, ("alpha", "beta", "gamma", "delta"))}
    in_optimiser = [0.0]
    minimize = scipy.optimize.minimize
    def timed_minimize(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return minimize(*args, **kwargs)
        finally:
            in_optimiser[0] += time.perf_counter() - t0
    scipy.optimize.minimize = timed_minimize  # find_MAP calls scipy.optimize.minimize
    if "bgbb" in steps:
        data = pd.DataFrame({"customer_id": np.arange(len(df)), "frequency": df["frequency"].astype(int),
                             "recency": df["recency"].astype(int), "T": df["n_periods"].astype(int)})
    elif "gg" in steps:
        pos = df["frequency"] > 0
        data = pd.DataFrame({"customer_id": np.arange(int(pos.sum())), "frequency": df["frequency"][pos].values,
                             "monetary_value": df["monetary_value"][pos].values})
    else:
        data = pd.DataFrame({"customer_id": np.arange(len(df)), "frequency": df["frequency"],
                             "recency": df["recency"], "T": df["T"]})
    step = steps[0]
    cls, names = classes[step]
    def fit(rows):
        model = cls(model_config={k: Prior("HalfFlat") for k in names})
        model.fit(data.iloc[:rows] if rows else data, method="map", progressbar=False)
        return {k: float(np.asarray(model.idata.posterior[k]).squeeze()) for k in names}
    timed("compile", lambda: fit(1000))
    in_optimiser[0] = 0.0
    out["params"][step] = timed(step, lambda: fit(0))
    out["seconds"][step + "_optimiser"] = in_optimiser[0]
    print(json.dumps(out))
""")


def ensure_venv(path: Path, requirements: str, runner: str, python: str) -> Path:
    """The venv's python, building the venv on first use, with the runner script written into it."""
    exe = path / "bin" / "python"
    if not exe.exists():
        print(f"building {path} from benchmarks/{requirements} ...", file=sys.stderr)
        if python == sys.executable or not python:
            venv.create(path, with_pip=True)
        else:
            subprocess.run([python, "-m", "venv", str(path)], check=True)
        pip = [str(exe), "-m", "pip", "install", "--quiet", "-r", str(ROOT / "benchmarks" / requirements)]
        subprocess.run(pip, check=True)
    (path / "run_benchmark.py").write_text(runner, encoding="utf-8")
    return exe


def write_synthetic(n: int, seed: int = 2026) -> Path:
    """BG/NBD customers with continuous windows and recency (weeks) and Gamma-Gamma spend."""
    out = DATA / f"synthetic_continuous_{n}.csv"
    if out.exists():
        return out
    rng = np.random.default_rng(seed)
    T = rng.uniform(1.0, 365.0, n) / 7.0
    sim = _bgnbd.simulate(0.243, 4.414, 0.793, 2.426, T, rng=rng)
    spend = _gamma_gamma.simulate(6.25, 3.74, 15.44, sim["frequency"], rng=rng)
    spend = np.where(sim["frequency"] > 0, spend, 0.0)
    cols = {"frequency": sim["frequency"], "recency": sim["recency"], "T": sim["T"], "monetary_value": spend}
    pacsv.write_csv(pa.table(cols), out)
    return out


def write_bgbb(n: int, seed: int = 2026) -> Path:
    """BG/BB customers (FHS 2010 donation estimates), one cohort of 52 opportunities.

    One cohort because pymc-marketing's BG/BB model accepts only one number of
    opportunities for every customer.
    """
    out = DATA / f"bgbb_{n}.csv"
    if out.exists():
        return out
    d = _bgbb.simulate(1.204, 0.750, 0.657, 2.783, 52, size=n, rng=np.random.default_rng(seed))
    pacsv.write_csv(pa.table({k: d[k].astype(np.int64) for k in ("frequency", "recency", "n_periods")}), out)
    return out


def read_columns(path: Path) -> dict[str, np.ndarray]:
    table = pacsv.read_csv(path)
    return {c: table.column(c).to_numpy().astype(float) for c in table.column_names}


def distinct_rows(*columns: np.ndarray) -> int:
    return int(np.unique(np.column_stack(columns), axis=0).shape[0])


def estimators(
    d: dict[str, np.ndarray], b: dict[str, np.ndarray]
) -> dict[str, tuple[Callable[[], Any], Callable[[Any], float]]]:
    """Per model: a fit on all rows, and the total log-likelihood of an estimator on them."""
    x, tx, T, m = d["frequency"], d["recency"], d["T"], d["monetary_value"]
    pos = x > 0
    xb, tb, nb = b["frequency"], b["recency"], b["n_periods"]
    return {
        "bgnbd": (lambda: BetaGeo().fit(x, tx, T), lambda e: float(e.loglik(x, tx, T).sum())),
        "mbgnbd": (lambda: ModifiedBetaGeo().fit(x, tx, T), lambda e: float(e.loglik(x, tx, T).sum())),
        "pnbd": (lambda: ParetoNBD().fit(x, tx, T), lambda e: float(e.loglik(x, tx, T).sum())),
        "gg": (lambda: GammaGamma().fit(x[pos], m[pos]), lambda e: float(e.loglik(x[pos], m[pos]).sum())),
        "bgbb": (lambda: BetaGeoBetaBinom().fit(xb, tb, nb), lambda e: float(e.loglik(xb, tb, nb).sum())),
    }


CLASSES = {"bgnbd": BetaGeo, "mbgnbd": ModifiedBetaGeo, "pnbd": ParetoNBD, "gg": GammaGamma, "bgbb": BetaGeoBetaBinom}


def run_custlens(d: dict[str, np.ndarray], b: dict[str, np.ndarray], models: list[str]) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    caught_all: dict[str, list[str]] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            seconds[name] = time.perf_counter() - t0
            cpu[name] = time.process_time() - c0
        caught_all[name] = sorted({f"{w.category.__name__}: {str(w.message)[:80]}" for w in caught})
        return result

    # custlens imports SciPy's optimiser on first use, the references with the package:
    # one small untimed fit of each model puts every side on the same footing
    small = {k: v[:500] for k, v in d.items()}
    small_b = {k: v[:500] for k, v in b.items()}
    for name, (fit, _) in estimators(small, small_b).items():
        if name in models:
            fit()
    # the CLV's interpolation loads scipy.fft on first use (lifetimes has its modules loaded)
    import scipy.fft  # noqa: F401

    fits = {name: timed(name, fit) for name, (fit, _) in estimators(d, b).items() if name in models}
    x, tx, T, m = d["frequency"], d["recency"], d["T"], d["monetary_value"]

    def score() -> Any:
        spend = fits["gg"].conditional_expected_spend(x, m)
        return customer_lifetime_value(
            fits["bgnbd"], x, tx, T, spend, horizon_months=12, monthly_discount=0.01, time_unit="W"
        )

    clv = timed("clv", score) if {"bgnbd", "gg"} <= set(fits) else None
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "warnings": caught_all,
        "fits": fits,
        "params": {k: f.params_ for k, f in fits.items()},
        "n_iter": {k: f.n_iter_ for k, f in fits.items()},
        "rows_fitted": {k: f.result_.n_unique for k, f in fits.items()},
        "clv": None if clv is None else clv.column("clv").to_numpy(),
    }


def _run(python: Path, path: Path, steps: str, rows: int) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), str(python.parents[1] / "run_benchmark.py"), str(path), steps, str(rows)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{python} {steps} on {path.name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_reference(python: Path, path: Path, model: str, n: int, timeout: float, subsample: int) -> dict[str, Any]:
    """One model's reference fit on all ``n`` rows, or on ``subsample`` rows scaled when too slow.

    A reference that fails (raises) is reported with the last line of its error.
    """
    try:
        return _measure(python, path, model, n, timeout, subsample)
    except RuntimeError as err:
        return {"error": str(err).strip().splitlines()[-1]}


def _measure(python: Path, path: Path, model: str, n: int, timeout: float, subsample: int) -> dict[str, Any]:
    if n > subsample:
        small = _run(python, path, model, subsample)
        predicted = small["seconds"][model] * n / small["n"]
        if predicted > timeout:
            scale = n / small["n"]
            for key in ("seconds", "cpu_seconds"):
                small[key] = {k: (v * scale if k.startswith(model) else v) for k, v in small[key].items()}
            small["scaled"] = f"timed on the first {small['n']:,} rows and scaled by {scale:g}"
            return small
    return _run(python, path, model, 0)


def agreement(name: str, ours: Any, loglik: Callable[[Any], float], theirs: dict[str, float]) -> dict[str, float]:
    """custlens' log-likelihood at both estimates, and the largest relative parameter difference."""
    mapped = {k: theirs[REFERENCE_NAMES.get(name, {}).get(k, k)] for k in PARAMS[name]}
    other = CLASSES[name].from_params(mapped)
    ll_ours, ll_theirs = loglik(ours), loglik(other)
    rel = max(abs(ours.params_[k] - v) / abs(v) for k, v in mapped.items())
    return {"loglik_custlens": ll_ours, "loglik_reference": ll_theirs, "max_rel_param_diff": rel}


def compile_custlens() -> None:
    """Write the bytecode of the custlens package that the ``custlens`` script will import."""
    import compileall

    import custlens

    compileall.compile_dir(str(Path(custlens.__file__).parent), quiet=1)


def whole_process(python: Path, paths: dict[str, Path], models: list[str], repeat: int = 3) -> dict[str, Any]:
    """Wall seconds of a fresh process from the summary CSV to printed parameters (median of ``repeat``).

    custlens: ``custlens fit MODEL FILE --format json`` (start-up, reading, checks, fit);
    lifetimes: a Python script doing the same with pandas and lifetimes in its own venv.
    Runs alternate between the two.
    """
    fitter = {"bgnbd": "BetaGeoFitter", "mbgnbd": "ModifiedBetaGeoFitter", "pnbd": "ParetoNBDFitter"}
    custlens = Path(sys.executable).with_name("custlens")
    out: dict[str, Any] = {}
    for model in models:
        if model == "gg":
            body = "df = df[df['frequency'] > 0]\nf = GammaGammaFitter().fit(df['frequency'], df['monetary_value'])\n"
            cls = "GammaGammaFitter"
        elif model == "bgbb":
            body = "f = BetaGeoBetaBinomFitter().fit(df['frequency'], df['recency'], df['n_periods'])\n"
            cls = "BetaGeoBetaBinomFitter"
        else:
            cls = fitter[model]
            body = f"f = {cls}().fit(df['frequency'], df['recency'], df['T'])\n"
        script = f"import sys, pandas as pd\nfrom lifetimes import {cls}\ndf = pd.read_csv(sys.argv[1])\n{body}print(f.params_.to_dict())\n"
        path = paths["bgbb" if model == "bgbb" else "synthetic"]
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


def custlens_only(n: int, models: list[str], repeat: int = 3) -> None:
    """Wall and CPU seconds of ``repeat`` fits of each model in this process (a small fit of each first)."""
    d, b = read_columns(write_synthetic(n)), read_columns(write_bgbb(n))
    small = estimators({k: v[:500] for k, v in d.items()}, {k: v[:500] for k, v in b.items()})
    for name in models:
        small[name][0]()
    import custlens

    print(f"custlens from {Path(custlens.__file__).parent}; {n:,} customers; load {os.getloadavg()[0]:.1f}")
    for name, (fit, _) in estimators(d, b).items():
        if name not in models:
            continue
        runs = []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            fitted = fit()
            runs.append(f"{time.perf_counter() - t0:.3f}/{time.process_time() - c0:.3f}")
        print(f"  {name:<7} wall/CPU seconds {' '.join(runs)}; log-likelihood {fitted.result_.log_likelihood!r}")


def clv_only(lifetimes: Path, n: int, repeat: int = 5) -> None:
    """The ``clv`` row alone: custlens' CLV step (fits untimed) fastest of ``repeat``, and lifetimes'."""
    synthetic = write_synthetic(n)
    d = read_columns(synthetic)
    x, tx, T, m = d["frequency"], d["recency"], d["T"], d["monetary_value"]
    bgnbd, gg = BetaGeo().fit(x, tx, T), GammaGamma().fit(x[x > 0], m[x > 0])
    seconds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        spend = gg.conditional_expected_spend(x, m)
        table = customer_lifetime_value(bgnbd, x, tx, T, spend, horizon_months=12, monthly_discount=0.01, time_unit="W")
        seconds.append(time.perf_counter() - t0)
    clv_run = _run(lifetimes, synthetic, "bgnbd,gg,clv", 0)
    lt_clv = np.load(str(synthetic) + ".lifetimes_clv.npy")
    ours = table.column("clv").to_numpy()
    rel = float(np.median(np.abs(ours - lt_clv) / np.maximum(np.abs(lt_clv), 1e-9)))
    report = {"customers": n, "custlens_seconds": seconds, "lifetimes_seconds": clv_run["seconds"]["clv"]}
    report["clv_median_relative_difference"] = rel
    (RESULTS / "clv_speed_clv.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    best, theirs = min(seconds), clv_run["seconds"]["clv"]
    print(f"12-month CLV of {n:,} customers: custlens {best:.3f} s (fastest of {repeat}: {seconds})")
    print(f"  lifetimes {theirs:.2f} s, {theirs / best:.0f}x; median relative difference {rel:.2e} (weeks per month)")
    print(f"wrote {RESULTS / 'clv_speed_clv.json'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=120.0, help="longest predicted reference fit run in full")
    parser.add_argument("--subsample", type=int, default=100_000, help="rows a slow reference is timed on")
    parser.add_argument("--pymc-python", default="python3.12", help="Python >= 3.12 for the pymc-marketing venv")
    parser.add_argument(
        "--process-models",
        default="bgnbd,mbgnbd,gg",
        help="models of the whole-process runs (lifetimes' BG/BB script on 1M rows takes over 10 minutes)",
    )
    parser.add_argument("--no-pymc", action="store_true", help="skip pymc-marketing")
    parser.add_argument(
        "--models",
        default=",".join(MODELS),
        help="models fitted in process, with their references (the CLV step needs bgnbd and gg; "
        "the references of pnbd and bgbb take minutes)",
    )
    parser.add_argument(
        "--clv-only",
        action="store_true",
        help="only the 12-month CLV step (BG/NBD x Gamma-Gamma), custlens fastest of 5, against lifetimes",
    )
    parser.add_argument(
        "--source-only",
        action="store_true",
        help="do not compile custlens' modules to bytecode before the whole-process runs",
    )
    parser.add_argument(
        "--custlens-only",
        action="store_true",
        help="only custlens' in-process fits of --models, 3 of each (wall and CPU seconds), no references; "
        "PYTHONPATH chooses the library, to compare two versions",
    )
    parser.add_argument(
        "--process-only",
        action="store_true",
        help="only the whole-process runs (custlens fit against lifetimes scripts) into clv_speed_process.json",
    )
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    lifetimes = ensure_venv(LIFETIMES_VENV, "requirements-lifetimes.txt", LIFETIMES_RUNNER, sys.executable)
    if args.clv_only:
        clv_only(lifetimes, args.customers)
        return
    if args.process_only:
        models = [m for m in args.process_models.split(",") if m]
        paths = {"synthetic": write_synthetic(args.customers)}
        if "bgbb" in models:
            paths["bgbb"] = write_bgbb(args.customers)
        if not args.source_only:
            compile_custlens()
        load_before = os.getloadavg()
        runs = whole_process(lifetimes, paths, models)
        load = os.getloadavg()
        report = {
            "customers": args.customers,
            "whole_process": runs,
            "load_average": [load_before, load],
            "bytecode": not args.source_only,
        }
        (RESULTS / "clv_speed_process.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"whole process, CSV of {args.customers:,} customers to parameters (wall seconds, median of 3):")
        for model, w in runs.items():
            print(
                f"  fit {model:<7} custlens {w['custlens']:.2f}  lifetimes script {w['lifetimes']:.2f}  {w['speedup']:.1f}x"
            )
        print(
            f"  load average {load_before[0]:.1f} before, {load[0]:.1f} after; wrote {RESULTS / 'clv_speed_process.json'}"
        )
        return
    if args.custlens_only:
        custlens_only(args.customers, [m for m in MODELS if m in args.models.split(",")])
        return
    pymc = None if args.no_pymc else ensure_venv(PYMC_VENV, "requirements-pymc.txt", PYMC_RUNNER, args.pymc_python)
    synthetic, bgbb = write_synthetic(args.customers), write_bgbb(args.customers)
    d, b = read_columns(synthetic), read_columns(bgbb)
    n = args.customers
    report: dict[str, Any] = {
        "customers": n,
        "cpu_count": os.cpu_count(),
        "distinct_rows": {
            "frequency, recency, T": distinct_rows(d["frequency"], d["recency"], d["T"]),
            "repeat buyers: frequency, monetary_value": distinct_rows(
                d["frequency"][d["frequency"] > 0], d["monetary_value"][d["frequency"] > 0]
            ),
            "repeat buyers": int((d["frequency"] > 0).sum()),
            "BG/BB: frequency, recency, n_periods": distinct_rows(b["frequency"], b["recency"], b["n_periods"]),
        },
    }
    models = [m for m in MODELS if m in args.models.split(",")]
    report["models"] = models
    ours = run_custlens(d, b, models)
    refs: dict[str, dict[str, Any]] = {"lifetimes": {}, "pymc-marketing MAP": {}}
    for model in models:
        path = bgbb if model == "bgbb" else synthetic
        refs["lifetimes"][model] = run_reference(lifetimes, path, model, n, args.timeout, args.subsample)
        if pymc is not None:
            refs["pymc-marketing MAP"][model] = run_reference(pymc, path, model, n, args.timeout, args.subsample)
    fits = estimators(d, b)
    rows = []
    for model in models:
        row: dict[str, Any] = {
            "model": model,
            "custlens_seconds": ours["seconds"][model],
            "custlens_cpu_seconds": ours["cpu_seconds"][model],
            "custlens_iterations": ours["n_iter"][model],
            "custlens_rows_fitted": ours["rows_fitted"][model],
            "custlens_params": ours["params"][model],
        }
        for side, per_model in refs.items():
            if model not in per_model:
                continue
            r = per_model[model]
            if "error" in r:
                row[side] = {"error": r["error"]}
                continue
            key = model + "_optimiser" if side.startswith("pymc") else model
            row[side] = {
                "seconds": r["seconds"][key],
                "fit_call_seconds": r["seconds"][model],
                "compile_seconds": r["seconds"].get("compile"),
                "rows": r["n"],
                "scaled": r.get("scaled", ""),
                "params": r["params"][model],
                "warnings": r["warnings"],
                "speedup": r["seconds"][key] / ours["seconds"][model],
                **agreement(model, ours["fits"][model], fits[model][1], r["params"][model]),
            }
        rows.append(row)
    if ours["clv"] is not None:
        clv_run = _run(lifetimes, synthetic, "bgnbd,gg,clv", 0)
        lt_clv = np.load(str(synthetic) + ".lifetimes_clv.npy")
        rel = np.abs(ours["clv"] - lt_clv) / np.maximum(np.abs(lt_clv), 1e-9)
        rows.append(
            {
                "model": "clv",
                "custlens_seconds": ours["seconds"]["clv"],
                "custlens_cpu_seconds": ours["cpu_seconds"]["clv"],
                "lifetimes": {
                    "seconds": clv_run["seconds"]["clv"],
                    "speedup": clv_run["seconds"]["clv"] / ours["seconds"]["clv"],
                },
                "clv_median_relative_difference": float(np.median(rel)),
                "clv_note": "lifetimes counts 4.345 weeks per month, custlens 365.25/12/7 = 4.348",
            }
        )
    report["in_process"] = rows
    report["custlens_warnings"] = ours["warnings"]
    process_models = [m for m in args.process_models.split(",") if m]
    if not args.source_only:
        compile_custlens()
    report["whole_process"] = whole_process(lifetimes, {"synthetic": synthetic, "bgbb": bgbb}, process_models)
    (RESULTS / "clv_speed.json").write_text(json.dumps(report, indent=2, default=float), encoding="utf-8")

    print(f"{n:,} customers; distinct rows: {report['distinct_rows']}")
    print("in process, wall seconds (pymc-marketing: inside the optimiser; its whole fit call and compile after)")
    print(f"{'model':<8}{'custlens':>10}{'lifetimes':>11}{'ratio':>8}{'pymc MAP':>10}{'ratio':>8}   agreement")
    for row in rows:
        lt, pm = row.get("lifetimes", {}), row.get("pymc-marketing MAP", {})
        line = f"{row['model']:<8}{row['custlens_seconds']:>10.3f}"
        line += f"{lt['seconds']:>11.3f}{lt['speedup']:>7.1f}x" if "seconds" in lt else f"{'failed':>11}{'':8}"
        line += (
            f"{pm['seconds']:>10.3f}{pm['speedup']:>7.1f}x"
            if "seconds" in pm
            else f"{'failed' if pm else '':>10}{'':8}"
        )
        notes = [f"{side} failed: {r['error']}" for side, r in (("lifetimes", lt), ("pymc", pm)) if "error" in r]
        for side, r in (("lifetimes", lt), ("pymc", pm)):
            if r and "loglik_reference" in r:
                notes.append(
                    f"{side}: dLL {r['loglik_custlens'] - r['loglik_reference']:+.3g}, "
                    f"params {r['max_rel_param_diff']:.1e}{' [' + r['scaled'] + ']' if r['scaled'] else ''}"
                )
            if side == "pymc" and "fit_call_seconds" in r:
                notes.append(f"pymc fit call {r['fit_call_seconds']:.2f} s, compile {r['compile_seconds']:.2f} s")
        print(line + "   " + "; ".join(notes))
    if rows and rows[-1]["model"] == "clv":
        print(f"  clv median relative difference {rows[-1]['clv_median_relative_difference']:.2e} (weeks per month)")
    print(f"  custlens CPU seconds: { {r['model']: round(r['custlens_cpu_seconds'], 3) for r in rows} }")
    print(f"whole process, CSV of {n:,} customers to parameters (wall seconds, median of 3):")
    for model, w in report["whole_process"].items():
        print(
            f"  fit {model:<7} custlens {w['custlens']:.2f}  lifetimes script {w['lifetimes']:.2f}  {w['speedup']:.1f}x"
        )
    print(f"wrote {RESULTS / 'clv_speed.json'}")


if __name__ == "__main__":
    main()
