"""Survey answers of one block: an ECSI questionnaire and Kano question pairs.

ECSI: latent constructs follow the structural model of :data:`ECSI_PATHS` (unit-variance
constructs, disturbances from :func:`ecsi_structural_noise`); the satisfaction disturbance
is correlated :data:`ECSI_SATISFACTION_FROM_PROPENSITY` with the customer's satisfaction
propensity, which is also tied to the purchase rate, so satisfaction rises with value. Each item
is ``loading * construct + sqrt(1 - loading**2) * noise``, put on the 1-10 scale as
``clip(round(mean + 1.6 * score), 1, 10)``.

Kano: for each attribute a respondent's pair is drawn from a category (the designed one with
probability :data:`KANO_DOMINANT_SHARE`), then answers consistent with that category under
the standard Kano evaluation table.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from custlens.schema import TABLES
from custlens.synth._arrow import take, timestamps
from custlens.synth._population import Period, Population
from custlens.synth.params import (
    ECSI_BLOCKS,
    ECSI_ITEM_MEANS,
    ECSI_ITEM_SD,
    ECSI_LOADINGS,
    ECSI_PATHS,
    ECSI_SATISFACTION_FROM_PROPENSITY,
    KANO_CATEGORIES,
    KANO_DESIGN,
    KANO_DOMINANT_SHARE,
    KANO_OTHER_SHARE,
    KANO_QUESTIONABLE_SHARE,
    KANO_REVERSE_SHARE,
    CompanyParams,
    ecsi_structural_noise,
)

__all__ = ["survey_table", "ECSI_INSTRUMENT", "KANO_INSTRUMENT"]

ECSI_INSTRUMENT = "ecsi"
KANO_INSTRUMENT = "kano"
_ITEMS = [item for items in ECSI_BLOCKS.values() for item in items]
_ANSWERS_1_10 = [str(k) for k in range(11)]
_ANSWERS_1_5 = [str(k) for k in range(6)]


def _answer_window(rng: np.random.Generator, pop: Population, who: np.ndarray, period: Period) -> np.ndarray:
    """Answer time: uniform within the last year of the period, after the first purchase."""
    lo = np.maximum(pop.first_purchase[who], period.days - 365.0)
    return lo + rng.random(len(who)) * (period.days - lo)


def _ecsi(rng: np.random.Generator, xi: np.ndarray) -> np.ndarray:
    """Item answers (respondents x items) on the 1-10 scale."""
    m = len(xi)
    noise = ecsi_structural_noise()
    eta: dict[str, np.ndarray] = {}
    kappa = ECSI_SATISFACTION_FROM_PROPENSITY
    for name in ECSI_BLOCKS:
        shock = rng.standard_normal(m)
        if name == "CUSA":
            shock = kappa * xi + np.sqrt(1 - kappa * kappa) * shock
        value = np.sqrt(noise[name]) * shock
        for (src, dst), coef in ECSI_PATHS.items():
            if dst == name:
                value = value + coef * eta[src]
        eta[name] = value
    answers = np.empty((m, len(_ITEMS)), dtype=np.int64)
    k = 0
    for name, items in ECSI_BLOCKS.items():
        for item in items:
            lam = ECSI_LOADINGS[item]
            score = lam * eta[name] + np.sqrt(1 - lam * lam) * rng.standard_normal(m)
            answers[:, k] = np.clip(np.round(ECSI_ITEM_MEANS[item] + ECSI_ITEM_SD * score), 1, 10)
            k += 1
    return answers


# Answer pairs (functional, dysfunctional) per category under the Kano evaluation table:
# answers 1 like, 2 must-be, 3 neutral, 4 live-with, 5 dislike.
_PAIRS: dict[str, tuple[tuple[int, int], ...]] = {
    "A": ((1, 2), (1, 3), (1, 4)),
    "O": ((1, 5),),
    "M": ((2, 5), (3, 5), (4, 5)),
    "I": tuple((f, d) for f in (2, 3, 4) for d in (2, 3, 4)),
    "Q": ((1, 1), (5, 5)),
    "R": ((5, 1), (5, 2), (5, 3), (5, 4), (2, 1), (3, 1), (4, 1)),
}
_CLASSES = ("M", "O", "A", "I", "Q", "R")


def _kano(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Functional and dysfunctional answers (respondents x attributes), 1..5."""
    n_attr = len(KANO_DESIGN)
    func = np.empty((m, n_attr), dtype=np.int64)
    dysf = np.empty((m, n_attr), dtype=np.int64)
    for j, designed in enumerate(KANO_DESIGN.values()):
        probs = np.array(
            [KANO_DOMINANT_SHARE if c == designed else KANO_OTHER_SHARE for c in KANO_CATEGORIES]
            + [KANO_QUESTIONABLE_SHARE, KANO_REVERSE_SHARE]
        )
        cls = np.searchsorted(np.cumsum(probs), rng.random(m) * probs.sum(), side="right").clip(max=5)
        u = rng.random(m)
        for c, name in enumerate(_CLASSES):
            sel = cls == c
            pairs = np.array(_PAIRS[name])
            pick = (u[sel] * len(pairs)).astype(np.int64)
            func[sel, j] = pairs[pick, 0]
            dysf[sel, j] = pairs[pick, 1]
    return func, dysf


def survey_table(rng: np.random.Generator, pop: Population, period: Period, params: CompanyParams) -> pa.Table:
    """The ``survey_answers`` rows of a block (ECSI first, then Kano)."""
    buyers = ~np.isnan(pop.first_purchase)
    ecsi_who = np.flatnonzero(buyers & (rng.random(pop.n) < params.ecsi_share))
    kano_who = np.flatnonzero(buyers & (rng.random(pop.n) < params.kano_share))
    ecsi_time = _answer_window(rng, pop, ecsi_who, period)
    kano_time = _answer_window(rng, pop, kano_who, period)
    ecsi = _ecsi(rng, pop.xi[ecsi_who])
    func, dysf = _kano(rng, len(kano_who))

    n_items = len(_ITEMS)
    attrs = list(KANO_DESIGN)
    kano_items = [f"kano:{a}:{side}" for a in attrs for side in ("functional", "dysfunctional")]
    # interleave functional and dysfunctional answers per attribute
    kano_answers = np.stack([func, dysf], axis=2).reshape(len(kano_who), 2 * len(attrs))
    who = np.r_[np.repeat(ecsi_who, n_items), np.repeat(kano_who, len(kano_items))]
    ids = pop.customer_id.take(pa.array(who, pa.int64()))
    item = pa.concat_arrays(
        [
            take(_ITEMS, np.tile(np.arange(n_items), len(ecsi_who))),
            take(kano_items, np.tile(np.arange(len(kano_items)), len(kano_who))),
        ]
    )
    answer = pa.concat_arrays(
        [
            take(_ANSWERS_1_10, ecsi.ravel()),
            take(_ANSWERS_1_5, kano_answers.ravel()),
        ]
    )
    instrument = take(
        (ECSI_INSTRUMENT, KANO_INSTRUMENT),
        np.r_[np.zeros(len(ecsi_who) * n_items, np.int64), np.ones(len(kano_who) * len(kano_items), np.int64)],
    )
    when = np.r_[np.repeat(ecsi_time, n_items), np.repeat(kano_time, len(kano_items))]
    cols = {
        "respondent_id": ids,
        "customer_id": ids,
        "instrument": instrument,
        "item": item,
        "answer": answer,
        "answered_at": timestamps(period.start_us, when),
    }
    table = pa.Table.from_pydict(cols, schema=TABLES["survey_answers"].arrow_schema())
    if params.survey_missing_share > 0:
        n_ecsi = len(ecsi_who) * n_items
        drop = np.r_[rng.random(n_ecsi) < params.survey_missing_share, np.zeros(len(who) - n_ecsi, bool)]
        table = table.filter(pa.array(~drop))
    return table
