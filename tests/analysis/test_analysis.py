"""The standard analysis: computed once, stored, read back the same by every edge."""

from __future__ import annotations

import shutil
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from custlens.analysis import (
    METHODS,
    StoredAnalysis,
    analyze,
    customer_columns,
    delete_analysis,
    list_analyses,
    load_analysis,
    load_analysis_config,
)
from custlens.errors import ConfigError, InputError

pytestmark = pytest.mark.xdist_group("analysis")


def _copy(workspace_path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(workspace_path, target)
    return target


def test_stored_run_describes_itself(workspace) -> None:
    stored = load_analysis(workspace)
    assert isinstance(stored, StoredAnalysis)
    assert stored.analysis_id == f"{stored.as_of.isoformat()}.1"
    assert stored.methods == METHODS
    assert stored.config == load_analysis_config().to_dict()
    assert stored.config_hash == load_analysis_config().hash
    assert set(stored.models) == {"purchase", "spend"}
    assert stored.models["purchase"]["model"] == "bgnbd"
    assert stored.models["purchase"]["fit"]["converged"] is True
    for name in (
        "segment_summaries",
        "pareto",
        "clv_histogram",
        "churn_rates",
        "risk_bands",
        "score_weights",
        "rfm_heatmap",
        "value_matrix_points",
        "clv_matrix_points",
        "cluster_profiles",
        "state_flow",
        "playbook",
        "satisfaction_index",
        "satisfaction_by_segment",
        "ipma",
        "kano",
    ):
        assert stored.has_result(name), name
    assert stored.skipped == {}
    runs = list_analyses(workspace)
    assert runs["analysis_id"].to_pylist() == [stored.analysis_id]


def test_per_customer_table(workspace) -> None:
    stored = load_analysis(workspace)
    c = stored.customers().to_pyarrow()
    assert tuple(c.column_names) == customer_columns()
    n_customers = workspace.row_counts()["customers"]
    assert c.num_rows == n_customers == stored.n_customers
    assert len(set(c["customer_id"].to_pylist())) == c.num_rows
    buyers = pc.greater(c["order_count"], 0)
    # every buyer has a lifetime value and a risk band; customers without purchases have none
    assert pc.all(pc.is_valid(pc.filter(c["clv"], buyers))).as_py()
    assert pc.all(pc.is_null(pc.filter(c["clv"], pc.invert(buyers)))).as_py()
    alive = pc.filter(c["p_alive"], buyers).to_numpy()
    assert ((alive >= 0) & (alive <= 1)).all()
    assert set(pc.unique(pc.filter(c["risk_band"], buyers)).to_pylist()) <= {"low", "medium", "high", "lost"}
    ranks = sorted(c["score_rank"].to_pylist())
    assert ranks == list(range(1, c.num_rows + 1))


def test_one_value_per_feature_across_every_path(workspace) -> None:
    """Segmentation, scoring, the CLV matrix and the report read the indicators computed once."""
    from custlens.features import value_indicators

    stored = load_analysis(workspace)
    c = stored.customers()
    direct = value_indicators(
        workspace.table("transactions"),
        receivables=workspace.table("receivables"),
        interactions=workspace.table("interactions"),
        customers=workspace.table("customers"),
        as_of=stored.as_of,
    )
    names = [n for n in direct.columns if n in c.columns and n != "customer_id"]
    a = c.select("customer_id", *names).order_by("customer_id").to_pyarrow()
    b = direct.select("customer_id", *names).order_by("customer_id").to_pyarrow()
    for name in names:
        assert a[name].to_pylist() == b[name].to_pylist() or np.allclose(
            a[name].to_numpy(zero_copy_only=False).astype(float),
            b[name].to_numpy(zero_copy_only=False).astype(float),
            equal_nan=True,
        ), name
    by_id = {r["customer_id"]: r for r in a.to_pylist()}
    # the value matrix's axes are the indicators
    vm = stored.result("value_matrix_points").to_pylist()
    assert vm
    for row in vm:
        assert row["frequency"] == pytest.approx(by_id[row["customer_id"]]["order_count"])
        assert row["avg_order_value"] == pytest.approx(by_id[row["customer_id"]]["avg_order_value"])
    # the CLV matrix: current value is the revenue indicator, potential value the stored CLV
    clv = {r["customer_id"]: r["clv"] for r in c.select("customer_id", "clv").to_pyarrow().to_pylist()}
    for row in stored.result("clv_matrix_points").to_pylist():
        assert row["current_value"] == pytest.approx(by_id[row["customer_id"]]["revenue"])
        assert row["potential_value"] == pytest.approx(clv[row["customer_id"]])
    # the ABC classes' value is revenue: a class's value equals the sum of its members' revenue
    summary = {r["segment"]: r for r in stored.segment_summary("abc").to_pylist()}
    members = stored.segments("abc").to_pyarrow().to_pylist()
    for name, row in summary.items():
        total = sum(by_id[m["customer_id"]]["revenue"] for m in members if m["segment"] == name)
        assert row["value"] == pytest.approx(total), name


def test_segments_agree_with_their_summaries(workspace) -> None:
    stored = load_analysis(workspace)
    for method in stored.methods:
        members = stored.segments(method).to_pyarrow()
        counts = dict(zip(*[pc.value_counts(members["segment"]).field(f).to_pylist() for f in ("values", "counts")]))
        summary = {r["segment"]: r["customers"] for r in stored.segment_summary(method).to_pylist()}
        assert counts == {k: v for k, v in summary.items() if v}, method


def test_state_flow_ends_in_the_state_segments(workspace) -> None:
    """The flow's end states are the state segmentation's (P(alive) from the fitted model)."""
    stored = load_analysis(workspace)
    totals: dict[str, int] = {}
    for r in stored.result("state_flow").to_pylist():
        totals[r["to_state"]] = totals.get(r["to_state"], 0) + r["customers"]
    summary = {r["segment"]: r["customers"] for r in stored.segment_summary("state").to_pylist() if r["customers"]}
    assert totals == summary


def test_models_restored_from_their_parameters(workspace) -> None:
    stored = load_analysis(workspace)
    c = stored.customers()
    buyers = c.filter(c.order_count > 0).order_by("customer_id").to_pyarrow()
    model = stored.purchase_model
    again = model.p_alive(buyers["frequency"], buyers["recency"], buyers["T"])
    np.testing.assert_allclose(again, buyers["p_alive"].to_numpy(), rtol=1e-10, atol=1e-12)


def test_at_risk_list_is_ranked_by_value_at_stake(workspace) -> None:
    stored = load_analysis(workspace)
    top = stored.at_risk(top=20).to_pyarrow()
    assert top["rank"].to_pylist() == list(range(1, top.num_rows + 1))
    stake = top["value_at_stake"].to_numpy()
    assert (np.diff(stake) <= 1e-9).all()
    assert set(top["risk_band"].to_pylist()) <= set(stored.config["churn"]["bands"])


def test_a_second_analysis_and_migration(workspace_path: Path, tmp_path: Path) -> None:
    from custlens.warehouse import Workspace

    path = _copy(workspace_path, tmp_path)
    with Workspace.open(path) as ws:
        latest = load_analysis(ws)
        earlier = analyze(ws, as_of=latest.as_of - timedelta(days=180))
        assert earlier.analysis_id == f"{earlier.as_of.isoformat()}.1"
        again = analyze(ws, as_of=latest.as_of)
        assert again.analysis_id == f"{latest.as_of.isoformat()}.2"
        assert load_analysis(ws).analysis_id == again.analysis_id
        assert load_analysis(ws, as_of=earlier.as_of).analysis_id == earlier.analysis_id
        moved = latest.migration(earlier, "rfm")
        matrix = moved.matrix.to_pyarrow()
        everyone = set(latest.segments("rfm").to_pyarrow()["customer_id"].to_pylist()) | set(
            earlier.segments("rfm").to_pyarrow()["customer_id"].to_pylist()
        )
        assert pc.sum(matrix["customers"]).as_py() == len(everyone)
        delete_analysis(ws, again.analysis_id)
        assert load_analysis(ws).analysis_id == latest.analysis_id  # the latest as-of date, not the newest run
        with pytest.raises(InputError, match="no stored analysis"):
            load_analysis(ws, analysis_id=again.analysis_id)


def test_a_failed_save_leaves_nothing(workspace_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import custlens.segment as segment
    from custlens.warehouse import Workspace

    path = _copy(workspace_path, tmp_path)
    calls = {"n": 0}
    original = segment.save_snapshot

    def fail_on_third(*args: object, **kwargs: object) -> str:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(segment, "save_snapshot", fail_on_third)
    with Workspace.open(path) as ws:
        before = {
            t: ws.raw.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]
            for t in ("analysis_runs", "analysis_customers", "analysis_results", "segment_assignments")
        }
        with pytest.raises(RuntimeError, match="disk full"):
            analyze(ws)
        after = {t: ws.raw.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in before}
    assert after == before


def test_stored_in_parts_equals_stored_whole(
    workspace_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-customer table stored in parts (by a hash of the id) has every customer once, as stored whole."""
    from custlens.analysis._pipeline import Pipeline
    from custlens.warehouse import Workspace

    path = _copy(workspace_path, tmp_path)
    asked: list[int | None] = []

    def five_parts(self: Pipeline, memory_limit: int | None) -> int:
        asked.append(memory_limit)
        return 5

    monkeypatch.setattr(Pipeline, "customers_parts", five_parts)
    with Workspace.open(path) as ws:
        whole = load_analysis(ws)
        parts = analyze(ws, as_of=whole.as_of)
        a = whole.customers().to_pyarrow().sort_by("customer_id")
        b = parts.customers().to_pyarrow().sort_by("customer_id")
    assert asked and asked[0] is not None and asked[0] > 0  # DuckDB's limit in bytes
    assert b.num_rows == a.num_rows == len(set(b["customer_id"].to_pylist()))
    assert b.column_names == a.column_names
    for name in a.column_names:
        x, y = a[name], b[name]
        if pa.types.is_floating(x.type):
            np.testing.assert_allclose(
                # two runs: the fits' statistics arrive in another order, so they stop an ulp apart
                x.to_numpy(zero_copy_only=False),
                y.to_numpy(zero_copy_only=False),
                rtol=1e-6,
                err_msg=name,
            )
        else:
            assert x.to_pylist() == y.to_pylist(), name


@pytest.mark.parametrize(
    ("nbytes", "limit", "parts"),
    [(100, None, 1), (100, 0, 1), (100, 1000, 1), (101, 1000, 2), (1000, 1000, 10), (10**12, 1000, 64)],
)
def test_parts_keep_per_buyer_rows_to_a_tenth_of_the_limit(nbytes: int, limit: int | None, parts: int) -> None:
    from types import SimpleNamespace

    from custlens.analysis._pipeline import Pipeline

    fake = SimpleNamespace(_on_duckdb=True, _per_buyer=SimpleNamespace(nbytes=nbytes))
    assert Pipeline.customers_parts(fake, limit) == parts  # type: ignore[arg-type]


def test_duckdb_memory_limit_in_bytes() -> None:
    import duckdb
    import ibis

    from custlens.analysis._store import _memory_limit

    con = ibis.duckdb.connect()
    con.raw_sql("SET memory_limit = '300MB'")
    assert _memory_limit(con) == int(286.1 * 2**20)  # DuckDB reports '286.1 MiB'
    con.raw_sql("SET memory_limit = '6GB'")
    assert abs(_memory_limit(con) - 6e9) < 0.02 * 6e9  # "5.5 GiB": one decimal
    assert _memory_limit(duckdb.connect()) is None  # not an Ibis connection


def test_analysis_of_tables_in_memory(company: dict[str, Path]) -> None:
    import pyarrow.parquet as pq

    tx = pq.read_table(company["transactions"])
    started = time.perf_counter()
    stored = analyze({"transactions": tx, "customers": pq.read_table(company["customers"])})
    wall = time.perf_counter() - started
    # each part is timed once: "save" is what saving took beyond the parts it computed lazily
    assert stored.timings["save"] >= 0 and sum(stored.timings.values()) <= wall
    assert stored.n_customers == pq.read_table(company["customers"]).num_rows
    assert "satisfaction" in stored.skipped
    assert not stored.has_result("kano")
    assert stored.has_result("pareto")
    with pytest.raises(InputError, match="no result 'kano'.*satisfaction left out: no survey answers"):
        stored.result("kano")


def test_bad_inputs_are_one_clear_error(company: dict[str, Path], workspace) -> None:
    import pyarrow.parquet as pq

    tx = pq.read_table(company["transactions"])
    with pytest.raises(InputError, match="unknown table 'transaction'; did you mean 'transactions'"):
        analyze({"transaction": tx})
    with pytest.raises(InputError, match="needs a 'transactions' table"):
        analyze({"customers": pq.read_table(company["customers"])})
    with pytest.raises(InputError, match="'as_of' 2000-01-01 is before the first transaction"):
        analyze({"transactions": tx}, as_of="2000-01-01")
    with pytest.raises(InputError, match="opened read-only"):
        analyze(workspace)
    with pytest.raises(InputError, match="no segmentation 'rfn'; did you mean 'rfm'"):
        load_analysis(workspace).segments("rfn")
    with pytest.raises(InputError, match="no stored analysis as of 1999-01-01"):
        load_analysis(workspace, as_of="1999-01-01")


def test_no_stored_analysis_says_how_to_make_one(tmp_path: Path) -> None:
    from custlens.warehouse import Workspace

    with Workspace.init(tmp_path / "empty") as ws:
        with pytest.raises(InputError, match="custlens analyze --workspace"):
            load_analysis(ws)
        assert list_analyses(ws).num_rows == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"clvv": {}}, r"unknown section \[clvv\]; did you mean 'clv'"),
        ({"clv": {"horizon": 6}}, r"\[clv\] has no setting 'horizon'; did you mean 'horizon_months'"),
        ({"clv": {"horizon_months": -1}}, r"\[clv\] horizon_months must be a number of months in \(0, 1200\]; got -1"),
        ({"clv": {"model": "bgbb"}}, r"\[clv\] model must be one of bgnbd, mbgnbd, pnbd; got 'bgbb'"),
        ({"analysis": {"methods": ["rfm", "nope"]}}, r"\[analysis\] methods must be a list of methods among"),
        ({"analysis": {"time_unit": "Y"}}, r"\[analysis\] time_unit must be one of D, W, M; got 'Y'"),
        (
            {"analysis": {"methods": ["rfm"]}},
            r"\[satisfaction\] segments = 'pyramid' is not among \[analysis\] methods",
        ),
        ({"score": {"cost": ["nope"]}}, r"\[score\] cost lists 'nope'"),
        ({"segment": {"rfmm": {}}}, r"\[segment.<method>\] tables configure the methods"),
        ("missing.toml", "no such file"),
    ],
)
def test_configuration_errors_name_section_and_key(config: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_analysis_config(config)  # type: ignore[arg-type]


def test_configuration_file_and_hash(tmp_path: Path) -> None:
    path = tmp_path / "analysis.toml"
    path.write_text('[clv]\nhorizon_months = 24\n[analysis]\nmethods = ["rfm", "pyramid"]\n', encoding="utf-8")
    cfg = load_analysis_config(path)
    assert cfg["clv"]["horizon_months"] == 24
    assert cfg.methods == ("rfm", "pyramid")
    assert cfg.hash == load_analysis_config(cfg.to_dict()).hash != load_analysis_config().hash


def test_configured_methods_and_horizon_are_used(company: dict[str, Path]) -> None:
    import pyarrow.parquet as pq

    tx = pq.read_table(company["transactions"])
    short = analyze(
        {"transactions": tx}, config={"analysis": {"methods": ["rfm", "pyramid"]}, "clv": {"horizon_months": 3}}
    )
    long = analyze(
        {"transactions": tx}, config={"analysis": {"methods": ["rfm", "pyramid"]}, "clv": {"horizon_months": 24}}
    )
    assert short.methods == ("rfm", "pyramid")
    totals = [pc.sum(a.customers().to_pyarrow()["clv"]).as_py() for a in (short, long)]
    assert totals[0] < totals[1]


def test_results_are_plain_tables(workspace) -> None:
    stored = load_analysis(workspace)
    hist = stored.result("clv_histogram")
    c = stored.customers().to_pyarrow()
    assert pc.sum(hist["customers"]).as_py() == pc.sum(pc.is_valid(c["clv"])).as_py()
    bands = {r["risk_band"]: r for r in stored.result("risk_bands").to_pylist()}
    for band, row in bands.items():
        mask = pc.equal(c["risk_band"], band)
        assert row["customers"] == pc.sum(mask).as_py()
        assert row["value_at_stake"] == pytest.approx(pc.sum(pc.filter(c["value_at_stake"], mask)).as_py())
    pareto = stored.result("pareto")
    assert pareto["customer_share"][0].as_py() == 0.0 and pareto["value_share"][-1].as_py() == pytest.approx(1.0)
    kano = stored.result("kano")
    assert {"attribute", "category", "better", "worse"} <= set(kano.column_names)
    assert isinstance(stored.result("playbook"), pa.Table)
