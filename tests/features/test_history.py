"""purchase_history and calibration_holdout: hand-checked cases, CDNOW against an
independent pandas computation, and lifetimes' published CDNOW calibration summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens.errors import BackendError, InputError
from custlens.features import calibration_holdout, purchase_history, to_frame
from custlens.warehouse.compat import spark_session

from .conftest import put

UTC = dt.UTC


def ts(y: int, m: int, d: int, h: int = 12) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=UTC)


def tx_table(rows: list[tuple[str, dt.datetime, float]], returns: list[bool] | None = None) -> pa.Table:
    cols = {
        "customer_id": [r[0] for r in rows],
        "ordered_at": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
        "amount": [r[2] for r in rows],
    }
    if returns is not None:
        cols["return_flag"] = returns
    return pa.table(cols)


# --- an independent computation (pandas/numpy, no Ibis) -------------------------------


def independent_summary(
    df: pd.DataFrame, end: str, freq: str, multiplier: float = 1.0, start: str | None = None
) -> pd.DataFrame:
    """frequency/recency/T/monetary_value per customer, computed with pandas groupbys."""
    day = df["ordered_at"].dt.tz_convert(None).dt.normalize()
    keep = day <= pd.Timestamp(end)
    if start is not None:
        keep &= day > pd.Timestamp(start)
    day, d = day[keep], df[keep]

    def index(days: pd.Series) -> pd.Series:
        if freq == "D":
            return (days - pd.Timestamp("1970-01-01")).dt.days
        if freq == "W":  # floor division of days since a Monday
            return (days - pd.Timestamp("1970-01-05")).dt.days // 7
        return days.dt.year * 12 + days.dt.month

    period = index(day)
    end_period = int(index(pd.Series([pd.Timestamp(end)])).iloc[0])
    per = (
        pd.DataFrame({"c": d["customer_id"].to_numpy(), "p": period.to_numpy(), "a": d["amount"].to_numpy()})
        .groupby(["c", "p"], as_index=False)["a"]
        .sum()
    )
    g = per.groupby("c")["p"]
    first = g.transform("min")
    out = pd.DataFrame(
        {
            "frequency": g.size() - 1,
            "recency": (g.max() - g.min()) / multiplier,
            "T": (end_period - g.min()) / multiplier,
        }
    )
    repeat = per[per["p"] != first].groupby("c")["a"].mean()
    out["monetary_value"] = repeat.reindex(out.index).fillna(0.0)
    out.index.name = "customer_id"
    return out


def as_indexed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("customer_id").sort_index()


# --- hand-checked ------------------------------------------------------------------------

HAND = [
    ("a", ts(2024, 1, 1), 10.0),  # Monday, first purchase
    ("a", ts(2024, 1, 1, 18), 5.0),  # same day: same period
    ("a", ts(2024, 1, 3), 20.0),  # same week, same month
    ("a", ts(2024, 2, 15), 30.0),
    ("b", ts(2024, 2, 29), 7.0),  # single purchase
    ("a", ts(2024, 3, 20), 99.0),  # after the end below: dropped
]


HAND_EXPECTED = {
    # D: days 2024-01-01, 01-03, 02-15; end 2024-03-01 is day 60 after 01-01.
    "D": ((2, 45.0, 60.0, (20.0 + 30.0) / 2), (0, 0.0, 1.0, 0.0)),
    # W: weeks of 01-01 (wk 0), 02-12 (wk 6); end 03-01 lies in the week of 02-26 (wk 8).
    "W": ((1, 6.0, 8.0, 30.0), (0, 0.0, 0.0, 0.0)),
    # M: January, February; end in March.
    "M": ((1, 1.0, 2.0, 30.0), (0, 0.0, 1.0, 0.0)),
}


def test_hand_checked(backend: object) -> None:
    t = put(backend, tx_table(HAND))
    for freq, (expected_a, expected_b) in HAND_EXPECTED.items():
        got = as_indexed(to_frame(purchase_history(t, as_of="2024-03-01", time_unit=freq)))
        assert list(got.columns) == ["frequency", "recency", "T", "monetary_value"]
        assert tuple(got.loc["a"]) == pytest.approx(expected_a), freq
        assert tuple(got.loc["b"]) == pytest.approx(expected_b), freq
    if backend.name == "pyspark":  # type: ignore[attr-defined]
        session = spark_session(backend)
        session.conf.set("spark.sql.session.timeZone", "Asia/Shanghai")
        try:
            with pytest.raises(BackendError, match="spark.sql.session.timeZone=UTC"):
                purchase_history(t, as_of="2024-03-01")
        finally:
            session.conf.set("spark.sql.session.timeZone", "UTC")


def test_returns_are_not_purchases_and_default_end_is_last_day() -> None:
    import ibis

    con = ibis.duckdb.connect()
    rows = [
        ("a", ts(2024, 1, 1), 10.0),
        ("a", ts(2024, 1, 5), 4.0),
        ("a", ts(2024, 1, 9), -3.0),
        ("a", ts(2024, 1, 11), 8.0),
    ]
    t = put(con, tx_table(rows, returns=[False, True, False, False]))
    got = as_indexed(to_frame(purchase_history(t, time_unit="D")))
    # only 01-01 and 01-11 are purchases; the default end is the last day (01-11).
    assert tuple(got.loc["a"]) == pytest.approx((1, 10.0, 10.0, 8.0))
    # the default time unit is the week (the unit the lifetime-value models default to)
    weekly = as_indexed(to_frame(purchase_history(t)))
    assert tuple(weekly.loc["a"]) == pytest.approx((1, 1.0, 1.0, 8.0))
    no_amount = to_frame(purchase_history(t, amount_col=None))
    assert no_amount["monetary_value"].isna().all()
    weeks = as_indexed(to_frame(purchase_history(t, time_unit="D", freq_multiplier=7)))
    assert weeks.loc["a", "T"] == pytest.approx(10 / 7)


def test_bad_arguments_raise_input_errors() -> None:
    import ibis

    t = put(ibis.duckdb.connect(), tx_table(HAND))
    with pytest.raises(InputError, match="did you mean 'customer_id'"):
        purchase_history(t, customer_col="customer")
    with pytest.raises(InputError, match="'time_unit' must be one of"):
        purchase_history(t, time_unit="Q")
    with pytest.raises(InputError, match="'as_of' must be a date"):
        purchase_history(t, as_of="yesterday")
    with pytest.raises(InputError, match="freq_multiplier"):
        purchase_history(t, freq_multiplier=0)
    with pytest.raises(InputError, match="must be after 'calibration_end'"):
        calibration_holdout(t, calibration_end="2024-03-01", observation_end="2024-02-01")


def test_calibration_holdout_hand_checked(backend: object) -> None:
    t = put(backend, tx_table(HAND + [("c", ts(2024, 3, 2), 1.0)]))
    got = as_indexed(
        to_frame(calibration_holdout(t, calibration_end="2024-01-31", observation_end="2024-03-31", time_unit="D"))
    )
    # b and c are first seen after the calibration end: not in the table.
    assert list(got.index) == ["a"]
    assert list(got.columns) == [
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ]
    # calibration: days 01-01 (15) and 01-03 (20), T from 01-01 to 01-31 = 30;
    # holdout: 02-15 (30) and 03-20 (99), 60 days from 01-31 to 03-31.
    assert tuple(got.loc["a"]) == pytest.approx((1, 2.0, 30.0, 20.0, 2, 64.5, 60.0))


# --- CDNOW master log: independent computation, both backends ------------------------------


@pytest.mark.parametrize("freq", ["D", "W", "M"])
def test_cdnow_master_matches_independent_computation(backend: object, cdnow_master: pd.DataFrame, freq: str) -> None:
    assert len(cdnow_master) == 69_659
    t = put(backend, cdnow_master, "cdnow")
    got = as_indexed(to_frame(purchase_history(t, time_unit=freq)))
    want = independent_summary(cdnow_master, "1998-06-30", freq)
    assert len(got) == 23_570
    assert got.index.equals(want.index)
    np.testing.assert_array_equal(got["frequency"].to_numpy(), want["frequency"].to_numpy())
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(got[col].to_numpy(), want[col].to_numpy(), rtol=1e-12, atol=1e-9, err_msg=col)
    if backend.name == "pyspark":  # type: ignore[attr-defined]
        return  # the split below runs on DuckDB; on Spark its hand-checked test covers it
    # and a calibration/holdout split at 1997-09-30 on the same data
    split = as_indexed(to_frame(calibration_holdout(t, calibration_end="1997-09-30", time_unit=freq)))
    cal = independent_summary(cdnow_master, "1997-09-30", freq)
    hold = independent_summary(cdnow_master, "1998-06-30", freq, start="1997-09-30")
    assert split.index.equals(cal.index)
    np.testing.assert_allclose(split["T_cal"], cal["T"])
    np.testing.assert_array_equal(split["frequency_cal"], cal["frequency"])
    n_hold = (hold["frequency"] + 1).reindex(cal.index).fillna(0)
    np.testing.assert_array_equal(split["frequency_holdout"], n_hold)


# --- lifetimes' published CDNOW calibration summary --------------------------------------

CAL_END = "1997-09-30"  # 1997-01-01 .. 1997-09-30 inclusive is 273 days = 39 weeks


def test_reproduces_lifetimes_cdnow_summary(
    cdnow_sample: pd.DataFrame, cdnow_summary_path: Path, cdnow_summary_monetary_path: Path
) -> None:
    """lifetimes 0.11.3 ships cdnow_customers_summary.csv (2,357 customers of the BG/NBD
    paper, Fader, Hardie & Lee 2005): frequency, recency and T in weeks, two decimals,
    measured on days (T of a 1997-01-01 buyer is 272/7 = 38.86)."""
    import ibis

    t = put(ibis.duckdb.connect(), cdnow_sample)
    got = as_indexed(to_frame(purchase_history(t, as_of=CAL_END, time_unit="D", freq_multiplier=7)))
    published = pd.read_csv(cdnow_summary_path).set_index("ID").sort_index()
    assert len(published) == 2357 and got.index.equals(published.index)
    np.testing.assert_array_equal(got["frequency"], published["frequency"])
    np.testing.assert_allclose(got["recency"], published["recency"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(got["T"], published["T"], atol=0.005 + 1e-9)
    # The same file with the mean repeat-purchase value (zbar): per-day totals, repeats only.
    money = pd.read_csv(cdnow_summary_monetary_path).set_index("ID").sort_index()
    np.testing.assert_array_equal(got["frequency"], money["x"])
    np.testing.assert_allclose(got["monetary_value"], money["zbar"], atol=0.005 + 1e-9)
    # The calibration end is pinned down: one day later every T moves by 1/7 week.
    later = to_frame(purchase_history(t, as_of="1997-10-01", time_unit="D", freq_multiplier=7))
    assert not np.allclose(later.sort_values("customer_id")["T"].to_numpy(), published["T"], atol=0.005)
    # The holdout of the paper runs 39 weeks more, to 1998-06-30.
    split = to_frame(
        calibration_holdout(t, calibration_end=CAL_END, observation_end="1998-06-30", time_unit="D", freq_multiplier=7)
    )
    assert (split["duration_holdout"] == 39.0).all()
    np.testing.assert_array_equal(split.sort_values("customer_id")["frequency_cal"], published["frequency"])


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.lists(
        st.tuples(st.sampled_from(["x", "y", "z"]), st.integers(0, 120), st.floats(0, 500, allow_nan=False)),
        min_size=1,
        max_size=30,
    ),
    freq=st.sampled_from(["D", "W", "M"]),
    end_offset=st.integers(0, 150),
)
def test_properties_against_independent(data: list, freq: str, end_offset: int) -> None:
    import ibis

    base = dt.datetime(2023, 12, 25, 9, tzinfo=UTC)
    rows = [(c, base + dt.timedelta(days=d), a) for c, d, a in data]
    end = (base + dt.timedelta(days=end_offset)).date().isoformat()
    t = put(ibis.duckdb.connect(), tx_table(rows))
    got = as_indexed(to_frame(purchase_history(t, as_of=end, time_unit=freq)))
    frame = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True)
    want = independent_summary(frame, end, freq)
    assert got.index.equals(want.index)
    np.testing.assert_allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float), atol=1e-9)
    assert (got["recency"] <= got["T"]).all()
    assert (got["frequency"] <= got["recency"]).all()  # one purchase period per period
    assert (got.loc[got["frequency"] == 0, "monetary_value"] == 0).all()


def test_to_frame_kinds() -> None:
    import ibis
    import polars as pl

    expr = purchase_history(put(ibis.duckdb.connect(), tx_table(HAND)), as_of="2024-03-01")
    arrow = to_frame(expr, "arrow", order_by="customer_id")
    assert isinstance(arrow, pa.Table) and arrow.column_names == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
    ]
    assert arrow.schema.field("frequency").type == pa.int64()
    polars = to_frame(expr, "polars", order_by="customer_id")
    assert isinstance(polars, pl.DataFrame) and polars["customer_id"].to_list() == ["a", "b"]
    assert to_frame(expr, "ibis") is expr
    with pytest.raises(InputError, match="'kind' must be one of"):
        to_frame(expr, "excel")  # type: ignore[arg-type]


def test_deprecated_freq_and_end_still_work_and_warn() -> None:
    import ibis

    t = put(ibis.duckdb.connect(), tx_table(HAND))
    want = to_frame(purchase_history(t, as_of="2024-03-01", time_unit="M"), order_by="customer_id")
    with pytest.warns(DeprecationWarning, match="'freq' is deprecated; use 'time_unit'"):
        old = purchase_history(t, as_of="2024-03-01", freq="M")
    pd.testing.assert_frame_equal(to_frame(old, order_by="customer_id"), want)
    with pytest.warns(DeprecationWarning, match="'end' is deprecated; use 'as_of'"):
        old = purchase_history(t, end="2024-03-01", time_unit="M")
    pd.testing.assert_frame_equal(to_frame(old, order_by="customer_id"), want)
    with pytest.raises(InputError, match="give 'time_unit' only"):
        purchase_history(t, time_unit="M", freq="M")
    want = to_frame(calibration_holdout(t, calibration_end="2024-01-31", time_unit="D"), order_by="customer_id")
    with pytest.warns(DeprecationWarning, match="'freq' is deprecated"):
        old = calibration_holdout(t, calibration_end="2024-01-31", freq="D")
    pd.testing.assert_frame_equal(to_frame(old, order_by="customer_id"), want)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.integers(-5, 5), st.one_of(st.none(), st.floats(-1e6, 1e6))),
        min_size=1,
        max_size=30,
        unique_by=lambda r: (r[0], r[1]),
    )
)
def test_first_by_is_argmin(rows: list[tuple[str, int, float | None]]) -> None:
    """DuckDB's arg_min (used for the first period's total) gives what Ibis' argmin gives."""
    import ibis

    from custlens.features.history import _first_by

    t = ibis.memtable(pa.table({"c": [r[0] for r in rows], "p": [r[1] for r in rows], "v": [r[2] for r in rows]}))
    v = t.v.fill_null(float("nan"))
    got = t.group_by("c").aggregate(first=_first_by(v, t.p, t)).order_by("c").to_pyarrow()
    want = t.group_by("c").aggregate(first=v.argmin(t.p)).order_by("c").to_pyarrow()
    assert "ARG_MIN" in ibis.to_sql(t.group_by("c").aggregate(first=_first_by(v, t.p, t)))
    assert got["c"].equals(want["c"])
    np.testing.assert_array_equal(got["first"].to_numpy(), want["first"].to_numpy())
