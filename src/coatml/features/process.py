"""Process and test-condition features of a record: the ALD/MLD recipe and how the cell was tested.

The recipe block holds the deposition method (one-hot), temperature, growth per cycle, number of
cycles and thickness (derived from ``gpc_angstrom * cycles / 10`` when missing, with a flag), and
the precursor chemistry parsed from the free-text ``precursors`` column ("TMA/H2O",
"(CH3)3COLi/Nb(OC2H5)5", "LiHMDS/HQ/DEPA") into

* the elements the precursors deliver to the film (``delivers_<El>``),
* ligand families (alkyl, alkoxide, amide, halide, beta-diketonate, cyclopentadienyl, silylamide)
  and organic linkers (MLD diols, diacids, EDOT ...),
* the co-reactant / oxidant type (H2O, O3, O2 plasma, NH3 ...).

"Delivered" means: the atoms a precursor is the intended source of in the film. For metal
precursors that is the central atom only -- alkyl, alkoxide, amide and beta-diketonate ligands
leave as by-products, so ``(CH3)3COLi/Nb(OC2H5)5`` delivers Li and Nb, not O or C. Oxidants and
co-reactants deliver their O or N; organic MLD linkers deliver their backbone (C, O, and S for
EDOT); phosphorus precursors deliver their P=O / P-N core (TMPO: P, O; DEPA: P, O, N). Halide
ligands are counted as delivered (halide residues are common and, in oxidative MLD of PEDOT from
MoCl5, Cl is the dopant counter-ion). **Decision: in ``MoCl5/EDOT`` Mo counts as delivered**,
because every pulsed precursor can leave its central atom in the film and we would rather expose
a possible residue to the model than hide it; the oxidant role of MoCl5 is visible separately as
``oxidant_metal_halide``.

Unknown tokens are counted in ``precursor_unknown_tokens`` and reported through
:class:`PrecursorWarning`; they are never dropped silently.

The vocabulary below is small and documented; the abbreviations follow the review's Table 2 and
its note (Li(thd): 2,2,6,6-tetramethyl-3,5-heptanedionate; LiHMDS = [(CH3)3Si]2NLi; HQ =
C6H4(OH)2; DEPA = H2NP(O)(OC2H5)2). The review's note defines TPA as C6H4[B(OH)2]2, which cannot
give the Li2C8H4O4 (lithium terephthalate) film of the same row; we take TPA as terephthalic acid
C6H4(COOH)2 (delivers C, O) and flag the discrepancy here.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from coatml.data.schema import CELL_TYPES, METHODS

__all__ = [
    "LIGAND_FAMILIES",
    "OXIDANT_TYPES",
    "DELIVERED_ELEMENTS",
    "PrecursorChemistry",
    "PrecursorSpec",
    "PrecursorWarning",
    "PRECURSOR_VOCABULARY",
    "parse_precursors",
    "process_feature_labels",
    "process_features",
    "condition_feature_labels",
    "condition_features",
    "warn_unknown_precursors",
]


class PrecursorWarning(UserWarning):
    """A precursor token that the vocabulary and the generic formula rules do not recognise."""


@contextmanager
def precursor_warnings_ignored() -> Iterator[None]:
    """Silence :class:`PrecursorWarning` (screens featurize thousands of enumerated recipes;
    the unknown-token counts are features anyway)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecursorWarning)
        yield


#: Ligand / precursor families (one 0/1 feature each).
LIGAND_FAMILIES: tuple[str, ...] = (
    "alkyl",
    "alkoxide",
    "amide",
    "silylamide",
    "halide",
    "beta_diketonate",
    "cyclopentadienyl",
    "amidinate",
    "organic_linker",
    "elemental",
)
#: Co-reactant / oxidant types (one 0/1 feature each).
OXIDANT_TYPES: tuple[str, ...] = (
    "h2o",
    "o3",
    "o2",
    "o2_plasma",
    "h2o2",
    "nh3",
    "n2_plasma",
    "h2s",
    "metal_halide",
)
#: Elements with their own ``delivers_<El>`` column; others count in ``delivers_other``.
DELIVERED_ELEMENTS: tuple[str, ...] = (
    "Li", "Na", "Mg", "Al", "Si", "Ti", "Zr", "Hf", "Nb", "Ta", "Zn", "Cr", "Mo", "La",
    "B", "P", "N", "O", "S", "C", "F", "Cl",
)


@dataclass(frozen=True)
class PrecursorSpec:
    """One vocabulary entry: a precursor or co-reactant and what it contributes.

    ``delivers`` are the elements it is the intended source of in the film (see module doc);
    ``family`` the ligand family (or ``organic_linker``); ``oxidant`` the co-reactant type.
    """

    name: str
    names: tuple[str, ...]
    delivers: tuple[str, ...]
    family: str = ""
    oxidant: str = ""
    note: str = ""


def _spec(name: str, names: Sequence[str], delivers: Sequence[str], family: str = "",
          oxidant: str = "", note: str = "") -> PrecursorSpec:
    return PrecursorSpec(name, tuple(names), tuple(delivers), family, oxidant, note)


#: The documented vocabulary (abbreviations and the formula spellings used in the review).
PRECURSOR_VOCABULARY: tuple[PrecursorSpec, ...] = (
    # --- co-reactants / oxidants
    _spec("water", ["H2O", "water", "DI water", "deionized water"], ["O"], oxidant="h2o"),
    _spec("ozone", ["O3", "ozone"], ["O"], oxidant="o3"),
    _spec("oxygen", ["O2", "oxygen"], ["O"], oxidant="o2"),
    _spec("oxygen plasma", ["O2 plasma", "O plasma", "oxygen plasma", "plasma O2", "O radicals"],
          ["O"],
          oxidant="o2_plasma"),
    _spec("hydrogen peroxide", ["H2O2"], ["O"], oxidant="h2o2"),
    _spec("ammonia", ["NH3", "ammonia"], ["N"], oxidant="nh3"),
    _spec("nitrogen plasma", ["N2 plasma", "N2-H2 plasma", "N plasma"], ["N"],
          oxidant="n2_plasma"),
    _spec("hydrogen sulfide", ["H2S"], ["S"], oxidant="h2s"),
    # --- aluminium, zinc, magnesium alkyls
    _spec("trimethylaluminium", ["TMA", "Al(CH3)3", "(CH3)3Al", "C3H9Al", "AlMe3"], ["Al"],
          "alkyl"),
    _spec("diethylzinc", ["DEZ", "DEZn", "(C2H5)2Zn", "Zn(C2H5)2", "ZnEt2"], ["Zn"], "alkyl"),
    _spec("bis(ethylcyclopentadienyl)magnesium", ["Mg(EtCp)2", "Mg(CpEt)2"], ["Mg"],
          "cyclopentadienyl"),
    _spec("bis(cyclopentadienyl)magnesium", ["MgCp2", "Cp2Mg", "Mg(C5H5)2"], ["Mg"],
          "cyclopentadienyl"),
    # --- lithium / sodium precursors
    _spec("lithium tert-butoxide", ["LiOtBu", "LiO(t)Bu", "LTB", "(CH3)3COLi", "LiOC(CH3)3",
                                    "Li(OtBu)"], ["Li"], "alkoxide"),
    _spec("lithium hexamethyldisilazide", ["LiHMDS", "[(CH3)3Si]2NLi", "LiN(Si(CH3)3)2"],
          ["Li"], "silylamide", note="Table 2 note: LiHMDS = [(CH3)3Si]2NLi"),
    _spec("lithium 2,2,6,6-tetramethyl-3,5-heptanedionate", ["Li(thd)", "Lithd", "Li(tmhd)"],
          ["Li"], "beta_diketonate", note="Table 2 note"),
    _spec("sodium tert-butoxide", ["NaOtBu", "(CH3)3CONa"], ["Na"], "alkoxide"),
    # --- group 4/5 metal precursors
    _spec("tetrakis(dimethylamino)zirconium", ["TDMAZ", "TDMAZr", "[(CH3)2N]4Zr",
                                               "Zr[N(CH3)2]4", "Zr(NMe2)4"], ["Zr"], "amide"),
    _spec("tetrakis(ethylmethylamino)zirconium", ["TEMAZ", "TEMAZr", "Zr[N(CH3)(C2H5)]4",
                                                  "Zr(NEtMe)4",
                                                  "Zr[N(CH2CH3)4(CH3)4]"], ["Zr"], "amide",
          note="the review prints TEMAZ as Zr[N(CH2CH3)4(CH3)4]"),
    _spec("tetrakis(ethylmethylamino)hafnium", ["TEMAH", "TEMAHf", "Hf[N(CH3)(C2H5)]4",
                                                "Hf(NEtMe)4", "Hf[N(CH2CH3)4(CH3)4]"], ["Hf"],
          "amide", note="the review prints TEMAH as Hf[N(CH2CH3)4(CH3)4]"),
    _spec("tetrakis(dimethylamino)hafnium", ["TDMAH", "TDMAHf", "Hf[N(CH3)2]4", "Hf(NMe2)4"],
          ["Hf"], "amide"),
    _spec("tetrakis(dimethylamino)titanium", ["TDMAT", "Ti[N(CH3)2]4", "Ti(NMe2)4"], ["Ti"],
          "amide"),
    _spec("titanium tetrachloride", ["TiCl4"], ["Ti", "Cl"], "halide"),
    _spec("titanium isopropoxide", ["TTIP", "Ti(OiPr)4", "Ti[OCH(CH3)2]4"], ["Ti"], "alkoxide"),
    _spec("niobium ethoxide", ["Nb(OEt)5", "Nb(OC2H5)5", "NbOEt"], ["Nb"], "alkoxide"),
    _spec("tantalum ethoxide", ["Ta(OEt)5", "Ta(OC2H5)5"], ["Ta"], "alkoxide"),
    _spec("molybdenum pentachloride", ["MoCl5"], ["Mo", "Cl"], "halide", oxidant="metal_halide",
          note="oxidant in oxidative MLD of PEDOT; Mo counted as delivered (module doc)"),
    _spec("chromium (as reported)", ["Cr"], ["Cr"], "elemental",
          note="Table 2 ref 71 reports only 'Cr' for the dopant source"),
    # --- B, P, Si precursors
    _spec("triisopropyl borate", ["TIB", "B(OiPr)3", "[(CH3)2CHO]3B", "B[OCH(CH3)2]3"], ["B"],
          "alkoxide"),
    _spec("tris(dimethylamino)borane", ["TDMAB", "B(N(CH3)2)3", "B[N(CH3)2]3", "B(NMe2)3"],
          ["B"], "amide"),
    _spec("trimethyl phosphate", ["TMPO", "TMP", "(CH3O)3PO", "PO(OCH3)3", "(MeO)3PO"],
          ["P", "O"], "alkoxide", note="P=O core retained"),
    _spec("diethyl phosphoramidate", ["DEPA", "H2NP(O)(OC2H5)2"], ["P", "O", "N"], "alkoxide",
          note="Table 2 note: DEPA = H2NP(O)(OC2H5)2; P-N and P=O retained (LiPON)"),
    _spec("tetraethyl orthosilicate", ["TEOS", "Si(OC2H5)4", "Si(OEt)4"], ["Si"], "alkoxide"),
    # --- organic linkers (MLD)
    _spec("ethylene glycol", ["EG", "(CH2OH)2", "HOCH2CH2OH", "C2H6O2", "ethylene glycol"],
          ["C", "O"], "organic_linker"),
    _spec("glycerol", ["GL", "glycerol", "C3H8O3"], ["C", "O"], "organic_linker"),
    _spec("hydroquinone", ["HQ", "C6H4(OH)2", "hydroquinone"], ["C", "O"], "organic_linker",
          note="Table 2 note: HQ = C6H4(OH)2"),
    _spec("terephthalic acid", ["TPA", "C6H4(COOH)2", "terephthalic acid"], ["C", "O"],
          "organic_linker", note="see module doc on the review's TPA note"),
    _spec("3,4-ethylenedioxythiophene", ["EDOT", "C6H6O2S"], ["C", "O", "S"], "organic_linker"),
)

_STRIP = re.compile(r"[\s\-_·]")


def _norm(token: str) -> str:
    return _STRIP.sub("", token).casefold()


_NON_METAL_SOURCES = frozenset({"O", "N", "F", "S", "C", "H"})


def _table_specs() -> tuple[PrecursorSpec, ...]:
    """Metal precursors of the sourced precursor table (``coatml/data/precursors.csv``, shared
    with the coating library), by their abbreviation (the text before " (")."""
    import csv
    import io
    from importlib import resources

    text = resources.files("coatml.data").joinpath("precursors.csv").read_text(encoding="utf-8")
    specs = []
    for row in csv.DictReader(io.StringIO(text)):
        if row["element"] in _NON_METAL_SOURCES:
            continue
        short = row["precursor"].split(" (")[0].strip()
        family = row["ligand_family"] if row["ligand_family"] in LIGAND_FAMILIES else ""
        specs.append(_spec(row["precursor"], [short], [row["element"]], family,
                           note=f"precursor table: {row['source'][:80]}"))
    return tuple(specs)


@lru_cache(maxsize=1)
def _vocab_index() -> dict[str, PrecursorSpec]:
    index: dict[str, PrecursorSpec] = {}
    for spec in PRECURSOR_VOCABULARY:
        for key in (spec.name, *spec.names):
            norm = _norm(key)
            if norm in index and index[norm] is not spec:
                raise ValueError(f"precursor vocabulary: '{key}' names two precursors")
            index[norm] = spec
    for spec in _table_specs():
        for key in spec.names:
            index.setdefault(_norm(key), spec)
    return index


@dataclass(frozen=True)
class PrecursorChemistry:
    """What a ``precursors`` text says: recognised specs, delivered elements, families."""

    text: str
    tokens: tuple[str, ...]
    recognised: tuple[str, ...]
    unknown: tuple[str, ...]
    delivers: frozenset[str] = field(default_factory=frozenset)
    families: frozenset[str] = field(default_factory=frozenset)
    oxidants: frozenset[str] = field(default_factory=frozenset)


_SPLIT = re.compile(r"\s*(?:/|,|;|\+|\band\b)\s*")
_ELEMENT = re.compile(r"[A-Z][a-z]?")
_AMIDE = re.compile(r"N\((?:CH3|C2H5|CH2CH3)|\((?:CH3|C2H5)\)2N|NMe|NEt", re.ASCII)
_ALKOXIDE = re.compile(r"O(?:C2H5|CH3|CH\(CH3\)2|C\(CH3\)3|iPr|tBu|Et|Me)|"
                       r"\((?:CH3)\)3CO|\(CH3\)2CHO|CH3O\)", re.ASCII)
_ALKYL = re.compile(r"\((?:CH3|C2H5)\)\d|(?:CH3|C2H5)\)?\d?$|Me\d|Et\d", re.ASCII)
_CP = re.compile(r"Cp|C5H5", re.ASCII)
_DIKETONATE = re.compile(r"thd|tmhd|acac|hfac|dpm", re.IGNORECASE)
_HALOGENS = ("F", "Cl", "Br", "I")
_LIGAND_ATOMS = frozenset({"C", "H", "O", "N"})


def _generic_spec(token: str) -> PrecursorSpec | None:
    """Recognise an unlisted metal-organic or halide precursor from its formula text.

    Returns ``None`` when the token is not a plausible precursor formula. The metal is every
    element that is not a ligand atom (C, H, O, N); halogens count as delivered (halide).
    """
    from pymatgen.core.periodic_table import Element

    text = token.strip()
    if not text or not re.fullmatch(r"[A-Za-z0-9()\[\]]+", text):
        return None
    symbols = _ELEMENT.findall(text)
    if not symbols or not all(Element.is_valid_symbol(s) for s in symbols):
        return None
    # every letter run must be an element symbol (rejects words such as 'foo')
    if "".join(symbols) != re.sub(r"[^A-Za-z]", "", text):
        return None
    elements = set(symbols)
    centre = sorted(e for e in elements if e not in _LIGAND_ATOMS and e not in _HALOGENS)
    halogens = sorted(e for e in elements if e in _HALOGENS)
    if len(elements) == 1 and centre:
        return _spec(text, [text], centre, "elemental")
    if not centre:
        return None
    if halogens:
        family = "halide"
    elif _DIKETONATE.search(text):
        family = "beta_diketonate"
    elif _CP.search(text):
        family = "cyclopentadienyl"
    elif _AMIDE.search(text):
        family = "amide"
    elif _ALKOXIDE.search(text):
        family = "alkoxide"
    elif _ALKYL.search(text) and "O" not in elements and "N" not in elements:
        family = "alkyl"
    else:
        return None
    return _spec(text, [text], [*centre, *halogens], family)


def _lookup(token: str) -> PrecursorSpec | None:
    index = _vocab_index()
    spec = index.get(_norm(token))
    if spec is not None:
        return spec
    # "EDOT (C6H6O2S)": an abbreviation followed by its formula in parentheses
    match = re.fullmatch(r"\s*([^()\s]+)\s+\((.+)\)\s*", token)
    if match:
        for part in match.groups():
            spec = index.get(_norm(part))
            if spec is not None:
                return spec
    return _generic_spec(_STRIP.sub("", token))


@lru_cache(maxsize=4096)
def parse_precursors(text: str) -> PrecursorChemistry:
    """Parse a ``precursors`` text (tokens separated by '/', ',', ';', '+' or 'and').

    Never raises on odd text: unrecognised tokens land in ``unknown``.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    tokens = tuple(t.strip() for t in _SPLIT.split(text) if t and t.strip())
    recognised: list[str] = []
    unknown: list[str] = []
    delivers: set[str] = set()
    families: set[str] = set()
    oxidants: set[str] = set()
    for token in tokens:
        spec = _lookup(token)
        if spec is None:
            unknown.append(token)
            continue
        recognised.append(spec.name)
        delivers.update(spec.delivers)
        if spec.family:
            families.add(spec.family)
        if spec.oxidant:
            oxidants.add(spec.oxidant)
    return PrecursorChemistry(
        text=text,
        tokens=tokens,
        recognised=tuple(recognised),
        unknown=tuple(unknown),
        delivers=frozenset(delivers),
        families=frozenset(families),
        oxidants=frozenset(oxidants),
    )


# --------------------------------------------------------------------------- feature blocks

_METHOD_KEYS = tuple(m.casefold() for m in METHODS)
_RECIPE_NUMERIC = ("temperature_c", "gpc_angstrom", "cycles")
_COATED_COMPONENTS = ("electrode", "electrolyte")


def process_feature_labels() -> list[str]:
    """Labels of the process block, without the ``process__`` prefix."""
    labels = [f"method_{m}" for m in _METHOD_KEYS]
    labels += [*_RECIPE_NUMERIC, "thickness_nm", "thickness_derived", "log10_thickness_nm"]
    labels += [f"coated_{c}" for c in _COATED_COMPONENTS]
    labels += ["precursors_reported", "precursor_n_tokens", "precursor_unknown_tokens",
               "precursor_n_delivered_elements"]
    labels += [f"delivers_{el}" for el in DELIVERED_ELEMENTS] + ["delivers_other"]
    labels += [f"ligand_{f}" for f in LIGAND_FAMILIES]
    labels += [f"oxidant_{o}" for o in OXIDANT_TYPES]
    return labels


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def factorize_text(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, list[str]]:
    """Codes and distinct stripped texts of a text column, factorised once.

    Missing values (and a missing column) become the text ``""``. Work is done on the distinct
    raw values only, so a 100,000-row column of a few materials costs one ``pd.factorize``.
    """
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=np.intp), [""]
    raw_codes, raw_uniques = pd.factorize(frame[column], sort=False, use_na_sentinel=True)
    texts = [str(u).strip() for u in raw_uniques] + [""]
    merged: dict[str, int] = {}
    remap = np.empty(len(texts), dtype=np.intp)
    for i, text in enumerate(texts):
        remap[i] = merged.setdefault(text, len(merged))
    codes = remap[np.where(raw_codes < 0, len(texts) - 1, raw_codes)]
    return codes, list(merged)


def derived_thickness_nm(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Thickness per row and a 0/1 flag for values derived here or flagged derived upstream.

    Missing ``thickness_nm`` is filled with ``gpc_angstrom * cycles / 10``; it stays NaN when
    either is missing.
    """
    thickness = _numeric(frame, "thickness_nm")
    gpc = _numeric(frame, "gpc_angstrom")
    cycles = _numeric(frame, "cycles")
    fill = np.isnan(thickness) & ~np.isnan(gpc) & ~np.isnan(cycles)
    thickness = np.where(fill, gpc * cycles / 10.0, thickness)
    flag = fill.astype(float)
    if "thickness_derived" in frame.columns:
        d_codes, d_texts = factorize_text(frame, "thickness_derived")
        truthy = np.array([t.casefold() in ("true", "1", "1.0", "yes") for t in d_texts])
        flag = np.maximum(flag, truthy[d_codes].astype(float))
    flag = np.where(np.isnan(thickness), np.nan, flag)
    return thickness, flag


def process_features(frame: pd.DataFrame, is_coated: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The process block as an ``(n_rows, n_labels)`` float array and the list of precursor
    texts with unknown tokens (one entry per distinct text, for the caller's warning).

    Bare controls (``is_coated == 0``) get ``method_none = 1`` and NaN for every recipe value;
    a coated record without a ``precursors`` text gets NaN precursor features (unknown, not 0).
    """
    n = len(frame)
    labels = process_feature_labels()
    out = np.full((n, len(labels)), np.nan)
    col = {name: i for i, name in enumerate(labels)}
    coated = is_coated.astype(bool)

    m_codes, m_texts = factorize_text(frame, "method")
    m_keys = np.asarray([t.casefold() for t in m_texts], dtype=object)
    given = m_keys[m_codes] != ""
    for key in _METHOD_KEYS:
        values = (m_keys == key)[m_codes].astype(float)
        if key == "none":  # a bare control without a method is "none"
            values = np.where(given, values, np.where(coated, np.nan, 1.0))
        else:
            values = np.where(given, values, np.where(coated, np.nan, 0.0))
        out[:, col[f"method_{key}"]] = values

    for name in _RECIPE_NUMERIC:
        out[:, col[name]] = np.where(coated, _numeric(frame, name), np.nan)
    thickness, flag = derived_thickness_nm(frame)
    thickness = np.where(coated, thickness, np.nan)
    out[:, col["thickness_nm"]] = thickness
    out[:, col["thickness_derived"]] = np.where(coated, flag, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, col["log10_thickness_nm"]] = np.where(thickness > 0, np.log10(thickness), np.nan)

    k_codes, k_texts = factorize_text(frame, "coated_component")
    k_keys = np.asarray([t.casefold() for t in k_texts], dtype=object)
    k_given = (k_keys != "")[k_codes]
    for key in _COATED_COMPONENTS:
        values = (k_keys == key)[k_codes].astype(float)
        out[:, col[f"coated_{key}"]] = np.where(coated & k_given, values, np.nan)
    out[~coated, col["coated_electrode"]] = 0.0
    out[~coated, col["coated_electrolyte"]] = 0.0

    codes, uniques = factorize_text(frame, "precursors")
    block_labels = labels[col["precursors_reported"]:]
    block = np.full((len(uniques), len(block_labels)), np.nan)
    bcol = {name: i for i, name in enumerate(block_labels)}
    unknown_texts: list[str] = []
    for u, text in enumerate(uniques):
        if text == "" or text.casefold() in ("nd", "n.d.", "na", "n/a", "none", "-"):
            block[u, bcol["precursors_reported"]] = 0.0
            continue
        chem = parse_precursors(text)
        block[u] = 0.0
        block[u, bcol["precursors_reported"]] = 1.0
        block[u, bcol["precursor_n_tokens"]] = len(chem.tokens)
        block[u, bcol["precursor_unknown_tokens"]] = len(chem.unknown)
        block[u, bcol["precursor_n_delivered_elements"]] = len(chem.delivers)
        for el in chem.delivers:
            key = f"delivers_{el}"
            if key in bcol:
                block[u, bcol[key]] = 1.0
            else:
                block[u, bcol["delivers_other"]] += 1.0
        for fam in chem.families:
            block[u, bcol[f"ligand_{fam}"]] = 1.0
        for ox in chem.oxidants:
            block[u, bcol[f"oxidant_{ox}"]] = 1.0
        if chem.unknown:
            unknown_texts.append(f"'{text}' (unknown: {', '.join(chem.unknown)})")
    rows = block[codes]
    # no precursors text on a coated record: unknown chemistry, not "no chemistry"
    not_reported = rows[:, bcol["precursors_reported"]] == 0.0
    rows[not_reported, 1:] = np.nan
    rows[~coated, :] = np.nan
    out[:, col["precursors_reported"]:] = rows
    return out, unknown_texts


def warn_unknown_precursors(unknown_texts: Iterable[str], n_rows: int) -> None:
    """Emit one :class:`PrecursorWarning` listing precursor texts with unknown tokens."""
    texts = list(unknown_texts)
    if texts:
        shown = "; ".join(texts[:10]) + (f"; ... {len(texts) - 10} more" if len(texts) > 10 else "")
        warnings.warn(
            f"{len(texts)} distinct precursor text(s) in {n_rows} row(s) contain tokens outside "
            f"the precursor vocabulary (counted in process__precursor_unknown_tokens): {shown}",
            PrecursorWarning,
            stacklevel=3,
        )


def condition_feature_labels() -> list[str]:
    """Labels of the test-condition block, without the ``test__`` prefix."""
    return ["cycle_number", "c_rate", "test_temperature_c", "current_density_ma_cm2",
            "log10_c_rate", *[f"cell_{c}" for c in CELL_TYPES]]


def condition_features(frame: pd.DataFrame) -> np.ndarray:
    """The test-condition block: cycle number, C-rate, test temperature, current density and
    the cell type one-hot (NaN when the cell type is not given)."""
    labels = condition_feature_labels()
    out = np.full((len(frame), len(labels)), np.nan)
    for i, name in enumerate(labels[:4]):
        out[:, i] = _numeric(frame, name)
    c_rate = out[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, 4] = np.where(c_rate > 0, np.log10(c_rate), np.nan)
    c_codes, c_texts = factorize_text(frame, "cell_type")
    c_keys = np.asarray([t.casefold() for t in c_texts], dtype=object)
    for j, key in enumerate(CELL_TYPES):
        out[:, 5 + j] = np.where(c_keys == "", np.nan, (c_keys == key).astype(float))[c_codes]
    return out
