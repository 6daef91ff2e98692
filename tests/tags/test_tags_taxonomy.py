"""The taxonomy file: families, order, names, the conditions in words, and every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from custlens.errors import ConfigError, NotFoundError
from custlens.tags import KINDS, default_taxonomy_path, load_taxonomy

CATEGORIES = [{"id": "a", "name": "A", "name_zh": "甲"}, {"id": "b", "name": "B", "name_zh": "乙"}]


def _doc(**extra: object) -> dict:
    return {"category": CATEGORIES, **extra}


def test_families_give_their_keys_and_tags_are_listed_by_category() -> None:
    tax = load_taxonomy(
        _doc(
            tag=[{"id": "late", "category": "b", "kind": "rule", "when": "x > 1", "name": "Late"}],
            family=[
                {
                    "category": "a",
                    "kind": "fact",
                    "column": "region",
                    "tags": [
                        {"id": "east", "value": "east", "name": "East", "name_zh": "东"},
                        {"id": "west", "value": "west", "name": "West", "category": "b"},
                    ],
                }
            ],
        )
    )
    assert tax.ids == ["east", "late", "west"]  # category a first; in b, single tags before family members
    east = tax.tag("east")
    assert (east.kind, east.category, dict(east.spec)) == ("fact", "a", {"column": "region", "value": "east"})
    assert tax.tag("west").category == "b"  # a member's own key wins
    assert tax.tag("late").name_zh == "Late"  # no Chinese name given: the English one
    assert tax.category("a").name_zh == "甲"


def test_conditions_in_words() -> None:
    tax = load_taxonomy(
        _doc(
            tag=[
                {"id": "t1", "category": "a", "kind": "fact", "column": "region", "values": ["e", "w"], "name": "x"},
                {
                    "id": "t2",
                    "category": "a",
                    "kind": "model",
                    "column": "clv",
                    "from": 0.8,
                    "among": "order_count > 0",
                    "name": "x",
                },  # fmt: skip
                {"id": "t3", "category": "a", "kind": "model", "method": "rfm", "value": "Lost", "name": "x"},
                {
                    "id": "t4",
                    "category": "a",
                    "kind": "window",
                    "days": 30,
                    "product_category": "food",
                    "min_orders": 2,
                    "name": "x",
                },  # fmt: skip
                {"id": "t5", "category": "a", "kind": "fact", "column": "annual_sales", "min": 10, "name": "x"},
                {"id": "t6", "category": "a", "kind": "fact", "column": "listed", "value": True, "name": "x"},
            ]
        )
    )
    words = {t.id: t.definition() for t in tax.tags}
    assert words == {
        "t1": "region in ('e', 'w')",
        "t2": "clv in quantile band (0.8, 1] among order_count > 0",
        "t3": "segment_rfm = 'Lost'",
        "t4": "purchase orders >= 2 in the last 30 days and product_category in ('food')",
        "t5": "annual_sales >= 10",
        "t6": "listed = true",
    }
    table = tax.table()
    assert table.column_names == ["tag", "category", "kind", "name", "name_zh", "category_name", "category_name_zh",
                                  "definition"]  # fmt: skip
    assert table["category_name_zh"].to_pylist()[0] == "甲"


def test_the_shipped_taxonomy_covers_every_kind_in_both_languages() -> None:
    tax = load_taxonomy()
    assert Path(tax.source) == default_taxonomy_path()
    assert {t.kind for t in tax.tags} == set(KINDS)
    for t in tax.tags:
        assert t.name and t.name_zh and t.name_zh != t.name, t.id
    for c in tax.categories:
        assert c.name_zh != c.name
    # the audience of the example is expressible with the shipped tags
    assert {"high_clv", "churn_risk_high"} <= set(tax.ids)
    # the demo company's regions, product categories and sales channels have tags
    from custlens.synth import CATEGORY_MARGIN, REGION_LABELS
    from custlens.synth._vocab import CHANNELS

    values = {str(v) for t in tax.tags for key in ("value", "values", "product_category", "channel")
              for v in (t.spec.get(key) if isinstance(t.spec.get(key), list) else [t.spec.get(key)])}  # fmt: skip
    assert set(REGION_LABELS) <= values
    assert set(CATEGORY_MARGIN) <= values
    assert {"web", "app", "store"} <= values and set(CHANNELS) - values <= {"phone", "partner"}


def test_hash_changes_with_the_definitions() -> None:
    doc = _doc(tag=[{"id": "t", "category": "a", "kind": "rule", "when": "x > 1", "name": "T"}])
    one = load_taxonomy(doc)
    doc["tag"][0]["when"] = "x > 2"
    assert load_taxonomy(doc).hash != one.hash
    assert len(one.hash) == 16


def test_unknown_tag_names_the_closest() -> None:
    with pytest.raises(NotFoundError, match="no tag 'hihg_clv'; did you mean 'high_clv'"):
        load_taxonomy().tag("hihg_clv")


TAG = {"id": "t", "category": "a", "kind": "rule", "when": "x > 1", "name": "T"}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            {"kind": "rules"},
            "'kind' must be one of fact, rule, statistic, model, window; got 'rules'; did you mean 'rule'?",
        ),
        ({"category": "c"}, "'category' 'c' is not a category of the taxonomy"),
        ({"id": "Bad-Id"}, "'id' must be lower-case letters"),
        ({"id": "customer_id"}, "'customer_id' is reserved"),
        ({"wehn": "x"}, "unknown key 'wehn' for kind 'rule'; did you mean 'when'?"),
        ({"column": "x"}, "unknown key 'column' for kind 'rule' ('column' belongs to kind"),
        ({"when": ""}, "'when' must be non-empty text"),
        ({"name": None}, "missing 'name'"),
        ({"kind": "fact", "when": None, "column": "r"}, "give exactly one condition"),
        ({"kind": "fact", "when": None, "column": "r", "value": "x", "values": ["y"]}, "give exactly one condition"),
        ({"kind": "fact", "when": None, "column": "r", "values": []}, "'values' must be a non-empty list"),
        ({"kind": "fact", "when": None, "column": "r", "min": 5, "max": 1}, "'min' must be below 'max'"),
        ({"kind": "statistic", "when": None, "column": "r"}, "a statistic tag needs a quantile band"),
        ({"kind": "statistic", "when": None, "column": "r", "value": 1}, "('value' belongs to kind fact or model)"),
        ({"kind": "statistic", "when": None, "column": "r", "from": 0.9, "to": 0.5}, "0 <= 'from' < 'to' <= 1"),
        ({"kind": "statistic", "when": None, "column": "r", "from": 1.5}, "0 <= 'from' < 'to' <= 1"),
        ({"kind": "model", "when": None, "value": 1}, "exactly one of 'column'"),
        ({"kind": "model", "when": None, "method": "rfm", "from": 0.5}, "a segment tag ('method') takes 'value'"),
        ({"kind": "model", "when": None, "column": "clv", "value": 1, "among": "x > 0"}, "'among' (the population"),
        ({"kind": "window", "when": None}, "'days', a whole number >= 1; got None"),
        ({"kind": "window", "when": None, "days": 0}, "'days', a whole number >= 1; got 0"),
        ({"kind": "window", "when": None, "days": 7, "min_orders": 0}, "'min_orders' must be a whole number"),
        ({"kind": "window", "when": None, "days": 7, "channel": [1]}, "'channel' must be text or a list of text"),
        ({"kind": "window", "when": None, "days": 7, "min_amount": "x"}, "'min_amount' must be a finite number"),
    ],
)
def test_refused_tags_name_the_tag_and_the_key(change: dict, says: str) -> None:
    tag = {k: v for k, v in {**TAG, **change}.items() if v is not None}
    with pytest.raises(ConfigError) as info:
        load_taxonomy(_doc(tag=[tag]))
    assert says in str(info.value), str(info.value)
    assert "tag 1" in str(info.value)


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ({"category": CATEGORIES}, "defines no tags"),
        ({"tag": [TAG]}, "defines no categories"),
        ({"category": CATEGORIES, "tag": [TAG, TAG]}, "tag id 't' is defined twice"),
        ({"category": [*CATEGORIES, CATEGORIES[0]], "tag": [TAG]}, "category id 'a' is defined twice"),
        ({"category": CATEGORIES, "tags": [TAG]}, "unknown top-level key 'tags'; did you mean 'tag'?"),
        ({"category": CATEGORIES, "tag": [TAG], "version": 2}, "unsupported taxonomy version 2"),
        ({"category": CATEGORIES, "family": [{"category": "a", "kind": "rule"}]}, "'tags' must be a non-empty list"),
        ({"category": CATEGORIES, "family": [{"id": "f", "tags": [TAG]}]}, "a family has no 'id'"),
        ({"category": CATEGORIES, "tag": {"id": "t"}}, "'tag' must be a list of tables"),
    ],
)
def test_refused_documents(doc: dict, says: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        load_taxonomy(doc)
    assert says in str(info.value), str(info.value)


def test_files_are_named_in_errors(tmp_path: Path) -> None:
    bad = tmp_path / "tags.toml"
    bad.write_text('[[category]]\nid = "a"\nname = "A"\n[[tag]]\nid = "t"\ncategory = "a"\nkind = "rule"\nname = "T"\n')
    with pytest.raises(ConfigError, match=rf"{bad}, tag 1 \('t'\): a rule tag needs 'when'"):
        load_taxonomy(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_taxonomy(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="'definitions' must be a TOML file"):
        load_taxonomy(42)  # type: ignore[arg-type]
