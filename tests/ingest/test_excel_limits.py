"""Issue 10, defect 6: Excel bombs are refused with a clear error before they are inflated."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from custlens.errors import InputError
from custlens.ingest import import_file, read_table
from custlens.ingest.excel import check_workbook
from custlens.warehouse import Workspace

_CT = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WB = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def _xlsx(path: Path, rows: int, cell: str = "") -> Path:
    """A minimal workbook streamed to disk: a header and ``rows`` rows (or one row with ``cell``)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WB)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            part.write(
                b'<row r="1"><c r="A1" t="inlineStr"><is><t>customer_id</t></is></c><c r="B1" t="inlineStr"><is><t>customer_type</t></is></c><c r="C1" t="inlineStr"><is><t>city</t></is></c></row>'
            )
            if cell:
                part.write(
                    f'<row r="2"><c r="A2" t="inlineStr"><is><t>k1</t></is></c><c r="B2" t="inlineStr"><is><t>personal</t></is></c><c r="C2" t="inlineStr"><is><t>{cell}</t></is></c></row>'.encode()
                )
            chunk = []
            for i in range(2, rows + 2):
                chunk.append(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>')
                if len(chunk) == 100_000:
                    part.write("".join(chunk).encode())
                    chunk = []
            part.write("".join(chunk).encode())
            part.write(b"</sheetData></worksheet>")
    return path


def test_a_sheet_beyond_excels_row_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    bomb = _xlsx(tmp_path / "rows.xlsx", 1_100_000)
    assert bomb.stat().st_size < 16 << 20
    started = time.perf_counter()
    with Workspace.init(tmp_path / "ws") as ws:
        with pytest.raises(InputError, match="more than 1,048,576 rows"):
            import_file(ws, bomb, table="customers")
        assert not list(ws.quarantine_dir.iterdir())
    assert time.perf_counter() - started < 30
    with pytest.raises(InputError, match="more than 1,048,576 rows"):
        read_table(bomb)


def test_a_part_that_inflates_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    big = _xlsx(tmp_path / "big.xlsx", 50_000)
    with pytest.raises(InputError, match="inflates to more than 1 MiB"):
        check_workbook(big, max_part_bytes=1 << 20)
    check_workbook(big)  # within the default limit


def test_a_cell_longer_than_excel_allows_is_refused_with_its_row(tmp_path: Path) -> None:
    long = _xlsx(tmp_path / "cell.xlsx", 0, cell="x" * 40_000)
    with (
        Workspace.init(tmp_path / "ws") as ws,
        pytest.raises(InputError, match="row 2 holds a cell of 40,000 characters"),
    ):
        import_file(ws, long, table="customers")


def test_a_normal_workbook_still_imports_in_batches(tmp_path: Path) -> None:
    ok = _xlsx(tmp_path / "ok.xlsx", 0, cell="Paris")
    with Workspace.init(tmp_path / "ws") as ws:
        report = import_file(ws, ok, table="customers")
        assert report.rows_loaded == 1
    assert read_table(ok).to_pylist() == [{"customer_id": "k1", "customer_type": "personal", "city": "Paris"}]
