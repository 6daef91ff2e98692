"""The playbook: default coverage, validation messages, joining actions, campaign export."""

from __future__ import annotations

import tomllib
import uuid
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from custlens.errors import ConfigError, InputError
from custlens.playbook import (
    CAMPAIGN_COLUMNS,
    PRIORITIES,
    apply_playbook,
    default_playbook_path,
    export_campaign,
    load_playbook,
    missing_actions,
    playbook_from_mapping,
)
from custlens.schema import table as schema_table

RFM_11 = [
    "Champions",
    "Loyal Customers",
    "Potential Loyalist",
    "New Customers",
    "Promising",
    "Need Attention",
    "About To Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
]

GOOD = {
    "priority": "high",
    "service_level": "Priority",
    "service_level_zh": "优先服务",
    "channel": "E-mail",
    "channel_zh": "电子邮件",
    "offer": "Points",
    "offer_zh": "积分",
}


def test_default_covers_the_shipped_segment_names() -> None:
    pb = load_playbook()
    assert missing_actions(RFM_11 + ["Others"], pb, "rfm") == []
    assert missing_actions(["A", "B", "C"], pb, "abc") == []
    assert missing_actions(["VIP", "major", "ordinary", "small"], pb, "pyramid") == []
    assert missing_actions(["most_valuable", "most_growable", "maintain", "abandon"], pb, "clv_matrix") == []
    assert (
        missing_actions(["non_customer", "potential", "target", "first_time", "repeat", "loyal", "lost"], pb, "state")
        == []
    )
    assert missing_actions(["acquisition", "growth", "maturity", "decline", "termination"], pb, "lifecycle") == []
    assert missing_actions(["cultivation", "growth", "payback", "retention", "termination"], pb, "lifecycle") == []
    assert len(pb.segments("value_matrix")) == 4


SEGMENT_DEFAULTS = Path(__file__).parents[2] / "src" / "custlens" / "segment" / "defaults"


def _shipped_names() -> dict[str, dict[str, str]]:
    """Segment names -> Chinese names of every segment map the segmentation package ships, by scheme.

    Both RFM maps (the 11-segment default and the eight-class ``cn8`` map, with their
    fallbacks) land in the ``rfm`` scheme, as the segmentation labels them.
    """
    from custlens.segment.rfm import SHIPPED_MAPS

    names: dict[str, dict[str, str]] = {"rfm": {}}
    for file in SHIPPED_MAPS.values():
        doc = tomllib.loads((SEGMENT_DEFAULTS / f"{file}.toml").read_text(encoding="utf-8"))
        names["rfm"].update({seg["name"]: seg.get("name_zh", "") for seg in doc["segment"]})
        names["rfm"][doc.get("fallback", "Others")] = doc.get("fallback_zh", "")
    doc = tomllib.loads((SEGMENT_DEFAULTS / "abc.toml").read_text(encoding="utf-8"))
    names["abc"] = {c["name"]: c.get("name_zh", "") for c in doc["class"]}
    names["pyramid"] = {t["name"]: t.get("name_zh", "") for t in doc["tier"]}
    doc = tomllib.loads((SEGMENT_DEFAULTS / "matrix.toml").read_text(encoding="utf-8"))
    for scheme in ("value_matrix", "clv_matrix"):
        names[scheme] = {q["name"]: q.get("name_zh", "") for q in doc[scheme]["quadrant"]}
    names["state"] = dict(tomllib.loads((SEGMENT_DEFAULTS / "state.toml").read_text(encoding="utf-8"))["names"])
    # every lifecycle variant (客户生命周期 and 客户关系生命周期): stage -> [English, Chinese]
    doc = tomllib.loads((SEGMENT_DEFAULTS / "lifecycle.toml").read_text(encoding="utf-8"))
    names["lifecycle"] = {en: zh for variant in doc["variants"].values() for en, zh in variant.values()}
    return names


def test_default_covers_every_segment_the_segmentation_defaults_ship() -> None:
    """Every segment name of every shipped map (custlens/segment/defaults/*.toml) has an action."""
    shipped = _shipped_names()
    assert {"rfm", "abc", "pyramid", "value_matrix", "clv_matrix", "state", "lifecycle"} == set(shipped)
    assert {"important value", "general win-back", "Champions", "Lost"} <= set(shipped["rfm"])
    pb = load_playbook()
    gaps = {scheme: missing_actions(list(names), pb, scheme) for scheme, names in shipped.items()}
    assert not any(gaps.values()), gaps
    # the playbook shows the same Chinese names as the segmentation
    differ = {
        (scheme, name): (zh, pb.get(scheme, name).name_zh)  # type: ignore[union-attr]
        for scheme, names in shipped.items()
        for name, zh in names.items()
        if zh and pb.get(scheme, name).name_zh != zh
    }  # type: ignore[union-attr]
    assert not differ, differ


def test_every_default_action_is_bilingual() -> None:
    table = load_playbook().table()
    for col in ("service_level_zh", "channel_zh", "offer_zh", "segment_zh"):
        assert all(v and any("\u4e00" <= ch <= "\u9fff" for ch in v) for v in table[col].to_pylist()), col
    assert set(table["priority"].to_pylist()) <= set(PRIORITIES)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            {"rfm": {"Champions": {**GOOD, "priority": "urgent"}}},
            r"\[rfm.'Champions'\]: field 'priority' must be one of top, high",
        ),
        (
            {"rfm": {"Champions": {k: v for k, v in GOOD.items() if k != "channel"}}},
            r"\[rfm.'Champions'\]: missing field 'channel'",
        ),
        ({"rfm": {"Champions": {**GOOD, "chanel": "x"}}}, "unknown field 'chanel'; did you mean 'channel'"),
        ({"rfm": {"Champions": {**GOOD, "offer": ""}}}, r"\[rfm.'Champions'\]: field 'offer' must be non-empty"),
        ({"rfm": {"Champions": {**GOOD, "offer": 3}}}, "field 'offer' must be non-empty text"),
        ({"rfm": "Champions"}, r"\[rfm\] must hold one table per segment"),
        ({"version": 2}, "unsupported playbook version"),
        ({"version": 1}, "defines no actions"),
    ],
)
def test_validation_names_segment_and_field(doc: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        playbook_from_mapping(doc, source="p.toml")


def test_bad_toml(tmp_path: Path) -> None:
    p = tmp_path / "p.toml"
    p.write_text("[rfm.Champions\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_playbook(p)


def _assignments() -> pa.Table:
    return pa.table(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "segment": ["Champions", "Lost", "At Risk", "Champions"],
            "email": ["a@x.cn", "b@x.cn", "c@x.cn", "d@x.cn"],
            "phone": ["1", "2", "3", "4"],
        }
    )


def _on(backend: object, table: pa.Table) -> ibis.Table:
    """``table`` on ``backend`` without writing files (a temp view on Spark, not spark-warehouse/)."""
    name = f"t_{uuid.uuid4().hex[:8]}"
    if getattr(backend, "name", "") == "pyspark":
        session = backend._session  # type: ignore[attr-defined]
        session.createDataFrame(table.to_pandas()).createOrReplaceTempView(name)
        return backend.table(name)  # type: ignore[attr-defined]
    return backend.create_table(name, table, temp=True)  # type: ignore[attr-defined]


def test_apply_joins_actions(backend: object) -> None:
    t = _on(backend, _assignments())
    out = apply_playbook(t, load_playbook(), scheme="rfm").to_pyarrow()
    assert out.column_names == list(CAMPAIGN_COLUMNS)
    rows = {r["customer_id"]: r for r in out.to_pylist()}
    assert rows["c1"]["priority"] == "top" and rows["c1"]["segment_zh"] == "冠军客户"
    assert rows["c2"]["priority_rank"] == 5
    assert rows["c3"]["channel"] == load_playbook().get("rfm", "At Risk").channel  # type: ignore[union-attr]


def test_apply_without_scheme_and_segment_result_duck_type() -> None:
    pb = load_playbook()
    out = apply_playbook(_assignments(), pb).to_pyarrow()
    assert out.num_rows == 4

    class Result:  # the shape of custlens.segment.SegmentResult
        method = "abc"
        customers = pa.table({"customer_id": ["x", "y"], "segment": ["A", "C"]})

    rows = apply_playbook(Result(), pb).to_pyarrow().to_pylist()
    assert {r["segment"]: r["priority"] for r in rows} == {"A": "top", "C": "low"}


def test_segments_without_action_are_reported() -> None:
    pb = load_playbook()
    t = pa.table({"customer_id": ["1", "2"], "segment": ["Champions", "Champs"]})
    assert missing_actions(t, pb, "rfm") == ["Champs"]
    out = apply_playbook(t, pb, scheme="rfm").to_pyarrow().to_pylist()
    assert next(r for r in out if r["segment"] == "Champs")["priority"] is None
    with pytest.raises(ConfigError, match="1 segment\\(s\\) have no action.*'Champs'; did you mean 'Champions'"):
        apply_playbook(t, pb, scheme="rfm", strict=True)


def test_ambiguous_and_unknown_schemes() -> None:
    doc = {"a": {"Gold": GOOD}, "b": {"Gold": GOOD}}
    pb = playbook_from_mapping(doc)
    t = pa.table({"customer_id": ["1"], "segment": ["Gold"]})
    with pytest.raises(ConfigError, match="several schemes \\(a, b\\)"):
        apply_playbook(t, pb)
    assert apply_playbook(t, pb, scheme="b").to_pyarrow().num_rows == 1
    with pytest.raises(ConfigError, match="no scheme 'rmf'; did you mean 'rfm'"):
        apply_playbook(t, load_playbook(), scheme="rmf")
    with pytest.raises(InputError, match="column 'segmnt'"):
        apply_playbook(t, pb, scheme="a", segment_col="segmnt")


def test_campaign_export_has_bom_and_no_personal_data(tmp_path: Path) -> None:
    path = tmp_path / "campaign.csv"
    n = export_campaign(_assignments(), load_playbook(), path, scheme="rfm")
    raw = path.read_bytes()
    assert n == 4
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    header = text.splitlines()[0].replace('"', "").split(",")
    assert header == list(CAMPAIGN_COLUMNS)
    personal = set(schema_table("identity").column_names) - {"customer_id"}
    assert not personal & set(header)
    assert "@x.cn" not in text
    assert text.splitlines()[1].startswith('"c1"')  # sorted by priority then customer


def test_campaign_export_gb18030_and_language_choice(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    export_campaign(_assignments(), load_playbook(), path, scheme="rfm", languages=["zh"], encoding="gb18030")
    text = path.read_bytes().decode("gb18030")
    header = text.splitlines()[0].replace('"', "").split(",")
    assert "offer_zh" in header and "offer" not in header
    assert "冠军客户" in text
    with pytest.raises(InputError, match="languages"):
        export_campaign(_assignments(), load_playbook(), path, scheme="rfm", languages=["fr"])
    with pytest.raises(InputError, match="encoding"):
        export_campaign(_assignments(), load_playbook(), path, encoding="latin-1")  # type: ignore[arg-type]


def test_default_path_is_packaged() -> None:
    assert default_playbook_path().name == "playbook.toml"
    assert default_playbook_path().exists()
