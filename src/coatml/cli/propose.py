"""`coatml propose` and `coatml campaign new|status|next|add`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coatml.cli import _common
from coatml.cli._common import console, err_console, fail, workspace_option

if TYPE_CHECKING:
    from coatml.recommend.propose import Proposal

campaign_app = typer.Typer(help="Keep a lab loop: propose, measure, add, retrain, propose.",
                           no_args_is_help=True)

OBJECTIVE_HELP = "retention, resistance or both"
STRATEGY_HELP = "auto, ei, ucb, thompson, mean, parego or ehvi (auto: ei; parego for both)"
SURROGATE_HELP = ("champion: the registered champion models (literature + all data); gp: a "
                  "Gaussian process fitted now on this pair's measured records (what `coatml "
                  "bench` measures)")


def pick_models(surrogate: str, tracker: Any, targets: tuple[str, ...], observed: Any,
                electrode: str, electrolyte: str, seed: int) -> dict[str, Any]:
    """The surrogates a batch is scored with: champions or the pair GP (its notes printed)."""
    if surrogate == "champion":
        return load_champions(tracker, targets)
    if surrogate != "gp":
        fail(f"--surrogate must be champion or gp, not '{surrogate}'")
    from coatml.recommend.surrogates import fit_pair_surrogates

    models, notes = fit_pair_surrogates(observed, electrode, electrolyte, targets, seed=seed)
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    return models


def load_champions(tracker: Any, targets: tuple[str, ...]) -> dict[str, Any]:
    """Champions of the targets that have one (the others are missing from the dict)."""
    from coatml.exceptions import ModelNotFoundError
    from coatml.tracking.registry import load_champion

    models = {}
    for target in targets:
        try:
            models[target] = load_champion(tracker, target)
        except ModelNotFoundError as exc:
            err_console.print(f"[yellow]note:[/] {exc}", highlight=False)
    return models


def _constraints(family: str | None, exclude_elements: str | None, max_temperature: float | None,
                 max_thickness: float | None, max_coatings: int | None, same_temperature: bool,
                 per_coating: int) -> Any:
    from coatml.recommend.propose import Constraints

    elements = tuple(e.strip() for e in (exclude_elements or "").split(",") if e.strip())
    return Constraints(family=family, exclude_elements=elements,
                       max_temperature_c=max_temperature, max_thickness_nm=max_thickness,
                       max_coatings=max_coatings, same_temperature=same_temperature,
                       max_per_coating=per_coating)


def print_proposal(proposal: Proposal, out: Path | None) -> None:
    batch = proposal.batch
    cols = ["proposal_id", "coating", "method", "precursors", "temperature_c", "cycles",
            "thickness_nm"] + [c for c in batch.columns if c.startswith(("pred_", "acq_score"))]
    _common.print_frame(batch[cols], title=f"Proposed batch {proposal.batch_id} "
                        f"({proposal.strategy}, objective {proposal.objective}, "
                        f"{proposal.n_scored} recipes scored)")
    for message in proposal.messages:
        console.print(f"[yellow]note:[/] {message}", highlight=False)
    if proposal.temperature_c is not None:
        console.print(f"Same-temperature batch: deposit all at {proposal.temperature_c:g} degC")
    if proposal.stopping is not None:
        console.print(f"[bold]Stopping signal:[/] {proposal.stopping.text()}", highlight=False)
    if out is not None:
        console.print(f"Wrote {len(batch)} proposed recipes to {out}; fill the target columns "
                      f"and add them with `coatml data add {out.name}` (or `coatml campaign "
                      "add`)")


def propose_cmd(
    electrode: Annotated[str, typer.Option(help="Electrode formula or alias.")],
    electrolyte: Annotated[str, typer.Option(help="Electrolyte formula or alias.")],
    objective: Annotated[str, typer.Option(help=OBJECTIVE_HELP)] = "retention",
    n: Annotated[int, typer.Option("--n", help="Batch size.")] = 4,
    strategy: Annotated[str, typer.Option(help=STRATEGY_HELP)] = "auto",
    family: Annotated[str | None, typer.Option(help="Only this coating family / class / "
                                                    "anion (e.g. Li-M-P-O, phosphate).")] = None,
    exclude_elements: Annotated[str | None, typer.Option(
        help="Comma-separated elements no coating may contain, e.g. Li,Co.")] = None,
    max_temperature: Annotated[float | None, typer.Option(
        help="Highest deposition temperature (degC).")] = None,
    max_thickness: Annotated[float | None, typer.Option(help="Thickest coating (nm).")] = None,
    max_coatings: Annotated[int | None, typer.Option(
        help="Budget of distinct coatings in the batch.")] = None,
    same_temperature: Annotated[bool, typer.Option(
        "--same-temperature", help="Every recipe at one deposition temperature.")] = False,
    per_coating: Annotated[int, typer.Option(
        help="Recipes allowed per coating in one batch.")] = 1,
    coated_component: Annotated[str, typer.Option(
        help="electrode, electrolyte or auto.")] = "auto",
    max_candidates: Annotated[int | None, typer.Option(
        help="Cap on candidate coatings (library first, then a seeded sample).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random draws.")] = 0,
    surrogate: Annotated[str, typer.Option(help=SURROGATE_HELP)] = "champion",
    out: Annotated[Path | None, typer.Option(help="CSV of the batch (record schema).")] = None,
    workspace: workspace_option = None,
) -> None:
    """Propose the next batch of ALD/MLD recipes (champion models or a pair GP)."""
    from coatml.recommend.acquisition import Objective
    from coatml.recommend.propose import propose
    from coatml.recommend.space import SpaceSpec
    from coatml.tracking.training import tracker_for

    _common.quiet_libraries()
    try:
        obj = Objective.parse(objective)
    except ValueError as exc:
        fail(str(exc))
    ws = _common.workspace(workspace)
    tracker = tracker_for(ws)
    with ws.store() as store:
        observed = store.to_frame()
    models = pick_models(surrogate, tracker, obj.targets, observed, electrode, electrolyte,
                         seed)
    spec = SpaceSpec(electrode, electrolyte, coated_component=coated_component,
                     max_candidates=max_candidates, seed=seed)
    constraints = _constraints(family, exclude_elements, max_temperature, max_thickness,
                               max_coatings, same_temperature, per_coating)
    try:
        proposal = propose(spec, models, obj, n, strategy, constraints, seed, observed=observed)
    except ValueError as exc:
        fail(str(exc))
    target = out or ws.outputs_dir / f"proposal-{proposal.batch_id}.csv"
    proposal.batch.to_csv(target, index=False)
    print_proposal(proposal, target)


@campaign_app.command("new")
def campaign_new(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    electrode: Annotated[str, typer.Option(help="Electrode formula or alias.")],
    electrolyte: Annotated[str, typer.Option(help="Electrolyte formula or alias.")],
    objective: Annotated[str, typer.Option(help=OBJECTIVE_HELP)] = "retention",
    strategy: Annotated[str, typer.Option(help=STRATEGY_HELP)] = "auto",
    max_candidates: Annotated[int | None, typer.Option(
        help="Cap on candidate coatings.")] = None,
    seed: Annotated[int, typer.Option(help="Base seed of the campaign.")] = 0,
    workspace: workspace_option = None,
) -> None:
    """Create a campaign for one electrode / electrolyte pair."""
    from coatml.recommend.campaign import Campaign

    ws = _common.workspace(workspace)
    settings: dict[str, Any] = {"seed": seed}
    if max_candidates is not None:
        settings["max_candidates"] = max_candidates
    with ws.store() as store:
        try:
            camp = Campaign.new(store, name, electrode, electrolyte, objective, strategy,
                                **settings)
        except ValueError as exc:
            fail(str(exc))
    console.print(f"Campaign [bold]{camp.name}[/]: {camp.electrode} | {camp.electrolyte}, "
                  f"objective {camp.objective}. Next: `coatml campaign next {camp.name} --n 4`")


@campaign_app.command("status")
def campaign_status(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    workspace: workspace_option = None,
) -> None:
    """Pending and returned proposals, deviations of the actual recipes, model versions."""
    from coatml.recommend.campaign import Campaign

    ws = _common.workspace(workspace)
    from coatml.exceptions import CoatmlError

    with ws.store() as store:
        try:
            camp = Campaign.load(store, name)
        except CoatmlError as exc:
            fail(str(exc))
        status = camp.status()
        summary = camp.summary()
    console.print(f"Campaign [bold]{name}[/]: {summary['electrode']} | {summary['electrolyte']}, "
                  f"objective {summary['objective']}: {summary['pending']} pending, "
                  f"{summary['returned']} returned, {summary['unsolicited']} unsolicited")
    _common.print_frame(status, title=f"Campaign {name}")


@campaign_app.command("next")
def campaign_next(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    n: Annotated[int, typer.Option("--n", help="Batch size.")] = 4,
    strategy: Annotated[str | None, typer.Option(help=STRATEGY_HELP)] = None,
    same_temperature: Annotated[bool, typer.Option(
        "--same-temperature", help="Every recipe at one deposition temperature.")] = False,
    family: Annotated[str | None, typer.Option(help="Only this coating family.")] = None,
    exclude_elements: Annotated[str | None, typer.Option(help="Elements to exclude.")] = None,
    max_temperature: Annotated[float | None, typer.Option(help="degC")] = None,
    max_thickness: Annotated[float | None, typer.Option(help="nm")] = None,
    max_coatings: Annotated[int | None, typer.Option(help="Distinct coatings.")] = None,
    per_coating: Annotated[int, typer.Option(help="Recipes per coating.")] = 1,
    surrogate: Annotated[str, typer.Option(help=SURROGATE_HELP)] = "champion",
    out: Annotated[Path | None, typer.Option(help="CSV of the batch.")] = None,
    workspace: workspace_option = None,
) -> None:
    """Propose the campaign's next batch (logged to MLflow with the model versions)."""
    from coatml.recommend.campaign import Campaign
    from coatml.tracking.training import tracker_for

    _common.quiet_libraries()
    ws = _common.workspace(workspace)
    tracker = tracker_for(ws)
    constraints = _constraints(family, exclude_elements, max_temperature, max_thickness,
                               max_coatings, same_temperature, per_coating)
    from coatml.exceptions import CoatmlError
    from coatml.recommend.acquisition import Objective

    with ws.store() as store:
        try:
            camp = Campaign.load(store, name)
        except CoatmlError as exc:
            fail(str(exc))

        observed = store.to_frame()
        models = pick_models(surrogate, tracker, Objective.parse(camp.objective).targets,
                             observed, camp.electrode, camp.electrolyte,
                             int(camp.settings.get("seed", 0)))
        try:
            proposal = camp.next(n, models=models, tracker=tracker, constraints=constraints,
                                 strategy=strategy, observed=observed)
        except (CoatmlError, ValueError) as exc:
            fail(str(exc))
    target = out or ws.outputs_dir / f"{proposal.batch_id}.csv"
    proposal.batch.to_csv(target, index=False)
    print_proposal(proposal, target)


@campaign_app.command("add")
def campaign_add(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    results: Annotated[Path, typer.Argument(help="CSV/XLSX of measured results.")],
    workspace: workspace_option = None,
) -> None:
    """Add measured results: matched to their proposals, the actual recipe stored."""
    from coatml.data.validation import read_table_text
    from coatml.recommend.campaign import Campaign

    ws = _common.workspace(workspace)
    raw, _ = read_table_text(results)
    from coatml.exceptions import CoatmlError

    with ws.store() as store:
        try:
            camp = Campaign.load(store, name)
            report = camp.add_results(raw, source_name=results.name)
        except CoatmlError as exc:
            fail(str(exc))
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(f"{results.name}: added {report.n_added} records ({report.n_skipped} already "
                  f"stored); {report.n_matched} answer proposals, {report.n_unsolicited} "
                  "unsolicited")
    dev = report.deviations
    if len(dev):
        _common.print_frame(dev, title="Actual minus proposed recipe")


def register(app: typer.Typer) -> None:
    """Add `propose` and the `campaign` sub-app to the main app."""
    app.command("propose")(propose_cmd)
    app.add_typer(campaign_app, name="campaign")
