"""``sklearn.base.clone`` of :class:`FeasibilityModel` (shipped literature records plus
SYNTHETIC failed cells: copies of real recipes marked failed, not measurements)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from coatml.data.literature import load_literature
from coatml.recommend.feasibility import FeasibilityModel


def test_feasibility_model_clone() -> None:
    records = load_literature().records
    failed = records.loc[records["coating"].astype(str) == "Al2O3"].head(4).copy()
    assert len(failed) == 4
    for col in ("capacity_retention_pct", "interface_resistance_ohm_cm2"):
        failed[col] = np.nan
    failed["cell_failed"] = True
    failed["outcome_note"] = "synthetic: short circuit"
    data = pd.concat([records, failed], ignore_index=True)
    model = FeasibilityModel(C=0.5, feature_set="loop", random_state=3).fit(data)
    assert model.mode_ == "classifier"
    twin = clone(model)
    assert twin.get_params() == {"min_failures": 3, "min_working": 3, "C": 0.5,
                                 "feature_set": "loop", "random_state": 3}
    assert not hasattr(twin, "mode_") and not hasattr(twin, "classifier_")
    np.testing.assert_array_equal(twin.fit(data).predict_working(data),
                                  model.predict_working(data))
