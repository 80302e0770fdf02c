"""Bad data in: each case of issue #14's list is refused with a message naming row, column and
reason, and nothing reaches the store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from coatml.data.store import RecordStore, spreadsheet_safe
from coatml.data.validation import parse_csv_text, validate_frame
from coatml.exceptions import FormulaError, ValidationError
from tests.data.test_validation import BARE_ROW, GOOD_ROW, HEADER

PAIR_HEADER = HEADER + ",pair_id"
FAILED_HEADER = HEADER + ",cell_failed"


def problems(text: str, **kw: object) -> list[str]:
    with pytest.raises(ValidationError) as info:
        validate_frame(parse_csv_text(text, "t.csv"), source_name="t.csv", **kw)
    return [str(p) for p in info.value.problems]


CELL_CASES = [
    # (what, row text, expected start of the one problem)
    ("overflow formula", GOOD_ROW.replace("LiNbO3", "Li100000000000000000000000000000O"),
     "row 2, column coating: 'Li100000000000000000000000000000O' has 1e+29 Li"),
    ("NaN as electrode", GOOD_ROW.replace("LiNi0.8Mn0.1Co0.1O2", "NaN"),
     "row 2, column electrode: 'NaN' is ambiguous"),
    ("NaN as coating", GOOD_ROW.replace("LiNbO3", "NaN"),
     "row 2, column coating: 'NaN' is ambiguous: the formula Na1N1 or 'not a number'?"),
    ("NA as electrode", GOOD_ROW.replace("LiNi0.8Mn0.1Co0.1O2", "NA"),
     "row 2, column electrode: 'NA' means 'not reported', but electrode is required"),
    ("Na coating without a method", GOOD_ROW.replace("LiNbO3", "Na").replace(",ALD,", ",,"),
     "row 2, column method: a coated record needs a deposition method"),
    ("underscore digits", GOOD_ROW.replace(",235,", ",2_0,"),
     "row 2, column temperature_c: '2_0' is not a plain number"),
    ("Arabic-Indic digits", GOOD_ROW.replace(",235,", ",٢٣٥,"),
     "row 2, column temperature_c: '٢٣٥' is not a plain number"),
    ("cycle_number 1e308", GOOD_ROW.replace(",100,85,", ",1e308,85,"),
     "row 2, column cycle_number: 1e+308 is above 1e+06 cycles"),
    ("resistance 1e-300", GOOD_ROW.replace(",85,40,", ",85,1e-300,"),
     "row 2, column interface_resistance_ohm_cm2: 1e-300 is below 1e-06 ohm cm2"),
    ("overflowing number", GOOD_ROW.replace(",85,40,", ",85,1e999,"),
     "row 2, column interface_resistance_ohm_cm2: '1e999' is not a finite number"),
    ("decimal comma", GOOD_ROW.replace(",235,", ',"235,5",'),
     "row 2, column temperature_c: '235,5' uses a decimal comma; write it with a decimal "
     "point (235.5)"),
    ("thousands separator", GOOD_ROW.replace(",100,85,", ',"1,000,000",85,'),
     "row 2, column cycle_number: '1,000,000' has a thousands separator"),
    ("comma decimal or thousands", GOOD_ROW.replace(",100,85,", ',"1,000",85,'),
     "row 2, column cycle_number: '1,000' has a comma: a decimal comma (1.000) or a thousands "
     "separator (1000)?"),
    ("date in a numeric column", GOOD_ROW.replace(",235,", ",2024-01-05,"),
     "row 2, column temperature_c: '2024-01-05' looks like a date"),
    ("bare control on an electrode", BARE_ROW.replace(",,,,,,,,,100", ",,electrode,,,,,,,100"),
     "row 2, column coated_component: coated_component is electrode but coating is empty"),
    ("NA as electrolyte", GOOD_ROW.replace("Li6PS5Cl", "n/a"),
     "row 2, column electrolyte: 'n/a' means 'not reported', but electrolyte is required"),
]


@pytest.mark.parametrize(("what", "row", "expected"), CELL_CASES, ids=[c[0] for c in CELL_CASES])
def test_bad_cell_is_refused_with_row_and_column(what: str, row: str, expected: str) -> None:
    msgs = problems(f"{HEADER}\n{row}\n")
    assert len(msgs) == 1, msgs
    assert msgs[0].startswith(expected), msgs


@pytest.mark.parametrize("sodium", ["Na", "Na1"])
def test_na_written_as_the_element_is_sodium_not_missing(sodium: str) -> None:
    table = validate_frame(parse_csv_text(
        f"{HEADER}\n{GOOD_ROW.replace('LiNbO3', sodium)}\n", "t.csv"))
    assert table.records.iloc[0]["coating"] == sodium
    assert table.records.iloc[0]["method"] == "ALD"  # a coated record, not a bare control


def test_cell_failed_with_a_target_is_refused_and_without_is_kept() -> None:
    msgs = problems(f"{FAILED_HEADER}\n{GOOD_ROW},true\n")
    assert msgs == [
        f"row 2, column {t}: cell_failed is true, so the cell gave no usable measurement; "
        "leave the target empty or set cell_failed to false"
        for t in ("capacity_retention_pct", "interface_resistance_ohm_cm2")]
    ok = GOOD_ROW.replace(",85,40,", ",,,")
    table = validate_frame(parse_csv_text(f"{FAILED_HEADER}\n{ok},true\n", "t.csv"))
    assert bool(table.records.iloc[0]["cell_failed"]) is True


def test_pair_id_joining_different_electrodes_is_refused() -> None:
    other = BARE_ROW.replace("LiNi0.8Mn0.1Co0.1O2", "LiCoO2")
    msgs = problems(f"{PAIR_HEADER}\n{GOOD_ROW},p1\n{other},p1\n")
    assert msgs == ["row 3, column pair_id: pair_id 'p1' joins electrode 'LiCoO2' with "
                    "'LiNi0.8Mn0.1Co0.1O2' (row 2); a pair compares one electrode coated and "
                    "bare"]
    validate_frame(parse_csv_text(f"{PAIR_HEADER}\n{GOOD_ROW},p1\n{BARE_ROW},p1\n", "t.csv"))


def test_pair_id_checked_against_the_store(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(f"{PAIR_HEADER}\n{GOOD_ROW},p1\n", encoding="utf-8")
    second.write_text(f"{PAIR_HEADER}\n{BARE_ROW.replace('Li6PS5Cl', 'Li3PS4')},p1\n",
                      encoding="utf-8")
    with RecordStore(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.add_file(first)
        with pytest.raises(ValidationError) as info:
            store.add_file(second)
        assert "pair_id 'p1' joins electrolyte 'Li3PS4'" in str(info.value)
        assert store.count() == 1


def test_unknown_data_kind_is_refused() -> None:
    msgs = problems(f"{HEADER}\n{GOOD_ROW}\n", default_data_kind="hacked")
    assert msgs == ["column data_kind: the default data_kind must be one of literature, lab, "
                    "synthetic, not 'hacked'"]


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_other_delimiter_is_named(delimiter: str, name: str) -> None:
    text = f"{HEADER}\n{GOOD_ROW}\n".replace(",", delimiter)
    with pytest.raises(ValidationError) as info:
        parse_csv_text(text, "t.csv")
    assert f"row 1: the header is one column separated by {name}" in str(info.value)


def test_overflow_formula_is_a_formula_error() -> None:
    from coatml.data.formulas import parse_formula

    with pytest.raises(FormulaError, match="at most 1000"):
        parse_formula("Li1000000000000000000000000000000000000000O")
    with pytest.raises(FormulaError, match="characters long"):
        parse_formula("Li" * 150)


def _xlsx_rows() -> list[dict[str, str]]:
    return [dict(zip(HEADER.split(","), r.split(","), strict=True)) for r in (GOOD_ROW, BARE_ROW)]


def _add_refused(tmp_path: Path, path: Path) -> str:
    with RecordStore(f"sqlite:///{tmp_path / 's.db'}") as store:
        with pytest.raises(ValidationError) as info:
            store.add_file(path)
        assert store.count() == 0
    return str(info.value)


def test_xlsx_with_data_on_two_sheets_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame(_xlsx_rows()).to_excel(writer, sheet_name="batch1", index=False)
        pd.DataFrame(_xlsx_rows()[:1]).to_excel(writer, sheet_name="batch2", index=False)
    assert "data on 2 sheets ('batch1', 'batch2')" in _add_refused(tmp_path, path)


def test_xlsx_formula_cell_is_refused(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    header = HEADER.split(",")
    sheet.append(header)
    sheet.append(GOOD_ROW.split(","))
    sheet.cell(row=2, column=header.index("cycle_number") + 1, value="=100+50")
    path = tmp_path / "formula.xlsx"
    book.save(path)
    message = _add_refused(tmp_path, path)
    assert "row 2, column cycle_number: formula '=100+50'" in message


def test_xlsx_with_an_empty_second_sheet_is_read(tmp_path: Path) -> None:
    path = tmp_path / "one.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame(_xlsx_rows()).to_excel(writer, sheet_name="records", index=False)
        pd.DataFrame().to_excel(writer, sheet_name="notes", index=False)
    with RecordStore(f"sqlite:///{tmp_path / 's.db'}") as store:
        assert store.add_file(path).n_added == 2


@pytest.mark.parametrize("case", ["csv renamed", "truncated", "folder", "device"])
def test_unreadable_files_are_refused_clearly(tmp_path: Path, case: str) -> None:
    if case == "csv renamed":
        path = tmp_path / "renamed.xlsx"
        path.write_text(f"{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
        expected = "not a readable XLSX workbook (it is text: a CSV renamed .xlsx?"
    elif case == "truncated":
        good = tmp_path / "good.xlsx"
        pd.DataFrame(_xlsx_rows()).to_excel(good, index=False)
        path = tmp_path / "truncated.xlsx"
        path.write_bytes(good.read_bytes()[:1500])
        expected = "not a readable XLSX workbook (truncated or damaged"
    elif case == "folder":
        path = tmp_path / "x.csv"
        path.mkdir()
        expected = "is a folder, not a file"
    else:  # an endless device would otherwise be read until memory runs out
        path = Path("/dev/zero")
        expected = "is not a regular file"
    assert expected in _add_refused(tmp_path, path)


def test_export_escapes_formula_cells() -> None:
    frame = pd.DataFrame({"source": ["=HYPERLINK(\"http://x\")", "+1", "-cmd", "@SUM(A1)",
                                     "doi:10.1/x", None],
                          "temperature_c": [-20.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    safe = spreadsheet_safe(frame)
    assert safe["source"].tolist()[:5] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-cmd",
                                           "'@SUM(A1)", "doi:10.1/x"]
    assert safe["source"].iloc[5] is None
    assert safe["temperature_c"].tolist() == frame["temperature_c"].tolist()


def test_validation_reports_progress() -> None:
    rows = "".join(f"{GOOD_ROW.replace('notebook 7', f'notebook {i}')}\n" for i in range(4100))
    calls: list[tuple[int, int]] = []
    validate_frame(parse_csv_text(f"{HEADER}\n{rows}", "t.csv"),
                   progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 4100), (2000, 4100), (4000, 4100), (4100, 4100)]


def test_unquoted_decimal_comma_is_suggested() -> None:
    with pytest.raises(ValidationError) as info:
        parse_csv_text(f"{HEADER}\n{GOOD_ROW.replace(',235,', ',235,5,')}\n", "t.csv")
    assert str(info.value.problems[0]) == (
        "row 2: has 15 fields but the header has 14 (a stray ',' or a decimal comma? Write "
        "235.5, not 235,5, and quote text cells that contain ',')")
