"""The 0-100 index, the importance-performance map and indices per customer segment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from custlens.errors import InputError
from custlens.satisfaction.ipma import ipma, ipma_figure
from custlens.satisfaction.pls import fit_pls
from custlens.satisfaction.survey import NO_SEGMENT, indices_by_segment, survey_matrix


def test_index_follows_the_formula(mobi: pd.DataFrame) -> None:
    res = fit_pls(mobi, "ecsi")
    idx = res.index(scale=(1, 10))
    items = ["CUSA1", "CUSA2", "CUSA3"]
    w = np.array([res.outer_weights()["Satisfaction"][i] for i in items]) / mobi[items].std().to_numpy()
    w = w / w.sum()
    expected = ((mobi[items].to_numpy() @ w - 1) / 9 * 100).mean()
    assert idx.index()["Satisfaction"] == pytest.approx(expected)
    assert sum(idx.weights["Satisfaction"].values()) == pytest.approx(1.0)
    assert np.all((idx.scores >= 0) & (idx.scores <= 100))


def test_index_does_not_depend_on_the_answer_scale(mobi: pd.DataFrame) -> None:
    a = fit_pls(mobi, "ecsi").index(scale=(1, 10)).index()
    b = fit_pls((mobi - 1) / 9 * 100, "ecsi").index(scale=(0, 100)).index()
    for k in a:
        assert a[k] == pytest.approx(b[k])


def test_index_single_item_block_is_rescaled_mean(mobi: pd.DataFrame) -> None:
    idx = fit_pls(mobi, "ecsi").index()
    assert idx.index()["Complaints"] == pytest.approx(((mobi["CUSCO"] - 1) / 9 * 100).mean())


def test_negative_weight_names_construct_and_item(mobi: pd.DataFrame) -> None:
    data = mobi.copy()
    data["CUSL2"] = 11 - data["CUSL2"]  # a reverse-coded item left as it is
    res = fit_pls(data, "ecsi")
    with pytest.raises(InputError, match="construct 'Loyalty': item 'CUSL2' has a negative outer weight"):
        res.index()


def test_answers_outside_the_scale_are_errors(mobi: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="scale 1-5"):
        fit_pls(mobi, "ecsi").index(scale=(1, 5))
    with pytest.raises(InputError, match="lowest < highest"):
        fit_pls(mobi, "ecsi").index(scale=(10, 1))


def test_ipma_importance_is_the_unstandardised_total_effect(mobi: pd.DataFrame) -> None:
    res = fit_pls(mobi, "ecsi")
    data = ipma(res, "Loyalty")
    scores = res.index().scores
    names = res.constructs
    # direct check for a predecessor with a single path into the target chain:
    # Complaints -> Loyalty is direct only, so its importance is its OLS coefficient
    pred = [names.index(c) for c in ("Image", "Satisfaction", "Complaints")]
    design = np.column_stack([np.ones(len(scores)), scores[:, pred]])
    coef = np.linalg.lstsq(design, scores[:, names.index("Loyalty")], rcond=None)[0]
    rows = {r["construct"]: r for r in data["rows"]}
    assert rows["Complaints"]["importance"] == pytest.approx(coef[3])
    assert rows["Satisfaction"]["performance"] == pytest.approx(res.index().index()["Satisfaction"])
    assert set(rows) == {"Image", "Expectation", "Quality", "Value", "Satisfaction", "Complaints"}
    fig = ipma_figure(data)
    assert len(fig.data[0].x) == 6
    with pytest.raises(InputError, match="not a construct"):
        ipma(res, "Nope")


def _long(mobi: pd.DataFrame) -> pd.DataFrame:
    wide = mobi.assign(
        respondent_id=[f"r{i:03d}" for i in range(len(mobi))], customer_id=[f"c{i:03d}" for i in range(len(mobi))]
    )
    long = wide.melt(id_vars=["respondent_id", "customer_id"], var_name="item", value_name="answer")
    long["answer"] = long["answer"].astype(str)
    long["instrument"] = "ecsi-2026"
    return long


def test_survey_pivot_rebuilds_the_item_matrix(mobi: pd.DataFrame) -> None:
    survey = survey_matrix(pa.Table.from_pandas(_long(mobi)))
    assert len(survey) == 250
    assert list(survey.respondent_id[:2]) == ["r000", "r001"]
    np.testing.assert_array_equal(survey.items["PERQ3"], mobi["PERQ3"].to_numpy(float))
    assert survey.customer_id[5] == "c005"


def test_survey_pivot_errors(mobi: pd.DataFrame) -> None:
    long = _long(mobi.head(5))
    bad = long.copy()
    bad.loc[3, "answer"] = "ten"
    with pytest.raises(InputError, match="respondent 'r003', item 'CUEX1', answer 'ten'"):
        survey_matrix(bad)
    with pytest.raises(InputError, match="answered item 'CUEX1' 2 times"):
        survey_matrix(pd.concat([long, long.head(1)]))
    two = pd.concat([long, long.assign(instrument="kano")])
    with pytest.raises(InputError, match="several instruments"):
        survey_matrix(two)
    assert len(survey_matrix(two, instrument="kano")) == 5
    with pytest.raises(InputError, match="no column"):
        survey_matrix(long.drop(columns="answer"))


def test_indices_by_segment_average_common_scores(mobi: pd.DataFrame) -> None:
    long = _long(mobi)
    segments = pd.DataFrame(
        {"customer_id": [f"c{i:03d}" for i in range(0, 250, 2)], "segment": ["gold"] * 60 + ["silver"] * 65}
    )
    out = indices_by_segment(long, segments, "ecsi")
    rows = {r["segment"]: r for r in out["segments"]}
    assert rows["gold"]["n"] == 60 and rows["silver"]["n"] == 65 and rows[NO_SEGMENT]["n"] == 125
    overall = fit_pls(mobi, "ecsi").index().index()
    for c, value in overall.items():
        assert out["overall"][c] == pytest.approx(value)
        weighted = sum(r["n"] * r[c] for r in rows.values()) / 250
        assert weighted == pytest.approx(value)
    gold = np.arange(0, 120, 2)
    scores = fit_pls(mobi, "ecsi").index().scores
    assert rows["gold"]["Satisfaction"] == pytest.approx(scores[gold, 4].mean())
