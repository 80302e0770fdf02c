"""Compare the two independent transcriptions of the DOI sources and report every disagreement.

Run ``python -m coatml.data.literature.compare`` after the second-pass sheets
(``transcriptions/*second_pass.csv``) are in place; it prints the disagreement rate and each
disagreement and writes ``transcriptions/COMPARISON.md``. Only DOIs transcribed in both passes
are compared; a DOI either pass marks ``NOT_FOUND`` (the source could not be found) is listed as
not double-checked.

An outcome is the pair (DOI, schema column) under a condition: bare or coated, electrode,
coating, thickness, cycle number, C-rate, current density and test temperature (materials
compared as resolved formulas -- a material one pass describes only in free text is not
compared --, numbers after the builder's exact unit conversions). Outcomes
are matched in three steps: the same condition (then value and qualifier are compared), else
the same value (then the condition differs), else the outcome is missing from one pass. The
disagreement rate is the share of outcomes (matched pairs plus unmatched ones) with any
disagreement, before settling.

Settlement rules (applied by hand, recorded in ``transcriptions/settlements.csv`` and read by
:mod:`coatml.data.literature.build`):

1. every disagreement is settled by reading the source at the stated locator (page kept in the
   sheets' ``page_url``);
2. a value, unit or qualifier: the source's printed value wins; where the source is ambiguous
   the outcome is dropped, never averaged;
3. a condition: what the source states at the locator; a stated condition one pass missed is
   added, an unstated one removed;
4. an outcome found by one pass only is kept if the source states it at the locator, else
   dropped;
5. each settlement names the first-pass row it settles (``sheet``, ``sheet_row``,
   ``quantity``), the ``action`` (``keep``, ``set`` a field to ``settled_value``, or ``drop``)
   and the ``reason`` in the settler's own words.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from coatml.data.formulas import resolve_material
from coatml.data.literature.build import (
    QUANTITIES,
    TRANSCRIPTIONS,
    UNITS,
    normalise_doi,
    normalise_unit,
    parse_condition,
    parse_number,
    read_settlements,
    read_sheet,
)
from coatml.exceptions import FormulaError

COMPARISON_FILE = "COMPARISON.md"
CONDITION_FIELDS: tuple[str, ...] = ("bare", "electrode", "coating", "thickness_nm",
                                     "cycle_number", "c_rate", "current_density_ma_cm2",
                                     "test_temperature_c")


@dataclass(frozen=True)
class Entry:
    """One transcribed outcome, normalised for comparison."""

    sheet: str
    row: int
    doi: str
    column: str
    value: float | None
    value_text: str
    qualifier: str
    condition: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.sheet}:{self.row}"


@dataclass(frozen=True)
class Disagreement:
    """A difference between the passes: ``kind`` is value, qualifier, condition, first_only or
    second_only."""

    kind: str
    doi: str
    column: str
    first: Entry | None
    second: Entry | None
    detail: str


@dataclass(frozen=True)
class Comparison:
    """The result: compared DOIs, outcome count, disagreements, DOIs in one pass only, and
    DOIs whose source the second transcriber could not find (not double-checked)."""

    dois: tuple[str, ...]
    n_outcomes: int
    n_agree: int
    disagreements: tuple[Disagreement, ...]
    first_only_dois: tuple[str, ...]
    second_only_dois: tuple[str, ...]
    not_found_dois: tuple[str, ...] = ()

    @property
    def rate(self) -> float:
        return len(self.disagreements) / self.n_outcomes if self.n_outcomes else float("nan")


_ROLE_WORDS = re.compile(r"\b(metal|anode|cathode|electrode|foil|garnet|glass|coating|"
                         r"interlayer|layer|film|nanofilm|nano|single[- ]crystal|particles?|"
                         r"positive|negative)\b", flags=re.I)
#: Prefix of a material the comparison could not resolve (free text, compared loosely).
UNRESOLVED = "?"


def _material_key(text: str) -> str:
    """A material as its reduced formula where the text (its head before ';', without role
    words such as 'anode' or 'metal', or either part of 'X (Y)') resolves; else the folded
    text marked unresolved."""
    t = text.strip()
    if not t or t.casefold() in ("none", "bare"):
        return ""
    head = re.split(r";", t)[0].strip()
    stripped = re.sub(r"\s+", " ", _ROLE_WORDS.sub("", head)).strip()
    candidates = [t, head, stripped]
    for c in (head, stripped):
        m = re.fullmatch(r"(.+?)\s*\((.+)\)", c)
        if m:
            candidates += [m.group(1), m.group(2)]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return str(resolve_material(candidate).composition.reduced_formula)
        except FormulaError:
            continue
    return UNRESOLVED + t.casefold()


def _field_equal(x: str, y: str) -> bool:
    """Equal, or not comparable: a material one pass described in free text."""
    return x == y or x.startswith(UNRESOLVED) or y.startswith(UNRESOLVED)


def _same_condition(a: Entry, b: Entry) -> bool:
    return all(_field_equal(x, y) for x, y in zip(a.condition, b.condition, strict=True))


def _number_key(name: str, text: str) -> str:
    value, _ = parse_condition(name, text)
    return "" if value is None else f"{value:.6g}"


def read_entries(paths: list[Path]) -> list[Entry]:
    """The outcomes of the sheets, normalised; rows without a DOI or a known quantity are
    compared by their raw text."""
    out = []
    for path in paths:
        for number, raw in read_sheet(path):
            if "__error__" in raw:
                continue
            quantity = raw["quantity"].strip()
            column = QUANTITIES.get(quantity.casefold(), quantity.casefold())
            value, _ = parse_number(raw["value"])
            factor = UNITS.get(column, {}).get(normalise_unit(raw["unit"]))
            if value is not None and factor is not None:
                value *= factor
            bare = raw["is_bare_control"].strip().casefold() in ("true", "1", "yes")
            condition = (
                "bare" if bare else "coated",
                _material_key(raw["electrode"]),
                "" if bare else _material_key(raw["coating"]),
                "" if bare else _number_key("thickness_nm", raw["thickness_nm"]),
                _number_key("cycle_number", raw["cycle_number"]),
                _number_key("c_rate", raw["c_rate"]),
                _number_key("current_density_ma_cm2", raw["current_density_ma_cm2"]),
                _number_key("test_temperature_c", raw["test_temperature_c"]),
            )
            out.append(Entry(path.name, number, normalise_doi(raw["doi"]), column, value,
                             f"{raw['value']} {raw['unit']}".strip(),
                             raw["qualifier"].strip(), condition))
    return out


def _same_value(a: Entry, b: Entry) -> bool:
    if a.value is None or b.value is None:
        return a.value_text.casefold() == b.value_text.casefold()
    return abs(a.value - b.value) <= 1e-9 * max(1.0, abs(a.value), abs(b.value))


def _condition_diff(a: Entry, b: Entry) -> str:
    diffs = [f"{name}: '{x}' vs '{y}'" for name, x, y in
             zip(CONDITION_FIELDS, a.condition, b.condition, strict=True)
             if not _field_equal(x, y)]
    return "; ".join(diffs)


#: Quantity a transcriber writes for a DOI whose source could not be found.
NOT_FOUND = "not_found"


def compare(first: list[Entry], second: list[Entry]) -> Comparison:
    """Match the two passes' outcomes DOI by DOI (see the module docstring). A DOI one pass
    marks ``NOT_FOUND`` (source not found) is not compared."""
    missing = {e.doi for e in (*first, *second) if e.column == NOT_FOUND}
    first = [e for e in first if e.doi not in missing]
    second = [e for e in second if e.doi not in missing]
    dois1, dois2 = {e.doi for e in first}, {e.doi for e in second}
    common = sorted(dois1 & dois2)
    by1: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    by2: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for e in first:
        if e.doi in dois2:
            by1[(e.doi, e.column)].append(e)
    for e in second:
        if e.doi in dois1:
            by2[(e.doi, e.column)].append(e)
    disagreements: list[Disagreement] = []
    n_outcomes = 0
    n_agree = 0
    for key in sorted(set(by1) | set(by2)):
        left, right = list(by1.get(key, [])), list(by2.get(key, []))
        pairs: list[tuple[Entry, Entry, str]] = []
        for step in ("condition", "value"):
            for a in list(left):
                for b in right:
                    match = (_same_condition(a, b) if step == "condition"
                             else a.condition[0] == b.condition[0] and _same_value(a, b))
                    if match:
                        pairs.append((a, b, step))
                        left.remove(a)
                        right.remove(b)
                        break
        for a, b, step in pairs:
            n_outcomes += 1
            if step == "value":
                disagreements.append(Disagreement("condition", key[0], key[1], a, b,
                                                  _condition_diff(a, b)))
            elif not _same_value(a, b):
                disagreements.append(Disagreement("value", key[0], key[1], a, b,
                                                  f"{a.value_text} vs {b.value_text}"))
            elif a.qualifier != b.qualifier:
                disagreements.append(Disagreement("qualifier", key[0], key[1], a, b,
                                                  f"'{a.qualifier}' vs '{b.qualifier}'"))
            else:
                n_agree += 1
        for a in left:
            n_outcomes += 1
            disagreements.append(Disagreement("first_only", key[0], key[1], a, None,
                                              f"{a.value_text} ({', '.join(a.condition)})"))
        for b in right:
            n_outcomes += 1
            disagreements.append(Disagreement("second_only", key[0], key[1], None, b,
                                              f"{b.value_text} ({', '.join(b.condition)})"))
    return Comparison(tuple(common), n_outcomes, n_agree, tuple(disagreements),
                      tuple(sorted(dois1 - dois2)), tuple(sorted(dois2 - dois1)),
                      tuple(sorted(missing)))


def _settlement(d: Disagreement, settlements: Mapping[tuple[str, str], Mapping[str, str]]) -> str:
    for entry in (d.first, d.second):
        if entry is not None and (entry.sheet, str(entry.row)) in settlements:
            s = settlements[(entry.sheet, str(entry.row))]
            return f"{s['action']} {entry.where}: {s['reason']}"
    return "not settled"


def report_markdown(result: Comparison,
                    settlements: Mapping[tuple[str, str], Mapping[str, str]] | None = None
                    ) -> str:
    """The comparison as markdown (``COMPARISON.md``), with each disagreement's settlement
    (from ``settlements.csv``) where one is recorded."""
    settlements = settlements or {}
    n_settled = sum(_settlement(d, settlements) != "not settled" for d in result.disagreements)
    kinds: dict[str, int] = defaultdict(int)
    for d in result.disagreements:
        kinds[d.kind] += 1
    lines = [
        "# Double transcription: first pass against second pass", "",
        "Written by `python -m coatml.data.literature.compare`; the rate is before settling.",
        "Matching and settlement rules: see the docstring of "
        "`coatml/data/literature/compare.py`.", "",
        f"- DOIs transcribed in both passes: {len(result.dois)}",
        f"- DOIs in the first pass only (not double-checked): {len(result.first_only_dois)}",
        f"- DOIs in the second pass only: {len(result.second_only_dois)}",
        f"- DOIs whose source a transcriber could not find (not double-checked): "
        f"{len(result.not_found_dois)}",
        f"- outcomes compared: {result.n_outcomes}; agreeing: {result.n_agree}",
        f"- disagreements: {len(result.disagreements)} "
        f"(rate {result.rate:.1%})" if result.n_outcomes else "- disagreements: none compared",
        "- by kind: " + (", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none"),
        f"- settled against the source so far: {n_settled} of {len(result.disagreements)}",
        "", "## Disagreements", "",
        "| kind | DOI | column | first pass | second pass | detail | settlement |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in result.disagreements:
        lines.append(f"| {d.kind} | {d.doi} | {d.column} | {d.first.where if d.first else ''} "
                     f"| {d.second.where if d.second else ''} | {d.detail.replace('|', '/')} "
                     f"| {_settlement(d, settlements).replace('|', '/')} |")
    if result.first_only_dois:
        lines += ["", "## DOIs not double-checked (first pass only)", ""]
        lines += [f"- {d}" for d in result.first_only_dois]
    if result.second_only_dois:
        lines += ["", "## DOIs in the second pass only", ""]
        lines += [f"- {d}" for d in result.second_only_dois]
    if result.not_found_dois:
        lines += ["", "## DOIs not double-checked (a transcriber could not find the source)", ""]
        lines += [f"- {d}" for d in result.not_found_dois]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare first and second transcriptions.")
    parser.add_argument("--folder", type=Path, default=TRANSCRIPTIONS)
    args = parser.parse_args(argv)
    first = read_entries(sorted(args.folder.glob("t*_first_pass.csv")))
    second = read_entries(sorted(args.folder.glob("*second_pass.csv")))
    result = compare(first, second)
    text = report_markdown(result, read_settlements(args.folder))
    (args.folder / COMPARISON_FILE).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
