"""Issue 10, defects 2 and 3: exports cannot carry live formulas, outputs cannot overwrite anything."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from custlens.cli import app
from custlens.errors import InputError
from custlens.playbook import export_campaign, load_playbook
from custlens.segment.export import write_export
from custlens.warehouse import Workspace

HOSTILE = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\tx=1", "\r=1"]


def _tx(path: Path) -> Path:
    lines = ["customer_id,ordered_at,amount"]
    for i, cid in enumerate(HOSTILE + ["plain"]):
        q = '"' + cid.replace('"', '""') + '"'
        lines += [f"{q},2024-0{1 + i % 6}-01,{10 + i}", f"{q},2024-0{2 + i % 6}-15,{5 + i}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def _defused(cells: list[str]) -> None:
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), repr(cell)


def test_segment_export_and_csv_output_defuse_formulas(tmp_path: Path) -> None:
    src = _tx(tmp_path / "tx.csv")
    out, export = tmp_path / "out.csv", tmp_path / "seg.csv"
    result = CliRunner().invoke(
        app,
        ["segment", "rfm", str(src), "--end", "2024-12-31", "--format", "csv", "-o", str(out), "--export", str(export)],
    )
    assert result.exit_code == 0, result.output
    for path in (out, export):
        cells = _cells(path.read_text(encoding="utf-8-sig"))
        assert '\'=HYPERLINK("http://evil","x")' in cells and "'@SUM(1+1)" in cells
        _defused(cells)


def test_xlsx_cells_are_strings_never_formulas(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    write_export(path, {"customers": pa.table({"customer_id": HOSTILE, "v": list(range(len(HOSTILE)))})})
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and 't="inlineStr"' in sheet
    from openpyxl import load_workbook

    values = [c.value for c in next(load_workbook(path).active.iter_cols(min_col=1, max_col=1, min_row=2))]
    assert values[:5] == HOSTILE[:5]  # the text as it was, typed as text (XML reads a lone CR as LF)


def test_campaign_export_defuses_formulas(tmp_path: Path) -> None:
    out = tmp_path / "campaign.csv"
    export_campaign(
        {"customer_id": HOSTILE, "segment": ["champions"] * len(HOSTILE)}, load_playbook(), out, scheme="rfm"
    )
    cells = _cells(out.read_text(encoding="utf-8-sig"))
    _defused(cells)
    assert "'+cmd|' /C calc'!A0" in cells


def test_import_keeps_a_leading_tab_that_defuses_a_value_upstream(tmp_path: Path) -> None:
    from custlens.ingest import import_file

    src = tmp_path / "c.csv"
    src.write_text('customer_id,customer_type,city\nk1,personal,"\t=1+1"\nk2,personal,  Paris  \n', encoding="utf-8")
    with Workspace.init(tmp_path / "ws") as ws:
        import_file(ws, src, table="customers")
        cities = dict(ws.raw.execute("SELECT customer_id, city FROM customers").fetchall())
    assert cities == {"k1": "\t=1+1", "k2": "Paris"}


def test_outputs_never_replace_workspace_files_inputs_or_existing_files(tmp_path: Path) -> None:
    src = _tx(tmp_path / "tx.csv")
    Workspace.init(tmp_path / "ws").close()
    db = tmp_path / "ws" / "warehouse.duckdb"
    before = db.read_bytes()
    base = ["segment", "rfm", str(src), "--end", "2024-12-31"]
    cases = {
        "--output into the database": [*base, "--format", "csv", "-o", str(db)],
        "--export over workspace.toml": [*base, "--export", str(tmp_path / "ws" / "workspace.toml")],
        "--output over the input": [*base, "--format", "csv", "-o", str(src)],
        "--export over the input": [*base, "--export", str(src)],
    }
    for what, args in cases.items():
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (what, result.output)
        assert result.output.startswith("error:") and "Traceback" not in result.output, what
    assert db.read_bytes() == before
    assert src.read_text(encoding="utf-8").startswith("customer_id")
    existing = tmp_path / "old.csv"
    existing.write_text("keep me\n")
    result = CliRunner().invoke(app, [*base, "--format", "csv", "-o", str(existing)])
    assert result.exit_code == 2 and "already exists" in result.output
    assert existing.read_text() == "keep me\n"
    # into the workspace's exports/ folder is allowed
    (tmp_path / "ws" / "exports").mkdir()
    ok = CliRunner().invoke(app, [*base, "--format", "csv", "-o", str(tmp_path / "ws" / "exports" / "rfm.csv")])
    assert ok.exit_code == 0, ok.output


def test_library_exports_refuse_the_same_targets(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    with pytest.raises(InputError, match="inside the custlens workspace"):
        write_export(tmp_path / "ws" / "quarantine" / "x.csv", {"c": pa.table({"a": [1]})})
    out = tmp_path / "c.csv"
    out.write_text("old")
    with pytest.raises(InputError, match="already exists; give overwrite=True"):
        export_campaign({"customer_id": ["a"], "segment": ["champions"]}, load_playbook(), out, scheme="rfm")
    assert out.read_text() == "old"
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
