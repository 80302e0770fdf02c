"""`coatml rank`: rank untested coating chemistries for an electrode / electrolyte pair."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coatml.cli import _common
from coatml.cli import _options as o
from coatml.cli._common import console, err_console, fail, workspace_option

if TYPE_CHECKING:
    from coatml.recommend.rank import RankResult

OBJECTIVE_CHOICES = ("retention", "resistance", "both")
COMPONENT_CHOICES = ("auto", "electrode", "electrolyte")
TARGETS = {"retention": "capacity_retention_pct", "resistance": "interface_resistance_ohm_cm2"}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-") or "material"


def print_counts(result: RankResult) -> None:
    """Candidates per stage: library / enumerated / after each filter / recipes scored."""
    c = result.counts
    parts = [f"library {c.library} + enumerated {c.enumerated} = {c.library + c.enumerated}"]
    parts += [f"after {name} {remaining} (-{removed})" for name, removed, remaining
              in c.filter_steps]
    if c.candidates != c.after_filters:
        parts.append(f"scored {c.candidates}")
    console.print("[bold]Candidates:[/] " + " -> ".join(parts), highlight=False)
    console.print(f"[bold]Recipes scored:[/] {c.recipes:,} ({c.ranked:,} candidates ranked; "
                  + ", ".join(f"{k} {v:.1f} s" for k, v in result.timing.items()) + ")",
                  highlight=False)


def _screen_cell(row: Any) -> str:
    verdict = getattr(row, "screen_verdict", None)
    if not isinstance(verdict, str):
        return ""
    reasons = getattr(row, "screen_reasons", "") or ""
    short = reasons if len(reasons) <= 140 else reasons[:140] + " ..."
    return f"{verdict.upper()}" + (f": {short}" if short and verdict != "pass" else "")


def print_table(result: RankResult, rows: int) -> None:
    """The first ``rows`` rows as a readable table."""
    from rich.table import Table

    from coatml.recommend.rank import interval_text, prior_split_text, top_features_text

    t = result.table.head(rows)
    table = Table(title=f"Ranked coatings ({result.spec.electrode} | "
                        f"{result.spec.electrolyte}, objective: {result.objective})",
                  header_style="bold")
    for name, kw in (("#", {"justify": "right"}), ("coating", {}), ("tested", {}),
                     ("T (°C)", {"justify": "right"}), ("thickness (nm)", {"justify": "right"}),
                     ("retention % [68 %]", {}), ("resistance ohm cm² [68 %]", {}),
                     ("Pareto", {"justify": "right"}),
                     ("screening", {"overflow": "fold", "max_width": 48}),
                     ("prior vs learned; top-3 features of the learned part (SHAP, model space)",
                      {"overflow": "fold", "max_width": 64})):
        table.add_column(name, **kw)
    for r in t.itertuples(index=False):
        ret = interval_text(getattr(r, "retention_pct_mean", float("nan")),
                        getattr(r, "retention_pct_lo68", float("nan")),
                        getattr(r, "retention_pct_hi68", float("nan")), ".1f")
        res = interval_text(getattr(r, "resistance_ohm_cm2_median", float("nan")),
                        getattr(r, "resistance_ohm_cm2_lo68", float("nan")),
                        getattr(r, "resistance_ohm_cm2_hi68", float("nan")), ".3g")
        pareto = "" if r.pareto_rank is None or r.pareto_rank != r.pareto_rank \
            or str(r.pareto_rank) == "<NA>" else str(r.pareto_rank)
        temp = "" if r.temperature_c != r.temperature_c else f"{r.temperature_c:.0f}"
        table.add_row(str(r.rank), str(r.coating), "yes" if r.tested else "no", temp,
                      f"{r.thickness_nm:.3g}", ret, res, pareto, _screen_cell(r),
                      "\n".join(filter(None, (prior_split_text(r), top_features_text(r)))))
    console.print(table)


def _prior_models() -> dict[str, Any]:
    """The physics prior alone for both targets (no trained model needed)."""
    from coatml.models.surrogate import PriorSurrogate

    console.print("[bold]note:[/] ranked by the physics prior alone (coatml.features.prior: "
                  "screening hazards between the literature's bare and coated cells), with "
                  "its uncertainty; no trained model is used", highlight=False)
    return {t: PriorSurrogate(t).fit() for t in TARGETS.values()}


def _load_models(ws: Any, objective: str) -> dict[str, Any]:
    """Champions: those of the objective are required, the other one is used if present."""
    from coatml.tracking.registry import load_champions
    from coatml.tracking.training import tracker_for

    needed = {TARGETS[o] for o in (("retention", "resistance") if objective == "both"
                                   else (objective,))}
    models, missing = load_champions(tracker_for(ws), TARGETS.values())
    for target, message in missing.items():
        if target in needed:
            fail(f"objective '{objective}' needs a champion model of {target}: {message}")
        console.print(f"[yellow]note:[/] no champion of {target}; its predictions and the "
                      "Pareto rank are left out (run `coatml train`)", highlight=False)
    return dict(models)


def _refs(ws: Any, objective: str) -> dict[str, Any]:
    """MLflow references of the champions, for Dask workers to load themselves."""
    from mlflow.exceptions import MlflowException

    from coatml.recommend.distributed import MlflowModelRef
    from coatml.tracking.registry import CHAMPION, model_name
    from coatml.tracking.training import tracker_for

    tracker = tracker_for(ws)
    client = tracker.client()
    needed = {TARGETS[o] for o in (("retention", "resistance") if objective == "both"
                                   else (objective,))}
    refs: dict[str, Any] = {}
    for target in TARGETS.values():
        try:
            mv = client.get_model_version_by_alias(model_name(target), CHAMPION)
        except MlflowException:
            if target in needed:
                fail(f"objective '{objective}' needs a champion model of {target}: no champion "
                     f"model for {target} in {tracker.tracking_uri}. Run `coatml train "
                     f"--target {target}` first.")
            continue
        refs[target] = MlflowModelRef(f"models:/{mv.name}/{mv.version}", tracker.tracking_uri,
                                      tracker.registry_uri)
    return refs


def run_rank(ws: Any, *, electrode: str, electrolyte: str, coated_component: str = "auto",
             objective: str = "retention", top: int | None = 20, out: Path | None = None,
             plot: Path | None = None, max_temperature: float | None = None,
             max_thickness: float | None = None, anion_filter: bool = True,
             reducible_filter: bool = True, library_only: bool = False,
             cycle_number: float = 100.0, c_rate: float = 0.5, scheduler: str | None = None,
             dask: bool = False, coatings: tuple[str, ...] | None = None,
             precursors_on_hand: tuple[str, ...] | None = None,
             hide_failing: bool = False, prior_only: bool = False) -> RankResult:
    """Rank, print, write the CSV and the figure (the body of ``coatml rank``)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from coatml.exceptions import CoatmlError
    from coatml.recommend.candidates import CandidateFilters
    from coatml.recommend.space import SpaceSpec, TestConditions, candidate_table

    if objective not in OBJECTIVE_CHOICES:
        fail(f"--objective must be one of {', '.join(OBJECTIVE_CHOICES)}, not '{objective}'")
    if coated_component not in COMPONENT_CHOICES:
        fail(f"--coated-component must be one of {', '.join(COMPONENT_CHOICES)}, "
             f"not '{coated_component}'")
    if top is not None and top < 1:
        fail("--top must be >= 1")
    o.check_temperature(max_temperature)
    o.check_positive(max_thickness, "--max-thickness")
    o.check_positive(cycle_number, "--cycle-number")
    o.check_positive(c_rate, "--c-rate")
    o.check_materials(electrode, electrolyte)
    spec = SpaceSpec(
        electrode=electrode, electrolyte=electrolyte, coated_component=coated_component,
        filters=CandidateFilters(anion_compatible=anion_filter,
                                 no_reducible_tm_vs_li_metal=reducible_filter,
                                 max_deposition_temperature_c=max_temperature,
                                 max_thickness_nm=max_thickness, coatings=coatings,
                                 precursors_on_hand=precursors_on_hand),
        conditions=TestConditions(cycle_number=cycle_number, c_rate=c_rate),
        include_enumerated=not library_only)
    candidates, report = candidate_table(spec)
    if candidates.empty:
        fail(report.nothing_left() + ". Relax the filters (--max-temperature, --max-thickness, "
             "--no-anion-filter, --no-reducible-filter, --coatings, --no-inventory) or drop "
             "--library-only.")
    for note in o.filter_notes(spec, report):
        console.print(f"[bold]note:[/] {note}", highlight=False)
    if prior_only and (dask or scheduler):
        fail("--prior-only scores locally; drop --dask / --scheduler")
    models = {} if (dask or scheduler) else (_prior_models() if prior_only
                                             else _load_models(ws, objective))
    refs = _refs(ws, objective) if (dask or scheduler) else {}
    with ws.store() as store:
        records = store.to_frame()
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} chunks"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("scoring recipes", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            from coatml.recommend.rank import rank_coatings

            executor = None
            if dask or scheduler:
                from coatml.recommend.distributed import DaskExecutor

                executor = DaskExecutor(scheduler)
            result = rank_coatings(spec, refs if executor else models, objective, top=None,
                                   records=records, candidates=candidates, progress=progress,
                                   executor=executor)
        except (CoatmlError, ValueError) as exc:
            # e.g. a champion whose feature set changed since training: say so, no traceback
            fail(f"ranking failed: {exc}")
        except OSError as exc:  # includes TimeoutError: the scheduler cannot be reached
            fail(f"cannot reach the Dask scheduler {scheduler or '(local cluster)'}: {exc}")
    if result.table.empty:
        fail("no candidate has a recipe left after the process-grid limits "
             "(--max-thickness removes every grid point)")
    if hide_failing and "screen_verdict" in result.table.columns:
        from dataclasses import replace

        failing = result.table["screen_verdict"].eq("fail").to_numpy()
        console.print(f"[bold]note:[/] --hide-failing left out {int(failing.sum())} candidate(s) "
                      "that fail the physics screening", highlight=False)
        table = result.table.loc[~failing].reset_index(drop=True)
        table["rank"] = range(1, len(table) + 1)
        result = replace(result, table=table)
    print_counts(result)
    categories: dict[str, str] = {}
    for message in result.warnings:
        categories.setdefault(message.split(":", 1)[0], message)
    for message in categories.values():
        short = message if len(message) <= 240 else message[:240] + " ..."
        err_console.print(f"[yellow]note:[/] {_common.esc(short)}", highlight=False)
    shown = top or 20
    print_table(result, shown)
    stem = f"rank_{_slug(electrode)}_{_slug(electrolyte)}_{objective}"
    csv_path = out or ws.outputs_dir / f"{stem}.csv"
    png_path = plot or ws.outputs_dir / f"{stem}.png"
    written = result.table if top is None else result.table.head(top)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    written.to_csv(csv_path, index=False)
    result.plot(png_path, title=f"{electrode} | {electrolyte} (objective: {objective})")
    console.print(f"Wrote {len(written)} ranked coatings to {csv_path} and the figure to "
                  f"{png_path}", highlight=False)
    console.print("Predictions come from models trained on the workspace's records; "
                  "intervals are the models' 68 % predictive intervals.", style="dim")
    return result


def rank(
    electrode: o.ElectrodeOpt,
    electrolyte: o.ElectrolyteOpt,
    coated_component: o.ComponentOpt = o.ComponentChoice.auto,
    objective: o.ObjectiveOpt = o.ObjectiveChoice.retention,
    top: Annotated[int | None, typer.Option(help="Rows to show and write (default: show 20, "
                                                 "write all).", min=1)] = None,
    out: Annotated[Path | None, typer.Option(help="CSV path (default: outputs/rank_*.csv).")]
    = None,
    plot: Annotated[Path | None, typer.Option(help="PNG path (default: outputs/rank_*.png).")]
    = None,
    max_temperature: o.MaxTemperatureOpt = None,
    max_thickness: o.MaxThicknessOpt = None,
    no_anion_filter: Annotated[bool, typer.Option(
        "--no-anion-filter", help="Keep anion classes incompatible with the electrolyte.")]
    = False,
    no_reducible_filter: Annotated[bool, typer.Option(
        "--no-reducible-filter", help="Keep reducible cations against Li/Na metal.")] = False,
    library_only: Annotated[bool, typer.Option(
        "--library-only", help="Only the sourced library coatings (no enumerated ones).")]
    = False,
    cycle_number: Annotated[float, typer.Option(
        help="Cycle at which retention is scored (> 0).")] = 100.0,
    c_rate: Annotated[float, typer.Option(help="C-rate of the scored test (1/h, > 0).")] = 0.5,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address (tcp://host:8786): score chunks on that cluster.")] = None,
    dask: Annotated[bool, typer.Option(
        "--dask", help="Score chunks on a local two-worker Dask cluster.")] = False,
    coatings: o.CoatingsOpt = None,
    no_inventory: o.NoInventoryOpt = False,
    hide_failing: o.HideFailingOpt = False,
    prior_only: Annotated[bool, typer.Option(
        "--prior-only", help="Rank by the physics prior alone (mean and uncertainty), without "
                             "trained models: a first answer on day one.")] = False,
    workspace: workspace_option = None,
) -> None:
    """Rank untested coatings for a pair: best recipe per candidate, intervals, Pareto rank,
    physics screening, and how much of each prediction is the physics prior."""

    _common.quiet_libraries()
    ws = _common.workspace(workspace)
    run_rank(ws, electrode=electrode, electrolyte=electrolyte,
             coated_component=coated_component.value, objective=objective.value, top=top,
             out=out,
             plot=plot, max_temperature=max_temperature, max_thickness=max_thickness,
             anion_filter=not no_anion_filter, reducible_filter=not no_reducible_filter,
             library_only=library_only, cycle_number=cycle_number, c_rate=c_rate,
             scheduler=scheduler, dask=dask, coatings=o.parse_coatings(coatings),
             precursors_on_hand=o.inventory(ws, no_inventory), hide_failing=hide_failing,
             prior_only=prior_only)


def register(app: typer.Typer) -> None:
    app.command("rank")(rank)
