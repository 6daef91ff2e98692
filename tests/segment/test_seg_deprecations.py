"""The old calling conventions keep working for one release, with a DeprecationWarning each.

``relationship_state(transactions)`` and ``lifecycle_stage(transactions)`` (now: per-customer
features first, ``*_from_transactions`` for a log), ``customer_summary`` (now
``custlens.features.customer_features``) and the ``freq`` name of the cohort functions.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from conftest import AS_OF
from custlens.features import cohort_table, cohort_triangle, customer_features, period_values, to_frame
from custlens.segment import (
    TransactionColumns,
    customer_summary,
    lifecycle_stage,
    lifecycle_stage_from_transactions,
    relationship_state,
    relationship_state_from_transactions,
)


def _same(a: ibis.Table, b: ibis.Table) -> None:
    pd.testing.assert_frame_equal(to_frame(a, order_by="customer_id"), to_frame(b, order_by="customer_id"))


def test_state_and_lifecycle_of_a_transaction_table_warn_and_agree(small_transactions) -> None:
    with pytest.warns(DeprecationWarning, match=r"relationship_state\(\) now reads per-customer features"):
        old = relationship_state(small_transactions, as_of=AS_OF)
    _same(old.customers, relationship_state_from_transactions(small_transactions, as_of=AS_OF).customers)
    with pytest.warns(DeprecationWarning, match="call relationship_state_from_transactions"):
        relationship_state(small_transactions, as_of=AS_OF, columns=TransactionColumns())
    with pytest.warns(DeprecationWarning, match=r"lifecycle_stage\(\) now reads per-customer features"):
        old = lifecycle_stage(small_transactions, as_of=AS_OF)
    _same(old.customers, lifecycle_stage_from_transactions(small_transactions, as_of=AS_OF).customers)


def test_customer_summary_warns_and_returns_the_buyers_customer_features(small_transactions) -> None:
    with pytest.warns(DeprecationWarning, match="use custlens.features.customer_features"):
        summary, day = customer_summary(small_transactions, as_of=AS_OF)
    assert day == AS_OF
    want = customer_features(ibis.memtable(small_transactions), as_of=AS_OF)
    _same(summary, want.filter(want.order_count > 0))


def test_cohort_freq_is_a_deprecated_name_of_time_unit(small_transactions) -> None:
    t = ibis.memtable(small_transactions)
    with pytest.warns(DeprecationWarning, match="'freq' is deprecated; use 'time_unit'"):
        old = period_values(t, freq="W", as_of=AS_OF)
    pd.testing.assert_frame_equal(
        to_frame(old, order_by=["customer_id", "period_start"]),
        to_frame(period_values(t, time_unit="W", as_of=AS_OF), order_by=["customer_id", "period_start"]),
    )
    new = to_frame(cohort_table(t, time_unit="W", as_of=AS_OF))
    with pytest.warns(DeprecationWarning, match="'freq' is deprecated"):
        old_table = to_frame(cohort_table(t, freq="W", as_of=AS_OF))
    pd.testing.assert_frame_equal(
        old_table.sort_values(["cohort", "period_index"]).reset_index(drop=True),
        new.sort_values(["cohort", "period_index"]).reset_index(drop=True),
    )
    with pytest.warns(DeprecationWarning, match="'freq' is deprecated"):
        old_triangle = cohort_triangle(new, "active_customers", freq="W")
    pd.testing.assert_frame_equal(old_triangle, cohort_triangle(new, "active_customers", time_unit="W"))
