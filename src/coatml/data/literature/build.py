"""Build the DOI records of the literature dataset from the transcription sheets.

Run ``python -m coatml.data.literature.build`` (``--staging DIR`` first copies the transcribers'
files from DIR into ``transcriptions/``). It reads ``transcriptions/t*_first_pass.csv`` (one
row per numeric outcome, see :data:`SHEET_COLUMNS`) and writes, in this folder:

* ``doi_records.csv`` -- the records, in the record schema (same header as
  ``literature.csv``): one record per measured cell, the outcomes of one cell merged into one
  row, bare controls linked to their coated cells by ``pair_id``;
* ``doi_provenance.csv`` -- one row per transcribed outcome that entered a record, keyed by
  ``record_id`` and ``column``: DOI, locator, page, the value and unit as reported, the
  voltage window, whether the electrolyte is solid or liquid, the names as transcribed, and the
  transcription status (first pass only / agrees with the second pass / settled);
* ``doi_sources.csv`` -- every DOI with its citation (from ``t*_sources.txt``);
* ``transcriptions/BUILD_LOG.md`` -- what was left out and why, row by row;
* ``VERSION.toml`` -- the dataset's version and content hash (the version's last part is
  bumped whenever the content changes);
* rows of ``coatml/recommend/data/coating_library.csv`` from the ALD process sheets
  (``transcriptions/t*_ald_process.csv``), see :func:`merge_process_facts`.

Every record is validated by :func:`coatml.data.validation.validate_frame`, exactly as a user
file; a row that fails is left out with the reason logged, and no number is ever changed to make
a row pass. Units are converted only where the conversion is exact (``V`` to ``mV``, ``min`` to
``h``, ``kohm cm2`` to ``ohm cm2``); a resistance given in ohm without an electrode area stays in
words in ``outcome_note``, never a number.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from coatml.data.formulas import resolve_material
from coatml.data.schema import COLUMN_BY_NAME, COLUMN_NAMES, METHODS
from coatml.exceptions import FormulaError, ValidationError

HERE = Path(__file__).resolve().parent
TRANSCRIPTIONS = HERE / "transcriptions"
RECORDS_FILE = "doi_records.csv"
PROVENANCE_FILE = "doi_provenance.csv"
SOURCES_FILE = "doi_sources.csv"
NAME_MAP_FILE = "name_map.csv"
SETTLEMENTS_FILE = "settlements.csv"
VERIFICATIONS_FILE = "verifications.csv"
BUILD_LOG = "BUILD_LOG.md"

#: Columns of a transcription sheet (``t*_first_pass.csv`` and ``t*_second_pass.csv``).
SHEET_COLUMNS: tuple[str, ...] = (
    "doi", "locator", "page_url", "electrode", "electrolyte", "electrolyte_type", "coating",
    "coated_component", "method", "precursors", "temperature_c", "gpc_angstrom", "cycles",
    "thickness_nm", "cell_type", "cycle_number", "c_rate", "current_density_ma_cm2",
    "test_temperature_c", "voltage_window", "quantity", "value", "unit", "qualifier",
    "reported", "is_bare_control", "pair_key", "note",
)
#: Record columns written by the builder (the schema minus what the store sets).
RECORD_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMN_NAMES
                                        if c not in ("added_at", "added_by"))
PROVENANCE_COLUMNS: tuple[str, ...] = (
    "record_id", "column", "doi", "locator", "page_url", "reported", "value_reported",
    "unit_reported", "value", "unit", "qualifier", "voltage_window", "electrolyte_type",
    "electrode_reported", "electrolyte_reported", "coating_reported", "method_reported",
    "sheet", "sheet_row", "transcription", "note",
)

#: Outcome quantities a sheet may name, mapped to the schema column that holds them.
QUANTITIES: dict[str, str] = {
    "capacity_retention_pct": "capacity_retention_pct",
    "capacity_retention": "capacity_retention_pct",
    "interface_resistance_ohm_cm2": "interface_resistance_ohm_cm2",
    "interfacial_resistance": "interface_resistance_ohm_cm2",
    "area_specific_resistance": "interface_resistance_ohm_cm2",
    "asr": "interface_resistance_ohm_cm2",
    "discharge_capacity_mah_g": "discharge_capacity_mah_g",
    "discharge_capacity": "discharge_capacity_mah_g",
    "coulombic_efficiency_pct": "coulombic_efficiency_pct",
    "coulombic_efficiency": "coulombic_efficiency_pct",
    "overpotential_mv": "overpotential_mv",
    "overpotential": "overpotential_mv",
    "ionic_conductivity_s_cm": "ionic_conductivity_s_cm",
    "ionic_conductivity": "ionic_conductivity_s_cm",
    "cycle_life_h": "cycle_life_h",
    "cycle_life": "cycle_life_h",
    "critical_current_density_ma_cm2": "critical_current_density_ma_cm2",
    "critical_current_density": "critical_current_density_ma_cm2",
    "ccd": "critical_current_density_ma_cm2",
}

#: Quantities the schema has no column for: kept in words in ``outcome_note``.
WORDS_QUANTITIES: dict[str, str] = {
    "cycles_to_failure": "cycles until the cell failed",
}

#: Exact unit conversions per column: normalised unit text -> factor to the schema unit.
UNITS: dict[str, dict[str, float]] = {
    "capacity_retention_pct": {"%": 1.0, "pct": 1.0, "percent": 1.0},
    "coulombic_efficiency_pct": {"%": 1.0, "pct": 1.0, "percent": 1.0},
    "interface_resistance_ohm_cm2": {"ohm cm2": 1.0, "ohm_cm2": 1.0, "kohm cm2": 1000.0,
                                     "mohm cm2": 1e-3},
    "discharge_capacity_mah_g": {"mah g-1": 1.0, "mah/g": 1.0, "mah_g": 1.0},
    "overpotential_mv": {"mv": 1.0, "v": 1000.0},
    "ionic_conductivity_s_cm": {"s cm-1": 1.0, "s/cm": 1.0, "ms cm-1": 1e-3, "ms/cm": 1e-3,
                                "us cm-1": 1e-6, "us/cm": 1e-6},
    "cycle_life_h": {"h": 1.0, "hours": 1.0, "hour": 1.0, "min": 1.0 / 60.0},
    "critical_current_density_ma_cm2": {"ma cm-2": 1.0, "ma/cm2": 1.0, "ma_cm2": 1.0,
                                        "ua cm-2": 1e-3, "ua/cm2": 1e-3},
}
#: Units that cannot become the schema's unit without information the source may not give.
WORDS_ONLY_UNITS: dict[str, dict[str, str]] = {
    "interface_resistance_ohm_cm2": {"ohm": "a resistance in ohm without the electrode area "
                                             "cannot be converted to ohm cm2",
                                     "kohm": "a resistance in kohm without the electrode area "
                                              "cannot be converted to ohm cm2"},
}
#: Condition columns copied from the sheet to the record (numbers).
NUMERIC_CONDITIONS: tuple[str, ...] = (
    "temperature_c", "gpc_angstrom", "cycles", "thickness_nm", "cycle_number", "c_rate",
    "current_density_ma_cm2", "test_temperature_c",
)
RECIPE_COLUMNS: tuple[str, ...] = ("precursors", "temperature_c", "gpc_angstrom", "cycles",
                                   "thickness_nm")
#: What defines the test a cell saw; a bare control is linked to a coated cell only when all
#: of these agree.
TEST_CONDITIONS: tuple[str, ...] = (
    "electrode", "electrolyte", "electrolyte_type", "cell_type", "cycle_number", "c_rate",
    "current_density_ma_cm2", "test_temperature_c", "voltage_window",
)
QUALIFIERS = {"": "", "<": "<", ">": ">", "~": "~", "≈": "~", "about": "~"}

#: Deposition-method words (case-folded) mapped to the schema's method, checked in order.
METHOD_RULES: tuple[tuple[str, str], ...] = (
    ("molecular layer", "MLD"), ("mld", "MLD"),
    ("atomic layer", "ALD"), ("ald", "ALD"),
    ("pulsed laser", "PLD"), ("pld", "PLD"),
    ("sputter", "sputtering"), ("magnetron", "sputtering"),
    ("chemical vapo", "CVD"), ("cvd", "CVD"),
    ("evapor", "evaporation"), ("e-beam", "evaporation"),
    ("in situ", "in_situ"), ("in-situ", "in_situ"), ("electrochemical", "in_situ"),
    ("sol-gel", "wet_chemistry"), ("sol gel", "wet_chemistry"), ("wet", "wet_chemistry"),
    ("solution", "wet_chemistry"), ("spin", "wet_chemistry"), ("dip", "wet_chemistry"),
    ("hydrolysis", "wet_chemistry"), ("precipitat", "wet_chemistry"),
    ("impregnat", "wet_chemistry"), ("hydrothermal", "wet_chemistry"),
    ("solvothermal", "wet_chemistry"), ("slurry", "wet_chemistry"),
)


@dataclass
class Outcome:
    """One transcribed numeric outcome (one sheet row) after mapping."""

    sheet: str
    row: int
    raw: dict[str, str]
    column: str
    value: float | None
    words: str
    notes: list[str] = field(default_factory=list)
    status: str = ""


@dataclass
class Cell:
    """The outcomes of one measured cell, merged into one record."""

    key: tuple[str, ...]
    base: dict[str, str]
    doi: str
    pair_key: str
    bare: bool
    outcomes: list[Outcome] = field(default_factory=list)
    record_id: str = ""
    pair_id: str = ""


@dataclass
class BuildResult:
    """What a build produced and what it left out (``(sheet, row, reason)``)."""

    records: list[dict[str, str]]
    provenance: list[dict[str, str]]
    sources: list[dict[str, str]]
    left_out: list[tuple[str, int, str]]
    notes: list[str]


# ------------------------------------------------------------------------------ small parsers


def normalise_doi(text: str) -> str:
    """A DOI without resolver prefix, lower case (DOIs are case-insensitive)."""
    s = text.strip()
    s = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", "", s, flags=re.I)
    return s.strip().casefold()


def doi_slug(doi: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "_", doi.casefold()).strip("_")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def normalise_unit(text: str) -> str:
    s = text.strip().replace("Ω", "ohm").replace("Ω", "ohm").replace("µ", "u").replace("μ", "u")
    s = s.replace("·", " ").replace("*", " ").replace("^", "").replace("²", "2")
    s = s.replace("⁻¹", "-1").replace("⁻²", "-2").replace("−", "-")
    s = re.sub(r"\bohms\b|\bomega\b", "ohm", s, flags=re.I)
    s = re.sub(r"cm\s*\(\s*2\s*\)", "cm2", s)
    s = re.sub(r"\s+", " ", s).strip().casefold()
    s = re.sub(r"\bma h\b", "mah", s)
    s = re.sub(r"\bohm-cm2\b", "ohm cm2", s)
    return s


def parse_number(text: str) -> tuple[float | None, str]:
    """A plain number; returns ``(None, reason)`` for anything else (never a guess)."""
    s = text.strip().replace("−", "-")
    if not s:
        return None, ""
    try:
        return float(s), ""
    except ValueError:
        pass
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", s):
        return float(s.replace(",", "")), ""
    return None, f"'{s}' is not a plain number"


def parse_condition(name: str, text: str) -> tuple[float | None, str]:
    """A condition value. ``C/n`` rates become 1/n; '~x' keeps x and says it was approximate;
    a range or words stay out (the note says so)."""
    s = text.strip()
    if not s:
        return None, ""
    if name == "c_rate":
        m = re.fullmatch(r"(\d+\.?\d*)?\s*C\s*/\s*(\d+\.?\d*)", s, flags=re.I)
        if m and float(m.group(2)) > 0:
            return float(m.group(1) or 1.0) / float(m.group(2)), ""
        m2 = re.fullmatch(r"(\d+\.?\d*|\.\d+)\s*C", s, flags=re.I)
        if m2:
            return float(m2.group(1)), ""
    approx = re.fullmatch(r"(~|≈|about|approx\.?|ca\.)\s*(.+)", s, flags=re.I)
    if approx:
        value, reason = parse_number(approx.group(2))
        if value is not None:
            return value, f"{name} given as approximate ('{s}')"
        return None, f"{name} '{s}' is not a number; left empty"
    value, reason = parse_number(s)
    if value is None:
        return None, f"{name} '{s}' is not a number; left empty"
    return value, ""


def map_method(text: str, coated: bool) -> str:
    """The schema method for a transcribed method text."""
    s = text.strip()
    if not coated:
        return "none"
    for allowed in METHODS:
        if s.casefold() == allowed.casefold() and allowed != "none":
            return allowed
    low = s.casefold()
    for word, method in METHOD_RULES:
        if re.search(r"(?<![a-z])" + re.escape(word), low):
            return method
    return "other"


# ------------------------------------------------------------------------------ name map


@dataclass(frozen=True)
class NameMapping:
    """A transcribed material name that is not a formula or alias, and what the dataset uses."""

    reported: str
    role: str
    dataset_name: str
    basis: str


def read_name_map(folder: Path = TRANSCRIPTIONS) -> dict[tuple[str, str], NameMapping]:
    """``name_map.csv``: (reported, role) -> dataset name (role electrode/electrolyte/coating,
    or ``any``)."""
    path = folder / NAME_MAP_FILE
    out: dict[tuple[str, str], NameMapping] = {}
    if not path.exists():
        return out
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            m = NameMapping(row["reported"].strip(), row["role"].strip(),
                            row["dataset_name"].strip(), row["basis"].strip())
            out[(m.reported.casefold(), m.role)] = m
    return out


def _resolve_name(name: str, role: str,
                  name_map: dict[tuple[str, str], NameMapping]) -> tuple[str | None, str]:
    """The dataset name for a transcribed material, and a note when it was mapped."""
    mapped = name_map.get((name.casefold(), role)) or name_map.get((name.casefold(), "any"))
    if mapped is not None:
        if not mapped.dataset_name:
            return None, f"{role} '{name}': {mapped.basis}"
        return mapped.dataset_name, f"{role} reported as '{name}'"
    try:
        resolve_material(name)
    except FormulaError as exc:
        # "X (Y)": the name or its explanation in brackets may be a formula or an alias
        m = re.fullmatch(r"(.+?)\s*\((.+)\)", name)
        for part in (m.group(1), m.group(2)) if m else ():
            try:
                resolve_material(part.strip())
            except FormulaError:
                continue
            return part.strip(), f"{role} reported as '{name}'"
        return None, f"{role} '{name}' does not resolve ({exc}); add it to {NAME_MAP_FILE}"
    return name, ""


#: Li salts of liquid electrolytes and the liquid-class alias that represents each.
LIQUID_SALTS: tuple[tuple[str, str], ...] = (
    ("LiPF6", "LiPF6 liquid electrolyte"), ("LiTFSI", "LiTFSI liquid electrolyte"),
    ("LiFSI", "LiFSI liquid electrolyte"), ("LiClO4", "LiClO4 liquid electrolyte"),
)


def liquid_alias(text: str) -> tuple[str | None, str]:
    """The liquid-class alias for a liquid electrolyte as reported: the text itself when it is
    one, else the alias of the first Li salt the text names (the solvent is not represented)."""
    if _liquid(text):
        return text, ""
    found = [(m.start(), alias) for salt, alias in LIQUID_SALTS
             for m in [re.search(re.escape(salt) + r"(?![A-Za-z0-9])", text, flags=re.I)] if m]
    if not found:
        return None, (f"liquid electrolyte '{text}' names none of the salts "
                      f"{', '.join(s for s, _ in LIQUID_SALTS)}")
    alias = min(found)[1]
    return alias, f"liquid electrolyte reported as '{text}'"


def _liquid(name: str) -> bool:
    try:
        return resolve_material(name).material_class == "liquid"
    except FormulaError:
        return False


# ------------------------------------------------------------------------------ reading sheets


def read_sheet(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The rows of a transcription sheet with their spreadsheet row numbers (header = 1)."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = list(reader)
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    missing = [c for c in SHEET_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{path.name}: header lacks {missing}")
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            out.append((number, {"__error__": f"has {len(row)} fields, header {len(header)}"}))
            continue
        out.append((number, {h: c.strip() for h, c in zip(header, row, strict=True)}))
    return out


def read_sources(folder: Path) -> dict[str, str]:
    """DOI -> citation from the transcribers' ``t*_sources.txt`` (``doi<TAB>citation``)."""
    out: dict[str, str] = {}
    for path in sorted(folder.glob("t*_sources.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or "\t" not in line:
                continue
            doi, citation = line.split("\t", 1)
            doi = normalise_doi(doi)
            if doi and doi not in out:
                out[doi] = citation.strip()
    return out


def read_settlements(folder: Path = TRANSCRIPTIONS) -> dict[tuple[str, str], dict[str, str]]:
    """``settlements.csv``: decisions on first/second-pass disagreements, keyed by
    (sheet, sheet_row) of the row they settle (``quantity`` is repeated for the reader).
    ``action``: ``keep`` the row as transcribed, ``set`` ``field`` to ``settled_value``,
    ``drop`` it, or ``add`` a second-pass row the first pass missed."""
    path = folder / SETTLEMENTS_FILE
    out: dict[tuple[str, str], dict[str, str]] = {}
    if not path.exists():
        return out
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["action"] not in ("keep", "set", "drop", "add"):
                raise ValueError(f"{SETTLEMENTS_FILE}: action '{row['action']}' is not keep, "
                                 "set, drop or add")
            out[(row["sheet"], row["sheet_row"])] = row
    return out


def read_verifications(folder: Path = TRANSCRIPTIONS) -> dict[str, dict[str, str]]:
    """``verifications.csv``: DOIs whose first-pass values were re-read against the stored
    source page by the integration lead (where no independent second transcription exists);
    keyed by DOI. Not an independent transcription, and labelled as such."""
    path = folder / VERIFICATIONS_FILE
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {normalise_doi(r["doi"]): r for r in csv.DictReader(fh)}


def check_status(folder: Path, passes: str) -> dict[tuple[str, int], str]:
    """Transcription status of each first-pass row: compared with the second pass (agrees /
    disagrees), re-read against the source by the integration lead, or first pass only."""
    from coatml.data.literature.compare import compare, read_entries

    first = sorted(folder.glob(f"t*_{passes}_pass.csv"))
    second = sorted(folder.glob("*second_pass.csv"))
    status: dict[tuple[str, int], str] = {}
    verified = read_verifications(folder)
    for e in read_entries(first):
        if e.doi in verified:
            v = verified[e.doi]
            status[(e.sheet, e.row)] = (f"{passes} pass; re-read against the source by the "
                                        f"integration lead ({v['result']}; not an independent "
                                        "transcription)")
    if not second:
        return status
    result = compare(read_entries(first), read_entries(second))
    compared = set(result.dois)
    for e in read_entries(first):
        if e.doi in compared:
            status[(e.sheet, e.row)] = "double-checked: agrees with the second pass"
        elif e.doi in result.not_found_dois and (e.sheet, e.row) not in status:
            status[(e.sheet, e.row)] = (f"{passes} pass only (the second transcriber could "
                                        "not find the source)")
    for d in result.disagreements:
        if d.first is not None:
            status[(d.first.sheet, d.first.row)] = (f"double-checked: {d.kind} disagreement "
                                                    f"with {d.second.where if d.second else 'none'}"
                                                    f" ({d.detail})")
    return status


# ------------------------------------------------------------------------------ the build


def _row_to_outcome(sheet: str, number: int, raw: dict[str, str],
                    left_out: list[tuple[str, int, str]]) -> Outcome | None:
    quantity = raw["quantity"].strip()
    column = QUANTITIES.get(quantity.casefold())
    if column is None and quantity.casefold() in WORDS_QUANTITIES:
        what = WORDS_QUANTITIES[quantity.casefold()]
        words = f"{what}: {raw['value']} {raw['unit']}".strip() + " (no schema column; words only)"
        return Outcome(sheet, number, raw, "outcome_note", None, words, [])
    if column is None:
        left_out.append((sheet, number, f"quantity '{quantity}' has no schema column"))
        return None
    unit = normalise_unit(raw["unit"])
    value, reason = parse_number(raw["value"])
    if reason:
        left_out.append((sheet, number, f"value: {reason}"))
        return None
    if value is None:
        left_out.append((sheet, number, "value is empty"))
        return None
    words_reason = WORDS_ONLY_UNITS.get(column, {}).get(unit)
    if words_reason:
        words = f"{quantity} reported as {raw['value']} {raw['unit']} ({words_reason})"
        return Outcome(sheet, number, raw, column, None, words, [words_reason])
    factor = UNITS[column].get(unit)
    if factor is None:
        left_out.append((sheet, number, f"unit '{raw['unit']}' of {quantity} has no exact "
                                         f"conversion to {COLUMN_BY_NAME[column].unit}"))
        return None
    converted = value * factor
    notes = []
    if factor != 1.0:
        notes.append(f"{raw['value']} {raw['unit']} converted to "
                     f"{converted:g} {COLUMN_BY_NAME[column].unit}")
    return Outcome(sheet, number, raw, column, converted, "", notes)


def _base_fields(raw: dict[str, str], name_map: dict[tuple[str, str], NameMapping]
                 ) -> tuple[dict[str, str] | None, list[str], str]:
    """The record fields shared by every outcome of a cell; ``(None, _, reason)`` when the
    row cannot make a valid record."""
    notes: list[str] = []
    bare = raw["is_bare_control"].strip().casefold() in ("true", "1", "yes")
    coating_text = raw["coating"].strip()
    if bare and coating_text and coating_text.casefold() not in ("none", "bare"):
        return None, notes, f"marked as bare control but names coating '{coating_text}'"
    if not bare and not coating_text:
        return None, notes, "coated record without a coating name"
    etype = raw["electrolyte_type"].strip().casefold() or "solid"
    if etype not in ("solid", "liquid"):
        return None, notes, f"electrolyte_type '{raw['electrolyte_type']}' is not solid/liquid"
    base: dict[str, str] = {"electrolyte_type": etype}
    for role in ("electrode", "electrolyte", "coating"):
        text = raw[role].strip()
        if role == "coating" and bare:
            base[role] = ""
            continue
        if not text:
            what = "electrolyte" if role == "electrolyte" else role
            return None, notes, f"{what} not named by the source (required)"
        if role == "electrolyte" and etype == "liquid":
            name, note = liquid_alias(text)
        else:
            name, note = _resolve_name(text, role, name_map)
        if name is None:
            return None, notes, note
        if note:
            notes.append(note)
        base[role] = name
    if etype == "liquid" and not _liquid(base["electrolyte"]):
        return None, notes, (f"liquid electrolyte '{raw['electrolyte']}' has no liquid alias "
                             f"(map it in {NAME_MAP_FILE} to a 'liquid' class alias)")
    if etype == "solid" and _liquid(base["electrolyte"]):
        return None, notes, f"electrolyte '{raw['electrolyte']}' is liquid but typed solid"
    base["method"] = map_method(raw["method"], coated=not bare)
    if base["method"] != "none" and raw["method"].strip() != base["method"]:
        notes.append(f"method reported as '{raw['method'].strip() or '(not stated)'}'")
    component = _coated_component(raw["coated_component"])
    if bare:
        base["coated_component"] = "none"
    elif component:
        base["coated_component"] = component
        if component != raw["coated_component"].strip():
            notes.append(f"coated side reported as '{raw['coated_component'].strip()}'")
    else:
        return None, notes, f"coated_component '{raw['coated_component']}' is not electrode/" \
                            "electrolyte"
    cell = raw["cell_type"].strip().casefold()
    base["cell_type"] = next((t for t in ("symmetric", "half", "full", "film")
                              if re.search(rf"\b{t}\b", cell)), "unknown")
    if cell and base["cell_type"] != cell:
        notes.append(f"cell type reported as '{raw['cell_type']}'")
    base["precursors"] = "" if bare else raw["precursors"].strip()
    for name in NUMERIC_CONDITIONS:
        text = raw[name].strip()
        if bare and name in RECIPE_COLUMNS:
            if text:
                notes.append(f"recipe value {name}={text} dropped from the bare control")
            base[name] = ""
            continue
        value, note = parse_condition(name, text)
        if note:
            notes.append(note)
        base[name] = "" if value is None else repr(value)
    base["voltage_window"] = raw["voltage_window"].strip()
    qualifier = raw["qualifier"].strip().casefold()
    if qualifier not in QUALIFIERS:
        return None, notes, f"qualifier '{raw['qualifier']}' is not one of <, >, ~"
    base["outcome_qualifier"] = QUALIFIERS[qualifier]
    return base, notes, ""


def _coated_component(text: str) -> str:
    """'electrolyte' or 'electrode' from the coated side as written ('cathode', 'Li anode',
    'solid electrolyte surface'); '' when neither is said or both are."""
    low = text.strip().casefold()
    electrolyte = "electrolyte" in low
    electrode = bool(re.search(r"electrode|cathode|anode|\bli metal\b|\blithium\b", low))
    if electrolyte == electrode:
        return ""
    return "electrolyte" if electrolyte else "electrode"


def _record_row(cell: Cell, locators: list[str]) -> dict[str, str]:
    rec = dict.fromkeys(RECORD_COLUMNS, "")
    for name in ("electrode", "electrolyte", "coating", "coated_component", "method",
                 "precursors", "cell_type", "outcome_qualifier", *NUMERIC_CONDITIONS):
        rec[name] = cell.base.get(name, "")
    rec["record_id"] = cell.record_id
    rec["pair_id"] = cell.pair_id
    for o in cell.outcomes:
        if o.value is not None:
            rec[o.column] = repr(o.value)
    rec["cell_failed"] = "false"
    rec["data_kind"] = "literature"
    rec["source"] = f"doi:{cell.doi}"
    rec["source_detail"] = "; ".join(locators)
    parts = []
    if cell.base["electrolyte_type"] == "liquid":
        parts.append("liquid electrolyte")
    if cell.base["voltage_window"]:
        parts.append(f"voltage window {cell.base['voltage_window']}")
    for o in cell.outcomes:
        if o.value is None:
            parts.append(o.words)
        elif o.raw["reported"]:
            parts.append(f"{o.column} as reported: {o.raw['reported']}")
    rec["outcome_note"] = "; ".join(parts)
    return rec


def build(folder: Path = TRANSCRIPTIONS, passes: str = "first") -> BuildResult:
    """Convert ``t*_{passes}_pass.csv`` in ``folder`` into records (not written)."""
    from coatml.data.literature import existing_dois

    name_map = read_name_map(folder)
    settlements = read_settlements(folder)
    citations = read_sources(folder)
    already = existing_dois()
    left_out: list[tuple[str, int, str]] = []
    notes: list[str] = []
    cells: dict[tuple[str, ...], list[Cell]] = defaultdict(list)
    order: list[tuple[str, ...]] = []
    status = check_status(folder, passes)
    rows: list[tuple[str, int, dict[str, str]]] = []
    for path in sorted(folder.glob(f"t*_{passes}_pass.csv")):
        rows += [(path.name, number, raw) for number, raw in read_sheet(path)]
    for (sheet, number_text), decision in settlements.items():
        if decision["action"] == "add":
            found = dict(read_sheet(folder / sheet)).get(int(number_text))
            if found is None:
                raise ValueError(f"{SETTLEMENTS_FILE}: {sheet} has no row {number_text}")
            rows.append((sheet, int(number_text), found))
    for sheet, number, raw in rows:
        if "__error__" in raw:
            left_out.append((sheet, number, raw["__error__"]))
            continue
        doi = normalise_doi(raw["doi"])
        if not doi:
            left_out.append((sheet, number, "no DOI"))
            continue
        if not raw["locator"].strip():
            left_out.append((sheet, number, "no locator (where in the source)"))
            continue
        settled = settlements.get((sheet, str(number)))
        if settled is not None:
            if settled["action"] == "drop":
                left_out.append((sheet, number, f"settled: {settled['reason']}"))
                continue
            if settled["action"] == "set":
                raw = {**raw, settled["field"]: settled["settled_value"]}
        if doi in already:
            left_out.append((sheet, number, f"doi:{doi} is already a source of the bundled "
                                            f"data ({already[doi]}); not added twice"))
            continue
        outcome = _row_to_outcome(sheet, number, raw, left_out)
        if outcome is None:
            continue
        base, base_notes, reason = _base_fields(raw, name_map)
        if base is None:
            left_out.append((sheet, number, reason))
            continue
        outcome.notes.extend(base_notes)
        outcome.status = status.get((sheet, number), f"{passes} pass only")
        if settled is not None:
            outcome.notes.append(f"settled against the source: {settled['reason']}")
            outcome.status = f"settled ({settled['action']}): {settled['reason']}"
        bare = base["coating"] == ""
        pair_key = raw["pair_key"].strip() or f"row{number}"
        key = (doi, pair_key, str(bare), *(f"{k}={base[k]}" for k in sorted(base)))
        if key not in cells:
            order.append(key)
        group = cells[key]
        target, duplicate = _place(group, outcome)
        if duplicate is not None:
            left_out.append((sheet, number, f"same value as {duplicate.sheet} row "
                                            f"{duplicate.row} for the same cell; counted "
                                            "once"))
            continue
        if target is None:
            target = Cell(key, base, doi, pair_key, bare)
            group.append(target)
        target.outcomes.append(outcome)

    all_cells: list[Cell] = [c for k in order for c in cells[k]]
    _assign_ids(all_cells)
    _link_pairs(all_cells, notes)
    records, provenance = [], []
    for cell in all_cells:
        locators = list(dict.fromkeys(o.raw["locator"] for o in cell.outcomes))
        rec = _record_row(cell, locators)
        records.append(rec)
        for o in cell.outcomes:
            provenance.append(_provenance_row(cell, o))
    records, provenance = _validate(records, provenance, left_out)
    used = sorted({r["source"][4:] for r in records})
    sources = [{"doi": d, "citation": citations.get(d, ""),
                "records": str(sum(r["source"] == f"doi:{d}" for r in records))} for d in used]
    for d in used:
        if not citations.get(d):
            notes.append(f"doi:{d} has no citation in the t*_sources.txt files")
    notes.extend(review_overlaps({d: citations.get(d, "") for d in used}))
    return BuildResult(records, provenance, sources, left_out, notes)


def review_overlaps(citations: dict[str, str]) -> list[str]:
    """Notes for DOI sources whose citation shares first author and year with a reference of
    the review (possibly the same work as a Table 2 record: check before adding twice)."""
    from coatml.data.literature import references

    refs = references()
    out = []
    for doi, citation in citations.items():
        author = re.match(r"\s*([A-Z][A-Za-z'\-]+)", citation)
        year = re.search(r"\b(19|20)\d{2}\b", citation)
        if not author or not year:
            continue
        for number, ref in zip(refs["ref_number"], refs["citation"], strict=True):
            if ref.startswith(author.group(1) + " ") and year.group(0) in ref:
                out.append(f"doi:{doi} ({citation[:60]}) may be the work of the review's ref "
                           f"{number} ({ref[:60]}); check that no cell is counted twice")
    return out


def _place(group: list[Cell], outcome: Outcome) -> tuple[Cell | None, Outcome | None]:
    """The cell of ``group`` that takes ``outcome`` (None: a new cell), or the outcome it
    duplicates (same column, same value: one cell transcribed twice)."""
    for cell in group:
        same = [o for o in cell.outcomes if o.column == outcome.column]
        if not same or outcome.value is None:
            return cell, None
        if same[0].value == outcome.value:
            return None, same[0]
    return None, None


def _assign_ids(cells: list[Cell]) -> None:
    seen: dict[str, int] = defaultdict(int)
    for cell in cells:
        side = "bare" if cell.bare else "coated"
        stem = f"doi-{doi_slug(cell.doi)}-{_slug(cell.pair_key)}-{side}"
        seen[stem] += 1
        cell.record_id = stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"


def _link_pairs(cells: list[Cell], notes: list[str]) -> None:
    """Give a coated cell and its bare control(s) one ``pair_id`` when they share the source,
    the transcriber's pair key and every test condition."""
    groups: dict[tuple[str, ...], list[Cell]] = defaultdict(list)
    for cell in cells:
        signature = tuple(cell.base.get(k, "") for k in TEST_CONDITIONS)
        groups[(cell.doi, cell.pair_key, *signature)].append(cell)
    used: dict[str, int] = defaultdict(int)
    for key, members in groups.items():
        coated = [c for c in members if not c.bare]
        bare = [c for c in members if c.bare]
        if coated and bare:
            stem = f"doi-{doi_slug(key[0])}-{_slug(key[1])}"
            used[stem] += 1
            pair_id = stem if used[stem] == 1 else f"{stem}-{used[stem]}"
            for c in members:
                c.pair_id = pair_id
        elif bare:
            notes.append(f"{', '.join(c.record_id for c in bare)}: bare control without a coated "
                         "cell under the same test conditions; left unpaired")


def _provenance_row(cell: Cell, o: Outcome) -> dict[str, str]:
    raw = o.raw
    return {
        "record_id": cell.record_id, "column": o.column, "doi": cell.doi,
        "locator": raw["locator"], "page_url": raw["page_url"], "reported": raw["reported"],
        "value_reported": raw["value"], "unit_reported": raw["unit"],
        "value": "" if o.value is None else repr(o.value),
        "unit": COLUMN_BY_NAME[o.column].unit if o.value is not None else "",
        "qualifier": cell.base["outcome_qualifier"],
        "voltage_window": cell.base["voltage_window"],
        "electrolyte_type": cell.base["electrolyte_type"],
        "electrode_reported": raw["electrode"], "electrolyte_reported": raw["electrolyte"],
        "coating_reported": raw["coating"], "method_reported": raw["method"],
        "sheet": o.sheet, "sheet_row": str(o.row),
        "transcription": o.status,
        "note": "; ".join(dict.fromkeys([*o.notes, *([raw["note"]] if raw["note"] else [])])),
    }


def _validate(records: list[dict[str, str]], provenance: list[dict[str, str]],
              left_out: list[tuple[str, int, str]]
              ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Validate every record as a user file; drop (and log) records that fail, one by one."""
    from coatml.data.validation import parse_csv_text, validate_frame

    kept = list(records)
    while kept:
        text = records_csv(kept)
        try:
            validate_frame(parse_csv_text(text, "doi records"), source_name="doi records",
                           default_data_kind="literature", added_by="coatml literature")
            break
        except ValidationError as exc:
            bad_rows = {p.row for p in exc.problems if p.row is not None and p.row >= 2}
            if not bad_rows:
                raise
            for row in sorted(bad_rows, reverse=True):
                rec = kept.pop(row - 2)
                reasons = "; ".join(f"{p.column}: {p.reason}" for p in exc.problems
                                    if p.row == row)
                for prov in provenance:
                    if prov["record_id"] == rec["record_id"]:
                        left_out.append((prov["sheet"], int(prov["sheet_row"]),
                                         f"record {rec['record_id']} fails validation: {reasons}"))
    ids = {r["record_id"] for r in kept}
    pairs: dict[str, set[bool]] = defaultdict(set)
    for r in kept:
        if r["pair_id"]:
            pairs[r["pair_id"]].add(bool(r["coating"]))
    for r in kept:  # a pair that lost one side is no pair
        if r["pair_id"] and len(pairs[r["pair_id"]]) < 2:
            r["pair_id"] = ""
    return kept, [p for p in provenance if p["record_id"] in ids]


# ------------------------------------------------------------------------------ writing


def _csv_text(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return buf.getvalue()


def records_csv(records: list[dict[str, str]]) -> str:
    return _csv_text(records, RECORD_COLUMNS)


def write(result: BuildResult, out: Path = HERE) -> None:
    """Write the records, provenance, sources, build log and version file."""
    from coatml.data.literature import update_version

    (out / RECORDS_FILE).write_text(records_csv(result.records), encoding="utf-8")
    (out / PROVENANCE_FILE).write_text(_csv_text(result.provenance, PROVENANCE_COLUMNS),
                                       encoding="utf-8")
    (out / SOURCES_FILE).write_text(_csv_text(result.sources, ("doi", "citation", "records")),
                                    encoding="utf-8")
    lines = ["# Build log of the DOI records", "",
             "Written by `python -m coatml.data.literature.build`; do not edit by hand.", "",
             f"- records: {len(result.records)} from {len(result.sources)} DOIs",
             f"- outcomes (provenance rows): {len(result.provenance)}",
             f"- sheet rows left out: {len(result.left_out)}", "",
             "## Rows left out", "", "| sheet | row | reason |", "|---|---|---|"]
    for sheet, row, reason in sorted(result.left_out):
        lines.append(f"| {sheet} | {row} | {reason.replace('|', '/')} |")
    lines += ["", "## Notes", ""] + [f"- {n}" for n in result.notes]
    (out / "transcriptions" / BUILD_LOG).write_text("\n".join(lines) + "\n", encoding="utf-8")
    update_version()


#: Marks library rows added from the process sheets (so a rebuild replaces them).
PROCESS_MARK = "[process sheet: transcriptions/"


def _unparsed_precursors(text: str) -> tuple[str, ...]:
    """Tokens of a library precursor text that :func:`coatml.features.process.parse_precursors`
    does not recognise (alternatives written with "or", prose, unknown compounds)."""
    from coatml.features.process import parse_precursors

    if " or " in f" {text} " or "+" in text:
        return (text,)
    return tuple(parse_precursors(text).unknown)


def merge_process_facts(folder: Path = TRANSCRIPTIONS,
                        library: Path | None = None) -> tuple[int, list[str]]:
    """Add the sourced ALD process facts of ``t*_ald_process.csv`` to the coating library
    (``coatml/recommend/data/coating_library.csv``) as one row per coating x process.

    Rows the library already holds (same coating, same source DOI) are skipped; a row without
    a DOI needs the citation in its note. A single deposition temperature (``temperature_used_c``
    without a window) is written as min = max, the library's convention. Rows added by an
    earlier run carry :data:`PROCESS_MARK` in ``note`` and are replaced. Returns the number of
    rows added and the reasons for those skipped."""
    import pandas as pd

    path = library or HERE.parent.parent / "recommend" / "data" / "coating_library.csv"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
             if PROCESS_MARK not in line]
    table = pd.read_csv(io.StringIO("".join(lines)), dtype=str, keep_default_na=False)
    classes = dict(zip(table["coating"], table["coating_class"], strict=False))
    def fact(*values: str) -> tuple[str, ...]:
        return tuple(v.strip().casefold() for v in values)

    known = {fact(*r) for r in table[["coating", "precursors", "temperature_min_c",
                                      "temperature_max_c", "gpc_angstrom"]].to_numpy()}
    citations = read_sources(folder)
    added: list[list[str]] = []
    skipped = []
    for sheet in sorted(folder.glob("t*_ald_process.csv")):
        frame = pd.read_csv(sheet, dtype=str, keep_default_na=False)
        for number, r in zip(range(2, 2 + len(frame)), frame.to_dict("records"), strict=True):
            doi = normalise_doi(r["doi"])
            where = f"{sheet.name} row {number}"
            coreactant = r["co_reactant"].strip()
            precursors = "/".join(x for x in (r["precursors"].strip(), coreactant) if x)
            if r["coating"] not in classes:
                skipped.append(f"{where}: {r['coating']} is not a library coating")
                continue
            unknown = _unparsed_precursors(precursors)
            if unknown:
                skipped.append(f"{where}: precursor text {precursors!r} is not one recipe the "
                               f"precursor vocabulary reads ({', '.join(unknown)}); add the "
                               "precursor to data/precursors.csv or split the alternatives")
                continue
            if doi and table["source"].str.casefold().str.contains(doi, regex=False).any():
                skipped.append(f"{where}: doi:{doi} already cited by the library")
                continue
            if "doubtful" in r["note"].casefold():
                skipped.append(f"{where}: its transcriber marks the process doubtful")
                continue
            values = {k: r[k].strip() for k in ("temperature_min_c", "temperature_max_c",
                                                "temperature_used_c", "gpc_angstrom")}
            if not values["temperature_min_c"] and values["temperature_used_c"]:
                values["temperature_min_c"] = values["temperature_max_c"] = \
                    values["temperature_used_c"]
            if fact(r["coating"], precursors, values["temperature_min_c"],
                    values["temperature_max_c"], values["gpc_angstrom"]) in known:
                skipped.append(f"{where}: the library already holds this {r['coating']} "
                               f"process ({precursors}, same window and GPC)")
                continue
            if not (values["temperature_min_c"] or values["gpc_angstrom"] or r["precursors"]):
                skipped.append(f"{where}: neither temperature, GPC nor precursors given")
                continue
            citation = citations.get(doi, "")
            source = ", ".join(x for x in (citation, f"doi:{doi}" if doi else "") if x)
            if not source:
                source = r["note"].split(";")[0].strip()
            if not source:
                skipped.append(f"{where}: no DOI and no citation")
                continue
            used = values["temperature_used_c"]
            extra = (f"; used {used} C" if used and used != values["temperature_min_c"] else "")
            note = (f"{r['note']}{extra}; {r['locator']} {PROCESS_MARK}{sheet.name} row "
                    f"{number}]")
            added.append([r["coating"], classes[r["coating"]], "ALD", precursors, coreactant,
                          values["temperature_min_c"], values["temperature_max_c"],
                          values["gpc_angstrom"], source, note])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(added)
    text = "".join(lines)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    with path.open("a", encoding="utf-8") as fh:
        fh.write(buf.getvalue())
    return len(added), skipped


def copy_staging(staging: Path, folder: Path = TRANSCRIPTIONS) -> list[str]:
    """Copy the transcribers' sheets and source lists from ``staging`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for pattern in ("t*_first_pass.csv", "*second_pass.csv", "t*_sources.txt",
                    "t*_ald_process.csv"):
        for path in sorted(staging.glob(pattern)):
            shutil.copyfile(path, folder / path.name)
            copied.append(path.name)
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--staging", type=Path, help="copy t*_ sheets from this folder first")
    args = parser.parse_args(argv)
    if args.staging:
        print("copied:", ", ".join(copy_staging(args.staging)))
    result = build()
    write(result)
    n_process, skipped = merge_process_facts()
    log = TRANSCRIPTIONS / BUILD_LOG
    log.write_text(log.read_text(encoding="utf-8") + "\n## ALD process facts\n\n"
                   f"- rows added to coatml/recommend/data/coating_library.csv: {n_process}\n"
                   + "".join(f"- skipped {why}\n" for why in skipped), encoding="utf-8")
    print(f"coating library: {n_process} process rows from the process sheets"
          + "".join(f"\n  skipped {why}" for why in skipped))
    print(f"{len(result.records)} records ({len(result.provenance)} outcomes) from "
          f"{len(result.sources)} DOIs; {len(result.left_out)} sheet rows left out "
          f"(see transcriptions/{BUILD_LOG})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
