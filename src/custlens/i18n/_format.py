"""Numbers, money, shares and dates as each language writes them.

Chinese groups large numbers by 万 (10^4) and 亿 (10^8): ``12,345`` is ``1.23万`` and
``123,456,789`` is ``1.23亿``; English uses thousands separators. Money carries the
workspace currency's symbol (``¥`` for CNY), or its code when it has no symbol.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

__all__ = ["CURRENCY_SYMBOLS", "format_number", "format_money", "format_percent", "format_date", "format_decimal"]

CURRENCY_SYMBOLS: dict[str, str] = {
    "CNY": "¥",
    "RMB": "¥",
    "JPY": "¥",
    "USD": "$",
    "HKD": "HK$",
    "TWD": "NT$",
    "EUR": "€",
    "GBP": "£",
    "KRW": "₩",
}
"""Symbols of common currency codes; other codes are written as the code and a space."""

_MISSING = "–"
_YI, _WAN = 100_000_000, 10_000


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def format_number(value: Any, lang: str, *, digits: int = 0) -> str:
    """A count or amount: ``1.23万``/``1.23亿`` in Chinese from 10,000 up, ``12,345`` in English.

    Parameters
    ----------
    value
        The number; ``None`` and non-finite numbers are written as a dash.
    lang
        ``"zh"`` or ``"en"``.
    digits
        Decimals below 10,000 (and in English at any size).
    """
    if _missing(value):
        return _MISSING
    x = float(value)
    if lang == "zh":
        size = abs(x)
        if size >= _YI:
            return f"{x / _YI:,.2f}亿"
        if size >= _WAN:
            return f"{x / _WAN:.2f}万"
    if digits == 0 and x == int(x):
        return f"{int(x):,}"
    return f"{x:,.{digits}f}"


def format_decimal(value: Any, digits: int = 3) -> str:
    """A ratio or model parameter with ``digits`` decimals (the same in every language)."""
    if _missing(value):
        return _MISSING
    return f"{float(value):,.{digits}f}"


def format_money(value: Any, lang: str, currency: str = "", *, digits: int = 0) -> str:
    """An amount of money in the workspace currency: ``¥1.42万`` (zh), ``¥14,236`` (en).

    Parameters
    ----------
    currency
        The workspace's currency code (``[workspace] currency``); empty: no symbol.
    """
    if _missing(value):
        return _MISSING
    x = float(value)
    code = (currency or "").strip().upper()
    symbol = CURRENCY_SYMBOLS.get(code, f"{code} " if code else "")
    sign = "-" if x < 0 else ""
    return f"{sign}{symbol}{format_number(abs(x), lang, digits=digits)}"


def format_percent(value: Any, digits: int = 1) -> str:
    """A share in 0..1 as a percentage: ``0.7126`` -> ``71.3%``."""
    if _missing(value):
        return _MISSING
    return f"{float(value) * 100:.{digits}f}%"


def format_date(value: Any) -> str:
    """A date or time as an ISO day (``2025-12-31``) or minute (``2025-12-31 08:15``).

    Accepts dates, times and their ISO text (``2025-12-31T08:15:02.5+00:00``); times are
    shown as given (the service gives UTC).
    """
    if value is None:
        return _MISSING
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour, value.minute) != (0, 0) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
