"""Candidate enumeration, tested marks, interface filters and process grids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymatgen.core import Composition

from coatml.recommend.candidates import (
    ANION_COMPATIBILITY,
    CandidateFilters,
    _substrate_class,
    apply_filters,
    default_gpc_angstrom,
    enumerate_candidates,
    mark_tested,
    process_grid,
)
from coatml.recommend.library import depositable_elements, load_coating_library


@pytest.fixture(scope="module")
def cands() -> pd.DataFrame:
    return enumerate_candidates()


def test_enumeration_is_large_and_unique(cands: pd.DataFrame) -> None:
    enumerated = cands[~cands["in_library"]]
    assert len(enumerated) >= 1000
    assert cands["reduced_formula"].is_unique
    assert cands["in_library"].sum() == load_coating_library()["reduced_formula"].nunique()


def test_enumerated_candidates_are_charge_balanced(cands: pd.DataFrame) -> None:
    enumerated = cands[~cands["in_library"]]
    unbalanced = [f for f in enumerated["reduced_formula"]
                  if not Composition(f).oxi_state_guesses(max_sites=-50)]
    assert unbalanced == []


def test_enumerated_candidates_contain_li_and_depositable_elements(cands: pd.DataFrame) -> None:
    deposit = depositable_elements()
    enumerated = cands[~cands["in_library"]]
    for elements in enumerated["elements"]:
        parts = set(elements.split())
        assert "Li" in parts and parts <= deposit
    assert (enumerated["li_fraction"] > 0).all() and (enumerated["li_fraction"] < 1).all()
    assert enumerated["source"].str.startswith("enumerated (coatml)").all()
    assert set(enumerated["family"]) == {"Li-M-O", "Li-M-F", "Li-M-N", "Li-M-P-O", "Li-M-B-O",
                                         "Li-M-Si-O", "Li-M-M'-O"}


def test_process_windows_are_intersections(cands: pd.DataFrame) -> None:
    ok = cands[cands["depositable"]].dropna(subset=["temperature_min_c", "temperature_max_c"])
    assert (ok["temperature_min_c"] <= ok["temperature_max_c"]).all()
    row = cands[cands["reduced_formula"] == "Li2HfO3"].iloc[0]
    # Hf only via TEMAH at 250 C; Li via LiOtBu (135-300 C) or LiHMDS (150-400 C)
    assert row["temperature_min_c"] == 250 and row["temperature_max_c"] == 250
    assert "TEMAH" in row["precursors"]


def test_library_coatings_keep_their_sourced_process(cands: pd.DataFrame) -> None:
    row = cands[cands["coating"] == "LiNbO3"].iloc[0]
    assert row["in_library"] and row["gpc_angstrom"] == pytest.approx(1.8)
    assert "inf2.12650" in row["source"]


def test_max_atoms_bounds_formula_size() -> None:
    small = enumerate_candidates(max_atoms=6, include_library=False)
    assert len(small) > 0
    assert all(Composition(f).num_atoms <= 6 for f in small["reduced_formula"])
    with pytest.raises(ValueError):
        enumerate_candidates(max_atoms=2)


def test_mark_tested_by_reduced_formula_and_pair(cands: pd.DataFrame) -> None:
    records = pd.DataFrame({
        "coating": ["Al2O3", "LiNbO3", "", "not a formula!"],
        "electrode": ["Li", "LiNi0.8Mn0.1Co0.1O2", "Li", "Li"],
        "electrolyte": ["Li7La3Zr2O12", "Li6PS5Cl", "Li6PS5Cl", "Li6PS5Cl"],
    })
    anywhere = mark_tested(cands, records)
    assert set(anywhere.loc[anywhere["tested"], "reduced_formula"]) == {"Al2O3", "LiNbO3"}
    pair = mark_tested(cands, records, electrode="LiNi0.8Mn0.1Co0.1O2", electrolyte="Li6PS5Cl")
    assert set(pair.loc[pair["tested"], "reduced_formula"]) == {"LiNbO3"}
    assert "tested" not in cands.columns


def test_substrate_classes() -> None:
    assert _substrate_class("Li") == "li_metal"
    assert _substrate_class("Na") == "na_metal"
    assert _substrate_class("Li6PS5Cl") == "sulfide"
    assert _substrate_class("Li3InCl6") == "halide"
    assert _substrate_class("LiNi0.8Mn0.1Co0.1O2") == "oxide_cathode"
    assert _substrate_class("Li7La3Zr2O12") == "oxide_electrolyte"


def test_no_fluoride_or_nitride_against_sulfide(cands: pd.DataFrame) -> None:
    kept, report = apply_filters(cands, "LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl", "electrode")
    assert not kept["anion"].isin({"fluoride", "nitride"}).any()
    assert kept["anion"].isin(ANION_COMPATIBILITY["sulfide"]).all() and len(kept) > 1000
    step = {s.name: s for s in report.steps}["anion_compatible"]
    n_bad = int(cands[cands["depositable"]]["anion"].isin({"fluoride", "nitride"}).sum())
    assert step.removed == n_bad > 0
    # Without the anion filter fluorides survive.
    loose, _ = apply_filters(cands, "LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl", "electrode",
                             CandidateFilters(anion_compatible=False))
    assert (loose["anion"] == "fluoride").any()


def test_no_reducible_cations_against_li_metal(cands: pd.DataFrame) -> None:
    kept, report = apply_filters(cands, "Li", "Li7La3Zr2O12", "electrolyte")
    bad = {"Co", "Ni", "Mn", "Fe", "Cu", "V", "Ti", "Nb", "Ta", "W", "Mo"}
    assert not any(set(e.split()) & bad for e in kept["elements"])
    assert {s.name: s for s in report.steps}["no_reducible_tm_vs_alkali_metal"].removed > 0
    assert "Al2O3" in set(kept["reduced_formula"])
    # Keeping Ta is a documented option.
    with_ta, _ = apply_filters(cands, "Li", "Li7La3Zr2O12", "electrolyte", CandidateFilters(
        reducible_elements=("Ti", "Nb", "V", "Fe", "Co", "Ni", "Mn", "Cu", "W", "Mo")))
    assert any("Ta" in e.split() for e in with_ta["elements"])


def test_li_metal_substrate_limits_deposition_temperature(cands: pd.DataFrame) -> None:
    kept, report = apply_filters(cands, "Li", "Li7La3Zr2O12", "electrode")
    assert report.substrate_class == "li_metal"
    assert (kept["temperature_min_c"].dropna() <= 180.5).all()
    assert (kept["temperature_max_c"] <= 180.5).all()
    assert "BN" not in set(kept["reduced_formula"])   # h-BN is grown at 450 C
    explicit, _ = apply_filters(cands, "LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl", "electrode",
                                CandidateFilters(max_deposition_temperature_c=120.0))
    assert (explicit["temperature_min_c"].dropna() <= 120.0).all()
    assert len(explicit) < len(apply_filters(cands, "LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl",
                                             "electrode")[0])


def test_filter_report_counts_add_up(cands: pd.DataFrame) -> None:
    kept, report = apply_filters(cands, "Li", "Li6PS5Cl", "electrode",
                                 CandidateFilters(max_thickness_nm=0.1))
    assert report.n_start == len(cands) and report.n_end == len(kept)
    assert report.n_start - sum(s.removed for s in report.steps) == len(kept)
    frame = report.to_frame()
    assert list(frame["name"])[-1] == "max_thickness" and frame["removed"].iloc[-1] > 0
    with pytest.raises(ValueError):
        apply_filters(cands, "Li", "Li6PS5Cl", "separator")


def test_default_gpc_is_library_median() -> None:
    assert default_gpc_angstrom() == pytest.approx(
        float(load_coating_library()["gpc_angstrom"].median()))


def test_process_grid_shape_and_flags(cands: pd.DataFrame) -> None:
    grid = process_grid(cands, temperatures_per_window=3)
    assert {"temperature_c", "cycles", "thickness_nm", "gpc_estimated"} <= set(grid.columns)
    lib_rows = grid[grid["coating"] == "LiNbO3"]
    assert not lib_rows["gpc_estimated"].any()
    assert lib_rows["temperature_c"].nunique() == 3          # 220-235 C window
    enum_rows = grid[~grid["in_library"]]
    assert enum_rows["gpc_estimated"].all()
    assert grid["thickness_nm"].between(0.0, 12.0).all()


windows = st.tuples(st.floats(20, 400), st.floats(0, 200), st.floats(0.05, 5.0),
                    st.booleans())


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(windows, min_size=1, max_size=20), k=st.integers(1, 5),
       cycles=st.one_of(st.none(), st.lists(st.integers(1, 500), min_size=1, max_size=4)))
def test_process_grid_properties(rows, k, cycles) -> None:
    tmin = np.array([r[0] for r in rows])
    tmax = tmin + np.array([r[1] for r in rows])
    gpc = np.array([r[2] if r[3] else np.nan for r in rows])
    df = pd.DataFrame({"coating": [f"C{i}" for i in range(len(rows))],
                       "temperature_min_c": tmin, "temperature_max_c": tmax,
                       "gpc_angstrom": gpc, "in_library": False})
    grid = process_grid(df, temperatures_per_window=k,
                        cycles=None if cycles is None else tuple(cycles),
                        default_gpc_angstrom=1.0)
    i = grid["candidate_index"].to_numpy()
    t = grid["temperature_c"].to_numpy()
    assert (t >= tmin[i] - 1e-9).all() and (t <= tmax[i] + 1e-9).all()
    np.testing.assert_allclose(grid["thickness_nm"], grid["gpc_angstrom"] * grid["cycles"] / 10)
    assert (grid["gpc_estimated"].to_numpy() == np.isnan(gpc[i])).all()
    assert set(i) == set(range(len(rows)))
    if cycles is None:
        assert (grid["thickness_nm"] <= 10.0 + grid["gpc_angstrom"] / 10).all()
