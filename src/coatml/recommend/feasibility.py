"""Failed cells are information: a model of the chance that a proposed cell works at all.

A record counts as *failed* when ``cell_failed`` is true, or when it carries no target value
and its ``outcome_note`` says the cell failed (short circuit, could not be cycled, ...); it
counts as *working* when it carries a value of any target. Everything else (no value, no
failure) says nothing and is left out.

:class:`FeasibilityModel` is a logistic regression (median imputation, standardisation, L2
penalty) on the same record features the surrogates use. With fewer than ``min_failures``
failed or ``min_working`` working records the classifier would only learn noise, so the model
falls back to a constant prior rate, the Beta(1, 1) posterior mean ``(working + 1) / (n + 2)``,
and says so in :attr:`FeasibilityModel.message_`. Acquisition scores are multiplied by the
predicted ``P(working cell)``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from coatml.data.schema import TARGETS

__all__ = ["FeasibilityModel", "failure_labels"]

_FAILED_NOTE = re.compile(
    r"fail|short[- ]?circuit|shorted|dead|could not (?:be )?cycl|unable to (?:operate|cycle)|"
    r"no (?:usable )?(?:capacity|measurement)", re.IGNORECASE)


def _truthy(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "yes", "1.0"]).fillna(False).to_numpy(dtype=bool)


def failure_labels(records: pd.DataFrame) -> pd.Series:
    """Per record: 1.0 failed cell, 0.0 working cell, NaN no information."""
    n = len(records)
    has_value = np.zeros(n, dtype=bool)
    for target in TARGETS:
        if target in records.columns:
            has_value |= pd.to_numeric(records[target], errors="coerce").notna().to_numpy()
    failed = np.zeros(n, dtype=bool)
    if "cell_failed" in records.columns:
        failed |= _truthy(records["cell_failed"])
    if "outcome_note" in records.columns:
        note = records["outcome_note"].astype("string").fillna("")
        failed |= (~has_value) & note.str.contains(_FAILED_NOTE).to_numpy(dtype=bool)
    out = np.full(n, np.nan)
    out[has_value] = 0.0
    out[failed] = 1.0
    return pd.Series(out, index=records.index, name="cell_failed")


class FeasibilityModel(BaseEstimator):
    """``P(working cell)`` of a recipe, learned from failed and working records
    (``sklearn.base.clone`` gives an unfitted copy).

    Parameters: ``min_failures`` / ``min_working`` (below them: constant prior rate),
    ``C`` (inverse L2 strength of the logistic regression), ``feature_set``, ``random_state``.
    Learned: ``mode_`` (``"classifier"`` or ``"prior"``), ``prior_working_`` (the rate),
    ``n_failed_``, ``n_working_``, ``message_``.
    """

    def __init__(self, min_failures: int = 3, min_working: int = 3, C: float = 0.3,
                 feature_set: str = "default", random_state: int = 0) -> None:
        self.min_failures = min_failures
        self.min_working = min_working
        self.C = C
        self.feature_set = feature_set
        self.random_state = random_state

    def fit(self, records: pd.DataFrame, features: pd.DataFrame | None = None
            ) -> FeasibilityModel:
        """Fit on ``records``; ``features`` (same index) skips featurizing them again."""
        labels = failure_labels(records)
        known = labels.notna().to_numpy()
        y = labels.to_numpy()[known]
        self.n_failed_ = int((y == 1).sum())
        self.n_working_ = int((y == 0).sum())
        n = self.n_failed_ + self.n_working_
        self.prior_working_ = (self.n_working_ + 1.0) / (n + 2.0)
        if self.n_failed_ < self.min_failures or self.n_working_ < self.min_working:
            self.mode_ = "prior"
            self.message_ = (
                f"feasibility: {self.n_failed_} failed and {self.n_working_} working cells "
                f"(need >= {self.min_failures} and >= {self.min_working} for a classifier); "
                f"using the prior rate P(working) = {self.prior_working_:.2f} for every recipe")
            return self
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from coatml.features.pipeline import RecordFeaturizer

        rows = records.loc[known]
        if features is None:
            self.featurizer_ = RecordFeaturizer(feature_set=self.feature_set).fit(rows)
            X = _transform_quietly(self.featurizer_, rows)
        else:
            self.featurizer_ = None
            X = features.loc[rows.index]
        X = X.loc[:, X.notna().any(axis=0) & (X.nunique(dropna=True) > 1)]  # informative only
        self.feature_names_ = list(X.columns)
        self.classifier_ = make_pipeline(
            SimpleImputer(strategy="median"), StandardScaler(),
            LogisticRegression(C=self.C, max_iter=500, random_state=self.random_state))
        self.classifier_.fit(X.to_numpy(dtype=float), y.astype(int))
        self.mode_ = "classifier"
        self.message_ = (f"feasibility: logistic regression on {self.n_failed_} failed and "
                         f"{self.n_working_} working cells")
        return self

    def predict_working(self, records: pd.DataFrame | None = None,
                        features: pd.DataFrame | None = None) -> np.ndarray:
        """``P(working cell)`` per row, from records or from their features."""
        if records is not None:
            n = len(records)
        elif features is not None:
            n = len(features)
        else:
            raise ValueError("predict_working needs records or features")
        if self.mode_ == "prior":
            return np.full(n, self.prior_working_)
        if features is None:
            from coatml.features.pipeline import RecordFeaturizer

            featurizer = self.featurizer_ or RecordFeaturizer(self.feature_set).fit(records)
            features = _transform_quietly(featurizer, records)
        X = features.reindex(columns=self.feature_names_).to_numpy(dtype=float)
        p_failed = self.classifier_.predict_proba(X)[:, 1]
        return 1.0 - p_failed


def _transform_quietly(featurizer: Any, records: pd.DataFrame) -> pd.DataFrame:
    from coatml.features.process import precursor_warnings_ignored

    with precursor_warnings_ignored():
        return featurizer.transform(records)
