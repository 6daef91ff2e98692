"""The recency chain estimated on the CDNOW master file (lifetimes 0.11.3 wheel).

Not a published number: a check on real data that the estimator shows the recency effect
direct marketers report (the longer since the last purchase, the less likely a purchase;
e.g. Hughes 1997, Pfeifer & Carraway 2000), and that its two interval methods agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from custlens.clv.formula import estimate_recency_chain, markov_value
from custlens.ingest.readers import read_table


def quarters(path: Path) -> tuple[np.ndarray, np.ndarray]:
    table = read_table(path)
    date = table.column("date").to_numpy()
    year, month = date // 10_000, (date // 100) % 100
    return table.column("customer_id").to_numpy(), (year - 1997) * 4 + (month - 1) // 3


def test_cdnow_quarterly_recency_chain(cdnow_master_path: Path) -> None:
    customer, quarter = quarters(cdnow_master_path)
    dirichlet = estimate_recency_chain(customer, quarter, n_states=4)
    boot = estimate_recency_chain(customer, quarter, n_states=4, method="bootstrap", n_boot=100, seed=2)
    p = dirichlet.purchase_prob
    assert np.all(np.diff(p) < 0)  # the recency effect
    assert dirichlet.n_customers == 23_570
    np.testing.assert_allclose(dirichlet.matrix.sum(axis=1), 1.0)
    np.testing.assert_allclose(boot.purchase_prob, p)
    # the customer-level bootstrap and the Beta intervals agree to within a third of a width
    width = dirichlet.purchase_prob_upper - dirichlet.purchase_prob_lower
    assert np.all(np.abs(boot.purchase_prob_lower - dirichlet.purchase_prob_lower) < width / 3)
    assert np.all(np.abs(boot.purchase_prob_upper - dirichlet.purchase_prob_upper) < width / 3)
    values = markov_value(dirichlet.matrix, [30.0, -2.0, -2.0, 0.0], 0.03)
    assert np.all(np.diff(values) < 0)  # a recent buyer is worth more
