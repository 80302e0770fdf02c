"""The sourced coating library and the ALD/MLD precursor table, shipped as package data.

``data/coating_library.csv`` lists coatings that *have* been grown by ALD or MLD, one row per
coating x process, each with its literature source. ``coatml/data/precursors.csv`` (shared with
the featurizer) lists, per element, the precursors known to deliver it; it decides which
elements (and so which enumerated compositions) are depositable. Both tables are validated when
loaded: every row sourced, every coating a parseable formula or known alias, every temperature
window ordered. Unknown values stay empty (NaN) rather than being filled in. See
``data/README.md`` for where each source came from.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from coatml.data.formulas import resolve_material
from coatml.exceptions import FormulaError, Problem, ValidationError

LIBRARY_FILE = "coating_library.csv"
PRECURSOR_FILE = "precursors.csv"

COATING_CLASSES: tuple[str, ...] = (
    "binary_oxide", "li_ternary_oxide", "phosphate", "borate", "nitride", "fluoride",
    "carbonate", "hybrid_mld", "conducting_polymer", "organic_li_salt",
)
LIGAND_FAMILIES: tuple[str, ...] = (
    "alkyl", "alkoxide", "amide", "halide", "beta_diketonate", "cyclopentadienyl", "amidinate",
    "other",
)
LIBRARY_METHODS: tuple[str, ...] = ("ALD", "MLD")

_LIBRARY_COLUMNS: tuple[str, ...] = (
    "coating", "coating_class", "method", "precursors", "coreactant", "temperature_min_c",
    "temperature_max_c", "gpc_angstrom", "source", "note",
)
_PRECURSOR_COLUMNS: tuple[str, ...] = (
    "element", "precursor", "ligand_family", "coreactants", "temperature_min_c",
    "temperature_max_c", "source", "note",
)
_FLOAT_COLUMNS: tuple[str, ...] = ("temperature_min_c", "temperature_max_c", "gpc_angstrom")


@dataclass(frozen=True)
class CoatingProcess:
    """One coating grown by one ALD/MLD process, as reported by ``source``.

    Temperatures in degC give the reported deposition window (a single temperature when
    min == max); ``gpc_angstrom`` is the typical growth per cycle. ``None`` means unknown.
    """

    coating: str
    coating_class: str
    method: str
    precursors: str
    coreactant: str
    temperature_min_c: float | None
    temperature_max_c: float | None
    gpc_angstrom: float | None
    source: str
    note: str = ""


@dataclass(frozen=True)
class Precursor:
    """A precursor that delivers ``element`` in an ALD/MLD process, with its sourced window."""

    element: str
    precursor: str
    ligand_family: str
    coreactants: str
    temperature_min_c: float | None
    temperature_max_c: float | None
    source: str
    note: str = ""


def _read_csv(name: str) -> pd.DataFrame:
    # the precursor table lives in the data layer: the featurizer reads it too
    package = "coatml.data" if name == PRECURSOR_FILE else "coatml.recommend"
    path = resources.files(package).joinpath(name if name == PRECURSOR_FILE else "data/" + name)
    text = path.read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def _to_float(value: str, row: int, column: str, problems: list[Problem]) -> float:
    if value.strip() == "":
        return float("nan")
    try:
        return float(value)
    except ValueError:
        problems.append(Problem(row, column, f"'{value}' is not a number"))
        return float("nan")


def _check_window(df: pd.DataFrame, problems: list[Problem]) -> None:
    lo = df["temperature_min_c"].to_numpy(dtype=float)
    hi = df["temperature_max_c"].to_numpy(dtype=float)
    for i in np.flatnonzero(lo > hi):
        problems.append(Problem(int(i) + 2, "temperature_min_c",
                                f"window {lo[i]:g} > {hi[i]:g} degC (min must be <= max)"))
    for col, arr in (("temperature_min_c", lo), ("temperature_max_c", hi)):
        for i in np.flatnonzero((arr < -50) | (arr > 1000)):
            problems.append(Problem(int(i) + 2, col, f"{arr[i]:g} degC is implausible for ALD"))


def _validate_library(raw: pd.DataFrame) -> pd.DataFrame:
    problems: list[Problem] = []
    missing = [c for c in _LIBRARY_COLUMNS if c not in raw.columns]
    if missing:
        raise ValidationError([Problem(None, None, f"missing columns {missing}")], LIBRARY_FILE)
    df = raw.loc[:, list(_LIBRARY_COLUMNS)].copy()
    for col in _FLOAT_COLUMNS:
        df[col] = [_to_float(v, i + 2, col, problems) for i, v in enumerate(raw[col])]
    formulas, reduced, elements = [], [], []
    for i, row in enumerate(df.itertuples(index=False)):
        r = i + 2
        if not row.source.strip():
            problems.append(Problem(r, "source", "every library row needs a source"))
        if row.coating_class not in COATING_CLASSES:
            problems.append(Problem(r, "coating_class", f"'{row.coating_class}' not in "
                                    f"{COATING_CLASSES}"))
        if row.method not in LIBRARY_METHODS:
            problems.append(Problem(r, "method", f"'{row.method}' not in {LIBRARY_METHODS}"))
        try:
            res = resolve_material(row.coating)
        except FormulaError as exc:
            problems.append(Problem(r, "coating", str(exc)))
            formulas.append("")
            reduced.append("")
            elements.append("")
            continue
        formulas.append(res.formula)
        reduced.append(res.composition.reduced_formula)
        elements.append(" ".join(sorted(el.symbol for el in res.composition.elements)))
    gpc = df["gpc_angstrom"].to_numpy(dtype=float)
    for bad in np.flatnonzero(gpc <= 0):
        problems.append(Problem(int(bad) + 2, "gpc_angstrom", "growth per cycle must be > 0"))
    _check_window(df, problems)
    if problems:
        raise ValidationError(problems, LIBRARY_FILE)
    df["formula"] = formulas
    df["reduced_formula"] = reduced
    df["elements"] = elements
    return df


def _validate_precursors(raw: pd.DataFrame) -> pd.DataFrame:
    from pymatgen.core.periodic_table import Element

    problems: list[Problem] = []
    missing = [c for c in _PRECURSOR_COLUMNS if c not in raw.columns]
    if missing:
        raise ValidationError([Problem(None, None, f"missing columns {missing}")], PRECURSOR_FILE)
    df = raw.loc[:, list(_PRECURSOR_COLUMNS)].copy()
    for col in ("temperature_min_c", "temperature_max_c"):
        df[col] = [_to_float(v, i + 2, col, problems) for i, v in enumerate(raw[col])]
    for i, row in enumerate(df.itertuples(index=False)):
        r = i + 2
        if not Element.is_valid_symbol(row.element):
            problems.append(Problem(r, "element", f"'{row.element}' is not an element"))
        if not row.precursor.strip():
            problems.append(Problem(r, "precursor", "precursor name is empty"))
        if row.ligand_family not in LIGAND_FAMILIES:
            problems.append(Problem(r, "ligand_family", f"'{row.ligand_family}' not in "
                                    f"{LIGAND_FAMILIES}"))
        if not row.source.strip():
            problems.append(Problem(r, "source", "every precursor row needs a source"))
    _check_window(df, problems)
    if problems:
        raise ValidationError(problems, PRECURSOR_FILE)
    return df


@lru_cache(maxsize=1)
def _library_cached() -> pd.DataFrame:
    return _validate_library(_read_csv(LIBRARY_FILE))


@lru_cache(maxsize=1)
def _precursors_cached() -> pd.DataFrame:
    return _validate_precursors(_read_csv(PRECURSOR_FILE))


def load_coating_library() -> pd.DataFrame:
    """The validated coating library: one row per coating x process.

    Columns: the CSV columns (temperatures and GPC as floats, NaN where unknown) plus
    ``formula`` (the parsed or alias formula), ``reduced_formula`` and ``elements``
    (space-separated symbols). Raises :class:`ValidationError` if the shipped table is broken.
    """
    return _library_cached().copy()


def load_precursors() -> pd.DataFrame:
    """The validated precursor table: one row per element x precursor (a copy)."""
    return _precursors_cached().copy()


def _none_if_nan(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def coating_processes() -> tuple[CoatingProcess, ...]:
    """The library rows as :class:`CoatingProcess` records."""
    df = _library_cached()
    return tuple(
        CoatingProcess(
            coating=r.coating, coating_class=r.coating_class, method=r.method,
            precursors=r.precursors, coreactant=r.coreactant,
            temperature_min_c=_none_if_nan(r.temperature_min_c),
            temperature_max_c=_none_if_nan(r.temperature_max_c),
            gpc_angstrom=_none_if_nan(r.gpc_angstrom), source=r.source, note=r.note,
        )
        for r in df.itertuples(index=False)
    )


def precursor_records() -> tuple[Precursor, ...]:
    """The precursor rows as :class:`Precursor` records."""
    df = _precursors_cached()
    return tuple(
        Precursor(
            element=r.element, precursor=r.precursor, ligand_family=r.ligand_family,
            coreactants=r.coreactants, temperature_min_c=_none_if_nan(r.temperature_min_c),
            temperature_max_c=_none_if_nan(r.temperature_max_c), source=r.source, note=r.note,
        )
        for r in df.itertuples(index=False)
    )


def depositable_elements() -> frozenset[str]:
    """Elements for which the precursor table holds at least one sourced precursor."""
    return frozenset(_precursors_cached()["element"])


def citations() -> tuple[str, ...]:
    """The distinct sources cited by the library and the precursor table, sorted."""
    sources = set(_library_cached()["source"]) | set(_precursors_cached()["source"])
    return tuple(sorted(s for s in sources if s.strip()))
