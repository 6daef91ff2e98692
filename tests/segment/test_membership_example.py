"""The membership-tier example (examples/membership): its tiers by hand, its playbook covers them."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pyarrow as pa

from custlens.playbook import load_playbook, missing_actions
from custlens.segment import rule_segments

EXAMPLE = Path(__file__).parents[2] / "examples" / "membership"


def test_tiers_by_card_stage_and_tags() -> None:
    t = pa.table(
        {
            "customer_id": [f"m{i}" for i in range(10)],
            "card": ["growth", "pregnancy", "growth", None, None, None, None, None, None, None],
            "stage": [
                "payback",
                "growth",
                "termination",
                "payback",
                "growth",
                "payback",
                "cultivation",
                "retention",
                "termination",
                "growth",
            ],
            "revenue": [100.0, 50.0, 900.0, 5000.0, 800.0, 400.0, 60.0, 700.0, 300.0, 20.0],
            "order_count": [2, 1, 6, 8, 3, 2, 1, 4, 3, 1],
            "tag_recent_apparel": [False, False, False, False, True, False, False, True, False, False],
            "tag_recent_beauty": [False, False, False, False, True, False, False, True, False, False],
        }
    )
    res = rule_segments(t, EXAMPLE / "tiers.toml")
    got = {r["customer_id"]: r["segment"] for r in res.customers.to_pyarrow().to_pylist()}
    assert got == {
        "m0": "black_gold_growth",
        "m1": "black_gold_pregnancy",
        "m2": "paid_lapsed",
        "m3": "gold",  # 回报期, 5,000 and 8 orders
        "m4": "upgrade_candidate",  # 成长期 with both tags
        "m5": "silver",
        "m6": "newcomer",
        "m7": "retention",  # tags do not lift a customer in 挽留期
        "m8": "retention",
        "m9": "registered",  # 成长期 with one order: the fallback
    }


def test_the_playbook_covers_every_tier_with_the_same_names() -> None:
    tiers = tomllib.loads((EXAMPLE / "tiers.toml").read_text(encoding="utf-8"))
    names = {r["name"]: r["name_zh"] for r in tiers["rule"]} | {tiers["fallback"]: tiers["fallback_zh"]}
    pb = load_playbook(EXAMPLE / "playbook.toml")
    assert missing_actions(list(names), pb, "rules") == []
    assert {n: pb.get("rules", n).name_zh for n in names} == names  # type: ignore[union-attr]


def test_the_script_runs_on_the_demo_company(tmp_path: Path) -> None:
    import ibis

    from custlens.ingest.readers import read_table
    from custlens.synth import generate_company

    spec = importlib.util.spec_from_file_location("membership", EXAMPLE / "membership.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    company = generate_company(300, seed=2024)
    tiers = module.membership_tiers(
        ibis.memtable(company.transactions),
        read_table(EXAMPLE / "members.csv", text_columns=("customer_id",)),
        as_of=company.end,
    )
    rows = tiers.customers.to_pyarrow().to_pylist()
    buyers = sum(1 for r in rows)
    assert buyers and {r["segment"] for r in rows} <= set(load_playbook(EXAMPLE / "playbook.toml").segments("rules"))
    cards = {r["customer_id"]: r["card"] for r in rows if r["card"]}
    assert all(cards[c] in ("growth", "pregnancy") for c in cards)
