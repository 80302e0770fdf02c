"""`coatml inventory add|list|remove`: the precursors the lab has on hand."""

from __future__ import annotations

from typing import Annotated

import typer

from coatml.cli import _common
from coatml.cli._common import console, fail, workspace_option

inventory_app = typer.Typer(help="The lab's precursors on hand (inventory.csv in the "
                                 "workspace); rank and propose use only coatings they can "
                                 "deposit.", no_args_is_help=True)

NamesArg = Annotated[list[str], typer.Argument(help="Precursor short names, e.g. TMA H2O.")]


def _path(workspace: object) -> object:
    from coatml.recommend.inventory import INVENTORY_FILE

    return _common.workspace(workspace).root / INVENTORY_FILE  # type: ignore[arg-type]


@inventory_app.command("add")
def add(names: NamesArg, workspace: workspace_option = None) -> None:
    """Add precursors (each must be a known precursor; nothing is written otherwise)."""
    from coatml.recommend.inventory import InventoryError, add_precursors

    path = _path(workspace)
    try:
        current, added = add_precursors(path, names)  # type: ignore[arg-type]
    except InventoryError as exc:
        fail(str(exc))
    console.print(f"Added {', '.join(added) or 'nothing new'}; on hand: {', '.join(current)}",
                  highlight=False)


@inventory_app.command("remove")
def remove(names: NamesArg, workspace: workspace_option = None) -> None:
    """Remove precursors from the inventory."""
    from coatml.recommend.inventory import InventoryError, remove_precursors

    path = _path(workspace)
    try:
        current, removed = remove_precursors(path, names)  # type: ignore[arg-type]
    except InventoryError as exc:
        fail(str(exc))
    console.print(f"Removed {', '.join(removed)}; on hand: {', '.join(current) or 'nothing'}",
                  highlight=False)


@inventory_app.command("list")
def list_(workspace: workspace_option = None) -> None:
    """The precursors on hand and the elements each delivers."""
    from coatml.recommend.inventory import InventoryError, known_precursors, read_inventory

    path = _path(workspace)
    try:
        names = read_inventory(path)  # type: ignore[arg-type]
    except InventoryError as exc:
        fail(str(exc))
    if not names:
        console.print(f"No inventory ({path}): rank and propose consider every precursor. "
                      "Add some with `coatml inventory add TMA H2O`.", highlight=False)
        return
    known = known_precursors()
    for name in names:
        console.print(f"{name}: delivers {' '.join(known[name.casefold()][1])}", highlight=False)
    console.print(f"{len(names)} precursor(s) in {path}", style="dim", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(inventory_app, name="inventory")
