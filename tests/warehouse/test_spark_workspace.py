"""A workspace on Spark: analyze, cube and tags give what they give on the DuckDB workspace it came from."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from custlens.cli import app

SPARK = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

#: Relative tolerance of floating-point results: sums added in another order (Spark's
#: partitions, DuckDB's threads) may differ in the last bits, and a model fitted on them in
#: the last digits of its estimates.
REL = 1e-6


def _cli(argv: list[str]) -> Any:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--format" in argv else None


@pytest.fixture(scope="module")
def workspaces(spark_session: object, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo company (300 customers) in a DuckDB workspace and in a Spark workspace made from it,
    each analysed and tagged by the CLI."""
    from custlens.demo import IMPORT_ORDER
    from custlens.ingest import import_file
    from custlens.privacy import init_workspace
    from custlens.synth import write_company

    folder = tmp_path_factory.mktemp("spark-ws")
    files = write_company(folder / "company", n_customers=300, seed=11)
    duck, spark = folder / "duck", folder / "spark"
    with init_workspace(duck) as ws:
        for name in IMPORT_ORDER:
            import_file(ws, files[name], table=name)
    _cli(["init", str(spark), "--backend", "spark", "--from", str(duck)])
    for path in (duck, spark):
        _cli(["analyze", "-w", str(path)])
        _cli(["tags", "apply", "-w", str(path)])
    return duck, spark


def _same(a: Any, b: Any, where: str) -> None:
    """``a`` equals ``b``: floats within :data:`REL`, everything else exactly."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return
        assert b == pytest.approx(a, rel=REL, abs=1e-9), where
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


def _rows(table: Any, key: list[str]) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: tuple(str(r[k]) for k in key))


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_the_spark_workspace_reads_parquet_on_spark(workspaces: tuple[Path, Path]) -> None:
    from custlens.warehouse import Workspace

    duck, spark = workspaces
    with Workspace.open(spark) as ws:
        assert ws.backend == "spark"
        assert ws.engine.name == "pyspark"
        assert ws.table("transactions").count().to_pyarrow().as_py() > 1000
        assert ws.table("identity").count().to_pyarrow().as_py() == 0  # personal data was not exported
    assert sorted(p.name for p in (spark / "tables").iterdir()) == sorted(
        f"{n}.parquet" for n in ("customers", "transactions", "receivables", "interactions", "leads", "survey_answers")
    )


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_analyze_on_spark_equals_duckdb(workspaces: tuple[Path, Path]) -> None:
    from custlens.analysis import load_analysis

    duck, spark = workspaces
    with load_analysis(duck) as d, load_analysis(spark) as s:
        assert s.analysis_id == d.analysis_id
        _same({r: m["params"] for r, m in d.models.items()}, {r: m["params"] for r, m in s.models.items()}, "models")
        _same(d.details, s.details, "details")
        assert s.skipped == d.skipped
        _same(
            _rows(d.customers().to_pyarrow(), ["customer_id"]),
            _rows(s.customers().to_pyarrow(), ["customer_id"]),
            "customers",
        )
        assert s.result_names == d.result_names
        for name in d.result_names:
            a, b = d.result(name), s.result(name)
            assert a.schema == b.schema, name
            _same(_rows(a, a.column_names), _rows(b, b.column_names), name)
        assert s.methods == d.methods
        for method in d.methods:
            _same(
                _rows(d.segments(method).to_pyarrow(), ["customer_id"]),
                _rows(s.segments(method).to_pyarrow(), ["customer_id"]),
                method,
            )


CUBES = {
    "segments": ["--by", "region,segment", "--measures", "revenue,orders,customers,clv,p_alive"],
    "sliced": ["--by", "quarter,category", "--where", "channel = 'web' and risk_band != 'low'", "--subtotals", "cube"],
    "scheme": ["--scheme", "hsbc"],
}


@pytest.mark.parametrize("cube", [pytest.param(name, marks=SPARK) for name in CUBES])
def test_cube_on_spark_equals_duckdb(workspaces: tuple[Path, Path], cube: str) -> None:
    duck, spark = workspaces
    argv = ["cube", *CUBES[cube], "--format", "json"]
    on_duckdb = _cli([*argv, "-w", str(duck)])
    on_spark = _cli([*argv, "-w", str(spark)])
    assert len(on_duckdb) > 3
    _same(on_duckdb, on_spark, cube)


TAGS = {"list": ["tags", "list"], "coverage": ["tags", "coverage"], "overlap": ["tags", "overlap"]}


@pytest.mark.parametrize("command", [pytest.param(name, marks=SPARK) for name in TAGS])
def test_tags_on_spark_equal_duckdb(workspaces: tuple[Path, Path], command: str) -> None:
    duck, spark = workspaces
    argv = [*TAGS[command], "--format", "json"]
    on_duckdb = _cli([*argv, "-w", str(duck)])
    assert on_duckdb
    _same(on_duckdb, _cli([*argv, "-w", str(spark)]), command)


def test_settings_of_a_spark_workspace_round_trip(tmp_path: Path) -> None:
    from custlens.warehouse import WorkspaceSettings

    settings = WorkspaceSettings(backend="spark", spark_tables="hdfs://nn/shop", spark_master="spark://head:7077")
    doc = settings.to_toml()
    assert doc["workspace"]["backend"] == "spark"
    assert doc["spark"] == {"tables": "hdfs://nn/shop", "master": "spark://head:7077"}
    back = WorkspaceSettings.from_toml(doc, tmp_path / "workspace.toml")
    assert (back.backend, back.spark_tables, back.spark_master, back.spark_remote) == (
        "spark",
        "hdfs://nn/shop",
        "spark://head:7077",
        "",
    )
    assert "backend" not in WorkspaceSettings().to_toml()["workspace"]  # DuckDB workspaces are written as before


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"workspace": {"backend": "oracle"}}, "[workspace] backend must be one of duckdb, spark; got 'oracle'"),
        ({"workspace": {"backend": "spark"}, "spark": {"tables": " "}}, "[spark] tables must name the folder"),
        (
            {"workspace": {"backend": "spark"}, "spark": {"master": "local[2]", "remote": "sc://h:15002"}},
            "exclude each other",
        ),
    ],
)
def test_bad_spark_settings_name_the_file_and_the_value(tmp_path: Path, doc: dict[str, Any], message: str) -> None:
    from custlens.errors import ConfigError
    from custlens.warehouse import WorkspaceSettings

    with pytest.raises(ConfigError) as info:
        WorkspaceSettings.from_toml(doc, tmp_path / "workspace.toml")
    assert message in str(info.value) and "workspace.toml" in str(info.value)


def test_init_spark_needs_a_source_workspace(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path / "w"), "--backend", "spark"])
    assert result.exit_code != 0
    assert "--from" in result.output
    assert not (tmp_path / "w").exists()


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_analyze_on_spark_fetched_in_parts_equals_duckdb(
    workspaces: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # at 10M customers the stored table (~4 GB) passes Spark's result limit (1 GiB by
    # default): it comes to the driver in parts; here parts of about 100 buyers
    import shutil

    from custlens.analysis import _pipeline, load_analysis
    from custlens.warehouse import compat

    duck, spark = workspaces
    copy = tmp_path / "spark"
    shutil.copytree(spark, copy)
    monkeypatch.setattr(compat, "driver_result_limit", lambda expr: 100 * _pipeline.STORED_ROW_BYTES * 4)
    seen: list[int] = []
    counted = _pipeline.Pipeline.customers_parts

    def parts(self: Any, limit: int | None) -> int:
        seen.append(counted(self, limit))
        return seen[-1]

    monkeypatch.setattr(_pipeline.Pipeline, "customers_parts", parts)
    _cli(["analyze", "-w", str(copy)])
    assert seen and seen[-1] > 1
    with load_analysis(duck) as d, load_analysis(copy) as s:
        _same(
            _rows(d.customers().to_pyarrow(), ["customer_id"]),
            _rows(s.customers().to_pyarrow(), ["customer_id"]),
            "customers",
        )


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_the_fetch_limit_is_sparks_result_limit(workspaces: tuple[Path, Path]) -> None:
    from custlens.warehouse import Workspace
    from custlens.warehouse.compat import driver_result_limit

    duck, spark = workspaces
    with Workspace.open(spark) as ws:
        assert driver_result_limit(ws.table("customers")) == 2**30  # Spark's default, 1g
    with Workspace.open(duck) as ws:
        assert driver_result_limit(ws.table("customers")) is None
