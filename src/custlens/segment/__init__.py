"""Customer identification and segmentation on a whole customer base (Ibis expressions).

Every method returns a :class:`SegmentResult`: ``customers`` (one row per customer with
``customer_id``, the method's columns, ``segment`` and ``segment_zh``) and ``summary``
(one row per segment: ``segment, segment_zh, segment_rank, customers, share, value,
value_share, orders, avg_order_value``). Thresholds, rules and names come from TOML
configuration; the defaults ship in ``custlens/segment/defaults/``.
"""

from __future__ import annotations

from custlens.segment._common import SUMMARY_COLUMNS, SegmentResult, summarise
from custlens.segment._config import load_config, load_defaults
from custlens.segment._transactions import TransactionColumns, as_dates, as_numbers, as_of_date, customer_summary
from custlens.segment.abc import abc_classes, concentration, pareto_curve, value_pyramid
from custlens.segment.cluster import kmeans_segments
from custlens.segment.export import csv_bytes, write_export
from custlens.segment.lifecycle import STAGES, lifecycle_stage
from custlens.segment.matrix import clv_matrix, value_matrix
from custlens.segment.rfm import RFM_COLUMNS, load_segment_map, rfm, rfm_from_transactions, rfm_heatmap
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
from custlens.segment.state import STATES, relationship_state, state_flow, winback_list

__all__ = [
    "SegmentResult",
    "SUMMARY_COLUMNS",
    "RFM_COLUMNS",
    "TransactionColumns",
    "RuleError",
    "customer_summary",
    "as_dates",
    "as_of_date",
    "as_numbers",
    "summarise",
    "load_config",
    "load_defaults",
    "load_segment_map",
    "rfm",
    "rfm_from_transactions",
    "rfm_heatmap",
    "STATES",
    "relationship_state",
    "state_flow",
    "winback_list",
    "STAGES",
    "lifecycle_stage",
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
