"""Hyperparameter search with Optuna, scored by grouped cross-validation.

The objective is the pooled out-of-fold RMSE of grouped CV (the same folds as
:func:`coatml.models.validation.group_splits`). After each fold the running RMSE is reported to
Optuna so a :class:`optuna.pruners.MedianPruner` can stop trials that are already worse than
the median of earlier trials at the same fold. Sampling is seeded (TPE). The study lives in the
RDB storage the caller passes (the workspace's SQLAlchemy URL, e.g. ``sqlite:///ws/coatml.db`` or
``postgresql://...``) under a name made of the target and a hash of the data, with
``load_if_exists=True``: calling :func:`tune` again on the same data continues the same study
and its trials accumulate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from coatml.models.config import SearchSpace, TuningConfig
from coatml.models.validation import group_splits


@dataclass(frozen=True)
class TuningProgress:
    """Passed to the progress callback after each finished trial of this call."""

    trial_number: int
    state: str
    value: float | None
    best_value: float | None
    done: int
    total: int


@dataclass(frozen=True, eq=False)
class TuningResult:
    """Best parameters found (merged into the base estimator's by the caller with
    ``set_params``), their CV RMSE, the study name and the Optuna study itself."""

    best_params: dict[str, Any]
    best_rmse: float
    study_name: str
    n_trials_total: int
    study: Any


def dataset_hash(X: pd.DataFrame, y: Any, groups: Any) -> str:
    """SHA-256 (hex) of features, column names, target and groups: the study's data identity."""
    h = hashlib.sha256()
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    h.update("\x1f".join(map(str, frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False).to_numpy()
             .tobytes())
    h.update(np.ascontiguousarray(np.asarray(y, dtype=float)).tobytes())
    h.update("\x1f".join(map(str, np.asarray(groups, dtype=object))).encode())
    return h.hexdigest()


def study_name_for(target: str, data_hash: str) -> str:
    """``coatml-<target>-<first 12 hex of the data hash>``."""
    return f"coatml-{target}-{data_hash[:12]}"


def suggest(trial: Any, space: tuple[SearchSpace, ...]) -> dict[str, Any]:
    """Draw one value per search-space entry from an Optuna trial."""
    params: dict[str, Any] = {}
    for s in space:
        if s.type == "int":
            params[s.name] = trial.suggest_int(s.name, int(s.low), int(s.high), log=s.log)
        else:
            params[s.name] = trial.suggest_float(s.name, float(s.low), float(s.high), log=s.log)
    return params


def tune(
    estimator: Any,
    X: pd.DataFrame,
    y: Any,
    groups: Any,
    *,
    storage: str,
    target: str,
    config: TuningConfig | None = None,
    n_trials: int | None = None,
    n_splits: int | None = None,
    data_hash: str | None = None,
    progress: Callable[[TuningProgress], None] | None = None,
) -> TuningResult:
    """Search ``config.space`` for the ``estimator`` hyperparameters with the lowest
    grouped-CV RMSE; runs ``n_trials`` (default ``config.n_trials``) more trials within
    ``config.timeout_s`` and returns the best over the whole (possibly resumed) study.

    ``estimator`` is cloned and ``set_params``'d per trial; ``y`` is in model space and rows
    with NaN ``y`` are left out; ``groups`` has one label per row. ``storage`` is an SQLAlchemy
    URL. ``progress`` is called after each trial with a :class:`TuningProgress`.
    """
    import optuna

    cfg = config or TuningConfig()
    if not cfg.space:
        raise ValueError("the tuning search space is empty; add [tuning.space.<param>] entries")
    budget = cfg.n_trials if n_trials is None else int(n_trials)
    frame = X.reset_index(drop=True) if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    y_arr = np.asarray(y, dtype=float).reshape(-1)
    g = np.asarray(groups, dtype=object)
    keep = np.isfinite(y_arr)
    frame, y_arr, g = frame.loc[keep].reset_index(drop=True), y_arr[keep], g[keep]
    splits = group_splits(g, n_splits)
    name = study_name_for(target, data_hash or dataset_hash(frame, y_arr, g))

    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="minimize",
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=cfg.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=cfg.pruner_startup_trials,
                                           n_warmup_steps=cfg.pruner_warmup_folds),
    )

    def objective(trial: Any) -> float:
        params = suggest(trial, cfg.space)
        sq_err: list[np.ndarray] = []
        for step, (tr, te) in enumerate(splits):
            model = clone(estimator).set_params(**params)
            model.fit(frame.iloc[tr], y_arr[tr])
            sq_err.append((np.asarray(model.predict(frame.iloc[te])) - y_arr[te]) ** 2)
            running = float(np.sqrt(np.mean(np.concatenate(sq_err))))
            trial.report(running, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at fold {step} with running RMSE {running:.4g}")
        return float(np.sqrt(np.mean(np.concatenate(sq_err))))

    done = 0

    def on_trial(study_: Any, trial: Any) -> None:
        nonlocal done
        done += 1
        if progress is None:
            return
        try:
            best = float(study_.best_value)
        except ValueError:  # no completed trial yet
            best = None
        progress(TuningProgress(trial_number=trial.number, state=trial.state.name,
                                value=trial.value, best_value=best, done=done, total=budget))

    study.optimize(objective, n_trials=budget, timeout=cfg.timeout_s, callbacks=[on_trial])
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise RuntimeError(f"study {name}: no trial completed (all pruned or failed)")
    return TuningResult(best_params=dict(study.best_params), best_rmse=float(study.best_value),
                        study_name=name, n_trials_total=len(study.trials), study=study)
