"""The bundled literature dataset as a whole, and the DOI records built from the transcriptions.

Every record must name its source (a DOI or a reference of the review) and where in it, hold
values inside the schema's ranges, never mix two sources in one pair, and link each bare
control to a coated cell tested the same way. The DOI records must be exactly what the builder
makes from the shipped transcription sheets, and every number must trace back to a sheet row.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import pandas as pd

from coatml.data import literature
from coatml.data.formulas import resolve_material
from coatml.data.literature import build
from coatml.data.schema import COLUMN_BY_NAME, NUMERIC_COLUMNS
from coatml.features.interface import describe_material

LIT_DIR = Path(literature.__file__).resolve().parent
DOI_SOURCE = re.compile(r"^doi:10\.\d{4,9}/\S+$")
REVIEW_SOURCE = re.compile(r"^ref \d+: \S")
EMBEDDED_DOI = re.compile(r"doi:10\.\d{4,9}/\S+")
PAIR_CONDITIONS = ("electrode", "electrolyte", "cell_type", "cycle_number", "c_rate",
                   "current_density_ma_cm2", "test_temperature_c")


@cache
def _records() -> pd.DataFrame:
    return literature.load_literature().records


def _read_csv(name: str) -> list[dict[str, str]]:
    with (LIT_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _doi_records() -> pd.DataFrame:
    return _records()[_records()["source"].str.startswith("doi:")]


# --- every record -----------------------------------------------------------------------------

def test_every_record_names_a_doi_or_a_review_reference_and_a_locator() -> None:
    for rid, rec in _records().set_index("record_id").iterrows():
        source = str(rec["source"])
        assert (DOI_SOURCE.match(source) or REVIEW_SOURCE.match(source)
                or EMBEDDED_DOI.search(source)), f"{rid}: source '{source[:50]}'"
        assert str(rec["source_detail"] or "").strip(), f"{rid}: no locator (source_detail)"
        assert rec["data_kind"] == "literature", rid


def test_every_value_within_the_schema_ranges() -> None:
    records = _records()
    for name in NUMERIC_COLUMNS:
        col = COLUMN_BY_NAME[name]
        values = records[name].dropna()
        assert values.map(math.isfinite).all(), name
        if col.low is not None:
            ok = values >= col.low if col.low_inclusive else values > col.low
            assert ok.all(), (name, values[~ok].tolist())
        if col.high is not None:
            assert (values <= col.high).all(), (name, values[values > col.high].tolist())
    for name in ("method", "coated_component", "cell_type", "outcome_qualifier"):
        assert records[name].isin(COLUMN_BY_NAME[name].allowed).all(), name


def test_no_pair_spans_two_sources() -> None:
    pairs = _records().dropna(subset=["pair_id"]).groupby("pair_id")["source"].nunique()
    assert (pairs == 1).all(), pairs[pairs > 1].index.tolist()


def test_every_pair_has_a_coated_record_and_its_bare_control() -> None:
    records = _records().dropna(subset=["pair_id"])
    for pair_id, part in records.groupby("pair_id"):
        coated = part["coating"].fillna("").astype(str) != ""
        assert coated.any() and (~coated).any(), f"{pair_id}: one side only"
        assert part["electrode"].nunique() == 1, f"{pair_id}: two electrodes"
        bare = part[~coated]
        assert (bare["method"] == "none").all() and (bare["coated_component"] == "none").all()


def test_no_doi_record_duplicates_a_work_already_in_the_dataset() -> None:
    dois = {s[4:] for s in _doi_records()["source"]}
    assert not dois & set(literature.existing_dois()), dois & set(literature.existing_dois())


# --- DOI records ------------------------------------------------------------------------------

def test_doi_records_share_the_literature_header() -> None:
    with (LIT_DIR / literature.DOI_RECORDS_FILE).open(encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    with (LIT_DIR / literature.LITERATURE_FILE).open(encoding="utf-8") as fh:
        assert header == fh.readline().strip().split(",")
    assert header == list(build.RECORD_COLUMNS)


def test_doi_records_are_what_the_builder_makes_from_the_shipped_sheets() -> None:
    result = build.build()
    shipped = (LIT_DIR / literature.DOI_RECORDS_FILE).read_text(encoding="utf-8")
    assert build.records_csv(result.records) == shipped, \
        "doi_records.csv differs from the build: run `python -m coatml.data.literature.build`"
    rows = _read_csv(literature.DOI_PROVENANCE_FILE)
    assert len(rows) == len(result.provenance)


def test_doi_record_ids_and_pairs_carry_their_doi() -> None:
    for rid, rec in _doi_records().set_index("record_id").iterrows():
        slug = build.doi_slug(str(rec["source"])[4:])
        assert str(rid).startswith(f"doi-{slug}-"), rid
        if isinstance(rec["pair_id"], str) and rec["pair_id"]:
            assert rec["pair_id"].startswith(f"doi-{slug}-"), rid


def test_doi_pairs_share_every_test_condition() -> None:
    records = _doi_records().dropna(subset=["pair_id"])
    prov = pd.DataFrame(_read_csv(literature.DOI_PROVENANCE_FILE))
    window = prov.groupby("record_id")[["voltage_window", "electrolyte_type"]].first()
    assert not records.empty, "the DOI records hold no coated/bare pair"
    for pair_id, part in records.groupby("pair_id"):
        for name in PAIR_CONDITIONS:
            values = part[name].astype("string").fillna("<missing>")
            assert values.nunique() == 1, f"{pair_id}: {name} differs {values.tolist()}"
        extra = window.loc[part["record_id"]]
        assert (extra.nunique() <= 1).all(), f"{pair_id}: voltage window / electrolyte type"


def test_every_doi_number_traces_to_a_sheet_row() -> None:
    prov = pd.DataFrame(_read_csv(literature.DOI_PROVENANCE_FILE))
    records = _doi_records().set_index("record_id")
    assert set(prov["record_id"]) == set(records.index)
    for _, p in prov.iterrows():
        rec = records.loc[p["record_id"]]
        assert rec["source"] == f"doi:{p['doi']}"
        assert p["locator"] in str(rec["source_detail"]).split("; ")
        if p["value"]:
            assert float(rec[p["column"]]) == float(p["value"]), (p["record_id"], p["column"])
            factor = build.UNITS[p["column"]][build.normalise_unit(p["unit_reported"])]
            reported, _ = build.parse_number(p["value_reported"])
            assert reported is not None
            assert math.isclose(reported * factor, float(p["value"]), rel_tol=1e-12)
            assert p["reported"].strip(), f"{p['record_id']}: no value as reported"
        sheet = LIT_DIR / "transcriptions" / p["sheet"]
        rows = dict(build.read_sheet(sheet))
        assert rows[int(p["sheet_row"])]["value"] == p["value_reported"]
    for rid, rec in records.iterrows():
        numbers = [c for c in NUMERIC_COLUMNS if COLUMN_BY_NAME[c].group in ("target", "outcome")
                   and pd.notna(rec[c])]
        assert set(numbers) <= set(prov.loc[prov["record_id"] == rid, "column"]), rid


def test_liquid_results_are_labelled_liquid_and_only_they() -> None:
    prov = pd.DataFrame(_read_csv(literature.DOI_PROVENANCE_FILE))
    kind = prov.groupby("record_id")["electrolyte_type"].first()
    for rid, rec in _doi_records().set_index("record_id").iterrows():
        cls = describe_material(resolve_material(str(rec["electrolyte"]))).electrolyte_class
        assert (cls == "liquid") == (kind[rid] == "liquid"), (rid, cls, kind[rid])
        if kind[rid] == "liquid":
            assert "liquid electrolyte" in str(rec["outcome_note"]), rid


def test_every_doi_source_is_listed() -> None:
    listed = {r["doi"]: int(r["records"]) for r in _read_csv(literature.DOI_SOURCES_FILE)}
    counts = _doi_records()["source"].str[4:].value_counts().to_dict()
    assert listed == counts


# --- version ----------------------------------------------------------------------------------

def test_version_file_names_the_shipped_content() -> None:
    version = literature.literature_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version.version)
    assert version.content_hash == literature.current_content_hash()


def test_content_hash_changes_when_any_file_changes() -> None:
    files = {name: (LIT_DIR / name).read_text(encoding="utf-8")
             for name in literature.HASHED_FILES}
    base = literature.content_hash(files)
    assert literature.content_hash(dict(files)) == base
    for name in literature.HASHED_FILES:
        changed = dict(files)
        changed[name] = files[name] + "x"
        assert literature.content_hash(changed) != base, name


def test_stale_version_file_is_refused(tmp_path: Path, monkeypatch) -> None:
    import tomllib

    recorded = tomllib.loads((LIT_DIR / literature.VERSION_FILE).read_text(encoding="utf-8"))
    monkeypatch.setattr(literature, "current_content_hash", lambda: "0" * 64)
    try:
        literature.literature_version()
    except ValueError as exc:
        assert "VERSION.toml" in str(exc)
    else:
        raise AssertionError(f"a stale hash {recorded['content_sha256'][:8]} was accepted")
    lenient = literature.literature_version(strict=False)
    assert lenient == literature.LiteratureVersion(f"{recorded['version']}+modified", "0" * 64)


def test_counts_per_source_cover_all_records() -> None:
    from coatml.data.summary import sources_table

    table = sources_table(_records())
    assert table["records"].sum() == len(_records())
    assert (table["coated"] + table["bare"] == table["records"]).all()
    by_source: dict[str, int] = defaultdict(int)
    for s in _records()["source"]:
        by_source[str(s)] += 1
    assert dict(zip(table["source"], table["records"], strict=True)) == by_source
