"""Report figures (documented input columns) and the self-contained, offline HTML file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from custlens.errors import InputError
from custlens.playbook import load_playbook
from custlens.report import (
    ReportSection,
    churn_rate_figure,
    cluster_profile_figure,
    clv_distribution_figure,
    migration_figure,
    pareto_figure,
    playbook_table_figure,
    pyramid_figure,
    ranking_table_figure,
    render_report,
    rfm_heatmap_figure,
    risk_band_figure,
    satisfaction_figure,
    segment_sizes_figure,
    state_flow_figure,
    value_matrix_figure,
    write_report,
)
from custlens.scoring import score_customers

SUMMARY = pa.table(
    {
        "segment": ["VIP", "major", "ordinary", "small"],
        "segment_zh": ["贵宾型客户", "重要型客户", "普通型客户", "小客户"],
        "segment_rank": [0, 1, 2, 3],
        "customers": [1, 4, 15, 80],
        "share": [0.01, 0.04, 0.15, 0.80],
        "value": [300.0, 400.0, 200.0, 100.0],
        "value_share": [0.3, 0.4, 0.2, 0.1],
    }
)


def _rfm_customers(n: int = 400) -> pa.Table:
    rng = np.random.default_rng(1)
    return pa.table(
        {
            "customer_id": [f"c{i:04d}" for i in range(n)],
            "r_score": rng.integers(1, 6, n),
            "f_score": rng.integers(1, 6, n),
            "monetary": rng.gamma(2.0, 40.0, n),
            "frequency": rng.integers(1, 30, n),
            "avg_order_value": rng.gamma(2.0, 25.0, n),
            "revenue": rng.pareto(1.3, n) * 100,
            "order_count": rng.integers(1, 30, n),
            "recency_days": rng.integers(0, 500, n),
            "segment": rng.choice(["best", "spender", "frequent", "uncertain"], n),
        }
    )


def test_segment_sizes_bars_follow_rank_and_show_chinese_names() -> None:
    fig = segment_sizes_figure(SUMMARY.take([3, 1, 0, 2]))
    assert list(fig.data[0].x) == ["VIP 贵宾型客户", "major 重要型客户", "ordinary 普通型客户", "small 小客户"]
    assert list(fig.data[1].y) == [0.3, 0.4, 0.2, 0.1]


def test_pareto_draws_the_curve_it_is_given() -> None:
    curve = pa.table({"customer_share": [0.5, 0.0, 1.0], "value_share": [0.9, 0.0, 1.0]})
    fig = pareto_figure(curve, concentration_figures={"top_share": 0.2, "top_share_value": 0.61, "gini": 0.5})
    assert list(fig.data[0].x) == [0.0, 0.5, 1.0] and list(fig.data[0].y) == [0.0, 0.9, 1.0]
    assert "top 20%: 61.0% of value" in fig.layout.annotations[0].text
    assert "Gini 0.500" in fig.layout.annotations[0].text


def test_rfm_heatmap_places_each_cell() -> None:
    grid = pa.table(
        {"r_score": [1, 5, 5], "f_score": [1, 5, 1], "customers": [2, 2, 1], "mean_monetary": [20.0, 200.0, 7.0]}
    )
    fig = rfm_heatmap_figure(grid)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert list(fig.data[0].y) == ["1", "5"] and list(fig.data[0].x) == ["1", "5"]
    assert z[0, 0] == pytest.approx(20.0) and z[1, 1] == pytest.approx(200.0) and z[1, 0] == pytest.approx(7.0)
    assert np.isnan(z[0, 1])
    counts = rfm_heatmap_figure(grid, metric="customers").data[0].z
    assert counts[0][0] == 2


def test_new_figures_draw_their_tables() -> None:
    hist = pa.table({"bin_start": [0.0, 10.0, 20.0], "bin_end": [10.0, 20.0, 95.0], "customers": [5, 3, 1]})
    assert list(clv_distribution_figure(hist).data[0].y) == [5, 3, 1]
    flow = pa.table(
        {
            "from_state": ["repeat", "repeat", "(none)"],
            "to_state": ["loyal", "lost", "first_time"],
            "customers": [4, 2, 7],
        }
    )
    sankey = state_flow_figure(flow).data[0]
    assert sorted(sankey.link.value) == [2, 4, 7]
    assert "repeat (start)" in sankey.node.label and "loyal (end)" in sankey.node.label
    bands = pa.table({"risk_band": ["lost", "low"], "customers": [3, 9], "value_at_stake": [50.0, 1.0]})
    fig = risk_band_figure(bands)
    assert list(fig.data[0].x) == ["low", "lost"] and list(fig.data[1].y) == [1.0, 50.0]
    rates = pa.table(
        {
            "month": ["2024-01", "2024-02", "2024-03"],
            "churn_rate": [None, 0.25, 0.5],
            "active_previous": [None, 8.0, 4.0],
        }
    )
    assert list(churn_rate_figure(rates).data[0].y) == [0.25, 0.5]
    index = pa.table({"construct": ["Satisfaction", "Loyalty"], "index": [71.0, 64.0]})
    by_seg = pa.table(
        {
            "segment": ["VIP", "VIP"],
            "construct": ["Satisfaction", "Loyalty"],
            "index": [80.0, 70.0],
            "respondents": [12, 12],
        }
    )
    sat = satisfaction_figure(index, by_seg)
    assert [tr.name for tr in sat.data] == ["all respondents", "VIP (n=12)"] and list(sat.data[1].y) == [80.0, 70.0]
    profiles = pa.table(
        {
            "segment": ["1", "2"],
            "customers": [10, 30],
            "mean_revenue": [500.0, 50.0],
            "mean_recency_days": [10.0, 200.0],
        }
    )
    heat = cluster_profile_figure(profiles).data[0]
    assert list(heat.x) == ["revenue", "recency_days"] and heat.z[0][0] > 0 > heat.z[1][0]


def test_value_matrix_samples_large_bases() -> None:
    c = _rfm_customers(3000)
    fig = value_matrix_figure(c, max_points=500, thresholds=(10, 40))
    assert sum(len(tr.x) for tr in fig.data) == 500
    assert "random sample of 500 of 3,000" in fig.layout.title.text
    assert {tr.name for tr in fig.data} == {"best", "spender", "frequent", "uncertain"}
    full = value_matrix_figure(c.slice(0, 100))
    assert sum(len(tr.x) for tr in full.data) == 100


def test_migration_rows_are_shares_and_counts_shown() -> None:
    moves = pa.table(
        {"from_segment": ["A", "A", "B", "C"], "to_segment": ["A", "B", "B", "A"], "customers": [6, 2, 5, 1]}
    )
    fig = migration_figure(moves, order=["A", "B", "C"])
    z = np.asarray(fig.data[0].z)
    np.testing.assert_allclose(z.sum(axis=1), [1.0, 1.0, 1.0])
    assert z[0, 1] == pytest.approx(0.25)
    assert fig.data[0].text[0][0] == "6"


def test_pyramid_and_tables() -> None:
    fig = pyramid_figure(SUMMARY)
    assert list(fig.data[0].y)[0] == "VIP 贵宾型客户"
    assert "30.0% of value" in fig.data[0].text[0]
    rank = score_customers(
        _rfm_customers(), ["revenue", "order_count", "recency_days"], cost=["recency_days"], method="entropy"
    )
    tab = ranking_table_figure(rank, top=10)
    assert len(tab.data[0].cells.values[0]) == 10
    assert tab.data[0].cells.values[0][:3] == [1, 2, 3]
    pb = playbook_table_figure(load_playbook().table("pyramid"))
    assert "VIP客户" in pb.data[0].cells.values[1][0]  # the pyramid names of the course text


@pytest.mark.parametrize(
    ("fn", "data", "expected"),
    [
        (segment_sizes_figure, pa.table({"segment": ["a"], "customers": [1]}), "needs column 'share'"),
        (pareto_figure, pa.table({"customer_shar": [1.0], "value_share": [1.0]}), "did you mean"),
        (
            rfm_heatmap_figure,
            pa.table({"r_score": [1], "f_scor": [1], "customers": [1], "mean_monetary": [1.0]}),
            "'f_score'",
        ),
        (state_flow_figure, pa.table({"from_state": ["a"], "to_state": ["b"], "customers": [0]}), "no customers"),
        (migration_figure, pa.table({"from_segment": ["a"], "to_segment": ["b"], "customers": [0]}), "no transitions"),
    ],
)
def test_bad_tables_name_the_column(fn: Any, data: pa.Table, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        fn(data)


def _offline_checks(text: str) -> None:
    assert not re.search(r"<script[^>]*\ssrc\s*=", text, flags=re.I), "external script"
    assert not re.search(r"<link[^>]*href\s*=\s*[\"']https?:", text, flags=re.I), "external stylesheet"
    assert text.count("<script") >= 1
    # the plotly.js bundle is inline exactly once
    assert text.count("plotly.js v") >= 1 and text.count("define&&define.amd") <= 1


def test_write_report_is_self_contained(tmp_path: Path) -> None:
    figs = [
        ReportSection("Sizes", segment_sizes_figure(SUMMARY), "note <b>escaped</b>"),
        ReportSection("Pyramid", pyramid_figure(SUMMARY)),
        ReportSection("Text only", None, "no figure"),
    ]
    path = write_report(tmp_path / "r.html", figs, title="Test & report", subtitle="As of 2024-01-01")
    text = path.read_text(encoding="utf-8")
    _offline_checks(text)
    assert text.startswith("<!DOCTYPE html>")
    assert "Test &amp; report" in text and "note &lt;b&gt;escaped&lt;/b&gt;" in text
    assert text.count('class="plotly-graph-div"') == 2
    bundle_marker = "plotly.js v"
    assert text.count(bundle_marker) >= 1
    # plotly.js embedded once: the report is a few MB, not a few MB per figure
    one = render_report(figs[:1])
    assert len(text) < 1.2 * len(one)


def test_write_report_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no sections"):
        render_report([])
    with pytest.raises(InputError, match="should end in .html"):
        write_report(tmp_path / "r.txt", [ReportSection("x")])
    with pytest.raises(InputError, match="does not exist"):
        write_report(tmp_path / "missing" / "r.html", [ReportSection("x")])


def test_migration_figure_takes_the_state_flow_columns() -> None:
    flow = pa.table({"from_state": ["(none)", "repeat"], "to_state": ["first_time", "loyal"], "customers": [4, 2]})
    fig = migration_figure(flow)
    assert set(fig.data[0].x) == {"(none)", "first_time", "loyal", "repeat"}
