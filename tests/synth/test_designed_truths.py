"""The designed truths of docs/demo-company.md are present in the generated data.

Parameter recovery uses textbook likelihoods written out here, independently of the
generator: the NBD (Ehrenberg 1959; Morrison and Schmittlein 1988), the BG/NBD (Fader,
Hardie and Lee 2005, "Counting your customers the easy way", eq. 6) and the Pareto/NBD
(Schmittlein, Morrison and Colombo 1987, in the form of Fader and Hardie 2005, "A note on
deriving the Pareto/NBD model and related expressions", the likelihood L(r, alpha, s, beta |
x, t_x, T) with the Gaussian hypergeometric function).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest
from scipy import optimize, special

from custlens.synth import (
    CATEGORY_MARGIN,
    ECSI_BLOCKS,
    ECSI_PATHS,
    KANO_DESIGN,
    Company,
    CompanyParams,
    generate_company,
)

END = pd.Timestamp("2026-01-01", tz="UTC")


def _rft(company: Company) -> pd.DataFrame:
    """Repeat count x, time of last purchase t_x and age T (weeks since first purchase)."""
    tx = company.transactions.to_pandas()
    orders = (
        tx[~tx["return_flag"]].groupby("order_id").agg(customer_id=("customer_id", "first"), at=("ordered_at", "first"))
    )
    g = orders.groupby("customer_id")["at"]
    first, last, n = g.min(), g.max(), g.size()
    week = pd.Timedelta(days=7)
    return pd.DataFrame({"x": n - 1, "t_x": (last - first) / week, "T": (END - first) / week})


def _fit(negll, x0: np.ndarray) -> np.ndarray:
    res = optimize.minimize(
        lambda v: negll(np.exp(v)),
        np.log(x0),
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-6, "maxiter": 4000},
    )
    assert res.success
    return np.exp(res.x)


def test_nbd_purchase_rate_is_recovered_without_dropout() -> None:
    params = CompanyParams(beta=1e12)  # dropout rate ~ 0: repeat counts are NBD(r, alpha; T)
    d = _rft(generate_company(8000, seed=21, params=params))
    x, T = d["x"].to_numpy(), d["T"].to_numpy()

    def negll(p: np.ndarray) -> float:
        r, alpha = p
        return -np.sum(
            special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha / (alpha + T)) + x * np.log(T / (alpha + T))
        )

    r, alpha = _fit(negll, np.array([1.0, 5.0]))
    assert r == pytest.approx(params.r, rel=0.08)
    assert alpha == pytest.approx(params.alpha, rel=0.12)


def test_bgnbd_parameters_are_recovered() -> None:
    params = CompanyParams(process="bg_nbd")
    d = _rft(generate_company(10_000, seed=22, params=params))
    x, t_x, T = (d[c].to_numpy() for c in ("x", "t_x", "T"))

    def negll(p: np.ndarray) -> float:
        r, alpha, a, b = p
        common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        alive = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
        dead = np.where(
            x > 0,
            special.betaln(a + 1, np.maximum(b + x - 1, 1e-12)) - special.betaln(a, b) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
        return -np.sum(common + np.logaddexp(alive, dead))

    r, alpha, a, b = _fit(negll, np.array([1.0, 5.0, 1.0, 3.0]))
    assert r == pytest.approx(params.r, rel=0.12)
    assert alpha == pytest.approx(params.alpha, rel=0.15)
    assert a / (a + b) == pytest.approx(params.a / (params.a + params.b), rel=0.2)


def test_pareto_nbd_parameters_are_recovered() -> None:
    params = CompanyParams()  # the default process
    d = _rft(generate_company(8000, seed=23, params=params))
    x, t_x, T = (d[c].to_numpy() for c in ("x", "t_x", "T"))

    def negll(p: np.ndarray) -> float:
        r, alpha, s, beta = p
        rsx = r + s + x
        const = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        if alpha >= beta:
            b2, big, gap = s + 1, alpha, alpha - beta
        else:
            b2, big, gap = r + x, beta, beta - alpha
        l1 = np.log(special.hyp2f1(rsx, b2, rsx + 1, gap / (big + t_x))) - rsx * np.log(big + t_x)
        l2 = np.log(special.hyp2f1(rsx, b2, rsx + 1, gap / (big + T))) - rsx * np.log(big + T)
        dead = np.log(s / rsx) + l1 + np.log1p(-np.exp(l2 - l1))
        value = -np.sum(const + np.logaddexp(alive, dead))
        return value if np.isfinite(value) else 1e100

    res = optimize.minimize(lambda v: negll(np.exp(v)), np.log([1.0, 5.0, 1.0, 10.0]), method="L-BFGS-B")
    assert res.success
    r, alpha, s, beta = np.exp(res.x)
    assert r == pytest.approx(params.r, rel=0.10)
    assert alpha == pytest.approx(params.alpha, rel=0.15)
    assert s == pytest.approx(params.s, rel=0.25)
    assert beta == pytest.approx(params.beta, rel=0.35)


def test_pareto_nbd_dropout_lowers_repeat_buying(company: Company) -> None:
    d = _rft(company)
    no_dropout = _rft(generate_company(5000, seed=11, params=CompanyParams(beta=1e12)))
    assert d["x"].mean() < 0.8 * no_dropout["x"].mean()
    # heterogeneity: repeat counts are strongly over-dispersed (a Poisson would give ~1)
    assert d["x"].var() / d["x"].mean() > 5
    assert 0.5 < (d["x"] > 0).mean() < 0.8


def test_spend_follows_the_gamma_gamma_means(company: Company) -> None:
    tx = company.transactions.to_pandas()
    kind = company.customers.to_pandas().set_index("customer_id")["customer_type"]
    sold = tx[~tx["return_flag"]]
    value = sold.groupby("order_id").agg(v=("amount", "sum"), c=("customer_id", "first"))
    value["type"] = kind.loc[value["c"]].to_numpy()
    p = CompanyParams()
    expected = {"personal": p.p * p.gamma_personal / (p.q - 1), "corporate": p.p * p.gamma_corporate / (p.q - 1)}
    means = value.groupby("type")["v"].mean()
    for t, e in expected.items():
        assert means[t] == pytest.approx(e, rel=0.12), t
    lines = sold.groupby("order_id").size()
    assert lines.min() == 1 and lines.max() <= 4
    assert lines.mean() == pytest.approx(1 + 3 * p.extra_line_prob, rel=0.05)


def test_margins_and_returns_follow_the_design(company: Company) -> None:
    tx = company.transactions.to_pandas()
    sold = tx[~tx["return_flag"]]
    rate = sold.groupby("category")["margin"].sum() / sold.groupby("category")["amount"].sum()
    for cat, m in CATEGORY_MARGIN.items():
        assert rate[cat] == pytest.approx(m, abs=0.02), cat
    assert 0.015 < tx["return_flag"].mean() < 0.045


def _kano_category(f: pd.Series, d: pd.Series) -> pd.Series:
    """The standard Kano evaluation table (Berger et al. 1993, table 1); 1 like .. 5 dislike."""
    table = ["QAAAO", "RIIIM", "RIIIM", "RIIIM", "RRRRQ"]
    return pd.Series([table[a - 1][b - 1] for a, b in zip(f, d)], index=f.index)


def test_kano_answers_recover_the_designed_categories(company: Company) -> None:
    s = company.survey_answers.to_pandas()
    k = s[s["instrument"] == "kano"].copy()
    assert set(k["answer"]) <= {"1", "2", "3", "4", "5"}
    parts = k["item"].str.split(":", expand=True)
    k["attribute"], k["side"] = parts[1], parts[2]
    wide = k.pivot_table(index=["respondent_id", "attribute"], columns="side", values="answer", aggfunc="first").astype(
        int
    )
    wide["category"] = _kano_category(wide["functional"], wide["dysfunctional"])
    counts = wide.groupby("attribute")["category"].value_counts(normalize=True).unstack(fill_value=0)
    assert set(counts.index) == set(KANO_DESIGN)
    for attr, designed in KANO_DESIGN.items():
        assert counts.loc[attr].idxmax() == designed, attr
        assert counts.loc[attr, designed] > 0.5
    n_resp = k["respondent_id"].nunique()
    assert 0.07 < n_resp / company.customers.num_rows < 0.13


def _ecsi_scores(company: Company) -> pd.DataFrame:
    s = company.survey_answers.to_pandas()
    e = s[s["instrument"] == "ecsi"].pivot(index="respondent_id", columns="item", values="answer").astype(float)
    assert set(e.columns) == {i for items in ECSI_BLOCKS.values() for i in items}
    assert e.notna().all().all() and e.min().min() >= 1 and e.max().max() <= 10
    return pd.DataFrame({c: e[list(items)].mean(axis=1) for c, items in ECSI_BLOCKS.items()})


def test_ecsi_structural_paths_are_positive_and_near_the_truth(company: Company) -> None:
    lv = _ecsi_scores(company)
    z = (lv - lv.mean()) / lv.std()
    for dst in ECSI_BLOCKS:
        srcs = [s for (s, d) in ECSI_PATHS if d == dst]
        if not srcs:
            continue
        coef = np.linalg.lstsq(z[srcs].to_numpy(), z[dst].to_numpy(), rcond=None)[0]
        for src, c in zip(srcs, coef):
            truth = ECSI_PATHS[(src, dst)]
            # composites of noisy items attenuate paths, so allow a generous band
            assert c > 0 and abs(c - truth) < 0.2, (src, dst, c, truth)


def test_satisfaction_rises_with_customer_value(company: Company) -> None:
    lv = _ecsi_scores(company)
    revenue = company.transactions.to_pandas().groupby("customer_id")["amount"].sum()
    quartile = pd.qcut(revenue.reindex(lv.index), 4, labels=False)
    by_q = lv["CUSA"].groupby(quartile).mean()
    assert by_q[3] - by_q[0] > 0.3
    it = company.interactions.to_pandas()
    complaints = it[it["kind"] == "complaint"].groupby("customer_id").size().reindex(lv.index, fill_value=0)
    praise = it[it["kind"] == "praise"].groupby("customer_id").size().reindex(lv.index, fill_value=0)
    assert np.corrcoef(complaints, lv["CUSA"])[0, 1] < -0.05
    assert np.corrcoef(praise, lv["CUSA"])[0, 1] > 0.05


def test_item_nonresponse_drops_the_requested_share_of_ecsi_answers() -> None:
    full = generate_company(3000, seed=8).survey_answers
    holes = generate_company(3000, seed=8, params=CompanyParams(survey_missing_share=0.1)).survey_answers
    ecsi = pc.equal(full["instrument"], "ecsi")
    kept = pc.sum(pc.equal(holes["instrument"], "ecsi")).as_py() / pc.sum(ecsi).as_py()
    assert kept == pytest.approx(0.9, abs=0.01)
    # Kano answers are untouched
    assert pc.sum(pc.equal(holes["instrument"], "kano")).as_py() == pc.sum(pc.invert(ecsi)).as_py()
