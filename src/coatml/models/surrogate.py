"""A record-level surrogate: featurizer + XGBoost ensemble + target transform, in memory.

:class:`RecordModel` is what ranking, proposing and the closed-loop benchmark score recipes
with. The MLflow-logged model (:class:`coatml.tracking.pyfunc.CoatmlModel`) holds the same
three parts and offers the same methods, so both satisfy :class:`Surrogate`:

``featurize(records)``
    records DataFrame -> the feature matrix the ensemble was trained on.
``predict_model_space(records)``
    Gaussian predictive distribution in model space (``log10`` for resistance): ``mean, std,
    lo68, hi68, lo95, hi95`` and the std components.
``predict_members(records)``
    ``(n_members, n)`` member predictions in model space (Thompson sampling).
``predict_dist(records)``
    ``mean, median, std, lo68, hi68, lo95, hi95`` in the target's natural units.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from coatml.exceptions import InsufficientDataError
from coatml.models.targets import MIN_RECORDS, TargetSpec, get_target

OUTPUT_COLUMNS = ("mean", "median", "std", "lo68", "hi68", "lo95", "hi95")


class Surrogate(Protocol):
    """What a scorer of recipes offers (see the module docstring)."""

    target_: TargetSpec
    ensemble_: Any

    def featurize(self, records: pd.DataFrame) -> pd.DataFrame: ...

    def predict_model_space(self, records: pd.DataFrame) -> pd.DataFrame: ...

    def predict_members(self, records: pd.DataFrame) -> np.ndarray: ...

    def predict_dist(self, records: pd.DataFrame) -> pd.DataFrame: ...


def to_natural_units(target: TargetSpec, dist: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """A model-space predictive distribution as ``OUTPUT_COLUMNS`` in the target's units."""
    out = target.inverse_dist(dist).reindex(columns=list(OUTPUT_COLUMNS))
    out.index = index
    return out


def training_rows(records: pd.DataFrame, target: str) -> pd.DataFrame:
    """The records that carry a value of ``target`` (failed cells carry none)."""
    values = pd.to_numeric(records[target], errors="coerce")
    return records.loc[values.notna()]


#: ``RecordModel(estimator=...)`` names: the boosted ensemble (what ``coatml train`` registers)
#: and the descriptor Gaussian process (the closed loop's small-data surrogate).
ESTIMATORS = ("xgboost", "gp")


class RecordModel(BaseEstimator):
    """Featurizer + regressor for one target (``sklearn.base.clone`` gives an unfitted copy).

    ``estimator``: ``"xgboost"`` (:class:`~coatml.models.estimators.EnsembleRegressor`) or
    ``"gp"`` (:class:`~coatml.models.gaussian_process.DescriptorGP`); ``estimator_params`` go to
    it (hyper-parameters, ``random_state``, ...); ``feature_set`` names the feature set (TOML
    under ``features/``). The fitted regressor is ``ensemble_`` in both cases.
    """

    def __init__(self, target: str, feature_set: str = "default",
                 estimator_params: dict[str, Any] | None = None,
                 min_records: int = MIN_RECORDS, estimator: str = "xgboost") -> None:
        self.target = target
        self.feature_set = feature_set
        self.estimator_params = estimator_params
        self.min_records = min_records
        self.estimator = estimator

    def _regressor(self) -> Any:
        params = dict(self.estimator_params or {})
        if self.estimator == "xgboost":
            from coatml.models.estimators import EnsembleRegressor

            return EnsembleRegressor(**params)
        if self.estimator == "gp":
            from coatml.models.gaussian_process import DescriptorGP

            params.setdefault("bounds", get_target(self.target).bounds)
            return DescriptorGP(**params)
        raise ValueError(f"unknown estimator '{self.estimator}'; known: {ESTIMATORS}")

    def fit(self, records: pd.DataFrame) -> RecordModel:
        from coatml.features.pipeline import RecordFeaturizer

        regressor = self._regressor()
        self.target_ = get_target(self.target)
        rows = training_rows(records, self.target)
        if len(rows) < self.min_records:
            raise InsufficientDataError(
                f"{self.target}: {len(rows)} of {len(records)} records carry a value, "
                f"{self.min_records} are needed to train a model; add measured records "
                f"with `coatml data add`")
        self.featurizer_ = RecordFeaturizer(feature_set=self.feature_set).fit(records)
        X = self.featurizer_.transform(rows)
        y = self.target_.forward(rows[self.target].to_numpy(dtype=float))
        self.feature_names_ = list(X.columns)
        self.ensemble_ = regressor.fit(X, y)
        self.n_train_ = len(rows)
        return self

    @property
    def label(self) -> str:
        """What this in-memory model is, for logs: ``gp/loop on 12 records``."""
        n = getattr(self, "n_train_", 0)
        return f"{self.estimator}/{self.feature_set} on {n} records"

    def featurize(self, records: pd.DataFrame) -> pd.DataFrame:
        X = self.featurizer_.transform(records)
        return X.reindex(columns=self.feature_names_)

    def predict_model_space(self, records: pd.DataFrame) -> pd.DataFrame:
        dist = self.ensemble_.predict_dist(self.featurize(records))
        dist.index = records.index
        return dist

    def predict_members(self, records: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.ensemble_.predict_members(self.featurize(records)), dtype=float)

    def predict_dist(self, records: pd.DataFrame) -> pd.DataFrame:
        return to_natural_units(self.target_, self.predict_model_space(records), records.index)
