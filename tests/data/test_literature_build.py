"""The transcription-sheet converter and the double-transcription comparison, on small sheets
written here. The rows are made-up test input (DOIs under the 10.9999 test prefix), not
literature values; they only exercise the rules."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from coatml.data.literature import build, compare

DOI = "10.9999/test.one"


def row(**fields: str) -> dict[str, str]:
    base = {c: "" for c in build.SHEET_COLUMNS}
    base.update({"doi": DOI, "locator": "abstract", "electrode": "LiCoO2",
                 "electrolyte": "Li6PS5Cl", "electrolyte_type": "solid", "coating": "Al2O3",
                 "coated_component": "electrode", "method": "ALD", "cell_type": "full",
                 "is_bare_control": "false", "pair_key": "k1"})
    base.update(fields)
    return base


def write_sheet(folder: Path, name: str, rows: list[dict[str, str]]) -> None:
    with (folder / name).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(build.SHEET_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "t9_sources.txt").write_text(f"{DOI}\tTest citation\n", encoding="utf-8")
    return tmp_path


def test_outcomes_of_one_cell_merge_and_controls_pair(folder: Path) -> None:
    write_sheet(folder, "t9_first_pass.csv", [
        row(quantity="capacity_retention_pct", value="90", unit="%", cycle_number="100",
            c_rate="C/10", reported="90% after 100 cycles"),
        row(quantity="discharge_capacity_mah_g", value="150", unit="mA h g-1",
            cycle_number="100", c_rate="0.1", reported="150 mAh/g"),
        row(quantity="capacity_retention_pct", value="70", unit="%", cycle_number="100",
            c_rate="0.1", coating="", coated_component="", method="",
            is_bare_control="true", reported="70% for bare"),
        row(quantity="capacity_retention_pct", value="95", unit="%", cycle_number="50",
            c_rate="0.1", reported="95% after 50"),
    ])
    result = build.build(folder)
    assert not result.left_out
    recs = {r["record_id"]: r for r in result.records}
    coated = recs["doi-10.9999_test.one-k1-coated"]
    assert coated["capacity_retention_pct"] == "90.0"
    assert coated["discharge_capacity_mah_g"] == "150.0"
    assert coated["c_rate"] == "0.1" and coated["source"] == f"doi:{DOI}"
    assert coated["source_detail"] == "abstract"
    bare = recs["doi-10.9999_test.one-k1-bare"]
    assert bare["pair_id"] == coated["pair_id"] == "doi-10.9999_test.one-k1"
    lone = recs["doi-10.9999_test.one-k1-coated-2"]
    assert lone["cycle_number"] == "50.0" and lone["pair_id"] == ""
    assert len(result.provenance) == 4
    assert result.sources == [{"doi": DOI, "citation": "Test citation", "records": "3"}]


def test_exact_conversions_only_and_words_for_ohm_without_area(folder: Path) -> None:
    write_sheet(folder, "t9_first_pass.csv", [
        row(quantity="overpotential", value="0.05", unit="V", pair_key="a", cell_type="symmetric",
            electrode="Li", reported="50 mV"),
        row(quantity="interface_resistance_ohm_cm2", value="30", unit="Ω", pair_key="b",
            electrode="Li", cell_type="symmetric", reported="30 ohm"),
        row(quantity="discharge_capacity_mah_g", value="120", unit="mAh cm-2", pair_key="c"),
        row(quantity="capacity_fade_rate", value="0.1", unit="%/cycle", pair_key="d"),
        row(quantity="capacity_retention_pct", value="80", unit="%", pair_key="e",
            is_bare_control="true", reported="80"),
        row(quantity="capacity_retention_pct", value="about 80", unit="%", pair_key="f"),
    ])
    result = build.build(folder)
    recs = {r["record_id"]: r for r in result.records}
    assert float(recs["doi-10.9999_test.one-a-coated"]["overpotential_mv"]) == pytest.approx(50)
    words = recs["doi-10.9999_test.one-b-coated"]
    assert words["interface_resistance_ohm_cm2"] == ""
    assert "without the electrode area" in words["outcome_note"]
    reasons = {r: why for _, r, why in result.left_out}
    assert "no exact conversion" in reasons[4]
    assert "no schema column" in reasons[5]
    assert "bare control but names coating" in reasons[6]
    assert "not a plain number" in reasons[7]


def test_liquid_electrolyte_gets_the_liquid_class_and_unnamed_materials_stay_out(
        folder: Path) -> None:
    write_sheet(folder, "t9_first_pass.csv", [
        row(quantity="capacity_retention_pct", value="85", unit="%", pair_key="l",
            electrolyte="1 M LiPF6 in EC:DEC (1:1 by volume)", electrolyte_type="liquid",
            method="sol-gel"),
        row(quantity="capacity_retention_pct", value="85", unit="%", pair_key="m",
            electrolyte="", electrolyte_type="solid"),
        row(quantity="capacity_retention_pct", value="85", unit="%", pair_key="n",
            electrolyte="organic liquid", electrolyte_type="liquid"),
    ])
    result = build.build(folder)
    [rec] = result.records
    assert rec["electrolyte"] == "LiPF6 liquid electrolyte"
    assert rec["method"] == "wet_chemistry"
    assert rec["outcome_note"].startswith("liquid electrolyte")
    [prov] = result.provenance
    assert prov["electrolyte_reported"].startswith("1 M LiPF6")
    assert "method reported as 'sol-gel'" in prov["note"]
    reasons = {r: why for _, r, why in result.left_out}
    assert "not named by the source" in reasons[3]
    assert "names none of the salts" in reasons[4]


def test_a_record_failing_validation_is_left_out_with_its_reason(folder: Path) -> None:
    write_sheet(folder, "t9_first_pass.csv", [
        row(quantity="capacity_retention_pct", value="250", unit="%", pair_key="x"),
        row(quantity="capacity_retention_pct", value="90", unit="%", pair_key="y"),
    ])
    result = build.build(folder)
    assert [r["record_id"] for r in result.records] == ["doi-10.9999_test.one-y-coated"]
    [(sheet, number, reason)] = result.left_out
    assert (sheet, number) == ("t9_first_pass.csv", 2)
    assert "capacity_retention_pct" in reason and "250" in reason


def test_settlements_drop_or_set_a_first_pass_value(folder: Path) -> None:
    write_sheet(folder, "t9_first_pass.csv", [
        row(quantity="capacity_retention_pct", value="90", unit="%", pair_key="s"),
        row(quantity="discharge_capacity_mah_g", value="150", unit="mAh g-1", pair_key="t"),
    ])
    (folder / build.SETTLEMENTS_FILE).write_text(
        "sheet,sheet_row,quantity,action,field,settled_value,reason\n"
        "t9_first_pass.csv,2,capacity_retention_pct,set,value,91,the table prints 91\n"
        "t9_first_pass.csv,3,discharge_capacity_mah_g,drop,,,the figure is unreadable\n"
        "t9_second_pass.csv,2,cycle_life_h,add,,,the abstract states it\n",
        encoding="utf-8")
    write_sheet(folder, "t9_second_pass.csv", [
        row(quantity="cycle_life_h", value="400", unit="h", pair_key="u", electrode="Li",
            cell_type="symmetric"),
    ])
    result = build.build(folder)
    recs = {r["record_id"]: r for r in result.records}
    assert recs["doi-10.9999_test.one-s-coated"]["capacity_retention_pct"] == "91.0"
    assert recs["doi-10.9999_test.one-u-coated"]["cycle_life_h"] == "400.0"
    prov = {p["record_id"]: p for p in result.provenance}
    assert "settled against the source: the table prints 91" in \
        prov["doi-10.9999_test.one-s-coated"]["note"]
    assert prov["doi-10.9999_test.one-s-coated"]["transcription"].startswith("settled (set)")
    assert prov["doi-10.9999_test.one-u-coated"]["sheet"] == "t9_second_pass.csv"
    assert result.left_out == [("t9_first_pass.csv", 3, "settled: the figure is unreadable")]


def test_transcription_status_says_whether_the_second_pass_agrees(folder: Path) -> None:
    write_sheet(folder, "t9_first_pass.csv", [
        row(quantity="capacity_retention_pct", value="90", unit="%", pair_key="s"),
        row(quantity="discharge_capacity_mah_g", value="150", unit="mAh g-1", pair_key="t"),
        row(doi="10.9999/test.two", quantity="cycle_life_h", value="9", unit="h"),
    ])
    write_sheet(folder, "t9_second_pass.csv", [
        row(quantity="capacity_retention_pct", value="90", unit="%"),
        row(quantity="discharge_capacity_mah_g", value="160", unit="mAh g-1"),
    ])
    status = {p["sheet_row"]: p["transcription"] for p in build.build(folder).provenance}
    assert status["2"] == "double-checked: agrees with the second pass"
    assert status["3"].startswith("double-checked: value disagreement with t9_second_pass.csv:3")
    assert status["4"] == "first pass only"


def test_comparison_counts_each_kind_of_disagreement(folder: Path) -> None:
    first = [
        row(quantity="capacity_retention_pct", value="90", unit="%", cycle_number="100"),
        row(quantity="capacity_retention_pct", value="70", unit="%", cycle_number="100",
            coating="", is_bare_control="true"),
        row(quantity="overpotential_mv", value="20", unit="mV", current_density_ma_cm2="0.1"),
        row(quantity="cycle_life_h", value="500", unit="h", test_temperature_c=""),
        row(quantity="discharge_capacity_mah_g", value="150", unit="mAh g-1"),
        row(doi="10.9999/only.first", quantity="cycle_life_h", value="1", unit="h"),
        row(doi="10.9999/missing", quantity="cycle_life_h", value="2", unit="h"),
    ]
    second = [
        row(quantity="capacity_retention_pct", value="90", unit="%", cycle_number="100",
            electrode="LCO cathode"),
        row(quantity="capacity_retention_pct", value="75", unit="%", cycle_number="100",
            coating="", is_bare_control="true"),
        row(quantity="overpotential_mv", value="0.02", unit="V", current_density_ma_cm2="0.1"),
        row(quantity="cycle_life_h", value="500", unit="h", test_temperature_c="25"),
        row(quantity="critical_current_density", value="1", unit="mA cm-2"),
        row(doi="10.9999/missing", quantity="NOT_FOUND", value="", unit=""),
    ]
    write_sheet(folder, "t9_first_pass.csv", first)
    write_sheet(folder, "t9_second_pass.csv", second)
    result = compare.compare(
        compare.read_entries([folder / "t9_first_pass.csv"]),
        compare.read_entries([folder / "t9_second_pass.csv"]))
    kinds = sorted(d.kind for d in result.disagreements)
    assert kinds == ["condition", "first_only", "second_only", "value"]
    assert result.n_outcomes == 6 and result.n_agree == 2
    assert result.rate == pytest.approx(4 / 6)
    assert result.first_only_dois == ("10.9999/only.first",)
    assert result.not_found_dois == ("10.9999/missing",)
    text = compare.report_markdown(result)
    assert "rate 66.7%" in text and "test_temperature_c: '' vs '25'" in text
