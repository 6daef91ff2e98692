"""Every page in Chinese shows Chinese (and in English, English), numbers as each language writes them.

A page's own text comes from the catalogues; data values shown as recorded (customer ids,
names, cities, the library's messages under "details") sit in elements marked
``translate="no"``. The scan reads every text node and label attribute outside those
elements, and every label of every chart's figure.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from custlens.access import can
from custlens.web import PAGES

from .conftest import Site, page_urls

pytestmark = pytest.mark.xdist_group("web")

ALLOWED_LATIN = {"custlens", "Kano", "Better", "Worse", "Excel", "Parquet", "Argon2id", "App", "and", "or", "not"}
"""Words that stay in Latin letters in Chinese text: the product, Kano's coefficients, file formats, "App"
(written so in Chinese) and the rule language's keywords."""

LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
LABEL_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def foreign_words(text: str, lang: str) -> list[str]:
    """Words of the other language in ``text``: Latin words in Chinese (bar acronyms and names), CJK in English."""
    if lang == "en":
        return CJK.findall(text)
    return [w for w in LATIN_WORD.findall(text) if not (w.isupper() or w in ALLOWED_LATIN or len(w) == 1)]


class PageText(HTMLParser):
    """Text a reader sees outside data values (``translate="no"``), scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []

    def _data_value(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        skip = a.get("translate") == "no" or tag in ("script", "style", "code", "pre")
        if not skip and not self._data_value():
            self.texts += [str(a[k]) for k in LABEL_ATTRIBUTES if a.get(k)]
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if data.strip() and not self._data_value():
            self.texts.append(data.strip())


def page_text(html: str) -> list[str]:
    parser = PageText()
    parser.feed(html)
    return parser.texts


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def figure_labels(figure: dict[str, Any]) -> list[str]:
    """Every label a reader sees in a figure: titles, axes, legend, annotations, trace names, texts, hovers."""
    layout = figure.get("layout", {})
    labels = [
        (layout.get("title") or {}).get("text"),
        ((layout.get("legend") or {}).get("title") or {}).get("text"),
    ]
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")):
            labels.append(((axis or {}).get("title") or {}).get("text"))
    labels += [a.get("text") for a in layout.get("annotations", [])]
    for trace in figure.get("data", []):
        labels += [trace.get("name"), ((trace.get("colorbar") or {}).get("title") or {}).get("text")]
        labels += _strings(trace.get("text")) + _strings(trace.get("hovertext")) + _strings(trace.get("hovertemplate"))
        labels += [v for v in _strings(trace.get("x")) + _strings(trace.get("y")) if not v.replace(".", "").isdigit()]
        labels += _strings((trace.get("node") or {}).get("label"))
        labels += _strings((trace.get("node") or {}).get("hovertemplate"))
        labels += _strings((trace.get("link") or {}).get("hovertemplate"))
    clean = re.compile(r"%\{[^}]*\}|<br>|<extra></extra>|<extra>|</extra>")
    return [clean.sub(" ", label) for label in labels if label]


def _figures(html: str) -> list[dict[str, Any]]:
    return [json.loads(html_lib.unescape(f)) for f in re.findall(r'data-figure="([^"]*)"', html)]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", ["admin", "service"])
def test_every_page_speaks_the_language_of_its_reader(site: Site, clients: dict, lang: str, role: str) -> None:
    client = clients[(role, lang)]
    problems = []
    for url in page_urls(site):
        if not can(
            role, PAGES[("GET", url.split("?")[0] if not url.startswith("/customers/") else "/customers/{customer_id}")]
        ):
            continue
        html = client.get(url).text
        assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in html, url
        for text in page_text(html):
            if words := foreign_words(text, lang):
                problems.append(f"{url}: {text!r} ({', '.join(words)})")
        for figure in _figures(html):
            for label in figure_labels(figure):
                if words := foreign_words(label, lang):
                    problems.append(f"{url} chart: {label!r} ({', '.join(words)})")
    assert not problems, "\n".join(problems[:40])


def test_the_scan_finds_words_of_the_other_language() -> None:
    assert foreign_words("客户 Champions 的 RFM 得分", "zh") == ["Champions"]
    assert foreign_words("Customers 客户", "en") == ["客", "户"]
    assert page_text('<p>客户 <span translate="no">C0001 Suzhou</span> 苏州</p>') == ["客户", "苏州"]
    assert page_text('<input aria-label="customer"><td translate="no"><b>x</b></td>y') == ["customer", "y"]


def test_the_login_page_in_both_languages(site: Site) -> None:
    client = site.anonymous()
    for lang in ("zh", "en"):
        html = client.get("/login", params={"lang": lang}).text
        problems = [t for t in page_text(html) if foreign_words(t, lang)]
        assert not problems, (lang, problems)


def test_chinese_pages_write_large_numbers_with_wan_and_yi_and_the_currency(site: Site, clients: dict) -> None:
    zh = clients[("admin", "zh")].get("/").text
    en = clients[("admin", "en")].get("/").text
    revenue = site.service.analysis().details["overview"]["revenue"]
    assert f"¥{revenue / 10_000:.2f}万" in zh
    assert f"¥{revenue:,.0f}" in en and "万" not in en


def test_the_language_choice_is_kept(site: Site) -> None:
    client = site.anonymous()
    answer = client.get("/login", params={"lang": "en"})
    assert "custlens_lang=en" in answer.headers["set-cookie"]
    assert "Sign in" in client.get("/login").text
    assert "登录" in client.get("/login", params={"lang": "zh"}).text
    assert "登录" in client.get("/login").text
    browser = site.anonymous(headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Sign in" in browser.get("/login").text
