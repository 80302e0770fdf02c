"""The shipped literature dataset checked against the review it was transcribed from.

Each Table 2 record's numbers must appear in that reference's row of the review's Table 2 (in
the column the record claims: "before" for the bare control, "after" for the coated cell), each
text record's numbers in the review's section 4 text, and every cited reference must match the
review's reference list under the same number. The review text is read from the shared seed
folder beside the repository; its absence is a failure, not a skip.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

from coatml.data.formulas import resolve_material
from coatml.data.schema import COLUMN_BY_NAME, COLUMN_NAMES, NUMERIC_COLUMNS, TARGETS

LIT_DIR = Path(__file__).parents[2] / "src" / "coatml" / "data" / "literature"
SEED = Path(__file__).parents[3] / "shared" / "seed" / "000_5ceb1318e89bc595.txt"
RECIPE_COLUMNS = ("precursors", "temperature_c", "gpc_angstrom", "cycles", "thickness_nm")
SOURCE_RE = re.compile(r"^ref (\d+): (.+)$")


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


@cache
def _records() -> tuple[list[str], list[dict[str, str]]]:
    return _read_csv(LIT_DIR / "literature.csv")


@cache
def _references() -> dict[int, str]:
    _, rows = _read_csv(LIT_DIR / "references.csv")
    return {int(r["ref_number"]): r["citation"] for r in rows}


@cache
def _seed_lines() -> tuple[str, ...]:
    if not SEED.is_file():
        pytest.fail(f"the review text is missing: expected {SEED} (the shared seed folder beside "
                    "the repository); the literature data cannot be checked without it")
    return tuple(SEED.read_text(encoding="utf-8").splitlines())


def _clean(text: str) -> str:
    """The review's markup removed: <sub>/<sup> tags, LaTeX wrappers, emphasis stars."""
    t = re.sub(r"\s+<sub>\s*(.*?)\s*</sub>\s*", r"\1", text)
    t = re.sub(r"<sub>\s*(.*?)\s*</sub>", r"\1", t)
    t = re.sub(r"\s*<sup>\s*(.*?)\s*</sup>", r"\1", t)
    t = re.sub(r"\\text\{([^}]*)\}", r"\1", t)
    t = re.sub(r"_\{([^}]*)\}", r"\1", t)
    t = re.sub(r"_(\w)", r"\1", t)
    t = t.replace("$", "").replace("*", "")
    return re.sub(r"\s+", " ", t).strip()


def _numbers(text: str) -> set[float]:
    """Every number printed in ``text``: plain, '10 000' style thousands, 'a × 10-8' powers."""
    out: set[float] = set()
    for mant, exp in re.findall(r"(\d+(?:\.\d+)?)\s*×\s*10\s*\^?\s*([-−]?\d+)", text):
        out.add(float(mant) * 10.0 ** int(exp.replace("−", "-")))
    for grouped in re.findall(r"\d{1,3}(?: \d{3})+(?![\d.])", text):
        out.add(float(grouped.replace(" ", "")))
    out.update(float(x) for x in re.findall(r"\d+(?:\.\d+)?", text))
    for denom in re.findall(r"\bC/(\d+)", text):
        out.add(1.0 / float(denom))
    return out


def _in(value: float, numbers: set[float], tol: float = 1e-9) -> bool:
    return any(math.isclose(value, n, rel_tol=tol, abs_tol=1e-15) for n in numbers)


@cache
def _table2() -> dict[int, list[str]]:
    """Table 2 rows keyed by reference number: the 9 tab-separated fields, cleaned."""
    rows: dict[int, list[str]] = {}
    for line in _seed_lines():
        fields = line.split("\t")
        if len(fields) == 9 and fields[8].strip().isdigit():
            rows[int(fields[8])] = [_clean(f) for f in fields]
    return rows


@cache
def _review_references() -> dict[int, str]:
    """The review's reference list; the first entries are unnumbered bullets (refs 1, 2, ...)."""
    lines = _seed_lines()
    start = lines.index("## REFERENCES")
    refs: dict[int, str] = {}
    number = 0
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        numbered = re.match(r"^(\d+)\.\s+(.*)$", line)
        if numbered:
            number = int(numbered.group(1))
            refs[number] = _clean(numbered.group(2))
        elif line.startswith("- "):
            number += 1
            refs[number] = _clean(line[2:])
    return refs


@cache
def _section4_text() -> str:
    lines = _seed_lines()
    start = next(i for i, s in enumerate(lines) if s.startswith("## 4 |"))
    end = next(i for i, s in enumerate(lines) if s.startswith("## 5 |"))
    text = _clean(" ".join(lines[start:end]))
    for latex, plain in (("\\sim", "~"), ("\\Omega", "Ω"), ("\\mu", "μ"), ("^", ""),
                         ("{", ""), ("}", "")):
        text = text.replace(latex, plain)
    return text


def _words_key(text: str) -> str:
    """Letters and digits only: compares wording while ignoring spacing and punctuation."""
    return re.sub(r"[\W_]+", "", text).casefold()


def _ref_number(rec: dict[str, str]) -> int:
    match = SOURCE_RE.match(rec["source"])
    assert match, f"{rec['record_id']}: source must start with 'ref N: '"
    return int(match.group(1))


def _is_table2(rec: dict[str, str]) -> bool:
    return ", Table 2, row ref " in rec["source_detail"]


def _numeric(rec: dict[str, str]) -> dict[str, float]:
    return {c: float(rec[c]) for c in NUMERIC_COLUMNS if rec.get(c, "").strip()}


# --- structure --------------------------------------------------------------------------------

def test_columns_are_the_schema_columns_in_order() -> None:
    header, rows = _records()
    expected = [c for c in COLUMN_NAMES if c not in ("added_at", "added_by")]
    assert header == expected
    assert rows, "literature.csv has no records"
    assert all(len(r) == len(expected) and None not in r for r in rows)


def test_record_ids_unique_and_provenance_complete() -> None:
    _, rows = _records()
    ids = [r["record_id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate record_id"
    for r in rows:
        assert r["data_kind"] == "literature", r["record_id"]
        assert r["outcome_note"].strip(), f"{r['record_id']}: outcome_note must hold the text"
        assert r["source_detail"].startswith("Sun, Dai, Zhang, Sun, Interface engineering"), \
            r["record_id"]


def test_every_source_is_a_listed_reference_of_the_review() -> None:
    _, rows = _records()
    refs = _references()
    review = _review_references()
    for r in rows:
        match = SOURCE_RE.match(r["source"])
        assert match, f"{r['record_id']}: source '{r['source'][:40]}' must start with 'ref N: '"
        number, citation = int(match.group(1)), match.group(2)
        assert number in refs, f"{r['record_id']}: ref {number} missing from references.csv"
        assert citation == refs[number], f"{r['record_id']}: citation differs from references.csv"
    for number, citation in refs.items():
        assert review.get(number) == citation, f"ref {number} is not the review's ref {number}"


def test_reference_numbering_matches_in_text_citations() -> None:
    # Spot checks of the bullet counting against statements in the review's text.
    review = _review_references()
    assert review[9].startswith("Famprikis T")          # Figure 3: "Copyright 2019, Springer"
    assert review[12].startswith("Zhang S, Ma J")       # first numbered entry
    assert review[67].startswith("Woo JH")              # "Woo et al. ... 67"
    assert review[19].startswith("Wang CW")             # "Wang et al. ... ZnO ... 19"
    assert review[84].startswith("Wang CH, Zhao Y")     # "Sun's group ... alucone ... 84"
    assert review[161].startswith("Koc T")              # "Tarascon et al. ... ALD-LPO 161"
    assert len(review) == 167


def test_every_material_resolves() -> None:
    _, rows = _records()
    for r in rows:
        for column in ("electrode", "electrolyte", "coating"):
            if column == "coating" and not r[column]:
                continue
            resolved = resolve_material(r[column])
            assert resolved.composition.num_atoms > 0, (r["record_id"], column)


def test_values_within_schema() -> None:
    _, rows = _records()
    for r in rows:
        for name, value in _numeric(r).items():
            col = COLUMN_BY_NAME[name]
            assert math.isfinite(value), (r["record_id"], name)
            if col.low is not None:
                assert value >= col.low if col.low_inclusive else value > col.low, \
                    (r["record_id"], name, value)
            if col.high is not None:
                assert value <= col.high, (r["record_id"], name, value)
        for name in ("coated_component", "method", "cell_type", "outcome_qualifier", "data_kind"):
            assert r[name] in COLUMN_BY_NAME[name].allowed, (r["record_id"], name, r[name])
        assert r["cell_failed"] in ("true", "false"), r["record_id"]


def test_bare_controls_have_no_coating_or_recipe() -> None:
    _, rows = _records()
    for r in rows:
        if r["coating"]:
            assert r["method"] in ("ALD", "MLD"), r["record_id"]
            assert r["coated_component"] in ("electrode", "electrolyte"), r["record_id"]
        else:
            assert (r["method"], r["coated_component"]) == ("none", "none"), r["record_id"]
            assert not any(r[c] for c in RECIPE_COLUMNS), r["record_id"]


def test_failed_cells_say_so_in_the_source_words() -> None:
    _, rows = _records()
    for r in rows:
        says_failed = re.search(r"fail|short circuit|unable to operate", r["outcome_note"], re.I)
        assert (r["cell_failed"] == "true") == bool(says_failed), r["record_id"]


def test_no_zero_values_nd_stays_empty() -> None:
    # The review never prints a zero outcome or recipe value; a 0 would be a mistyped ND.
    _, rows = _records()
    for r in rows:
        for name, value in _numeric(r).items():
            assert value != 0.0, f"{r['record_id']}: {name} is 0 (ND must stay empty)"


def test_thickness_never_typed_from_gpc_times_cycles() -> None:
    _, rows = _records()
    for r in rows:
        assert not r["cycles"] and not r["thickness_derived"], r["record_id"]
        if _is_table2(r):
            assert not r["thickness_nm"], f"{r['record_id']}: Table 2 gives no thickness"


# --- Table 2 ----------------------------------------------------------------------------------

def test_every_table2_row_is_a_coated_bare_pair() -> None:
    _, rows = _records()
    table = _table2()
    assert len(table) == 27
    by_pair: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        if _is_table2(r):
            by_pair[r["pair_id"]].append(r)
    assert set(by_pair) == {f"lit-ref{n}" for n in table}
    for pair, members in by_pair.items():
        kinds = sorted("coated" if m["coating"] else "bare" for m in members)
        assert kinds == ["bare", "coated"], pair
        assert {_ref_number(m) for m in members} == {int(pair.removeprefix("lit-ref"))}


def _allowed(name: str, value: float, cell: str) -> bool:
    nums = _numbers(cell)
    if name == "overpotential_mv":
        return _in(value, nums) if "mV" in cell else _in(value / 1000.0, nums)
    if name == "cycle_life_h":
        if " min" in cell:
            return any(math.isclose(value * 60.0, n, abs_tol=0.01) for n in nums)
        return " h" in cell and _in(value, nums)
    if name == "cycle_number" and value == 1.0 and "initial" in cell.lower():
        return True
    return _in(value, nums)


def test_table2_numbers_appear_in_their_row() -> None:
    _, rows = _records()
    table = _table2()
    checked = 0
    for r in rows:
        if not _is_table2(r):
            continue
        fields = table[_ref_number(r)]
        coated = bool(r["coating"])
        cell = fields[7] if coated else fields[6]
        assert r["outcome_note"] == cell, f"{r['record_id']}: outcome_note is not the cell text"
        electrode, electrolyte = (s.strip() for s in fields[1].split("/", 1))
        assert (r["electrode"], r["electrolyte"]) == (electrode, electrolyte), r["record_id"]
        values = _numeric(r)
        if coated:
            assert r["coating"] == fields[2], r["record_id"]
            assert values.pop("temperature_c") == float(fields[4]), r["record_id"]
            gpc = values.pop("gpc_angstrom", None)
            assert gpc == (None if fields[5] == "ND" else float(fields[5])), r["record_id"]
        if cell == "ND":
            assert not values, f"{r['record_id']}: the cell is ND but numbers were entered"
        for name, value in values.items():
            assert _allowed(name, value, cell), \
                f"{r['record_id']}: {name}={value:g} is not printed in '{cell}'"
            checked += 1
    assert checked >= 40


def test_table2_qualifiers_follow_the_words() -> None:
    _, rows = _records()
    table = _table2()
    words = {"<": r"less than|lower than", ">": r"\bover\b|great than|more than", "~": r"about|~"}
    for r in rows:
        if not _is_table2(r) or not r["outcome_qualifier"]:
            continue
        fields = table[_ref_number(r)]
        cell = fields[7] if r["coating"] else fields[6]
        assert re.search(words[r["outcome_qualifier"]], cell, re.I), r["record_id"]


# --- text records -----------------------------------------------------------------------------

def test_text_record_numbers_appear_in_the_review_text() -> None:
    _, rows = _records()
    table = _table2()
    section4 = _numbers(_section4_text())
    text_rows = [r for r in rows if ", section 4." in r["source_detail"]]
    assert len(text_rows) >= 10
    for r in text_rows:
        n = _ref_number(r)
        allowed = section4 | (_numbers(" ".join(table[n])) if n in table else set())
        note = r["outcome_note"].split(" [this record")[0]
        assert _words_key(note) in _words_key(_section4_text()), \
            f"{r['record_id']}: outcome_note is not the review's wording"
        for name, value in _numeric(r).items():
            assert _in(value, allowed), f"{r['record_id']}: {name}={value:g} not in the text"


def test_both_targets_are_present() -> None:
    _, rows = _records()
    for target in TARGETS:
        with_target = [r for r in rows if r[target]]
        assert len(with_target) >= 5, target
        assert {bool(r["coating"]) for r in with_target} == {True, False}, target
