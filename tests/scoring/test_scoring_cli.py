"""`custlens segment score`, `custlens playbook`, `custlens report`: thin edges, one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custlens.cli import app

REF = Path(__file__).parent / "reference"
runner = CliRunner()


@pytest.fixture()
def indicators(tmp_path: Path) -> Path:
    p = tmp_path / "ind.csv"
    p.write_text(
        "customer_id,revenue,order_count,recency_days\na,1000,10,5\nb,200,2,100\nc,50,1,400\nd,700,8,30\n",
        encoding="utf-8",
    )
    return p


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_score_entropy_csv(indicators: Path) -> None:
    res = runner.invoke(
        app,
        [
            "segment",
            "score",
            str(indicators),
            "--indicators",
            "revenue,order_count,recency_days",
            "--cost-indicators",
            "recency_days",
            "--entropy",
            "--format",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = _csv(res.stdout)
    assert [r["customer_id"] for r in rows] == ["a", "d", "b", "c"]
    assert list(rows[0])[:4] == ["rank", "customer_id", "score", "tier"]


def test_score_user_weights_and_summary(indicators: Path) -> None:
    res = runner.invoke(
        app,
        [
            "segment",
            "score",
            str(indicators),
            "-i",
            "revenue,recency_days",
            "--cost-indicators",
            "recency_days",
            "--weights",
            "revenue=3,recency_days=1",
            "--summary",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["weights"] == pytest.approx({"revenue": 0.75, "recency_days": 0.25})
    assert out["method"] == "user"


def test_score_ahp_file(indicators: Path, tmp_path: Path) -> None:
    ahp = tmp_path / "ahp.toml"
    ahp.write_text(
        'elements = ["revenue", "order_count"]\n[comparisons]\n"revenue > order_count" = 3\n', encoding="utf-8"
    )
    res = runner.invoke(app, ["segment", "score", str(indicators), "--ahp", str(ahp), "--summary", "-f", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["weights"] == pytest.approx({"revenue": 0.75, "order_count": 0.25})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-i", "revenu", "--entropy"], "did you mean 'revenue'"),
        (["-i", "revenue,order_count", "--weights", "1"], "1 weight(s) given for 2 indicator(s)"),
        (["-i", "revenue", "--entropy", "--weights", "1"], "give one of --weights, --entropy, --ahp"),
        (["-i", "revenue", "--weights", "x"], "every weight must be a number"),
    ],
)
def test_score_errors_are_one_line(indicators: Path, args: list[str], expected: str) -> None:
    res = runner.invoke(app, ["segment", "score", str(indicators), *args])
    assert res.exit_code == 2
    assert expected in " ".join(res.output.split())
    assert "Traceback" not in res.output


def test_score_inconsistent_ahp_exits_2(indicators: Path, tmp_path: Path) -> None:
    ahp = tmp_path / "bad.toml"
    ahp.write_text(
        'elements = ["revenue", "order_count", "recency_days"]\n[comparisons]\n'
        '"revenue > order_count" = 9\n"order_count > recency_days" = 9\n"recency_days > revenue" = 9\n',
        encoding="utf-8",
    )
    res = runner.invoke(app, ["segment", "score", str(indicators), "--ahp", str(ahp)])
    assert res.exit_code == 2 and "inconsistent" in " ".join(res.output.split())
    ok = runner.invoke(
        app, ["segment", "score", str(indicators), "--ahp", str(ahp), "--allow-inconsistent", "-f", "csv"]
    )
    assert ok.exit_code == 0, ok.output


def test_playbook_commands(tmp_path: Path) -> None:
    res = runner.invoke(app, ["playbook", "--scheme", "abc", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert [r["segment"] for r in _csv(res.stdout)] == ["A", "B", "C"]
    seg = tmp_path / "seg.csv"
    seg.write_text("customer_id,segment,email\n1,Champions,x@y.cn\n2,Lost,z@y.cn\n3,Champs,q@y.cn\n", encoding="utf-8")
    check = runner.invoke(app, ["playbook", "--segments", str(seg), "--scheme", "rfm", "--check"])
    assert check.exit_code == 2 and json.loads(check.stdout)["missing"] == ["Champs"]
    applied = runner.invoke(app, ["playbook", "--segments", str(seg), "--scheme", "rfm", "-f", "csv"])
    assert applied.exit_code == 0 and "x@y.cn" not in applied.stdout
    out = tmp_path / "campaign.csv"
    exp = runner.invoke(app, ["playbook", "--segments", str(seg), "--scheme", "rfm", "--export", str(out)])
    assert exp.exit_code == 0, exp.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    strict = runner.invoke(app, ["playbook", "--segments", str(seg), "--scheme", "rfm", "--strict"])
    assert strict.exit_code == 2 and "did you mean 'Champions'" in " ".join(strict.output.split())
    bad = runner.invoke(app, ["playbook", "--scheme", "rmf"])
    assert bad.exit_code == 2 and "did you mean 'rfm'" in " ".join(bad.output.split())


def test_report_command(tmp_path: Path) -> None:
    tx = tmp_path / "tx.csv"
    lines = ["customer_id,order_id,ordered_at,amount"]
    for i in range(60):
        for k in range(1 + i % 4):
            lines.append(f"c{i},o{i}_{k},2024-0{1 + k}-{10 + i % 15},{10 + (i * 7) % 90 + k}")
    tx.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", "--transactions", str(tx), "--as-of", "2024-06-30", "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "<h2>Important customers</h2>" in text and "As of 2024-06-30" in text
    both = runner.invoke(app, ["report", "--out", str(out)])
    assert both.exit_code == 2 and "exactly one of --transactions" in " ".join(both.output.split())


def test_score_from_transactions(tmp_path: Path) -> None:
    tx = tmp_path / "tx.csv"
    tx.write_text(
        "customer_id,order_id,ordered_at,amount\n"
        "a,1,2024-01-05,100\na,2,2024-03-01,50\nb,3,2024-02-01,20\nc,4,2023-06-01,500\n",
        encoding="utf-8",
    )
    res = runner.invoke(
        app,
        [
            "segment",
            "score",
            str(tx),
            "--from-transactions",
            "--as-of",
            "2024-03-31",
            "-i",
            "revenue,order_count,recency_days",
            "--cost-indicators",
            "recency_days",
            "--weights",
            "1,1,1",
            "-f",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = _csv(res.stdout)
    # min-max: a = revenue (150-20)/480, orders 1, recency 1 (30 days); c = 1, 0, 0 (304 days);
    # b = 0, 0, (304-59)/274 = 0.894 -> order a (0.757), c (0.333), b (0.298)
    assert [r["customer_id"] for r in rows] == ["a", "c", "b"]
    assert float(rows[0]["score"]) == pytest.approx((130 / 480 + 1 + 1) / 3)
    bad = runner.invoke(app, ["segment", "score", str(tx), "--as-of", "2024-03-31", "-i", "amount"])
    assert bad.exit_code == 2 and "--as-of applies to" in " ".join(bad.output.split())


def test_score_and_report_on_a_workspace(tmp_path: Path) -> None:
    from custlens.segment import rfm_from_transactions, save_snapshot
    from custlens.warehouse import Workspace

    ws_path = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws_path)]).exit_code == 0
    tx = tmp_path / "tx.csv"
    lines = ["customer_id,order_id,line,ordered_at,amount"]
    for i in range(40):
        for k in range(1 + i % 3):
            lines.append(f"c{i},o{i}_{k},1,2024-0{1 + 3 * k}-{10 + i % 15}T10:00:00Z,{10 + (i * 7) % 90 + k}")
    tx.write_text("\n".join(lines) + "\n", encoding="utf-8")
    imp = runner.invoke(app, ["import", str(tx), "--table", "transactions", "--workspace", str(ws_path)])
    assert imp.exit_code == 0, imp.output
    res = runner.invoke(
        app,
        [
            "segment",
            "score",
            "--workspace",
            str(ws_path),
            "-i",
            "revenue,order_count,recency_days",
            "--cost-indicators",
            "recency_days",
            "--entropy",
            "--as-of",
            "2024-12-31",
            "-f",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.output
    assert len(_csv(res.stdout)) == 40
    with Workspace.open(ws_path) as ws:
        first = save_snapshot(ws.con, rfm_from_transactions(ws.table("transactions"), as_of="2024-05-01"))
        second = save_snapshot(ws.con, rfm_from_transactions(ws.table("transactions"), as_of="2024-12-31"))
    out = tmp_path / "r.html"
    analysed = runner.invoke(app, ["analyze", "--workspace", str(ws_path)])
    assert analysed.exit_code == 0, analysed.output
    rep = runner.invoke(
        app, ["report", "--workspace", str(ws_path), "--snapshots", f"{first},{second}", "--out", str(out)]
    )
    assert rep.exit_code == 0, rep.output
    text = out.read_text(encoding="utf-8")
    assert f"<h2>Migration {first} → {second}</h2>" in text and "<h2>Important customers</h2>" in text
    bad = runner.invoke(app, ["report", "--workspace", str(ws_path), "--snapshots", "x", "--out", str(out)])
    assert bad.exit_code == 2 and "FROM_ID,TO_ID" in " ".join(bad.output.split())


def test_score_two_level_ahp_file(indicators: Path, tmp_path: Path) -> None:
    ahp = tmp_path / "h.toml"
    ahp.write_text(
        'elements = ["value", "activity"]\n'
        '[comparisons]\n"value > activity" = 3\n'
        '[criteria.activity]\nelements = ["order_count", "recency_days"]\nmatrix = [[1, 2], ["1/2", 1]]\n',
        encoding="utf-8",
    )
    res = runner.invoke(
        app,
        [
            "segment",
            "score",
            str(indicators),
            "--ahp",
            str(ahp),
            "-i",
            "value,order_count,recency_days",
            "--summary",
            "-f",
            "json",
        ],
    )
    # 'value' is a leaf criterion here, and not a column: the error names it
    assert res.exit_code == 2 and "'value' is not a column" in " ".join(res.output.split())
    ahp.write_text(
        ahp.read_text(encoding="utf-8").replace('"value"', '"revenue"').replace("value >", "revenue >"),
        encoding="utf-8",
    )
    res = runner.invoke(
        app,
        [
            "segment",
            "score",
            str(indicators),
            "--ahp",
            str(ahp),
            "--cost-indicators",
            "recency_days",
            "--summary",
            "-f",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    # global weights: revenue 3/4; activity 1/4 split 2:1
    assert out["weights"] == pytest.approx({"revenue": 0.75, "order_count": 0.25 * 2 / 3, "recency_days": 0.25 / 3})
    assert set(out["ahp"]["nodes"]) == {"goal", "activity"}
