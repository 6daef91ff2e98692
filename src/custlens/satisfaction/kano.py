"""Kano analysis of functional/dysfunctional question pairs.

Each respondent answers, per product attribute, a functional question ("if the product
has X, how do you feel?") and a dysfunctional one ("if it does not have X?") with one of
five answers: like, must-be, neutral, live-with, dislike. The pair maps to a category
through the evaluation table of Kano, Seraku, Takahashi & Tsuji (1984), "Attractive
quality and must-be quality", Hinshitsu 14(2), 39-48, as tabulated in Berger et al.
(1993), "Kano's methods for understanding customer-defined quality", Center for Quality
of Management Journal 2(4), 3-35, table 2 (rows functional, columns dysfunctional):

============  ====  =======  =======  =========  =======
functional    like  must-be  neutral  live-with  dislike
============  ====  =======  =======  =========  =======
like          Q     A        A        A          O
must-be       R     I        I        I          M
neutral       R     I        I        I          M
live-with     R     I        I        I          M
dislike       R     R        R        R          Q
============  ====  =======  =======  =========  =======

A attractive, O one-dimensional, M must-be, I indifferent, R reverse, Q questionable.

Per attribute: the counts; the category (most frequent; ties broken M > O > A > I > R > Q,
Berger et al. 1993 / Matzler et al. 1996); category strength (percentage of the top
category minus that of the second) and total strength ((A + O + M) / n) (Lee & Newcomb
1997); Fong's (1996) test: the two most frequent categories ``a`` and ``b`` differ
significantly (10 % level) unless ``|a - b| < 1.65 sqrt((a + b)(2n - a - b) / (2n))``; the
customer satisfaction coefficients of Berger et al. (1993): ``Better = (A + O)/(A + O + M + I)``,
``Worse = -(O + M)/(A + O + M + I)``; and DuMouchel's continuous analysis (Berger et al.
1993, section IVb): answers scored functional like 4, must-be 2, neutral 0, live-with -1,
dislike -2 and dysfunctional like -2, must-be -1, neutral 0, live-with 2, dislike 4, averaged
per attribute, with the mean self-stated importance when an importance column is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from custlens.errors import InputError
from custlens.satisfaction._data import as_arrow
from custlens.satisfaction.names import KANO_CATEGORY_NAMES

__all__ = [
    "ANSWERS",
    "CATEGORIES",
    "EVALUATION_TABLE",
    "KanoResult",
    "classify",
    "fong_significant",
    "kano",
    "kano_figure",
    "parse_answer",
]

ANSWERS = ("like", "must-be", "neutral", "live-with", "dislike")
"""The five answers, in the order 1-5."""

CATEGORIES = ("A", "O", "M", "I", "R", "Q")
TIE_ORDER = ("M", "O", "A", "I", "R", "Q")

EVALUATION_TABLE = (
    ("Q", "A", "A", "A", "O"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "R", "R", "R", "Q"),
)
"""Kano's evaluation table: ``EVALUATION_TABLE[functional][dysfunctional]`` (0-based answers)."""

FUNCTIONAL_SCORE = (4.0, 2.0, 0.0, -1.0, -2.0)
DYSFUNCTIONAL_SCORE = (-2.0, -1.0, 0.0, 2.0, 4.0)

_LABELS: dict[str, int] = {}
for _code, _words in enumerate(
    (
        (
            "like",
            "ilike",
            "ilikeit",
            "likeit",
            "delighted",
            "1",
            "我喜欢",
            "喜欢",
            "非常喜欢",
            "很喜欢",
            "满意",
            "非常满意",
        ),
        (
            "mustbe",
            "must",
            "expect",
            "iexpect",
            "iexpectit",
            "expectit",
            "itmustbethatway",
            "2",
            "理所当然",
            "理应如此",
            "应该的",
            "必须的",
            "必须",
            "本应如此",
            "必备",
        ),
        ("neutral", "iamneutral", "imneutral", "indifferent", "dontcare", "idontcare", "3", "无所谓", "中立", "不在乎"),
        (
            "livewith",
            "icanlivewith",
            "icanlivewithit",
            "canlivewith",
            "canlivewithit",
            "tolerate",
            "icantolerate",
            "icantolerateit",
            "tolerateit",
            "4",
            "能忍受",
            "可以忍受",
            "勉强接受",
            "可以接受",
            "能接受",
        ),
        (
            "dislike",
            "idislike",
            "idislikeit",
            "dislikeit",
            "idontlikeit",
            "5",
            "我不喜欢",
            "不喜欢",
            "很不喜欢",
            "非常不喜欢",
            "不能忍受",
            "无法接受",
        ),
    )
):
    for _w in _words:
        _LABELS[_w] = _code

_STRIP = re.compile(r"[\s\-_'’.,!。，！]+")


def parse_answer(value: Any) -> int:
    """The answer code 0-4 (like ... dislike) of a label, a number 1-5 or a Chinese label.

    Raises
    ------
    InputError
        For an answer that is none of these.
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if 1 <= int(value) <= 5:
            return int(value) - 1
    elif isinstance(value, (float, np.floating)) and float(value).is_integer() and 1 <= value <= 5:
        return int(value) - 1
    elif isinstance(value, str):
        key = _STRIP.sub("", value.strip().lower())
        if key in _LABELS:
            return _LABELS[key]
    raise InputError(
        f"unknown Kano answer {value!r}; expected like, must-be, neutral, live-with, dislike, "
        "1-5 in that order, or 我喜欢, 理所当然, 无所谓, 能忍受, 我不喜欢"
    )


def classify(functional: Any, dysfunctional: Any) -> str:
    """Kano category (A, O, M, I, R, Q) of one functional/dysfunctional answer pair."""
    return EVALUATION_TABLE[parse_answer(functional)][parse_answer(dysfunctional)]


def fong_significant(a: int, b: int, n: int) -> tuple[bool, float]:
    """Fong's (1996) test of the two most frequent categories; returns (significant, threshold)."""
    threshold = 1.65 * math.sqrt((a + b) * (2 * n - a - b) / (2 * n)) if n else float("nan")
    return abs(a - b) >= threshold, threshold


@dataclass
class KanoResult:
    """Per-attribute Kano statistics (a list of plain dicts, in first-seen attribute order)."""

    attributes: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The statistics keyed by attribute."""
        return {row["attribute"]: {k: v for k, v in row.items() if k != "attribute"} for row in self.attributes}

    def table(self) -> list[dict[str, Any]]:
        """One row per attribute: counts, category, strength, Fong test, Better and Worse."""
        keep = ("category", "category_strength", "fong_significant", "better", "worse")
        rows = []
        for row in self.attributes:
            flat: dict[str, Any] = {"attribute": row["attribute"], "n": row["n"]}
            flat.update({c: row["counts"][c] for c in CATEGORIES})
            flat.update({k: row[k] for k in keep})
            rows.append(flat)
        return rows


def _column(table: pa.Table, *names: str) -> list[Any] | None:
    lower = {c.lower(): c for c in table.column_names}
    for name in names:
        if name in lower:
            return table.column(lower[name]).to_pylist()
    return None


def _importance(values: list[Any], attrs: list[Any]) -> np.ndarray:
    """Self-stated importance as floats (missing: NaN); an error names the first bad row."""
    out = np.full(len(values), np.nan)
    for row, value in enumerate(values):
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            out[row] = float(value)
        except (TypeError, ValueError):
            raise InputError(
                f"row {row + 1} (attribute {attrs[row]!r}): importance {value!r} is not a number; "
                "expected a number on any scale (e.g. 1-9) or an empty cell"
            ) from None
    return out


def _codes(values: list[Any], attrs: list[Any]) -> np.ndarray:
    """Answer codes of a column; each distinct answer is parsed once."""
    keys = [(type(v).__name__, v) for v in values]
    lookup: dict[tuple[str, Any], int] = {}
    for row, key in enumerate(keys):
        if key not in lookup:  # distinct answers only
            try:
                lookup[key] = parse_answer(key[1])
            except InputError as exc:
                raise InputError(f"row {row + 1} (attribute {attrs[row]!r}): {exc}") from None
    return np.array([lookup[k] for k in keys], dtype=np.intp)


def kano(data: Any) -> KanoResult:
    """Kano statistics per attribute from one row per respondent and attribute.

    Parameters
    ----------
    data
        Table (Arrow, pandas, polars, Ibis) with columns ``attribute``, ``functional`` and
        ``dysfunctional``, optionally ``respondent`` and ``importance`` (self-stated
        importance, any numeric scale, e.g. 1-9 as in Berger et al. 1993).

    Raises
    ------
    InputError
        For missing columns or unknown answers (naming the row and the value).
    """
    t = as_arrow(data)
    attrs = _column(t, "attribute", "feature", "requirement")
    func = _column(t, "functional")
    dysf = _column(t, "dysfunctional")
    if attrs is None or func is None or dysf is None:
        raise InputError(
            f"the Kano table needs columns attribute, functional and dysfunctional (got: {', '.join(t.column_names)})"
        )
    if t.num_rows == 0:
        raise InputError("the Kano table has no rows; expected one row per respondent and attribute")
    importance = _column(t, "importance")
    codes_f = _codes(func, attrs)
    codes_d = _codes(dysf, attrs)
    table = np.array(EVALUATION_TABLE)
    cats = table[codes_f, codes_d]
    fscore = np.asarray(FUNCTIONAL_SCORE)[codes_f]
    dscore = np.asarray(DYSFUNCTIONAL_SCORE)[codes_d]
    imp = None
    if importance is not None:
        imp = _importance(importance, attrs)
    names = list(dict.fromkeys(str(a) for a in attrs))
    attr_arr = np.array([str(a) for a in attrs], dtype=object)
    rows = []
    for name in names:
        member = attr_arr == name
        counts = {c: int((cats[member] == c).sum()) for c in CATEGORIES}
        rows.append(_summarise(name, counts, fscore[member], dscore[member], None if imp is None else imp[member]))
    return KanoResult(rows)


def _summarise(
    name: str, counts: dict[str, int], fscore: np.ndarray, dscore: np.ndarray, imp: np.ndarray | None
) -> dict[str, Any]:
    n = sum(counts.values())
    ranked = sorted(CATEGORIES, key=lambda c: (-counts[c], TIE_ORDER.index(c)))
    top, second = ranked[0], ranked[1]
    pct = {c: 100.0 * counts[c] / n for c in CATEGORIES}
    aomi = counts["A"] + counts["O"] + counts["M"] + counts["I"]
    significant, threshold = fong_significant(counts[top], counts[second], n)
    row: dict[str, Any] = {
        "attribute": name,
        "n": n,
        "counts": counts,
        "percent": pct,
        "category": top,
        "category_zh": KANO_CATEGORY_NAMES[top][1],
        "second_category": second,
        "category_strength": pct[top] - pct[second],
        "total_strength": pct["A"] + pct["O"] + pct["M"],
        "fong_difference": abs(counts[top] - counts[second]),
        "fong_threshold": threshold,
        "fong_significant": significant,
        "better": (counts["A"] + counts["O"]) / aomi if aomi else float("nan"),
        "worse": -(counts["O"] + counts["M"]) / aomi if aomi else float("nan"),
        "functional_mean": float(fscore.mean()),
        "dysfunctional_mean": float(dscore.mean()),
        "functional_sd": float(fscore.std(ddof=1)) if fscore.size > 1 else float("nan"),
        "dysfunctional_sd": float(dscore.std(ddof=1)) if dscore.size > 1 else float("nan"),
    }
    if imp is not None:
        valid = imp[~np.isnan(imp)]
        row["importance_mean"] = float(valid.mean()) if valid.size else float("nan")
    return row


def kano_figure(result: KanoResult | Sequence[Mapping[str, Any]]) -> Any:
    """The Better-Worse diagram (Plotly): |Worse| on x, Better on y, quadrants at 0.5.

    ``result`` is a :class:`KanoResult` or its rows (``attribute``, ``category``,
    ``better``, ``worse``), e.g. :meth:`KanoResult.table` as stored by the analysis.
    """
    import plotly.graph_objects as go

    rows = result.attributes if isinstance(result, KanoResult) else list(result)
    fig = go.Figure(
        go.Scatter(
            x=[abs(r["worse"]) for r in rows],
            y=[r["better"] for r in rows],
            mode="markers+text",
            text=[f"{r['attribute']} ({r['category']})" for r in rows],
            textposition="top center",
            hovertemplate="%{text}<br>|Worse| %{x:.2f}<br>Better %{y:.2f}<extra></extra>",
        )
    )
    fig.add_vline(x=0.5, line_dash="dot", line_color="grey")
    fig.add_hline(y=0.5, line_dash="dot", line_color="grey")
    for x, y, code in ((0.25, 0.95, "A"), (0.75, 0.95, "O"), (0.75, 0.05, "M"), (0.25, 0.05, "I")):
        english, chinese = KANO_CATEGORY_NAMES[code]
        label = f"{english.capitalize()} {chinese}"
        fig.add_annotation(x=x, y=y, text=label, showarrow=False, font={"color": "grey"})
    fig.update_layout(
        title="Kano Better-Worse diagram",
        xaxis={"title": "Worse (absolute): dissatisfaction if absent", "range": [0, 1]},
        yaxis={"title": "Better: satisfaction if present", "range": [0, 1]},
        template="plotly_white",
    )
    return fig
