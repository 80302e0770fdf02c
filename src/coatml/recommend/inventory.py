"""The lab's precursor inventory: which precursors are on hand.

The inventory is a CSV (``inventory.csv`` in the workspace folder) with the columns
``precursor`` (a short name of ``precursors.csv``, e.g. ``TMA``, ``H2O``, ``LiOtBu``) and
``elements`` (what it delivers, filled in from ``precursors.csv``). A name that is not a known
precursor is refused with the closest known names. Candidates are then filtered with
:attr:`coatml.recommend.candidates.CandidateFilters.precursors_on_hand`.
"""

from __future__ import annotations

import csv
import difflib
from functools import lru_cache
from pathlib import Path

from coatml.exceptions import CoatmlError
from coatml.recommend.candidates import _short
from coatml.recommend.library import _precursors_cached

__all__ = ["INVENTORY_FILE", "InventoryError", "UnknownPrecursorError", "add_precursors",
           "canonical_precursor", "known_precursors", "read_inventory", "remove_precursors",
           "write_inventory"]

INVENTORY_FILE = "inventory.csv"
_COLUMNS = ("precursor", "elements")


class InventoryError(CoatmlError, ValueError):
    """A bad inventory file or request; nothing was written."""


class UnknownPrecursorError(InventoryError):
    """A precursor name that ``precursors.csv`` does not know."""


@lru_cache(maxsize=1)
def known_precursors() -> dict[str, tuple[str, tuple[str, ...]]]:
    """``{casefolded short name: (short name, elements it delivers)}``."""
    table = _precursors_cached()
    out: dict[str, tuple[str, list[str]]] = {}
    for el, pre in zip(table["element"], table["precursor"], strict=True):
        short = _short(str(pre))
        out.setdefault(short.casefold(), (short, []))[1].append(str(el))
    return {k: (v[0], tuple(dict.fromkeys(v[1]))) for k, v in out.items()}


def canonical_precursor(name: str, where: str = "") -> str:
    """The known short name of ``name`` (case-insensitive); :class:`UnknownPrecursorError`
    naming it and the closest known names otherwise."""
    known = known_precursors()
    key = str(name).strip().casefold()
    if key in known:
        return known[key][0]
    names = [v[0] for v in known.values()]
    close = difflib.get_close_matches(str(name).strip(), names, n=3, cutoff=0.4) or \
        [known[k][0] for k in difflib.get_close_matches(key, list(known), n=3, cutoff=0.4)]
    hint = f"; closest known: {', '.join(close)}" if close else ""
    raise UnknownPrecursorError(f"{where}'{name}' is not a known precursor (precursors.csv "
                                f"short names){hint}")


def read_inventory(path: str | Path) -> tuple[str, ...]:
    """Precursors on hand (known short names); a missing file is an empty inventory. A bad row
    raises :class:`InventoryError` naming the row and column."""
    path = Path(path)
    if not path.exists():
        return ()
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "precursor" not in reader.fieldnames:
            raise InventoryError(f"{path}: needs a 'precursor' column (columns: "
                                  f"{', '.join(_COLUMNS)})")
        out = []
        for i, row in enumerate(reader, start=2):
            name = (row.get("precursor") or "").strip()
            if not name:
                raise InventoryError(f"{path} row {i}, column 'precursor': empty")
            out.append(canonical_precursor(name, f"{path} row {i}, column 'precursor': "))
    return tuple(dict.fromkeys(out))


def write_inventory(path: str | Path, names: tuple[str, ...]) -> None:
    """Write the inventory (known short names, with the elements each delivers)."""
    known = known_precursors()
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(_COLUMNS)
        for name in names:
            writer.writerow((name, " ".join(known[name.casefold()][1])))


def add_precursors(path: str | Path, names: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """Add names (each checked before anything is written); returns (inventory, added)."""
    canonical = [canonical_precursor(n) for n in names]
    current = list(read_inventory(path))
    added = [n for n in dict.fromkeys(canonical) if n not in current]
    write_inventory(path, tuple(current + added))
    return tuple(current + added), added


def remove_precursors(path: str | Path, names: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """Remove names; one that is not in the inventory raises :class:`InventoryError` naming it."""
    current = list(read_inventory(path))
    canonical = [canonical_precursor(n) for n in names]
    absent = [n for n in canonical if n not in current]
    if absent:
        raise InventoryError(f"not in the inventory: {', '.join(absent)} (on hand: "
                              f"{', '.join(current) or 'nothing'})")
    kept = tuple(n for n in current if n not in canonical)
    write_inventory(path, kept)
    return kept, canonical
