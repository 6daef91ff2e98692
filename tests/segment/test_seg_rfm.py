"""RFM scoring: cut points, bin edges, ties, threshold tables, segment maps, the CLI form.

Reference rules: R package ``rfm`` (Hebbali, rsquaredacademy/rfm), ``R/utils.R::bins`` and
``R/rfm-table-customer.R``: cut points are ``quantile(x, probs = seq(0, 1, length.out =
n + 1))`` (type 7) without the ends, plus one; the score is i when
``lower_i <= x < upper_i`` with lower = (min, cuts + 1), upper = (cuts + 1, max + 1);
recency scores are reversed. ``_r_package_scores`` below re-implements that rule so the
tests compare against it on integer data (where ``x < q + 1`` equals ``x <= q``).
"""

from __future__ import annotations

import math

import ibis
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import AS_OF
from custlens.errors import ConfigError, InputError
from custlens.segment import RFM_COLUMNS, SegmentResult, TransactionColumns, rfm, rfm_from_transactions, rfm_heatmap

# scoring-only tests with bins other than 5: a map of conditions fits any bins (the default
# 11-segment map is for bins = 5 and is rejected with other bins)
NO_RANGES = {"segment": [{"name": "scored", "when": "r_score >= 1"}]}


def _right_closed_scores(x: np.ndarray, n: int, reverse: bool) -> np.ndarray:
    """custlens' default: 1 + number of type-7 cut points strictly below x."""
    cuts = np.array([float(f"{c:.12g}") for c in np.quantile(x, np.linspace(0, 1, n + 1))[1:-1]])
    s = 1 + np.searchsorted(cuts, x, side="left")
    return n + 1 - s if reverse else s


def _r_package_scores(x: np.ndarray, n: int, reverse: bool) -> np.ndarray:
    cuts = np.array([float(f"{c:.12g}") for c in np.quantile(x, np.linspace(0, 1, n + 1))[1:-1]]) + 1  # rfm::bins + 1
    lower = np.concatenate([[x.min()], cuts])
    upper = np.concatenate([cuts, [x.max() + 1]])
    scores = np.full(len(x), -1)
    labels = list(range(n, 0, -1)) if reverse else list(range(1, n + 1))
    for i in range(n):
        scores[(x >= lower[i]) & (x < upper[i])] = labels[i]
    return scores


def _features(recency, frequency, monetary) -> pa.Table:
    """Per-customer features as custlens.features.customer_features names them (default measures:
    frequency = window_orders, monetary = window_revenue)."""
    n = len(recency)
    return pa.table(
        {
            "customer_id": [f"c{i:03d}" for i in range(n)],
            "recency_days": recency,
            "window_orders": frequency,
            "window_revenue": [float(m) for m in monetary],
        }
    )


def _scores(result) -> dict[str, np.ndarray]:
    df = result.customers.order_by("customer_id").to_pandas()
    return {k: df[k].to_numpy() for k in ("r_score", "f_score", "m_score")} | {"segment": df.segment.to_numpy()}


def test_quintile_edges_on_one_to_ten() -> None:
    # type-7 quantiles of 1..10 at .2/.4/.6/.8 are 2.8, 4.6, 6.4, 8.2 (hand computed)
    x = list(range(1, 11))
    res = rfm(_features(x, x, x))
    s = _scores(res)
    assert s["f_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert s["m_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert s["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]  # recency reversed
    ups = [c["max"] for c in res.details["cut_points"]["frequency"]]
    assert ups[:4] == pytest.approx([2.8, 4.6, 6.4, 8.2])


def test_value_on_a_cut_point_goes_to_the_lower_bin() -> None:
    # 1..9: quartile cut points are exactly 3, 5, 7 -> 3 scores 1, 4 scores 2
    x = list(range(1, 10))
    s = _scores(rfm(_features(x, x, x), bins=4, segment_map=NO_RANGES))
    assert s["f_score"].tolist() == [1, 1, 1, 2, 2, 3, 3, 4, 4]
    s_r = _scores(rfm(_features(x, x, x), bins=4, config={"cut_offset": 1}, segment_map=NO_RANGES))
    assert s_r["f_score"].tolist() == _r_package_scores(np.array(x), 4, False).tolist() == s["f_score"].tolist()


def test_a_sum_equal_to_a_cut_point_but_for_its_last_bit_goes_to_the_lower_bin() -> None:
    # 0.1 + 0.2 = 0.30000000000000004: a monetary total added in another order than the
    # cut point's must not change bins (the cut point 3 * 0.1 ... is rounded to 12 digits)
    m = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    exact = _scores(rfm(_features(list(range(9)), list(range(9)), m), bins=4, segment_map=NO_RANGES))
    noisy = [0.1, 0.1 + 0.2 - 0.1, 0.1 + 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]  # 0.30000000000000004
    assert noisy[2] != 0.3
    again = _scores(rfm(_features(list(range(9)), list(range(9)), noisy), bins=4, segment_map=NO_RANGES))
    assert again["m_score"].tolist() == exact["m_score"].tolist() == [1, 1, 1, 2, 2, 3, 3, 4, 4]


def test_ties_get_equal_scores_and_duplicate_cut_points_leave_scores_unused() -> None:
    # sorted [1,1,1,1,1,1,2,3,4,5]: cut points 1, 1, 1.4, 3.2 (type 7, hand computed)
    f = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5]
    s = _scores(rfm(_features(list(range(10)), f, f)))
    assert s["f_score"].tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # the rfm package's +1 offset: 2 < 1.4 + 1 and 4 < 3.2 + 1, so 2 scores 3 and 4 scores 4
    s_r = _scores(rfm(_features(list(range(10)), f, f), config={"cut_offset": 1}))
    assert s_r["f_score"].tolist() == [1, 1, 1, 1, 1, 1, 3, 4, 4, 5]
    assert s_r["f_score"].tolist() == _r_package_scores(np.array(f), 5, False).tolist()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=3, max_size=60), st.integers(2, 6))
def test_scores_match_the_documented_rules(values: list[int], bins: int) -> None:
    x = np.array(values)
    s = _scores(rfm(_features(values, values, values), bins=bins, segment_map=NO_RANGES))
    assert s["f_score"].tolist() == _right_closed_scores(x, bins, False).tolist()
    assert s["r_score"].tolist() == _right_closed_scores(x, bins, True).tolist()
    s_r = _scores(rfm(_features(values, values, values), bins=bins, config={"cut_offset": 1}, segment_map=NO_RANGES))
    assert s_r["f_score"].tolist() == _r_package_scores(x, bins, False).tolist()
    assert s_r["r_score"].tolist() == _r_package_scores(x, bins, True).tolist()
    # equal values always share a score; scores never decrease with the value
    for v in set(values):
        assert len(set(s["m_score"][x == v])) == 1
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(s["m_score"][order]) >= 0)


def test_from_transactions_counts_orders_returns_and_as_of(small_transactions) -> None:
    res = rfm_from_transactions(small_transactions, as_of=AS_OF)
    df = res.customers.order_by("customer_id").to_pandas().set_index("customer_id")
    assert list(res.customers.columns) == list(RFM_COLUMNS)
    assert df.recency_days.to_dict() == {"a": 30, "b": 59, "c": 26, "d": 304, "e": 21}
    assert df.frequency.to_dict() == {"a": 2, "b": 1, "c": 3, "d": 1, "e": 1}
    assert df.monetary.to_dict() == {"a": 30.0, "b": 5.0, "c": 20.0, "d": 100.0, "e": 1.0}
    summ = res.summary.to_pandas()
    assert summ.customers.sum() == 5 and math.isclose(summ.share.sum(), 1.0)
    assert math.isclose(summ.value.sum(), 156.0) and math.isclose(summ.value_share.sum(), 1.0)


def test_default_as_of_is_the_latest_date(small_transactions) -> None:
    res = rfm_from_transactions(small_transactions)
    assert str(res.as_of) == "2024-05-01"


def test_rfa_scores_quantity(small_transactions) -> None:
    res = rfm_from_transactions(small_transactions, as_of=AS_OF, config={"measures": {"value": "quantity"}})
    df = res.customers.order_by("customer_id").to_pandas().set_index("customer_id")
    # net units: c bought 3 and returned 1 (a return counts -|quantity|)
    assert df.monetary.to_dict() == {"a": 2.0, "b": 1.0, "c": 2.0, "d": 1.0, "e": 1.0}


def test_airline_style_threshold_table(small_transactions) -> None:
    res = rfm_from_transactions(small_transactions, as_of=AS_OF, thresholds=_airline_path())
    df = res.customers.order_by("customer_id").to_pandas().set_index("customer_id")
    # the text's table (tests/segment/test_seg_fidelity.py checks every bound): recency months
    # a 30/30.4375 <= 1 -> 5; b 59 days = 1.94 months -> 4; d 304 days = 9.99 months -> 2
    assert df.r_score.to_dict() == {"a": 5, "b": 4, "c": 5, "d": 2, "e": 5}
    # frequency = purchases in the last 730 days: 2,1,3,1,1 -> <= 1 is 1, 2-5 is 2
    assert df.f_score.to_dict() == {"a": 2, "b": 1, "c": 2, "d": 1, "e": 1}
    # monetary = average spend: a 15, c 20/3, d 100 -> all below 500 -> 1
    assert df.monetary["a"] == 15.0 and set(df.m_score) == {1}


def _airline_path():
    from importlib import resources

    return resources.files("custlens.segment").joinpath("defaults", "rfm_airline.toml")


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            [{"score": 1, "max": 10}, {"score": 2, "min": 8, "max": 20}, {"score": 3, "min": 20}],
            "rule 2 (score 2: [8, 20)) overlaps rule 1",
        ),
        ([{"score": 1, "max": 10}, {"score": 2, "min": 12}], "gap between rule 1"),
        ([{"score": 1, "min": 5, "max": 5}], "min 5 must be below max 5"),
        ([{"score": 1, "max": "ten"}], "'max' must be a number"),
        ([{"score": 9, "max": 10}, {"score": 2, "min": 10}], "scores must be integers 1..5"),
    ],
)
def test_bad_threshold_tables_name_the_rule(rules, message) -> None:
    x = list(range(1, 11))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        rfm(_features(x, x, x), thresholds={"frequency": rules})


def test_segment_map_first_match_wins_and_fallback() -> None:
    x = list(range(1, 11))
    seg_map = {
        "fallback": "rest",
        "segment": [
            {"name": "top", "name_zh": "顶级", "f": [4, 5]},
            {"name": "also top", "f": [5, 5]},  # never reached: 'top' matches first
            {"name": "by rule", "when": "monetary between 5 and 6"},
        ],
    }
    res = rfm(_features(x, x, x), segment_map=seg_map)
    df = res.customers.order_by("customer_id").to_pandas()
    assert df.segment.tolist() == ["rest"] * 4 + ["by rule"] * 2 + ["top"] * 4
    assert df.segment_zh.tolist()[-1] == "顶级"
    summ = res.summary.to_pandas()
    assert summ.segment.tolist() == ["top", "by rule", "rest"]


def test_default_map_names_the_classic_segments() -> None:
    x = list(range(1, 11))
    df = rfm(_features(x[::-1], x, x)).customers.order_by("customer_id").to_pandas()
    # most recent, most frequent, highest spend -> Champions (r5 f5 m5)
    assert df.segment.iloc[-1] == "Champions" and df.segment_zh.iloc[-1] == "冠军客户"
    # least recent, least frequent, lowest spend (r1 f1 m1) -> Lost
    assert df.segment.iloc[0] == "Lost"


@pytest.mark.parametrize(
    ("seg_map", "message"),
    [
        ({"segment": [{"name": "x", "r": [0, 3]}]}, "'r' must be \\[low, high\\]"),
        ({"segment": [{"name": "x", "r": [1, 2]}, {"name": "x"}]}, "used twice"),
        ({"segment": [{"name": "x", "recency": [1, 2]}]}, "unknown setting 'recency'"),
        ({"segment": [{"name": "x", "when": "r_scor >= 4"}]}, "did you mean 'r_score'"),
        ({"segment": [{"name": "x", "when": "r_score >= "}]}, "segment 'x'.*position 11"),
    ],
)
def test_bad_segment_maps_name_the_segment(seg_map, message) -> None:
    x = list(range(1, 11))
    with pytest.raises(ConfigError, match=message):
        rfm(_features(x, x, x), segment_map=seg_map)


def test_unknown_column_suggests_the_closest() -> None:
    x = list(range(1, 11))
    with pytest.raises(InputError, match="'recency_dys'.*did you mean 'recency_days'"):
        rfm(_features(x, x, x), recency_col="recency_dys")


def test_bins_out_of_range() -> None:
    x = list(range(1, 11))
    with pytest.raises(ConfigError, match="'bins' must be an integer from 2 to 10"):
        rfm(_features(x, x, x), bins=1)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_rfm_same_on_every_backend(backend, small_transactions) -> None:
    con = backend
    t = con.create_table("seg_rfm_tx", ibis.memtable(small_transactions), overwrite=True)
    res = rfm_from_transactions(t, as_of=AS_OF, bins=3, segment_map=NO_RANGES)
    ref = rfm_from_transactions(small_transactions, as_of=AS_OF, bins=3, segment_map=NO_RANGES)
    got = res.customers.to_pandas().sort_values("customer_id").reset_index(drop=True)
    exp = ref.customers.to_pandas().sort_values("customer_id").reset_index(drop=True)
    assert got.to_dict("list") == exp.to_dict("list")


def test_transaction_column_errors(small_transactions) -> None:
    with pytest.raises(InputError, match="'ordered_on'.*did you mean 'ordered_at'"):
        rfm_from_transactions(small_transactions, columns=TransactionColumns(date="ordered_on"))


def test_heatmap_counts_customers_by_r_and_f() -> None:
    x = list(range(1, 11))
    res = rfm(_features(x[::-1], x, x))
    grid = rfm_heatmap(res).to_pyarrow().to_pylist()
    assert sum(g["customers"] for g in grid) == 10
    assert {(g["r_score"], g["f_score"]) for g in grid} == {(5, 5), (4, 4), (3, 3), (2, 2), (1, 1)}
    top = next(g for g in grid if g["r_score"] == 5)
    assert top["customers"] == 2 and top["mean_monetary"] == 9.5 and top["share"] == 0.2
    with pytest.raises(InputError, match="needs an RFM result"):
        rfm_heatmap(SegmentResult("abc", None, res.customers, res.summary))


def test_chinese_eight_class_map_with_median_split() -> None:
    # bins = 2 splits each dimension at its median: 1..4 -> cut 2.5
    res = rfm(_features([1, 4, 1, 4], [4, 4, 1, 1], [4, 1, 4, 1]), bins=2, segment_map="cn8")
    zh = res.customers.order_by("customer_id").segment_zh.to_pyarrow().to_pylist()
    # c000 recent, frequent, high spend; c001 old, frequent, low; c002 recent, rare, high; c003 old, rare, low
    assert zh == ["重要价值客户", "一般保持客户", "重要发展客户", "一般挽留客户"]


@pytest.mark.parametrize(
    ("seg_map", "bins", "message"),
    [
        # the eight-class map is for bins = 2: with 5 bins most customers would be 'unscored'
        ("cn8", 5, "segment map 'cn8' uses scores up to 2 only but 'bins' is 5.*set 'bins' to 2"),
        # the default map tops out at 5: with 10 bins most customers would be 'Others'
        (None, 10, "the default segment map uses scores up to 5 only but 'bins' is 10.*set 'bins' to 5"),
        # ranges above the score range can never match
        ({"segment": [{"name": "x", "r": [3, 5]}]}, 3, "uses scores up to 5 but 'bins' is 3; set 'bins' to 5"),
        # a declared 'bins' is what the message suggests
        (
            {"bins": 4, "segment": [{"name": "x", "r": [3, 3]}]},
            5,
            "written for bins = 4 but 'bins' is 5; set 'bins' to 4",
        ),
        ({"bins": 2, "segment": [{"name": "x", "r": [3, 3]}]}, 3, "declares bins = 2 but uses scores up to 3"),
    ],
)
def test_segment_map_must_fit_the_bins(seg_map, bins, message) -> None:
    x = list(range(1, 11))
    with pytest.raises(ConfigError, match=message):
        rfm(_features(x, x, x), bins=bins, segment_map=seg_map)


def test_segment_map_declaring_its_bins_is_accepted_and_default_still_fits() -> None:
    x = list(range(1, 11))
    seg_map = {"bins": 4, "segment": [{"name": "top", "r": [3, 3]}]}
    assert rfm(_features(x, x, x), bins=4, segment_map=seg_map).customers.count().execute() == 10
    # maps written only with 'when' conditions are not checked against bins
    rfm(_features(x, x, x), bins=3, segment_map=NO_RANGES)
    assert "Others" not in rfm(_features(x[::-1], x, x)).customers.segment.to_pyarrow().to_pylist()[-1:]
