"""Every label of the pages, in Chinese and English, and numbers as each language writes them.

One message catalogue per language (``zh.toml``, ``en.toml`` beside this module) holds
every label the dashboard shows; keys are dotted (``nav.overview``) and both catalogues
hold the same keys with the same ``{placeholders}`` (a test keeps them equal). A
:class:`Translator` looks labels up for one language and formats numbers, money, shares
and dates (:mod:`custlens.i18n._format`: 万 and 亿 in Chinese, thousands separators in
English, the workspace currency's symbol).
"""

from __future__ import annotations

from custlens.i18n._catalogue import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    MissingMessageError,
    Translator,
    catalogue,
    choose_language,
    placeholders,
)
from custlens.i18n._format import (
    CURRENCY_SYMBOLS,
    format_date,
    format_decimal,
    format_money,
    format_number,
    format_percent,
)

__all__ = [
    "CURRENCY_SYMBOLS",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "MissingMessageError",
    "Translator",
    "catalogue",
    "choose_language",
    "format_date",
    "format_decimal",
    "format_money",
    "format_number",
    "format_percent",
    "placeholders",
]
