"""Interface features: what kind of materials meet, and how different they are.

Each material (electrode, electrolyte, coating) is described once by
:func:`describe_material`: its material class (from the alias table's ``material_class`` when it
names one of ours, else from composition rules), its anion type, and four scalar descriptors --
mean Pauling electronegativity, Li atomic fraction, transition-metal atomic fraction and mean
atomic mass. :func:`interface_features` turns the per-row descriptors into one-hot classes and,
for the pairs coating-electrolyte, coating-electrode and electrode-electrolyte, differences
(``a - b``), ratios (``a / b``, NaN where ``b == 0``) and anion-type matches.

Composition rules are deliberately simple and documented in :func:`electrolyte_class`,
:func:`electrode_class` and :func:`anion_type`; an unrecognised material gets ``other``, never
a guess dressed up as a class.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from coatml.exceptions import FormulaError

if TYPE_CHECKING:
    from pymatgen.core import Composition

    from coatml.data.formulas import ResolvedMaterial

__all__ = [
    "ANION_TYPES",
    "ELECTRODE_CLASSES",
    "ELECTROLYTE_CLASSES",
    "MaterialDescriptors",
    "MissingPropertyError",
    "anion_type",
    "describe_material",
    "electrode_class",
    "electrode_family",
    "electrolyte_class",
    "interface_feature_labels",
    "interface_features",
]

ELECTROLYTE_CLASSES: tuple[str, ...] = (
    "sulfide", "argyrodite", "lgps", "garnet", "nasicon", "perovskite", "halide", "polymer",
    "lipon", "organic_film", "liquid", "other",
)
ELECTRODE_CLASSES: tuple[str, ...] = (
    "layered_oxide", "spinel", "olivine", "li_metal", "na_metal", "graphite", "organic",
    "other",
)
ANION_TYPES: tuple[str, ...] = (
    "oxide", "sulfide", "halide", "nitride", "oxynitride", "phosphate", "borate", "carbonate",
    "organic", "metal", "carbon", "other",
)
SCALARS: tuple[str, ...] = (
    "mean_electronegativity", "li_fraction", "tm_fraction", "mean_atomic_mass",
)
PAIRS: tuple[tuple[str, str], ...] = (
    ("coating", "electrolyte"), ("coating", "electrode"), ("electrode", "electrolyte"),
)
ROLES: tuple[str, ...] = ("electrode", "electrolyte", "coating")

_HALOGENS = frozenset({"F", "Cl", "Br", "I"})
_LAYERED_TM = frozenset({"Ni", "Co", "Mn", "Al", "Fe", "Cr"})
#: alias-table ``material_class`` values (see the vocabulary at the top of aliases.toml) mapped
#: to ours, case-folded; anything else falls back to the composition rules.
_ALIAS_CLASS_MAP = {
    "polymer": "polymer", "polymer electrolyte": "polymer", "spe": "polymer",
    "lipon": "lipon", "oxynitride": "lipon", "garnet": "garnet", "nasicon": "nasicon",
    "perovskite": "perovskite", "argyrodite": "argyrodite", "lgps": "lgps",
    "sulfide": "sulfide", "halide": "halide", "liquid": "liquid",
    "layered_oxide": "layered_oxide", "layered oxide": "layered_oxide", "spinel": "spinel",
    "olivine": "olivine", "li_metal": "li_metal", "lithium metal": "li_metal",
    "spinel_oxide": "spinel", "organic_electrode": "organic", "organic_film": "organic_film",
    "na_metal": "na_metal", "sodium metal": "na_metal", "graphite": "graphite",
    "organic": "organic", "hybrid": "organic", "mld_hybrid": "organic",
}


_ORGANIC_ALIAS_CLASSES = frozenset({
    "polymer", "organic", "hybrid", "mld_hybrid", "hybrid_mld", "conducting_polymer",
    "organic_li_salt", "organic_electrode", "organic_film",
})


class MissingPropertyError(FormulaError):
    """An element of the material has no tabulated value of a property a feature needs."""


@dataclass(frozen=True)
class MaterialDescriptors:
    """Composition descriptors of one material (see module docstring)."""

    formula: str
    electrolyte_class: str
    electrode_class: str
    electrode_family: str
    anion_type: str
    anion_element: str
    mean_electronegativity: float
    li_fraction: float
    tm_fraction: float
    mean_atomic_mass: float
    polyanion_fraction: float


def _elements(comp: Composition) -> set[str]:
    return {el.symbol for el in comp.element_composition}


def anion_type(comp: Composition, alias_class: str = "") -> str:
    """Anion family, in order of precedence.

    metal (only metallic elements) > carbon (C only) > organic (C and H, or an organic alias
    class) > oxynitride (O, N and P: LiPON-like) > phosphate (P, O) > borate (B, O) >
    carbonate (C, O) > sulfide (S, no O; argyrodites with halide included) > halide
    (F/Cl/Br/I without O, S, N) > nitride (N, no O) > oxide (O) > other.
    """
    from pymatgen.core.periodic_table import Element

    els = _elements(comp)
    cls = alias_class.casefold()
    if all(Element(e).is_metal for e in els):
        return "metal"
    if els == {"C"}:
        return "carbon"
    if ("C" in els and "H" in els) or cls in _ORGANIC_ALIAS_CLASSES:
        return "organic"
    if {"O", "N", "P"} <= els:
        return "oxynitride"
    if {"P", "O"} <= els:
        return "phosphate"
    if {"B", "O"} <= els:
        return "borate"
    if {"C", "O"} <= els:
        return "carbonate"
    if "S" in els and "O" not in els:
        return "sulfide"
    if els & _HALOGENS and not els & {"O", "S", "N"}:
        return "halide"
    if "N" in els and "O" not in els:
        return "nitride"
    if "O" in els:
        return "oxide"
    return "other"


def _anion_element(comp: Composition) -> str:
    """The most electronegative element (the anion in an ionic compound), '' for metals."""
    from pymatgen.core.periodic_table import Element

    els = _elements(comp)
    if all(Element(e).is_metal for e in els):
        return ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scored = [(Element(e).X, e) for e in els if not math.isnan(Element(e).X)]
    return max(scored)[1] if scored else ""


def electrolyte_class(comp: Composition, alias_class: str = "") -> str:
    """Electrolyte class from the alias class or composition rules.

    liquid: only through the alias class (a salt-in-solvent electrolyte named in
    ``aliases.toml``), so liquid-electrolyte results can be filtered or used as a related task;

    argyrodite: Li, P, S and a halogen; lgps: Li, P, S and Ge/Sn/Si; sulfide: any other S
    without O; garnet: Li, La, Zr and O; nasicon: P, O and Ti/Ge/Zr/Hf (M2(PO4)3 frameworks);
    perovskite: Li, La, Ti, O without P; lipon: Li, P, O, N; halide: Li with halogen anions only;
    polymer: contains C and H.
    """
    mapped = _ALIAS_CLASS_MAP.get(alias_class.casefold())
    if mapped in ELECTROLYTE_CLASSES:
        return mapped
    els = _elements(comp)
    if "C" in els and "H" in els:
        return "polymer"
    if {"P", "S"} <= els and els & _HALOGENS and "O" not in els:
        return "argyrodite"
    if {"P", "S"} <= els and els & {"Ge", "Sn", "Si"} and "O" not in els:
        return "lgps"
    if "S" in els and "O" not in els:
        return "sulfide"
    if {"Li", "P", "O", "N"} <= els:
        return "lipon"
    if {"La", "Zr", "O"} <= els:
        return "garnet"
    if {"P", "O"} <= els and els & {"Ti", "Ge", "Zr", "Hf"}:
        return "nasicon"
    if {"La", "Ti", "O"} <= els:
        return "perovskite"
    if els & _HALOGENS and not els & {"O", "S", "N"}:
        return "halide"
    return "other"


def electrode_family(comp: Composition) -> str:
    """Cathode chemistry family used for operating-voltage lookups, '' when none matches.

    nmc: Li, Ni, Mn, Co, O (Al allowed); nca: Li, Ni, Co, Al, O; lco: LiCoO2-type; lnmo:
    Li, Ni, Mn, O with Li/TM about 0.5 (spinel); lfp: Li, Fe, P, O; li_metal / na_metal.
    """
    els = _elements(comp)
    if els == {"Li"}:
        return "li_metal"
    if els == {"Na"}:
        return "na_metal"
    if els == {"Li", "Fe", "P", "O"}:
        return "lfp"
    if "Li" in els and "O" in els:
        tm = sum(comp.get_atomic_fraction(e) for e in els & {"Ni", "Co", "Mn", "Al"})
        li = comp.get_atomic_fraction("Li")
        if els == {"Li", "Co", "O"}:
            return "lco"
        if els == {"Li", "Ni", "Mn", "O"} and tm > 0 and 0.4 <= li / tm <= 0.6:
            return "lnmo"
        if {"Ni", "Mn", "Co"} <= els and els <= {"Li", "Ni", "Mn", "Co", "Al", "O"}:
            return "nmc"
        if {"Ni", "Co", "Al"} <= els and els <= {"Li", "Ni", "Co", "Al", "O"}:
            return "nca"
    return ""


def electrode_class(comp: Composition, alias_class: str = "") -> str:
    """Electrode class from the alias class or composition rules.

    li_metal / na_metal: the pure element; graphite: C only; organic: C with H or with O and no
    other non-metal besides Li (lithium terephthalate); olivine: Li, a TM, P, O with P:O = 1:4;
    spinel: Li, Mn/Ni/Co, O with Li/TM about 0.5; layered_oxide: Li, TM (Ni/Co/Mn/Al/Fe/Cr), O
    with Li/TM about 1 and O/(Li+TM) about 1.
    """
    mapped = _ALIAS_CLASS_MAP.get(alias_class.casefold())
    if mapped in ELECTRODE_CLASSES:
        return mapped
    els = _elements(comp)
    if els == {"Li"}:
        return "li_metal"
    if els == {"Na"}:
        return "na_metal"
    if els == {"C"}:
        return "graphite"
    if "C" in els and ("H" in els or "O" in els):
        return "organic"
    frac = comp.get_atomic_fraction
    tm = sum(frac(e) for e in els & _LAYERED_TM)
    li = frac("Li") if "Li" in els else 0.0
    if {"Li", "P", "O"} <= els and tm > 0 and abs(frac("P") / frac("O") - 0.25) < 0.02:
        return "olivine"
    if "Li" in els and "O" in els and tm > 0 and els <= ({"Li", "O"} | _LAYERED_TM | {"Ti"}):
        ratio = li / tm
        if 0.4 <= ratio <= 0.6:
            return "spinel"
        if 0.8 <= ratio <= 1.3 and abs(frac("O") / (li + tm) - 1.0) < 0.15:
            return "layered_oxide"
    return "other"


def _mean_electronegativity(comp: Composition, formula: str) -> float:
    from pymatgen.core.periodic_table import Element

    total = 0.0
    n_atoms = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns for noble gases (X = NaN)
        for el, amt in comp.element_composition.items():
            x = Element(el.symbol).X
            if math.isnan(x):
                raise MissingPropertyError(
                    f"'{formula}': element {el.symbol} has no tabulated Pauling "
                    "electronegativity"
                )
            total += x * amt
            n_atoms += amt
    return total / n_atoms


@lru_cache(maxsize=4096)
def _describe(formula: str, alias_class: str) -> MaterialDescriptors:
    from coatml.data.formulas import parse_formula

    comp = parse_formula(formula)
    els = _elements(comp)
    from pymatgen.core.periodic_table import Element

    frac = comp.get_atomic_fraction
    tm = sum(frac(e) for e in els if Element(e).is_transition_metal)
    poly = sum(frac(e) for e in els & {"P", "B", "Si", "S", "C"}) if "O" in els else 0.0
    return MaterialDescriptors(
        formula=formula,
        electrolyte_class=electrolyte_class(comp, alias_class),
        electrode_class=electrode_class(comp, alias_class),
        electrode_family=electrode_family(comp),
        anion_type=anion_type(comp, alias_class),
        anion_element=_anion_element(comp),
        mean_electronegativity=_mean_electronegativity(comp, formula),
        li_fraction=frac("Li") if "Li" in els else 0.0,
        tm_fraction=float(tm),
        mean_atomic_mass=float(comp.weight) / comp.num_atoms,
        polyanion_fraction=float(poly),
    )


def describe_material(material: ResolvedMaterial) -> MaterialDescriptors:
    """Descriptors of a resolved material (cached by formula and alias class).

    Raises :class:`MissingPropertyError` when an element has no Pauling electronegativity.
    """
    return _describe(material.formula, material.material_class or "")


# --------------------------------------------------------------------------- feature block


def interface_feature_labels() -> list[str]:
    """Labels of the interface block, without the ``interface__`` prefix."""
    labels = [f"electrolyte_class_{c}" for c in ELECTROLYTE_CLASSES]
    labels += [f"electrode_class_{c}" for c in ELECTRODE_CLASSES]
    for role in ROLES:
        labels += [f"{role}_anion_{a}" for a in ANION_TYPES]
    for role in ROLES:
        labels += [f"{role}_{s}" for s in SCALARS]
    for a, b in PAIRS:
        for s in SCALARS:
            labels += [f"{a}_minus_{b}_{s}", f"{a}_over_{b}_{s}"]
        labels += [f"{a}_{b}_anion_type_match", f"{a}_{b}_anion_element_match"]
    return labels


def interface_features(
    descriptors: dict[str, list[MaterialDescriptors | None]],
    codes: dict[str, np.ndarray],
) -> np.ndarray:
    """The interface block for every row.

    ``descriptors[role]`` lists the descriptors of the role's distinct materials (``None`` for
    a bare coating or an unresolvable material) and ``codes[role]`` maps each row to an index in
    that list (-1 = no material). Everything that involves a missing material is NaN.
    Per-material values are computed once and gathered by code (integer-coded categories), so
    the cost per row is a few array takes.
    """
    n = len(next(iter(codes.values())))
    labels = interface_feature_labels()
    col = {name: i for i, name in enumerate(labels)}
    out = np.empty((n, len(labels)))

    def gather(role: str, values: list[float]) -> np.ndarray:
        table = np.asarray([*values, np.nan], dtype=float)
        return table[np.where(codes[role] < 0, len(values), codes[role])]

    def category(role: str, attr: str, vocabulary: tuple[str, ...]) -> np.ndarray:
        index = {v: i for i, v in enumerate(vocabulary)}
        return gather(role, [np.nan if d is None else float(index.get(getattr(d, attr), -2))
                             for d in descriptors[role]])

    def one_hot(dst: str, cat: np.ndarray, vocabulary: tuple[str, ...]) -> None:
        missing = np.isnan(cat)
        for i, v in enumerate(vocabulary):
            out[:, col[f"{dst}_{v}"]] = np.where(missing, np.nan, cat == i)

    one_hot("electrolyte_class",
            category("electrolyte", "electrolyte_class", ELECTROLYTE_CLASSES),
            ELECTROLYTE_CLASSES)
    one_hot("electrode_class", category("electrode", "electrode_class", ELECTRODE_CLASSES),
            ELECTRODE_CLASSES)
    anions = {role: category(role, "anion_type", ANION_TYPES) for role in ROLES}
    for role in ROLES:
        one_hot(f"{role}_anion", anions[role], ANION_TYPES)
    elements = sorted({d.anion_element for r in ROLES for d in descriptors[r] if d is not None})
    el_index = {e: float(i) for i, e in enumerate(elements)}
    anion_el = {
        role: gather(role, [np.nan if d is None or not d.anion_element
                            else el_index[d.anion_element] for d in descriptors[role]])
        for role in ROLES
    }
    scalars = {
        (role, s): gather(role, [np.nan if d is None else getattr(d, s)
                                 for d in descriptors[role]])
        for role in ROLES for s in SCALARS
    }
    for role in ROLES:
        for s in SCALARS:
            out[:, col[f"{role}_{s}"]] = scalars[(role, s)]
    with np.errstate(divide="ignore", invalid="ignore"):
        for a, b in PAIRS:
            both = (codes[a] >= 0) & (codes[b] >= 0)
            for s in SCALARS:
                va, vb = scalars[(a, s)], scalars[(b, s)]
                out[:, col[f"{a}_minus_{b}_{s}"]] = va - vb
                out[:, col[f"{a}_over_{b}_{s}"]] = np.where(vb != 0, va / vb, np.nan)
            type_ok = both & ~np.isnan(anions[a]) & ~np.isnan(anions[b])
            out[:, col[f"{a}_{b}_anion_type_match"]] = np.where(
                type_ok, anions[a] == anions[b], np.nan
            )
            # metals have no anion element: a metal never "matches" (0), it is not unknown
            el_a = np.where(np.isnan(anion_el[a]), -1.0, anion_el[a])
            el_b = np.where(np.isnan(anion_el[b]), -2.0, anion_el[b])
            out[:, col[f"{a}_{b}_anion_element_match"]] = np.where(
                type_ok, el_a == el_b, np.nan
            )
    return out
