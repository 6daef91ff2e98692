"""A Spark workspace on a standalone cluster: a master and a worker in their own JVMs, started here.

``analyze`` runs in a separate process (its driver connects to the master; the executor
is launched by the worker, and the CLV scoring runs in the executor's Python workers)
and stores what the analysis of the DuckDB workspace stores.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spark_class() -> Path:
    pyspark = pytest.importorskip("pyspark", reason="the spark extra is not installed")
    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _env(tmp: Path) -> dict[str, str]:
    pythonpath = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return {
        **os.environ,
        "SPARK_HOME": str(_spark_class().parents[1]),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_WORKER_DIR": str(tmp / "work"),
        "SPARK_LOG_DIR": str(tmp / "logs"),
        "PYSPARK_PYTHON": sys.executable,
        "PYTHONPATH": pythonpath,
        # a few shuffle partitions for a few hundred rows (Spark's default, 200, is thousands of tasks)
        "PYSPARK_SUBMIT_ARGS": "--conf spark.sql.shuffle.partitions=2 pyspark-shell",
    }


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``spark://127.0.0.1:<port>`` of a standalone master with one worker (1 core), stopped afterwards."""
    tmp = tmp_path_factory.mktemp("standalone")
    env = _env(tmp)
    port, ui, worker_ui = _free_port(), _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    spark_class = str(_spark_class())
    logs = [open(tmp / name, "wb") for name in ("master.log", "worker.log")]
    started = [
        subprocess.Popen(
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui),
            ],
            env=env,
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        ),  # fmt: skip
        subprocess.Popen(
            [
                spark_class,
                "org.apache.spark.deploy.worker.Worker",
                url,
                "--host",
                "127.0.0.1",
                "--cores",
                "1",
                "--memory",
                "1g",
                "--webui-port",
                str(worker_ui),
            ],
            env=env,
            stdout=logs[1],
            stderr=subprocess.STDOUT,
        ),  # fmt: skip
    ]
    try:
        deadline = time.monotonic() + 120
        while True:  # the master's status page lists the worker once it has registered
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=5) as page:
                    if json.load(page).get("aliveworkers", 0) >= 1:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in started):
                text = b"".join((tmp / n).read_bytes()[-2000:] for n in ("master.log", "worker.log"))
                pytest.fail(f"the standalone master and worker did not start: {text.decode(errors='replace')}")
            time.sleep(1)
        yield url
    finally:
        for process in reversed(started):
            process.terminate()
        for process in reversed(started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


def _custlens(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from custlens.cli import main; sys.exit(main())", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_analyze_on_a_standalone_cluster_equals_duckdb(master: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    from custlens.analysis import analyze, load_analysis
    from custlens.demo import IMPORT_ORDER
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company

    folder = tmp_path_factory.mktemp("cluster-ws")
    files = write_company(folder / "company", n_customers=80, seed=5)
    duck, spark = folder / "duck", folder / "spark"
    with init_workspace(duck) as ws:
        for name in IMPORT_ORDER:
            import_file(ws, files[name], table=name)
        analyze(ws)
    env = _env(folder)
    _custlens(["init", str(spark), "--backend", "spark", "--from", str(duck), "--spark-master", master], env)
    assert f'master = "{master}"' in (spark / "workspace.toml").read_text()
    _custlens(["analyze", "-w", str(spark)], env)  # a driver process; the executor and its Python workers elsewhere
    with load_analysis(duck) as d, load_analysis(spark) as s:
        a = sorted(d.customers().to_pyarrow().to_pylist(), key=lambda r: r["customer_id"])
        b = sorted(s.customers().to_pyarrow().to_pylist(), key=lambda r: r["customer_id"])
        assert len(a) == len(b) > 50
        for x, y in zip(a, b, strict=True):
            assert x.keys() == y.keys()
            for key, value in x.items():
                if isinstance(value, float):
                    assert y[key] == pytest.approx(value, rel=1e-6, nan_ok=True), (key, x["customer_id"])
                else:
                    assert y[key] == value, (key, x["customer_id"])
        for method in d.methods:
            left = d.segments(method).order_by("customer_id").to_pyarrow()
            right = s.segments(method).order_by("customer_id").to_pyarrow()
            assert left.equals(right), method
