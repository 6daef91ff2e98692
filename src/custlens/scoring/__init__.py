"""Important-customer identification: weighted scores over value indicators.

Weights are set by the user, derived from the data by the entropy-weight method, or
derived from pairwise judgements by the analytic hierarchy process (with Saaty's
consistency check). See ``docs/scoring.md``.
"""

from __future__ import annotations

from custlens.scoring._ahp import (
    CONSISTENCY_THRESHOLD,
    RANDOM_INDEX,
    AHPHierarchy,
    AHPResult,
    ahp_hierarchy,
    ahp_weights,
    check_pairwise,
    pairwise_matrix,
)
from custlens.scoring._config import ahp_from_mapping, load_ahp, parse_weights
from custlens.scoring._entropy import EntropyWeights, entropy_weights, entropy_weights_from_sums
from custlens.scoring._score import DEFAULT_TIERS, ScoreResult, score_customers, score_transactions

__all__ = [
    "AHPHierarchy",
    "AHPResult",
    "CONSISTENCY_THRESHOLD",
    "DEFAULT_TIERS",
    "EntropyWeights",
    "RANDOM_INDEX",
    "ScoreResult",
    "ahp_from_mapping",
    "ahp_hierarchy",
    "ahp_weights",
    "check_pairwise",
    "entropy_weights",
    "entropy_weights_from_sums",
    "load_ahp",
    "pairwise_matrix",
    "parse_weights",
    "score_customers",
    "score_transactions",
]
