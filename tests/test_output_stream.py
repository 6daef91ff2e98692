"""CSV output of engine results streamed batch by batch (cli._common.emit): the same bytes, the same errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from custlens._output import csv_bytes, neutralise
from custlens.cli._common import OutputFormat, emit
from custlens.errors import InputError
from custlens.ingest.readers import scan_table

UTC = dt.UTC


def _result() -> ibis.Table:
    n = 150_000  # more than two batches of 65,536 rows
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    t = ibis.memtable(
        pa.table(
            {
                "customer_id": [f"C{i:06d}" if i % 11 else f"=C{i}" for i in range(n)],
                "at": pa.array([start + dt.timedelta(minutes=i) for i in range(n)], pa.timestamp("us", tz="UTC")),
                "amount": [i / 7 if i % 13 else None for i in range(n)],
            }
        )
    )
    return t.mutate(day=t.at.date(), small=(t.amount.round() % 5).cast("int8"), big=t.amount > 100).order_by(
        "customer_id"
    )


def test_a_streamed_engine_result_has_the_bytes_of_the_whole_table(tmp_path: Path) -> None:
    result = _result()
    out = tmp_path / "out.csv"
    emit(result, OutputFormat.csv, out)
    assert out.read_bytes() == csv_bytes(neutralise(result.to_pyarrow()))


def test_a_streamed_result_to_standard_output(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    result = _result().limit(5)
    emit(result, OutputFormat.csv)
    assert capsysbinary.readouterr().out == csv_bytes(neutralise(result.to_pyarrow()))


def test_an_error_while_the_engine_streams_is_the_files_error_and_leaves_no_file(tmp_path: Path) -> None:
    """A bad line far down a scanned CSV file fails after the first batches were written."""
    src = tmp_path / "tx.csv"
    lines = ["customer_id,amount"] + [f"C{i},{i}.5" for i in range(300_000)] + ["C1,notanumber"]
    src.write_text("\n".join(lines) + "\n")
    t = scan_table(src, text_columns=("customer_id",))
    out = tmp_path / "out.csv"
    with pytest.raises(InputError, match=r"tx\.csv: cannot be read: .*notanumber"):
        emit(t.select("customer_id", doubled=t.amount * 2), OutputFormat.csv, out)  # no order: streamed as read
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tx.csv"]
