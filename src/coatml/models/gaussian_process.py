"""Gaussian-process surrogate on a few physical descriptors, for the closed loop.

Inside one campaign a lab has 4-40 measured recipes. A boosted-tree ensemble over hundreds of
features learns little from so few rows (its trees split on noise and its uncertainty is mostly
the out-of-bag misfit, the same for every recipe). The standard small-data choice of Bayesian
optimisation is a Gaussian process (GP) on a handful of meaningful inputs: its posterior std
shrinks near measured recipes and grows away from them, which is what expected improvement
needs.

:class:`DescriptorGP` takes the feature matrix of :class:`coatml.features.RecordFeaturizer`
and uses only the ``descriptors`` it is given, each divided by a fixed scale in the column's
own units (``process__log10_thickness_nm`` by 0.5 decade, temperatures by 100 degC, windows by
1 V, ...), so that length scales mean the same thing from the first batch on, whatever the few
training rows span. A descriptor that is missing for a row (no sourced stability window, say)
is filled with the training median, and one more input, the share of the row's descriptors
that were missing, keeps "unknown" a distance of its own rather than silently "typical" (one
column, not one per descriptor: organics and Li-free binary oxides miss their windows together,
and every extra input is another length scale to fit from a few records).

Kernel: ``C * Matern(nu, ARD) + C * DotProduct + White``: the Matern part models local
structure, the linear part lets a trend found on a few recipes (thicker is better, a wider
window is better) extend beyond them, the white part is the measurement noise. Descriptors are
centred on the training rows' mean first: a linear kernel's prior variance grows with the
distance from the origin, and uncentred it sent the first batches to the hottest reactor
settings and thickest films merely because their raw values were large. The target is
centred and scaled by the training mean and std. Hyper-parameters are fitted by maximum
marginal likelihood with ``n_restarts`` seeded restarts.

A bounded target (``bounds``, e.g. retention in 0-100 %) is modelled as ``logit`` of its share
of the range, so that neither the mean nor the linear trend can promise 107 % retention (which
the untransformed GP did on NMC811 | Li6PS5Cl for 10 nm films, extrapolating the "thicker is
better" of thin records). Means and intervals are mapped back through the monotone inverse
(the mean is then the posterior median), stds by the delta method.

Plain arrays (no column names) work too: the columns are ``x0, x1, ...`` and, with
``descriptors=None``, every column is a descriptor with scale 1 (the caller has scaled them);
the named defaults need the featurizer's column names.

The predictive std is multiplied by the fitted ``interval_scale_`` (1.0 after ``fit``; set it
with :meth:`DescriptorGP.calibrate_intervals`, as for the ensemble).

It offers the interface of :class:`coatml.models.estimators.EnsembleRegressor` that scoring
uses: ``predict_dist`` (``mean``, ``std``, ``epistemic_std`` (latent), ``noise_std``,
Gaussian bounds; model space) and ``predict_members``: ``n_members`` draws from the marginal
posterior of each row (independent between rows; enough for Thompson sampling's ranking, and
what a space of 10^5 recipes allows: a joint draw would need its full covariance matrix).

Linear algebra runs with one BLAS thread: the matrices are tens of rows wide, and a threaded
BLAS spent most of a campaign's time in thread hand-offs (a closed-loop campaign took 19.7 s
instead of 5.1 s on 2 cores).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from coatml.models.estimators import _check_scale, target_array, validate_features
from coatml.models.targets import Z68, Z95, gaussian_frame

__all__ = ["DEFAULT_DESCRIPTORS", "DescriptorGP"]

#: Descriptor -> scale in the column's units. A project choice (not tuned on the benchmark's
#: outcomes): the recipe (thickness, temperature), the sourced physics of the coating against
#: its neighbours (windows, covered share of the electrode's voltage range, conductivity, film
#: resistance), and three composition contrasts of the coating.
DEFAULT_DESCRIPTORS: Mapping[str, float] = {
    "process__log10_thickness_nm": 0.5,
    "process__temperature_c": 100.0,
    "process__method_mld": 1.0,
    "physics__coating_reduction_v": 1.0,
    "physics__coating_oxidation_v": 1.0,
    "physics__coating_electrode_covered_fraction": 0.5,
    "physics__coating_electrode_excess_v": 1.0,
    "physics__coating_electrolyte_overlap_v": 1.0,
    "physics__coating_gap_residual_v": 1.0,
    "physics__coating_log10_sigma_s_cm": 1.0,
    "physics__log10_film_resistance_ohm_cm2": 1.0,
    "interface__coating_li_fraction": 0.2,
    "interface__coating_tm_fraction": 0.2,
    "interface__coating_mean_electronegativity": 0.5,
    "interface__coating_electrolyte_anion_type_match": 1.0,
}


class DescriptorGP(RegressorMixin, BaseEstimator):
    """Gaussian-process regressor on scaled physical descriptors (see the module docstring).

    Parameters
    ----------
    descriptors
        ``{column: scale}``; ``None`` uses :data:`DEFAULT_DESCRIPTORS` for a DataFrame with
        string column names and every column with scale 1 for an array. Columns absent from
        ``X`` are an error at ``fit``.
    nu
        Smoothness of the Matern kernel (0.5, 1.5, 2.5 or ``inf``).
    linear_trend
        Add the ``DotProduct`` term (a linear trend in the scaled descriptors).
    n_restarts
        Extra seeded starts of the marginal-likelihood optimiser.
    n_members
        Posterior draws returned by :meth:`predict_members`.
    bounds
        ``(low, high)`` of a bounded target, or ``None``; values are clipped to 0.1 % of the
        range inside the bounds before the logit.
    random_state
        Seed of the optimiser restarts and the posterior draws.
    prior
        ``None``, or the name of a feature column holding a prior mean of the target (model
        space; :mod:`coatml.features.prior`). The GP then models the departure from it: far
        from the training rows (and with none of the pair's own) the posterior mean is the
        prior, near them the data take over. A row whose prior is NaN gets the training
        rows' mean.

    Input is checked as in ``EnsembleRegressor`` (:func:`coatml.models.estimators.
    validate_features`): NaN allowed, infinity an error, a DataFrame's columns taken by name
    at prediction.
    """

    def __init__(self, descriptors: Mapping[str, float] | None = None, nu: float = 2.5,
                 linear_trend: bool = True, n_restarts: int = 1, n_members: int = 16,
                 bounds: tuple[float, float] | None = None, random_state: int = 0,
                 prior: str | None = None) -> None:
        self.descriptors = descriptors
        self.nu = nu
        self.linear_trend = linear_trend
        self.n_restarts = n_restarts
        self.n_members = n_members
        self.bounds = bounds
        self.random_state = random_state
        self.prior = prior

    def _prior_z(self, arr: np.ndarray) -> np.ndarray:
        """Prior mean of each row in the modelled scale (0 without a prior)."""
        if self.prior is None:
            return np.zeros(len(arr))
        values = arr[:, self.prior_index_]
        return np.where(np.isfinite(values), self._to_z(np.where(np.isfinite(values), values,
                                                                  0.0)), self.prior_fill_)

    def _bounds(self) -> tuple[float, float] | None:
        if self.bounds is None:
            return None
        lo, hi = (float(v) for v in self.bounds)
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ValueError(f"bounds must be (low, high) with low < high, not {self.bounds}")
        return lo, hi

    def _to_z(self, y: np.ndarray) -> np.ndarray:
        """Target -> modelled value (logit of the share of the range for a bounded target)."""
        b = self._bounds()
        if b is None:
            return y
        share = np.clip((y - b[0]) / (b[1] - b[0]), 1e-3, 1.0 - 1e-3)
        return np.log(share / (1.0 - share))

    def _from_z(self, z: np.ndarray) -> np.ndarray:
        b = self._bounds()
        if b is None:
            return z
        return b[0] + (b[1] - b[0]) / (1.0 + np.exp(-z))

    def _slope(self, z: np.ndarray) -> np.ndarray:
        """d target / d z at ``z`` (delta method)."""
        b = self._bounds()
        if b is None:
            return np.ones_like(z)
        s = 1.0 / (1.0 + np.exp(-z))
        return (b[1] - b[0]) * s * (1.0 - s)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _descriptor_scales(self, columns: list[str], named: bool) -> dict[str, float]:
        if self.descriptors is not None:
            spec = dict(self.descriptors)
        elif named:
            spec = dict(DEFAULT_DESCRIPTORS)
        else:
            spec = dict.fromkeys(columns, 1.0)
        if not spec:
            raise ValueError("DescriptorGP needs at least one descriptor")
        bad = [k for k, v in spec.items() if not (np.isfinite(v) and v > 0)]
        if bad:
            raise ValueError(f"descriptor scales must be positive numbers: {bad}")
        return {str(k): float(v) for k, v in spec.items()}

    def _design(self, X: Any) -> np.ndarray:
        return self._design_and_prior(X)[0]

    def _design_and_prior(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        arr, _ = validate_features(self, X, reset=False)
        return self._design_raw(arr[:, self.descriptor_index_]), self._prior_z(arr)

    def _design_raw(self, raw: np.ndarray) -> np.ndarray:
        """Scaled, centred descriptors (NaN filled) and the share missing per row."""
        missing = np.isnan(raw)
        filled = np.where(missing, self.fill_values_, raw)
        return np.hstack([(filled - self.center_) / self.scales_,
                          missing.mean(axis=1, keepdims=True)])

    def fit(self, X: Any, y: Any) -> DescriptorGP:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import (
            ConstantKernel,
            DotProduct,
            Matern,
            WhiteKernel,
        )

        arr, _ = validate_features(self, X, reset=True)
        named = hasattr(self, "feature_names_in_")
        columns = ([str(c) for c in self.feature_names_in_] if named
                   else [f"x{i}" for i in range(arr.shape[1])])
        scales = self._descriptor_scales(columns, named)
        absent = [c for c in scales if c not in columns]
        if absent:
            where = "the features" if named else f"the array's columns {columns[:5]}..."
            raise ValueError(f"DescriptorGP: descriptor column(s) {absent} not in {where}")
        y_arr = target_array(self, y, len(arr))
        bad = np.flatnonzero(np.isnan(y_arr))
        if bad.size:
            raise ValueError(f"DescriptorGP needs finite target values; NaN at row(s) "
                             f"{bad[:10].tolist()}")
        self.descriptor_names_ = list(scales)
        self.descriptor_index_ = np.array([columns.index(c) for c in self.descriptor_names_])
        self.scales_ = np.array([scales[c] for c in self.descriptor_names_])
        raw = arr[:, self.descriptor_index_]
        # a descriptor missing on every training row (a few records of Li-free films, say)
        # is filled with 0 and enters through the missing share only
        seen = np.isfinite(raw).any(axis=0)
        med = np.zeros(raw.shape[1])
        if seen.any():
            med[seen] = np.nanmedian(raw[:, seen], axis=0)
        self.fill_values_ = np.where(np.isfinite(med), med, 0.0)
        self.center_ = np.where(np.isnan(raw), self.fill_values_, raw).mean(axis=0)
        Z = self._design_raw(raw)
        z_arr = self._to_z(y_arr)
        if self.prior is not None:
            if str(self.prior) not in columns:
                raise ValueError(f"DescriptorGP: prior column {self.prior!r} is not among the "
                                 "features")
            self.prior_index_ = columns.index(str(self.prior))
            self.prior_fill_ = float(z_arr.mean())
            z_arr = z_arr - self._prior_z(arr)
        self.y_mean_ = float(z_arr.mean())
        self.y_scale_ = float(z_arr.std()) or 1.0
        dims = Z.shape[1]
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
            length_scale=np.ones(dims), length_scale_bounds=(1e-1, 1e2), nu=self.nu)
        if self.linear_trend:
            kernel = kernel + ConstantKernel(0.1, (1e-3, 1e1)) * DotProduct(1.0, (1e-2, 1e2))
        kernel = kernel + WhiteKernel(1e-2, (1e-6, 1.0))
        gp = GaussianProcessRegressor(kernel, normalize_y=False,
                                      n_restarts_optimizer=int(self.n_restarts),
                                      random_state=int(self.random_state))
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(Z, (z_arr - self.y_mean_) / self.y_scale_)
        self.gp_ = gp
        self.noise_var_ = float(gp.kernel_.k2.noise_level) * self.y_scale_ ** 2
        self.n_train_ = len(y_arr)
        self.interval_scale_ = 1.0
        return self

    def _latent(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and latent std of the modelled value ``z`` (target units when the
        target is unbounded)."""
        check_is_fitted(self, "gp_")
        Z, prior_z = self._design_and_prior(X)
        with threadpool_limits(1):
            mean, std = self.gp_.predict(Z, return_std=True)
        # predict's std includes the white-noise term; the latent std excludes it
        white = float(self.gp_.kernel_.k2.noise_level)
        latent = np.sqrt(np.maximum(std ** 2 - white, 0.0))
        return prior_z + self.y_mean_ + self.y_scale_ * mean, self.y_scale_ * latent

    def predict(self, X: Any) -> np.ndarray:
        """Posterior mean (median for a bounded target), model space."""
        return self._from_z(self._latent(X)[0])

    def predict_dist(self, X: Any) -> pd.DataFrame:
        """``mean``, ``std`` (latent and noise), ``epistemic_std`` (latent), ``noise_std`` and
        68 / 95 % bounds, model space. For a bounded target the bounds are the transformed
        quantiles (inside the range) and the stds are delta-method stds."""
        mean_z, latent_z = self._latent(X)
        scale = float(self.interval_scale_)
        noise_z = np.full_like(mean_z, np.sqrt(self.noise_var_))
        total_z = scale * np.sqrt(latent_z ** 2 + noise_z ** 2)
        slope = self._slope(mean_z)
        index = X.index if isinstance(X, pd.DataFrame) else None
        out = gaussian_frame(self._from_z(mean_z), total_z * slope, index=index)
        for col, k in (("lo95", -Z95), ("lo68", -Z68), ("hi68", Z68), ("hi95", Z95)):
            out[col] = self._from_z(mean_z + k * total_z)
        out.insert(2, "epistemic_std", latent_z * slope)
        out.insert(3, "noise_std", noise_z * slope)
        return out

    def predict_members(self, X: Any) -> np.ndarray:
        """``(n_members, n_rows)`` draws from each row's marginal latent posterior."""
        mean, latent = self._latent(X)
        rng = np.random.default_rng(self.random_state)
        z = rng.standard_normal((int(self.n_members), len(mean)))
        return self._from_z(mean[None, :] + float(self.interval_scale_) * latent[None, :] * z)

    def condition(self, X: Any, y: Any) -> DescriptorGP:
        """A copy whose posterior also conditions on ``(X, y)``, with the fitted kernel kept
        (no re-optimisation). With ``y`` the current posterior mean (a "kriging believer"
        fantasy) the mean stays where it is and the std shrinks around ``X``: how a batch picks
        its next recipe knowing the earlier picks will be measured."""
        import copy

        from sklearn.gaussian_process import GaussianProcessRegressor

        check_is_fitted(self, "gp_")
        Z_new, prior_z = self._design_and_prior(X)
        y_arr = (self._to_z(np.asarray(y, dtype=float).ravel()) - prior_z - self.y_mean_) \
            / self.y_scale_
        Z = np.vstack([self.gp_.X_train_, Z_new])
        targets = np.concatenate([np.asarray(self.gp_.y_train_, dtype=float).ravel(), y_arr])
        gp = GaussianProcessRegressor(self.gp_.kernel_, optimizer=None, normalize_y=False)
        with threadpool_limits(1):
            gp.fit(Z, targets)
        new = copy.copy(self)
        new.gp_ = gp
        return new

    def loo_residuals(self) -> np.ndarray:
        """Leave-one-out residuals ``y_i - mean_{-i}`` of the training rows in the modelled
        scale (logit share for a bounded target), in closed form with the fitted kernel
        (Rasmussen & Williams, Gaussian Processes for Machine Learning (2006), eq. 5.12):
        ``alpha_i / [K^-1]_ii``."""
        from scipy.linalg import cho_solve

        check_is_fitted(self, "gp_")
        L = self.gp_.L_
        with threadpool_limits(1):
            k_inv = cho_solve((L, True), np.eye(L.shape[0]))
        alpha = np.asarray(self.gp_.alpha_, dtype=float).ravel()
        return self.y_scale_ * alpha / np.diag(k_inv)

    def calibrate_intervals(self, factor: float) -> DescriptorGP:
        """Multiply the predictive std (and the spread of the draws) by ``factor`` from now on
        (sets ``interval_scale_``). Returns ``self``."""
        check_is_fitted(self, "gp_")
        self.interval_scale_ = _check_scale(factor)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The descriptor columns the GP uses, then the share of them missing in a row."""
        check_is_fitted(self, "descriptor_names_")
        names = list(self.descriptor_names_) + ["descriptors_missing_share"]
        return np.asarray(names, dtype=object)
