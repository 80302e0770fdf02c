"""``sklearn.base.clone`` of :class:`RecordModel`: an unfitted copy with equal (not shared)
parameters that, fitted on the same records, predicts the same (shipped literature records)."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.base import clone

from coatml.data.literature import load_literature
from coatml.models.surrogate import RecordModel


@pytest.mark.parametrize("estimator, params", [
    ("xgboost", {"n_estimators": 20, "n_members": 3, "random_state": 1}),
    ("gp", {"n_restarts": 0, "random_state": 1}),
])
def test_record_model_clone(estimator: str, params: dict) -> None:
    records = load_literature().records
    model = RecordModel("capacity_retention_pct", feature_set="loop", estimator_params=params,
                        estimator=estimator).fit(records)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert twin.estimator_params is not model.estimator_params  # a copy, not shared
    for attr in ("featurizer_", "ensemble_", "target_", "feature_names_", "n_train_"):
        assert hasattr(model, attr) and not hasattr(twin, attr)
    twin.estimator_params["random_state"] = 2
    assert model.estimator_params["random_state"] == 1
    twin.estimator_params["random_state"] = 1
    pd.testing.assert_frame_equal(twin.fit(records).predict_dist(records),
                                  model.predict_dist(records))
