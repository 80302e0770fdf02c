"""Train a target end to end: featurize the workspace's records, choose the model variant by
grouped cross-validation, tune with Optuna, fit, log to MLflow, register, and promote the new
version to ``champion`` only if it beats the current one on the same validation.

This is what ``coatml train`` runs. ``fast=True`` (``coatml train --fast``, for the active-
learning loop) skips the variant comparison, the tuning and the learning curve and reuses the
champion's hyper-parameters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from coatml.models.training import ProgressFn

if TYPE_CHECKING:
    from coatml.models.validation import CVReport, VariantChoice
    from coatml.tracking.registry import PromotionResult
    from coatml.tracking.runs import Tracker, TrainingRun
    from coatml.workspace import Workspace

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


def train_target(ws: Workspace, options: TrainOptions, tracker: Tracker | None = None,
                 progress: ProgressFn | None = None) -> TrainOutcome:
    """Train (:func:`coatml.models.training.fit_target`), log, register and maybe promote a
    model of ``options.target``."""
    from coatml.models.config import load_model_config
    from coatml.models.training import fit_target
    from coatml.tracking.registry import champion_params, register_and_maybe_promote
    from coatml.tracking.runs import gain_importance, log_training, oof_frame

    tracker = tracker or tracker_for(ws)
    with ws.store() as store:
        records = store.to_frame()
    fitted = fit_target(
        records, options.target, feature_set=options.feature_set or ws.config.feature_set,
        config=load_model_config(options.config_path), trials=options.trials,
        fast=options.fast,
        start_params=champion_params(tracker, options.target) if options.fast else None,
        learning_curve_fractions=options.learning_curve_fractions,
        with_learning_curve=options.learning_curve, storage=ws.database_url,
        progress=progress)
    seconds = fitted.seconds
    rows = fitted.rows
    t0 = time.perf_counter()
    if progress is not None:
        progress("log", 0, 1)
    oof = fitted.report.oof
    oof_table = None
    if {"y", "model", "model_std"} <= set(oof.columns):
        oof_table = oof_frame(oof["y"], oof["model"], oof["model_std"])
    run = log_training(
        tracker, target=options.target, model=fitted.model, featurizer=fitted.featurizer,
        report=fitted.report, dataset_hash=_records_hash(rows), n_rows=len(rows),
        input_example=_input_example(rows), oof=oof_table,
        random_seed=int(fitted.params.get("random_state", 0)), model_params=fitted.params,
        importance=gain_importance(fitted.model),
        tags={"coatml.variant": fitted.variant, "coatml.fast": str(options.fast).lower(),
              "coatml.tuning_trials": str(fitted.tuning_trials), **_literature_tags(rows)},
        run_name=f"train-{options.target}")
    _log_extra(tracker, run.run_id, fitted.variant_choice, fitted.learning_curve)
    promotion = register_and_maybe_promote(tracker, run, reevaluate=fitted.reevaluate)
    if progress is not None:
        progress("log", 1, 1)
    seconds["log + register"] = time.perf_counter() - t0
    return TrainOutcome(
        target=options.target, n_records=len(records), n_with_target=len(rows),
        report=fitted.report, params=fitted.params, variant=fitted.variant,
        variant_choice=fitted.variant_choice, tuning_trials=fitted.tuning_trials,
        tuning_best_rmse=fitted.tuning_best_rmse, run=run, promotion=promotion,
        learning_curve=fitted.learning_curve, seconds=seconds)


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
