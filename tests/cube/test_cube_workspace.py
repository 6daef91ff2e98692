"""The cube of a workspace: one definition with the features, pivots, the stored analysis, the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.compute as pc
import pytest

from custlens.analysis import load_analysis
from custlens.cube import DIMENSIONS, MEASURES, cube, pivot, pivot_table
from custlens.errors import InputError, NotFoundError

pytestmark = pytest.mark.xdist_group("cube")

DOC = Path(__file__).parents[2] / "docs" / "cube.md"


def test_revenue_orders_and_buyers_equal_the_value_indicators(cube_ws: object) -> None:
    """The cube's lines follow the features' return rule: per region, the indicators add up to the cube."""
    stored = load_analysis(cube_ws)
    table = cube(cube_ws, "revenue,orders,customers,quantity,profit,returns,clv,p_alive", "region",
                 subtotals="none", as_of=stored.as_of)  # fmt: skip
    assert table.schema.metadata[b"as_of"] == b"2025-09-30"
    assert table.schema.metadata[b"analysis_id"] == stored.analysis_id.encode()
    ind = stored.customers().to_pandas()
    regions = cube_ws.table("customers").select("customer_id", "region").to_pandas()
    j = ind.merge(regions, on="customer_id", how="left")
    j["region"] = j["region"].fillna("(missing)")
    buyers = j[j.order_count > 0]
    expected = buyers.groupby("region").agg(
        revenue=("revenue", "sum"),
        orders=("order_count", "sum"),
        customers=("customer_id", "count"),
        quantity=("quantity", "sum"),
        profit=("profit", "sum"),
        clv=("clv", "sum"),
        p_alive=("p_alive", "mean"),
    )
    returns = j.groupby("region")["return_amount"].sum()
    for row in table.to_pylist():
        e = expected.loc[row["region"]]
        assert row["orders"] == e.orders and row["customers"] == e.customers
        for m in ("revenue", "quantity", "profit", "clv", "p_alive"):
            assert row[m] == pytest.approx(e[m], rel=1e-9), (row["region"], m)
        assert row["returns"] == pytest.approx(returns.loc[row["region"]])


def test_drill_down_a_cell(cube_ws: object) -> None:
    """Adding a dimension and slicing the cell gives rows that add up to the cell."""
    top = {r["region"]: r for r in cube(cube_ws, "revenue,orders,customers", "region", subtotals="none").to_pylist()}
    cell = top["east_china"]
    drill = cube(cube_ws, "revenue,orders,customers", "region,segment", where="region = 'east_china'").to_pylist()
    details = [r for r in drill if r["grouping"] == ""]
    subtotal = [r for r in drill if r["grouping"] == "segment"]
    assert {r["region"] for r in drill} == {"east_china", ""}
    assert sum(r["revenue"] for r in details) == pytest.approx(cell["revenue"])
    assert sum(r["orders"] for r in details) == cell["orders"]
    assert subtotal[0]["customers"] == cell["customers"] == sum(r["customers"] for r in details)


def test_pivot_has_row_and_column_totals(cube_ws: object) -> None:
    table = pivot(cube_ws, "revenue", "region", "quarter")
    assert table.column_names[0] == "region" and table.column_names[-1] == "total"
    quarters = table.column_names[1:-1]
    assert quarters == sorted(quarters) and all(re.fullmatch(r"\d{4}-Q[1-4]", q) for q in quarters)
    rows = table.to_pylist()
    assert rows[-1]["region"] == "total"
    for row in rows:
        assert row["total"] == pytest.approx(sum(row[q] or 0.0 for q in quarters))
    for q in quarters:
        assert rows[-1][q] == pytest.approx(sum(r[q] or 0.0 for r in rows[:-1]))
    full = cube(cube_ws, "revenue", "region", subtotals="none")
    assert rows[-1]["total"] == pytest.approx(pc.sum(full["revenue"]).as_py())
    with pytest.raises(InputError, match="'rows' and 'columns' must be different"):
        pivot(cube_ws, "revenue", "region", "region")
    with pytest.raises(InputError, match="no column 'month'"):
        pivot_table(full, "revenue", "region", "month")


def test_the_stored_analysis_is_read_only_when_needed(tmp_path: Path) -> None:
    from custlens.ingest import import_file
    from custlens.synth import write_company
    from custlens.warehouse import Workspace

    files = write_company(tmp_path / "co", n_customers=50, seed=3)
    with Workspace.init(tmp_path / "ws") as ws:
        for name in ("customers", "transactions"):
            import_file(ws, files[name], table=name)
        plain = cube(ws, "revenue,customers", "region,month")
        assert plain.num_rows > 10 and plain.schema.metadata[b"analysis_id"] == b""
        with pytest.raises(NotFoundError, match="no stored analysis yet"):
            cube(ws, "revenue", "segment")
        with pytest.raises(NotFoundError, match="no stored analysis yet"):
            cube(ws, "clv", "region")
        with pytest.raises(NotFoundError, match="no stored analysis yet"):
            cube(ws, "revenue", "region", where="risk_band = 'high'")


def test_unknown_stored_segmentation_names_the_stored_ones(cube_ws: object) -> None:
    with pytest.raises(InputError, match="'segment_method' must be one of"):
        cube(cube_ws, "revenue", "segment", segment_method="rfmm")


def test_docs_list_every_dimension_and_measure() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in [*DIMENSIONS, *MEASURES]:
        assert re.search(rf"^\| `{name}` \|", text, re.M), f"docs/cube.md does not document `{name}`"
