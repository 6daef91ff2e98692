"""Permanent and temporary loss, win-back campaigns and conversion between states, by hand.

Seed 002 (第3章 客户终身价值, 客户事件预测法) names the two types of lost customers 永久流失型
and 暂时流失型; seed 004 (第二章 客户的认识) gives the success rates of selling to each kind of
customer: 6 % to potential and target customers, 15 % to first-time buyers, 50 % to repeat
and loyal customers.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime

import ibis
import pyarrow as pa
import pytest

from custlens.churn import (
    LOSS_TYPES,
    SALES_SUCCESS_RATES,
    gap_returns,
    loss_types,
    period_ends,
    return_after_gap_rate,
    state_conversion,
    winback_outcomes,
    winback_summary,
)
from custlens.errors import InputError

AS_OF = dt.date(2025, 12, 31)


def _tx(purchases: dict[str, list[str]], returns: dict[str, list[str]] | None = None) -> pa.Table:
    rows = [(c, f"{c}-{i}", d, 10.0, False) for c, days in purchases.items() for i, d in enumerate(days)]
    rows += [(c, f"{c}-r{i}", d, -5.0, True) for c, days in (returns or {}).items() for i, d in enumerate(days)]
    cid, oid, day, amount, flag = zip(*rows)
    when = [datetime.fromisoformat(d).replace(hour=12, tzinfo=UTC) for d in day]
    return pa.table(
        {
            "customer_id": list(cid),
            "order_id": list(oid),
            "ordered_at": pa.array(when, pa.timestamp("us", tz="UTC")),
            "amount": list(amount),
            "return_flag": list(flag),
        }
    )


GAPS = _tx(
    {
        # purchase days spanning 162 days over 4 gaps: cycle 40.5, threshold max(3 x 40.5, 90) = 121.5;
        # the gap of 132 days is a lapse, ended by the purchase of 2024-06-01
        "x": ["2024-01-01", "2024-01-11", "2024-01-21", "2024-06-01", "2024-06-11"],
        "y": ["2025-12-01", "2025-12-21"],  # threshold max(60, 90) = 90; bought 10 days ago
        "z": ["2024-12-31"],  # one purchase: threshold max(365, 90) = 365; 365 days ago is not more
    }
)


def test_loss_type_names_of_seed_002() -> None:
    assert LOSS_TYPES == {"permanent": "永久流失型", "temporary": "暂时流失型"}


def test_gap_returns_by_hand() -> None:
    rows = {r["customer_id"]: r for r in gap_returns(ibis.memtable(GAPS), as_of=AS_OF).to_pyarrow().to_pylist()}
    x = rows["x"]
    assert x["lost_after_days"] == pytest.approx(121.5)
    assert x["returns_after_gap"] == 1 and x["longest_gap_days"] == 132.0
    assert x["last_return_day"] == dt.date(2024, 6, 1)
    assert x["days_since_last"] == 568 and x["currently_lost"] is True
    assert (rows["y"]["returns_after_gap"], rows["y"]["currently_lost"]) == (0, False)
    assert rows["z"]["lost_after_days"] == 365.0 and rows["z"]["currently_lost"] is False
    assert rows["z"]["longest_gap_days"] is None


def test_return_after_gap_rate_by_hand() -> None:
    # followed up a year: x's closed lapse (started 2024-05-21.5, returned 10.5 days later) and x's
    # open lapse (started 2024-10-10.5, no return); y's and z's lapses would start after 2024-12-31
    got = return_after_gap_rate(GAPS, as_of=AS_OF, follow_days=365)
    assert (got["lapses"], got["returned"], got["rate"]) == (2, 1, 0.5)
    # a follow-up of 5 days: the return came 10.5 days after the lapse began, too late
    got = return_after_gap_rate(GAPS, as_of=AS_OF, follow_days=5)
    assert (got["lapses"], got["returned"], got["rate"]) == (2, 0, 0.0)
    with pytest.raises(InputError, match="'follow_days' must be a whole number of days >= 1"):
        return_after_gap_rate(GAPS, as_of=AS_OF, follow_days=0)


def test_loss_types_from_the_model_and_the_history() -> None:
    lost = pa.table({"customer_id": ["x", "w", "v", "u"]})
    p_alive = pa.table({"customer_id": ["x", "w", "v"], "p_alive": [0.05, 0.5, 0.01]})
    gaps = pa.table({"customer_id": ["x", "w", "v", "u"], "returns_after_gap": [1, 0, 0, 2]})
    rows = {r["customer_id"]: r for r in loss_types(lost, p_alive=p_alive, gaps=gaps).to_pylist()}
    assert (rows["x"]["loss_type"], rows["x"]["basis"]) == ("temporary", "returned_before")
    assert (rows["w"]["loss_type"], rows["w"]["basis"]) == ("temporary", "p_alive")
    assert (rows["v"]["loss_type"], rows["v"]["loss_type_zh"], rows["v"]["basis"]) == (
        "permanent",
        "永久流失型",
        "neither",
    )
    assert rows["u"]["p_alive"] is None and rows["u"]["loss_type_zh"] == "暂时流失型"
    stricter = {
        r["customer_id"]: r["loss_type"] for r in loss_types(lost, p_alive=p_alive, p_alive_threshold=0.6).to_pylist()
    }
    assert stricter == {"x": "permanent", "w": "permanent", "v": "permanent", "u": "permanent"}
    with pytest.raises(InputError, match="needs evidence"):
        loss_types(lost)
    with pytest.raises(InputError, match="'p_alive_threshold' must be a probability"):
        loss_types(lost, p_alive=p_alive, p_alive_threshold=1.5)


# -- win-back ---------------------------------------------------------------------------------------

WB_TX = _tx(
    {
        "p1": ["2024-01-01", "2025-06-15"],  # back 14 days after the contact
        "p2": ["2024-01-01", "2025-09-15"],  # back, but after the 90-day window
        "p3": ["2024-01-01", "2025-06-01"],  # bought on the contact day itself: not after it
        "p4": ["2024-01-01"],
        "q1": ["2024-01-01", "2025-07-01"],
        "q2": ["2024-01-01"],
        "s1": ["2024-01-01", "2025-12-20"],
    },
    returns={"p4": ["2025-07-01"]},  # a return is not a purchase
)
CAMPAIGN = pa.table(
    {
        "customer_id": ["p1", "p2", "p3", "p4", "q1", "q2", "s1"],
        "targeted_at": ["2025-06-01"] * 6 + ["2025-12-01"],
        "campaign_id": ["summer"] * 6 + ["winter"],
        "group": ["target"] * 4 + ["control"] * 2 + ["target"],
    }
)


def test_winback_outcomes_by_hand() -> None:
    out = {r["customer_id"]: r for r in winback_outcomes(CAMPAIGN, WB_TX, as_of=AS_OF).to_pylist()}
    assert out["p1"]["recovered"] is True and out["p1"]["days_to_return"] == 14
    assert out["p1"]["first_purchase_after"] == dt.date(2025, 6, 15) and out["p1"]["revenue_after"] == 10.0
    assert out["p2"]["recovered"] is False and out["p3"]["recovered"] is False
    assert out["p4"]["recovered"] is False and out["p4"]["revenue_after"] == -5.0
    assert out["p1"]["window_end"] == dt.date(2025, 8, 30) and out["p1"]["complete"] is True
    assert out["s1"]["complete"] is False and out["s1"]["recovered"] is True


def test_winback_recovered_rate_and_lift_by_hand() -> None:
    summary = {
        (r["campaign"], r["group"]): r
        for r in winback_summary(winback_outcomes(CAMPAIGN, WB_TX, as_of=AS_OF)).to_pylist()
    }
    target, control = summary[("summer", "target")], summary[("summer", "control")]
    assert (target["targeted"], target["recovered"], target["recovered_rate"]) == (4, 1, 0.25)
    assert (control["targeted"], control["recovered"], control["recovered_rate"]) == (2, 1, 0.5)
    assert target["lift"] == pytest.approx(-0.25) and control["lift"] is None
    assert summary[("winter", "target")]["lift"] is None  # no control group
    complete = winback_summary(winback_outcomes(CAMPAIGN, WB_TX, as_of=AS_OF), complete_only=True).to_pylist()
    assert {r["campaign"] for r in complete} == {"summer"}


def test_winback_errors_name_the_column() -> None:
    with pytest.raises(InputError, match="campaign: no column 'targeted_at' \\(parameter 'date_col'\\)"):
        winback_outcomes(CAMPAIGN.drop_columns(["targeted_at"]), WB_TX)
    with pytest.raises(InputError, match="'window_days' must be a whole number"):
        winback_outcomes(CAMPAIGN, WB_TX, window_days=0)


# -- conversion between states ---------------------------------------------------------------------


def test_course_success_rates_of_seed_004() -> None:
    # seed 004: 销售给潜在客户和目标客户的成功率为6%, 初次购买客户15%, 重复购买客户和忠诚客户50%
    assert SALES_SUCCESS_RATES == {"potential": 0.06, "target": 0.06, "first_time": 0.15, "repeat": 0.50, "loyal": 0.50}


def test_state_conversion_by_hand() -> None:
    tx = _tx(
        {
            "n1": ["2025-03-01", "2025-08-01"],  # first-time at the start, repeat at the end (bought)
            "n2": ["2025-05-01"],  # first-time at both dates (one purchase: lost only after 365 days)
            "r2": ["2025-05-01", "2025-06-01", "2025-09-01"],  # repeat at both dates (bought)
            "new": ["2025-10-01"],  # not a customer at the start
        }
    )
    table = state_conversion(tx, [dt.date(2025, 6, 30), AS_OF]).to_pylist()
    got = {(r["from_state"], r["to_state"]): r for r in table}
    assert set(got) == {
        ("first_time", "repeat"),
        ("first_time", "first_time"),
        ("repeat", "repeat"),
        ("(none)", "first_time"),
    }
    ft = got[("first_time", "repeat")]
    assert (ft["customers"], ft["from_customers"], ft["rate"], ft["bought_rate"]) == (1, 2, 0.5, 0.5)
    assert ft["course_success_rate"] == 0.15 and ft["from_state_zh"] == "初次购买客户"
    rep = got[("repeat", "repeat")]
    assert (rep["rate"], rep["bought_rate"], rep["course_success_rate"]) == (1.0, 1.0, 0.5)
    assert got[("(none)", "first_time")]["bought_rate"] is None
    assert period_ends("2025-12-31", periods=2, period_days=91) == [
        dt.date(2025, 7, 2),
        dt.date(2025, 10, 1),
        dt.date(2025, 12, 31),
    ]
    with pytest.raises(InputError, match="'dates' must be two or more increasing dates"):
        state_conversion(tx, [AS_OF, dt.date(2025, 6, 30)])
