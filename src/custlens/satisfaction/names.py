"""Chinese names of the satisfaction constructs and the Kano categories, as the course texts use them.

The course text on satisfaction (客户满意度, the ACSI and Swedish models) names the
constructs 顾客预期 (expectation), 感知质量 (perceived quality), 感知价值 (perceived value),
顾客满意度 (satisfaction), 顾客抱怨 (complaints) and 顾客忠诚 (loyalty); the ECSI's image is
企业形象. Its Kano passage names three quality types: 当然质量 (must-be), 期望质量
(one-dimensional, "linear with satisfaction") and 迷人质量 (attractive); indifferent, reverse
and questionable answers take the usual names 无差异质量, 反向质量 and 可疑结果.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CONSTRUCT_NAMES_ZH", "KANO_CATEGORY_NAMES", "construct_zh", "kano_category_zh", "bilingual"]

CONSTRUCT_NAMES_ZH: dict[str, str] = {
    "Image": "企业形象",
    "Expectation": "顾客预期",
    "Quality": "感知质量",
    "Value": "感知价值",
    "Satisfaction": "顾客满意度",
    "Complaints": "顾客抱怨",
    "Loyalty": "顾客忠诚",
}
"""Chinese name of every construct of the built-in models (ACSI, ECSI, SCSB)."""

KANO_CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "A": ("attractive", "迷人质量"),
    "O": ("one-dimensional", "期望质量"),
    "M": ("must-be", "当然质量"),
    "I": ("indifferent", "无差异质量"),
    "R": ("reverse", "反向质量"),
    "Q": ("questionable", "可疑结果"),
}
"""Kano category code -> (English name, Chinese name)."""


def construct_zh(name: str) -> str:
    """The Chinese name of a built-in construct; other (user) constructs keep their own name."""
    return CONSTRUCT_NAMES_ZH.get(name, name)


def kano_category_zh(code: str) -> str:
    """The Chinese name of a Kano category code (A, O, M, I, R, Q)."""
    return KANO_CATEGORY_NAMES[code][1]


def bilingual(names: Iterable[str]) -> dict[str, str]:
    """``{name: "name 中文"}`` for labels of tables and figures (user constructs stay as they are)."""
    return {n: f"{n} {CONSTRUCT_NAMES_ZH[n]}" if n in CONSTRUCT_NAMES_ZH else n for n in names}
