"""Read and validate a whole input table before anything is written.

Every problem is collected (not just the first) and reported as ``row N, column C: reason``
where row numbers are those a spreadsheet shows (header = row 1). Warnings (plausible-range
checks, thickness disagreements) are returned but do not block.

Numbers are plain decimals in ASCII digits (``2_0`` and other scripts' digits are refused, as
Python's ``float`` would accept them); decimal commas, thousands separators, units and dates
each get their own message. XLSX files are read with openpyxl directly so that data on a
second sheet and formula cells are refused rather than dropped or read as empty.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from coatml.data.formulas import resolve_material
from coatml.data.schema import (
    COLUMN_BY_NAME,
    COLUMN_NAMES,
    CONTENT_COLUMNS,
    DATA_KINDS,
    HASH_IF_SET_COLUMNS,
    MATERIAL_COLUMNS,
    METHODS,
    STORE_COLUMNS,
    TARGETS,
    THICKNESS_AGREEMENT,
    Column,
)
from coatml.exceptions import FormulaError, Problem, ValidationError

#: Rows between two calls of a validation progress callback.
PROGRESS_EVERY = 2000

#: Cell texts that mean "not reported".
MISSING_TOKENS = frozenset({"", "nd", "n.d.", "na", "n/a", "nan", "none", "null", "-", "--"})
#: Columns added by `coatml propose` that `coatml data add` accepts and ignores.
IGNORED_PREFIXES = ("pred_", "acq_", "proposed_")
#: In a material column, 'Na' written exactly so is sodium (a sodium-metal electrode), not
#: "not available"; 'NaN' parses as a formula (Na1N1) but is almost always pandas' not-a-number.
_ELEMENT_TOKENS = frozenset({"Na"})
_AMBIGUOUS_MATERIAL = {"NaN": "Na1N1"}
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})
_UNIT_SUFFIXES = (
    "c", "k", "f", "nm", "angstrom", "a", "um", "pct", "ohm_cm2", "ohm", "kohm_cm2", "mah_g",
    "mv", "v", "s_cm", "ms_cm", "h", "min", "ma_cm2", "ua_cm2",
)
_NUMBER_WITH_UNIT = re.compile(r"^\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*([^\d\s].*)$")
#: A plain decimal number in ASCII digits (no '_' separators, no other scripts' digits).
_PLAIN_NUMBER = re.compile(r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$", re.ASCII)
_DECIMAL_COMMA = re.compile(r"^[-+]?[0-9]+,[0-9]+$", re.ASCII)
_THOUSANDS = re.compile(r"^[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$", re.ASCII)
_DATE = re.compile(r"^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}[/.][0-9]{1,2}[/.][0-9]{2,4})"
                   r"([ T][0-9:.]+)?$", re.ASCII)


@dataclass
class ValidatedTable:
    """The validated, typed records and the warnings found on the way."""

    records: pd.DataFrame
    warnings: list[Problem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    content_hash: str = ""


def read_table_text(path: str | Path, max_mb: float | None = None
                    ) -> tuple[pd.DataFrame, str]:
    """Read a CSV or XLSX file into a DataFrame of strings (no type guessing) and return it with
    the sha256 of the file's bytes.

    A CSV row with a different number of fields than the header (a truncated file, a stray
    delimiter) and an unterminated quote are errors naming the row.
    """
    path = Path(path)
    if not path.exists():
        raise ValidationError([Problem(None, None, f"file not found: {path}")], str(path))
    if path.is_dir():
        raise ValidationError([Problem(None, None, f"{path} is a folder, not a file")],
                              str(path))
    if not path.is_file():
        raise ValidationError([Problem(None, None, f"{path} is not a regular file (a device or "
                                                   "a pipe?)")], str(path))
    try:
        size_mb = path.stat().st_size / 1e6
        if max_mb and size_mb > max_mb:
            raise ValidationError([Problem(None, None, (
                f"the file is {size_mb:.0f} MB, above the limit of {max_mb:g} MB; split it, or "
                "raise the limit (`coatml data add --max-size-mb N`; validation takes about "
                "a minute per 10 MB)"))], str(path))
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError([Problem(None, None, f"cannot read the file ({exc.strerror})")],
                              str(path)) from None
    return read_table_bytes(data, path.name, source=str(path))


def read_table_bytes(data: bytes, name: str, source: str | None = None
                     ) -> tuple[pd.DataFrame, str]:
    """:func:`read_table_text` of a file's bytes (an upload): ``name``'s suffix chooses CSV
    or XLSX; ``source`` names the file in messages (default ``name``). Nothing else is
    accepted (no pickle or other format that carries code)."""
    source = source or name
    suffix = Path(name).suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".csv", ".txt", ".tsv", ""):
        raise ValidationError(
            [Problem(None, None, f"unsupported file type '{suffix}': use .csv or .xlsx")],
            source,
        )
    digest = hashlib.sha256(data).hexdigest()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx_bytes(data, source), digest
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        hint = (" (it looks like an Excel workbook: name it .xlsx)"
                if data.startswith(b"PK\x03\x04") else "; save it as UTF-8 CSV")
        raise ValidationError(
            [Problem(None, None, f"file is not UTF-8 text (byte {exc.start}){hint}")],
            source,
        ) from None
    return parse_csv_text(text, source, delimiter="\t" if suffix == ".tsv" else ","), digest


def _xlsx_cell_text(value: object) -> str:
    """An openpyxl cell value as the text a CSV export would hold."""
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def read_xlsx_bytes(data: bytes, source: str = "input") -> pd.DataFrame:
    """Read the one sheet of an XLSX workbook that holds data into a DataFrame of strings,
    indexed by spreadsheet row number.

    Refused, naming the problem: a file that is not an XLSX workbook (a CSV renamed .xlsx, a
    truncated download), data on more than one sheet (coatml would otherwise read one and
    silently drop the others), and formula cells (``=100+50``: the stored value is whatever
    the spreadsheet last computed, or nothing at all; paste values instead).
    """
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), data_only=False, read_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        hint = ("it is text: a CSV renamed .xlsx? name it .csv" if not data.startswith(b"PK")
                else "truncated or damaged; save it again from the spreadsheet")
        raise ValidationError(
            [Problem(None, None, f"not a readable XLSX workbook ({hint}; {type(exc).__name__})")],
            source) from None
    sheets = []
    for sheet in book.worksheets:
        rows = [list(r) for r in sheet.iter_rows(values_only=False)]
        if any(c.value not in (None, "") for r in rows for c in r):
            sheets.append((sheet.title, rows))
    if not sheets:
        raise ValidationError([Problem(None, None, "the workbook holds no data")], source)
    if len(sheets) > 1:
        names = ", ".join(repr(t) for t, _ in sheets)
        raise ValidationError(
            [Problem(None, None, f"data on {len(sheets)} sheets ({names}); coatml reads one "
                                 "table per file: save each sheet as its own file (or delete "
                                 "the sheets that are not records)")], source)
    title, rows = sheets[0]
    problems: list[Problem] = []
    header = [_xlsx_cell_text(c.value).strip() for c in rows[0]] if rows else []
    while header and not header[-1]:
        header.pop()
    if not header:
        raise ValidationError([Problem(1, None, f"sheet {title!r}: row 1 must be the header")],
                              source)
    body: list[list[str]] = []
    numbers: list[int] = []
    for number, row in enumerate(rows[1:], start=2):
        texts = []
        for position, cell in enumerate(row):
            if cell.data_type == "f":
                column = header[position] if position < len(header) else f"#{position + 1}"
                problems.append(Problem(number, column, f"formula {str(cell.value)!r}: coatml "
                                                        "reads values only; paste the values"))
            texts.append(_xlsx_cell_text(cell.value))
        if len(texts) > len(header):
            extra = [t for t in texts[len(header):] if t.strip()]
            if extra:
                problems.append(Problem(number, None, f"has values beyond the last header "
                                                      f"column ({len(header)} columns)"))
            texts = texts[:len(header)]
        texts += [""] * (len(header) - len(texts))
        if any(t.strip() for t in texts):
            body.append(texts)
            numbers.append(number)
    seen: set[str] = set()
    for position, name in enumerate(header):
        if not name:
            problems.append(Problem(1, f"#{position + 1}", "empty column name in header"))
        elif name in seen:
            problems.append(Problem(1, name, "column appears twice"))
        seen.add(name)
    if problems:
        raise ValidationError(problems, source)
    frame = pd.DataFrame(body, columns=header, dtype=object)
    frame.index = pd.Index(numbers, name="row")
    return frame


def parse_csv_text(text: str, source: str = "input", delimiter: str = ",") -> pd.DataFrame:
    """Parse CSV text strictly into a DataFrame of strings."""
    problems: list[Problem] = []
    if "\x00" in text:
        raise ValidationError([Problem(None, None, "file contains NUL bytes: not a CSV")], source)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    try:
        for line in reader:
            rows.append(line)
    except csv.Error as exc:
        raise ValidationError(
            [Problem(reader.line_num, None, f"malformed CSV ({exc}); is the file truncated?")],
            source,
        ) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ValidationError([Problem(None, None, "file is empty or has no header row")], source)
    header = [h.strip() for h in rows[0]]
    if len(header) == 1:
        for other, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'"), (",", "commas")):
            if other != delimiter and header[0].count(other) >= 2:
                raise ValidationError([Problem(1, None, (
                    f"the header is one column separated by {name} "
                    f"({header[0][:60]!r}...); coatml reads "
                    + ("tab-separated files named .tsv" if other == "\t" else
                       "comma-separated CSV") + ": export the file again with ',' as the "
                    "delimiter" + (" or name it .tsv" if other == "\t" else "")))], source)
    seen: dict[str, int] = {}
    for idx, name in enumerate(header):
        if not name:
            problems.append(Problem(1, f"#{idx + 1}", "empty column name in header"))
        elif name in seen:
            problems.append(Problem(1, name, f"column appears twice (positions {seen[name] + 1} "
                                             f"and {idx + 1})"))
        seen.setdefault(name, idx)
    body: list[list[str]] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            hint = f"truncated row or stray '{delimiter}'?"
            if len(row) > len(header) and delimiter == ",":
                hint = ("a stray ',' or a decimal comma? Write 235.5, not 235,5, and quote "
                        "text cells that contain ','")
            problems.append(Problem(number, None, f"has {len(row)} fields but the header has "
                                                  f"{len(header)} ({hint})"))
            continue
        body.append(row)
    if problems:
        raise ValidationError(problems, source)
    frame = pd.DataFrame(body, columns=header, dtype=object)
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    # keep the spreadsheet row number of each row (blank rows are skipped above)
    numbers = [n for n, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]
    frame.index = pd.Index(numbers, name="row")
    return frame


def _is_missing(text: str) -> bool:
    return text.strip().casefold() in MISSING_TOKENS


def _unit_mismatch(name: str) -> str | None:
    """If ``name`` looks like a schema column with another unit, return that column's name."""
    low = name.strip().casefold()
    for column in COLUMN_NAMES:
        col = COLUMN_BY_NAME[column]
        if not col.unit:
            continue
        base = column
        for suffix in _UNIT_SUFFIXES:
            if column.endswith("_" + suffix):
                base = column[: -len(suffix) - 1]
                break
        if base != column and low.startswith(base + "_") and low != column:
            return column
    return None


def _parse_float(text: str, col: Column) -> tuple[float | None, str | None]:
    s = text.strip()
    if _is_missing(s):
        return None, None
    if not _PLAIN_NUMBER.match(s):
        if _THOUSANDS.match(s) and _DECIMAL_COMMA.match(s):
            return None, (f"'{s}' has a comma: a decimal comma ({s.replace(',', '.')}) or a "
                          f"thousands separator ({s.replace(',', '')})? Write the number with "
                          "a decimal point and no separator")
        if _DECIMAL_COMMA.match(s):
            return None, (f"'{s}' uses a decimal comma; write it with a decimal point "
                          f"({s.replace(',', '.')})")
        if _THOUSANDS.match(s):
            return None, (f"'{s}' has a thousands separator; write the number without it "
                          f"({s.replace(',', '')})")
        if _DATE.match(s):
            return None, f"'{s}' looks like a date, not a number (a spreadsheet conversion?)"
        if s.casefold().lstrip("+-") in ("inf", "infinity"):
            return None, f"'{s}' is not a finite number"
        if any(ch.isdigit() and not ch.isascii() for ch in s) or "_" in s:
            return None, f"'{s}' is not a plain number: use the digits 0-9 only"
        if _NUMBER_WITH_UNIT.match(s):
            return None, (f"'{s}' carries a unit; write the number alone in {col.unit or 'the '}"
                          f"{'' if col.unit else 'documented unit'}")
        return None, f"'{s}' is not a number"
    value = float(s)
    if math.isinf(value):
        return None, f"'{s}' is not a finite number (too large)"
    return value, None


def _range_problem(value: float, col: Column) -> str | None:
    if col.low is not None:
        if col.low_inclusive and value < col.low:
            return f"{value:g} is below {col.low:g} {col.unit}".rstrip() + " (not physical)"
        if not col.low_inclusive and value <= col.low:
            return f"{value:g} must be above {col.low:g} {col.unit}".rstrip() + " (not physical)"
    if col.high is not None and value > col.high:
        return f"{value:g} is above {col.high:g} {col.unit}".rstrip() + " (not physical)"
    if col.floor is not None and value < col.floor:
        return (f"{value:g} is below {col.floor:g} {col.unit}".rstrip()
                + " (not physical: a typo or a unit slip?)")
    return None


def _warn_range(value: float, col: Column) -> str | None:
    if col.warn_low is not None and value < col.warn_low:
        return f"{value:g} {col.unit} is below the usual {col.warn_low:g} {col.unit}; check it"
    if col.warn_high is not None and value > col.warn_high:
        return f"{value:g} {col.unit} is above the usual {col.warn_high:g} {col.unit}; check it"
    return None


def record_content_hash(row: dict[str, object]) -> str:
    """A stable hash of a record's content (everything but its id and store provenance)."""
    parts = []
    for name in CONTENT_COLUMNS:
        value = row.get(name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if name not in HASH_IF_SET_COLUMNS:
                parts.append("")
        elif name in HASH_IF_SET_COLUMNS:
            shown = repr(round(value, 12)) if isinstance(value, float) else str(value)
            parts.append(f"{name}={shown}")
        elif isinstance(value, float):
            parts.append(repr(round(value, 12)))
        else:
            parts.append(str(value))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def validate_frame(
    raw: pd.DataFrame,
    source_name: str = "input",
    default_source: str | None = None,
    default_data_kind: str = "lab",
    added_by: str | None = None,
    check_duplicates: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ValidatedTable:
    """Validate a table of strings (or values) against the record schema.

    Returns typed records with derived values filled (``thickness_nm`` from GPC x cycles,
    ``record_id`` from the content when absent). Raises :class:`ValidationError` listing every
    problem; nothing is returned partially.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    ignored: list[str] = []
    if raw.index.name != "row":
        raw = raw.copy()
        raw.index = pd.Index(range(2, 2 + len(raw)), name="row")
    columns = [str(c).strip() for c in raw.columns]
    raw = raw.copy()
    raw.columns = columns
    known = set(COLUMN_NAMES)
    for name in columns:
        if name in known:
            if name in STORE_COLUMNS:
                ignored.append(name)
            continue
        if name.startswith(IGNORED_PREFIXES):
            ignored.append(name)
            continue
        lowered = name.casefold()
        if lowered in known:
            problems.append(Problem(1, name, f"column names are lower case: use '{lowered}'"))
            continue
        other = _unit_mismatch(name)
        if other:
            col = COLUMN_BY_NAME[other]
            problems.append(Problem(1, name, f"wrong unit: coatml expects '{other}' in {col.unit}; "
                                             "convert the values and rename the column"))
        else:
            problems.append(Problem(1, name, "unknown column (see `coatml data schema`)"))
    required = [c.name for c in COLUMN_BY_NAME.values() if c.required]
    for name in required:
        if name not in columns and not (name == "source" and default_source):
            problems.append(Problem(1, name, "required column is missing"))
    if raw.empty:
        problems.append(Problem(None, None, "the table has no data rows"))
    if default_data_kind not in DATA_KINDS:
        problems.append(Problem(None, "data_kind", f"the default data_kind must be one of "
                                                   f"{', '.join(DATA_KINDS)}, not "
                                                   f"'{default_data_kind}'"))
    if problems:
        raise ValidationError(problems, source_name)

    user = added_by or _current_user()
    out_rows: list[dict[str, object]] = []
    total = len(raw)
    for done, (row_number, raw_row) in enumerate(raw.iterrows()):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
        rec: dict[str, object] = {}
        row_no = int(str(row_number))
        first_problem = len(problems)
        for col in COLUMN_BY_NAME.values():
            if col.name in STORE_COLUMNS:
                continue
            cell = raw_row.get(col.name, "")
            missing = cell is None or (isinstance(cell, float) and math.isnan(cell))
            text = "" if missing else str(cell)
            value, reason = _convert(text, col)
            if reason:
                problems.append(Problem(row_no, col.name, reason))
                continue
            if isinstance(value, float):
                bad = _range_problem(value, col)
                if bad:
                    problems.append(Problem(row_no, col.name, bad))
                    continue
                warn = _warn_range(value, col)
                if warn:
                    warnings.append(Problem(row_no, col.name, warn))
            rec[col.name] = value
        _fill_defaults(rec, default_source, default_data_kind, user)
        for material in MATERIAL_COLUMNS:
            if any(p.column == material for p in problems[first_problem:]):
                continue
            name = str(rec.get(material) or "")
            if material != "coating" and not name:
                problems.append(Problem(row_no, material, "required value is missing"))
                continue
            if name:
                try:
                    resolve_material(str(name))
                except FormulaError as exc:
                    problems.append(Problem(row_no, material, str(exc)))
        if not rec.get("source"):
            problems.append(Problem(row_no, "source", "every record needs a source (citation, "
                                                      "DOI, lab notebook id)"))
        already = {p.column for p in problems[first_problem:]}
        if "coating" not in already:  # an unreadable coating says nothing about the recipe
            problems.extend(p for p in _check_consistency(rec, row_no, warnings)
                            if p.column not in already)
        out_rows.append(rec)
    if problems:
        raise ValidationError(problems, source_name)

    problems.extend(check_pairs(out_rows, [int(str(r)) for r in raw.index]))
    if problems:
        raise ValidationError(problems, source_name)

    seen_hash: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    for row_no, rec in zip(raw.index, out_rows, strict=True):
        digest = record_content_hash(rec)
        if not check_duplicates:
            rec.setdefault("record_id", None)
            rec["record_id"] = rec["record_id"] or "r-" + digest[:16]
            continue
        if digest in seen_hash:
            problems.append(Problem(int(row_no), None, f"duplicate of row {seen_hash[digest]}"))
            continue
        seen_hash[digest] = int(row_no)
        if not rec.get("record_id"):
            rec["record_id"] = "r-" + digest[:16]
        rid = str(rec["record_id"])
        if rid in seen_id:
            problems.append(Problem(int(row_no), "record_id",
                                    f"'{rid}' is used again (first at row {seen_id[rid]})"))
        seen_id.setdefault(rid, int(row_no))
    if problems:
        raise ValidationError(problems, source_name)
    if progress is not None:
        progress(total, total)
    records = pd.DataFrame(out_rows, index=raw.index)
    records = normalise_dtypes(records)
    return ValidatedTable(records=records, warnings=warnings, ignored_columns=ignored)


#: Source given to prediction inputs, which need none (they are recipes, not measurements).
PREDICTION_SOURCE = "prediction input"


def validate_prediction_input(raw: pd.DataFrame, source_name: str = "input") -> ValidatedTable:
    """Validate recipes to predict with the rules of ``coatml data add`` (units, numbers,
    ranges, formulas, recipe consistency; :func:`validate_frame`), except that a source is
    not required and repeated rows are allowed. Targets may be empty. Raises
    :class:`ValidationError` naming every row, column and reason; ``records`` holds the typed
    recipes, indexed by spreadsheet row number."""
    return validate_frame(raw, source_name=source_name, default_source=PREDICTION_SOURCE,
                          check_duplicates=False)


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _convert(text: str, col: Column) -> tuple[object, str | None]:
    s = text.strip()
    if col.kind in ("float", "int"):
        return _parse_float(s, col)
    if col.kind == "bool":
        if _is_missing(s):
            return None, None
        low = s.casefold()
        if low in _TRUE:
            return True, None
        if low in _FALSE:
            return False, None
        return None, f"'{s}' is not true/false"
    if col.kind == "enum":
        if col.name == "outcome_qualifier":
            if s in col.allowed:
                return s, None
            return None, f"'{s}' is not one of {', '.join(repr(a) for a in col.allowed)}"
        if _is_missing(s) and col.name != "method":
            return None, None
        if not s:
            return None, None
        for allowed in col.allowed:
            if s.casefold() == allowed.casefold():
                return allowed, None
        return None, f"'{s}' is not one of {', '.join(col.allowed)}"
    if col.kind == "datetime":
        return (None, None) if _is_missing(s) else (s, None)
    if col.name in MATERIAL_COLUMNS and s:
        if s in _AMBIGUOUS_MATERIAL:
            what = "empty (a bare control)" if col.name == "coating" else "missing"
            return None, (f"'{s}' is ambiguous: the formula {_AMBIGUOUS_MATERIAL[s]} or 'not a "
                          f"number'? Leave the cell empty if the value is {what}, or write the "
                          f"formula with explicit counts ({_AMBIGUOUS_MATERIAL[s]})")
        if s in _ELEMENT_TOKENS:
            return s, None
        if _is_missing(s):
            if col.name == "coating":
                return None, None
            return None, f"'{s}' means 'not reported', but {col.name} is required"
    return (s if s else None), None


def _fill_defaults(rec: dict[str, object], default_source: str | None, data_kind: str,
                   user: str) -> None:
    if not rec.get("source") and default_source:
        rec["source"] = default_source
    rec.setdefault("data_kind", None)
    if not rec.get("data_kind"):
        rec["data_kind"] = data_kind
    if not rec.get("added_by"):
        rec["added_by"] = user
    if rec.get("outcome_qualifier") is None:
        rec["outcome_qualifier"] = ""
    if not rec.get("coating"):
        if not rec.get("method"):
            rec["method"] = "none"
        if not rec.get("coated_component"):
            rec["coated_component"] = "none"
    if rec.get("cell_failed") is None:
        rec["cell_failed"] = False


def _check_consistency(rec: dict[str, object], row_no: int,
                       warnings: list[Problem]) -> list[Problem]:
    problems: list[Problem] = []
    coated = bool(rec.get("coating"))
    method = rec.get("method")
    if coated:
        if method in (None, "none"):
            named = ", ".join(m for m in METHODS if m != "none")
            problems.append(Problem(row_no, "method",
                                    f"a coated record needs a deposition method ({named})"))
        if rec.get("coated_component") in (None, "none"):
            problems.append(Problem(row_no, "coated_component",
                                    "a coated record needs coated_component electrode or "
                                    "electrolyte"))
    else:
        if method not in (None, "none"):
            problems.append(Problem(row_no, "method", f"method is {method} but coating is empty"))
        component = rec.get("coated_component")
        if component not in (None, "none"):
            problems.append(Problem(row_no, "coated_component",
                                    f"coated_component is {component} but coating is empty "
                                    "(a bare control); use 'none' or name the coating"))
        for name in ("gpc_angstrom", "cycles", "thickness_nm", "temperature_c"):
            if rec.get(name) is not None:
                problems.append(Problem(row_no, name, "a bare control (empty coating) has no "
                                                      "deposition recipe"))
    gpc, cycles, thickness = rec.get("gpc_angstrom"), rec.get("cycles"), rec.get("thickness_nm")
    if isinstance(gpc, float) and isinstance(cycles, float):
        derived = gpc * cycles / 10.0
        if thickness is None:
            rec["thickness_nm"] = derived
            rec["thickness_derived"] = True
        elif isinstance(thickness, float):
            ref = max(abs(thickness), abs(derived))
            if ref > 0 and abs(thickness - derived) / ref > THICKNESS_AGREEMENT:
                warnings.append(Problem(row_no, "thickness_nm",
                                        f"{thickness:g} nm disagrees with gpc_angstrom x cycles "
                                        f"= {derived:g} nm by more than "
                                        f"{THICKNESS_AGREEMENT:.0%}; kept as given"))
    if rec.get("thickness_derived") is None:
        rec["thickness_derived"] = False
    if rec.get("cell_failed") is True:
        for target in TARGETS:
            if rec.get(target) is not None:
                problems.append(Problem(row_no, target, "cell_failed is true, so the cell gave "
                                                        "no usable measurement; leave the "
                                                        "target empty or set cell_failed to "
                                                        "false"))
    return problems


#: Columns that must agree between records sharing a pair_id (a coated cell and its control).
PAIR_KEYS = ("electrode", "electrolyte")


def check_pairs(rows: list[dict[str, object]], row_numbers: list[int],
                stored: dict[str, dict[str, object]] | None = None) -> list[Problem]:
    """Records sharing a ``pair_id`` compare a coated cell with its bare control, so they must
    share electrode and electrolyte. ``stored`` maps pair ids already in the store to one of
    their records' values (a control added earlier). Returns one problem per mismatching row."""
    problems: list[Problem] = []
    first: dict[str, tuple[int | None, dict[str, object]]] = {
        pid: (None, rec) for pid, rec in (stored or {}).items()}
    for row_no, rec in zip(row_numbers, rows, strict=True):
        pid = rec.get("pair_id")
        if not pid:
            continue
        if pid not in first:
            first[str(pid)] = (row_no, rec)
            continue
        where, other = first[str(pid)]
        for key in PAIR_KEYS:
            if str(rec.get(key)) != str(other.get(key)):
                origin = f"row {where}" if where is not None else "a stored record"
                problems.append(Problem(row_no, "pair_id", (
                    f"pair_id '{pid}' joins {key} {rec.get(key)!r} with {other.get(key)!r} "
                    f"({origin}); a pair compares one {key} coated and bare")))
                break
    return problems


def normalise_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every schema column its dtype (float64, boolean, object) and schema order."""
    out = pd.DataFrame(index=frame.index)
    for col in COLUMN_BY_NAME.values():
        values = frame[col.name] if col.name in frame.columns else pd.Series(
            [None] * len(frame), index=frame.index, dtype=object)
        if col.kind in ("float", "int"):
            out[col.name] = pd.to_numeric(values, errors="raise").astype("float64")
        elif col.kind == "bool":
            out[col.name] = values.astype("boolean")
        elif col.kind == "datetime":
            out[col.name] = pd.to_datetime(values, utc=True, errors="coerce")
        else:
            out[col.name] = values.astype(object).where(values.notna(), None)
    return out
