"""CLV components, the sensitivity table, lost customers and the cube: stored once, drawn by the report.

Each stored table must equal what the library function returns when called directly on
the same workspace (the way ``custlens value`` / ``custlens lost`` / ``custlens cube`` call
it), and the report must show each section, or say why it was left out.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from custlens.analysis import analyze, load_analysis, load_analysis_config
from custlens.errors import ConfigError, InputError
from custlens.report import build_report, report_sections

pytestmark = pytest.mark.xdist_group("analysis")

LINES = ("first_purchase", "repeat_purchase", "cross_selling", "service_cost_saving", "referral", "loyalty",
         "baseline_service_cost", "marketing_cost", "acquisition_cost", "value")  # fmt: skip


def _direct_components(ws: Any, stored: Any) -> Any:
    """``value_components`` called as ``custlens value components`` calls it (defaults, no costs)."""
    from custlens.clv import value_components

    c = stored.customers()
    c = c.filter(c.frequency.notnull())
    history = c.select("customer_id", "frequency", "recency", "T", "expected_spend").to_pyarrow()
    return value_components(
        ws.table("transactions"),
        history,
        stored.purchase_model,
        as_of=stored.as_of,
        interactions=ws.table("interactions"),
        customers=ws.table("customers"),
        horizon_months=float(stored.config["clv"]["horizon_months"]),
        monthly_discount=float(stored.config["clv"]["monthly_discount"]),
        time_unit=str(stored.config["analysis"]["time_unit"]),
    )


def _close(stored: pa.Table, direct: pa.Table, columns: tuple[str, ...], keys: tuple[str, ...]) -> None:
    for key in keys:
        assert stored[key].to_pylist() == direct[key].to_pylist(), key
    for col in columns:
        np.testing.assert_allclose(
            stored[col].to_numpy(zero_copy_only=False).astype(float),
            direct[col].to_numpy(zero_copy_only=False).astype(float),
            rtol=1e-6,
            atol=1e-6,
            err_msg=col,
        )


def test_components_and_sensitivity_equal_the_library(workspace) -> None:
    from custlens.clv import clv_sensitivity

    stored = load_analysis(workspace)
    direct = _direct_components(workspace, stored)
    summary = stored.result("value_components")
    assert summary.column_names == ["part", "part_zh", "customers", *LINES]
    assert summary["part"].to_pylist() == ["historical", "current", "potential"]
    _close(summary, direct.summary(), LINES, ("part", "customers"))
    by = stored.result("value_components_by_segment")
    assert by.column_names[:5] == ["method", "segment", "part", "part_zh", "customers"]
    assert set(by["method"].to_pylist()) == {"pyramid"}
    expected = direct.by_segment(stored.segments("pyramid").to_pyarrow())
    _close(by.drop_columns(["method"]), expected, (*LINES, "value_mean"), ("segment", "part", "customers"))
    # the segments add up to the whole
    for part in ("historical", "potential"):
        rows = by.filter(pc.equal(by["part"], part))
        total = summary.filter(pc.equal(summary["part"], part))["value"][0].as_py()
        assert pc.sum(rows["value"]).as_py() == pytest.approx(total, rel=1e-9)
    sensitivity = stored.result("clv_sensitivity")
    direct_sens = clv_sensitivity(direct)
    assert sensitivity.column_names == direct_sens.column_names
    _close(sensitivity, direct_sens, ("step", "setting", "clv", "change"), ("factor",))
    base = sensitivity.filter(pc.equal(sensitivity["step"], 0.0))["clv"][0].as_py()
    assert base == pytest.approx(summary["value"][2].as_py(), rel=1e-9)  # the base is the potential value
    assert stored.details["value_components"]["customers"] == summary["customers"][0].as_py()


def _lost(stored: Any) -> pa.Table:
    seg = stored.segments("state")
    lost = seg.filter(seg.segment == "lost")
    c = stored.customers().select("customer_id", "last_purchase_at")
    return lost.join(c, lost.customer_id == c.customer_id).select("customer_id", "last_purchase_at").to_pyarrow()


def test_lost_customers_equal_the_library(workspace) -> None:
    from custlens.churn import churn_reasons, complaint_resolution, reasons_by_segment

    stored = load_analysis(workspace)
    lost = _lost(stored)
    pyramid = stored.segments("pyramid").to_pyarrow()
    reasons = churn_reasons(lost, workspace.table("interactions"), as_of=stored.as_of)
    direct = reasons_by_segment(reasons, pyramid)
    table = stored.result("churn_reasons")
    assert table.column_names == ["method", "segment", "reason", "reason_zh", "customers", "share"]
    assert table.drop_columns(["method"]).to_pylist() == direct.to_pylist()
    assert pc.sum(table["customers"]).as_py() == lost.num_rows > 0
    complaints = complaint_resolution(workspace.table("interactions"), as_of=stored.as_of, lost=lost, segments=pyramid)
    assert stored.result("complaint_resolution").drop_columns(["method"]).to_pylist() == complaints.to_pylist()
    types = stored.result("loss_types")
    assert types.column_names == ["loss_type", "loss_type_zh", "basis", "customers"]
    assert pc.sum(types["customers"]).as_py() == lost.num_rows
    assert set(types["loss_type"].to_pylist()) <= {"permanent", "temporary"}


def test_cube_equals_the_library(workspace) -> None:
    from custlens.cube import cube

    stored = load_analysis(workspace)
    table = stored.result("cube")
    assert table.column_names == ["region", "value_matrix", "grouping", "revenue", "customers"]
    direct = cube(
        workspace,
        ["revenue", "customers"],
        ["region", "value_matrix"],
        subtotals=[("region", "value_matrix"), ("region",), ("value_matrix",), ()],
        analysis_id=stored.analysis_id,
    )
    assert (
        table.select(["region", "value_matrix", "grouping", "customers"]).to_pylist()
        == direct.select(["region", "value_matrix", "grouping", "customers"]).to_pylist()
    )
    np.testing.assert_allclose(table["revenue"].to_numpy(), direct["revenue"].to_numpy(), rtol=1e-9)
    grand = table.filter(pc.equal(table["grouping"], "region,value_matrix"))
    assert grand["revenue"][0].as_py() == pytest.approx(stored.details["overview"]["revenue"], rel=1e-9)


def test_report_shows_the_new_sections(workspace, tmp_path: Path) -> None:
    stored = load_analysis(workspace)
    sections = {s.title: s for s in report_sections(stored)}
    for title in (
        "Cube: revenue by region and value_matrix",
        "Cube: customers by region and value_matrix",
        "Lifetime value components",
        "Lifetime value components by segment (Value pyramid tiers)",
        "Lifetime value sensitivity (tornado)",
        "Churn reasons",
        "Complaint resolution",
    ):
        assert title in sections and sections[title].figure is not None, title
    summary = stored.result("value_components")
    bars = sections["Lifetime value components"].figure.data
    first = next(b for b in bars if b.name.startswith("CLV1"))
    assert list(first.y) == pytest.approx(summary["first_purchase"].to_pylist())
    assert bars[-1].name == "value (net)" and list(bars[-1].y) == pytest.approx(summary["value"].to_pylist())
    tornado = sections["Lifetime value sensitivity (tornado)"].figure.data
    sens = stored.result("clv_sensitivity")
    base = sens.filter(pc.equal(sens["step"], 0.0))["clv"][0].as_py()
    assert {t.orientation for t in tornado} == {"h"} and tornado[0].base == pytest.approx(base)
    assert len(tornado[0].y) == len(set(sens["factor"].to_pylist()))
    cube_cells = sections["Cube: revenue by region and value_matrix"].figure.data[0].cells.values
    assert cube_cells[0][-1] == "total"
    reasons = sections["Churn reasons"].figure.data
    assert {b.name.split(" ")[0] for b in reasons} == set(stored.result("churn_reasons")["reason"].to_pylist())
    persona = sections["Persona cards"]
    assert persona.figure is None and "custlens tags apply" in persona.note and "Left out because" in persona.note
    text = build_report(stored, tmp_path / "r.html").read_text(encoding="utf-8")
    for heading in ("Lifetime value components", "Lifetime value sensitivity (tornado)", "Churn reasons",
                    "Complaint resolution", "Cube: revenue by region and value_matrix", "Persona cards"):  # fmt: skip
        assert f"<h2>{heading}</h2>" in text, heading


def test_persona_cards_once_tags_are_applied(workspace_path: Path, tmp_path: Path) -> None:
    from custlens.tags import apply_tags, persona_cards
    from custlens.warehouse import Workspace

    path = tmp_path / "ws"
    shutil.copytree(workspace_path, path)
    with Workspace.open(path) as ws:
        stored = load_analysis(ws)
        apply_tags(ws, as_of=stored.as_of)
        sections = [s for s in report_sections(stored) if s.title.startswith("Persona card")]
        cards = persona_cards(ws, "value_matrix", as_of=stored.as_of, top=6)
        groups = list(dict.fromkeys(cards["group"].to_pylist()))
        assert [s.title for s in sections] == [f"Persona card: Customer value matrix quadrants, {g}" for g in groups]
        first = cards.filter(pc.equal(cards["group"], groups[0]))
        cells = sections[0].figure.data[0].cells.values
        assert list(cells[0]) == first["rank"].to_pylist()
        assert list(cells[2]) == first["customers"].to_pylist()
        rfm = [s.title for s in report_sections(stored, persona_method="rfm") if s.title.startswith("Persona card")]
        assert rfm and all(t.startswith("Persona card: RFM segments, ") for t in rfm)
        with pytest.raises(InputError, match="'persona_method' must be a segmentation.*got 'rfn'; did you mean 'rfm'"):
            report_sections(stored, persona_method="rfn")


def test_missing_inputs_are_left_out_with_the_reason(company: dict[str, Path], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    stored = analyze({"transactions": pq.read_table(company["transactions"])})
    assert stored.skipped["churn reasons"] == "no interactions"
    assert "region" in stored.skipped["cube"]  # no customers table: no region
    assert stored.has_result("value_components") and stored.has_result("loss_types")
    assert not stored.has_result("churn_reasons") and not stored.has_result("cube")
    sections = {s.title: s for s in report_sections(stored)}
    assert "Churn reasons" not in sections and not any(t.startswith("Cube:") for t in sections)
    assert "Lost customers" in sections and "permanent" in sections["Lost customers"].note
    assert "churn reasons: no interactions" in sections["Left out"].note
    assert "cube: " in sections["Left out"].note
    assert "no tags were applied" in sections["Persona cards"].note
    narrow = analyze(
        {"transactions": pq.read_table(company["transactions"])},
        config={"analysis": {"methods": ["rfm", "pyramid"]}},
    )
    assert "relationship-state" in narrow.skipped["lost customers"]
    assert "'value_matrix'" in narrow.skipped["cube"]
    assert not narrow.has_result("loss_types")
    text = build_report(narrow, tmp_path / "narrow.html").read_text(encoding="utf-8")
    assert "lost customers: needs the relationship-state segmentation" in text


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"cube": {"columns": "region"}}, r"\[cube\] rows and columns must differ; got 'region' twice"),
        ({"cube": {"rows": "regoin"}}, r"\[cube\] rows must be a cube dimension"),
        ({"cube": {"measures": ["clv"]}}, r"\[cube\] measures must be a list of line or derived cube measures"),
        ({"value": {"relative": 1.0}}, r"\[value\] relative must be a share in \(0, 1\); got 1.0"),
        ({"value": {"segments": "pyramids"}}, r"\[value\] segments must be the segmentation"),
        ({"lost": {"p_alive_threshold": 2}}, r"\[lost\] p_alive_threshold must be a probability in \[0, 1\]"),
    ],
)
def test_new_settings_are_checked(config: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_analysis_config(config)
