"""`coatml propose` and `coatml campaign new|status|next|add`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coatml.cli import _common
from coatml.cli import _options as o
from coatml.cli._common import console, err_console, fail, workspace_option

if TYPE_CHECKING:
    from coatml.recommend.propose import Proposal

campaign_app = typer.Typer(help="Keep a lab loop: propose, measure, add, retrain, propose.",
                           no_args_is_help=True)

def _models(surrogate: str, ws: Any, targets: tuple[str, ...]) -> dict[str, Any]:
    """Champions of the targets that have one (the others' reasons printed as notes)."""
    from coatml.tracking.registry import load_champions
    from coatml.tracking.training import tracker_for

    if surrogate != "champion":
        return {}
    models, missing = load_champions(tracker_for(ws), targets)
    for message in missing.values():
        err_console.print(f"[yellow]note:[/] {_common.esc(message)}", highlight=False)
    return models


def print_proposal(proposal: Proposal, out: Path | None) -> None:
    batch = proposal.batch
    from coatml.data.schema import TARGETS

    preds = [c for t in TARGETS for c in (f"pred_{t}", f"pred_{t}_std", f"pred_{t}_std_log10")
             if c in batch.columns]
    cols = ["proposal_id", "coating", "method", "precursors", "temperature_c", "cycles",
            "thickness_nm", *preds, "pred_p_working", "acq_score"]
    cols = [c for c in cols if c in batch.columns]
    _common.print_frame(batch[cols], title=f"Proposed batch {proposal.batch_id} "
                        f"({proposal.strategy}, objective {proposal.objective}, "
                        f"{proposal.n_scored} recipes scored)")
    for message in proposal.messages:
        console.print(f"[yellow]note:[/] {_common.esc(message)}", highlight=False)
    if proposal.temperature_c is not None:
        console.print(f"Same-temperature batch: deposit all at {proposal.temperature_c:g} degC")
    if proposal.stopping is not None:
        console.print(f"[bold]Stopping signal:[/] {proposal.stopping.text()}", highlight=False)
    if out is not None:
        console.print(f"Wrote {len(batch)} proposed recipes to {out}; fill the target columns "
                      f"and add them with `coatml data add {out.name}` (or `coatml campaign "
                      "add`)")


def propose_cmd(
    electrode: o.ElectrodeOpt,
    electrolyte: o.ElectrolyteOpt,
    objective: o.ObjectiveOpt = o.ObjectiveChoice.retention,
    n: o.BatchOpt = 4,
    strategy: o.StrategyOpt = o.StrategyChoice.auto,
    family: o.FamilyOpt = None,
    exclude_elements: o.ExcludeOpt = None,
    max_temperature: o.MaxTemperatureOpt = None,
    max_thickness: o.MaxThicknessOpt = None,
    max_coatings: o.MaxCoatingsOpt = None,
    same_temperature: o.SameTemperatureOpt = False,
    per_coating: o.PerCoatingOpt = 1,
    replicates: o.ReplicatesOpt = 1,
    coated_component: o.ComponentOpt = o.ComponentChoice.auto,
    max_candidates: o.MaxCandidatesOpt = None,
    seed: o.SeedOpt = 0,
    surrogate: o.SurrogateOpt = o.SurrogateChoice.champion,
    out: o.OutOpt = None,
    coatings: o.CoatingsOpt = None,
    no_inventory: o.NoInventoryOpt = False,
    workspace: workspace_option = None,
) -> None:
    """Propose the next batch of ALD/MLD recipes (champion models or a pair GP)."""
    from coatml.recommend.acquisition import Objective, make_acquisition
    from coatml.recommend.propose import propose
    from coatml.recommend.space import SpaceSpec

    _common.quiet_libraries()
    obj = Objective.parse(objective.value)
    try:
        make_acquisition(strategy.value, obj)
    except ValueError as exc:
        fail(str(exc))
    constraints = o.constraints(family, exclude_elements, max_temperature, max_thickness,
                                max_coatings, same_temperature, per_coating)
    ws = _common.workspace(workspace)
    with ws.store() as store:
        observed = store.to_frame()
    from coatml.recommend.candidates import CandidateFilters

    spec = SpaceSpec(electrode, electrolyte, coated_component=coated_component.value,
                     max_candidates=max_candidates, seed=seed,
                     filters=CandidateFilters(coatings=o.parse_coatings(coatings),
                                              precursors_on_hand=o.inventory(ws, no_inventory)))
    try:
        for note in o.filter_notes(spec):
            console.print(f"[bold]note:[/] {note}", highlight=False)
        if surrogate is not o.SurrogateChoice.champion:
            from coatml.recommend.surrogates import propose_pair_surrogate

            proposal = propose_pair_surrogate(surrogate.value, spec, observed, obj, n,
                                              strategy.value, constraints, seed,
                                              replicates=replicates)
        else:
            models = _models(surrogate.value, ws, obj.targets)
            proposal = propose(spec, models, obj, n, strategy.value, constraints, seed,
                               observed=observed, replicates=replicates)
    except ValueError as exc:
        fail(str(exc))
    target = out or ws.outputs_dir / f"proposal-{proposal.batch_id}.csv"
    proposal.batch.to_csv(target, index=False)
    print_proposal(proposal, target)


@campaign_app.command("new")
def campaign_new(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    electrode: o.ElectrodeOpt,
    electrolyte: o.ElectrolyteOpt,
    objective: o.ObjectiveOpt = o.ObjectiveChoice.retention,
    strategy: o.StrategyOpt = o.StrategyChoice.auto,
    surrogate: o.SurrogateOpt = o.SurrogateChoice.champion,
    replicates: o.ReplicatesOpt = 1,
    coated_component: o.ComponentOpt = o.ComponentChoice.auto,
    max_candidates: o.MaxCandidatesOpt = None,
    seed: Annotated[int, typer.Option(help="Base seed of the campaign.")] = 0,
    workspace: workspace_option = None,
) -> None:
    """Create a campaign for one electrode / electrolyte pair (its settings are the defaults
    of every `campaign next`)."""
    from coatml.exceptions import CoatmlError
    from coatml.recommend.acquisition import make_acquisition
    from coatml.recommend.campaign import Campaign

    try:
        make_acquisition(strategy.value, objective.value)
    except ValueError as exc:
        fail(str(exc))
    ws = _common.workspace(workspace)
    with ws.store() as store:
        try:
            camp = Campaign.new(store, name, electrode, electrolyte, objective.value,
                                strategy.value, seed=seed, surrogate=surrogate.value,
                                replicates=replicates, coated_component=coated_component.value,
                                max_candidates=max_candidates)
        except (CoatmlError, ValueError) as exc:
            fail(str(exc))
    console.print(f"Campaign [bold]{camp.name}[/]: {camp.electrode} | {camp.electrolyte}, "
                  f"objective {camp.objective}, surrogate {camp.config.surrogate}. Next: "
                  f"`coatml campaign next {camp.name} --n 4`")


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
    n: o.BatchOpt = 4,
    strategy: Annotated[o.StrategyChoice | None, typer.Option(
        help="Acquisition (default: the campaign's).")] = None,
    surrogate: Annotated[o.SurrogateChoice | None, typer.Option(
        help="champion or gp (default: the campaign's).")] = None,
    replicates: Annotated[int | None, typer.Option(
        help="Times one recipe may be measured or pending (default: the campaign's).",
        min=1)] = None,
    same_temperature: o.SameTemperatureOpt = False,
    family: o.FamilyOpt = None,
    exclude_elements: o.ExcludeOpt = None,
    max_temperature: o.MaxTemperatureOpt = None,
    max_thickness: o.MaxThicknessOpt = None,
    max_coatings: o.MaxCoatingsOpt = None,
    per_coating: o.PerCoatingOpt = 1,
    out: o.OutOpt = None,
    workspace: workspace_option = None,
) -> None:
    """Propose the campaign's next batch: its stored surrogate and strategy unless told
    otherwise; pending proposals and measured recipes are not proposed again (logged to
    MLflow with the model versions)."""
    from coatml.exceptions import CoatmlError
    from coatml.recommend.campaign import Campaign
    from coatml.tracking.training import tracker_for

    _common.quiet_libraries()
    constraints = o.constraints(family, exclude_elements, max_temperature, max_thickness,
                                max_coatings, same_temperature, per_coating)
    ws = _common.workspace(workspace)
    tracker = tracker_for(ws)
    with ws.store() as store:
        try:
            camp = Campaign.load(store, name)
            proposal = camp.next(n, tracker=tracker, constraints=constraints,
                                 strategy=strategy.value if strategy else None,
                                 surrogate=surrogate.value if surrogate else None,
                                 replicates=replicates)
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
