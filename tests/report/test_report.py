"""Report figures (documented input columns) and the self-contained, offline HTML file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa
import pytest

import custlens.segment as seg
from custlens.errors import InputError
from custlens.playbook import load_playbook
from custlens.report import (
    ReportSection,
    build_report,
    concentration,
    migration_figure,
    pareto_figure,
    playbook_table_figure,
    pyramid_figure,
    ranking_table_figure,
    render_report,
    report_sections,
    rfm_heatmap_figure,
    segment_sizes_figure,
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


@dataclass
class _Result:  # the shape of custlens.segment.SegmentResult the report reads
    method: str
    customers: Any
    summary: Any
    details: dict


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


def test_concentration_by_hand() -> None:
    # equal values: top 20 % hold 20 %, Gini 0; one customer of five holds all: Gini 4/5
    assert concentration(np.ones(10)) == pytest.approx({"top20_share": 0.2, "gini": 0.0})
    assert concentration(np.array([0, 0, 0, 0, 10.0])) == pytest.approx({"top20_share": 1.0, "gini": 0.8})


def test_segment_sizes_bars_follow_rank_and_show_chinese_names() -> None:
    fig = segment_sizes_figure(SUMMARY.take([3, 1, 0, 2]))
    assert list(fig.data[0].x) == ["VIP 贵宾型客户", "major 重要型客户", "ordinary 普通型客户", "small 小客户"]
    assert list(fig.data[1].y) == [0.3, 0.4, 0.2, 0.1]


def test_pareto_curve_is_monotone_and_ends_at_one() -> None:
    values = pa.table({"value": np.random.default_rng(0).pareto(1.2, 5000)})
    fig = pareto_figure(values, points=200)
    y = np.asarray(fig.data[0].y)
    assert y[0] == 0 and y[-1] == pytest.approx(1.0)
    assert np.all(np.diff(y) >= -1e-12)
    assert np.all(np.diff(np.diff(y)) <= 1e-9)  # best first: the curve is concave
    assert len(y) == 201


def test_rfm_heatmap_cells_are_group_means() -> None:
    import ibis

    # the aggregation is one Ibis group-by (the scoring and playbook tests cover Spark)
    data = pa.table(
        {"r_score": [1, 1, 5, 5, 5], "f_score": [1, 1, 5, 5, 1], "monetary": [10.0, 30.0, 100.0, 300.0, 7.0]}
    )
    t = ibis.duckdb.connect().create_table("rfm", data)
    fig = rfm_heatmap_figure(t)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert list(fig.data[0].y) == ["1", "5"] and list(fig.data[0].x) == ["1", "5"]
    assert z[0, 0] == pytest.approx(20.0) and z[1, 1] == pytest.approx(200.0) and z[1, 0] == pytest.approx(7.0)
    assert np.isnan(z[0, 1])
    counts = rfm_heatmap_figure(t, metric="customers").data[0].z
    assert counts[0][0] == 2


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
    assert "贵宾型客户" in pb.data[0].cells.values[1][0]


@pytest.mark.parametrize(
    ("fn", "data", "expected"),
    [
        (segment_sizes_figure, pa.table({"segment": ["a"], "customers": [1]}), "needs column 'share'"),
        (pareto_figure, pa.table({"valu": [1.0]}), "did you mean"),
        (pareto_figure, pa.table({"value": [0.0, -1.0]}), "no positive values"),
        (rfm_heatmap_figure, pa.table({"r_score": [1], "f_scor": [1], "monetary": [1.0]}), "'f_score'"),
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
    assert text.count("define&&define.amd") <= 1 or text.count("plotly.js v") >= 1


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


def test_report_sections_from_results() -> None:
    c = _rfm_customers()
    results = {
        "rfm": _Result("rfm", c, SUMMARY, {}),
        "pyramid": _Result("pyramid", c, SUMMARY, {}),
        "value_matrix": _Result(
            "value_matrix", c, SUMMARY, {"thresholds": {"frequency": 10.0, "avg_order_value": 40.0}}
        ),
    }
    rank = score_customers(c, ["revenue", "recency_days"], cost=["recency_days"], method="entropy")
    moves = pa.table({"from_segment": ["VIP"], "to_segment": ["major"], "customers": [3]})
    secs = report_sections(segmentations=results, customers=c, ranking=rank, migration=moves, playbook=load_playbook())
    titles = [s.title for s in secs]
    for expected in (
        "RFM segments: sizes and value shares",
        "Pareto curve",
        "Value pyramid",
        "RFM heat map",
        "Customer value matrix",
        "Segment migration",
        "Important customers",
        "Playbook",
    ):
        assert expected in titles
    playbook_fig = secs[titles.index("Playbook")].figure
    assert isinstance(playbook_fig, go.Figure)
    header = [h.replace("<b>", "").replace("</b>", "") for h in playbook_fig.data[0].header.values]
    assert "customers" in header


def test_build_report_from_cdnow_transactions(cdnow_sample_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("custlens.segment")
    from custlens.ingest.readers import read_table

    raw = read_table(cdnow_sample_path)  # lifetimes CDNOW sample: index, id, YYYYMMDD, quantity, amount
    import pyarrow.compute as pc

    day = pc.strptime(raw.column(2).cast(pa.string()), format="%Y%m%d", unit="s").cast(pa.date32())
    tx = pa.table(
        {
            "customer_id": raw.column(1).cast(pa.string()),
            "ordered_at": day,
            "quantity": raw.column(3),
            "amount": raw.column(4),
        }
    )
    path = build_report(tmp_path / "cdnow.html", transactions=tx, as_of="1998-06-30")
    text = path.read_text(encoding="utf-8")
    _offline_checks(text)
    for heading in (
        "Pareto curve",
        "Important customers",
        "Playbook",
        "Customer value matrix",
        "RFM heat map",
        "Relationship states: sizes and value shares",
        "Lifecycle stages: sizes and value shares",
    ):
        assert f"<h2>{heading}</h2>" in text
    assert "As of 1998-06-30" in text
    assert "<h2>Value pyramid</h2>" in text and "<h2>ABC classes: sizes and value shares</h2>" in text
    conc = seg.concentration(seg.customer_summary(tx, as_of="1998-06-30")[0])
    assert f"{conc['top_share_value']:.1%} of value" in text  # the Pareto label shows the backend figure


def test_build_report_needs_something(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs transactions"):
        build_report(tmp_path / "r.html")


def test_pareto_from_a_backend_curve_and_state_flow_columns() -> None:
    curve = pa.table({"customer_share": [0.0, 0.5, 1.0], "value_share": [0.0, 0.9, 1.0]})
    fig = pareto_figure(curve, concentration_figures={"top_share": 0.2, "top_share_value": 0.61, "gini": 0.5})
    assert list(fig.data[0].y) == [0.0, 0.9, 1.0]
    assert "top 20%: 61.0% of value" in fig.layout.annotations[0].text
    flow = pa.table({"from_state": ["(none)", "repeat"], "to_state": ["first_time", "loyal"], "customers": [4, 2]})
    fig = migration_figure(flow)
    assert set(fig.data[0].x) == {"(none)", "first_time", "loyal", "repeat"}


def test_build_report_with_snapshot_migration(tmp_path: Path) -> None:
    import ibis

    rng = np.random.default_rng(3)
    n = 400
    tx = pa.table(
        {
            "customer_id": [f"c{i % 80}" for i in range(n)],
            "order_id": [f"o{i}" for i in range(n)],
            "ordered_at": pa.array(
                np.datetime64("2024-01-01") + rng.integers(0, 360, n).astype("timedelta64[D]"), pa.date32()
            ),
            "amount": rng.gamma(2.0, 30.0, n),
        }
    )
    con = ibis.duckdb.connect()
    first = seg.save_snapshot(con, seg.rfm_from_transactions(tx, as_of="2024-06-30"))
    second = seg.save_snapshot(con, seg.rfm_from_transactions(tx, as_of="2024-12-26"))
    path = build_report(tmp_path / "m.html", transactions=tx, snapshot_con=con, snapshots=(first, second))
    assert "<h2>Segment migration</h2>" in path.read_text(encoding="utf-8")
    with pytest.raises(InputError, match="snapshot_con"):
        build_report(tmp_path / "m2.html", transactions=tx, snapshots=(first, second))


def test_build_report_scores_customers_without_purchases_as_worst(tmp_path: Path) -> None:
    ind = pa.table(
        {
            "customer_id": ["a", "b", "c"],
            "revenue": [100.0, 0.0, 40.0],
            "order_count": [3, 0, 1],
            "avg_order_value": [33.3, None, 40.0],
            "recency_days": [5, None, 50],
        }
    )
    path = build_report(tmp_path / "r.html", indicators=ind)
    text = path.read_text(encoding="utf-8")
    assert "<h2>Important customers</h2>" in text and "<h2>Pareto curve</h2>" in text
