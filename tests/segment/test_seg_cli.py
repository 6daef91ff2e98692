"""The `custlens segment ...` commands, including the scripted RFM form."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custlens.cli import app

RFM_HEADER = ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"]


@pytest.fixture
def tx_file(tmp_path: Path) -> Path:
    path = tmp_path / "tx.csv"
    path.write_text(
        "C,D,A\n"
        "a,2024-01-01,10\na,2024-03-01,20\nb,2024-02-01,5\n"
        "c,2024-01-05,7\nc,2024-02-05,8\nc,2024-03-05,9\nd,2023-06-01,100\ne,2024-03-10,1\n",
        encoding="utf-8",
    )
    return path


def _run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_rfm_scripted_form(tx_file: Path) -> None:
    res = _run(
        "segment",
        "rfm",
        str(tx_file),
        "--customer-col",
        "C",
        "--date-col",
        "D",
        "--amount-col",
        "A",
        "--end",
        "2024-03-31",
        "--bins",
        "5",
        "--format",
        "csv",
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == RFM_HEADER
    body = {r[0]: r for r in rows[1:]}
    assert len(body) == 5
    assert body["a"][1:4] == ["30", "2", "30"]
    assert body["d"][1:4] == ["304", "1", "100"]


def test_rfm_with_a_map_and_gb18030(tx_file: Path, tmp_path: Path) -> None:
    seg_map = tmp_path / "map.toml"
    seg_map.write_text('fallback = "其他"\n[[segment]]\nname = "活跃"\nr = [4, 5]\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    res = _run(
        "segment",
        "rfm",
        str(tx_file),
        "--customer-col",
        "C",
        "--date-col",
        "D",
        "--amount-col",
        "A",
        "--end",
        "2024-03-31",
        "--map",
        str(seg_map),
        "--format",
        "csv",
        "--encoding",
        "gb18030",
        "--output",
        str(out),
    )
    assert res.exit_code == 0, res.output
    text = out.read_bytes().decode("gb18030")
    assert "活跃" in text and "其他" in text


def test_rfm_exports_xlsx_and_parquet(tx_file: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    xlsx = tmp_path / "rfm.xlsx"
    res = _run(
        "segment",
        "rfm",
        str(tx_file),
        "--customer-col",
        "C",
        "--date-col",
        "D",
        "--amount-col",
        "A",
        "--export",
        str(xlsx),
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["customers", "summary"]
    assert [c.value for c in wb["customers"][1]] == RFM_HEADER
    pqf = tmp_path / "rfm.parquet"
    res = _run(
        "segment",
        "rfm",
        str(tx_file),
        "--customer-col",
        "C",
        "--date-col",
        "D",
        "--amount-col",
        "A",
        "--export",
        str(pqf),
        "--summary",
    )
    assert res.exit_code == 0, res.output
    assert pq.read_table(pqf).num_rows == 5
    assert "customers" in pq.read_table(tmp_path / "rfm_summary.parquet").column_names


def test_csv_with_bom_for_excel(tx_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "bom.csv"
    res = _run(
        "segment",
        "rfm",
        str(tx_file),
        "--customer-col",
        "C",
        "--date-col",
        "D",
        "--amount-col",
        "A",
        "--format",
        "csv",
        "--encoding",
        "utf-8-sig",
        "-o",
        str(out),
    )
    assert res.exit_code == 0, res.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--date-col", "d"], "did you mean 'D'"),
        (["--date-col", "D", "--bins", "1"], "--bins must be an integer from 2 to 10"),
        (["--date-col", "D", "--end", "31/03/2024"], "must be a date (ISO like 2024-01-31"),
    ],
)
def test_rfm_user_errors_are_one_line(tx_file: Path, extra: list[str], message: str) -> None:
    res = _run("segment", "rfm", str(tx_file), "--customer-col", "C", "--amount-col", "A", *extra)
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())
    assert "Traceback" not in res.output


FEATURES = (
    "customer_id,order_count,avg_order_value,revenue,potential_value,recency_days\n"
    "a,1,10,10,5,300\nb,2,60,120,1,20\nc,3,20,60,9,40\nd,4,50,200,2,10\ne,5,30,150,8,5\nf,6,40,240,3,1\n"
)


@pytest.fixture
def feat_file(tmp_path: Path) -> Path:
    path = tmp_path / "features.csv"
    path.write_text(FEATURES, encoding="utf-8")
    return path


def _csv(res) -> list[dict[str, str]]:
    assert res.exit_code == 0, res.output
    return list(csv.DictReader(io.StringIO(res.stdout)))


def test_abc_pyramid_pareto_and_concentration(feat_file: Path) -> None:
    rows = _csv(_run("segment", "abc", str(feat_file), "--format", "csv"))
    assert {r["customer_id"]: r["segment"] for r in rows}["f"] == "A"
    summ = _csv(_run("segment", "pyramid", str(feat_file), "--summary", "--format", "csv"))
    assert summ[0]["segment"] == "VIP" and summ[0]["segment_zh"] == "VIP客户"
    curve = _csv(_run("segment", "abc", str(feat_file), "--pareto", "--format", "csv"))
    assert curve[0]["customer_share"] == "0" and float(curve[-1]["value_share"]) == pytest.approx(1.0)
    res = _run("segment", "pyramid", str(feat_file), "--concentration", "--format", "json")
    assert res.exit_code == 0 and '"gini"' in res.stdout


def test_value_and_clv_matrix(feat_file: Path) -> None:
    rows = _csv(_run("segment", "value-matrix", str(feat_file), "--format", "csv"))
    assert {r["customer_id"]: r["segment"] for r in rows}["d"] == "best"
    rows = _csv(_run("segment", "clv-matrix", str(feat_file), "--format", "csv"))
    assert {r["customer_id"]: r["alias"] for r in rows}["e"] == "gold"
    res = _run("segment", "clv-matrix", str(feat_file), "--potential-col", "clv")
    assert res.exit_code == 2 and "'clv'" in res.output


def test_rules_command_and_rule_errors(feat_file: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "big"\nwhen = "revenue >= 150"\n', encoding="utf-8")
    rows = _csv(_run("segment", "rules", str(feat_file), "--rules", str(rules), "--format", "csv"))
    assert sorted(r["customer_id"] for r in rows if r["segment"] == "big") == ["d", "e", "f"]
    rules.write_text('[[rule]]\nname = "big"\nwhen = "revenue >= "\n', encoding="utf-8")
    res = _run("segment", "rules", str(feat_file), "--rules", str(rules))
    assert res.exit_code == 2 and "rule 'big'" in res.output and "position" in res.output


def test_state_lifecycle_cluster_and_migrate(tx_file: Path, tmp_path: Path) -> None:
    common = ["--customer-col", "C", "--date-col", "D", "--amount-col", "A", "--end", "2024-03-31"]
    db = tmp_path / "snaps.duckdb"
    rows = _csv(_run("segment", "state", str(tx_file), *common, "--save-snapshot", str(db), "--format", "csv"))
    states = {r["customer_id"]: r["segment"] for r in rows}
    assert states["c"] == "repeat" and states["d"] == "first_time"
    flow = _csv(
        _run(
            "segment",
            "state",
            str(tx_file),
            "--customer-col",
            "C",
            "--date-col",
            "D",
            "--amount-col",
            "A",
            "--flow-from",
            "2024-01-31",
            "--end",
            "2024-03-31",
            "--format",
            "csv",
        )
    )
    assert sum(int(r["customers"]) for r in flow) == 5
    rows = _csv(_run("segment", "lifecycle", str(tx_file), *common, "--format", "csv"))
    assert {r["customer_id"] for r in rows} == set("abcde")
    rows = _csv(
        _run(
            "segment",
            "cluster",
            str(tx_file),
            *common,
            "--from-transactions",
            "--k",
            "2",
            "--save-snapshot",
            str(db),
            "--format",
            "csv",
        )
    )
    assert {r["segment"] for r in rows} == {"cluster 1", "cluster 2"}
    snaps = _csv(_run("segment", "migrate", "--db", str(db), "--list", "--format", "csv"))
    assert [s["method"] for s in snaps] == ["state", "cluster"]
    mig = _csv(
        _run("segment", "migrate", snaps[0]["snapshot_id"], snaps[1]["snapshot_id"], "--db", str(db), "--format", "csv")
    )
    assert sum(int(r["customers"]) for r in mig) == 5
    moves = _csv(
        _run(
            "segment",
            "migrate",
            snaps[0]["snapshot_id"],
            snaps[1]["snapshot_id"],
            "--db",
            str(db),
            "--customers",
            "--format",
            "csv",
        )
    )
    assert len(moves) == 5
    res = _run("segment", "migrate", "nope", snaps[1]["snapshot_id"], "--db", str(db))
    assert res.exit_code == 2 and "no snapshot 'nope'" in res.output


def test_commands_read_a_workspace(tmp_path: Path) -> None:
    import ibis

    from custlens.synth import generate_company
    from custlens.warehouse import Workspace

    company = generate_company(120, seed=5)
    ws = Workspace.init(tmp_path / "ws")
    for name in ("customers", "transactions", "leads"):
        ws.con.insert(name, ibis.memtable(getattr(company, name)))
    ws.close()
    w = str(tmp_path / "ws")
    rows = _csv(_run("segment", "rfm", "--workspace", w, "--format", "csv"))
    assert rows and set(rows[0]) == set(RFM_HEADER)
    summ = _csv(_run("segment", "state", "--workspace", w, "--summary", "--format", "csv"))
    assert {"potential", "non_customer"} & {r["segment"] for r in summ}
    assert all(r["value"] != "" for r in summ)  # leads add 0 to the value
    tiers = _csv(_run("segment", "pyramid", "--workspace", w, "--format", "csv"))
    assert len(tiers) == 120  # every customer of the warehouse, buyers or not
