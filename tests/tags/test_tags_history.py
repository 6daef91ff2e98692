"""Validity dates: applying on a later date closes the ended assignments and opens the new ones.

Three customers and two rule tags, ``big`` (revenue >= 100) and ``recent`` (recency_days <=
30), applied on three dates (D1, D2, D3):

    D1: a 150/10, b 50/5,  c 200/100  -> big {a, c}, recent {a, b}
    D2: a 150/40, b 120/5, c 90/10    -> big {a, b}, recent {b, c}
    D3: as on D1                      -> big {a, c}, recent {a, b}
"""

from __future__ import annotations

import time
from datetime import date

import ibis
import pyarrow as pa
import pytest

from custlens.errors import InputError, NotFoundError
from custlens.tags import coverage, load_taxonomy, overlap, profile_card, stability, tag_counts, tag_history
from custlens.tags._engine import compute_tags
from custlens.tags._store import ASSIGNMENTS_TABLE, save

D1, D2, D3 = date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31)
TAXONOMY = load_taxonomy(
    {
        "category": [
            {"id": "v", "name": "Value", "name_zh": "价值"},
            {"id": "r", "name": "Recency", "name_zh": "近度"},
        ],
        "tag": [
            {"id": "big", "category": "v", "kind": "rule", "when": "revenue >= 100", "name": "Big", "name_zh": "大"},
            {
                "id": "recent",
                "category": "r",
                "kind": "rule",
                "when": "recency_days <= 30",
                "name": "Recent",
                "name_zh": "近期",
            },  # fmt: skip
        ],
    }
)
BASES = {
    D1: {"revenue": [150.0, 50.0, 200.0], "recency_days": [10, 5, 100]},
    D2: {"revenue": [150.0, 120.0, 90.0], "recency_days": [40, 5, 10]},
    D3: {"revenue": [150.0, 50.0, 200.0], "recency_days": [10, 5, 100]},
}


def _apply(con: object, day: date, n: int = 0) -> dict:
    base = con.create_table(f"base_{day:%m}_{n}", pa.table({"customer_id": ["a", "b", "c"], **BASES[day]}))
    return save(
        con, compute_tags(TAXONOMY, base), TAXONOMY, as_of=day, analysis_id=f"{day}.1", started=time.perf_counter()
    )


def _rows(con: object) -> set[tuple]:
    t = con.table(ASSIGNMENTS_TABLE).to_pyarrow().to_pylist()
    return {(r["customer_id"], r["tag"], r["valid_from"], r["valid_to"]) for r in t}


@pytest.fixture()
def con() -> object:
    return ibis.duckdb.connect()


def test_apply_twice_closes_and_opens(con: object) -> None:
    first = _apply(con, D1)
    assert (first["opened"], first["closed"], first["assignments"]) == (4, 0, 4)
    second = _apply(con, D2)
    assert (second["opened"], second["closed"], second["assignments"]) == (2, 2, 4)
    assert _rows(con) == {
        ("a", "big", D1, None),  # held on both dates: one open row
        ("c", "big", D1, D2),  # ended on D2
        ("b", "big", D2, None),  # began on D2
        ("a", "recent", D1, D2),
        ("b", "recent", D1, None),
        ("c", "recent", D2, None),
    }


def test_reapplying_the_latest_date_replaces_it(con: object) -> None:
    _apply(con, D1)
    _apply(con, D2)
    before = _rows(con)
    again = _apply(con, D2, n=1)
    assert (again["opened"], again["closed"]) == (2, 2)
    assert _rows(con) == before
    assert tag_history(con)["as_of"].to_pylist() == [D1, D2]


def test_an_earlier_date_is_refused(con: object) -> None:
    _apply(con, D2)
    with pytest.raises(InputError, match="'as_of' 2025-01-31 is before the latest tag application \\(2025-02-28\\)"):
        _apply(con, D1)


def test_history_has_gaps_and_every_date_reads_back(con: object) -> None:
    for day in (D1, D2, D3):
        _apply(con, day)
    rows = _rows(con)
    assert ("c", "big", D1, D2) in rows and ("c", "big", D3, None) in rows  # left, then came back
    assert ("b", "big", D2, D3) in rows
    counts = {d: dict(zip(*tag_counts(con, d).select(["tag", "customers"]).to_pydict().values())) for d in (D1, D2)}
    assert counts == {D1: {"big": 2, "recent": 2}, D2: {"big": 2, "recent": 2}}
    share = tag_counts(con, D2)
    assert share.column_names == ["tag", "category", "customers", "share"]
    assert share["share"].to_pylist() == pytest.approx([2 / 3, 2 / 3])
    # a date between applications reads the earlier one
    card = profile_card(con, "a", date(2025, 2, 15))
    assert card["tag"].to_pylist() == ["big", "recent"] and card["since"].to_pylist() == [D1, D1]
    card = profile_card(con, "a", D2)  # recent ended on D2; big has been held since D1
    assert card["tag"].to_pylist() == ["big"] and card["since"].to_pylist() == [D1]
    assert card.column_names == ["tag", "category", "category_name", "category_name_zh", "name", "name_zh", "kind",
                                 "since"]  # fmt: skip
    assert profile_card(con, "c")["since"].to_pylist() == [D3]  # the latest run of big for c
    with pytest.raises(NotFoundError, match="no tags applied on or before 'as_of' 2024-12-31"):
        tag_counts(con, date(2024, 12, 31))


def test_stability_between_two_dates(con: object) -> None:
    _apply(con, D1)
    _apply(con, D2)
    table = stability(con, D1, D2).to_pylist()
    # big: {a, c} -> {a, b}: kept 1, entered 1 (b), left 1 (c), Jaccard 1 / 3
    assert table == [
        {
            "tag": "big",
            "customers_start": 2,
            "customers_end": 2,
            "kept": 1,
            "entered": 1,
            "left": 1,
            "stability": pytest.approx(1 / 3),
        },  # fmt: skip
        {
            "tag": "recent",
            "customers_start": 2,
            "customers_end": 2,
            "kept": 1,
            "entered": 1,
            "left": 1,
            "stability": pytest.approx(1 / 3),
        },  # fmt: skip
    ]
    with pytest.raises(InputError, match="'end' must describe a later application"):
        stability(con, D2, date(2025, 2, 20))


def test_coverage_and_overlap_read_the_stored_assignments(con: object) -> None:
    _apply(con, D2)
    cov = coverage(con).to_pylist()
    assert [(r["category"], r["tags"], r["customers"]) for r in cov] == [("v", 1, 2), ("r", 1, 2), ("(all)", 2, 3)]
    assert cov[-1]["coverage"] == 1.0
    ov = overlap(con).to_pylist()
    # big {a, b}, recent {b, c}: both {b}, Jaccard 1 / 3
    assert ov == [{"tag_a": "big", "tag_b": "recent", "customers_a": 2, "customers_b": 2, "both": 1,
                   "jaccard": pytest.approx(1 / 3)}]  # fmt: skip
    with pytest.raises(InputError, match="'tags': unknown tag 'bgi'; did you mean 'big'"):
        overlap(con, ["bgi", "recent"])
