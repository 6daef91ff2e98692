"""Customer identification and segmentation on a whole customer base (Ibis expressions).

Every method reads per-customer features -- the table of
:func:`custlens.features.customer_features` -- and returns a :class:`SegmentResult` of lazy
expressions: ``customers`` (one row per customer with ``customer_id``, the method's
columns, ``segment`` and ``segment_zh``) and ``summary`` (one row per segment: ``segment,
segment_zh, segment_rank, customers, share, value, value_share, orders,
avg_order_value``). The ``*_from_transactions`` functions compute the features of a
transaction log through :mod:`custlens.features` and call the same methods. Thresholds,
rules and names come from TOML configuration; the defaults ship in
``custlens/segment/defaults/``.
"""

from __future__ import annotations

from custlens.segment._common import SUMMARY_COLUMNS, Details, SegmentResult, SummarySpec, summarise
from custlens.segment._config import load_config, load_defaults
from custlens.segment._inputs import TransactionColumns, customer_summary, features_from_transactions
from custlens.segment.abc import abc_classes, concentration, pareto_curve, value_pyramid
from custlens.segment.cluster import kmeans_segments
from custlens.segment.export import csv_bytes, write_export
from custlens.segment.lifecycle import (
    LIFECYCLE_FEATURES,
    STAGES,
    VARIANTS,
    lifecycle_stage,
    lifecycle_stage_from_transactions,
    stage_names,
)
from custlens.segment.matrix import clv_matrix, value_matrix
from custlens.segment.rfm import (
    RFM_COLUMNS,
    SHIPPED_MAPS,
    SHIPPED_THRESHOLDS,
    load_segment_map,
    rfm,
    rfm_from_transactions,
    rfm_heatmap,
)
from custlens.segment.rules import RuleError, compile_rule, parse_rule, rule_segments
from custlens.segment.scheme import combine
from custlens.segment.snapshot import (
    Migration,
    list_snapshots,
    load_assignments,
    migration,
    open_snapshot_db,
    save_snapshot,
)
from custlens.segment.state import (
    STATE_FEATURES,
    STATES,
    relationship_state,
    relationship_state_from_transactions,
    state_flow,
    winback_list,
)

__all__ = [
    "SegmentResult",
    "SummarySpec",
    "Details",
    "SUMMARY_COLUMNS",
    "RFM_COLUMNS",
    "TransactionColumns",
    "RuleError",
    "customer_summary",
    "features_from_transactions",
    "summarise",
    "load_config",
    "load_defaults",
    "load_segment_map",
    "rfm",
    "rfm_from_transactions",
    "rfm_heatmap",
    "STATES",
    "STATE_FEATURES",
    "relationship_state",
    "relationship_state_from_transactions",
    "state_flow",
    "winback_list",
    "STAGES",
    "VARIANTS",
    "stage_names",
    "SHIPPED_MAPS",
    "SHIPPED_THRESHOLDS",
    "LIFECYCLE_FEATURES",
    "lifecycle_stage",
    "lifecycle_stage_from_transactions",
    "abc_classes",
    "value_pyramid",
    "pareto_curve",
    "concentration",
    "value_matrix",
    "clv_matrix",
    "kmeans_segments",
    "combine",
    "Migration",
    "open_snapshot_db",
    "save_snapshot",
    "list_snapshots",
    "load_assignments",
    "migration",
    "compile_rule",
    "parse_rule",
    "rule_segments",
    "csv_bytes",
    "write_export",
]
