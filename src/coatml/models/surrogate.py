"""The surrogate contract, and the in-memory record-level surrogate.

Everything that scores recipes (``rank``, ``propose``, ``explain``, campaigns and the closed-loop
benchmark) talks to a model only through :class:`Surrogate`. Two implementations exist: the
in-memory :class:`RecordModel` (featurizer + boosted ensemble or Gaussian process, fitted here)
and the registered champion (:class:`coatml.tracking.pyfunc.CoatmlModel`, rebuilt from MLflow);
both inherit the feature-level methods of :class:`SurrogateBase`, so nothing outside
``coatml.models`` reaches into a fitted regressor.

Record level
    ``featurize(records)``: records -> the feature matrix the regressor was trained on; the
    feature-set hash is checked every time (a model trained with other feature definitions
    refuses to predict). ``predict_model_space(records)``, ``predict_members(records)``,
    ``predict_dist(records)`` (natural units: ``mean, median, std, lo68, hi68, lo95, hi95``).
Feature level (callers that featurize once for several models)
    ``feature_key()``, ``prior_feature()`` (the column of the physics prior the model starts
    from, or ``None``), ``select_features(X)``, ``dist_from_features(X, latent=False)``,
    ``mean_from_features(X)``, ``members_from_features(X)``, ``target_scale``, ``n_members``.
Optional capabilities (``capabilities``)
    ``"condition"``: ``condition(X, y)`` returns a surrogate whose posterior also conditions on
    fantasised outcomes (a Gaussian process can; kriging-believer batches).
    ``"explain"``: ``explain_features(X)`` gives exact per-feature SHAP values (the boosted
    ensemble can). Asking for a capability a surrogate lacks raises
    :class:`~coatml.exceptions.CapabilityError` naming it; callers check ``capabilities`` first.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from coatml.exceptions import CapabilityError
from coatml.models.targets import (
    MIN_RECORDS,
    Z68,
    Z95,
    TargetSpec,
    get_target,
    require_records,
)

OUTPUT_COLUMNS = ("mean", "median", "std", "lo68", "hi68", "lo95", "hi95")

#: Optional capabilities a surrogate may declare (see the module docstring).
CONDITION = "condition"
EXPLAIN = "explain"


@runtime_checkable
class Surrogate(Protocol):
    """What a scorer of recipes offers (see the module docstring)."""

    target_: TargetSpec
    feature_names_: list[str]

    @property
    def capabilities(self) -> frozenset[str]: ...

    @property
    def n_members(self) -> int: ...

    @property
    def target_scale(self) -> float: ...

    def featurize(self, records: pd.DataFrame) -> pd.DataFrame: ...

    def prior_feature(self) -> str | None: ...

    def feature_key(self) -> tuple[str, Any] | None: ...

    def select_features(self, X: pd.DataFrame) -> pd.DataFrame: ...

    def dist_from_features(self, X: pd.DataFrame, latent: bool = False) -> pd.DataFrame: ...

    def mean_from_features(self, X: pd.DataFrame, X32: np.ndarray | None = None
                           ) -> np.ndarray: ...

    def members_from_features(self, X: pd.DataFrame) -> np.ndarray: ...

    def condition(self, X: pd.DataFrame, y: np.ndarray) -> Surrogate: ...

    def explain_features(self, X: pd.DataFrame, member: int | None = None) -> Any: ...

    def predict_model_space(self, records: pd.DataFrame) -> pd.DataFrame: ...

    def predict_members(self, records: pd.DataFrame) -> np.ndarray: ...

    def predict_dist(self, records: pd.DataFrame) -> pd.DataFrame: ...


class SurrogateBase:
    """Feature-level methods of :class:`Surrogate` for a fitted ``featurizer_`` + regressor
    (``ensemble_``: :class:`~coatml.models.estimators.EnsembleRegressor` or
    :class:`~coatml.models.gaussian_process.DescriptorGP`), ``target_`` and
    ``feature_names_``. Subclasses implement :meth:`featurize` (with the feature-set check)."""

    target_: TargetSpec
    feature_names_: list[str]
    ensemble_: Any
    featurizer_: Any

    def featurize(self, records: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    @property
    def capabilities(self) -> frozenset[str]:
        from coatml.models.explain import can_explain

        caps = set()
        if callable(getattr(self.ensemble_, "condition", None)):
            caps.add(CONDITION)
        if can_explain(self.ensemble_):
            caps.add(EXPLAIN)
        return frozenset(caps)

    @property
    def n_members(self) -> int:
        return int(getattr(self.ensemble_, "n_members", 1))

    @property
    def target_scale(self) -> float:
        """Standard deviation of the training targets in model space (% points, decades):
        the unit in which two objectives are weighed against each other."""
        scale = getattr(self, "target_scale_", None)
        if scale is None:
            var = getattr(self.ensemble_, "target_var_", None)
            scale = None if var is None else float(np.sqrt(float(var)))
        if scale is None or not np.isfinite(scale) or scale <= 0:
            raise CapabilityError(
                f"the {self.target_.name} surrogate does not know the spread of its training "
                "targets, so it cannot be weighed against another objective")
        return float(scale)

    def prior_feature(self) -> str | None:
        """The feature column holding the prior mean this surrogate starts from (model space),
        or ``None``: prediction - prior is what the model learned beyond the physics prior."""
        reg = getattr(self, "ensemble_", None)
        col = getattr(reg, "prior", None) or getattr(reg, "mean_column", None)
        return str(col) if isinstance(col, str) and col in self.feature_names_ else None

    def feature_key(self) -> tuple[str, Any] | None:
        """Surrogates with equal keys featurize records identically (same feature set and
        missing-value policy): one feature matrix can serve them all."""
        fz = getattr(self, "featurizer_", None)
        if fz is None or not getattr(self, "feature_names_", None):
            return None
        return (str(getattr(fz, "feature_set", "")), getattr(fz, "on_missing", None))

    def select_features(self, X: pd.DataFrame) -> pd.DataFrame:
        """The columns of a (shared) feature matrix this surrogate was trained on."""
        names = [str(n) for n in self.feature_names_]
        return X if list(X.columns) == names else X.reindex(columns=names)

    def dist_from_features(self, X: pd.DataFrame, latent: bool = False) -> pd.DataFrame:
        """Predictive distribution in model space. ``latent``: the std of the noise-free
        outcome (the residual-noise term removed), the uncertainty expected improvement is
        defined on."""
        dist = self.ensemble_.predict_dist(self.select_features(X))
        if latent and "noise_std" in dist:
            scale = float(getattr(self.ensemble_, "interval_scale_", 1.0))
            noise = scale * dist["noise_std"].to_numpy(dtype=float)
            std = dist["std"].to_numpy(dtype=float)
            dist = dist.copy()
            dist["std"] = np.sqrt(np.maximum(std ** 2 - noise ** 2, 0.0))
        return dist

    def mean_from_features(self, X: pd.DataFrame, X32: np.ndarray | None = None
                           ) -> np.ndarray:
        """Mean prediction (model space). ``X32``: a C-ordered float32 copy of ``X`` shared
        between surrogates with the same features (XGBoost walks rows)."""
        X = self.select_features(X)
        fast = getattr(self.ensemble_, "predict_mean_float32", None)
        if callable(fast):
            return np.asarray(fast(X, X32), dtype=float)
        return np.asarray(self.ensemble_.predict(X), dtype=float)

    def members_from_features(self, X: pd.DataFrame) -> np.ndarray:
        """``(n_members, n)`` member predictions (or posterior draws), model space."""
        return np.asarray(self.ensemble_.predict_members(self.select_features(X)), dtype=float)

    def condition(self, X: pd.DataFrame, y: np.ndarray) -> SurrogateBase:
        """A copy conditioned on outcomes ``y`` (model space) at feature rows ``X``."""
        if CONDITION not in self.capabilities:
            raise CapabilityError(f"a {type(self.ensemble_).__name__} surrogate cannot "
                                  "condition on fantasised outcomes")
        new = copy.copy(self)
        new.ensemble_ = self.ensemble_.condition(self.select_features(X), np.asarray(y, float))
        return new

    def explain_features(self, X: pd.DataFrame, member: int | None = None) -> Any:
        """Exact SHAP values (:class:`~coatml.models.explain.ShapValues`, model space)."""
        from coatml.models.explain import shap_from_features

        if EXPLAIN not in self.capabilities:
            raise CapabilityError(f"a {type(self.ensemble_).__name__} surrogate has no "
                                  "per-feature explanation")
        return shap_from_features(self.ensemble_, self.select_features(X), member)

    def predict_model_space(self, records: pd.DataFrame) -> pd.DataFrame:
        """Predictive distribution in model space (``log10`` for resistance)."""
        dist = self.dist_from_features(self.featurize(records))
        dist.index = records.index
        return dist

    def predict_members(self, records: pd.DataFrame) -> np.ndarray:
        """``(n_members, n)`` member predictions in model space (Thompson sampling)."""
        return self.members_from_features(self.featurize(records))

    def predict_dist(self, records: pd.DataFrame) -> pd.DataFrame:
        """``mean, median, std, lo68, hi68, lo95, hi95`` per record, natural units."""
        records = pd.DataFrame(records)
        return to_natural_units(self.target_, self.predict_model_space(records), records.index)


def as_surrogate(model: Any) -> Surrogate:
    """A :class:`Surrogate` from what callers hold: a surrogate, or a registry
    :class:`~coatml.tracking.registry.LoadedModel` (its python model)."""
    if isinstance(model, SurrogateBase):
        return model
    inner = getattr(model, "python_model", None)
    if isinstance(inner, SurrogateBase):
        return inner
    if isinstance(model, Surrogate):
        return model
    raise TypeError(f"{type(model).__name__} does not satisfy the Surrogate contract "
                    "(coatml.models.surrogate.Surrogate)")


def shared_features(models: Mapping[str, Surrogate], records: pd.DataFrame,
                    cache: dict[Any, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Feature matrix per target of ``models``, featurizing ``records`` once per group of
    surrogates with the same :meth:`~SurrogateBase.feature_key` (each through its checked
    ``featurize``)."""
    cache = {} if cache is None else cache
    out: dict[str, pd.DataFrame] = {}
    for target, model in models.items():
        key = model.feature_key()
        if key is not None and key in cache:
            out[target] = model.select_features(cache[key])
            continue
        X = model.featurize(records)
        out[target] = X
        if key is not None:
            cache[key] = X
    return out


def to_natural_units(target: TargetSpec, dist: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """A model-space predictive distribution as ``OUTPUT_COLUMNS`` in the target's units."""
    out = target.inverse_dist(dist).reindex(columns=list(OUTPUT_COLUMNS))
    out.index = index
    return out


#: ``RecordModel(estimator=...)`` names: the boosted ensemble (what ``coatml train`` registers)
#: and the descriptor Gaussian process (the closed loop's small-data surrogate).
ESTIMATORS = ("xgboost", "gp")


class RecordModel(SurrogateBase, BaseEstimator):
    """Featurizer + regressor for one target (a :class:`Surrogate`; ``sklearn.base.clone``
    gives an unfitted copy).

    ``estimator``: ``"xgboost"`` (:class:`~coatml.models.estimators.EnsembleRegressor`) or
    ``"gp"`` (:class:`~coatml.models.gaussian_process.DescriptorGP`); ``estimator_params`` go to
    it (hyper-parameters, ``random_state``, ...); ``feature_set`` names the feature set (TOML
    under ``features/``). The fitted regressor is ``ensemble_`` in both cases.

    ``prior``: start from the physics prior (:mod:`coatml.features.prior`; the feature set
    needs its ``prior`` block): the prior mean of the target is the ensemble's XGBoost
    ``base_margin`` / the GP's prior mean, and the model learns the departure from it. Without
    it the prior columns are left out of the features (the model of coatml <= 0.x).
    """

    def __init__(self, target: str, feature_set: str = "default",
                 estimator_params: dict[str, Any] | None = None,
                 min_records: int = MIN_RECORDS, estimator: str = "xgboost",
                 prior: bool = False) -> None:
        self.target = target
        self.feature_set = feature_set
        self.estimator_params = estimator_params
        self.min_records = min_records
        self.estimator = estimator
        self.prior = prior

    def _regressor(self) -> Any:
        params = dict(self.estimator_params or {})
        if self.prior:
            from coatml.features.prior import prior_column

            params["prior"] = prior_column(self.target)
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
        rows = require_records(records, self.target, self.min_records)
        self.featurizer_ = RecordFeaturizer(feature_set=self.feature_set).fit(records)
        X = _prior_columns(self.featurizer_.transform(rows), self.prior, self.feature_set)
        y = self.target_.forward(rows[self.target].to_numpy(dtype=float))
        self.feature_names_ = list(X.columns)
        self.ensemble_ = regressor.fit(X, y)
        self.target_scale_ = float(np.std(y, ddof=1)) if len(y) > 1 else float("nan")
        self.feature_set_hash_ = getattr(self.featurizer_, "feature_set_hash_", None)
        self.n_train_ = len(rows)
        return self

    def loo_residuals(self) -> np.ndarray:
        """Leave-one-out residuals of the training rows (in :meth:`fit`'s row order, rows
        without a value dropped), modelled scale; a Gaussian process gives them in closed
        form, other regressors raise :class:`~coatml.exceptions.CapabilityError`."""
        fn = getattr(self.ensemble_, "loo_residuals", None)
        if not callable(fn):
            raise CapabilityError(f"a {type(self.ensemble_).__name__} surrogate has no "
                                  "closed-form leave-one-out residuals")
        return np.asarray(fn(), dtype=float)

    @property
    def label(self) -> str:
        """What this in-memory model is, for logs: ``gp/loop on 12 records``."""
        n = getattr(self, "n_train_", 0)
        return f"{self.estimator}/{self.feature_set} on {n} records"

    def featurize(self, records: pd.DataFrame) -> pd.DataFrame:
        """Records -> the trained feature columns; refuses if the feature set changed since
        :meth:`fit` (see :func:`check_feature_set`)."""
        X = self.featurizer_.transform(records)
        check_feature_set(self.feature_set, getattr(self, "feature_set_hash_", None),
                          getattr(self.featurizer_, "feature_set_hash_", None))
        return X.reindex(columns=self.feature_names_)


def _prior_columns(X: pd.DataFrame, prior: bool, feature_set: str) -> pd.DataFrame:
    """``X`` without the prior block unless the model starts from the prior (which needs it)."""
    cols = [c for c in X.columns if str(c).startswith("prior__")]
    if prior and not cols:
        raise ValueError(f"prior=True needs the feature set's prior block; {feature_set!r} has "
                         "none (set `prior = true` under [blocks])")
    return X if prior else X.drop(columns=cols)


class PriorRegressor:
    """The regressor of a pair without records: the physics prior's mean and std, read from
    the feature columns ``prior__<target>`` / ``prior__<target>_std`` (model space)."""

    n_members = 1
    interval_scale_ = 1.0

    def __init__(self, target: str) -> None:
        from coatml.features.prior import prior_column

        self.mean_column = prior_column(target)
        self.std_column = prior_column(target, std=True)

    def _cols(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        missing = [c for c in (self.mean_column, self.std_column) if c not in X.columns]
        if missing:
            raise ValueError(f"the prior surrogate needs the feature column(s) {missing}")
        return (X[self.mean_column].to_numpy(dtype=float),
                X[self.std_column].to_numpy(dtype=float))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._cols(X)[0]

    def predict_dist(self, X: pd.DataFrame) -> pd.DataFrame:
        from coatml.models.targets import gaussian_frame

        mean, std = self._cols(X)
        out = gaussian_frame(mean, std, index=X.index)
        out.insert(2, "epistemic_std", std)
        out.insert(3, "noise_std", np.zeros_like(std))
        return out

    def predict_members(self, X: pd.DataFrame) -> np.ndarray:
        return self._cols(X)[0][None, :]


class PriorSurrogate(SurrogateBase):
    """A :class:`Surrogate` that is the physics prior alone (mean and std of
    :mod:`coatml.features.prior`): what a pair without records is ranked by, with the prior's
    uncertainty, instead of ties. ``fit`` only resolves the featurizer; it learns nothing."""

    def __init__(self, target: str, feature_set: str = "default") -> None:
        self.target = target
        self.feature_set = feature_set

    def fit(self, records: pd.DataFrame | None = None) -> PriorSurrogate:
        from coatml.features.pipeline import RecordFeaturizer
        from coatml.features.prior import prior_column

        self.target_ = get_target(self.target)
        frame = records if records is not None and len(records) else pd.DataFrame(
            {"electrode": ["Li"], "electrolyte": ["Li6PS5Cl"], "coating": ["Al2O3"]})
        self.featurizer_ = RecordFeaturizer(feature_set=self.feature_set).fit(frame)
        names = [str(c) for c in self.featurizer_.get_feature_names_out()]
        cols = [prior_column(self.target), prior_column(self.target, std=True)]
        if not set(cols) <= set(names):
            raise ValueError(f"feature set {self.feature_set!r} has no prior block")
        self.feature_names_ = cols
        self.ensemble_ = PriorRegressor(self.target)
        self.feature_set_hash_ = getattr(self.featurizer_, "feature_set_hash_", None)
        self.n_train_ = 0
        return self

    @property
    def label(self) -> str:
        return f"physics prior ({self.feature_set})"

    @property
    def target_scale(self) -> float:
        from coatml.features.prior import load_calibration

        cal = load_calibration()
        return float(cal.retention_sd_pct if self.target == "capacity_retention_pct"
                     else cal.log10_resistance_sd)

    def featurize(self, records: pd.DataFrame) -> pd.DataFrame:
        """The prior block of the records (both targets' columns: one matrix serves the
        prior surrogates of both targets)."""
        from coatml.features.prior import PRIOR_COLUMNS

        return self.featurizer_.transform(records).reindex(columns=list(PRIOR_COLUMNS))

    def feature_key(self) -> tuple[str, Any] | None:
        """Shared only between prior surrogates (their matrix is the prior block alone)."""
        return ("prior-block", str(self.feature_set))


def check_feature_set(name: str, trained_hash: Any, current_hash: Any) -> None:
    """Raise :class:`~coatml.exceptions.FeatureSetMismatchError` when the feature set a model
    was trained with no longer hashes the same: its feature definitions changed, and the
    model's predictions would be meaningless."""
    from coatml.exceptions import FeatureSetMismatchError

    if trained_hash and current_hash and str(trained_hash) != str(current_hash):
        raise FeatureSetMismatchError(
            f"feature set {name!r} now hashes to {current_hash}, the model was trained with "
            f"{trained_hash}: the feature definitions changed. Retrain with `coatml train`.")


def prediction_columns(target: TargetSpec, model_space: pd.DataFrame,
                       prefix: str | None = None) -> dict[str, np.ndarray]:
    """The columns a user reads for one target, the same in ``predict``, ``propose`` and
    (under its own names) ``rank``: ``<prefix>`` the point prediction, which is the median
    (for a Gaussian target also the mean; for the log-normal resistance the mean lies far
    above it and is given only as ``<prefix>_lognormal_mean``); ``_lo68``/``_hi68``/``_lo95``/
    ``_hi95`` the intervals; the std in model space (``_std``: % points, ``_std_log10``:
    decades of resistance). ``prefix`` defaults to ``pred_<target>``."""
    prefix = prefix or f"pred_{target.name}"
    dist = model_space.copy()
    for col, z in (("lo68", -Z68), ("hi68", Z68), ("lo95", -Z95), ("hi95", Z95)):
        if col not in dist:
            dist[col] = dist["mean"] + z * dist["std"]
    natural = target.inverse_dist(dist)
    out = {prefix: natural["median"].to_numpy(dtype=float)}
    for col in ("lo68", "hi68", "lo95", "hi95"):
        out[f"{prefix}_{col}"] = natural[col].to_numpy(dtype=float)
    if target.transform == "identity":
        out[f"{prefix}_std"] = dist["std"].to_numpy(dtype=float)
    else:
        out[f"{prefix}_std_log10"] = dist["std"].to_numpy(dtype=float)
        out[f"{prefix}_lognormal_mean"] = natural["mean"].to_numpy(dtype=float)
    return out
