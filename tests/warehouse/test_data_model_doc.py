"""docs/data-model.md documents every canonical table and column, and matches schema.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from custlens.schema import TABLES
from custlens.warehouse._datamodel import render_data_model

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"


def _documented_columns(text: str) -> dict[str, dict[str, list[str]]]:
    """Table -> column -> the cells of its row, parsed from the Markdown."""
    out: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        heading = re.match(r"^## `(\w+)`", line)
        if heading:
            current = out.setdefault(heading.group(1), {})
        elif current is not None and line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            current[cells[0].strip("`")] = cells
    return out


@pytest.mark.parametrize("name", list(TABLES))
def test_every_column_is_documented_with_type_unit_and_requirement(name: str) -> None:
    documented = _documented_columns(DOC.read_text(encoding="utf-8"))
    assert name in documented, f"table {name!r} is missing from {DOC}"
    for column in TABLES[name].columns:
        assert column.name in documented[name], f"{name}.{column.name} is missing from {DOC}"
        cells = documented[name][column.name]
        assert cells[1].startswith(f"`{column.dtype}`")
        assert cells[2] == column.unit
        assert cells[3] == ("yes" if column.required else "no")
        for value in column.allowed or ():
            assert f"`{value}`" in cells[4]


def test_document_is_up_to_date_with_the_schema() -> None:
    assert DOC.read_text(encoding="utf-8") == render_data_model(), (
        "docs/data-model.md is out of date: run `python -m custlens.warehouse._datamodel docs/data-model.md`"
    )
