"""The shipped coating library and precursor table: sourced, parseable, sane windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coatml.data.formulas import resolve_material
from coatml.exceptions import ValidationError
from coatml.recommend import library
from coatml.recommend.library import (
    COATING_CLASSES,
    LIGAND_FAMILIES,
    CoatingProcess,
    Precursor,
    citations,
    coating_processes,
    depositable_elements,
    load_coating_library,
    load_precursors,
    precursor_records,
)


@pytest.fixture(scope="module")
def lib() -> pd.DataFrame:
    return load_coating_library()


@pytest.fixture(scope="module")
def pre() -> pd.DataFrame:
    return load_precursors()


def test_library_has_at_least_40_distinct_coatings(lib: pd.DataFrame) -> None:
    assert lib["coating"].nunique() >= 40
    assert lib["reduced_formula"].nunique() >= 40


def test_every_library_row_is_sourced_and_parses(lib: pd.DataFrame) -> None:
    assert (lib["source"].str.strip() != "").all()
    for name in lib["coating"]:
        assert resolve_material(name).composition.num_atoms > 0
    assert set(lib["coating_class"]) <= set(COATING_CLASSES)
    assert set(lib["method"]) <= {"ALD", "MLD"}


def test_windows_are_ordered_and_gpc_positive(lib: pd.DataFrame, pre: pd.DataFrame) -> None:
    for df in (lib, pre):
        both = df.dropna(subset=["temperature_min_c", "temperature_max_c"])
        assert (both["temperature_min_c"] <= both["temperature_max_c"]).all()
        t = df[["temperature_min_c", "temperature_max_c"]].to_numpy(dtype=float)
        assert np.nanmin(t) > 0 and np.nanmax(t) < 600
    gpc = lib["gpc_angstrom"].dropna()
    assert (gpc > 0).all() and (gpc < 10).all()


def test_unknowns_stay_empty_not_zero(lib: pd.DataFrame) -> None:
    # Processes whose source gives no GPC must stay NaN (e.g. TiCl4/H2O in Aarik 2001).
    row = lib[(lib["coating"] == "TiO2") & (lib["precursors"] == "TiCl4/H2O")]
    assert len(row) == 1 and np.isnan(row["gpc_angstrom"].iloc[0])


def test_library_covers_the_brief_classes(lib: pd.DataFrame) -> None:
    classes = set(lib["coating_class"])
    for needed in ("binary_oxide", "li_ternary_oxide", "phosphate", "borate", "nitride",
                   "fluoride", "hybrid_mld"):
        assert needed in classes
    for formula in ("Al2O3", "LiNbO3", "Li3PO4", "ZrO2", "LiF", "AlF3", "AlN", "Li2ZrO3"):
        assert formula in set(lib["reduced_formula"])


def test_precursor_rows_sourced_and_typed(pre: pd.DataFrame) -> None:
    assert (pre["source"].str.strip() != "").all()
    assert set(pre["ligand_family"]) <= set(LIGAND_FAMILIES)


def test_precursor_table_covers_required_elements() -> None:
    required = {"Li", "Al", "Zr", "Zn", "Hf", "Ti", "Si", "Nb", "Ta", "Mg", "B", "P", "La", "Y",
                "Ga", "Sn", "W", "Mo", "V", "Ce", "Fe", "Co", "Ni", "Mn", "Cu", "O", "N", "F",
                "C"}
    assert required <= depositable_elements()


def test_every_library_coating_element_has_a_precursor(lib: pd.DataFrame) -> None:
    deposit = depositable_elements()
    for elements in lib["elements"]:
        assert set(elements.split()) <= deposit, elements


def test_records_and_citations() -> None:
    procs = coating_processes()
    assert all(isinstance(p, CoatingProcess) for p in procs)
    assert len(procs) == len(load_coating_library())
    assert all(isinstance(p, Precursor) for p in precursor_records())
    cites = citations()
    assert len(cites) == len(set(cites)) and len(cites) >= 30
    assert any("10.1002/inf2.12650" in c for c in cites)


def test_loaders_return_copies() -> None:
    a = load_coating_library()
    a.loc[:, "coating"] = "XX"
    assert (load_coating_library()["coating"] != "XX").all()


def test_validation_rejects_broken_tables() -> None:
    raw = library._read_csv(library.LIBRARY_FILE)
    bad = raw.copy()
    bad.loc[0, "source"] = ""
    bad.loc[1, "coating"] = "Xq2O3"
    bad.loc[2, "temperature_min_c"] = "500"
    bad.loc[2, "temperature_max_c"] = "100"
    with pytest.raises(ValidationError) as info:
        library._validate_library(bad)
    columns = {p.column for p in info.value.problems}
    assert {"source", "coating", "temperature_min_c"} <= columns
    pre = library._read_csv(library.PRECURSOR_FILE).copy()
    pre.loc[0, "element"] = "Qq"
    with pytest.raises(ValidationError):
        library._validate_precursors(pre)
