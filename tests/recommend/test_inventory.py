"""The precursor inventory and the --coatings / inventory candidate filters."""

from __future__ import annotations

from pathlib import Path

import pytest

from coatml.recommend.candidates import CandidateFilters, apply_filters, enumerate_candidates
from coatml.recommend.inventory import (
    InventoryError,
    UnknownPrecursorError,
    add_precursors,
    canonical_precursor,
    read_inventory,
    remove_precursors,
)
from coatml.recommend.space import SpaceSpec, candidate_table

NMC = "LiNi0.8Mn0.1Co0.1O2"


def test_unknown_precursor_is_refused_with_close_names() -> None:
    assert canonical_precursor("tma") == "TMA"
    with pytest.raises(UnknownPrecursorError, match="'TMAA'.*closest known: TMA"):
        canonical_precursor("TMAA")


def test_add_list_remove_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    assert read_inventory(path) == ()
    current, added = add_precursors(path, ["tma", "H2O", "TMA"])
    assert current == ("TMA", "H2O") and added == ["TMA", "H2O"]
    assert "TMA,Al" in path.read_text()
    with pytest.raises(UnknownPrecursorError):
        add_precursors(path, ["DEZ", "not-a-precursor"])
    assert read_inventory(path) == ("TMA", "H2O")  # nothing written
    kept, _ = remove_precursors(path, ["h2o"])
    assert kept == ("TMA",)
    with pytest.raises(InventoryError, match="not in the inventory: DEZ"):
        remove_precursors(path, ["DEZ"])


def test_bad_inventory_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text("precursor,elements\nTMA,Al\nbogus,\n", encoding="utf-8")
    with pytest.raises(InventoryError, match="row 3, column 'precursor'"):
        read_inventory(path)


def test_inventory_filter_keeps_only_depositable_candidates() -> None:
    pool = enumerate_candidates()
    filters = CandidateFilters(precursors_on_hand=("TMA", "H2O", "LiOtBu"))
    kept, report = apply_filters(pool, NMC, "Li6PS5Cl", "electrode", filters)
    step = [s for s in report.steps if s.name == "inventory"][0]
    assert step.removed > 0 and step.remaining == len(kept) > 0
    for elements in kept["elements"]:
        assert set(elements.split()) <= {"Al", "O", "Li"}
    assert "Al2O3" in set(kept["coating"])


def test_named_coatings_filter_used_by_the_space() -> None:
    spec = SpaceSpec(NMC, "Li6PS5Cl", filters=CandidateFilters(coatings=("Al2O3", "LiNbO3",
                                                                         "Li3PO4")))
    table, report = candidate_table(spec)
    assert set(table["coating"]) == {"Al2O3", "LiNbO3", "Li3PO4"}
    step = [s for s in report.steps if s.name == "named_coatings"][0]
    assert step.remaining == 3 and step.removed > 1000


def test_propose_draws_only_from_the_named_and_depositable_coatings() -> None:
    from coatml.recommend.propose import propose

    filters = CandidateFilters(coatings=("Al2O3", "ZnO", "LiNbO3", "Li3PO4"),
                               precursors_on_hand=("TMA", "DEZ", "H2O"))
    spec = SpaceSpec(NMC, "Li6PS5Cl", filters=filters)
    prop = propose(spec, {}, "retention", 4, "ei", seed=0)  # space-filling, no model
    # one recipe per coating by default: only Al2O3 and ZnO are named and depositable
    assert sorted(prop.batch["coating"]) == ["Al2O3", "ZnO"]
