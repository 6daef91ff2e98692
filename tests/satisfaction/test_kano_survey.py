"""Kano pairs stored in the long survey table: pivot, analysis, and the designed truths."""

from __future__ import annotations

import pyarrow as pa
import pytest

from custlens.errors import InputError
from custlens.satisfaction import kano, kano_answers
from custlens.synth import KANO_DESIGN, generate_company


def test_kano_answers_pivots_pairs() -> None:
    answers = pa.table(
        {
            "respondent_id": ["r1", "r1", "r2", "r2", "r2"],
            "instrument": ["kano"] * 5,
            "item": [
                "kano:speed:functional",
                "kano:speed:dysfunctional",
                "kano:speed:functional",
                "kano:speed:dysfunctional",
                "kano:gift:functional",
            ],
            "answer": ["1", "5", "like", "neutral", "1"],
        }
    )
    rows = kano_answers(answers).to_pylist()
    # r2's gift pair lacks the dysfunctional answer and is dropped
    assert rows == [
        {"respondent": "r1", "attribute": "speed", "functional": "1", "dysfunctional": "5"},
        {"respondent": "r2", "attribute": "speed", "functional": "like", "dysfunctional": "neutral"},
    ]


def test_kano_answers_rejects_malformed_item() -> None:
    answers = pa.table({"respondent_id": ["r1"], "instrument": ["kano"], "item": ["kano:speed"], "answer": ["1"]})
    with pytest.raises(InputError, match="kano:speed"):
        kano_answers(answers)


def test_kano_answers_needs_kano_items() -> None:
    answers = pa.table({"respondent_id": ["r1"], "instrument": ["ecsi"], "item": ["CUSA1"], "answer": ["7"]})
    with pytest.raises(InputError, match="no Kano items"):
        kano_answers(answers, instrument=None)


def test_demo_company_kano_design_is_recovered() -> None:
    company = generate_company(3000, seed=11)
    result = kano(kano_answers(company.survey_answers))
    found = {row["attribute"]: row["category"] for row in result.attributes}
    assert found == KANO_DESIGN
