"""XGBoost ensemble regressor with calibrated predictive uncertainty.

:class:`EnsembleRegressor` fits ``n_members`` XGBoost regressors, each on a bootstrap resample
of the records with its own seed. On the tens of records a coating study has, one boosted
model gives no idea of how sure it is, and the spread between bootstrap members alone is too
narrow (every member saw most of the same few records). The predictive standard deviation
therefore adds two parts:

* ``epistemic_std``: the spread between members at the query point (grows where the members
  disagree, e.g. at the edge of or outside the training data);
* ``noise_std``: a residual-noise term estimated **out of bag**: each record is predicted by
  the members whose bootstrap did not contain it, and the noise variance is what the mean
  squared out-of-bag residual leaves after subtracting the mean member variance there;
* ``extrapolation_std``: trees predict a constant beyond the edge of the training data, so all
  members agree there and their spread says nothing about extrapolation. For a query outside
  the training range of feature ``j`` by ``d_j`` (in units of that feature's training range),
  the extra variance is ``var(y_train) * sum_j w_j * d_j**2``, with ``w_j`` the feature's total
  gain relative to the most important feature (irrelevant features add nothing). In words: one
  range-width beyond the data along the most important feature, the target may have moved by as
  much as it varies across the whole training set. This is a modelling assumption, not a
  fitted quantity; ``extrapolation_scale`` scales it (0 switches it off).

The sum of variances is finally multiplied by ``interval_scale_ ** 2``, a fitted attribute
(1.0 after :meth:`EnsembleRegressor.fit`): grouped cross-validation
(:func:`coatml.models.validation.cross_validate_model`) reports the factor that makes held-out
68 % intervals cover 68 % of the truth (``CVReport.interval_scale_factor``), and
:meth:`EnsembleRegressor.calibrate_intervals` sets it on the fitted model. It is learned from
data, so it is not a hyper-parameter (``clone`` drops it, as it drops the members). Intervals
are Gaussian in model space.

A physics prior (``prior``) enters as XGBoost's ``base_margin``: the trees learn a correction
to the prior prediction instead of the target itself, so with few records the model falls back
on the prior rather than on the mean.

Persistence is pickle-free: :meth:`EnsembleRegressor.save` writes each booster as XGBoost
JSON and the parameters and learned scalars as one JSON file; :meth:`EnsembleRegressor.load`
reads only those.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from coatml.exceptions import InsufficientDataError
from coatml.models.targets import MIN_RECORDS, gaussian_frame

#: Name of the feature column that ``prior="physics"`` reads (model-space prior prediction).
PHYSICS_PRIOR_COLUMN = "physics_prior"

#: Format tag of the files :meth:`EnsembleRegressor.save` writes. v2 stores the interval
#: scale as a learned scalar; v1 (read too) kept it among the parameters.
SAVE_FORMAT = "coatml-ensemble-v2"
_READABLE_FORMATS = ("coatml-ensemble-v1", SAVE_FORMAT)

_META_FILE = "ensemble.json"


def _member_file(i: int) -> str:
    return f"member_{i:03d}.json"


class EnsembleRegressor(RegressorMixin, BaseEstimator):
    """Bootstrap ensemble of ``xgboost.XGBRegressor`` with calibrated uncertainty.

    Parameters (all keyword-only; defaults are regularised for tens of records):

    n_estimators, max_depth, learning_rate, subsample, colsample_bytree, min_child_weight,
    reg_lambda, reg_alpha
        Passed to every member (``tree_method="hist"``).
    n_members
        Number of bootstrap members.
    bootstrap
        Resample records with replacement per member (needed for the out-of-bag noise term).
    random_state
        Seed; member ``i`` uses ``random_state + i`` for its resample and its trees.
    monotone_constraints
        ``{feature_name: -1 | 0 | 1}``; features not named are unconstrained. Holds for the
        trees; a non-monotone ``prior`` can still break monotonicity of the total.
    prior
        ``None``; a feature column name whose values (model space) are the prior prediction;
        ``"physics"`` for the column :data:`PHYSICS_PRIOR_COLUMN`; or a callable
        ``f(X: DataFrame) -> array`` of length ``len(X)``. The prior is passed as
        ``base_margin``; where it is NaN the training-target mean is used.
    extrapolation_scale
        Multiplies the extrapolation variance term (0 = off).
    device
        ``"cpu"`` or ``"cuda"``.
    n_jobs
        Threads per member.
    min_records
        Fewest records with a target value that ``fit`` accepts.

    Input: a numeric DataFrame (the featurizer's output) or a 2-D array; NaN features are
    allowed (XGBoost routes them), infinite ones are an error. At prediction a DataFrame's
    columns are taken by name (fitted order, extra columns ignored); an array must have the
    fitted columns in the fitted order.

    Fitted attributes: ``estimators_``, ``n_features_in_``, ``feature_names_in_`` (only when
    fitted on a DataFrame with string column names), ``y_mean_``, ``noise_var_``,
    ``noise_source_``, ``oob_rmse_``, ``n_oob_``, ``target_var_``, ``feature_low_``,
    ``feature_high_``, ``feature_weight_`` and ``interval_scale_`` (1.0 until
    :meth:`calibrate_intervals`).
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        max_depth: int = 3,
        learning_rate: float = 0.03,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_child_weight: float = 3.0,
        reg_lambda: float = 5.0,
        reg_alpha: float = 0.0,
        n_members: int = 20,
        bootstrap: bool = True,
        random_state: int = 0,
        monotone_constraints: Mapping[str, int] | None = None,
        prior: str | Callable[[pd.DataFrame], Any] | None = None,
        extrapolation_scale: float = 1.0,
        device: str = "cpu",
        n_jobs: int = 1,
        min_records: int = MIN_RECORDS,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.n_members = n_members
        self.bootstrap = bootstrap
        self.random_state = random_state
        self.monotone_constraints = monotone_constraints
        self.prior = prior
        self.extrapolation_scale = extrapolation_scale
        self.device = device
        self.n_jobs = n_jobs
        self.min_records = min_records

    # ------------------------------------------------------------------ checks and helpers
    def _validate_params(self) -> None:
        problems = []
        for name in ("n_estimators", "max_depth", "n_members", "n_jobs"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                problems.append(f"{name} must be an integer >= 1, got {v!r}")
        for name in ("learning_rate",):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                problems.append(f"{name} must be > 0, got {v!r}")
        for name in ("subsample", "colsample_bytree"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                problems.append(f"{name} must be in (0, 1], got {v!r}")
        for name in ("min_child_weight", "reg_lambda", "reg_alpha", "extrapolation_scale"):
            v = getattr(self, name)
            if not np.isfinite(v) or v < 0:
                problems.append(f"{name} must be >= 0, got {v!r}")
        if self.device not in ("cpu", "cuda") and not str(self.device).startswith("cuda:"):
            problems.append(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        for feat, sign in dict(self.monotone_constraints or {}).items():
            if sign not in (-1, 0, 1):
                problems.append(f"monotone_constraints[{feat!r}] must be -1, 0 or 1, got {sign!r}")
        if not (self.prior is None or isinstance(self.prior, str) or callable(self.prior)):
            problems.append(f"prior must be None, a column name or a callable, got {self.prior!r}")
        if problems:
            raise ValueError("EnsembleRegressor: " + "; ".join(problems))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _feature_names(self) -> list[str]:
        """Fitted column names; ``x0, x1, ...`` when fitted on an array."""
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return [str(c) for c in names]
        return [f"x{i}" for i in range(int(self.n_features_in_))]

    def _as_frame(self, X: Any, *, fitting: bool) -> pd.DataFrame:
        """Checked numeric feature frame with the training column order (see
        :func:`validate_features`)."""
        arr, index = validate_features(self, X, reset=fitting)
        return pd.DataFrame(arr, columns=self._feature_names(), index=index, copy=False)

    def _prior_margin(self, frame: pd.DataFrame) -> np.ndarray | None:
        if self.prior is None:
            return None
        if callable(self.prior):
            values = np.asarray(self.prior(frame), dtype=float).reshape(-1)
            if values.shape[0] != len(frame):
                raise ValueError(
                    f"prior callable returned {values.shape[0]} values for {len(frame)} rows"
                )
        else:
            column = PHYSICS_PRIOR_COLUMN if self.prior == "physics" else self.prior
            if column not in frame.columns:
                raise ValueError(
                    f"prior column {column!r} is not among the features; add it or set prior=None"
                )
            values = frame[column].to_numpy(dtype=float)
        return np.where(np.isfinite(values), values, self.y_mean_)

    def _member_params(self, seed: int) -> dict[str, Any]:
        constraints = dict(self.monotone_constraints or {})
        params: dict[str, Any] = {
            "n_estimators": int(self.n_estimators),
            "max_depth": int(self.max_depth),
            "learning_rate": float(self.learning_rate),
            "subsample": float(self.subsample),
            "colsample_bytree": float(self.colsample_bytree),
            "min_child_weight": float(self.min_child_weight),
            "reg_lambda": float(self.reg_lambda),
            "reg_alpha": float(self.reg_alpha),
            "tree_method": "hist",
            "device": self.device,
            "n_jobs": int(self.n_jobs),
            "random_state": int(seed),
            "objective": "reg:squarederror",
        }
        if constraints:
            names = self._feature_names()
            unknown = [f for f in constraints if f not in names]
            if unknown:
                raise ValueError(
                    f"monotone_constraints name feature(s) not in X: {unknown}; "
                    f"known features include {names[:10]}"
                )
            params["monotone_constraints"] = "(" + ",".join(
                str(int(constraints.get(f, 0))) for f in names
            ) + ")"
        return params

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> EnsembleRegressor:
        """Fit the ensemble. Rows with a missing (NaN) target are dropped; fewer than
        :data:`~coatml.models.targets.MIN_RECORDS` remaining raise
        :class:`~coatml.exceptions.InsufficientDataError`. Returns ``self``."""
        from xgboost import XGBRegressor

        self._validate_params()
        frame = self._as_frame(X, fitting=True)
        y_arr = target_array(self, y, len(frame))
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, frame.to_numpy(), dtype=np.float64,
                                           ensure_non_negative=True)
        keep = ~np.isnan(y_arr)
        n_with = int(keep.sum())
        if n_with < self.min_records:
            name = getattr(y, "name", None) or "the target"
            raise InsufficientDataError(
                f"{name}: {n_with} of {len(y_arr)} record(s) carry a value, at least "
                f"{self.min_records} are needed to fit a model ({len(y_arr) - n_with} missing)"
            )
        frame = frame.loc[keep] if not keep.all() else frame
        y_arr = y_arr[keep]
        if weights is not None:
            weights = weights[keep]

        self.y_mean_ = float(np.mean(y_arr))
        self.interval_scale_ = 1.0
        margin = self._prior_margin(frame)
        X_np = frame.to_numpy(dtype=np.float32)
        n = len(y_arr)

        members = []
        oob_sum = np.zeros(n)
        oob_sq = np.zeros(n)
        oob_count = np.zeros(n)
        for i in range(int(self.n_members)):
            seed = int(self.random_state) + i
            rng = np.random.default_rng(seed)
            idx = rng.integers(0, n, size=n) if self.bootstrap else np.arange(n)
            member = XGBRegressor(**self._member_params(seed))
            member.fit(
                X_np[idx],
                y_arr[idx],
                sample_weight=None if weights is None else weights[idx],
                base_margin=None if margin is None else margin[idx],
                verbose=False,
            )
            members.append(member)
            if self.bootstrap:
                oob = np.ones(n, dtype=bool)
                oob[idx] = False
                if oob.any():
                    pred = member.predict(
                        X_np[oob], base_margin=None if margin is None else margin[oob]
                    )
                    oob_sum[oob] += pred
                    oob_sq[oob] += pred**2
                    oob_count[oob] += 1
        self.estimators_ = members
        self._fit_extrapolation(X_np, y_arr)

        has_oob = oob_count >= 2
        if has_oob.sum() >= 3:
            mean_oob = oob_sum[has_oob] / oob_count[has_oob]
            var_oob = np.maximum(oob_sq[has_oob] / oob_count[has_oob] - mean_oob**2, 0.0)
            resid = y_arr[has_oob] - mean_oob
            self.noise_var_ = float(max(np.mean(resid**2) - np.mean(var_oob), 0.0))
            self.noise_source_ = "out-of-bag"
            self.oob_rmse_ = float(np.sqrt(np.mean(resid**2)))
            self.n_oob_ = int(has_oob.sum())
        else:
            # No usable out-of-bag records (bootstrap off or too few members): in-sample
            # residuals, which understate the noise.
            resid = y_arr - self._mean_members(X_np, margin)
            self.noise_var_ = float(np.mean(resid**2))
            self.noise_source_ = "in-sample"
            self.oob_rmse_ = float("nan")
            self.n_oob_ = 0
        return self

    def _fit_extrapolation(self, X_np: np.ndarray, y_arr: np.ndarray) -> None:
        """Learn training feature ranges and relative feature importances (total gain)."""
        n_feat = X_np.shape[1]
        finite = np.isfinite(X_np)
        any_finite = finite.any(axis=0)
        low = np.full(n_feat, np.nan)
        high = np.full(n_feat, np.nan)
        if any_finite.any():
            low[any_finite] = np.nanmin(X_np[:, any_finite], axis=0)
            high[any_finite] = np.nanmax(X_np[:, any_finite], axis=0)
        gain = np.zeros(n_feat)
        for member in self.estimators_:
            for key, value in member.get_booster().get_score(importance_type="total_gain").items():
                gain[int(key[1:])] += value  # keys are f0, f1, ... (fitted on numpy)
        self.feature_low_ = low
        self.feature_high_ = high
        self.feature_weight_ = gain / gain.max() if gain.max() > 0 else gain
        self.target_var_ = float(np.var(y_arr, ddof=1))

    def _extrapolation_var(self, X_np: np.ndarray) -> np.ndarray:
        width = self.feature_high_ - self.feature_low_
        usable = np.isfinite(width) & (width > 0) & (self.feature_weight_ > 0)
        if not usable.any() or self.extrapolation_scale == 0:
            return np.zeros(X_np.shape[0])
        x = X_np[:, usable].astype(float)
        below = self.feature_low_[usable] - x
        above = x - self.feature_high_[usable]
        outside = np.nan_to_num(np.maximum(np.maximum(below, above), 0.0), nan=0.0)
        d2 = (outside / width[usable]) ** 2
        return float(self.extrapolation_scale) * self.target_var_ * (
            d2 @ self.feature_weight_[usable]
        )

    def _member_matrix(self, X_np: np.ndarray, margin: np.ndarray | None) -> np.ndarray:
        return np.vstack([m.predict(X_np, base_margin=margin) for m in self.estimators_])

    def _mean_members(self, X_np: np.ndarray, margin: np.ndarray | None) -> np.ndarray:
        return self._member_matrix(X_np, margin).mean(axis=0)

    def _prepare(self, X: Any) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
        check_is_fitted(self, "estimators_")
        frame = self._as_frame(X, fitting=False)
        return frame, frame.to_numpy(dtype=np.float32), self._prior_margin(frame)

    def predict_members(self, X: Any) -> np.ndarray:
        """Member predictions, shape ``(n_members, n_rows)`` (model space, noise-free); one
        row is one posterior draw for Thompson sampling. The draws carry the between-member
        spread only, not the noise or extrapolation terms of :meth:`predict_dist`."""
        _, X_np, margin = self._prepare(X)
        return self._member_matrix(X_np, margin)

    def predict(self, X: Any) -> np.ndarray:
        """Ensemble mean prediction (model space)."""
        return self.predict_members(X).mean(axis=0)

    def predict_mean_float32(self, X: pd.DataFrame, X32: np.ndarray | None = None
                             ) -> np.ndarray:
        """:meth:`predict` (same numbers) reading a C-ordered float32 matrix ``X32`` of the
        feature frame ``X`` that callers share between ensembles with the same features:
        XGBoost walks rows, and a column-major float64 frame would otherwise be copied and
        re-laid out once per ensemble."""
        check_is_fitted(self, "estimators_")
        if [str(n) for n in self.feature_names_in_] != [str(c) for c in X.columns]:
            return self.predict(X)
        if X32 is None:
            X32 = np.ascontiguousarray(X.to_numpy(dtype=np.float32))
        return self._mean_members(X32, self._prior_margin(X))

    def predict_dist(self, X: Any) -> pd.DataFrame:
        """Predictive distribution per row: ``mean``, ``std``, ``epistemic_std``,
        ``noise_std``, ``extrapolation_std`` and Gaussian bounds ``lo95``, ``lo68``, ``hi68``,
        ``hi95`` (model space).

        ``std = interval_scale_ * sqrt(epistemic_std**2 + noise_std**2 + extrapolation_std**2)``.
        """
        frame, X_np, margin = self._prepare(X)
        members = self._member_matrix(X_np, margin)
        mean = members.mean(axis=0)
        epi = members.std(axis=0, ddof=1) if members.shape[0] > 1 else np.zeros_like(mean)
        noise = np.full_like(mean, np.sqrt(self.noise_var_))
        extra = np.sqrt(self._extrapolation_var(X_np))
        std = float(self.interval_scale_) * np.sqrt(epi**2 + noise**2 + extra**2)
        out = gaussian_frame(mean, std, index=frame.index)
        out.insert(2, "epistemic_std", epi)
        out.insert(3, "noise_std", noise)
        out.insert(4, "extrapolation_std", extra)
        return out

    def calibrate_intervals(self, factor: float) -> EnsembleRegressor:
        """Multiply the predictive std by ``factor`` from now on (sets ``interval_scale_``;
        the factor grouped CV reports as ``CVReport.interval_scale_factor``). Returns
        ``self``."""
        check_is_fitted(self, "estimators_")
        self.interval_scale_ = _check_scale(factor)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the features the model uses (in the order it uses them); ``x0, x1, ...``
        when fitted on an array."""
        check_is_fitted(self, "n_features_in_")
        return np.asarray(self._feature_names(), dtype=object)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write the fitted ensemble to ``directory`` (created if needed): one XGBoost JSON
        file per member plus ``ensemble.json`` (parameters, feature names, learned scalars).
        No pickle. A callable ``prior`` cannot be saved (raise ``ValueError``)."""
        check_is_fitted(self, "estimators_")
        if callable(self.prior):
            raise ValueError(
                "a callable prior cannot be saved as JSON; put the prior into a feature column "
                "and pass its name as prior="
            )
        import xgboost

        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for i, member in enumerate(self.estimators_):
            member.save_model(path / _member_file(i))
        params = self.get_params()
        params["monotone_constraints"] = (
            None if self.monotone_constraints is None else dict(self.monotone_constraints)
        )
        meta = {
            "format": SAVE_FORMAT,
            "xgboost_version": xgboost.__version__,
            "params": params,
            "feature_names_in": (None if getattr(self, "feature_names_in_", None) is None
                                 else self._feature_names()),
            "n_features_in": int(self.n_features_in_),
            "interval_scale": float(self.interval_scale_),
            "y_mean": self.y_mean_,
            "noise_var": self.noise_var_,
            "noise_source": self.noise_source_,
            "oob_rmse": None if np.isnan(self.oob_rmse_) else self.oob_rmse_,
            "n_oob": self.n_oob_,
            "target_var": self.target_var_,
            "feature_low": [None if np.isnan(v) else float(v) for v in self.feature_low_],
            "feature_high": [None if np.isnan(v) else float(v) for v in self.feature_high_],
            "feature_weight": [float(v) for v in self.feature_weight_],
            "members": [_member_file(i) for i in range(len(self.estimators_))],
        }
        (path / _META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> EnsembleRegressor:
        """Read an ensemble written by :meth:`save` (JSON only). A v1 file kept the interval
        scale among the parameters; it becomes the fitted ``interval_scale_``."""
        from xgboost import XGBRegressor

        path = Path(directory)
        meta_path = path / _META_FILE
        if not meta_path.is_file():
            raise FileNotFoundError(f"{meta_path} not found; is {path} a saved coatml ensemble?")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") not in _READABLE_FORMATS:
            raise ValueError(f"{meta_path}: format {meta.get('format')!r}, expected one of "
                             f"{_READABLE_FORMATS}")
        params = dict(meta["params"])
        scale = params.pop("interval_scale", None) if meta["format"] == _READABLE_FORMATS[0] \
            else meta["interval_scale"]
        model = cls(**params)
        members = []
        for name in meta["members"]:
            if Path(name).name != name or not name.endswith(".json"):
                raise ValueError(f"{meta_path}: unexpected member file name {name!r}")
            member = XGBRegressor()
            member.load_model(path / name)
            members.append(member)
        model.estimators_ = members
        names = meta["feature_names_in"]
        if names is not None:
            model.feature_names_in_ = np.asarray(names, dtype=object)
        model.n_features_in_ = int(meta.get("n_features_in", len(names or [])))
        model.interval_scale_ = 1.0 if scale is None else _check_scale(scale)
        model.y_mean_ = float(meta["y_mean"])
        model.noise_var_ = float(meta["noise_var"])
        model.noise_source_ = str(meta["noise_source"])
        model.oob_rmse_ = float("nan") if meta["oob_rmse"] is None else float(meta["oob_rmse"])
        model.n_oob_ = int(meta["n_oob"])
        model.target_var_ = float(meta["target_var"])
        model.feature_low_ = np.array(meta["feature_low"], dtype=float)
        model.feature_high_ = np.array(meta["feature_high"], dtype=float)
        model.feature_weight_ = np.array(meta["feature_weight"], dtype=float)
        return model


def _check_scale(factor: Any) -> float:
    value = float(factor)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"the interval scale must be a finite number > 0, got {factor!r}")
    return value


def validate_features(estimator: Any, X: Any, *, reset: bool) -> tuple[np.ndarray, Any]:
    """``X`` as a float64 2-D array checked the scikit-learn way (``validate_data``: no
    sparse, complex or infinite values, at least 2 rows and 1 column at ``fit``; sets or
    checks ``n_features_in_`` and ``feature_names_in_``), and ``X``'s index (``None`` for an
    array). NaN is allowed (a featurizer gap).

    A DataFrame with non-numeric columns is an error naming them. At prediction
    (``reset=False``) a DataFrame's columns are taken by name: the fitted ones in fitted
    order (extra columns are ignored, a missing one is an error naming it)."""
    index = None
    if isinstance(X, pd.DataFrame):
        index = X.index
        fitted = getattr(estimator, "feature_names_in_", None)
        if not reset and fitted is not None:
            missing = [c for c in fitted if c not in X.columns]
            if missing:
                raise ValueError(
                    f"X lacks {len(missing)} feature(s) the model was fitted with: {missing[:10]}"
                )
            X = X[list(fitted)]
        bad = [c for c in X.columns if not (
            pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])
        )]
        if bad:
            raise ValueError(
                f"features must be numeric; non-numeric column(s): {bad[:10]} "
                "(featurize the records first)"
            )
    arr = validate_data(estimator, X, reset=reset, dtype=np.float64,
                        ensure_all_finite="allow-nan", ensure_min_samples=2 if reset else 1)
    return np.asarray(arr, dtype=np.float64), index


def target_array(estimator: Any, y: Any, n_rows: int) -> np.ndarray:
    """``y`` as a float 1-D array of ``n_rows`` values (a column vector is raveled with a
    ``DataConversionWarning``); NaN (a missing value) is kept, infinity is an error naming
    the rows."""
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target "
                         "y is None")
    arr = column_or_1d(np.asarray(y, dtype=np.float64), warn=True)
    check_consistent_length(np.empty((n_rows, 0)), arr)
    inf = np.flatnonzero(np.isinf(arr))
    if inf.size:
        raise ValueError(f"Input y contains infinity at row(s) {inf[:10].tolist()}")
    return arr
