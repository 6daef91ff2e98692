"""k-means clustering of customers on standardised RFM and indicator features.

Features are pulled from the table once (one row per customer, a few columns), skewed
money columns are log-transformed (``sign(x) log(1 + |x|)``), every feature is
standardised, and scikit-learn's ``KMeans`` (Lloyd, k-means++ starts) is fitted. Unless
``k`` is given it is chosen in ``k_min..k_max`` by the silhouette coefficient (Rousseeuw,
1987) computed on a random sample. Clusters are numbered by mean value, largest first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow as pa

from custlens.errors import ConfigError, InputError
from custlens.segment._common import (
    SegmentResult,
    SummarySpec,
    as_ibis,
    as_of_or_none,
    check_config_keys,
    require_columns,
)
from custlens.segment._config import ConfigLike, load_config, read_toml

__all__ = ["kmeans_segments", "CLUSTER_KEYS"]

log = logging.getLogger(__name__)

CLUSTER_KEYS = [
    "features",
    "log_features",
    "value",
    "k_min",
    "k_max",
    "silhouette_sample",
    "n_init",
    "max_iter",
    "random_state",
]


def _config(config: ConfigLike, overrides: dict[str, Any]) -> dict[str, Any]:
    cfg = load_config("cluster", config)
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    check_config_keys(cfg, CLUSTER_KEYS, "cluster configuration")
    for key in ("k_min", "k_max", "silhouette_sample", "n_init", "max_iter"):
        v = cfg[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < (2 if key.startswith("k_") else 1):
            raise ConfigError(f"cluster: {key!r} must be an integer >= {2 if key.startswith('k_') else 1}, got {v!r}")
    if cfg["k_min"] > cfg["k_max"]:
        raise ConfigError(f"cluster: 'k_min' ({cfg['k_min']}) must not exceed 'k_max' ({cfg['k_max']})")
    if not isinstance(cfg["features"], list) or not cfg["features"]:
        raise ConfigError("cluster: 'features' must be a non-empty list of column names")
    return cfg


def sample_rows(n: int, cfg: dict[str, Any]) -> np.ndarray | None:
    """Positions (in customer-id order) of the customers k is chosen on; ``None``: all of them.

    ``silhouette_sample`` positions drawn without replacement with ``random_state``: the
    same customers on every engine.
    """
    if n <= cfg["silhouette_sample"]:
        return None
    return np.random.default_rng(cfg["random_state"]).choice(n, cfg["silhouette_sample"], replace=False)


def choose_k(sample: np.ndarray, cfg: dict[str, Any]) -> tuple[int, dict[int, float], np.ndarray]:
    """Best k by silhouette on the standardised ``sample``; returns k, the scores and that k's sample centres."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    scores: dict[int, float] = {}
    centres: dict[int, np.ndarray] = {}
    # small fits: one thread each is several times faster than a thread pool per fit
    with threadpool_limits(limits=1):
        for k in range(cfg["k_min"], min(cfg["k_max"], len(np.unique(sample, axis=0)) - 1) + 1):
            km = KMeans(k, n_init=cfg["n_init"], max_iter=cfg["max_iter"], random_state=cfg["random_state"]).fit(sample)
            scores[k] = float(silhouette_score(sample, km.labels_))
            centres[k] = km.cluster_centers_
    if not scores:
        raise InputError(f"cluster: too few distinct customers ({len(sample)}) to choose k by silhouette")
    best = max(scores, key=lambda k: (scores[k], -k))
    log.debug("silhouette by k: %s", scores)
    return best, scores, centres[best]


def kmeans_segments(
    features: Any,
    *,
    k: int | None = None,
    columns: Sequence[str] | None = None,
    customer_col: str = "customer_id",
    as_of: date | str | None = None,
    config: ConfigLike = None,
) -> SegmentResult:
    """Cluster customers with k-means and profile the clusters.

    Unlike the other methods this one executes while it runs: the features are read into
    NumPy once and scikit-learn fits the clusters in the Python process.

    Returns
    -------
    SegmentResult
        ``customers``: ``customer_id``, the raw features, ``cluster`` (1 = highest mean
        value), ``segment`` (``"cluster 1"``...), ``segment_zh`` (``"第1类"``...);
        ``details["profile"]`` (Arrow table: cluster, customers, share, mean of each raw
        feature and the standardised centre ``z_<feature>``), ``details["k"]`` and
        ``details["silhouette"]`` (by k, when k was chosen).
    """
    from sklearn.cluster import KMeans

    cfg = _config(config, {"features": list(columns) if columns else None})
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 2):
        raise ConfigError(f"cluster: 'k' must be an integer >= 2, got {k!r}")
    t = as_ibis(features, "cluster features")
    feats = list(cfg["features"])
    value = cfg["value"]
    user = read_toml(config) if isinstance(config, (str, Path)) else dict(config or {})
    if "value" not in user and value not in t.columns:
        # the default value column (revenue) is absent: number clusters by the first feature
        value = feats[0]
    if not isinstance(value, str) or value not in t.columns:
        raise ConfigError(
            f"cluster: the 'value' column {value!r} (clusters are numbered by its mean) "
            f"is not in the features table; columns are {list(t.columns)}; set 'value' "
            f"to one of them (e.g. {feats[0]!r})"
        )
    require_columns(t, {"customer_col": customer_col, **{f: f for f in feats}}, "cluster")
    selected = t.select(
        customer_id=t[customer_col].cast("string"), **{f: t[f].cast("float64") for f in dict.fromkeys([*feats, value])}
    )
    from custlens.warehouse.compat import backend_name, to_arrow

    if backend_name(t) == "pyspark":  # Spark MLlib on the executors; only a sample reaches the driver
        from custlens.segment._cluster_spark import kmeans_on_spark

        return kmeans_on_spark(selected, feats, value, cfg, k, as_of_or_none(as_of))
    # the sample and the starts depend on row order: customer ids, on every engine
    data = to_arrow(selected.order_by("customer_id"))
    raw = np.column_stack([data[f].to_numpy(zero_copy_only=False) for f in feats]).astype(float)
    bad = ~np.isfinite(raw)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"cluster: {int(bad.any(axis=1).sum())} customers have missing or infinite "
            f"values (first: customer {data['customer_id'][int(row)]}, column {feats[col]!r})"
        )
    n = len(raw)
    if n < 3:
        raise InputError(f"cluster: need at least 3 customers, got {n}")
    x = raw.copy()
    for j, f in enumerate(feats):
        if f in cfg["log_features"]:
            x[:, j] = np.sign(x[:, j]) * np.log1p(np.abs(x[:, j]))
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    z = (x - mu) / sd
    if k is not None:
        distinct = len(np.unique(z, axis=0))
        if k > distinct:
            raise InputError(
                f"cluster: 'k' must not exceed the number of distinct customers' feature rows ({distinct}), got k = {k}"
            )
    scores: dict[int, float] = {}
    if k is None:
        # the full fit starts from the chosen k's centres on the sample: one Lloyd run until
        # no customer changes cluster (tol=0), the fixed point MLlib reaches from there too
        rows = sample_rows(n, cfg)
        k, scores, start = choose_k(z if rows is None else z[rows], cfg)
        km = KMeans(k, init=start, n_init=1, max_iter=cfg["max_iter"], random_state=cfg["random_state"], tol=0.0)
        km = km.fit(z)
    else:
        km = KMeans(k, n_init=cfg["n_init"], max_iter=cfg["max_iter"], random_state=cfg["random_state"]).fit(z)
    labels = km.labels_
    val = data[value].to_numpy(zero_copy_only=False).astype(float)
    means = np.array([val[labels == c].mean() if (labels == c).any() else -np.inf for c in range(k)])
    order = np.argsort(-means, kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(1, k + 1)
    cluster = rank[labels]
    out = data.select(["customer_id", *feats]).append_column("cluster", pa.array(cluster))
    labels_en = np.array([f"cluster {c}" for c in range(1, k + 1)], dtype=object)
    labels_zh = np.array([f"第{c}类" for c in range(1, k + 1)], dtype=object)
    out = out.append_column("segment", pa.array(labels_en[cluster - 1], pa.string()))
    out = out.append_column("segment_zh", pa.array(labels_zh[cluster - 1], pa.string()))
    if value not in feats:
        out = out.append_column("_value", data[value])
    prof: dict[str, list[Any]] = {"cluster": [], "customers": [], "share": []}
    for f in feats:
        prof[f"mean_{f}"] = []
    for f in feats:
        prof[f"z_{f}"] = []
    for c in range(1, k + 1):
        m = cluster == c
        prof["cluster"].append(c)
        prof["customers"].append(int(m.sum()))
        prof["share"].append(float(m.mean()))
        src = int(order[c - 1])
        for j, f in enumerate(feats):
            prof[f"mean_{f}"].append(float(raw[m, j].mean()) if m.any() else float("nan"))
            prof[f"z_{f}"].append(float(km.cluster_centers_[src, j]))
    profile = pa.table(prof)
    details = {"k": k, "silhouette": scores, "profile": profile, "value_column": value, "inertia": float(km.inertia_)}
    return cluster_result(ibis.memtable(out), feats, value, cfg, as_of_or_none(as_of), details)


def cluster_result(
    table: Any, feats: Sequence[str], value: str, cfg: dict[str, Any], as_of: date | None, details: dict[str, Any]
) -> SegmentResult:
    """The :class:`SegmentResult` of ``details["k"]`` clusters whose customers are ``table``."""
    k = int(details["k"])
    names = {f"cluster {c}": f"第{c}类" for c in range(1, k + 1)}
    spec = SummarySpec(
        tuple(names),
        names,
        value if value in feats else "_value",
        "order_count" if "order_count" in feats else None,
    )
    return SegmentResult(
        "cluster", as_of, table, ("customer_id", *feats, "cluster", "segment", "segment_zh"), spec, cfg, details
    )
