"""A Spark workspace over Spark Connect: a Connect server started here, the commands run as clients.

The server is ``SparkConnectServer`` from the jar pyspark ships (``spark-submit --class
org.apache.spark.sql.connect.service.SparkConnectServer``) on ``local[2]``; each command
runs in its own process with ``[spark] remote = "sc://127.0.0.1:<port>"`` (no JVM in the
client) and gives what it gives on the DuckDB workspace the Spark one was made from.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from custlens.cli import app

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.xdist_group("spark")]

SRC = Path(__file__).resolve().parents[2] / "src"
#: Relative tolerance of floating-point results (sums in another order; see test_spark_workspace.py).
REL = 1e-6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    pythonpath = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": pythonpath}


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``sc://127.0.0.1:<port>`` of a Spark Connect server on ``local[2]``, stopped afterwards."""
    pyspark = pytest.importorskip("pyspark", reason="the spark extra is not installed")
    for module in ("grpc", "grpc_status", "google.rpc"):
        pytest.importorskip(module, reason="Spark Connect's client needs pyspark[connect] (the spark extra)")
    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    port = _free_port()
    log_path = tmp_path_factory.mktemp("connect") / "server.log"
    conf = {
        "spark.connect.grpc.binding.port": str(port),
        "spark.sql.shuffle.partitions": "2",
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
    }
    argv = [str(submit), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer", "--master", "local[2]"]
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    with open(log_path, "wb") as log:
        server = subprocess.Popen([*argv, "spark-internal"], env=_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180
            while b"Spark Connect server started" not in log_path.read_bytes():
                if time.monotonic() > deadline or server.poll() is not None:
                    tail = log_path.read_bytes()[-3000:].decode(errors="replace")
                    pytest.fail(f"the Spark Connect server did not start: {tail}")
                time.sleep(1)
            yield f"sc://127.0.0.1:{port}"
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()


@pytest.fixture(scope="module")
def workspaces(remote: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo company (300 customers) in a DuckDB workspace, analysed, and a Spark workspace on ``remote``."""
    from custlens.analysis import analyze
    from custlens.demo import IMPORT_ORDER
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company
    from custlens.warehouse import spark_workspace

    folder = tmp_path_factory.mktemp("connect-ws")
    files = write_company(folder / "company", n_customers=300, seed=11)
    duck, spark = folder / "duck", folder / "spark"
    with init_workspace(duck) as ws:
        for name in IMPORT_ORDER:
            import_file(ws, files[name], table=name)
        analyze(ws)
    spark_workspace(duck, spark, remote=remote).close()
    assert f'remote = "{remote}"' in (spark / "workspace.toml").read_text()
    return duck, spark


def _client(argv: list[str]) -> str:
    """``custlens ARGV`` in a process of its own: a Spark Connect client, no JVM."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from custlens.cli import main; sys.exit(main())", *argv],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _local(argv: list[str]) -> Any:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=REL, abs=1e-9, nan_ok=True), where
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


COMMANDS = {
    "summary": ["summary", "--format", "json", "-w"],
    "segment rfm": ["segment", "rfm", "--format", "json", "-w"],
    "clv": ["clv", "--format", "json", "-w"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_command_over_connect_equals_duckdb(workspaces: tuple[Path, Path], command: str) -> None:
    duck, spark = workspaces
    argv = COMMANDS[command]
    on_duckdb = _local([*argv, str(duck)])
    assert len(on_duckdb) > 50
    _same(on_duckdb, json.loads(_client([*argv, str(spark)])), command)


def test_analyze_over_connect_equals_duckdb(workspaces: tuple[Path, Path]) -> None:
    """Every stored column and segment, k-means included (Lloyd's iterations in Spark SQL over Connect)."""
    from custlens.analysis import load_analysis

    duck, spark = workspaces
    _client(["analyze", "-w", str(spark)])
    with load_analysis(duck) as d, load_analysis(spark) as s:
        assert "cluster" in d.methods and s.methods == d.methods
        _same({r: m["params"] for r, m in d.models.items()}, {r: m["params"] for r, m in s.models.items()}, "models")
        a = sorted(d.customers().to_pyarrow().to_pylist(), key=lambda r: r["customer_id"])
        b = sorted(s.customers().to_pyarrow().to_pylist(), key=lambda r: r["customer_id"])
        _same(a, b, "customers")
        for method in d.methods:
            left = d.segments(method).order_by("customer_id").to_pyarrow()
            right = s.segments(method).order_by("customer_id").to_pyarrow()
            assert left.equals(right), method


def test_kmeans_with_k_given_runs_over_connect(workspaces: tuple[Path, Path]) -> None:
    """With ``--k`` the fit is ``pyspark.ml.clustering.KMeans`` (k-means||), not MLlib's RDD API: it runs
    over Connect and clusters every customer DuckDB clusters (its clusters may differ from scikit-learn's)."""
    duck, spark = workspaces
    argv = ["segment", "cluster", "--k", "3", "--feature", "order_count", "--feature", "revenue", "--profile"]
    argv += ["--format", "json", "-w"]
    on_duckdb = _local([*argv, str(duck)])
    over_connect = json.loads(_client([*argv, str(spark)]))
    assert [r["cluster"] for r in over_connect] == [1, 2, 3]
    assert sum(r["customers"] for r in over_connect) == sum(r["customers"] for r in on_duckdb) > 50
    assert all(r["customers"] > 0 for r in over_connect)
