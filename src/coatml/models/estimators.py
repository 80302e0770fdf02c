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

The sum of variances is finally multiplied by ``interval_scale ** 2``; grouped cross-validation
(:func:`coatml.models.validation.cross_validate_model`) reports the factor that makes held-out
68 % intervals cover 68 % of the truth (``CVReport.interval_scale``), which can be set back
with ``set_params(interval_scale=...)``. Intervals are Gaussian in model space.

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
from sklearn.utils.validation import check_is_fitted

from coatml.exceptions import InsufficientDataError
from coatml.models.targets import MIN_RECORDS, gaussian_frame

#: Name of the feature column that ``prior="physics"`` reads (model-space prior prediction).
PHYSICS_PRIOR_COLUMN = "physics_prior"

#: Format tag of the files :meth:`EnsembleRegressor.save` writes.
SAVE_FORMAT = "coatml-ensemble-v1"

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
    interval_scale
        Multiplies the predictive std (fit it by grouped CV; 1.0 = uncalibrated).
    device
        ``"cpu"`` or ``"cuda"``.
    n_jobs
        Threads per member.
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
        interval_scale: float = 1.0,
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
        self.interval_scale = interval_scale
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
        for name in ("learning_rate", "interval_scale"):
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

    def _as_frame(self, X: Any, *, fitting: bool) -> pd.DataFrame:
        """Numeric feature frame with the training column order."""
        if isinstance(X, pd.DataFrame):
            frame = X
        else:
            arr = np.asarray(X, dtype=float)
            if arr.ndim != 2:
                raise ValueError(f"X must be 2-dimensional, got shape {arr.shape}")
            names = (
                list(self.feature_names_in_)
                if not fitting and hasattr(self, "feature_names_in_")
                else [f"x{i}" for i in range(arr.shape[1])]
            )
            if len(names) != arr.shape[1]:
                raise ValueError(
                    f"X has {arr.shape[1]} features, the model was fitted with {len(names)}"
                )
            frame = pd.DataFrame(arr, columns=names)
        frame = frame.copy()
        frame.columns = [str(c) for c in frame.columns]
        bad = [c for c in frame.columns if not (
            pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
        )]
        if bad:
            raise ValueError(
                f"features must be numeric; non-numeric column(s): {bad[:10]} "
                "(featurize the records first)"
            )
        if not fitting:
            missing = [c for c in self.feature_names_in_ if c not in frame.columns]
            if missing:
                raise ValueError(
                    f"X lacks {len(missing)} feature(s) the model was fitted with: {missing[:10]}"
                )
            frame = frame[list(self.feature_names_in_)]
        return frame

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
            unknown = [f for f in constraints if f not in self.feature_names_in_]
            if unknown:
                raise ValueError(
                    f"monotone_constraints name feature(s) not in X: {unknown}; "
                    f"known features include {list(self.feature_names_in_[:10])}"
                )
            params["monotone_constraints"] = "(" + ",".join(
                str(int(constraints.get(f, 0))) for f in self.feature_names_in_
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
        y_arr = np.asarray(y, dtype=float).reshape(-1)
        if y_arr.shape[0] != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {y_arr.shape[0]}")
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        keep = np.isfinite(y_arr)
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

        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.y_mean_ = float(np.mean(y_arr))
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

        ``std = interval_scale * sqrt(epistemic_std**2 + noise_std**2 + extrapolation_std**2)``.
        """
        frame, X_np, margin = self._prepare(X)
        members = self._member_matrix(X_np, margin)
        mean = members.mean(axis=0)
        epi = members.std(axis=0, ddof=1) if members.shape[0] > 1 else np.zeros_like(mean)
        noise = np.full_like(mean, np.sqrt(self.noise_var_))
        extra = np.sqrt(self._extrapolation_var(X_np))
        std = float(self.interval_scale) * np.sqrt(epi**2 + noise**2 + extra**2)
        out = gaussian_frame(mean, std, index=frame.index)
        out.insert(2, "epistemic_std", epi)
        out.insert(3, "noise_std", noise)
        out.insert(4, "extrapolation_std", extra)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the features the model uses (in the order it uses them)."""
        check_is_fitted(self, "feature_names_in_")
        return np.asarray(self.feature_names_in_, dtype=object)

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
            "feature_names_in": [str(c) for c in self.feature_names_in_],
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
        """Read an ensemble written by :meth:`save` (JSON only)."""
        from xgboost import XGBRegressor

        path = Path(directory)
        meta_path = path / _META_FILE
        if not meta_path.is_file():
            raise FileNotFoundError(f"{meta_path} not found; is {path} a saved coatml ensemble?")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != SAVE_FORMAT:
            raise ValueError(f"{meta_path}: format {meta.get('format')!r}, expected {SAVE_FORMAT}")
        model = cls(**meta["params"])
        members = []
        for name in meta["members"]:
            if Path(name).name != name or not name.endswith(".json"):
                raise ValueError(f"{meta_path}: unexpected member file name {name!r}")
            member = XGBRegressor()
            member.load_model(path / name)
            members.append(member)
        model.estimators_ = members
        model.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        model.n_features_in_ = len(model.feature_names_in_)
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
