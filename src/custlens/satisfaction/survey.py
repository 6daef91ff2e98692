"""From the warehouse survey table to item matrices and indices per customer segment.

The canonical ``survey_answers`` table (custlens.schema) is long: one row per
``respondent_id``, ``instrument`` and ``item`` with the ``answer`` as text. :func:`survey_matrix`
pivots it to one row per respondent and one numeric column per item;
:func:`indices_by_segment` fits a model once on all respondents and averages the 0-100
index scores per customer segment.

Why fit once: the weights define what "satisfaction" means; fitting per segment would
give each segment its own yardstick and the indices would not be comparable (and small
segments would give unstable weights). The segment index is therefore the mean of the
respondents' index scores under the common weights, reported with the respondent count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from custlens.errors import InputError
from custlens.satisfaction._data import as_arrow, parse_numbers
from custlens.satisfaction.index import satisfaction_index
from custlens.satisfaction.model import ModelSpec
from custlens.satisfaction.pls import PLSResult, fit_pls

__all__ = ["SurveyMatrix", "survey_matrix", "indices_by_segment", "kano_answers", "NO_SEGMENT", "KANO_ITEM_PREFIX"]

NO_SEGMENT = "(no segment)"


def _need(table: pa.Table, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise InputError(
            f"the {what} table has no column(s) {', '.join(missing)} (columns: {', '.join(table.column_names)})"
        )


@dataclass
class SurveyMatrix:
    """One row per respondent: ids and one float column per item (NaN = not answered)."""

    respondent_id: NDArray[Any]
    customer_id: NDArray[Any]
    items: dict[str, NDArray[np.float64]]

    def __len__(self) -> int:
        return int(self.respondent_id.size)


def survey_matrix(answers: Any, instrument: str | None = None) -> SurveyMatrix:
    """Pivot the long ``survey_answers`` table to a respondent x item matrix.

    Parameters
    ----------
    answers
        Table with ``respondent_id``, ``item``, ``answer`` and optionally ``customer_id``
        and ``instrument``.
    instrument
        Keep only this questionnaire (required when the table holds several).

    Raises
    ------
    InputError
        For a missing column, several instruments without ``instrument``, an answer that
        is not a number (naming respondent, item and value) or a repeated answer.
    """
    t = as_arrow(answers)
    _need(t, ["respondent_id", "item", "answer"], "survey_answers")
    if "instrument" in t.column_names:
        instruments = [v for v in pc.unique(t.column("instrument")).to_pylist() if v is not None]
        if instrument is not None:
            t = t.filter(pc.equal(t.column("instrument"), instrument))
            if t.num_rows == 0:
                raise InputError(
                    f"no survey answers for instrument {instrument!r} (found: {', '.join(map(str, instruments))})"
                )
        elif len(instruments) > 1:
            raise InputError(
                f"the survey table holds several instruments ({', '.join(map(str, instruments))}); choose one"
            )
    resp = np.asarray(t.column("respondent_id").cast(pa.string()).to_pylist(), dtype=object)
    item = np.asarray(t.column("item").cast(pa.string()).to_pylist(), dtype=object)
    text = t.column("answer").cast(pa.string())
    raw = np.asarray(text.to_pylist(), dtype=object)
    values, failed = parse_numbers(raw)
    if failed.any():
        bad = np.flatnonzero(failed)
        k = bad[0]
        raise InputError(
            f"survey answers must be numbers for PLS; {bad.size} are not "
            f"(first: respondent {resp[k]!r}, item {item[k]!r}, answer {raw[k]!r})"
        )
    r_codes, r_index = np.unique(resp.astype(str), return_inverse=True)
    i_codes, i_index = np.unique(item.astype(str), return_inverse=True)
    flat = r_index * len(i_codes) + i_index
    uniq, counts = np.unique(flat, return_counts=True)
    if (counts > 1).any():
        k = uniq[counts > 1][0]
        raise InputError(
            f"respondent {str(r_codes[k // len(i_codes)])!r} answered item {str(i_codes[k % len(i_codes)])!r} "
            f"{counts[counts > 1][0]} times; each respondent may answer an item once per instrument"
        )
    matrix = np.full((len(r_codes), len(i_codes)), np.nan)
    matrix[r_index, i_index] = values
    customer = np.full(len(r_codes), None, dtype=object)
    if "customer_id" in t.column_names:
        cust = np.asarray(t.column("customer_id").cast(pa.string()).to_pylist(), dtype=object)
        customer[r_index] = cust  # one customer per respondent; the last row wins
    return SurveyMatrix(r_codes.astype(object), customer, {str(c): matrix[:, k] for k, c in enumerate(i_codes)})


def indices_by_segment(
    answers: Any,
    segments: Any,
    model: str | Path | ModelSpec,
    *,
    scale: tuple[float, float] = (1, 10),
    instrument: str | None = None,
    segment_column: str = "segment",
    **fit_options: Any,
) -> dict[str, Any]:
    """0-100 indices per customer segment under one common model fit.

    Parameters
    ----------
    answers
        The long ``survey_answers`` table.
    segments
        Table with ``customer_id`` and ``segment_column``; respondents whose customer has
        no segment (or who have no customer id) are reported as ``"(no segment)"``.
    model, scale, instrument, fit_options
        Passed to :func:`fit_pls` and :func:`satisfaction_index`.

    Returns
    -------
    dict
        ``fit`` (the :class:`PLSResult`), ``overall`` (index per construct, ``n``) and
        ``segments``: a list of ``{"segment", "n", <construct>: index}`` rows.
    """
    survey = survey_matrix(answers, instrument)
    result: PLSResult = fit_pls(survey.items, model, **fit_options)
    idx = satisfaction_index(result, scale)
    seg = as_arrow(segments)
    _need(seg, ["customer_id", segment_column], "segments")
    lookup = dict(
        zip(
            seg.column("customer_id").cast(pa.string()).to_pylist(),
            seg.column(segment_column).cast(pa.string()).to_pylist(),
        )
    )
    customers = survey.customer_id[result.kept]
    labels = np.array([lookup.get(c) or NO_SEGMENT if c is not None else NO_SEGMENT for c in customers], dtype=object)
    rows = []
    for label in sorted(set(labels.tolist()), key=lambda s: (s == NO_SEGMENT, s)):
        member = labels == label
        means = idx.scores[member].mean(axis=0)
        rows.append(
            {"segment": label, "n": int(member.sum()), **{c: float(m) for c, m in zip(result.constructs, means)}}
        )
    return {
        "fit": result,
        "overall": {"n": result.n_obs, **idx.index()},
        "segments": rows,
    }


KANO_ITEM_PREFIX = "kano:"


def kano_answers(answers: Any, instrument: str | None = "kano") -> pa.Table:
    """Turn Kano items of the long survey table into one row per respondent and attribute.

    Kano question pairs are stored as items ``kano:<attribute>:functional`` and
    ``kano:<attribute>:dysfunctional`` (see ``docs/data-model.md``); the result has the
    columns :func:`custlens.satisfaction.kano` reads: ``respondent, attribute, functional,
    dysfunctional``. Pairs with either answer missing are dropped.

    Parameters
    ----------
    answers
        Table with ``respondent_id``, ``item``, ``answer`` (and ``instrument``).
    instrument
        Keep only this questionnaire (``None``: every row whose item starts with ``kano:``).

    Raises
    ------
    InputError
        For a missing column, a Kano item not of the form above, or no Kano items at all.
    """
    table = as_arrow(answers)
    _need(table, ["respondent_id", "item", "answer"], "survey answers")
    if instrument is not None and "instrument" in table.column_names:
        table = table.filter(pc.equal(table["instrument"], instrument))
    items = pc.cast(table["item"], pa.string())
    table = table.filter(pc.starts_with(items, KANO_ITEM_PREFIX))
    if table.num_rows == 0:
        raise InputError(
            f"no Kano items (items named '{KANO_ITEM_PREFIX}<attribute>:functional|dysfunctional') "
            f"in the survey answers" + (f" of instrument {instrument!r}" if instrument else "")
        )
    for item in pc.unique(pc.cast(table["item"], pa.string())).to_pylist():  # few distinct items
        pieces = item.split(":")
        if len(pieces) != 3 or not pieces[1] or pieces[2] not in ("functional", "dysfunctional"):
            raise InputError(
                f"Kano item {item!r} is not of the form 'kano:<attribute>:functional' "
                "or 'kano:<attribute>:dysfunctional'"
            )
    parts = pc.split_pattern(pc.cast(table["item"], pa.string()), ":")
    kinds = pc.list_element(parts, 2)
    long = pa.table(
        {
            "respondent": pc.cast(table["respondent_id"], pa.string()),
            "attribute": pc.list_element(parts, 1),
            "kind": kinds,
            "answer": pc.cast(table["answer"], pa.string()),
        }
    )
    functional = long.filter(pc.equal(long["kind"], "functional")).select(["respondent", "attribute", "answer"])
    dysfunctional = long.filter(pc.equal(long["kind"], "dysfunctional")).select(["respondent", "attribute", "answer"])
    joined = functional.rename_columns(["respondent", "attribute", "functional"]).join(
        dysfunctional.rename_columns(["respondent", "attribute", "dysfunctional"]),
        keys=["respondent", "attribute"],
        join_type="inner",
    )
    return joined.sort_by([("attribute", "ascending"), ("respondent", "ascending")])
