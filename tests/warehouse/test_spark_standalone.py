"""A Spark workspace on a standalone cluster: a master and a worker in their own JVMs, started here.

The commands run in a separate process (its driver connects to the master; the executor
is launched by the worker, and CLV scoring runs in the executor's Python workers) and
give what the DuckDB workspace gives.
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


def test_analyze_and_cube_on_a_standalone_cluster_equal_duckdb(
    master: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from custlens.demo import IMPORT_ORDER
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company

    folder = tmp_path_factory.mktemp("cluster-ws")
    files = write_company(folder / "company", n_customers=150, seed=5)
    duck, spark = folder / "duck", folder / "spark"
    with init_workspace(duck) as ws:
        for name in IMPORT_ORDER:
            import_file(ws, files[name], table=name)
    env = _env(folder)
    _custlens(["init", str(spark), "--backend", "spark", "--from", str(duck), "--spark-master", master], env)
    assert f'master = "{master}"' in (spark / "workspace.toml").read_text()
    cube = ["cube", "--by", "segment", "--measures", "customers,revenue,clv,p_alive", "--format", "json"]
    out: dict[str, list[dict]] = {}
    for name, path in (("duckdb", duck), ("spark", spark)):
        _custlens(["analyze", "-w", str(path)], env)
        out[name] = json.loads(_custlens([*cube, "-w", str(path)], env))
    assert len(out["duckdb"]) > 2
    assert len(out["spark"]) == len(out["duckdb"])
    for a, b in zip(out["duckdb"], out["spark"], strict=True):
        assert a.keys() == b.keys()
        for key, value in a.items():
            if isinstance(value, float):
                assert b[key] == pytest.approx(value, rel=1e-6), (key, a, b)
            else:
                assert b[key] == value, (key, a, b)
