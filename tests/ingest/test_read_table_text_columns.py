"""read_table keeps identifier columns as written when asked (leading zeros survive)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from custlens.cli import app
from custlens.ingest import read_table


def test_text_columns_keep_leading_zeros(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,amount\n00042,1.5\n00007,2\n", encoding="utf-8")
    table = read_table(path, text_columns=("customer_id", "absent"))
    assert table["customer_id"].to_pylist() == ["00042", "00007"]
    assert pa.types.is_floating(table.schema.field("amount").type)
    assert read_table(path)["customer_id"].to_pylist() == [42, 7]  # inference without the option


def test_text_columns_cast_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"customer_id": [1, 2], "x": [0.5, 1.0]}), path)
    assert read_table(path, text_columns=("customer_id",))["customer_id"].to_pylist() == ["1", "2"]


def test_summary_and_rfm_agree_on_ids(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text(
        "customer,date,amount\n00042,2024-01-01,10\n00042,2024-02-01,20\n00007,2024-01-15,5\n", encoding="utf-8"
    )
    common = [
        str(path),
        "--customer-col",
        "customer",
        "--date-col",
        "date",
        "--amount-col",
        "amount",
        "--format",
        "csv",
    ]
    summary = CliRunner().invoke(app, ["summary", *common])
    rfm = CliRunner().invoke(app, ["segment", "rfm", *common])
    assert summary.exit_code == 0 and rfm.exit_code == 0, summary.output + rfm.output
    assert '"00042"' in summary.stdout and '"00042"' in rfm.stdout
