"""Train a target end to end: featurize the workspace's records, choose the model variant by
grouped cross-validation, tune with Optuna, fit, log to MLflow, register, and promote the new
version to ``champion`` only if it beats the current one on the same validation.

This is what ``coatml train`` runs. ``fast=True`` (``coatml train --fast``, for the active-
learning loop) skips the variant comparison, the tuning and the learning curve and reuses the
champion's hyper-parameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from coatml.exceptions import InsufficientDataError
from coatml.models.targets import MIN_RECORDS, get_target

if TYPE_CHECKING:
    from coatml.models.validation import CVReport, VariantChoice
    from coatml.tracking.registry import PromotionResult
    from coatml.tracking.runs import Tracker, TrainingRun
    from coatml.workspace import Workspace

#: Column the ensemble reads as XGBoost ``base_margin`` in the ``physics prior`` variant.
PRIOR_SOURCE = {
    # film resistance t / sigma (log10 ohm cm2) from the sourced thin-film conductivities
    "interface_resistance_ohm_cm2": "physics__log10_film_resistance_ohm_cm2",
}
#: A cross-validation fold may train on fewer records than a whole training needs
#: (MIN_RECORDS is enforced on the whole set); bootstrap members need a handful.
FOLD_MIN_RECORDS = 4
#: Monotone constraints where the physics is certain, per target (feature -> sign):
#: the same cell retains less capacity after more cycles.
CERTAIN_MONOTONE = {
    "capacity_retention_pct": {"test__cycle_number": -1},
}


@dataclass(frozen=True)
class TrainOptions:
    """What to train and how. ``trials``: Optuna trials (None: the config's; 0: no tuning);
    ``learning_curve_fractions``: training-fold fractions of the learning curve (None: the
    config's)."""

    target: str
    trials: int | None = None
    fast: bool = False
    config_path: str | None = None
    feature_set: str | None = None
    learning_curve: bool = True
    learning_curve_fractions: tuple[float, ...] | None = None


@dataclass
class TrainOutcome:
    """Everything one training produced (the CLI prints it, tests inspect it)."""

    target: str
    n_records: int
    n_with_target: int
    report: CVReport
    params: dict[str, Any]
    variant: str
    variant_choice: VariantChoice | None
    tuning_trials: int
    tuning_best_rmse: float | None
    run: TrainingRun
    promotion: PromotionResult
    learning_curve: pd.DataFrame | None
    seconds: dict[str, float] = field(default_factory=dict)


ProgressFn = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    return None


def train_target(ws: Workspace, options: TrainOptions, tracker: Tracker | None = None,
                 progress: ProgressFn | None = None) -> TrainOutcome:
    """Train, log, register and maybe promote a model of ``options.target``."""
    from coatml.features.pipeline import RecordFeaturizer
    from coatml.models.config import load_model_config
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
    from coatml.tracking.registry import champion_params, register_and_maybe_promote
    from coatml.tracking.runs import gain_importance, log_training, oof_frame

    progress = progress or _noop
    seconds: dict[str, float] = {}
    spec = get_target(options.target)
    tracker = tracker or tracker_for(ws)
    config = load_model_config(options.config_path)
    feature_set = options.feature_set or ws.config.feature_set

    t0 = time.perf_counter()
    with ws.store() as store:
        records = store.to_frame()
    values = pd.to_numeric(records[options.target], errors="coerce")
    rows = records.loc[values.notna()]
    if len(rows) < MIN_RECORDS:
        by_kind = records.groupby("data_kind")[options.target].count().to_dict()
        raise InsufficientDataError(
            f"{options.target}: {len(rows)} of {len(records)} records carry a value "
            f"(by data_kind: {by_kind}); at least {MIN_RECORDS} are needed for a meaningful "
            f"model. Add measured records with a '{options.target}' column "
            "(`coatml data add results.csv`).")
    progress("featurize", 0, 1)
    featurizer = RecordFeaturizer(feature_set=feature_set).fit(records)
    X = featurizer.transform(rows)
    y = spec.forward(rows[options.target].to_numpy(dtype=float))
    groups = make_groups(rows, by=config.groups)
    n_splits = config.n_splits or None
    data_hash = _records_hash(rows)
    seconds["featurize"] = time.perf_counter() - t0
    progress("featurize", 1, 1)

    base = config.estimator_params()
    base["min_records"] = FOLD_MIN_RECORDS
    variant_name = "absolute"
    choice = None
    if options.fast:
        champion = champion_params(tracker, options.target)
        if champion:
            base.update({k: v for k, v in champion.items() if k in base})
            variant_name = "champion hyper-parameters (fast)"
    else:
        t0 = time.perf_counter()
        variants = [Variant("absolute", _factory(base))]
        prior_col = PRIOR_SOURCE.get(options.target)
        if prior_col and prior_col in X.columns and X[prior_col].notna().any():
            # the prior column is itself a feature: the saved model finds it at prediction
            variants.append(Variant("physics prior", _factory({**base, "prior": prior_col})))
        mono = {f: s for f, s in CERTAIN_MONOTONE.get(options.target, {}).items()
                if f in X.columns and X[f].notna().any()}
        if mono:
            variants.append(Variant("monotone", _factory({**base,
                                                          "monotone_constraints": mono})))
        if len(variants) > 1:
            progress("compare variants", 0, len(variants))
            choice = compare_variants(variants, X, y, groups, rows, n_splits=n_splits,
                                      target=options.target)
            variant_name = choice.choice
            if variant_name == "physics prior":
                base["prior"] = prior_col
            elif variant_name == "monotone":
                base["monotone_constraints"] = mono
            progress("compare variants", len(variants), len(variants))
        seconds["variants"] = time.perf_counter() - t0

    tuning_trials = 0
    tuning_best = None
    n_trials = 0 if options.fast else (options.trials if options.trials is not None
                                        else config.tuning.n_trials)
    if n_trials > 0:
        t0 = time.perf_counter()

        def on_trial(p: Any) -> None:
            progress("tune", int(p.done), int(p.total))

        result = tune(EnsembleRegressor(**base), X, y, groups.to_numpy(),
                      storage=ws.database_url, target=options.target, config=config.tuning,
                      n_trials=n_trials, n_splits=n_splits,
                      data_hash=tuning_data_hash(X, y, groups.to_numpy()), progress=on_trial)
        base.update(result.best_params)
        tuning_trials = result.n_trials_total
        tuning_best = float(result.best_rmse)
        seconds["tune"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    progress("cross-validate", 0, 1)
    report = cross_validate_model(_factory(base), X, y, config.groups, rows,
                                  n_splits=n_splits, target=options.target,
                                  random_state=config.random_state)
    progress("cross-validate", 1, 1)
    seconds["cross-validate"] = time.perf_counter() - t0
    curve = None
    if options.learning_curve and not options.fast:
        t0 = time.perf_counter()
        progress("learning curve", 0, 1)
        curve = learning_curve(_factory(base), X, y, groups.to_numpy(), rows,
                               fractions=(options.learning_curve_fractions
                                          or config.learning_curve_fractions),
                               n_splits=n_splits,
                               random_state=config.random_state)
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

    t0 = time.perf_counter()
    progress("log", 0, 1)
    oof = report.oof
    oof_table = None
    if {"y", "model", "model_std"} <= set(oof.columns):
        oof_table = oof_frame(oof["y"], oof["model"], oof["model_std"])
    run = log_training(
        tracker, target=options.target, model=model, featurizer=featurizer, report=report,
        dataset_hash=data_hash, n_rows=len(rows), input_example=_input_example(rows),
        oof=oof_table, random_seed=int(final_params.get("random_state", 0)),
        model_params=final_params, importance=gain_importance(model),
        tags={"coatml.variant": variant_name, "coatml.fast": str(options.fast).lower(),
              "coatml.tuning_trials": str(tuning_trials), **_literature_tags(rows)},
        run_name=f"train-{options.target}")
    _log_extra(tracker, run.run_id, choice, curve)

    def reevaluate(champion: Any) -> float:
        params = {k: v for k, v in dict(champion).items() if k in base}
        rep = cross_validate_model(_factory({**base, **params}), X, y, groups.to_numpy(), rows,
                                   n_splits=n_splits, target=options.target, baselines=False,
                                   random_state=config.random_state)
        return float(rep.metrics["model"]["rmse"])

    promotion = register_and_maybe_promote(tracker, run, reevaluate=reevaluate)
    progress("log", 1, 1)
    seconds["log + register"] = time.perf_counter() - t0
    return TrainOutcome(
        target=options.target, n_records=len(records), n_with_target=len(rows), report=report,
        params=final_params, variant=variant_name, variant_choice=choice,
        tuning_trials=tuning_trials, tuning_best_rmse=tuning_best, run=run,
        promotion=promotion, learning_curve=curve, seconds=seconds)


def tracker_for(ws: Workspace) -> Tracker:
    """The workspace's MLflow tracker: embedded SQLite + artifacts in the workspace by default,
    a remote server when ``[tracking] uri`` / ``COATML_TRACKING_URI`` is an http(s) URL."""
    from coatml.tracking.runs import Tracker

    uri = ws.tracking_uri
    if uri.startswith(("http://", "https://")):
        return Tracker.remote(uri, experiment_name=ws.config.experiment)
    artifacts = ws.artifacts_dir
    artifacts.mkdir(parents=True, exist_ok=True)
    return Tracker(tracking_uri=uri, experiment_name=ws.config.experiment,
                   artifact_location=artifacts.as_uri())


def _factory(params: dict[str, Any]) -> Callable[[], Any]:
    from coatml.models.estimators import EnsembleRegressor

    frozen = dict(params)
    return lambda: EnsembleRegressor(**frozen)


def _literature_tags(rows: pd.DataFrame) -> dict[str, str]:
    """The bundled literature dataset's version and content hash, and how many of the training
    rows are literature records (tags of every training run)."""
    from coatml.data.literature import literature_version
    from coatml.tracking.runs import TAG_LITERATURE_HASH, TAG_LITERATURE_VERSION

    version = literature_version(strict=False)
    n_lit = int((rows["data_kind"] == "literature").sum()) if "data_kind" in rows else 0
    return {TAG_LITERATURE_VERSION: version.version, TAG_LITERATURE_HASH: version.content_hash,
            "coatml.literature_rows": str(n_lit)}


def _records_hash(rows: pd.DataFrame) -> str:
    from coatml.data.store import RecordStore

    return RecordStore.dataset_hash_of(rows)


def _input_example(rows: pd.DataFrame) -> pd.DataFrame:
    cols = ["electrode", "electrolyte", "coating", "coated_component", "method", "precursors",
            "temperature_c", "gpc_angstrom", "cycles", "thickness_nm", "cycle_number", "c_rate",
            "test_temperature_c", "current_density_ma_cm2"]
    example = rows[cols].head(3).copy()
    for col in cols:
        if example[col].dtype == object:
            example[col] = example[col].astype(object).where(example[col].notna(), "")
    return example.reset_index(drop=True)


def _log_extra(tracker: Tracker, run_id: str, choice: VariantChoice | None,
               curve: pd.DataFrame | None) -> None:
    """Variant comparison and learning curve as run artifacts (markdown + CSV + PNG)."""
    import tempfile

    client = tracker.client()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if choice is not None:
            (folder / "variant_comparison.md").write_text(
                f"Chosen: **{choice.choice}** — {choice.reason}\n\n"
                + choice.table.to_markdown() + "\n", encoding="utf-8")
            client.log_artifact(run_id, str(folder / "variant_comparison.md"), "validation")
        if curve is not None and not curve.empty:
            curve.to_csv(folder / "learning_curve.csv", index=False)
            client.log_artifact(run_id, str(folder / "learning_curve.csv"), "validation")
            png = learning_curve_plot(curve, folder / "learning_curve.png")
            if png is not None:
                client.log_artifact(run_id, str(png), "plots")


def learning_curve_plot(curve: pd.DataFrame, path: Path) -> Path | None:
    """Out-of-fold RMSE against the number of training records (model and baselines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_col = next((c for c in ("n_train", "n_train_mean", "n_records") if c in curve.columns),
                 None)
    y_cols = [c for c in curve.columns if c.endswith("rmse")]
    if x_col is None or not y_cols:
        return None
    fig, ax = plt.subplots(figsize=(5.0, 3.6), dpi=150)
    for col in y_cols:
        ax.plot(curve[x_col], curve[col], marker="o", label=col.replace("_", " "))
    ax.set_xlabel("training records per fold")
    ax.set_ylabel("out-of-fold RMSE (model space)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
