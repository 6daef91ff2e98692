"""The `custlens segment ...` commands, including the scripted RFM form."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custlens.cli import app

RFM_HEADER = ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score",
              "m_score", "segment"]


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
    res = _run("segment", "rfm", str(tx_file), "--customer-col", "C", "--date-col", "D",
               "--amount-col", "A", "--end", "2024-03-31", "--bins", "5", "--format", "csv")
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
    res = _run("segment", "rfm", str(tx_file), "--customer-col", "C", "--date-col", "D",
               "--amount-col", "A", "--end", "2024-03-31", "--map", str(seg_map), "--format", "csv",
               "--encoding", "gb18030", "--output", str(out))
    assert res.exit_code == 0, res.output
    text = out.read_bytes().decode("gb18030")
    assert "活跃" in text and "其他" in text


def test_rfm_exports_xlsx_and_parquet(tx_file: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    xlsx = tmp_path / "rfm.xlsx"
    res = _run("segment", "rfm", str(tx_file), "--customer-col", "C", "--date-col", "D",
               "--amount-col", "A", "--export", str(xlsx), "--format", "json")
    assert res.exit_code == 0, res.output
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["customers", "summary"]
    assert [c.value for c in wb["customers"][1]] == RFM_HEADER
    pqf = tmp_path / "rfm.parquet"
    res = _run("segment", "rfm", str(tx_file), "--customer-col", "C", "--date-col", "D",
               "--amount-col", "A", "--export", str(pqf), "--summary")
    assert res.exit_code == 0, res.output
    assert pq.read_table(pqf).num_rows == 5
    assert "customers" in pq.read_table(tmp_path / "rfm_summary.parquet").column_names


def test_csv_with_bom_for_excel(tx_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "bom.csv"
    res = _run("segment", "rfm", str(tx_file), "--customer-col", "C", "--date-col", "D",
               "--amount-col", "A", "--format", "csv", "--encoding", "utf-8-sig", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--date-col", "d"], "did you mean 'D'"),
        (["--date-col", "D", "--bins", "1"], "'bins' must be an integer from 2 to 10"),
        (["--date-col", "D", "--end", "31/03/2024"], "YYYY-MM-DD"),
    ],
)
def test_rfm_user_errors_are_one_line(tx_file: Path, extra: list[str], message: str) -> None:
    res = _run("segment", "rfm", str(tx_file), "--customer-col", "C", "--amount-col", "A", *extra)
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())
    assert "Traceback" not in res.output
