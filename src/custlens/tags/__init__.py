"""Customer tags and profiles: 标签体系构建 -> 画像构建 -> 效果评估.

A **taxonomy** (TOML: categories of tags with English and Chinese names) defines fact,
rule, statistic, model and time-window tags (:func:`load_taxonomy`; the shipped default
covers the demo company). :func:`apply_tags` computes every tag for every customer from
the stored analysis as Ibis expressions (:func:`compute_tags` runs on any backend) and
stores the assignments with validity dates, so a tag's history is kept. Evaluation
(:mod:`custlens.tags.evaluate`: coverage, overlap, stability, lift), persona cards, the
customer profile card and audiences read what was stored. See ``docs/tags.md``.
"""

from __future__ import annotations

from custlens.tags._api import TagRun, apply_tags, profile_card, tag_counts, tag_history
from custlens.tags._engine import MODEL_COLUMNS, TagComputation, compute_tags, segment_column, tag_base
from custlens.tags._expr import ExpressionError, compile_expression, parse_expression
from custlens.tags._model import (
    KINDS,
    Category,
    Tag,
    Taxonomy,
    default_taxonomy_path,
    load_taxonomy,
    taxonomy_from_mapping,
)
from custlens.tags._store import ASSIGNMENTS_TABLE, DEFINITIONS_TABLE, RUNS_TABLE
from custlens.tags.evaluate import coverage, lift, overlap, stability
from custlens.tags.persona import (
    PERSONA_COLUMNS,
    audience,
    audience_table,
    export_audience,
    persona_card,
    persona_cards,
    persona_rows,
)

__all__ = [
    "ASSIGNMENTS_TABLE",
    "Category",
    "DEFINITIONS_TABLE",
    "ExpressionError",
    "KINDS",
    "MODEL_COLUMNS",
    "PERSONA_COLUMNS",
    "RUNS_TABLE",
    "Tag",
    "TagComputation",
    "TagRun",
    "Taxonomy",
    "apply_tags",
    "audience",
    "audience_table",
    "compile_expression",
    "compute_tags",
    "coverage",
    "default_taxonomy_path",
    "export_audience",
    "lift",
    "load_taxonomy",
    "overlap",
    "parse_expression",
    "persona_card",
    "persona_cards",
    "persona_rows",
    "profile_card",
    "segment_column",
    "stability",
    "tag_base",
    "tag_counts",
    "tag_history",
    "taxonomy_from_mapping",
]
