"""`coatml bench`: closed-loop comparison of proposal strategies against a simulated lab."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coatml.cli import _common
from coatml.cli._common import console, fail


def bench_cmd(
    config: Annotated[Path | None, typer.Option(
        help="Bench TOML (default: the packaged experiments/bench.toml).")] = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="Few seeds, one pair, short budget: a smoke test.")] = False,
    seeds: Annotated[int | None, typer.Option(help="Seeds per pair and strategy.")] = None,
    budget: Annotated[int | None, typer.Option(help="Experiments per campaign.")] = None,
    strategies: Annotated[str | None, typer.Option(
        help="Comma-separated: coatml,coatml-prior,coatml-prior-first,coatml-transfer,"
             "random,tpe,greedy.")] = None,
    simulator: Annotated[str | None, typer.Option(
        help="package.module:object with simulate(records, seed) and expected(records).")]
    = None,
    simlab_config: Annotated[Path | None, typer.Option(
        help="SimulatedLab config TOML (default simulator only).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder.")] = None,
    mlflow: Annotated[bool, typer.Option(help="Log to the workspace's MLflow.")] = True,
) -> None:
    """Seeded closed-loop campaigns: coatml vs random, Optuna TPE and greedy model-mean."""
    from coatml.bench.loop import load_bench_config, load_simulator, run_bench
    from coatml.exceptions import WorkspaceError

    try:
        cfg = load_bench_config(
            config, quick=quick, seeds=seeds, budget=budget,
            strategies=tuple(s.strip() for s in strategies.split(",")) if strategies else None)
        sim = load_simulator(simulator, simlab_config)
    except (ValueError, TypeError, ImportError, AttributeError, FileNotFoundError) as exc:
        fail(str(exc))
    tracker = None
    out_dir = out
    try:
        ws = _common.workspace(None)
    except WorkspaceError:
        ws = None
    if ws is not None:
        out_dir = out_dir or ws.outputs_dir / "bench"
        if mlflow:
            from coatml.tracking.training import tracker_for

            tracker = tracker_for(ws)
    elif mlflow:
        console.print("[yellow]note:[/] no workspace found: results are not logged to MLflow")
    out_dir = out_dir or Path("bench-output")
    console.print(f"coatml bench: {len(cfg.pairs)} pair(s) x {len(cfg.strategies)} strategies x "
                  f"{cfg.seeds} seeds, budget {cfg.budget}, batches of {cfg.batch_size} "
                  "(simulated lab: SYNTHETIC data)")
    result = run_bench(cfg, sim, out_dir=out_dir, tracker=tracker,
                       progress=lambda msg: console.print(msg, highlight=False))
    console.print(result.markdown(), markup=False, highlight=False)
    n_campaigns = len(result.campaigns)
    console.print(f"{n_campaigns} campaigns in {result.seconds:.0f} s; outputs in {out_dir}")
    if n_campaigns == 0:
        fail("no campaign ran")


def register(app: typer.Typer) -> None:
    """Add `bench` to the main app."""
    app.command("bench")(bench_cmd)
