"""Relationship states, the customer flow and the win-back list on a hand-built base.

As of 2024-12-31 with the defaults (lost after max(3 x own cycle, 90) days, one-time
buyers after 365 days; loyal = a purchase in each of the last four 90-day periods):

  L  buys 10, 100, 190, 280 days before   -> cycle 90, 4 periods          -> loyal
  R  buys 20, 50 days before              -> cycle 30, lost after 90      -> repeat
  F  buys once 100 days before            -> lost after 365               -> first_time
  X  buys 200, 210 days before            -> cycle 10, lost after 90      -> lost
  Y  buys once 400 days before            -> 400 > 365                    -> lost
  Z  buys 300, 600 days before            -> cycle 300, lost after 900    -> repeat
     (a single 90-day cut-off would call Z lost: the rule follows Z's own rhythm)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import ibis
import pyarrow as pa
import pytest

from custlens.errors import ConfigError, InputError
from custlens.segment.rules import RuleError
from custlens.segment.state import relationship_state_from_transactions, state_flow, winback_list

AS_OF = date(2024, 12, 31)
DAYS = {"L": [10, 100, 190, 280], "R": [20, 50], "F": [100], "X": [200, 210], "Y": [400], "Z": [300, 600]}


@pytest.fixture
def tx() -> pa.Table:
    rows = []
    for cid, days in DAYS.items():
        for i, d in enumerate(days):
            when = datetime.combine(AS_OF - timedelta(days=d), datetime.min.time(), UTC)
            rows.append((cid, f"{cid}{i}", when, 50.0 if cid == "X" else 10.0))
    c, o, w, a = zip(*rows)
    return pa.table(
        {
            "customer_id": list(c),
            "order_id": list(o),
            "ordered_at": pa.array(w, pa.timestamp("us", tz="UTC")),
            "amount": list(a),
        }
    )


@pytest.fixture
def leads() -> pa.Table:
    return pa.table(
        {
            "lead_id": ["l1", "l2", "l3", "l4"],
            "customer_id": [None, None, "R", None],
            "budget": [100.0, 100.0, 0.0, 10.0],
            "decision_authority": [True, False, True, False],
            "need": [True, True, True, False],
            "industry": ["food", "food", "food", "retail"],
        }
    )


def _states(res) -> dict[str, str]:
    return {r["customer_id"]: r["segment"] for r in res.customers.to_pyarrow().to_pylist()}


def test_states_follow_each_customers_rhythm(tx) -> None:
    res = relationship_state_from_transactions(tx, as_of=AS_OF)
    assert _states(res) == {"L": "loyal", "R": "repeat", "F": "first_time", "X": "lost", "Y": "lost", "Z": "repeat"}
    rows = {r["customer_id"]: r for r in res.customers.to_pyarrow().to_pylist()}
    assert rows["Z"]["lost_after_days"] == 900 and rows["X"]["lost_after_days"] == 90
    assert rows["L"]["active_periods"] == 4 and rows["L"]["segment_zh"] == "忠诚客户"


def test_leads_become_target_potential_or_non_customer(tx, leads) -> None:
    cfg = {"target": {"rule": "industry = 'retail'"}}
    res = relationship_state_from_transactions(tx, as_of=AS_OF, leads=leads, config=cfg)
    s = _states(res)
    assert (s["l1"], s["l2"], s["l4"]) == ("potential", "non_customer", "target")
    assert s["R"] == "repeat" and "l3" not in s  # a converted lead is a buyer
    summ = {r["segment"]: r for r in res.summary.to_pyarrow().to_pylist()}
    assert summ["lost"]["customers"] == 2 and summ["lost"]["value"] == 110.0
    assert summ["potential"]["segment_zh"] == "潜在客户"


def test_p_alive_decides_lost_when_given(tx) -> None:
    p = pa.table({"customer_id": ["Z", "X"], "p_alive": [0.1, 0.9]})
    s = _states(relationship_state_from_transactions(tx, as_of=AS_OF, p_alive=p))
    assert s["Z"] == "lost" and s["X"] == "repeat" and s["Y"] == "lost"


def test_flow_between_two_dates(tx) -> None:
    flow = state_flow(tx, "2024-06-30", AS_OF).to_pyarrow().to_pylist()
    got = {(r["from_state"], r["to_state"]): r["customers"] for r in flow}
    assert got == {
        ("repeat", "loyal"): 1,
        ("(none)", "repeat"): 1,
        ("(none)", "first_time"): 1,
        ("repeat", "lost"): 1,
        ("first_time", "lost"): 1,
        ("repeat", "repeat"): 1,
    }


def test_flow_ends_in_given_states(tx) -> None:
    """With ``end_states`` (here P(alive) keeps X and drops Z) the flow ends in those states."""
    p = pa.table({"customer_id": ["Z", "X"], "p_alive": [0.1, 0.9]})
    end = relationship_state_from_transactions(tx, as_of=AS_OF, p_alive=p)
    flow = state_flow(tx, "2024-06-30", AS_OF, end_states=end).to_pyarrow().to_pylist()
    totals: dict[str, int] = {}
    for r in flow:
        totals[r["to_state"]] = totals.get(r["to_state"], 0) + r["customers"]
    sizes = end.summary.to_pyarrow()
    assert totals == {r["segment"]: r["customers"] for r in sizes.to_pylist() if r["customers"]}
    got = {(r["from_state"], r["to_state"]): r["customers"] for r in flow}
    assert got[("repeat", "repeat")] == 1 and got[("repeat", "lost")] == 1  # X stays, Z is lost
    # the recency rule's end states give the flow without end_states
    same = state_flow(tx, "2024-06-30", AS_OF, end_states=relationship_state_from_transactions(tx, as_of=AS_OF))
    assert same.to_pyarrow().equals(state_flow(tx, "2024-06-30", AS_OF).to_pyarrow())
    with pytest.raises(InputError, match="'end_states' must be relationship states as of 'end'"):
        state_flow(tx, "2024-06-30", "2024-12-30", end_states=end)


def test_winback_ranks_lost_customers_by_value(tx) -> None:
    wb = winback_list(relationship_state_from_transactions(tx, as_of=AS_OF)).to_pyarrow().to_pylist()
    assert [(r["winback_rank"], r["customer_id"], r["revenue"]) for r in wb] == [(1, "X", 100.0)]
    state = relationship_state_from_transactions(tx, as_of=AS_OF, config={"winback": {"min_orders": 1}})
    assert [r["customer_id"] for r in winback_list(state).to_pyarrow().to_pylist()] == ["X", "Y"]
    assert [r["customer_id"] for r in winback_list(state, top=1).to_pyarrow().to_pylist()] == ["X"]
    with pytest.raises(InputError, match="winback_list needs a relationship_state result"):
        winback_list(tx)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({"loyal": {"min_periods": 5}}, ConfigError, "cannot exceed 'window_periods'"),
        ({"lost": {"floor": 10}}, ConfigError, "did you mean 'floor_days'"),
        ({"target": {"rule": "industry = "}}, RuleError, r"rule '\[target\] rule'.*position 11"),
        ({"target": {"rule": "indstry = 'x'"}}, RuleError, "did you mean 'industry'"),
    ],
)
def test_bad_state_configuration(tx, leads, config, error, message) -> None:
    with pytest.raises(error, match=message):
        relationship_state_from_transactions(tx, as_of=AS_OF, leads=leads, config=config)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_states_on_every_backend(backend, tx, leads) -> None:
    t = backend.create_table("seg_state_tx", ibis.memtable(tx), overwrite=True)
    # ibis' PySpark memtable upload turns null strings into 'NaN' text (pandas round trip),
    # so the Spark copy of the leads leaves out the converted lead and its customer_id column
    ld = backend.create_table("seg_state_leads", ibis.memtable(leads.drop(["customer_id"]).slice(0, 2)), overwrite=True)
    res = relationship_state_from_transactions(t, as_of=AS_OF, leads=ld)
    s = _states(res)
    assert s["L"] == "loyal" and s["Z"] == "repeat" and s["l1"] == "potential"
