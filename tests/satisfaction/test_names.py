"""The constructs and Kano categories named as the course text names them.

Seed 001 (CRM02, 客户满意度): the Swedish model (瑞典顾客满意度指数模型) lists 感知质量, 顾客预期,
顾客满意度, 顾客抱怨, 顾客忠诚; the ACSI adds 感知价值; the Kano passage names 当然质量,
期望质量 and 迷人质量 ("期望质量和顾客满意度之间成线性正相关关系").
"""

from __future__ import annotations

import pandas as pd
import pytest

from custlens.satisfaction import (
    ACSI,
    CONSTRUCT_NAMES_ZH,
    ECSI,
    KANO_CATEGORY_NAMES,
    SCSB,
    construct_zh,
    fit_pls,
    kano,
    kano_category_zh,
)
from custlens.satisfaction.kano import kano_figure
from custlens.satisfaction.names import bilingual


def test_the_swedish_model_has_the_constructs_the_text_lists() -> None:
    names = [construct_zh(b.name) for b in SCSB.blocks]
    # seed 001: 瑞典顾客满意度指数模型 感知质量 顾客预期 顾客满意度 顾客抱怨 顾客忠诚
    assert sorted(names) == sorted(["感知质量", "顾客预期", "顾客满意度", "顾客抱怨", "顾客忠诚"])
    assert ("Quality", "Satisfaction") in SCSB.paths and ("Expectation", "Quality") in SCSB.paths
    assert dict((b.name, b.items) for b in SCSB.blocks)["Quality"] == ("PERQ*",)


def test_acsi_constructs_of_the_text() -> None:
    # seed 001: ACSI 由顾客满意度与其决定因素感知质量、顾客预期、感知价值及其结果因素顾客忠诚、顾客抱怨
    assert sorted(construct_zh(b.name) for b in ACSI.blocks) == sorted(
        ["顾客满意度", "感知质量", "顾客预期", "感知价值", "顾客忠诚", "顾客抱怨"]
    )
    assert all(b.name in CONSTRUCT_NAMES_ZH for b in ECSI.blocks)
    assert construct_zh("Service") == "Service"  # a user's construct keeps its name
    assert bilingual(["Quality", "Service"]) == {"Quality": "Quality 感知质量", "Service": "Service"}


def test_scsb_fits_the_mobi_items(mobi: pd.DataFrame) -> None:
    fit = fit_pls(mobi, SCSB)
    r2 = fit.r2()
    assert set(r2) == {"Quality", "Satisfaction", "Complaints", "Loyalty"}
    assert 0 < r2["Satisfaction"] < 1


def test_kano_categories_in_chinese() -> None:
    # seed 001: 当然质量 (must-be), 期望质量 (one-dimensional), 迷人质量 (attractive)
    assert kano_category_zh("M") == "当然质量"
    assert kano_category_zh("O") == "期望质量"
    assert kano_category_zh("A") == "迷人质量"
    assert set(KANO_CATEGORY_NAMES) == {"A", "O", "M", "I", "R", "Q"}
    rows = [
        {"respondent": r, "attribute": "fast", "functional": "like", "dysfunctional": "dislike"} for r in range(3)
    ] + [{"respondent": r, "attribute": "safe", "functional": "must-be", "dysfunctional": "dislike"} for r in range(3)]
    res = kano(pd.DataFrame(rows))
    got = {a["attribute"]: (a["category"], a["category_zh"]) for a in res.attributes}
    assert got == {"fast": ("O", "期望质量"), "safe": ("M", "当然质量")}
    labels = [a.text for a in kano_figure(res).layout.annotations]
    assert "Must-be 当然质量" in labels and "Attractive 迷人质量" in labels


@pytest.mark.parametrize("code", ["A", "O", "M", "I", "R", "Q"])
def test_every_category_is_bilingual(code: str) -> None:
    english, chinese = KANO_CATEGORY_NAMES[code]
    assert english.isascii() and any("\u4e00" <= ch <= "\u9fff" for ch in chinese)
