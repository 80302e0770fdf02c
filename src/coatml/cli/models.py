"""`coatml train`, `coatml models list|show|promote`, `coatml predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coatml.cli import _common
from coatml.cli._common import console, fail, workspace_option

TARGET_CHOICES = ("capacity_retention_pct", "interface_resistance_ohm_cm2")
models_app = typer.Typer(help="List, inspect and promote registered models.",
                         no_args_is_help=True)


def train(
    target: Annotated[list[str] | None, typer.Option(
        help="Target(s) to train (default: both).")] = None,
    trials: Annotated[int | None, typer.Option(
        help="Optuna trials per target (default: models/default.toml; 0: no tuning).")] = None,
    fast: Annotated[bool, typer.Option(
        help="No tuning or variant comparison; reuse the champion's hyper-parameters.")] = False,
    config: Annotated[Path | None, typer.Option(help="Model config TOML.")] = None,
    workspace: workspace_option = None,
) -> None:
    """Train, cross-validate (grouped), log to MLflow, register; promote only if better."""
    ws = _common.workspace(workspace)
    targets = target or list(TARGET_CHOICES)
    for name in targets:
        if name not in TARGET_CHOICES:
            fail(f"unknown target '{name}': choose from {', '.join(TARGET_CHOICES)}")
    run_training(ws, targets, trials=trials, fast=fast, config=config)


def run_training(ws, targets: list[str], trials: int | None = None, fast: bool = False,
                 config: Path | None = None, allow_insufficient: bool = False,
                 learning_curve_fractions: tuple[float, ...] | None = None) -> list:
    """Train each target with a progress display; print the CV report and promotion."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from coatml.exceptions import InsufficientDataError
    from coatml.tracking.training import TrainOptions, train_target

    _common.quiet_libraries()
    outcomes = []
    for name in targets:
        console.rule(f"[bold]train {name}")
        with Progress(TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int, bar=bar, tasks=tasks) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=max(total, 1))
                bar.update(tasks[stage], completed=done, total=max(total, 1))

            try:
                outcome = train_target(ws, TrainOptions(
                    target=name, trials=trials, fast=fast,
                    config_path=str(config) if config else None,
                    learning_curve_fractions=learning_curve_fractions), progress=progress)
            except InsufficientDataError as exc:
                if allow_insufficient:
                    console.print(f"[yellow]skipped:[/] {_common.esc(exc)}")
                    continue
                raise
        outcomes.append(outcome)
        print_outcome(outcome)
    return outcomes


def print_outcome(outcome) -> None:
    rep = outcome.report
    console.print(f"{outcome.n_with_target} of {outcome.n_records} records carry "
                  f"{outcome.target}; variant: [bold]{outcome.variant}[/]"
                  + (f" ({outcome.variant_choice.reason})" if outcome.variant_choice else ""))
    if outcome.tuning_trials:
        console.print(f"Optuna: {outcome.tuning_trials} trials in the study, best grouped-CV "
                      f"RMSE {outcome.tuning_best_rmse:.4g}")
    frame = rep.to_frame().reset_index(names="predictor")
    keep = [c for c in ("predictor", "mae", "rmse", "spearman_within_system", "coverage68",
                        "coverage95") if c in frame.columns]
    _common.print_frame(frame[keep], title=f"Grouped CV ({rep.scheme}): {rep.n_records} "
                        f"records, {rep.n_groups} groups, {rep.n_folds} folds "
                        f"(model space{'; log10' if 'resistance' in outcome.target else ''})")
    console.print(rep.summary(), highlight=False)
    promo = outcome.promotion
    colour = "green" if promo.promoted else "yellow"
    console.print(f"[{colour}]{_common.esc(promo.reason)}[/]", highlight=False)
    console.print(f"MLflow run {outcome.run.run_id} ("
                  + ", ".join(f"{k} {v:.1f} s" for k, v in outcome.seconds.items()) + ")")


@models_app.command("list")
def models_list(
    target: Annotated[str | None, typer.Option(help="Only this target.")] = None,
    workspace: workspace_option = None,
) -> None:
    """Registered versions with aliases, CV metrics and dataset hash."""
    from coatml.tracking.registry import list_models
    from coatml.tracking.training import tracker_for

    _common.quiet_libraries()
    frame = list_models(tracker_for(_common.workspace(workspace)), target)
    if frame.empty:
        console.print("No registered models yet: run `coatml train`.")
        return
    if "dataset_hash" in frame.columns:
        frame["dataset_hash"] = frame["dataset_hash"].astype(str).str[:12]
    cols = [c for c in ("name", "version", "aliases", "role", "cv_rmse", "cv_mae",
                        "cv_coverage68", "cv_coverage95", "dataset_hash", "created")
            if c in frame.columns]
    _common.print_frame(frame[cols], title="Registered models")


@models_app.command("show")
def models_show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@alias or NAME/version")],
    workspace: workspace_option = None,
) -> None:
    """Everything known about one model version."""
    from rich.pretty import Pretty

    from coatml.tracking.registry import show_model
    from coatml.tracking.training import tracker_for

    _common.quiet_libraries()
    console.print(Pretty(show_model(tracker_for(_common.workspace(workspace)), ref)))


@models_app.command("promote")
def models_promote(
    name: Annotated[str, typer.Argument(help="Registered model name, e.g. "
                                             "coatml-capacity_retention_pct")],
    version: Annotated[str, typer.Argument(help="Version to make champion")],
    workspace: workspace_option = None,
) -> None:
    """Make a version the champion by hand."""
    from coatml.tracking.registry import promote
    from coatml.tracking.training import tracker_for

    _common.quiet_libraries()
    result = promote(tracker_for(_common.workspace(workspace)), name, version)
    console.print(result.reason, markup=False, highlight=False)


def predict(
    file: Annotated[Path, typer.Argument(help="CSV of recipes in the record schema "
                                              "(targets may be empty).")],
    out: Annotated[Path | None, typer.Option(help="Output CSV (default: "
                                                  "outputs/<name>-predictions.csv)")] = None,
    workspace: workspace_option = None,
) -> None:
    """Predict both targets with the champion models: the median (pred_<target>), 68/95 %
    intervals and the std (for resistance in decades, with the log-normal mean labelled).

    The recipes are validated like ``coatml data add`` (units, numbers, ranges, formulas)
    before any model runs; a source column is not needed."""
    from coatml.data.validation import read_table_text, validate_prediction_input
    from coatml.exceptions import ModelNotFoundError
    from coatml.recommend.predict import predict_records
    from coatml.tracking.training import tracker_for

    _common.quiet_libraries()
    ws = _common.workspace(workspace)
    target_path = out or ws.outputs_dir / f"{file.stem}-predictions.csv"
    if target_path.is_dir() or not target_path.parent.is_dir():
        fail(f"--out {target_path}: name a file in an existing folder")
    raw, _ = read_table_text(file)
    table = validate_prediction_input(raw, str(file))
    for warning in table.warnings:
        _common.warn(f"{file}: {warning}")
    keep = [c for c in table.records.columns
            if c in raw.columns or c in ("coating", "thickness_nm")]
    tracker = tracker_for(ws)
    try:
        frame, missing = predict_records(table.records[keep], tracker, source=str(file))
    except ModelNotFoundError as exc:
        fail(f"{exc}:\n  " + "\n  ".join(_champion_problems(tracker)))
    for target, message in missing.items():
        _common.warn(f"{target}: {message}")
    frame.to_csv(target_path, index=False)
    from coatml.data.schema import TARGETS

    shown = [c for t in TARGETS for c in (f"pred_{t}", f"pred_{t}_lo68", f"pred_{t}_hi68")
             if c in frame.columns]
    names = [c for c in ("electrode", "electrolyte", "coating") if c in frame.columns]
    _common.print_frame(frame[[*names, *shown]].head(30), title="Predictions (first 30)")
    console.print(f"Wrote {len(frame)} predictions to {_common.esc(target_path)}",
                  highlight=False)


def _champion_problems(tracker) -> list[str]:
    """Why each target's champion cannot be loaded (empty for those that load)."""
    from coatml.exceptions import ModelNotFoundError
    from coatml.tracking.registry import load_champion

    reasons = []
    for target in TARGET_CHOICES:
        try:
            load_champion(tracker, target)
        except ModelNotFoundError as exc:
            reasons.append(f"{target}: {exc}")
    return reasons


@models_app.command("trust")
def models_trust(
    name: Annotated[str, typer.Argument(help="Registered model name, e.g. "
                                             "coatml-capacity_retention_pct")],
    version: Annotated[str, typer.Argument(help="Version whose current files to trust")],
    workspace: workspace_option = None,
) -> None:
    """Record the sha256 of a version's current files as its content hash.

    Loading checks that hash and refuses changed files. Versions registered before coatml
    recorded hashes have none and are refused until trusted; only trust files you have
    checked (or retrain instead)."""
    from coatml.tracking.registry import trust_model
    from coatml.tracking.training import tracker_for

    _common.quiet_libraries()
    digest = trust_model(tracker_for(_common.workspace(workspace)), name, version)
    console.print(f"{_common.esc(name)} v{_common.esc(version)}: content hash recorded "
                  f"(sha256 {digest[:16]}...)", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("predict")(predict)
    app.add_typer(models_app, name="models")
