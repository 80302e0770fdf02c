"""Options shared by ``coatml rank``, ``coatml propose`` and ``coatml campaign``: declared once,
with the same names, meaning, help text and checks (a bad value fails before any work)."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from coatml.cli._common import fail


class ObjectiveChoice(StrEnum):
    retention = "retention"
    resistance = "resistance"
    both = "both"


class StrategyChoice(StrEnum):
    auto = "auto"
    ei = "ei"
    ucb = "ucb"
    thompson = "thompson"
    mean = "mean"
    parego = "parego"
    ehvi = "ehvi"


class SurrogateChoice(StrEnum):
    champion = "champion"
    gp = "gp"
    gp_prior = "gp-prior"
    gp_transfer = "gp-transfer"


class ComponentChoice(StrEnum):
    auto = "auto"
    electrode = "electrode"
    electrolyte = "electrolyte"


ElectrodeOpt = Annotated[str, typer.Option(
    help="Electrode formula or alias, e.g. LiNi0.8Mn0.1Co0.1O2 or NMC811.")]
ElectrolyteOpt = Annotated[str, typer.Option(
    help="Electrolyte formula or alias, e.g. Li6PS5Cl.")]
ObjectiveOpt = Annotated[ObjectiveChoice, typer.Option(
    help="What to optimise: capacity retention, interface resistance or both.")]
StrategyOpt = Annotated[StrategyChoice, typer.Option(
    help="Acquisition (auto: ei for one objective, parego for both).")]
SurrogateOpt = Annotated[SurrogateChoice, typer.Option(
    help="champion: the registered champion models (literature + all data, starting from the "
         "physics prior); gp: a Gaussian process fitted now on this pair's measured records "
         "(what `coatml bench` measures); gp-prior: the same GP starting from the physics "
         "prior (a pair without records is ranked by the prior); gp-transfer: gp-prior that "
         "also learns from the workspace's other pairs where they lower its leave-one-out "
         "error on this pair's records.")]
ComponentOpt = Annotated[ComponentChoice, typer.Option(
    help="Which side is coated (auto: the electrolyte against Li/Na metal, else the "
         "electrode).")]
BatchOpt = Annotated[int, typer.Option("--n", help="Batch size (recipes).", min=1)]
FamilyOpt = Annotated[str | None, typer.Option(
    help="Only this coating family / class / anion (e.g. Li-M-P-O, phosphate).")]
ExcludeOpt = Annotated[str | None, typer.Option(
    help="Comma-separated elements no coating may contain, e.g. Co,Ni (any case).")]
MaxTemperatureOpt = Annotated[float | None, typer.Option(
    help="Highest deposition temperature (degC, 0-1000).")]
MaxThicknessOpt = Annotated[float | None, typer.Option(help="Thickest coating (nm, > 0).")]
MaxCoatingsOpt = Annotated[int | None, typer.Option(
    help="Budget of distinct coatings in the batch.", min=1)]
PerCoatingOpt = Annotated[int, typer.Option(
    help="Recipes allowed per coating in one batch.", min=1)]
SameTemperatureOpt = Annotated[bool, typer.Option(
    "--same-temperature", help="Every recipe at one deposition temperature (one reactor run).")]
ReplicatesOpt = Annotated[int, typer.Option(
    help="How many times one recipe (coating, temperature, thickness) may be measured or "
         "pending before it is no longer proposed (1: never repeat a recipe).", min=1)]
MaxCandidatesOpt = Annotated[int | None, typer.Option(
    help="Cap on candidate coatings (library first, then a seeded sample).", min=1)]
SeedOpt = Annotated[int, typer.Option(help="Seed of the random draws.")]
OutOpt = Annotated[Path | None, typer.Option(help="CSV of the batch (record schema).")]
CoatingsOpt = Annotated[str | None, typer.Option(
    help="Only these coatings: comma-separated names or formulas, e.g. Al2O3,LiNbO3.")]
NoInventoryOpt = Annotated[bool, typer.Option(
    "--no-inventory", help="Ignore the workspace's precursor inventory (inventory.csv).")]
HideFailingOpt = Annotated[bool, typer.Option(
    "--hide-failing", help="Leave out candidates that fail the physics screening "
                           "(they are marked, not hidden, by default).")]


def check_temperature(value: float | None, option: str = "--max-temperature") -> float | None:
    """A deposition temperature limit: finite, 0-1000 degC (ALD/MLD runs at 25-500 degC)."""
    if value is None:
        return None
    if not math.isfinite(value) or not 0.0 <= value <= 1000.0:
        fail(f"{option} {value:g}: a deposition temperature limit must be a number between 0 "
             "and 1000 degC")
    return value


def check_positive(value: float | None, option: str) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        fail(f"{option} {value:g}: must be a positive number")
    return value


def check_materials(electrode: str, electrolyte: str) -> None:
    """Both materials resolve (formula or alias), or the command fails naming the option."""
    from coatml.data.formulas import resolve_material
    from coatml.exceptions import FormulaError

    for role, name in (("electrode", electrode), ("electrolyte", electrolyte)):
        try:
            resolve_material(name)
        except FormulaError as exc:
            fail(f"--{role} '{name}': {exc}")


def parse_elements(text: str | None) -> tuple[str, ...]:
    """``"co, ni"`` -> ``("Co", "Ni")``; an unknown symbol fails naming it."""
    from coatml.data.formulas import parse_element_symbols
    from coatml.exceptions import FormulaError

    try:
        return parse_element_symbols(text)
    except FormulaError as exc:
        fail(f"--exclude-elements: {exc}")


def constraints(family: str | None, exclude_elements: str | None,
                max_temperature: float | None, max_thickness: float | None,
                max_coatings: int | None, same_temperature: bool, per_coating: int) -> Any:
    """The batch constraints from the shared options (checked)."""
    from coatml.recommend.propose import Constraints

    return Constraints(family=family, exclude_elements=parse_elements(exclude_elements),
                       max_temperature_c=check_temperature(max_temperature),
                       max_thickness_nm=check_positive(max_thickness, "--max-thickness"),
                       max_coatings=max_coatings, same_temperature=same_temperature,
                       max_per_coating=per_coating)


def parse_coatings(text: str | None) -> tuple[str, ...] | None:
    """``"Al2O3, LiNbO3"`` -> ``("Al2O3", "LiNbO3")``; a name that is not a formula or alias
    fails naming it."""
    if text is None:
        return None
    from coatml.data.formulas import resolve_material
    from coatml.exceptions import FormulaError

    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        fail("--coatings: give at least one coating name or formula")
    for name in names:
        try:
            resolve_material(name)
        except FormulaError as exc:
            fail(f"--coatings '{name}': {exc}")
    return names


def inventory(ws: Any, ignore: bool = False) -> tuple[str, ...] | None:
    """The workspace's precursors on hand (``None`` without an inventory file or when
    ignored); a bad file fails naming its row."""
    from coatml.recommend.inventory import INVENTORY_FILE, InventoryError, read_inventory

    path = ws.root / INVENTORY_FILE
    if ignore or not path.exists():
        return None
    try:
        return read_inventory(path)
    except InventoryError as exc:
        fail(str(exc))


def filter_notes(spec: Any, report: Any = None) -> list[str]:
    """What the --coatings list and the inventory removed from the candidates of ``spec``
    (``report``: its filter report when already computed)."""
    f = spec.filters
    if f.coatings is None and f.precursors_on_hand is None:
        return []
    if report is None:
        from coatml.recommend.space import candidate_table

        _, report = candidate_table(spec)
    notes = []
    for step in report.steps:
        if step.name == "named_coatings":
            notes.append(f"--coatings kept {step.remaining} candidate(s), removed "
                         f"{step.removed} ({step.rule})")
        if step.name == "inventory":
            notes.append(f"precursor inventory removed {step.removed} candidate(s) not "
                         f"depositable with what is on hand; {step.remaining} left")
    return notes
