"""k-means clustering, snapshots and migration, and multi-dimensional schemes."""

from __future__ import annotations

from datetime import date

import ibis
import numpy as np
import pyarrow as pa
import pytest

from custlens.errors import ConfigError, InputError
from custlens.segment import SegmentResult
from custlens.segment.abc import abc_classes, value_pyramid
from custlens.segment.cluster import kmeans_segments
from custlens.segment.scheme import combine
from custlens.segment.snapshot import list_snapshots, load_assignments, migration, save_snapshot


def _blobs(n_per: int = 200, seed: int = 3) -> pa.Table:
    """Three well separated groups: big recent spenders, mid, small lapsed buyers."""
    rng = np.random.default_rng(seed)
    centres = [(10, 20, 5000, 250), (60, 6, 600, 100), (300, 1, 40, 40)]
    cols = {k: [] for k in ("recency_days", "order_count", "revenue", "avg_order_value")}
    for r, f, m, a in centres:
        cols["recency_days"] += list(rng.normal(r, r * 0.1, n_per))
        cols["order_count"] += list(np.maximum(1, rng.normal(f, f * 0.1, n_per)))
        cols["revenue"] += list(rng.lognormal(np.log(m), 0.1, n_per))
        cols["avg_order_value"] += list(rng.lognormal(np.log(a), 0.1, n_per))
    n = 3 * n_per
    return pa.table({"customer_id": [f"c{i:04d}" for i in range(n)], **cols})


def test_kmeans_finds_the_three_groups_and_orders_them_by_value() -> None:
    res = kmeans_segments(_blobs())
    assert res.details["k"] == 3
    assert max(res.details["silhouette"], key=res.details["silhouette"].get) == 3
    c = res.customers.order_by("customer_id").to_pyarrow()
    clusters = np.array(c["cluster"].to_pylist())
    # the first 200 customers are the big spenders -> cluster 1, then 2, then 3
    assert set(clusters[:200]) == {1} and set(clusters[200:400]) == {2} and set(clusters[400:]) == {3}
    prof = res.details["profile"].to_pylist()
    assert [p["customers"] for p in prof] == [200, 200, 200]
    assert prof[0]["mean_revenue"] > prof[1]["mean_revenue"] > prof[2]["mean_revenue"]
    assert c["segment_zh"][0].as_py() == "第1类"


def test_kmeans_given_k_and_errors() -> None:
    res = kmeans_segments(_blobs(50), k=2)
    assert res.details["k"] == 2 and res.details["silhouette"] == {}
    with pytest.raises(ConfigError, match="'k' must be an integer >= 2"):
        kmeans_segments(_blobs(50), k=1)
    with pytest.raises(InputError, match="did you mean 'revenue'"):
        kmeans_segments(_blobs(50), columns=["revenu"])
    bad = _blobs(20).set_column(3, "revenue", pa.array([None] + [1.0] * 59, pa.float64()))
    with pytest.raises(InputError, match="1 customers have missing.*first: customer c0000"):
        kmeans_segments(bad)


def _values(n=10) -> pa.Table:
    return pa.table(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "revenue": [float(2**i) for i in range(n)],
            "customer_type": ["personal", "corporate"] * (n // 2),
        }
    )


def test_snapshot_round_trip_and_migration() -> None:
    con = ibis.duckdb.connect()
    tiers = {"tier": [{"name": "top", "top": 0.3}, {"name": "rest", "top": 1.0}]}
    first = value_pyramid(_values(), as_of=date(2024, 1, 31), config=tiers)
    # a month later c6 has grown into the top tier and c0 has left
    later = _values().to_pandas()
    later.loc[6, "revenue"] = 10_000.0
    later = later.iloc[1:]
    second = value_pyramid(pa.Table.from_pandas(later, preserve_index=False), as_of=date(2024, 2, 29), config=tiers)
    a = save_snapshot(con, first, snapshot_id="jan")
    b = save_snapshot(con, second)
    assert b.startswith("pyramid-2024-02-29-")
    snaps = list_snapshots(con).to_pyarrow().to_pylist()
    assert [s["snapshot_id"] for s in snaps] == ["jan", b] and snaps[0]["customers"] == 10
    assert snaps[0]["config_hash"] == first.config_hash
    got = load_assignments(con, "jan").order_by("customer_id").to_pyarrow().to_pylist()
    exp = first.customers.select("customer_id", "segment").order_by("customer_id").to_pyarrow().to_pylist()
    assert got == exp
    mig = migration(con, a, b)
    m = {(r["from_segment"], r["to_segment"]): r["customers"] for r in mig.matrix.to_pyarrow().to_pylist()}
    # jan (10 customers, rank share < 0.3): top = c9, c8, c7; feb (9 customers): c6 = 10000,
    # c9 = 512, c8 = 256 -> c6 moves up, c7 moves down, c0 is absent in feb
    assert m == {
        ("top", "top"): 2,
        ("top", "rest"): 1,
        ("rest", "top"): 1,
        ("rest", "rest"): 5,
        ("rest", "(absent)"): 1,
    }
    moved = {r["customer_id"]: (r["from_segment"], r["to_segment"]) for r in mig.customers.to_pyarrow().to_pylist()}
    assert moved["c6"] == ("rest", "top") and moved["c7"] == ("top", "rest") and moved["c0"] == ("rest", "(absent)")
    with pytest.raises(InputError, match="already exists"):
        save_snapshot(con, first, snapshot_id="jan")
    with pytest.raises(InputError, match="no snapshot 'jna'.*did you mean 'jan'"):
        migration(con, "jna", b)


def test_snapshot_needs_a_date() -> None:
    with pytest.raises(InputError, match="has no as-of date"):
        save_snapshot(ibis.duckdb.connect(), abc_classes(_values()))


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_snapshots_on_every_backend(backend) -> None:
    res = abc_classes(_values(), as_of="2024-01-31")
    sid = save_snapshot(backend, res, snapshot_id=f"abc-{id(backend)}")
    got = load_assignments(backend, sid).to_pyarrow()
    assert got.num_rows == 10
    mig = migration(backend, sid, sid).matrix.to_pyarrow().to_pylist()
    assert all(r["from_segment"] == r["to_segment"] for r in mig)


def test_bank_style_scheme() -> None:
    vals = _values()
    tiers = {
        "tier": [{"name": "VIP", "name_zh": "贵宾型客户", "top": 0.2}, {"name": "other", "name_zh": "其他", "top": 1.0}]
    }
    tier = value_pyramid(vals, config=tiers)
    abc = abc_classes(vals)
    res = combine(
        {"value_tier": tier, "abc": abc}, attributes=vals, attribute_columns=["customer_type"], value_col="revenue"
    )
    rows = {r["customer_id"]: r for r in res.customers.to_pyarrow().to_pylist()}
    assert rows["c9"]["segment"] == "corporate | VIP | A"
    assert rows["c9"]["segment_zh"] == "corporate | 贵宾型客户 | A类（高端客户、大客户）"
    assert list(res.customers.columns) == ["customer_id", "customer_type", "value_tier", "abc", "segment", "segment_zh"]
    summ = res.summary.to_pyarrow().to_pylist()
    assert sum(r["customers"] for r in summ) == 10
    assert abs(sum(r["value_share"] for r in summ) - 1) < 1e-12


def test_scheme_errors() -> None:
    with pytest.raises(InputError, match="did you mean 'customer_type'"):
        combine({}, attributes=_values(), attribute_columns=["customer_typ"])
    r = abc_classes(_values())
    with pytest.raises(InputError, match="reserved"):
        combine({"segment": r})
    assert isinstance(r, SegmentResult)


def test_kmeans_k_above_distinct_customers_and_missing_value_column() -> None:
    few = pa.table(
        {
            "customer_id": ["a", "b", "c", "d"],
            "recency_days": [1.0, 1.0, 5.0, 9.0],
            "order_count": [2.0, 2.0, 1.0, 3.0],
            "revenue": [10.0, 10.0, 4.0, 30.0],
            "avg_order_value": [5.0, 5.0, 4.0, 10.0],
        }
    )
    # a and b have the same features: 3 distinct rows
    with pytest.raises(InputError, match=r"'k' must not exceed .*distinct.*\(3\), got k = 4"):
        kmeans_segments(few, k=4)
    assert kmeans_segments(few, k=3).details["k"] == 3
    # a configured value column that is not there is an error, not a silent fallback
    with pytest.raises(ConfigError, match="'value' column 'profit'.*not in the features table"):
        kmeans_segments(few, k=2, config={"value": "profit"})
    # the default value column (revenue) absent: clusters are numbered by the first feature
    res = kmeans_segments(few.drop(["revenue"]), k=2, columns=["order_count", "avg_order_value"])
    assert res.details["value_column"] == "order_count"


def test_choose_k_uses_the_configured_max_iter(monkeypatch) -> None:
    import sklearn.cluster

    seen: list[int] = []
    real = sklearn.cluster.KMeans

    def spy(*args, **kwargs):
        seen.append(kwargs.get("max_iter", 300))  # 300 = scikit-learn's default
        return real(*args, **kwargs)

    monkeypatch.setattr(sklearn.cluster, "KMeans", spy)
    kmeans_segments(_blobs(30), config={"max_iter": 7, "k_max": 3})
    assert seen and set(seen) == {7}


@pytest.mark.parametrize("on_engine", [False, True], ids=["in-memory", "engine"])
@pytest.mark.parametrize("repeated", ["c3", None])
def test_snapshot_refuses_repeated_customer_ids(repeated: str | None, on_engine: bool) -> None:
    """Two rows with one customer id, or two without an id, cannot be a snapshot (nothing is stored).

    ``engine``: the result is a query on the snapshot's own connection, stored without a
    round trip through Python; ``in-memory``: it is fetched and inserted.
    """
    con = ibis.duckdb.connect()
    rows = _values().to_pylist()
    rows += [dict(rows[3], customer_id=repeated), dict(rows[4], customer_id=repeated)]
    tiers = {"tier": [{"name": "top", "top": 0.3}, {"name": "rest", "top": 1.0}]}

    def table(rows: list[dict[str, object]]) -> object:
        t = pa.Table.from_pylist(rows)
        return con.create_table(f"v{len(rows)}", t) if on_engine else t

    result = value_pyramid(table(rows), as_of=date(2024, 1, 31), config=tiers)
    with pytest.raises(InputError, match="customer ids are not unique"):
        save_snapshot(con, result, snapshot_id="dup")
    assert list_snapshots(con).count().execute() == 0
    one_missing = value_pyramid(table(rows[:-1]), as_of=date(2024, 1, 31), config=tiers)
    if repeated is None:  # a single row without an id is not a repeat
        assert save_snapshot(con, one_missing, snapshot_id="one") == "one"
    if repeated is None:
        stored = load_assignments(con, "one").order_by("customer_id").to_pyarrow()
        expected = one_missing.customers.select("customer_id", "segment").order_by("customer_id").to_pyarrow()
        assert stored.to_pylist() == expected.to_pylist()
        assert list_snapshots(con).to_pyarrow()["customers"].to_pylist() == [len(rows) - 1]
