"""Membership tiers by paid card, relationship stage and tags, with an action for each tier.

In the spirit of the course text's retail case (孩子王会员体系): paid black-gold cards, members
classified by the stage they are in and their tags, and an action per class. Run on the
demo company::

    PYTHONPATH=src python examples/membership/membership.py            # 2,000 demo customers
    PYTHONPATH=src python examples/membership/membership.py --customers 500

It prints the tiers' sizes and revenue and writes ``membership_campaign.csv`` (one row per
customer with its tier and suggested action). With your own data, replace the demo company
by your workspace's tables and ``members.csv`` by your membership system's export.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

HERE = Path(__file__).parent
TIERS = HERE / "tiers.toml"
PLAYBOOK = HERE / "playbook.toml"
MEMBERS = HERE / "members.csv"


def tag_columns(transactions: Any, as_of: dt.date, days: int = 90) -> Any:
    """Two time-window tags: bought apparel / beauty in the last ``days`` days (``tag_recent_<category>``)."""
    t = transactions
    day = t.ordered_at.cast("date")
    recent = t.filter(
        (day > ibis.date((as_of - dt.timedelta(days=days)).isoformat())) & (day <= ibis.date(as_of.isoformat()))
    )
    tags = recent.group_by(t_id=recent.customer_id).aggregate(
        tag_recent_apparel=(recent.category == "apparel").any(),
        tag_recent_beauty=(recent.category == "beauty").any(),
    )
    return tags


def membership_table(transactions: Any, members: Any, *, as_of: Any) -> Any:
    """One row per buyer: its features, its relationship stage, its paid card and its tags."""
    from custlens.features import customer_features
    from custlens.segment import lifecycle_stage

    feats = customer_features(transactions, as_of=as_of)
    stage = lifecycle_stage(feats, as_of=as_of, config={"variant": "relationship"}).customers
    stage = stage.select(s_id="customer_id", stage="segment")
    m = ibis.memtable(members) if isinstance(members, pa.Table) else members
    m = m.select(m_id=m.customer_id.cast("string"), card=m.card.cast("string"))
    tags = tag_columns(transactions, _day(as_of))
    t = feats.filter(feats.order_count > 0)
    t = t.join(stage, t.customer_id == stage.s_id).drop("s_id")
    t = t.left_join(m, t.customer_id == m.m_id).drop("m_id")
    t = t.left_join(tags, t.customer_id == tags.t_id).drop("t_id")
    return t.mutate(
        tag_recent_apparel=t.tag_recent_apparel.fill_null(False), tag_recent_beauty=t.tag_recent_beauty.fill_null(False)
    )


def _day(as_of: Any) -> dt.date:
    from custlens.features.coerce import to_date

    return to_date(as_of, "as_of")


def membership_tiers(transactions: Any, members: Any, *, as_of: Any) -> Any:
    """The tiers of ``tiers.toml`` (a :class:`custlens.segment.SegmentResult`, method ``rules``)."""
    from custlens.segment import rule_segments

    table = membership_table(transactions, members, as_of=as_of)
    return rule_segments(table, TIERS, as_of=as_of, keep=("stage", "card"))


def main() -> None:
    from custlens.ingest.readers import read_table
    from custlens.playbook import export_campaign, load_playbook
    from custlens.synth import generate_company

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("membership_campaign.csv"))
    args = parser.parse_args()
    company = generate_company(args.customers, seed=2024)
    tx = ibis.memtable(company.transactions)
    as_of = company.end
    tiers = membership_tiers(tx, read_table(MEMBERS, text_columns=("customer_id",)), as_of=as_of).cache()
    summary = tiers.summary.order_by("segment_rank").to_pyarrow()
    for row in summary.to_pylist():
        print(
            f"{row['segment_zh']:<12} {row['segment']:<22} {row['customers']:>6} customers, revenue {row['value']:>12,.0f}"
        )
    rows = export_campaign(tiers, load_playbook(PLAYBOOK), args.out, strict=True)
    print(f"wrote {args.out} ({rows} rows)")


if __name__ == "__main__":
    main()
