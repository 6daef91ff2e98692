"""k-means on Spark: the customers stay on the executors, only a sample reaches the driver.

The same method as :func:`custlens.segment.kmeans_segments` on one machine, step by step:
the signed-log transform and the standardisation (population mean and standard
deviation) are Spark SQL; k is chosen by silhouette on the same sample of customers
(positions in customer-id order, drawn with ``random_state``), fetched by a distributed
``zipWithIndex`` over the rows sorted by customer id; the full fit is Spark MLlib's
k-means (Lloyd) started from the chosen k's sample centres and run until no centre moves
(``epsilon = 0``), the fixed point scikit-learn reaches from the same start on DuckDB.
Assignments, cluster sizes and profiles are computed by Spark. With ``k`` given there is
no sample: MLlib starts from k-means|| (Bahmani et al. 2012) seeded with ``random_state``,
so its clusters may differ from scikit-learn's k-means++ runs.

MLlib's RDD API is used (it accepts initial centres); Spark Connect has no RDDs, so over
Connect the same steps run on DataFrames: the sample's positions come from a row number
in customer-id order (a window over the whole table, one partition), Lloyd's iterations
from the chosen centres are Spark SQL (assign each customer to its nearest centre, the
first on a tie as in MLlib; move each centre to the mean of its customers, an empty
cluster keeping its centre; stop when no centre moves or after ``max_iter``), and with
``k`` given ``pyspark.ml.clustering.KMeans`` (k-means||, ``random_state`` as seed) fits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from custlens.errors import InputError
from custlens.segment._common import SegmentResult

__all__ = ["kmeans_on_spark"]


def kmeans_on_spark(
    selected: Any, feats: Sequence[str], value: str, cfg: dict[str, Any], k: int | None, as_of: date | None
) -> SegmentResult:
    """:func:`~custlens.segment.kmeans_segments` of ``selected`` (``customer_id``, features, value) on Spark."""
    from pyspark.sql import functions as F

    from custlens.segment.cluster import choose_k, cluster_result, sample_rows
    from custlens.warehouse.compat import backend_of, is_spark_connect, spark_frame

    frame = spark_frame(selected)
    connect = is_spark_connect(frame.sparkSession)
    feats = list(feats)
    bad = F.lit(False)
    for f in feats:
        bad = bad | F.col(f).isNull() | F.isnan(F.col(f)) | (F.abs(F.col(f)) == float("inf"))
    broken = frame.filter(bad)
    first = broken.orderBy("customer_id").limit(1).collect()
    if first:
        row = first[0].asDict()
        column = next(f for f in feats if row[f] is None or not np.isfinite(row[f]))
        raise InputError(
            f"cluster: {broken.count()} customers have missing or infinite values "
            f"(first: customer {row['customer_id']}, column {column!r})"
        )
    n = frame.count()
    if n < 3:
        raise InputError(f"cluster: need at least 3 customers, got {n}")
    x = {f: (F.signum(F.col(f)) * F.log1p(F.abs(F.col(f)))) if f in cfg["log_features"] else F.col(f) for f in feats}
    moments = frame.select(*[v.alias(f) for f, v in x.items()]).agg(
        *[F.avg(f).alias(f"mu_{f}") for f in feats], *[F.stddev_pop(f).alias(f"sd_{f}") for f in feats]
    )
    m = moments.collect()[0].asDict()
    mu = np.array([m[f"mu_{f}"] for f in feats], dtype=float)
    sd = np.array([m[f"sd_{f}"] for f in feats], dtype=float)
    sd[sd == 0] = 1.0
    zcols = [f"_z{j}" for j in range(len(feats))]
    zed = frame.select(
        "*", *[((x[f] - float(mu[j])) / float(sd[j])).alias(zcols[j]) for j, f in enumerate(feats)]
    ).cache()
    try:
        scores: dict[int, float] = {}
        if k is None:
            start, k, scores = _start(zed, zcols, n, cfg, sample_rows, choose_k, connect=connect)
            if connect:
                centres = _lloyd(zed, zcols, np.asarray(start, dtype=float), int(cfg["max_iter"]))
            else:
                from pyspark.mllib.clustering import KMeans, KMeansModel

                vectors = zed.select(*zcols).rdd.map(lambda r: [float(v) for v in r])
                model = KMeans.train(
                    vectors, k, maxIterations=cfg["max_iter"], initialModel=KMeansModel(list(start)), epsilon=0.0
                )
                centres = np.array(model.clusterCenters, dtype=float)
        else:
            distinct = zed.select(*zcols).distinct().count()
            if k > distinct:
                raise InputError(
                    f"cluster: 'k' must not exceed the number of distinct customers' feature rows ({distinct}), "
                    f"got k = {k}"
                )
            centres = _seeded(zed, zcols, k, cfg, connect=connect)
        table, profile, inertia = _assign(zed, zcols, feats, value, centres, n)
        view = f"custlens_cluster_{uuid.uuid4().hex}"
        table.createOrReplaceTempView(view)
        backend = backend_of(selected)
        assert backend is not None
        details = {"k": k, "silhouette": scores, "profile": profile, "value_column": value, "inertia": inertia}
        return cluster_result(backend.table(view), feats, value, cfg, as_of, details)
    finally:
        zed.unpersist()


def _seeded(zed: Any, zcols: list[str], k: int, cfg: dict[str, Any], *, connect: bool) -> np.ndarray:
    """The centres of MLlib's k-means from k-means|| seeded with ``random_state`` (``k`` given)."""
    seed, max_iter = int(cfg["random_state"]), int(cfg["max_iter"])
    if not connect:
        from pyspark.mllib.clustering import KMeans

        vectors = zed.select(*zcols).rdd.map(lambda r: [float(v) for v in r])
        return np.array(KMeans.train(vectors, k, maxIterations=max_iter, seed=seed, epsilon=0.0).clusterCenters)
    from pyspark.ml.clustering import KMeans as MLKMeans
    from pyspark.ml.feature import VectorAssembler

    points = VectorAssembler(inputCols=zcols, outputCol="_features").transform(zed.select(*zcols))
    model = MLKMeans(k=k, maxIter=max_iter, seed=seed, tol=0.0, featuresCol="_features").fit(points)
    return np.array([list(c) for c in model.clusterCenters()], dtype=float)


def _lloyd(zed: Any, zcols: list[str], centres: np.ndarray, max_iter: int) -> np.ndarray:
    """Lloyd's iterations in Spark SQL from ``centres`` until no centre moves (MLlib's ``epsilon = 0``)."""
    from pyspark.sql import functions as F

    for _ in range(max_iter):
        means = _labelled(zed, zcols, centres).groupBy("_label").agg(*[F.avg(c).alias(c) for c in zcols]).collect()
        moved = centres.copy()  # an empty cluster keeps its centre, as in MLlib
        for row in means:
            moved[int(row["_label"])] = [float(row[c]) for c in zcols]
        if np.array_equal(moved, centres):
            break
        centres = moved
    return centres


def _labelled(zed: Any, zcols: list[str], centres: np.ndarray) -> Any:
    """``zed`` with ``_label`` (the nearest centre, the first of equals) and ``_d2`` (its squared distance)."""
    from pyspark.sql import functions as F

    distances = [
        sum(((F.col(c) - float(centres[i, j])) ** 2 for j, c in enumerate(zcols)), F.lit(0.0))
        for i in range(len(centres))
    ]
    return zed.select(
        "*",
        (F.array_position(F.array(*distances), F.array_min(F.array(*distances))) - 1).cast("int").alias("_label"),
        F.array_min(F.array(*distances)).alias("_d2"),
    )


def _start(
    zed: Any, zcols: list[str], n: int, cfg: dict[str, Any], sample_rows: Any, choose_k: Any, *, connect: bool
) -> Any:
    """The chosen k's sample centres, k and the silhouette scores, from the sample fetched to the driver."""
    rows = sample_rows(n, cfg)
    ordered = zed.select("customer_id", *zcols).orderBy("customer_id")
    if rows is None:
        sample = np.array([[r[c] for c in zcols] for r in ordered.collect()], dtype=float)
    elif connect:  # no RDDs: positions from a row number in customer-id order
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        position = F.row_number().over(Window.orderBy("customer_id")) - 1
        numbered = zed.select(position.alias("_position"), *zcols)
        found = numbered.filter(F.col("_position").isin([int(i) for i in rows])).collect()
        picked = {int(r["_position"]): [float(r[c]) for c in zcols] for r in found}
        sample = np.array([picked[int(i)] for i in rows], dtype=float)
    else:
        wanted = {int(i) for i in rows}
        picked = (
            ordered.rdd.zipWithIndex()
            .filter(lambda pair: pair[1] in wanted)
            .map(lambda pair: (pair[1], [float(pair[0][c]) for c in zcols]))
            .collectAsMap()
        )
        sample = np.array([picked[int(i)] for i in rows], dtype=float)
    k, scores, start = choose_k(sample, cfg)
    return start, k, scores


def _assign(
    zed: Any, zcols: list[str], feats: list[str], value: str, centres: np.ndarray, n: int
) -> tuple[Any, pa.Table, float]:
    """The per-customer table (numbered by mean value, largest first), the profile and the inertia."""
    from pyspark.sql import functions as F

    k = len(centres)
    labelled = _labelled(zed, zcols, centres)
    stats = (
        labelled.groupBy("_label")
        .agg(
            F.count(F.lit(1)).alias("customers"),
            F.avg(value).alias("_mean_value"),
            F.sum("_d2").alias("_d2"),
            *[F.avg(f).alias(f"mean_{f}") for f in feats],
        )
        .collect()
    )
    by_label = {int(r["_label"]): r.asDict() for r in stats}
    means = np.array([by_label[c]["_mean_value"] if c in by_label else -np.inf for c in range(k)])
    order = np.argsort(-means, kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(1, k + 1)
    number = F.element_at(F.array(*[F.lit(int(r)) for r in rank]), F.col("_label") + 1)
    en = F.element_at(F.array(*[F.lit(f"cluster {int(r)}") for r in rank]), F.col("_label") + 1)
    zh = F.element_at(F.array(*[F.lit(f"第{int(r)}类") for r in rank]), F.col("_label") + 1)
    columns = ["customer_id", *feats]
    extra = [F.col(value).alias("_value")] if value not in feats else []
    table = labelled.select(
        *columns, number.cast("long").alias("cluster"), en.alias("segment"), zh.alias("segment_zh"), *extra
    )
    prof: dict[str, list[Any]] = {"cluster": [], "customers": [], "share": []}
    prof |= {f"mean_{f}": [] for f in feats} | {f"z_{f}": [] for f in feats}
    for c in range(1, k + 1):
        src = int(order[c - 1])
        row = by_label.get(src, {})
        size = int(row.get("customers", 0))
        prof["cluster"].append(c)
        prof["customers"].append(size)
        prof["share"].append(size / n)
        for j, f in enumerate(feats):
            prof[f"mean_{f}"].append(float(row[f"mean_{f}"]) if size else float("nan"))
            prof[f"z_{f}"].append(float(centres[src, j]))
    inertia = float(sum(r["_d2"] for r in by_label.values()))
    return table, pa.table(prof), inertia
