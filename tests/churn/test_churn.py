"""Churn outputs: bands, churn rates (observed and model-based), the at-risk list."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.churn import (
    at_risk_list,
    band_from_overdue,
    band_from_p_alive,
    churn_rate_by_period,
    churn_report,
    churn_table,
    expected_churn_rate,
    model_churn_rate,
)
from custlens.clv import BetaGeo, ModifiedBetaGeo, _bgnbd, _mbgnbd, _pareto_nbd
from custlens.errors import InputError


def summary() -> pa.Table:
    return pa.table(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "frequency": [2, 0, 5, 1, 3],
            "recency": [20.0, 0.0, 50.0, 5.0, 30.0],
            "T": [40.0, 30.0, 52.0, 60.0, 31.0],
            "p_alive": [0.8, 0.5, 0.95, 0.1, 0.3],
            "clv": [100.0, 20.0, 300.0, 50.0, 80.0],
        }
    )


def test_p_alive_bands_defaults_and_edges() -> None:
    got = band_from_p_alive([1.0, 0.7, 0.69, 0.4, 0.39, 0.15, 0.149, 0.0])
    assert got.tolist() == ["low", "low", "medium", "medium", "high", "high", "lost", "lost"]


def test_overdue_bands_defaults_and_unknown() -> None:
    got = band_from_overdue([0.0, 1.5, 1.6, 2.5, 3.0, 4.0, 4.1, np.nan])
    assert got.tolist() == ["low", "low", "medium", "medium", "high", "high", "lost", "unknown"]


@settings(max_examples=50, deadline=None)
@given(p1=st.floats(0, 1), p2=st.floats(0, 1))
def test_bands_monotone_in_p_alive(p1: float, p2: float) -> None:
    order = ["low", "medium", "high", "lost"]
    lo, hi = sorted((p1, p2))
    b_lo, b_hi = band_from_p_alive([lo, hi])
    assert order.index(b_lo) >= order.index(b_hi)


def test_band_threshold_errors() -> None:
    with pytest.raises(InputError, match="'p_alive_thresholds' must be strictly decreasing"):
        band_from_p_alive([0.5], thresholds=(0.4, 0.6, 0.1))
    with pytest.raises(InputError, match="'overdue_thresholds' must be strictly increasing"):
        band_from_overdue([1.0], thresholds=(3, 2, 1))
    with pytest.raises(InputError, match="'p_alive' must lie in \\[0, 1\\]; row 1"):
        band_from_p_alive([0.5, 1.2])


def test_churn_table_rhythm_and_dates() -> None:
    out = churn_table(summary(), time_unit="D", as_of="2024-06-30").to_pydict()
    # a: gap 20/2 = 10 days, 20 days since last purchase -> overdue 2, next order was due 10 days ago
    assert out["mean_gap"][0] == pytest.approx(10.0)
    assert out["overdue_ratio"][0] == pytest.approx(2.0)
    assert out["next_order_in"][0] == pytest.approx(-10.0)
    assert str(out["expected_next_order"][0]) == "2024-06-20"
    # b never repeated: median gap of the repeat customers (10, 10, 5, 10) = 10
    assert out["gap_source"][1] == "population" and out["mean_gap"][1] == pytest.approx(10.0)
    assert out["risk_band"] == ["low", "medium", "low", "lost", "high"]
    np.testing.assert_allclose(out["value_at_stake"], [20.0, 10.0, 15.0, 45.0, 56.0])


def test_churn_table_weeks_and_overdue_basis() -> None:
    t = summary().drop_columns(["p_alive"])
    out = churn_table(t, band_on="auto")  # weeks are the default time unit
    assert set(out.column("band_basis").to_pylist()) == {"overdue"}
    np.testing.assert_allclose(out.column("days_since_last").to_numpy(), [140, 210, 14, 385, 7])
    assert np.isnan(out.column("value_at_stake").to_numpy()).all()


def test_at_risk_list_ranking() -> None:
    lst = churn_report(summary(), bands=("medium", "high", "lost"))
    assert lst.column("customer_id").to_pylist() == ["e", "d", "b"]
    assert lst.column("rank").to_pylist() == [1, 2, 3]
    top1 = at_risk_list(churn_table(summary()), bands=("lost",), top=1)
    assert top1.column("customer_id").to_pylist() == ["d"]


def test_value_column_fallback_to_historical_value() -> None:
    t = summary().drop_columns(["clv"]).append_column("monetary_value", pa.array([10.0, 0, 20, 5, 8]))
    out = churn_table(t)
    np.testing.assert_allclose(out.column("value").to_numpy(), [20, 0, 100, 5, 24])


def test_churn_table_errors() -> None:
    with pytest.raises(InputError, match="lacks column\\(s\\) T"):
        churn_table(summary().drop_columns(["T"]))
    bad = summary().set_column(2, "recency", pa.array([50.0, 0, 50, 5, 30]))
    with pytest.raises(InputError, match="first: customer 'a'"):
        churn_table(bad)
    with pytest.raises(InputError, match="value column 'margin' is not in the table"):
        churn_table(summary(), value_column="margin")
    with pytest.raises(InputError, match="needs a 'p_alive' column"):
        churn_table(summary().drop_columns(["p_alive"]), band_on="p_alive")
    with pytest.raises(InputError, match="'time_unit' must be one of"):
        churn_table(summary(), time_unit="Y")
    gap = summary().set_column(1, "frequency", pa.array([2.0, None, 5.0, 1.0, None]))
    with pytest.raises(InputError, match=r"column 'frequency' has 2 missing values \(first: customer 'b'\)"):
        churn_table(gap)
    with pytest.raises(InputError, match="unknown risk band"):
        at_risk_list(churn_table(summary()), bands=("severe",))


def test_observed_churn_rate_by_hand_and_weights() -> None:
    cust = [1, 1, 2, 2, 3, 3, 3, 3]
    per = [0, 1, 0, 2, 0, 1, 2, 2]
    tab = churn_rate_by_period(cust, per).to_pydict()
    assert tab["period"] == [0, 1, 2]
    assert tab["active"] == [3, 2, 2]
    assert tab["churned"][1:] == [1, 1]
    assert tab["new"][1:] == [0, 1]
    np.testing.assert_allclose(tab["churn_rate"][1:], [1 / 3, 1 / 2])
    w = churn_rate_by_period([1, 1, 2, 2], [0, 1, 0, 2], weights=[3, 3, 1, 1]).to_pydict()
    rep = churn_rate_by_period([10, 10, 11, 11, 12, 12, 2, 2], [0, 1, 0, 1, 0, 1, 0, 2]).to_pydict()
    np.testing.assert_allclose(w["churn_rate"][1:], rep["churn_rate"][1:])


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(3, 9)), min_size=1, max_size=60),
)
def test_observed_churn_rate_in_the_engine_equals_the_arrays(rows: list[tuple[int, int]]) -> None:
    # one definition, two executions: the DuckDB count of an Ibis table and numpy on arrays
    import ibis

    cust = [c for c, _ in rows]
    per = [p for _, p in rows]
    by_arrays = churn_rate_by_period(np.array(cust), np.array(per))
    table = ibis.memtable(pa.table({"customer_id": pa.array(cust, pa.int64()), "period": pa.array(per, pa.int64())}))
    in_engine = churn_rate_by_period(table)
    assert in_engine.column_names == by_arrays.column_names
    for name in by_arrays.column_names:
        np.testing.assert_allclose(
            in_engine[name].to_numpy(zero_copy_only=False).astype(float),
            by_arrays[name].to_numpy(zero_copy_only=False).astype(float),
            equal_nan=True,
            err_msg=name,
        )


def test_observed_churn_rate_of_a_table_checks_its_columns() -> None:
    import ibis

    with pytest.raises(InputError, match="no column 'period'"):
        churn_rate_by_period(ibis.memtable({"customer_id": [1], "month": [1]}))
    with pytest.raises(InputError, match="whole period numbers"):
        churn_rate_by_period(ibis.memtable({"customer_id": [1], "period": [1.5]}))
    with pytest.raises(InputError, match="'period' and 'weights' must be left out"):
        churn_rate_by_period(ibis.memtable({"customer_id": [1], "period": [1]}), weights=[1.0])


def test_model_churn_bgnbd_matches_simulation() -> None:
    # BG/NBD customers with no repeat purchase by T are alive (x = 0 -> P(alive) = 1).
    # Simulate lambda ~ Gamma(r, alpha), p ~ Beta(a, b); keep customers with no purchase in
    # (0, T]; they are alive at T + h iff none of their purchases in (T, T + h] is followed
    # by a dropout.
    rng = np.random.default_rng(5)
    r, alpha, a, b, T, h = 0.5, 4.0, 0.8, 2.5, 6.0, 10.0
    n = 300_000
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    quiet = rng.exponential(1 / lam) > T
    lam, p = lam[quiet], p[quiet]
    buys = rng.poisson(lam * h)
    alive = rng.random(lam.size) < (1 - p) ** buys
    # x = 0: P(alive at T) = 1 under BG/NBD, so the estimator's P(alive at T + h) is the survival alone
    bg = BetaGeo.from_params({"r": r, "alpha": alpha, "a": a, "b": b})
    model = bg.p_alive_later(h, [0], [0], [T])[0]
    assert alive.mean() == pytest.approx(model, abs=0.004)
    assert model == pytest.approx(float(_bgnbd.alive_survival(h, r, alpha, a, b, 0, T)), rel=1e-12)


def test_model_churn_pnbd_matches_simulation() -> None:
    rng = np.random.default_rng(9)
    s, beta, T, h = 0.7, 12.0, 10.0, 8.0
    mu = rng.gamma(s, 1 / beta, 300_000)
    death = rng.exponential(1 / mu)
    alive_T = death > T
    later = np.mean(death[alive_T] > T + h)
    # conditional on alive at T (r and alpha do not enter the survival)
    assert later == pytest.approx(float(_pareto_nbd.alive_survival(h, 0.5, 3.0, s, beta, 0, T)), abs=0.004)


def test_expected_churn_rate_bounds() -> None:
    now = np.array([0.9, 0.5, 0.2])
    later = now * _bgnbd.alive_survival(13.0, 0.24, 4.4, 0.79, 2.4, np.array([2, 0, 5]), 30.0)
    assert np.all(later <= now) and np.all(later >= 0)
    rate = expected_churn_rate(now, later)
    assert 0 <= rate <= 1
    assert expected_churn_rate(now, now) == 0
    with pytest.raises(InputError, match="no customer is alive"):
        expected_churn_rate([0.0], [0.0])


def test_model_churn_mbgnbd_matches_simulation() -> None:
    # MBG/NBD: a dropout chance also at the first purchase. Customers with x = 0 by T are
    # alive with probability < 1; condition the simulation on "alive at T".
    rng = np.random.default_rng(8)
    r, alpha, a, b, T, h = 0.5, 4.0, 0.8, 2.5, 6.0, 10.0
    n = 400_000
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    alive_now = (rng.exponential(1 / lam) > T) & (rng.random(n) >= p)  # no purchase, survived the first
    lam, p = lam[alive_now], p[alive_now]
    alive = rng.random(lam.size) < (1 - p) ** rng.poisson(lam * h)
    model = float(_mbgnbd.alive_survival(h, r, alpha, a, b, 0, T))
    assert alive.mean() == pytest.approx(model, abs=0.004)
    assert model > float(_bgnbd.alive_survival(h, r, alpha, a, b, 0, T))
    # the estimator multiplies by its own P(alive at T), which is < 1 for x = 0 under MBG/NBD
    mbg = ModifiedBetaGeo.from_params({"r": r, "alpha": alpha, "a": a, "b": b})
    assert mbg.p_alive_later(h, [0], [0], [T])[0] == pytest.approx(mbg.p_alive([0], [0], [T])[0] * model, rel=1e-12)


def test_with_a_fitted_bgnbd_on_cdnow(cdnow_summary_path) -> None:  # type: ignore[no-untyped-def]
    from scipy import special

    from custlens.clv.formula import gamma_next_purchase

    t = pa.csv.read_csv(cdnow_summary_path)
    x, t_x, T = (t.column(c).to_numpy().astype(float) for c in ("frequency", "recency", "T"))
    model = BetaGeo().fit(x, t_x, T)
    par = model.params_
    pa_now = model.p_alive(x, t_x, T)
    later = model.p_alive_later(13.0, x, t_x, T)
    assert np.all(later <= pa_now + 1e-12) and np.all(later >= 0)
    # the documented closed form, P(alive) 2F1(r+x, a; a+b+x; -h/(alpha+T)), evaluated directly
    # (well-conditioned at CDNOW's frequencies): the family function's Pfaff form agrees
    direct = pa_now * special.hyp2f1(par["r"] + x, par["a"], par["a"] + par["b"] + x, -13.0 / (par["alpha"] + T))
    np.testing.assert_allclose(later, direct, rtol=1e-10)
    wait = gamma_next_purchase(x, T, pa_now, par["r"], par["alpha"], horizon=13.0)
    expected = model.conditional_expected_purchases(13.0, x, t_x, T)
    # P(at least one purchase) <= E[number of purchases], and <= P(alive)
    assert np.all(wait.p_purchase_within <= expected + 1e-9)
    assert np.all(wait.p_purchase_within <= pa_now + 1e-12)
    rate = expected_churn_rate(pa_now, later)
    assert 0 < rate < 1
    assert model_churn_rate(model, 13.0, x, t_x, T) == pytest.approx(rate, rel=1e-12)
    # the churn rate grows with the length of the period
    assert model_churn_rate(model, 26.0, x, t_x, T) > rate
