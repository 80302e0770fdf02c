"""Parse material names once, strictly: chemical formulas through pymatgen, named materials
(alucone, LiPON, PEO-LiTFSI, ...) through the documented alias table ``aliases.toml``.

The alias table maps each named material to a representative formula and says on what basis
(the MLD reaction, the reported stoichiometry, a typical composition) and from which source.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from coatml.exceptions import FormulaError

if TYPE_CHECKING:
    from pymatgen.core import Composition

_ALIAS_FILE = "aliases.toml"
_FORMULA_CHARS = re.compile(r"^[A-Za-z0-9().\[\]·\s]+$")
#: Largest amount of one element per formula unit accepted; beyond it a formula is a typo
#: (and the featurizer's arithmetic overflows).
MAX_ELEMENT_AMOUNT = 1000.0
#: Longest formula text accepted.
MAX_FORMULA_LENGTH = 200


@dataclass(frozen=True)
class Alias:
    """A named material that is not a formula. ``formula`` is its representative formula."""

    name: str
    formula: str
    basis: str
    source: str
    material_class: str = ""
    synonyms: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ResolvedMaterial:
    """A material name resolved to a composition.

    ``name`` is the text as given, ``formula`` the parsed formula (the alias's representative
    formula for named materials), ``alias`` the alias entry or ``None`` for plain formulas.
    """

    name: str
    formula: str
    composition: Composition = field(compare=False)
    alias: Alias | None = None

    @property
    def is_alias(self) -> bool:
        return self.alias is not None

    @property
    def material_class(self) -> str:
        return self.alias.material_class if self.alias else ""


def _normalise_key(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip()).casefold()


@lru_cache(maxsize=1)
def alias_table() -> dict[str, Alias]:
    """The alias table, keyed by case-folded name and synonyms."""
    text = resources.files("coatml.data").joinpath(_ALIAS_FILE).read_text(encoding="utf-8")
    raw: dict[str, Any] = tomllib.loads(text)
    table: dict[str, Alias] = {}
    for name, entry in raw.get("alias", {}).items():
        alias = Alias(
            name=name,
            formula=entry["formula"],
            basis=entry["basis"],
            source=entry["source"],
            material_class=entry.get("material_class", ""),
            synonyms=tuple(entry.get("synonyms", ())),
            note=entry.get("note", ""),
        )
        for key in (name, *alias.synonyms):
            norm = _normalise_key(key)
            if norm in table and table[norm].name != name:
                raise ValueError(f"aliases.toml: '{key}' names two materials")
            table[norm] = alias
    return table


def parse_formula(formula: str) -> Composition:
    """Parse a chemical formula strictly (unknown elements and bad syntax are errors)."""
    from pymatgen.core import Composition

    text = formula.strip()
    if not text:
        raise FormulaError("empty formula")
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(f"'{text[:40]}...' is {len(text)} characters long; a formula has at "
                           f"most {MAX_FORMULA_LENGTH}")
    if not _FORMULA_CHARS.match(text):
        bad = sorted({ch for ch in text if not _FORMULA_CHARS.match(ch)})
        raise FormulaError(f"'{formula}' is not a formula or known alias (unexpected {bad!r})")
    if text.count("(") != text.count(")") or text.count("[") != text.count("]"):
        raise FormulaError(f"'{formula}' has unbalanced parentheses")
    try:
        comp = Composition(text, strict=True)
    except ValueError as exc:
        msg = str(exc)
        match = re.search(r"contains: (.*)$", msg)
        if match:
            unknown = [t.rstrip("+-0123456789") for t in match.group(1).split(", ")]
            unknown = [u for u in unknown if u and not _is_element(u)]
            raise FormulaError(
                f"'{formula}' contains unknown element(s): {', '.join(unknown) or msg}"
            ) from None
        raise FormulaError(f"'{formula}' is not a valid formula ({msg})") from None
    if comp.num_atoms <= 0:
        raise FormulaError(f"'{formula}' has no atoms")
    for element, amount in comp.get_el_amt_dict().items():
        if not math.isfinite(amount) or amount > MAX_ELEMENT_AMOUNT or amount < 0:
            raise FormulaError(f"'{formula}' has {amount:g} {element} per formula unit; at most "
                               f"{MAX_ELEMENT_AMOUNT:g} is accepted (a typo?)")
    return comp


def _is_element(symbol: str) -> bool:
    from pymatgen.core.periodic_table import Element

    return Element.is_valid_symbol(symbol)


@lru_cache(maxsize=65536)
def resolve_material(name: str) -> ResolvedMaterial:
    """Resolve a formula or alias to a :class:`ResolvedMaterial`.

    Aliases win over formulas (``BN`` is a formula, ``h-BN`` an alias). Raises
    :class:`FormulaError` naming the problem when neither works.
    """
    if not isinstance(name, str) or not name.strip():
        raise FormulaError("empty material name")
    alias = alias_table().get(_normalise_key(name))
    if alias is not None:
        comp = parse_formula(alias.formula)
        return ResolvedMaterial(name=name, formula=alias.formula, composition=comp, alias=alias)
    try:
        comp = parse_formula(name)
    except FormulaError as exc:
        message = str(exc)
        if "alias" in message or "not a valid formula" in message:
            message += "; known aliases are listed by `coatml data aliases`"
        raise FormulaError(message) from None
    return ResolvedMaterial(name=name, formula=name.strip(), composition=comp)


@lru_cache(maxsize=65536)
def chemistry_key(name: str) -> str:
    """One key per chemistry: the reduced formula of a formula or alias (``NMC811`` and
    ``LiNi0.8Mn0.1Co0.1O2`` match), the whitespace-normalised, case-folded name when it does
    not resolve. The one way coatml decides whether two material names are the same."""
    text = " ".join(str(name).split())
    try:
        return str(resolve_material(text).composition.reduced_formula)
    except (FormulaError, FileNotFoundError):
        return text.casefold()


def parse_element_symbols(text: str | None) -> tuple[str, ...]:
    """``"co, NI"`` -> ``("Co", "Ni")`` (any case, duplicates dropped, order kept);
    :class:`~coatml.exceptions.FormulaError` naming a symbol that is no element."""
    from pymatgen.core.periodic_table import Element

    out = []
    for raw in (text or "").split(","):
        sym = raw.strip()
        if not sym:
            continue
        norm = sym[:1].upper() + sym[1:].lower()
        try:
            Element(norm)
        except ValueError:
            raise FormulaError(f"'{sym}' is not a chemical element symbol") from None
        out.append(norm)
    return tuple(dict.fromkeys(out))
