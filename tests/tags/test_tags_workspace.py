"""Tags on a demo workspace: what is stored agrees with independent computations from the data.

The demo workspace holds two stored analyses (2025-06-30 and 2025-09-30) and the shipped
taxonomy applied on both dates (``conftest.demo_path``).
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from custlens.analysis import load_analysis
from custlens.errors import InputError, NotFoundError
from custlens.tags import (
    apply_tags,
    audience,
    export_audience,
    lift,
    load_taxonomy,
    persona_card,
    persona_cards,
    profile_card,
    tag_counts,
    tag_history,
)
from custlens.tags._store import held_at

from .conftest import FIRST, SECOND, profiled

pytestmark = pytest.mark.xdist_group("tags")


def _held(ws: object, day: object) -> dict[str, set[str]]:
    rows = held_at(ws.con, day).to_pyarrow().to_pylist()
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["tag"], set()).add(r["customer_id"])
    return out


def test_history_of_the_two_applications(demo: object) -> None:
    runs = tag_history(demo).to_pylist()
    assert [(r["as_of"], r["analysis_id"]) for r in runs] == [(FIRST, "2025-06-30.1"), (SECOND, "2025-09-30.1")]
    first, second = _held(demo, FIRST), _held(demo, SECOND)
    pairs1 = {(c, t) for t, cs in first.items() for c in cs}
    pairs2 = {(c, t) for t, cs in second.items() for c in cs}
    assert runs[0]["opened"] == len(pairs1) and runs[0]["closed"] == 0
    assert runs[1]["opened"] == len(pairs2 - pairs1)
    assert runs[1]["closed"] == len(pairs1 - pairs2)
    assert runs[1]["assignments"] == len(pairs2)
    assert runs[1]["customers"] == len(profiled(demo)) and runs[1]["tags"] == len(load_taxonomy().tags)


def test_counts_agree_with_the_data(demo: object) -> None:
    counts = {r["tag"]: r["customers"] for r in tag_counts(demo).to_pylist()}
    assert list(counts) == load_taxonomy().ids
    keep = pa.array(sorted(profiled(demo)))
    customers = demo.table("customers").to_pyarrow()
    customers = customers.filter(pc.is_in(customers["customer_id"], keep))
    assert counts["corporate"] == pc.sum(pc.equal(customers["customer_type"], "corporate")).as_py()
    assert counts["region_east_china"] == pc.sum(pc.equal(customers["region"], "east_china")).as_py()
    stored = load_analysis(demo, as_of=SECOND)
    c = stored.customers().to_pyarrow()
    c = c.filter(pc.is_in(c["customer_id"], keep))
    # high_clv: CLV above the type-7 80th percentile among buyers
    buyers = pc.filter(c, pc.greater(c["order_count"], 0))
    clv = buyers["clv"].to_numpy()
    assert counts["high_clv"] == int((clv > np.percentile(clv, 80)).sum())
    assert counts["churn_risk_high"] == pc.sum(pc.equal(c["risk_band"], "high")).as_py()
    rfm = stored.segments("rfm").to_pyarrow()
    rfm = rfm.filter(pc.is_in(rfm["customer_id"], keep))
    assert counts["rfm_champions"] == pc.sum(pc.equal(rfm["segment"], "Champions")).as_py()
    # bought food in the 90 days up to the as-of date (purchases only)
    tx = demo.table("transactions").to_pyarrow().to_pandas()
    day = tx.ordered_at.dt.date
    window = (day > SECOND - timedelta(days=90)) & (day <= SECOND) & (tx.category == "food")
    window &= tx.customer_id.isin(profiled(demo))
    bought = tx[window & ~tx.return_flag & (tx.amount >= 0)].customer_id.nunique()
    assert counts["bought_food_90d"] == bought


def test_lift_agrees_with_pandas(demo: object) -> None:
    table = {r["tag"]: r for r in lift(demo, FIRST, days=90).to_pylist()}
    assert set(table) == {t.id for t in load_taxonomy().tags if t.kind == "model"}
    tx = demo.table("transactions").to_pyarrow().to_pandas()
    day = tx.ordered_at.dt.date
    later = tx[(day > FIRST) & (day <= FIRST + timedelta(days=90)) & ~tx.return_flag & (tx.amount >= 0)]
    y = set(later.customer_id)
    high = _held(demo, FIRST)["high_clv"]
    assert table["high_clv"]["customers"] == len(high)
    assert table["high_clv"]["outcome_customers"] == len(high & y)
    base_rate = len(y & set(load_analysis(demo, as_of=FIRST).customers().to_pyarrow()["customer_id"].to_pylist())) / 800
    assert table["high_clv"]["base_rate"] == pytest.approx(base_rate)
    assert table["high_clv"]["lift"] == pytest.approx(len(high & y) / len(high) / base_rate)
    # the designed truths hold: valuable customers buy again more often, high-risk ones less
    assert table["high_clv"]["lift"] > 1.3 > 0.5 > table["churn_risk_high"]["lift"]


def test_lift_needs_data_after_the_window(demo: object) -> None:
    with pytest.raises(InputError, match="reaches past the last transaction day \\(2025-12-31\\)"):
        lift(demo, SECOND, days=120)
    with pytest.raises(InputError, match="'days' must be a whole number >= 1"):
        lift(demo, days=0)


def test_audience_and_profile_card(demo: object) -> None:
    held = _held(demo, SECOND)
    got = set(audience(demo, "tag('high_clv') and not tag('churn_risk_high')")["customer_id"].to_pylist())
    assert got == held["high_clv"] - held.get("churn_risk_high", set())
    one = sorted(held["high_clv"])[0]
    card = profile_card(demo, one)
    assert set(card["tag"].to_pylist()) == {t for t, cs in held.items() if one in cs}
    with pytest.raises(NotFoundError, match="no customer 'nobody'"):
        profile_card(demo, "nobody")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_export_audience(demo: object, tmp_path: Path, suffix: str) -> None:
    written = export_audience(demo, "high_clv and not churn_risk_high", tmp_path / f"vip{suffix}", name="vip")
    assert written[0] == tmp_path / f"vip{suffix}"
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        customers = pq.read_table(written[0])
        summary = pq.read_table(written[1])
        assert customers.column_names == ["customer_id", "segment", "revenue", "clv", "p_alive", "risk_band"]
        assert set(customers["segment"].to_pylist()) == {"vip"}
        assert summary["customers"][0].as_py() == customers.num_rows
        assert summary["share"][0].as_py() == pytest.approx(customers.num_rows / len(profiled(demo)))
    with pytest.raises(InputError, match="expected .csv, .xlsx or .parquet"):
        export_audience(demo, "high_clv", tmp_path / "vip.txt")
    with pytest.raises(InputError, match="exists"):  # a user's file is replaced only when asked
        export_audience(demo, "high_clv", tmp_path / f"vip{suffix}")
    assert export_audience(demo, "high_clv", tmp_path / f"vip{suffix}", overwrite=True)[0] == written[0]


def test_persona_cards(demo: object) -> None:
    card = persona_card(demo, method="rfm", segment="Champions", top=5)
    assert card.num_rows == 5 and card["rank"].to_pylist() == [1, 2, 3, 4, 5]
    assert not any(t.startswith("rfm_") for t in card["tag"].to_pylist())  # restating the group
    lifts = card["lift"].to_pylist()
    assert lifts == sorted(lifts, reverse=True) and lifts[0] > 1
    assert pc.all(pc.greater_equal(card["share_in_group"], 0.1)).as_py()
    rfm = load_analysis(demo, as_of=SECOND).segments("rfm").to_pyarrow()
    assert card["group_customers"][0].as_py() == pc.sum(pc.equal(rfm["segment"], "Champions")).as_py()
    cards = persona_cards(demo, "lifecycle", top=3)
    groups = cards["group"].to_pylist()
    assert set(groups) <= {"acquisition", "growth", "maturity", "decline", "termination"}
    sizes = [cards["group_customers"][groups.index(g)].as_py() for g in dict.fromkeys(groups)]
    assert sizes == sorted(sizes, reverse=True)
    by_audience = persona_card(demo, audience="high_clv", top=3)
    assert "high_clv" not in by_audience["tag"].to_pylist()
    with pytest.raises(NotFoundError, match="no segmentation 'rfmm'; did you mean 'rfm'"):
        persona_cards(demo, "rfmm")
    with pytest.raises(NotFoundError, match="'segment': rfm has no segment 'Champs'; did you mean 'Champions'"):
        persona_card(demo, method="rfm", segment="Champs")
    with pytest.raises(InputError, match="either 'method' and 'segment' or 'audience'"):
        persona_card(demo)


def test_apply_needs_an_analysis_and_a_writable_workspace(tmp_path: Path, demo_path: Path) -> None:
    from custlens.warehouse import Workspace

    with Workspace.init(tmp_path / "empty") as ws:
        with pytest.raises(NotFoundError, match="no stored analysis yet"):
            apply_tags(ws)
    with Workspace.open(demo_path, read_only=True) as ws:
        with pytest.raises(InputError, match="opened read-only"):
            apply_tags(ws)


def test_apply_refuses_an_earlier_date_and_replaces_the_latest(tmp_path: Path, demo_path: Path) -> None:
    path = tmp_path / "ws"
    shutil.copytree(demo_path, path)
    with pytest.raises(InputError, match="before the latest tag application"):
        apply_tags(path, as_of=FIRST)
    before = tag_counts(path)
    again = apply_tags(path, as_of=SECOND)
    assert again.analysis_id == "2025-09-30.1"
    assert tag_counts(path).equals(before)
    assert len(tag_history(path)) == 2


def test_a_definition_that_does_not_fit_names_the_tag(tmp_path: Path, demo_path: Path) -> None:
    from custlens.errors import ConfigError

    path = tmp_path / "ws"
    shutil.copytree(demo_path, path)
    doc = {
        "category": [{"id": "c", "name": "C"}],
        "tag": [{"id": "x", "category": "c", "kind": "model", "method": "lifecycl", "value": "growth", "name": "X"}],
    }
    with pytest.raises(
        ConfigError, match="tag 'x': analysis 2025-09-30.1 has no segmentation 'lifecycl'; did you mean 'lifecycle'"
    ):
        apply_tags(path, doc)
    assert len(tag_history(path)) == 2  # nothing stored


def test_tag_counts_share_is_of_all_profiled_customers(demo: object) -> None:
    table = tag_counts(demo, FIRST)
    assert table.schema == pa.schema(
        [("tag", pa.string()), ("category", pa.string()), ("customers", pa.int64()), ("share", pa.float64())]
    )
    assert pc.all(
        pc.equal(pc.divide(pc.cast(table["customers"], pa.float64()), float(len(profiled(demo)))), table["share"])
    ).as_py()


def test_no_tags_without_consent_to_profiling(demo: object) -> None:
    """Tags are profiling: customers who refused it hold none (docs/tags.md, Consent)."""
    ws = cast(Any, demo)
    refused = ws.table("customers").filter(lambda t: t.consent_profiling == False)  # noqa: E712
    ids = set(refused.select("customer_id").to_pyarrow()["customer_id"].to_pylist())
    assert ids, "the demo company has customers who refused profiling"
    held = ws.raw.execute("SELECT DISTINCT customer_id FROM tag_assignments").fetchall()
    assert held and not ids & {r[0] for r in held}
