"""The message catalogues and the number formats of the two languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from custlens.i18n import (
    LANGUAGES,
    MissingMessageError,
    Translator,
    catalogue,
    choose_language,
    format_money,
    format_number,
    format_percent,
    placeholders,
)

WEB = Path(__file__).parents[2] / "src" / "custlens" / "web"
TEMPLATE_KEY = re.compile(r"""\bt\(\s*['"]([A-Za-z0-9_.()]+)['"]\s*[,)]""")
DYNAMIC_KEY = re.compile(r"""\bt\(\s*['"]([A-Za-z0-9_.]+\.)['"]\s*~""")
PYTHON_KEY = re.compile(r"""(?:\bt|ctx\.t)\(\s*f?["']([A-Za-z0-9_.{}]+)["']""")


def test_both_languages_hold_the_same_keys() -> None:
    zh, en = set(catalogue("zh")), set(catalogue("en"))
    assert not zh - en, f"keys only in zh.toml: {sorted(zh - en)}"
    assert not en - zh, f"keys only in en.toml: {sorted(en - zh)}"


def test_both_languages_fill_the_same_placeholders() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    differ = [k for k in zh if placeholders(zh[k]) != placeholders(en[k])]
    assert not differ, f"placeholders differ between zh and en: {differ}"


SAME_IN_BOTH = {
    "lang.zh": "each language is named in its own language",
    "lang.en": "each language is named in its own language",
    "nav.rfm": "RFM is the name of the method in both",
}


def test_no_label_is_empty_or_left_in_english() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    assert all(v.strip() for v in zh.values()) and all(v.strip() for v in en.values())
    same = {k for k in zh if zh[k] == en[k]}
    assert same == set(SAME_IN_BOTH), f"labels not translated: {sorted(same - set(SAME_IN_BOTH))}"


def _template_keys() -> tuple[set[str], set[str]]:
    keys, prefixes = set(), set()
    for path in (WEB / "templates").glob("*.html"):
        text = path.read_text(encoding="utf-8")
        keys |= set(TEMPLATE_KEY.findall(text))
        prefixes |= set(DYNAMIC_KEY.findall(text))
    return keys, prefixes


def test_every_key_a_template_names_is_in_the_catalogue() -> None:
    keys, prefixes = _template_keys()
    assert keys, "no t('...') found in the templates: the scan is broken"
    for lang in LANGUAGES:
        missing = sorted(k for k in keys if k not in catalogue(lang))
        assert not missing, f"templates use keys missing from {lang}.toml: {missing}"
        empty = sorted(p for p in prefixes if not any(k.startswith(p) for k in catalogue(lang)))
        assert not empty, f"templates build keys under prefixes {lang}.toml lacks: {empty}"


def test_every_key_the_python_code_names_is_in_the_catalogue() -> None:
    keys = set()
    for path in WEB.glob("*.py"):
        keys |= set(PYTHON_KEY.findall(path.read_text(encoding="utf-8")))
    fixed = {k for k in keys if "{" not in k}
    assert fixed, "no t('...') found in custlens.web: the scan is broken"
    for lang in LANGUAGES:
        missing = sorted(k for k in fixed if k not in catalogue(lang))
        assert not missing, f"custlens.web uses keys missing from {lang}.toml: {missing}"
        for key in keys - fixed:  # f-strings: the prefix must exist
            prefix = key.split("{")[0]
            assert any(k.startswith(prefix) for k in catalogue(lang)), (lang, key)


def test_a_missing_key_is_an_error_that_names_it() -> None:
    with pytest.raises(MissingMessageError, match="nav.overviw.*did you mean 'nav.overview'"):
        Translator("zh")("nav.overviw")


def test_vocabulary_values_and_segment_names() -> None:
    zh, en = Translator("zh"), Translator("en")
    assert zh.value("risk_band", "high") == "高" and en.value("risk_band", "high") == "high"
    assert zh.value("city", "Suzhou") == "Suzhou"  # not a vocabulary: shown as recorded
    assert zh.segment("Champions", "冠军客户") == "冠军客户"
    assert en.segment("Champions", "冠军客户") == "Champions"
    assert zh.segment("other", "") == "other"
    assert en.segment("most_valuable", "最有价值客户") == "most valuable"
    row = {"offer": "Welcome series", "offer_zh": "欢迎礼包"}
    assert zh.pick(row, "offer") == "欢迎礼包" and en.pick(row, "offer") == "Welcome series"


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (0, "0", "0"),
        (9_999, "9,999", "9,999"),
        (12_345, "1.23万", "12,345"),
        (1_423_560.28, "142.36万", "1,423,560"),
        (99_999_999, "10000.00万", "99,999,999"),
        (123_456_789, "1.23亿", "123,456,789"),
        (-12_345, "-1.23万", "-12,345"),
        (None, "–", "–"),
        (float("nan"), "–", "–"),
    ],
)
def test_numbers(value: float | None, zh: str, en: str) -> None:
    assert format_number(value, "zh") == zh
    assert format_number(value, "en") == en


def test_money_carries_the_workspace_currency() -> None:
    assert format_money(12_345, "zh", "CNY") == "¥1.23万"
    assert format_money(123_456_789, "zh", "cny") == "¥1.23亿"
    assert format_money(12_345, "en", "CNY") == "¥12,345"
    assert format_money(-500, "en", "USD") == "-$500"
    assert format_money(12.5, "en", "CHF", digits=2) == "CHF 12.50"
    assert format_money(12_345, "en", "") == "12,345"
    assert format_percent(0.71262) == "71.3%" and format_percent(None) == "–"


@pytest.mark.parametrize(
    ("requested", "cookie", "accept", "chosen"),
    [
        ("en", "zh", "zh-CN", "en"),
        (None, "en", "zh-CN", "en"),
        ("fr", None, "en-US,en;q=0.9", "en"),
        (None, None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, None, None, "zh"),
    ],
)
def test_the_page_language(requested: str | None, cookie: str | None, accept: str | None, chosen: str) -> None:
    assert choose_language(requested, cookie, accept) == chosen
