"""Benchmark: the REST API on 1 million customers and 10 million transactions.

Run:  .venv/bin/python benchmarks/service_1m.py [--transactions 10000000] [--clients 50]
                                                [--seconds 60] [--rebuild] [--build-only]

1. Builds the workspace once under .cache/bench/service_1m/ (reused on later runs): the
   demo company (custlens.synth.write_company with n_transactions, about 1.09 million
   customers for 10 million lines), imported table by table (custlens.demo.IMPORT_ORDER)
   and analysed (custlens.analysis.analyze); an admin user with an API token is added.
2. Starts `custlens serve` on that workspace in a subprocess (uvicorn, 127.0.0.1) and
   waits for /healthz.
3. Drives --clients concurrent clients for --seconds seconds: 45 % of them ask for customer
   profiles (random customer ids), 45 % for segment member pages (random method, segment
   and page), 10 % for the overview. With `wrk` on the PATH (Debian: apt-get install wrk)
   one wrk process per route does it (a C client costs the server's two cores little);
   otherwise, or with --client httpx, asyncio clients of httpx in this process do (they
   cost about as much CPU as the server, so on a small machine they measure themselves).
   Before that, 200 requests per route from one client, one at a time: each route's own
   latency without queueing (``one_client_ms``).
4. Prints p50/p95/p99 and errors per route, checks the targets (profile p95 < 100 ms,
   member page p95 < 200 ms, overview p95 < 1 s, no errors) and writes
   benchmarks/results/service_1m.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench" / "service_1m"
RESULTS = ROOT / "benchmarks" / "results" / "service_1m.json"
PASSWORD = "benchmark-password-1"
TARGETS_MS = {"profile": 100.0, "members": 200.0, "overview": 1000.0}


def build(n_transactions: int, *, rebuild: bool) -> dict[str, Any]:
    """Build (or reuse) the workspace; return what it holds and how long each step took."""
    from custlens.access import AccessStore
    from custlens.analysis import analyze, list_analyses
    from custlens.demo import IMPORT_ORDER
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company
    from custlens.warehouse import WorkspaceSettings

    done = CACHE / "build.json"
    if done.exists() and not rebuild:
        info: dict[str, Any] = json.loads(done.read_text())
        if info.get("n_transactions") == n_transactions:
            return info
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    files = write_company(CACHE / "data", n_transactions=n_transactions, fmt="parquet")
    timings["generate"] = time.perf_counter() - started
    settings = WorkspaceSettings(memory_limit="8GB", threads=os.cpu_count() or 2)
    # personal data is encrypted: the key lives beside the workspace (recorded in workspace.toml)
    with init_workspace(CACHE / "workspace", settings=settings, key_file=CACHE / "workspace.key") as ws:
        for name in IMPORT_ORDER:
            started = time.perf_counter()
            report = import_file(ws, files[name], table=name)
            timings[f"import {name}"] = time.perf_counter() - started
            sys.stderr.write(f"{report.message} in {timings[f'import {name}']:.1f} s\n")
        counts = ws.row_counts()
        started = time.perf_counter()
        stored = analyze(ws)
        timings["analyze"] = time.perf_counter() - started
        sys.stderr.write(f"analysis {stored.analysis_id} in {timings['analyze']:.1f} s\n")
        store = AccessStore(ws.raw)
        store.add_user("bench", PASSWORD, "admin")
        token = store.issue_token("bench", name="benchmark")
        analyses = list_analyses(ws)["analysis_id"].to_pylist()
    info = {
        "n_transactions": n_transactions,
        "rows": counts,
        "analysis_id": analyses[-1],
        "token": token,
        "build_seconds": {k: round(v, 1) for k, v in timings.items()},
    }
    done.write_text(json.dumps(info, indent=2))
    return info


def start_server(port: int) -> subprocess.Popen[bytes]:
    """`custlens serve` on the benchmark workspace, in a subprocess; returns when it answers."""
    import httpx

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = "import sys; from custlens.cli import main; sys.argv[0] = 'custlens'; main()"
    args = ["serve", "--workspace", str(CACHE / "workspace"), "--port", str(port)]
    log = (CACHE / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped (exit {proc.returncode}); see {CACHE / 'server.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the server did not answer /healthz within 10 minutes")


def sample_inputs(info: dict[str, Any]) -> dict[str, Any]:
    """Customer ids and (method, segment, pages) to ask for, read from the workspace copy."""
    import duckdb

    con = duckdb.connect(str(CACHE / "workspace" / "warehouse.duckdb"), read_only=True)
    try:
        ids = [
            r[0]
            for r in con.execute(
                "SELECT customer_id FROM analysis_customers WHERE analysis_id = ? USING SAMPLE 20000 ROWS",
                [info["analysis_id"]],
            ).fetchall()
        ]
    finally:
        con.close()
    return {"ids": ids}


async def drive(port: int, token: str, clients: int, seconds: float, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run ``clients`` concurrent clients for ``seconds``; latencies (ms) and errors per route."""
    import httpx

    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    latencies: dict[str, list[float]] = {"profile": [], "members": [], "overview": []}
    errors: dict[str, list[str]] = {k: [] for k in latencies}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as client:
        methods = (await client.get("/api/v1/segments")).json()["items"]
        segments = []
        for m in methods:
            summary = (await client.get(f"/api/v1/segments/{m['method']}")).json()
            segments += [(m["method"], s["segment"], int(s["customers"])) for s in summary["segments"]]
        ids = inputs["ids"]
        stop = time.perf_counter() + seconds

        async def one(rng: random.Random) -> None:
            while time.perf_counter() < stop:
                pick = rng.random()
                if pick < 0.45:
                    route, url = "profile", f"/api/v1/customers/{rng.choice(ids)}"
                elif pick < 0.9:
                    method, seg, size = rng.choice(segments)
                    pages = max(1, -(-size // 50))
                    route = "members"
                    url = f"/api/v1/segments/{method}/{seg}/members?page={rng.randint(1, pages)}&page_size=50"
                else:
                    route, url = "overview", "/api/v1/overview"
                t0 = time.perf_counter()
                try:
                    response = await client.get(url)
                    ok = response.status_code == 200
                    what = f"{response.status_code} {url}"
                except httpx.HTTPError as exc:
                    ok, what = False, f"{type(exc).__name__} {url}"
                latencies[route].append((time.perf_counter() - t0) * 1000)
                if not ok:
                    errors[route].append(what)

        await asyncio.gather(*(one(random.Random(i)) for i in range(clients)))
    return {"latencies": latencies, "errors": errors}


_WRK_SCRIPT = """
local paths = {}
for line in io.lines("%(urls)s") do paths[#paths + 1] = line end
local auth = "Bearer %(token)s"
math.randomseed(%(seed)d)
request = function()
  return wrk.format("GET", paths[math.random(#paths)], {["Authorization"] = auth})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "p50": %%.3f, "p95": %%.3f, "p99": %%.3f, "max": %%.3f, "errors": %%d, "non_2xx": %%d}\\n',
    summary.requests, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def route_urls(port: int, token: str, inputs: dict[str, Any]) -> dict[str, list[str]]:
    """The URLs each route is asked for: random customers, random member pages, the overview."""
    from urllib.parse import quote

    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{port}"
    methods = httpx.get(f"{base}/api/v1/segments", headers=headers, timeout=60).json()["items"]
    segments = []
    for m in methods:
        summary = httpx.get(f"{base}/api/v1/segments/{m['method']}", headers=headers, timeout=60).json()
        segments += [(m["method"], s["segment"], int(s["customers"])) for s in summary["segments"]]
    rng = random.Random(1)
    members = []
    for _ in range(20_000):
        method, seg, size = rng.choice(segments)
        page = rng.randint(1, max(1, -(-size // 50)))
        members.append(f"/api/v1/segments/{method}/{quote(seg, safe='')}/members?page={page}&page_size=50")
    return {
        "profile": [f"/api/v1/customers/{quote(i, safe='')}" for i in inputs["ids"]],
        "members": members,
        "overview": ["/api/v1/overview"],
    }


def sequential(port: int, token: str, urls: dict[str, list[str]], n: int = 200) -> dict[str, Any]:
    """One client, one request at a time: each route's own latency, without queueing."""
    import httpx

    rng = random.Random(2)
    out = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as client:
        for route, listing in urls.items():
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                client.get(rng.choice(listing)).raise_for_status()
                times.append((time.perf_counter() - t0) * 1000)
            out[route] = percentiles(times)
    return out


def drive_wrk(port: int, token: str, clients: int, seconds: float, urls: dict[str, list[str]]) -> dict[str, Any]:
    """One wrk process per route, started together; their figures per route."""
    shares = {"profile": 0.45, "members": 0.45, "overview": 0.10}
    procs = {}
    for i, (route, share) in enumerate(shares.items()):
        listing = CACHE / f"urls-{route}.txt"
        listing.write_text("\n".join(urls[route]) + "\n")
        script = CACHE / f"wrk-{route}.lua"
        script.write_text(_WRK_SCRIPT % {"urls": listing, "token": token, "seed": i + 1})
        connections = max(1, round(clients * share))
        command = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "30s", "-s", str(script)]
        procs[route] = subprocess.Popen([*command, f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
    out: dict[str, Any] = {}
    for route, proc in procs.items():
        text, _ = proc.communicate()
        line = next((x for x in text.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            raise SystemExit(f"wrk for {route} gave no result:\n{text}")
        figures = json.loads(line.removeprefix("RESULT "))
        figures["errors"] += figures.pop("non_2xx")
        out[route] = figures
    return out


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of ``values`` (ms)."""
    import numpy as np

    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    a = np.asarray(values)
    return {k: round(float(np.percentile(a, q)), 1) for k, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rebuild", action="store_true", help="build the workspace again")
    parser.add_argument("--build-only", action="store_true", help="build the workspace and stop")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the figures (JSON)")
    parser.add_argument(
        "--client", choices=("auto", "wrk", "httpx"), default="auto", help="load generator (auto: wrk when installed)"
    )
    args = parser.parse_args()

    info = build(args.transactions, rebuild=args.rebuild)
    sys.stderr.write(f"workspace: {info['rows']}; built in {info['build_seconds']}\n")
    if args.build_only:
        return
    inputs = sample_inputs(info)
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    started = time.perf_counter()
    server = start_server(args.port)
    startup = time.perf_counter() - started
    try:
        urls = route_urls(args.port, info["token"], inputs)
        alone = sequential(args.port, info["token"], urls)
        if client == "wrk":
            measured = drive_wrk(args.port, info["token"], args.clients, args.seconds, urls)
        else:
            run = asyncio.run(drive(args.port, info["token"], args.clients, args.seconds, inputs))
            measured = {
                route: {"requests": len(values), **percentiles(values), "errors": len(run["errors"][route])}
                for route, values in run["latencies"].items()
            }
    finally:
        server.terminate()
        server.wait(timeout=60)
    routes = {}
    for route, figures in measured.items():
        routes[route] = {
            **figures,
            "target_p95_ms": TARGETS_MS[route],
            "meets_target": bool(figures["p95"] < TARGETS_MS[route]) and not figures["errors"],
        }
    out = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "workspace": {k: info[k] for k in ("n_transactions", "rows", "analysis_id", "build_seconds")},
        "client": client,
        "clients": args.clients,
        "seconds": args.seconds,
        "server_startup_seconds": round(startup, 1),
        "requests_per_second": round(sum(r["requests"] for r in routes.values()) / args.seconds, 1),
        "routes": routes,
        "one_client_ms": alone,
    }
    out["load_average_during_run"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    sys.stdout.write(f"{'route':<10} {'requests':>9} {'p50':>8} {'p95':>8} {'p99':>8} {'errors':>7}  target p95\n")
    for route, r in routes.items():
        sys.stdout.write(
            f"{route:<10} {r['requests']:>9} {r['p50']:>8} {r['p95']:>8} {r['p99']:>8} {r['errors']:>7}  "
            f"< {r['target_p95_ms']:.0f} ms {'ok' if r['meets_target'] else 'MISSED'}\n"
        )
    for route, r in alone.items():
        sys.stdout.write(f"one client, {route}: p50 {r['p50']} ms, p95 {r['p95']} ms\n")
    sys.stdout.write(f"server start {startup:.1f} s; {out['requests_per_second']} requests/s; wrote {args.out}\n")


if __name__ == "__main__":
    main()
