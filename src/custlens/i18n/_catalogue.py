"""The message catalogues and the translator of one language."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from custlens.errors import CustlensError, InputError, did_you_mean
from custlens.i18n._format import format_date, format_decimal, format_money, format_number, format_percent

__all__ = [
    "LANGUAGES",
    "DEFAULT_LANGUAGE",
    "MissingMessageError",
    "Translator",
    "catalogue",
    "choose_language",
    "placeholders",
]

LANGUAGES: tuple[str, ...] = ("zh", "en")
"""The languages of the pages."""

DEFAULT_LANGUAGE = "zh"
"""The language when neither the request nor the browser names one of :data:`LANGUAGES`."""

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class MissingMessageError(LookupError, CustlensError):
    """A label key is not in the catalogue of a language (a bug in a page, not the user's)."""


def _flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = str(value)
    return out


def _check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise InputError(f"unknown language {lang!r}{did_you_mean(str(lang), LANGUAGES)}; languages: zh, en")
    return lang


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """Every label of ``lang``, by dotted key (``nav.overview``), read once from ``<lang>.toml``."""
    text = resources.files("custlens.i18n").joinpath(f"{_check_language(lang)}.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(text))


def placeholders(message: str) -> frozenset[str]:
    """The ``{name}`` placeholders of a message."""
    return frozenset(_PLACEHOLDER.findall(message))


def choose_language(requested: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language: ``?lang=``, else the language cookie, else the browser's first of zh/en.

    Unknown values are ignored; with none of them the language is :data:`DEFAULT_LANGUAGE`.
    """
    for candidate in (requested, cookie):
        if candidate in LANGUAGES:
            return str(candidate)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE


class Translator:
    """Labels and number formats of one language.

    Parameters
    ----------
    lang
        ``"zh"`` or ``"en"``.
    currency
        The workspace currency code for :meth:`money` (``[workspace] currency``).
    """

    def __init__(self, lang: str, currency: str = "") -> None:
        self.lang = _check_language(lang)
        self.currency = currency
        self._messages = catalogue(lang)

    def __call__(self, key: str, **params: Any) -> str:
        """The label ``key`` with ``{placeholders}`` filled from ``params``.

        Raises
        ------
        MissingMessageError
            When the catalogue of this language has no such key.
        """
        try:
            message = self._messages[key]
        except KeyError:
            raise MissingMessageError(
                f"no label {key!r} in the {self.lang} catalogue{did_you_mean(key, self._messages)}"
            ) from None
        return message.format_map(params) if params else message

    def has(self, key: str) -> bool:
        """Whether the catalogue has ``key``."""
        return key in self._messages

    def value(self, field: str, value: Any) -> str:
        """A data value of a known vocabulary (``value.<field>.<value>``), else the value itself."""
        if value is None:
            return "–"
        key = f"value.{field}.{value}"
        return self._messages.get(key, str(value))

    def segment(self, segment: Any, segment_zh: Any) -> str:
        """A segment's name: its Chinese name in Chinese, else its name (``first_time`` as ``first time``)."""
        if self.lang == "zh" and segment_zh:
            return str(segment_zh)
        return "–" if segment is None else str(segment).replace("_", " ")

    def pick(self, row: Mapping[str, Any], field: str) -> str:
        """``row[field]``, or in Chinese ``row[field + "_zh"]`` when it has one (playbook texts)."""
        chinese = row.get(f"{field}_zh")
        if self.lang == "zh" and chinese:
            return str(chinese)
        value = row.get(field)
        return "–" if value is None else str(value)

    def num(self, value: Any, digits: int = 0) -> str:
        """A count or amount (万/亿 in Chinese)."""
        return format_number(value, self.lang, digits=digits)

    def money(self, value: Any, digits: int = 0) -> str:
        """An amount in the workspace currency."""
        return format_money(value, self.lang, self.currency, digits=digits)

    def pct(self, value: Any, digits: int = 1) -> str:
        """A share in 0..1 as a percentage."""
        return format_percent(value, digits)

    def dec(self, value: Any, digits: int = 3) -> str:
        """A ratio or parameter with ``digits`` decimals."""
        return format_decimal(value, digits)

    def date(self, value: Any) -> str:
        """A date or time (ISO)."""
        return format_date(value)
