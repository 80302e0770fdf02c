"""Per-feature explanations of the boosted ensemble: exact TreeSHAP values.

XGBoost computes exact TreeSHAP contributions itself (``Booster.predict(DMatrix,
pred_contribs=True)``; Lundberg et al., Nat. Mach. Intell. 2, 56 (2020),
doi:10.1038/s42256-019-0138-9): one value per feature plus a bias column, and for each row the
values plus the bias add up to that booster's raw (model-space) prediction. When the ensemble
carries a prior (``EnsembleRegressor(prior=...)``) the prior enters as ``base_margin`` and is
part of the bias column. The ensemble's prediction is the mean over its members, so the mean of
the members' contributions is an exact additive explanation of the ensemble mean.

This is the ``"explain"`` capability of a :class:`~coatml.models.surrogate.Surrogate` whose
regressor is an :class:`~coatml.models.estimators.EnsembleRegressor`; readable labels and top-k
tables live in :mod:`coatml.recommend.explain`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ShapValues", "can_explain", "shap_from_features"]


@dataclass(frozen=True)
class ShapValues:
    """Per-row SHAP contributions (``values``: rows x features, model space) and the bias
    (expected value + prior margin) per row; ``values.sum(axis=1) + bias`` is the prediction."""

    values: pd.DataFrame
    bias: pd.Series

    def prediction(self) -> pd.Series:
        """The model-space prediction the contributions add up to."""
        return self.values.sum(axis=1) + self.bias


def can_explain(regressor: Any) -> bool:
    """Whether :func:`shap_from_features` applies (a fitted ensemble of XGBoost members)."""
    return hasattr(regressor, "estimators_") and hasattr(regressor, "feature_names_in_")


def shap_from_features(ensemble: Any, X: pd.DataFrame, member: int | None = None) -> ShapValues:
    """SHAP values of an :class:`~coatml.models.estimators.EnsembleRegressor` at feature rows
    ``X`` (columns named as the ensemble's ``feature_names_in_``): the mean over members, or
    one member's when ``member`` is given."""
    import xgboost as xgb

    names = [str(c) for c in ensemble.feature_names_in_]
    frame = X.reindex(columns=names)
    X_np = frame.to_numpy(dtype=np.float32)
    # The prior (if any) is the ensemble's base_margin; its own helper computes it exactly as
    # in prediction (NaN prior -> training mean).
    margin = ensemble._prior_margin(frame) if getattr(ensemble, "prior", None) is not None \
        else None
    dmatrix = xgb.DMatrix(X_np, base_margin=margin)
    members = ensemble.estimators_ if member is None else [ensemble.estimators_[member]]
    total = np.zeros((len(frame), len(names) + 1))
    for est in members:
        total += est.get_booster().predict(dmatrix, pred_contribs=True).astype(float)
    total /= len(members)
    values = pd.DataFrame(total[:, :-1], index=X.index, columns=names)
    return ShapValues(values, pd.Series(total[:, -1], index=X.index, name="bias"))


