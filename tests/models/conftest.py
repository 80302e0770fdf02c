"""Shared SYNTHETIC data for the model tests (seeded; no literature numbers).

``synthetic_records`` builds a records-shaped table (electrode, electrolyte, coating, source,
pair_id, targets) plus a numeric feature matrix shaped like the featurizer's output (floats,
some NaN). All values are synthetic and labelled so in ``source``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

ELECTRODES = ["E1", "E2", "E3"]
ELECTROLYTES = ["S1", "S2"]
COATINGS = ["C1", "C2", "C3", "C4"]


def synthetic_records(n_sources: int = 8, per_source: int = 6, n_noise_features: int = 6,
                      seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(records, X, y): y = capacity retention-like target in percent (synthetic)."""
    rng = np.random.default_rng(seed)
    rows, feats = [], []
    coating_effect = {c: e for c, e in zip(COATINGS, rng.normal(0, 6, len(COATINGS)), strict=True)}
    for s in range(n_sources):
        electrode = ELECTRODES[s % len(ELECTRODES)]
        electrolyte = ELECTROLYTES[(s // len(ELECTRODES)) % len(ELECTROLYTES)]
        for r in range(per_source):
            coating = COATINGS[rng.integers(len(COATINGS))]
            thickness = rng.uniform(0.5, 10.0)
            c_rate = rng.choice([0.1, 0.5, 1.0])
            y = (70 + coating_effect[coating] + 8 * np.sin(thickness / 3.0) - 10 * c_rate
                 + rng.normal(0, 2.0))
            rows.append({"source": f"synthetic: source {s}", "electrode": electrode,
                         "electrolyte": electrolyte, "coating": coating,
                         "pair_id": f"p{s}-{r}", "capacity_retention_pct": y})
            f = {"thickness_nm": thickness, "c_rate": c_rate,
                 "coating_code": float(COATINGS.index(coating)),
                 "electrode_code": float(ELECTRODES.index(electrode))}
            for j in range(n_noise_features):
                f[f"noise_{j}"] = rng.normal()
            feats.append(f)
    records = pd.DataFrame(rows)
    X = pd.DataFrame(feats)
    X.loc[rng.random(len(X)) < 0.05, "noise_0"] = np.nan  # featurizer gaps
    return records, X, records["capacity_retention_pct"].to_numpy()


@pytest.fixture
def synthetic():
    return synthetic_records()


def small_model(**kw):
    from coatml.models.estimators import EnsembleRegressor

    params = dict(n_estimators=40, n_members=5, learning_rate=0.1, min_child_weight=1.0,
                  reg_lambda=1.0, random_state=0)
    params.update(kw)
    return EnsembleRegressor(**params)
