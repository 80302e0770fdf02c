"""Train one target's model from records: featurize, choose the variant by grouped
cross-validation, tune with Optuna, cross-validate, learning curve, fit and calibrate.

This is the modelling half of ``coatml train``; :mod:`coatml.tracking.training` adds the
workspace (records in, MLflow run, registration and promotion out) and nothing else.
``fast=True`` skips the variant comparison, the tuning and the learning curve and starts from
``start_params`` (the champion's hyper-parameters in ``coatml train --fast``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from coatml.models.targets import get_target, require_records

__all__ = ["CERTAIN_MONOTONE", "FOLD_MIN_RECORDS", "PRIOR_SOURCE", "FittedTarget",
           "ProgressFn", "fit_target"]

#: Column the ensemble reads as XGBoost ``base_margin`` in the ``physics prior`` variant: the
#: prior mean of the target (model space) of :mod:`coatml.features.prior`, which the feature
#: sets' ``prior`` block provides. The prior variant is the reference the others must beat.
PRIOR_SOURCE = {
    "capacity_retention_pct": "prior__capacity_retention_pct",
    "interface_resistance_ohm_cm2": "prior__interface_resistance_ohm_cm2",
}
#: A cross-validation fold may train on fewer records than a whole training needs
#: (MIN_RECORDS is enforced on the whole set); bootstrap members need a handful.
FOLD_MIN_RECORDS = 4
#: Monotone constraints where the physics is certain, per target (feature -> sign):
#: the same cell retains less capacity after more cycles.
CERTAIN_MONOTONE = {
    "capacity_retention_pct": {"test__cycle_number": -1},
}

ProgressFn = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class FittedTarget:
    """What :func:`fit_target` produced: the calibrated model and its featurizer, the grouped
    CV report, the chosen parameters and variant, the tuning summary, the learning curve,
    the training rows, and seconds per stage. ``reevaluate(params)`` cross-validates other
    hyper-parameters on the same rows and folds (RMSE; the registry's champion check)."""

    model: Any
    featurizer: Any
    report: Any
    params: dict[str, Any]
    variant: str
    variant_choice: Any | None
    tuning_trials: int
    tuning_best_rmse: float | None
    learning_curve: pd.DataFrame | None
    rows: pd.DataFrame
    reevaluate: Callable[[Mapping[str, Any]], float]
    seconds: dict[str, float] = field(default_factory=dict)


def _factory(params: dict[str, Any]) -> Callable[[], Any]:
    from coatml.models.estimators import EnsembleRegressor

    frozen = dict(params)
    return lambda: EnsembleRegressor(**frozen)


def fit_target(records: pd.DataFrame, target: str, *, feature_set: str, config: Any,
               storage: str, trials: int | None = None, fast: bool = False,
               start_params: Mapping[str, Any] | None = None,
               learning_curve_fractions: tuple[float, ...] | None = None,
               with_learning_curve: bool = True,
               progress: ProgressFn | None = None) -> FittedTarget:
    """Train ``target`` on the rows of ``records`` that carry it (see the module docstring).

    ``config``: a :class:`~coatml.models.config.ModelConfig`; ``trials``: Optuna trials
    (``None``: the config's; 0: none); ``storage``: the Optuna study's database URL."""
    from coatml.features.pipeline import RecordFeaturizer
    from coatml.models.estimators import EnsembleRegressor
    from coatml.models.tuning import dataset_hash as tuning_data_hash
    from coatml.models.tuning import tune
    from coatml.models.validation import (
        Variant,
        compare_variants,
        cross_validate_model,
        learning_curve,
        make_groups,
    )

    progress = progress or _noop
    seconds: dict[str, float] = {}
    spec = get_target(target)
    t0 = time.perf_counter()
    rows = require_records(records, target)
    progress("featurize", 0, 1)
    featurizer = RecordFeaturizer(feature_set=feature_set).fit(records)
    X = featurizer.transform(rows)
    y = spec.forward(rows[target].to_numpy(dtype=float))
    groups = make_groups(rows, by=config.groups)
    n_splits = config.n_splits or None
    seconds["featurize"] = time.perf_counter() - t0
    progress("featurize", 1, 1)

    base = config.estimator_params()
    base["min_records"] = FOLD_MIN_RECORDS
    prior_col = PRIOR_SOURCE.get(target)
    has_prior = bool(prior_col and prior_col in X.columns and X[prior_col].notna().any())
    variant_name = "physics prior" if has_prior else "absolute"
    if has_prior:
        base["prior"] = prior_col
    choice = None
    if fast:
        if start_params:
            base.update({k: v for k, v in start_params.items() if k in base})
            variant_name = "champion hyper-parameters (fast)"
    else:
        t0 = time.perf_counter()
        plain = {k: v for k, v in base.items() if k != "prior"}
        # the models start from the prior: it is the reference, the others must beat it
        variants = ([Variant("physics prior", _factory({**plain, "prior": prior_col}))]
                    if has_prior else [])
        variants.append(Variant("absolute", _factory(plain)))
        mono = {f: s for f, s in CERTAIN_MONOTONE.get(target, {}).items()
                if f in X.columns and X[f].notna().any()}
        if mono:
            variants.append(Variant("monotone", _factory({**base,
                                                          "monotone_constraints": mono})))
        if len(variants) > 1:
            progress("compare variants", 0, len(variants))
            choice = compare_variants(variants, X, y, groups, rows, n_splits=n_splits,
                                      target=target)
            variant_name = choice.choice
            if variant_name == "absolute":
                base.pop("prior", None)
            elif variant_name == "monotone":
                base["monotone_constraints"] = mono
            progress("compare variants", len(variants), len(variants))
        seconds["variants"] = time.perf_counter() - t0

    tuning_trials = 0
    tuning_best = None
    n_trials = 0 if fast else (trials if trials is not None else config.tuning.n_trials)
    if n_trials > 0:
        t0 = time.perf_counter()

        def on_trial(p: Any) -> None:
            progress("tune", int(p.done), int(p.total))

        result = tune(EnsembleRegressor(**base), X, y, groups.to_numpy(),
                      storage=storage, target=target, config=config.tuning,
                      n_trials=n_trials, n_splits=n_splits,
                      data_hash=tuning_data_hash(X, y, groups.to_numpy()), progress=on_trial)
        base.update(result.best_params)
        tuning_trials = result.n_trials_total
        tuning_best = float(result.best_rmse)
        seconds["tune"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    progress("cross-validate", 0, 1)
    report = cross_validate_model(_factory(base), X, y, config.groups, rows,
                                  n_splits=n_splits, target=target,
                                  random_state=config.random_state)
    progress("cross-validate", 1, 1)
    seconds["cross-validate"] = time.perf_counter() - t0
    curve = None
    if with_learning_curve and not fast:
        t0 = time.perf_counter()
        progress("learning curve", 0, 1)
        curve = learning_curve(_factory(base), X, y, groups.to_numpy(), rows,
                               fractions=(learning_curve_fractions
                                          or config.learning_curve_fractions),
                               n_splits=n_splits, random_state=config.random_state)
        progress("learning curve", 1, 1)
        seconds["learning curve"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    progress("fit", 0, 1)
    final_params = dict(base)
    model = EnsembleRegressor(**final_params).fit(X, y)
    scale = report.interval_scale_factor
    if np.isfinite(scale) and scale > 0:
        model.calibrate_intervals(scale)  # a fitted attribute, saved with the model
    progress("fit", 1, 1)
    seconds["fit"] = time.perf_counter() - t0

    def reevaluate(params: Mapping[str, Any]) -> float:
        known = {k: v for k, v in dict(params).items() if k in base}
        rep = cross_validate_model(_factory({**base, **known}), X, y, groups.to_numpy(), rows,
                                   n_splits=n_splits, target=target, baselines=False,
                                   random_state=config.random_state)
        return float(rep.metrics["model"]["rmse"])

    return FittedTarget(model=model, featurizer=featurizer, report=report,
                        params=final_params, variant=variant_name, variant_choice=choice,
                        tuning_trials=tuning_trials, tuning_best_rmse=tuning_best,
                        learning_curve=curve, rows=rows, reevaluate=reevaluate,
                        seconds=seconds)
