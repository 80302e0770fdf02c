"""`coatml quickstart`: the main job on the bundled data with embedded defaults.

Creates (or reuses) a workspace, loads the literature dataset, summarises it, then runs each
later stage that is installed: training, a ranking and a proposed batch for an example
cathode / electrolyte pair. The training is `coatml train`'s with a shorter search (fewer
Optuna trials, a two-point learning curve); the output says so and times each stage.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from coatml.cli import _common
from coatml.cli._common import console

EXAMPLE_ELECTRODE = "LiNi0.8Mn0.1Co0.1O2"
EXAMPLE_ELECTROLYTE = "Li6PS5Cl"
#: Optuna trials per target in the quickstart (`coatml train` runs the config's, 40).
QUICKSTART_TRIALS = 3
#: Training-fold fractions of the quickstart's learning curve (`coatml train`: the config's).
QUICKSTART_CURVE = (0.5, 1.0)


def quickstart(
    directory: Annotated[Path, typer.Argument(help="Workspace folder to create or reuse.")] = Path(
        "coatml-workspace"),
    trials: Annotated[int, typer.Option(help="Optuna trials per target (0: no tuning).")] = (
        QUICKSTART_TRIALS),
) -> None:
    """Run the whole main job on the bundled literature data (embedded SQLite + MLflow)."""
    from coatml.workspace import Workspace

    start = time.perf_counter()
    ws = Workspace.init(directory)
    console.rule("[bold]1. Workspace and literature data")
    console.print(f"Workspace [bold]{ws.root}[/] (store: {_common.redact(ws.database_url)}, "
                  f"tracking: {_common.redact(ws.tracking_uri)})")
    _common.add_literature(ws)
    _common.print_summary(ws)
    seconds = {"data": time.perf_counter() - start}
    for name, stage in STAGES:
        t0 = time.perf_counter()
        stage(ws, trials)
        seconds[name] = time.perf_counter() - t0
    console.rule("[bold]Done")
    console.print(f"Quickstart took {time.perf_counter() - start:.0f} s ("
                  + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + ").",
                  highlight=False)
    if ws.tracking_uri.startswith("sqlite"):
        import shutil
        import sys

        mlflow_cli = shutil.which("mlflow") or str(Path(sys.executable).parent / "mlflow")
        console.print(f"Open the MLflow UI with:  {mlflow_cli} ui --backend-store-uri "
                      f"{ws.tracking_uri}", highlight=False, soft_wrap=True)


def _train_stage(ws, trials: int) -> None:
    from coatml.cli.models import run_training
    from coatml.models.config import load_model_config

    config = load_model_config()
    console.rule("[bold]2. Train the models (grouped CV, Optuna, MLflow registry)")
    curve = ", ".join(f"{f:.0%}" for f in QUICKSTART_CURVE)
    full_curve = ", ".join(f"{f:.0%}" for f in config.learning_curve_fractions)
    console.print(f"Quickstart search: {trials} Optuna trial(s) per target and a learning curve "
                  f"at {curve} of each training fold (`coatml train` runs "
                  f"{config.tuning.n_trials} trials and the curve at {full_curve}).",
                  highlight=False)
    run_training(ws, ["capacity_retention_pct", "interface_resistance_ohm_cm2"], trials=trials,
                 allow_insufficient=True, learning_curve_fractions=QUICKSTART_CURVE)


def _rank_stage(ws, trials: int) -> None:
    from coatml.cli.recommend import run_rank
    from coatml.tracking.registry import list_models
    from coatml.tracking.training import tracker_for

    console.rule(f"[bold]3. Rank coatings for {EXAMPLE_ELECTRODE} | {EXAMPLE_ELECTROLYTE}")
    registered = list_models(tracker_for(ws))
    champions = set()
    if not registered.empty:
        has_alias = registered["aliases"].astype(str).str.contains("champion")
        champions = {str(n).removeprefix("coatml-") for n in registered.loc[has_alias, "name"]}
    if {"capacity_retention_pct", "interface_resistance_ohm_cm2"} <= champions:
        objective = "both"
    elif "capacity_retention_pct" in champions:
        objective = "retention"
    elif "interface_resistance_ohm_cm2" in champions:
        objective = "resistance"
    else:
        console.print("[yellow]No champion model: ranking skipped (run `coatml train`).[/]")
        return
    run_rank(ws, electrode=EXAMPLE_ELECTRODE, electrolyte=EXAMPLE_ELECTROLYTE,
             objective=objective, top=15)


def _propose_stage(ws, trials: int) -> None:
    from coatml.cli._options import ObjectiveChoice
    from coatml.cli.propose import propose_cmd

    console.rule(f"[bold]4. Propose the next batch for {EXAMPLE_ELECTRODE} | "
                 f"{EXAMPLE_ELECTROLYTE} (4 recipes, one reactor run)")
    out = ws.outputs_dir / "next-batch.csv"
    propose_cmd(electrode=EXAMPLE_ELECTRODE, electrolyte=EXAMPLE_ELECTROLYTE,
                objective=ObjectiveChoice.retention, n=4, same_temperature=True, seed=0, out=out,
                workspace=ws.root)
    console.print("Fill in the measured columns of that file, then: `coatml data add "
                  f"{out}` and `coatml train --fast`, and propose again.")


STAGES: list = [("train", _train_stage), ("rank", _rank_stage), ("propose", _propose_stage)]


def register(app: typer.Typer) -> None:
    app.command("quickstart")(quickstart)
