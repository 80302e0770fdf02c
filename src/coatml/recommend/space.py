"""The feasible recipe space for one electrode / electrolyte pair.

A recipe is a candidate coating (library + enumerated compositions, after the interface-aware
filters) at one process setting in its window (deposition temperature, number of cycles, hence
thickness), plus the test conditions under which it is scored. Rows are in the record schema
(electrode, electrolyte, coating, coated_component, method, precursors, temperature_c,
gpc_angstrom, cycles, thickness_nm, cycle_number, c_rate, test_temperature_c,
current_density_ma_cm2) so the models score them exactly like measured records.

The space can be large (10,000 candidates x their process grids is several hundred thousand
recipes; finer grids reach millions), so :func:`iter_recipe_space` yields it in chunks of
candidates without materialising the whole table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from coatml.recommend.candidates import (
    CandidateFilters,
    FilterReport,
    apply_filters,
    enumerate_candidates,
    process_grid,
)

#: Columns of a recipe-space row that are not in the record schema.
EXTRA_COLUMNS = ("candidate_index", "reduced_formula", "family", "anion", "in_library",
                 "temperature_min_c", "temperature_max_c", "gpc_estimated")


@dataclass(frozen=True)
class TestConditions:
    """The test conditions recipes are scored under (units in the names)."""

    __test__ = False  # not a pytest test class

    cycle_number: float = 100.0
    c_rate: float | None = 0.5
    test_temperature_c: float | None = 25.0
    current_density_ma_cm2: float | None = None


@dataclass(frozen=True)
class SpaceSpec:
    """What to enumerate: the pair, the coated side, filters, grids and test conditions."""

    electrode: str
    electrolyte: str
    coated_component: str = "auto"
    filters: CandidateFilters = field(default_factory=CandidateFilters)
    conditions: TestConditions = field(default_factory=TestConditions)
    temperatures_per_window: int = 3
    thickness_targets_nm: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
    include_enumerated: bool = True
    max_candidates: int | None = None
    seed: int = 0

    def resolved_component(self) -> str:
        """``auto``: coat the electrode unless it is an alkali metal (then the electrolyte)."""
        if self.coated_component != "auto":
            return self.coated_component
        from coatml.data.formulas import resolve_material

        comp = resolve_material(self.electrode).composition
        if len(comp.elements) == 1 and comp.elements[0].symbol in ("Li", "Na", "K"):
            return "electrolyte"
        return "electrode"


def candidate_table(spec: SpaceSpec) -> tuple[pd.DataFrame, FilterReport]:
    """Filtered candidate coatings for the pair (library first), with the filter report."""
    from coatml.data.formulas import resolve_material

    resolve_material(spec.electrode)
    resolve_material(spec.electrolyte)
    candidates = enumerate_candidates(include_library=True)
    if not spec.include_enumerated:
        candidates = candidates[candidates["in_library"]]
    kept, report = apply_filters(candidates, spec.electrode, spec.electrolyte,
                                 spec.resolved_component(), spec.filters)
    if spec.max_candidates is not None and len(kept) > spec.max_candidates:
        library = kept[kept["in_library"]]
        others = kept[~kept["in_library"]]
        n_more = max(0, spec.max_candidates - len(library))
        others = others.sample(n=min(n_more, len(others)), random_state=spec.seed)
        kept = pd.concat([library, others])
    return kept.reset_index(drop=True), report


def _to_records(grid: pd.DataFrame, spec: SpaceSpec) -> pd.DataFrame:
    n = len(grid)
    cond = spec.conditions
    out = pd.DataFrame({
        "electrode": np.full(n, spec.electrode, dtype=object),
        "electrolyte": np.full(n, spec.electrolyte, dtype=object),
        "coating": grid["coating"].to_numpy(dtype=object),
        "coated_component": np.full(n, spec.resolved_component(), dtype=object),
        "method": grid["method"].to_numpy(dtype=object),
        "precursors": grid["precursors"].to_numpy(dtype=object),
        "temperature_c": grid["temperature_c"].to_numpy(dtype=float),
        "gpc_angstrom": grid["gpc_angstrom"].to_numpy(dtype=float),
        "cycles": grid["cycles"].to_numpy(dtype=float),
        "thickness_nm": grid["thickness_nm"].to_numpy(dtype=float),
        "cycle_number": np.full(n, cond.cycle_number, dtype=float),
        "c_rate": np.full(n, np.nan if cond.c_rate is None else cond.c_rate),
        "test_temperature_c": np.full(
            n, np.nan if cond.test_temperature_c is None else cond.test_temperature_c),
        "current_density_ma_cm2": np.full(
            n, np.nan if cond.current_density_ma_cm2 is None else cond.current_density_ma_cm2),
    }, index=grid.index)
    for col in EXTRA_COLUMNS:
        if col in grid.columns:
            out[col] = grid[col].to_numpy()
    return out


def iter_recipe_space(spec: SpaceSpec, candidates: pd.DataFrame | None = None,
                      candidates_per_chunk: int = 2000) -> Iterator[pd.DataFrame]:
    """Yield the recipe space in chunks (each chunk: every process setting of a slice of
    candidates). ``candidates`` defaults to :func:`candidate_table`."""
    if candidates is None:
        candidates, _ = candidate_table(spec)
    max_thickness = spec.filters.max_thickness_nm
    offset = 0
    for start in range(0, len(candidates), candidates_per_chunk):
        part = candidates.iloc[start:start + candidates_per_chunk]
        grid = process_grid(part, temperatures_per_window=spec.temperatures_per_window,
                            thickness_targets_nm=spec.thickness_targets_nm,
                            default_gpc_angstrom=spec.filters.default_gpc_angstrom,
                            max_thickness_nm=max_thickness)
        grid["candidate_index"] = grid["candidate_index"].to_numpy() + start
        grid.index = pd.RangeIndex(offset, offset + len(grid))
        offset += len(grid)
        yield _to_records(grid, spec)


def build_recipe_space(spec: SpaceSpec) -> tuple[pd.DataFrame, pd.DataFrame, FilterReport]:
    """The whole recipe space at once: ``(recipes, candidates, filter report)``."""
    candidates, report = candidate_table(spec)
    chunks = list(iter_recipe_space(spec, candidates))
    recipes = pd.concat(chunks) if chunks else _to_records(
        process_grid(candidates.iloc[:0]), spec)
    return recipes, candidates, report
