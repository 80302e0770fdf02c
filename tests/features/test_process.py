"""Precursor parsing and the process / test-condition blocks."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coatml.features.process import (
    PRECURSOR_VOCABULARY,
    PrecursorWarning,
    condition_feature_labels,
    condition_features,
    parse_precursors,
    process_feature_labels,
    process_features,
    warn_unknown_precursors,
)

SEED = Path(__file__).resolve().parents[3] / "shared/seed/000_5ceb1318e89bc595.txt"

# Expected delivered elements of every precursor text in the review's Table 2, written out by
# hand (key: the text with tags and whitespace removed). See process.py for what "delivered"
# means; MoCl5 counts Mo (documented decision).
TABLE2_EXPECTED = {
    "TMA/H2O": {"Al", "O"},
    "Cr,TMA/H2O": {"Cr", "Al", "O"},
    "(CH3)3COLi/Nb(OC2H5)5": {"Li", "Nb"},
    "(CH3)3COLi/(CH3O)3PO": {"Li", "P", "O"},
    "[(CH3)2N]4Zr/(CH3)3COLi/H2O": {"Zr", "Li", "O"},
    "(CH3)3COLi/[(CH3)2CHO]3B/O3": {"Li", "B", "O"},
    "Zr[N(CH2CH3)4(CH3)4]/O3": {"Zr", "O"},
    "[(CH3)2N]4Zr/H2O": {"Zr", "O"},
    "(C2H5)2Zn/H2O": {"Zn", "O"},
    "Hf[N(CH2CH3)4(CH3)4]/O3": {"Hf", "O"},
    "B(N(CH3)2)3/NH3": {"B", "N"},
    "MoCl5/EDOT(C6H6O2S)": {"Mo", "Cl", "C", "O", "S"},
    "TMA/(CH2OH)2": {"Al", "C", "O"},
    "(CH3)3COLi/(CH2OH)2": {"Li", "C", "O"},
    "Li(thd)/TPA": {"Li", "C", "O"},
    "LiHMDS/HQ/DEPA": {"Li", "C", "O", "P", "N"},
}


def _table2_precursor_texts() -> list[str]:
    """The Precursor column of Table 2 (lines 111-146 of the review), as printed."""
    lines = SEED.read_text(encoding="utf-8").splitlines()[110:146]
    texts = []
    for line in lines:
        fields = line.split("\t")
        if len(fields) < 9 or fields[0] == "Method":
            continue
        texts.append(re.sub(r"</?su[bp]>", "", fields[3]).strip())
    return texts


def test_every_table2_precursor_text_gives_the_expected_elements():
    texts = _table2_precursor_texts()
    assert len(texts) == 27  # every data row of Table 2 (21 ALD + 6 MLD)
    seen = set()
    for text in texts:
        key = re.sub(r"\s+", "", text)
        assert key in TABLE2_EXPECTED, f"unexpected Table 2 precursor text {text!r}"
        chem = parse_precursors(text)
        assert chem.unknown == (), text
        assert set(chem.delivers) == TABLE2_EXPECTED[key], text
        seen.add(key)
    assert seen == set(TABLE2_EXPECTED)


@pytest.mark.parametrize(
    ("text", "families", "oxidants"),
    [
        ("TMA/H2O", {"alkyl"}, {"h2o"}),
        ("(CH3)3COLi/Nb(OC2H5)5", {"alkoxide"}, set()),
        ("[(CH3)2N]4Zr/ (CH3)3COLi/ H2O", {"amide", "alkoxide"}, {"h2o"}),
        ("Li(thd)/TPA", {"beta_diketonate", "organic_linker"}, set()),
        ("LiHMDS/HQ/DEPA", {"silylamide", "organic_linker", "alkoxide"}, set()),
        ("MoCl5/EDOT (C6H6O2S)", {"halide", "organic_linker"}, {"metal_halide"}),
        ("B(N(CH3)2)3 /NH3", {"amide"}, {"nh3"}),
        ("TDMAT/O2 plasma", {"amide"}, {"o2_plasma"}),
        ("TEOS/TMA/H2O", {"alkoxide", "alkyl"}, {"h2o"}),
    ],
)
def test_ligand_families_and_oxidants(text, families, oxidants):
    chem = parse_precursors(text)
    assert set(chem.families) == families
    assert set(chem.oxidants) == oxidants
    assert chem.unknown == ()


@pytest.mark.parametrize(
    ("text", "delivers", "family"),
    [
        ("Ti(OCH(CH3)2)4", {"Ti"}, "alkoxide"),
        ("ZrCl4", {"Zr", "Cl"}, "halide"),
        ("Ta[N(CH3)2]5", {"Ta"}, "amide"),
        ("Al(C2H5)3", {"Al"}, "alkyl"),
    ],
)
def test_unlisted_metal_organics_fall_back_to_formula_rules(text, delivers, family):
    chem = parse_precursors(text)
    assert chem.unknown == ()
    assert set(chem.delivers) == delivers
    assert set(chem.families) == {family}


def test_unknown_tokens_are_kept_not_dropped():
    chem = parse_precursors("TMA/frobnicate/H2O")
    assert chem.unknown == ("frobnicate",)
    assert set(chem.delivers) == {"Al", "O"}


_ALL_NAMES = [name for spec in PRECURSOR_VOCABULARY for name in spec.names]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(_ALL_NAMES), min_size=1, max_size=4),
    st.lists(st.sampled_from(["/", " / ", ", ", "; ", "+"]), min_size=4, max_size=4),
)
def test_joined_vocabulary_names_parse_to_the_union_of_their_elements(names, seps):
    text = names[0] + "".join(s + n for s, n in zip(seps, names[1:], strict=False))
    chem = parse_precursors(text)
    by_name = {n: spec for spec in PRECURSOR_VOCABULARY for n in spec.names}
    expected = set().union(*(set(by_name[n].delivers) for n in names))
    assert chem.unknown == ()
    assert set(chem.delivers) == expected
    assert len(chem.recognised) == len(names)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_without_raising_and_accounts_for_every_token(text):
    chem = parse_precursors(text)
    assert len(chem.recognised) + len(chem.unknown) == len(chem.tokens)


def _frame(**columns):
    return pd.DataFrame(columns)


def test_thickness_is_derived_from_gpc_and_cycles_and_flagged():
    frame = _frame(method=["ALD", "ALD", "ALD"], gpc_angstrom=[1.1, 1.1, np.nan],
                   cycles=[20, 20, 20], thickness_nm=[np.nan, 3.0, np.nan],
                   precursors=["TMA/H2O"] * 3)
    out, _ = process_features(frame, np.array([1, 1, 1]))
    col = {n: i for i, n in enumerate(process_feature_labels())}
    assert out[0, col["thickness_nm"]] == pytest.approx(2.2)
    assert out[0, col["thickness_derived"]] == 1.0
    assert out[1, col["thickness_nm"]] == 3.0
    assert out[1, col["thickness_derived"]] == 0.0
    assert np.isnan(out[2, col["thickness_nm"]]) and np.isnan(out[2, col["thickness_derived"]])
    assert out[1, col["log10_thickness_nm"]] == pytest.approx(np.log10(3.0))


def test_bare_controls_and_unreported_precursors_are_nan_not_zero():
    frame = _frame(method=["", "ALD"], precursors=["", ""], temperature_c=[150.0, 150.0],
                   coated_component=["", "electrode"])
    out, unknown = process_features(frame, np.array([0, 1]))
    col = {n: i for i, n in enumerate(process_feature_labels())}
    assert unknown == []
    assert out[0, col["method_none"]] == 1.0 and out[0, col["method_ald"]] == 0.0
    assert np.isnan(out[0, col["temperature_c"]])
    assert out[1, col["temperature_c"]] == 150.0
    assert out[1, col["coated_electrode"]] == 1.0
    assert np.isnan(out[0, col["delivers_Al"]])
    assert out[1, col["precursors_reported"]] == 0.0
    assert np.isnan(out[1, col["delivers_Al"]])
    assert np.isnan(out[1, col["precursor_unknown_tokens"]])


def test_unknown_precursor_tokens_are_counted_and_warned():
    frame = _frame(method=["ALD"], precursors=["TMA/mystery-juice"])
    out, unknown = process_features(frame, np.array([1]))
    col = {n: i for i, n in enumerate(process_feature_labels())}
    assert out[0, col["precursor_unknown_tokens"]] == 1.0
    assert out[0, col["delivers_Al"]] == 1.0
    with pytest.warns(PrecursorWarning, match="mystery-juice"):
        warn_unknown_precursors(unknown, 1)


def test_condition_features():
    frame = _frame(cycle_number=[50, np.nan], c_rate=[0.5, 0.0], cell_type=["full", ""],
                   test_temperature_c=[60, 25], current_density_ma_cm2=[np.nan, 0.1])
    out = condition_features(frame)
    col = {n: i for i, n in enumerate(condition_feature_labels())}
    assert out[0, col["cycle_number"]] == 50 and np.isnan(out[1, col["cycle_number"]])
    assert out[0, col["log10_c_rate"]] == pytest.approx(np.log10(0.5))
    assert np.isnan(out[1, col["log10_c_rate"]])
    assert out[0, col["cell_full"]] == 1.0 and out[0, col["cell_half"]] == 0.0
    assert np.isnan(out[1, col["cell_full"]])


def test_every_precursor_of_the_shared_table_is_recognised() -> None:
    """The featurizer knows every metal precursor the coating library can propose."""
    from coatml.recommend.library import load_precursors

    table = load_precursors()
    for _, row in table.iterrows():
        if row["element"] in ("O", "N", "F", "S", "C", "H"):
            continue
        short = str(row["precursor"]).split(" (")[0].strip()
        chem = parse_precursors(f"{short}/H2O")
        assert chem.unknown == (), (short, chem.unknown)
        curated = any(short in spec.names for spec in PRECURSOR_VOCABULARY)
        if not curated:  # the hand-curated vocabulary wins where both name a precursor
            assert row["element"] in chem.delivers, (short, chem.delivers)
