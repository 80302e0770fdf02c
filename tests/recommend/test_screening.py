"""The physics screening (coatml.recommend.screening): a value, an uncertainty, a status, a
reason and a source for every candidate and criterion; missing data is unknown, never a pass."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from coatml.recommend.candidates import enumerate_candidates
from coatml.recommend.screening import (
    CRITERIA,
    KINETIC_MARGIN_V,
    SCREEN_COLUMNS,
    screen_candidates,
    screening_summary,
)

NMC = "LiNi0.8Mn0.1Co0.1O2"


@pytest.fixture(scope="module")
def library() -> pd.DataFrame:
    return enumerate_candidates()[lambda d: d["in_library"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def nmc_sulfide(library: pd.DataFrame) -> pd.DataFrame:
    return screen_candidates(library, NMC, "Li6PS5Cl")


def _row(table: pd.DataFrame, coating: str, criterion: str) -> pd.Series:
    rows = table[(table["coating"] == coating) & (table["criterion"] == criterion)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_every_candidate_gets_every_criterion_with_a_source(nmc_sulfide: pd.DataFrame,
                                                           library: pd.DataFrame) -> None:
    assert list(nmc_sulfide.columns) == list(SCREEN_COLUMNS)
    assert len(nmc_sulfide) == len(library) * len(CRITERIA)
    assert set(nmc_sulfide["status"]) <= {"pass", "warn", "fail", "unknown"}
    assert nmc_sulfide["source"].str.strip().ne("").all()
    assert nmc_sulfide["reason"].str.strip().ne("").all()
    counts = nmc_sulfide.groupby("coating")["criterion"].apply(tuple)
    assert all(c == CRITERIA for c in counts)


def test_no_status_is_a_pass_without_a_value_unless_not_applicable(
        nmc_sulfide: pd.DataFrame) -> None:
    passed = nmc_sulfide[nmc_sulfide["status"] == "pass"]
    no_value = passed[passed["value"].isna()]
    assert (no_value["method"] == "not-applicable").all(), no_value


def test_cu2o_on_nmc_against_a_sulfide_fails(nmc_sulfide: pd.DataFrame) -> None:
    redox = _row(nmc_sulfide, "Cu2O", "cathode_redox")
    assert redox["status"] == "fail" and "Cu+1" in redox["reason"]
    summary = screening_summary(nmc_sulfide).set_index("coating")
    assert summary.loc["Cu2O", "screen_verdict"] == "fail"
    assert "oxidised at the 4.3 V cathode" in summary.loc["Cu2O", "screen_reasons"]


def test_oxidation_limit_reason_names_value_and_cut_off(nmc_sulfide: pd.DataFrame) -> None:
    row = _row(nmc_sulfide, "LiNbO3", "oxidation_limit")
    assert row["value"] == 3.88 and row["uncertainty"] == 0.0
    # 0.42 V past a computed limit is within the kinetic margin: a warning, not a failure
    assert KINETIC_MARGIN_V > 4.3 - 3.88 and row["status"] == "warn"
    assert "3.88 V" in row["reason"] and "4.3 V cut-off" in row["reason"]
    assert "Zhu" in row["source"]


def test_estimated_limits_carry_their_uncertainty(nmc_sulfide: pd.DataFrame) -> None:
    row = _row(nmc_sulfide, "TiO2", "reduction_limit")
    assert row["method"] == "thermo" and row["uncertainty"] > 0
    assert f"+/- {row['uncertainty']:.2f} V" in row["reason"]


def test_missing_enthalpy_is_unknown_never_a_silent_pass(nmc_sulfide: pd.DataFrame) -> None:
    row = _row(nmc_sulfide, "ZrO2", "anion_exchange")
    assert row["status"] == "unknown" and "Zr+4 S" in row["reason"]
    assert math.isnan(row["value"])
    ok = _row(nmc_sulfide, "SiO2", "anion_exchange")
    assert ok["status"] == "pass" and ok["value"] > 0 and "SiS2" in ok["source"]


def test_li_metal_reduces_linbo3(library: pd.DataFrame) -> None:
    table = screen_candidates(library, "Li", "Li7La3Zr2O12")
    row = _row(table, "LiNbO3", "reduction_limit")
    assert row["status"] == "fail" and "reduced by Li metal" in row["reason"]
    na = _row(table, "Al2O3", "anion_exchange")  # oxide electrolyte: nothing to exchange
    assert na["status"] == "pass" and na["method"] == "not-applicable"
    dep = _row(table, "Al2O3", "process_window")
    assert "degC" in dep["reason"]


def test_inventory_without_an_al_precursor_fails_deposition(library: pd.DataFrame) -> None:
    table = screen_candidates(library, NMC, "Li6PS5Cl", inventory=["DEZ", "H2O"])
    assert _row(table, "Al2O3", "precursors")["status"] == "fail"
    assert "Al" in _row(table, "Al2O3", "precursors")["reason"]
    assert _row(table, "ZnO", "precursors")["status"] == "pass"


def test_summary_verdicts(nmc_sulfide: pd.DataFrame) -> None:
    summary = screening_summary(nmc_sulfide)
    assert len(summary) == nmc_sulfide["coating"].nunique()
    for verdict, grp in summary.groupby("screen_verdict"):
        if verdict == "fail":
            assert (grp["n_fail"] > 0).all()
        elif verdict == "warn":
            assert ((grp["n_fail"] == 0) & (grp["n_warn"] + grp["n_unknown"] > 0)).all()
        else:
            assert (grp[["n_fail", "n_warn", "n_unknown"]] == 0).all().all()


def test_bad_thickness_is_refused(library: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="thickness_nm"):
        screen_candidates(library.head(2), NMC, "Li6PS5Cl", thickness_nm=0.0)


def test_the_electrolyte_oxidises_a_coating_below_its_reduction_limit() -> None:
    pool = enumerate_candidates()
    li3n_like = pool[pool["reduced_formula"] == "Li3N"]
    if li3n_like.empty:  # Li3N is a Li salt; build the row from the library schema
        li3n_like = pool.head(1).assign(coating="Li3N", reduced_formula="Li3N",
                                        elements="Li N", li_fraction=0.75)
    row = _row(screen_candidates(li3n_like, NMC, "Li6PS5Cl"), "Li3N", "electrolyte_redox")
    # Li3N's N3- is oxidised at -H(Li3N)/(3F) ~ 0.57 V, far below the sulfide's 1.71 V
    assert row["status"] == "fail" and "electrolyte oxidises the coating" in row["reason"]
    assert row["value"] > 1.0
