"""Validation rules: each rule has a test that feeds a file breaking it."""

from __future__ import annotations

import string

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coatml.data.schema import COLUMN_NAMES
from coatml.data.validation import parse_csv_text, validate_frame
from coatml.exceptions import ValidationError

HEADER = ("electrode,electrolyte,coating,coated_component,method,precursors,temperature_c,"
          "gpc_angstrom,cycles,thickness_nm,cycle_number,capacity_retention_pct,"
          "interface_resistance_ohm_cm2,source")
GOOD_ROW = ("LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,LiNbO3,electrode,ALD,LiOtBu/Nb(OEt)5,235,2,10,,100,"
            "85,40,lab notebook 7")
BARE_ROW = "LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,,,,,,,,,100,40,300,lab notebook 7"


def validate(text: str, **kw: object):
    return validate_frame(parse_csv_text(text, "t.csv"), source_name="t.csv", **kw)


def problems(text: str) -> list[str]:
    with pytest.raises(ValidationError) as info:
        validate(text)
    return [str(p) for p in info.value.problems]


def test_good_file_is_typed_and_derives_thickness() -> None:
    table = validate(f"{HEADER}\n{GOOD_ROW}\n{BARE_ROW}\n")
    rec = table.records
    assert list(rec.columns) == list(COLUMN_NAMES)
    assert rec.iloc[0]["thickness_nm"] == pytest.approx(2.0)  # 2 A x 10 cycles = 2 nm
    assert bool(rec.iloc[0]["thickness_derived"]) is True
    assert rec.iloc[1]["method"] == "none" and rec.iloc[1]["coated_component"] == "none"
    assert rec["record_id"].str.startswith("r-").all()
    assert rec["data_kind"].tolist() == ["lab", "lab"]


def test_unknown_element_names_row_and_column() -> None:
    bad = GOOD_ROW.replace("LiNbO3", "LiXx2O3")
    msgs = problems(f"{HEADER}\n{GOOD_ROW}\n{bad}\n")
    assert len(msgs) == 1
    assert msgs[0].startswith("row 3, column coating:") and "Xx" in msgs[0]


def test_unbalanced_parenthesis() -> None:
    bad = GOOD_ROW.replace("Li6PS5Cl", "Li3(PS4", 1)
    msgs = problems(f"{HEADER}\n{bad}\n")
    assert msgs == ["row 2, column electrolyte: 'Li3(PS4' has unbalanced parentheses"]


def test_negative_thickness_and_gpc() -> None:
    bad = GOOD_ROW.replace(",2,10,,", ",-2,10,-1,")
    msgs = problems(f"{HEADER}\n{bad}\n")
    assert any(m.startswith("row 2, column gpc_angstrom:") for m in msgs)
    assert any(m.startswith("row 2, column thickness_nm:") for m in msgs)


def test_temperature_below_absolute_zero() -> None:
    msgs = problems(f"{HEADER}\n{GOOD_ROW.replace(',235,', ',-300,')}\n")
    assert msgs[0].startswith("row 2, column temperature_c:")


def test_retention_range_and_resistance_positive() -> None:
    bad = GOOD_ROW.replace(",85,40,", ",250,0,")
    msgs = problems(f"{HEADER}\n{bad}\n")
    assert any("capacity_retention_pct" in m and "above 200" in m for m in msgs)
    assert any("interface_resistance_ohm_cm2" in m and "above 0" in m for m in msgs)


def test_value_with_unit_is_rejected() -> None:
    msgs = problems(f"{HEADER}\n{GOOD_ROW.replace(',235,', ',235 C,')}\n")
    assert msgs == ["row 2, column temperature_c: '235 C' carries a unit; write the number "
                    "alone in degC"]


def test_wrong_unit_column_name() -> None:
    header = HEADER.replace("thickness_nm", "thickness_angstrom")
    msgs = problems(f"{header}\n{GOOD_ROW}\n")
    assert msgs[0].startswith("row 1, column thickness_angstrom: wrong unit")


def test_unknown_column_and_missing_required() -> None:
    header = HEADER.replace("source", "reference")
    msgs = problems(f"{header}\n{GOOD_ROW}\n")
    assert "row 1, column reference: unknown column (see `coatml data schema`)" in msgs
    assert "row 1, column source: required column is missing" in msgs


def test_enum_values() -> None:
    msgs = problems(f"{HEADER}\n{GOOD_ROW.replace(',ALD,', ',spray,')}\n")
    assert msgs == ["row 2, column method: 'spray' is not one of ALD, MLD, CVD, PLD, sputtering, "
                    "evaporation, wet_chemistry, in_situ, other, none"]
    table = validate(f"{HEADER}\n{GOOD_ROW.replace(',ALD,', ',ald,')}\n")
    assert table.records.iloc[0]["method"] == "ALD"
    table = validate(f"{HEADER}\n{GOOD_ROW.replace(',ALD,', ',Sputtering,')}\n")
    assert table.records.iloc[0]["method"] == "sputtering"


def test_coated_record_needs_method_and_bare_has_no_recipe() -> None:
    msgs = problems(f"{HEADER}\n{GOOD_ROW.replace(',ALD,', ',,')}\n")
    assert msgs == ["row 2, column method: a coated record needs a deposition method (ALD, MLD, "
                    "CVD, PLD, sputtering, evaporation, wet_chemistry, in_situ, other)"]
    bare = BARE_ROW.replace(",,,,,,,,,100", ",,,,,250,,,,100")
    msgs = problems(f"{HEADER}\n{bare}\n")
    assert msgs == ["row 2, column temperature_c: a bare control (empty coating) has no "
                    "deposition recipe"]


def test_nd_is_missing_not_zero() -> None:
    table = validate(f"{HEADER}\n{GOOD_ROW.replace(',2,10,', ',ND,10,')}\n")
    assert pd.isna(table.records.iloc[0]["gpc_angstrom"])
    assert pd.isna(table.records.iloc[0]["thickness_nm"])


def test_thickness_disagreement_is_a_warning() -> None:
    text = f"{HEADER}\n{GOOD_ROW.replace(',2,10,,', ',2,10,5,')}\n"
    table = validate(text)
    assert table.records.iloc[0]["thickness_nm"] == 5.0
    assert any(w.column == "thickness_nm" and "disagrees" in w.reason for w in table.warnings)


def test_deposition_temperature_outside_usual_range_warns() -> None:
    table = validate(f"{HEADER}\n{GOOD_ROW.replace(',235,', ',650,')}\n")
    assert [w.column for w in table.warnings] == ["temperature_c"]


def test_duplicate_row_and_duplicate_id() -> None:
    msgs = problems(f"{HEADER}\n{GOOD_ROW}\n{BARE_ROW}\n{GOOD_ROW}\n")
    assert msgs == ["row 4: duplicate of row 2"]
    header = "record_id," + HEADER
    text = f"{header}\na,{GOOD_ROW}\na,{BARE_ROW}\n"
    assert problems(text) == ["row 3, column record_id: 'a' is used again (first at row 2)"]


def test_truncated_csv_names_row() -> None:
    text = f"{HEADER}\n{GOOD_ROW}\n{GOOD_ROW[:40]}"
    with pytest.raises(ValidationError) as info:
        parse_csv_text(text, "t.csv")
    assert str(info.value.problems[0]).startswith("row 3: has ")


def test_unterminated_quote_is_an_error() -> None:
    text = f'{HEADER}\n{GOOD_ROW}\n"LiCoO2,Li6PS5Cl'
    with pytest.raises(ValidationError):
        validate(text)


def test_all_problems_reported_at_once() -> None:
    bad1 = GOOD_ROW.replace("LiNbO3", "Qq")
    bad2 = GOOD_ROW.replace(",85,", ",-5,")
    msgs = problems(f"{HEADER}\n{bad1}\n{bad2}\n")
    assert [m.split(":")[0] for m in msgs] == ["row 2, column coating",
                                                "row 3, column capacity_retention_pct"]


def test_default_source_fills_empty_source() -> None:
    header = HEADER.replace(",source", "")
    row = GOOD_ROW.rsplit(",", 1)[0]
    with pytest.raises(ValidationError):
        validate(f"{header}\n{row}\n")
    table = validate(f"{header}\n{row}\n", default_source="notebook 12")
    assert table.records.iloc[0]["source"] == "notebook 12"


def test_proposal_prediction_columns_are_ignored() -> None:
    header = HEADER + ",pred_capacity_retention_pct_mean,acq_score"
    table = validate(f"{header}\n{GOOD_ROW},80.5,0.3\n")
    assert table.ignored_columns == ["pred_capacity_retention_pct_mean", "acq_score"]


csv_alphabet = st.sampled_from(list(string.printable) + ["é", "Å", "\u00b0", "\ufeff"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=csv_alphabet, max_size=400))
def test_random_text_never_crashes_the_parser(text: str) -> None:
    """Arbitrary text either validates or raises ValidationError: never another exception."""
    try:
        validate(text)
    except ValidationError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.reason


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(min_value=1, max_value=len(HEADER) + 2 * len(GOOD_ROW)),
       data=st.data())
def test_truncated_or_corrupted_files_fail_cleanly(cut: int, data: st.DataObject) -> None:
    full = f"{HEADER}\n{GOOD_ROW}\n{BARE_ROW}\n"
    text = full[:cut]
    position = data.draw(st.integers(min_value=0, max_value=max(0, len(text) - 1)))
    char = data.draw(st.sampled_from([",", '"', "\n", "x", "-", ""]))
    text = text[:position] + char + text[position + 1:]
    try:
        table = validate(text)
    except ValidationError as exc:
        assert all(str(p) for p in exc.problems)
    else:
        assert len(table.records) >= 1
        assert table.records["electrode"].notna().all()


@settings(max_examples=100, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_numeric_ranges_are_enforced(value: float) -> None:
    row = GOOD_ROW.replace(",85,", f",{value!r},")
    text = f"{HEADER}\n{row}\n"
    if 0.0 <= value <= 200.0:
        assert validate(text).records.iloc[0]["capacity_retention_pct"] == value
    else:
        assert problems(text)[0].startswith("row 2, column capacity_retention_pct:")
