"""`custlens refresh`: re-import configured sources, store a new analysis and tags, report migration."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import tomli_w
from typer.testing import CliRunner

import custlens
from custlens.cli import app
from custlens.errors import ConfigError, InputError
from custlens.warehouse import Workspace

runner = CliRunner()

UPSERT = ("customers", "receivables")


def flat(text: str) -> str:
    return " ".join(text.split())


def configure(path: Path, section: dict) -> None:
    """Write a [refresh] section into the workspace's settings."""
    doc = tomllib.loads((path / "workspace.toml").read_text(encoding="utf-8"))
    doc["refresh"] = section
    (path / "workspace.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from custlens.synth import write_company

    return write_company(tmp_path_factory.mktemp("company"), n_customers=200, seed=7)


def make_workspace(root: Path, files: dict[str, Path]) -> Path:
    """A keyed workspace whose [refresh] lists every table of the demo company."""
    from custlens.demo import IMPORT_ORDER
    from custlens.privacy import init_workspace

    path = root / "ws"
    init_workspace(path, key_file=root / "workspace.key").close()
    sources = [
        {"table": name, "file": str(files[name]), "mode": "upsert" if name in UPSERT else "append"}
        for name in IMPORT_ORDER
    ]
    configure(path, {"sources": sources})
    return path


@pytest.fixture()
def workspace(tmp_path: Path, company: dict[str, Path]) -> Iterator[Workspace]:
    path = make_workspace(tmp_path, company)
    with Workspace.open(path, key_file=tmp_path / "workspace.key") as ws:
        yield ws


def test_two_refreshes_store_two_analyses_tags_and_the_migration_between_them(
    workspace: Workspace, company: dict[str, Path], tmp_path: Path
) -> None:
    from custlens.analysis import list_analyses
    from custlens.tags import stability, tag_history

    first = custlens.refresh(workspace, as_of="2025-06-30")
    assert [r.status for r in first.imports] == ["loaded"] * 7
    assert first.imports[0].rows_inserted == 200 and first.previous_analysis_id is None and first.migrations == {}
    assert first.analysis_id == "2025-06-30.1" and first.tags["tags"] > 0 and first.tags["assignments"] > 0

    # the ERP exports the customers again with 20 regions changed (same file name, new content)
    customers = pq.read_table(company["customers"])
    moved = pc.less(pa.array(range(customers.num_rows)), 20)
    region = pc.if_else(moved, "moved_region", customers["region"])
    changed = tmp_path / "customers.parquet"
    pq.write_table(customers.set_column(customers.schema.get_field_index("region"), "region", region), changed)
    section = tomllib.loads((workspace.path / "workspace.toml").read_text())["refresh"]
    section["sources"][0]["file"] = "../customers.parquet"  # relative to the workspace folder
    configure(workspace.path, section)
    with Workspace.open(workspace.path, key_file=tmp_path / "workspace.key") as ws:
        second = custlens.refresh(ws, as_of="2025-09-30")
        by_table = {r.table: r for r in second.imports}
        assert (by_table["customers"].rows_updated, by_table["customers"].rows_unchanged) == (20, 180)
        assert all(r.status == "skipped" for t, r in by_table.items() if t != "customers")
        assert second.analysis_id == "2025-09-30.1" and second.previous_analysis_id == "2025-06-30.1"
        assert list_analyses(ws)["analysis_id"].to_pylist() == ["2025-06-30.1", "2025-09-30.1"]
        rfm = second.migrations["rfm"]
        assert (rfm["from"], rfm["to"]) == ("2025-06-30.1/rfm", "2025-09-30.1/rfm")
        assert 0 < rfm["moved"] <= rfm["customers"]
        # the library's migration between the two analyses gives the same count
        from custlens.analysis import load_analysis

        later = load_analysis(ws, analysis_id=second.analysis_id)
        moves = later.migration(first.analysis_id, "rfm").customers.to_pyarrow()
        assert pc.sum(pc.not_equal(moves["from_segment"], moves["to_segment"])).as_py() == rfm["moved"]
        # tags: two applications, and their migration (stability) between the two dates
        assert tag_history(ws)["as_of"].to_pylist()[-2:] == [first.as_of, second.as_of]
        assert stability(ws, first.as_of, second.as_of).num_rows == second.tags["tags"]
        old = ws.raw.execute("SELECT count(*) FROM customers_history WHERE valid_to IS NOT NULL").fetchall()[0][0]
        assert old == 20


def test_refresh_needs_a_refresh_section(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        with pytest.raises(ConfigError, match=r"no sources to refresh; add a \[\[refresh.sources\]\] entry"):
            custlens.refresh(ws)
    result = runner.invoke(app, ["refresh", "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "[[refresh.sources]]" in flat(result.output)
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"table": "orders", "file": "x.csv"}, "'table' must be one of customers"),
        ({"table": "transactions", "file": "x.csv", "mode": "upsert"}, "'mode' 'upsert' is supported for"),
        ({"table": "customers", "file": "x.csv", "mode": "merge"}, "'mode' must be 'append' or 'upsert'; got 'merge'"),
        ({"table": "customers", "fiel": "x.csv"}, "unknown key 'fiel'; did you mean 'file'?"),
        ({"table": "customers"}, "'file' is missing"),
        ({"table": "customers", "file": "x.csv", "max_reject_rate": 2}, "'max_reject_rate' must be a number"),
    ],
)
def test_bad_sources_are_named(tmp_path: Path, entry: dict, message: str) -> None:
    path = tmp_path / "ws"
    Workspace.init(path).close()
    configure(path, {"sources": [entry]})
    with Workspace.open(path) as ws, pytest.raises(ConfigError, match=r"#1: .*" + message.replace("[", r"\[")):
        custlens.refresh(ws)


def test_a_missing_file_imports_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    Workspace.init(path).close()
    (path.parent / "c.csv").write_text("customer_id,customer_type\nc1,personal\n")
    configure(
        path, {"sources": [{"table": "customers", "file": "../c.csv"}, {"table": "transactions", "file": "t.csv"}]}
    )
    with Workspace.open(path) as ws:
        with pytest.raises(InputError, match=r"t.csv: no such file \(source for table 'transactions'"):
            custlens.refresh(ws)
        assert ws.row_counts()["customers"] == 0


def test_refresh_command_prints_the_summary(tmp_path: Path, company: dict[str, Path]) -> None:
    path = make_workspace(tmp_path, company)
    key = str(tmp_path / "workspace.key")
    result = runner.invoke(app, ["refresh", "-w", str(path), "-k", key, "--as-of", "2025-06-30", "-f", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["analysis_id"] == "2025-06-30.1" and len(summary["sources"]) == 7
    assert summary["sources"][0]["rows_inserted"] == 200 and summary["tags"]["tags"] > 0
    result = runner.invoke(app, ["refresh", "-w", str(path), "-k", key, "--as-of", "2025-07-31"])
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    assert (
        "customers" in text
        and "unchanged" in text
        and "2025-07-31.1" in text
        and "segment migration since 2025-06-30.1" in text
    )
    assert "refresh" in runner.invoke(app, ["--help"]).output
