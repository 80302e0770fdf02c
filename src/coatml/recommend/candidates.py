"""The candidate space: untested coating compositions, interface-aware filters, process grids.

:func:`enumerate_candidates` builds charge-balanced lithium-containing compositions in the
families Li-M-O, Li-M-F, Li-M-N, Li-M-P-O, Li-M-B-O, Li-M-Si-O and Li-M-M'-O from the elements the
precursor table can deliver, and adds the sourced library coatings (``in_library``). Charge
balance uses the oxidation states pymatgen lists both as common and as ICSD-observed for each
cation, so every composition is also one :meth:`pymatgen.core.Composition.oxi_state_guesses`
accepts. Nothing here is literature: enumerated rows say so in ``source``.

:func:`apply_filters` removes candidates that cannot work at a given interface (anion
compatibility with the electrolyte, reducible cations against Li/Na metal, deposition temperature
the substrate tolerates, thickness) and reports how many each step removed.
:func:`process_grid` expands candidates over deposition temperatures and cycle counts.
The rules and their sources are documented in ``data/README.md``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from coatml.data.formulas import resolve_material
from coatml.features.screening import SUBSTRATE_MAX_TEMPERATURE_C
from coatml.features.screening import substrate_class as _substrate_class
from coatml.recommend.library import _library_cached, _precursors_cached

if TYPE_CHECKING:
    from collections.abc import Iterable

FAMILIES: tuple[str, ...] = (
    "Li-M-O", "Li-M-F", "Li-M-N", "Li-M-P-O", "Li-M-B-O", "Li-M-Si-O", "Li-M-M'-O",
)

#: Anion sources that are not cations of the enumeration (coreactant elements, hybrid films).
_NON_CATIONS = frozenset({"Li", "O", "N", "F", "C", "H", "S"})
#: Simple anions: element -> (charge magnitude, anion label, family).
_SIMPLE_ANIONS: dict[str, tuple[int, str, str]] = {
    "O": (2, "oxide", "Li-M-O"),
    "F": (1, "fluoride", "Li-M-F"),
    "N": (3, "nitride", "Li-M-N"),
}
#: Polyanions: (former, oxygen count, charge magnitude, anion label, family).
_POLYANIONS: tuple[tuple[str, int, int, str, str], ...] = (
    ("P", 4, 3, "phosphate", "Li-M-P-O"),
    ("B", 3, 3, "borate", "Li-M-B-O"),
    ("Si", 4, 4, "silicate", "Li-M-Si-O"),
    ("Si", 3, 2, "silicate", "Li-M-Si-O"),
)
_ANION_BY_CLASS: dict[str, str] = {
    "binary_oxide": "oxide", "li_ternary_oxide": "oxide", "phosphate": "phosphate",
    "borate": "borate", "nitride": "nitride", "fluoride": "fluoride", "carbonate": "carbonate",
    "hybrid_mld": "organic", "conducting_polymer": "organic", "organic_li_salt": "organic",
}
#: Preferred co-reactant per anion element for enumerated candidates (first sourced row).
_ANION_SOURCE_ELEMENTS = ("O", "F", "N")

#: Anion classes allowed per electrolyte class (see data/README.md, "Anion compatibility").
ANION_COMPATIBILITY: dict[str, frozenset[str]] = {
    "sulfide": frozenset({"oxide", "phosphate", "borate", "silicate", "carbonate", "organic"}),
    "halide": frozenset({"fluoride", "oxide", "phosphate", "borate", "silicate"}),
}
ANION_COMPATIBILITY_SOURCE = (
    "sulfide: anion classes with a precedent against sulfide electrolytes in Sun et al., InfoMat "
    "2025, Table 2 (oxides, phosphates, organic MLD films) plus polyanion borates/silicates "
    "(Xiao et al., Joule 3, 1252 (2019): covalent P-O/B-O polyanions raise the oxidation limit; "
    "via coating-physics.md); fluorides and nitrides have no such precedent. halide: project rule "
    "(fluoride or oxide-based coatings against halide electrolytes), no literature source found."
)
#: Cations reduced by Li/Na metal (computed reduction limits of their Li ternary oxides are far
#: above 0 V vs Li: LiNbO3 1.74, LiTaO3 1.18, Li4Ti5O12 1.75 V; Zhu, He, Mo, ACS Appl. Mater.
#: Interfaces 7, 23685 (2015), via coating-physics.md). V, Fe, Co, Ni, Mn, Cu, W, Mo: project rule
#: (multivalent transition metals with no sourced reduction limit here).
REDUCIBLE_VS_ALKALI_METAL: tuple[str, ...] = (
    "Ti", "Nb", "Ta", "V", "Fe", "Co", "Ni", "Mn", "Cu", "W", "Mo",
)
# --------------------------------------------------------------------------------------------
# Enumeration
# --------------------------------------------------------------------------------------------


@cache
def _cation_states(symbol: str) -> tuple[int, ...]:
    """Positive oxidation states pymatgen lists both as common and as ICSD-observed."""
    from pymatgen.core.periodic_table import Element

    el = Element(symbol)
    common = {s for s in el.common_oxidation_states if s > 0}
    icsd = {s for s in el.icsd_oxidation_states if s > 0}
    both = common & icsd
    return tuple(sorted(both or common))


@lru_cache(maxsize=65536)
def _reduced(key: tuple[tuple[str, int], ...]) -> tuple[str, float, str]:
    """(reduced formula, Li atomic fraction, sorted element string) of an integer composition."""
    from pymatgen.core import Composition

    comp = Composition(dict(key))
    li = comp["Li"] / comp.num_atoms
    return comp.reduced_formula, float(li), " ".join(sorted(el for el, _ in key))


def _gcd_key(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    g = 0
    for v in counts.values():
        g = math.gcd(g, v)
    return tuple(sorted((el, v // g) for el, v in counts.items()))


def _short(precursor: str) -> str:
    return precursor.split(" (")[0].strip()


@lru_cache(maxsize=4096)
def _process_for(elements: frozenset[str]) -> tuple[str, str, float, float, bool]:
    """Choose one precursor per element maximising the common deposition window.

    Returns (precursors, coreactant, temperature_min_c, temperature_max_c, depositable).
    Unknown window bounds do not constrain; NaN is returned where no bound is known.
    ``depositable`` is False when an element has no precursor or the windows do not overlap.
    """
    table = _precursors_cached()
    cations = sorted(elements - set(_ANION_SOURCE_ELEMENTS))
    anions = [a for a in _ANION_SOURCE_ELEMENTS if a in elements]
    options: list[list[tuple[str, float, float]]] = []
    for el in cations + anions:
        rows = table[table["element"] == el]
        if rows.empty:
            return "", "", float("nan"), float("nan"), False
        options.append([(_short(r.precursor), r.temperature_min_c, r.temperature_max_c)
                        for r in rows.itertuples(index=False)])
    best: tuple[tuple[int, int, float], tuple[tuple[str, float, float], ...]] | None = None
    for combo in itertools.product(*options):
        los = [c[1] for c in combo if not math.isnan(c[1])]
        his = [c[2] for c in combo if not math.isnan(c[2])]
        lo = max(los) if los else -math.inf
        hi = min(his) if his else math.inf
        known = int(bool(los)) + int(bool(his))
        width = (hi - lo) if math.isfinite(hi - lo) else 0.0
        score = (int(lo <= hi), known, width)
        if best is None or score > best[0]:
            best = (score, combo)
    assert best is not None
    combo = best[1]
    los = [c[1] for c in combo if not math.isnan(c[1])]
    his = [c[2] for c in combo if not math.isnan(c[2])]
    lo = max(los) if los else float("nan")
    hi = min(his) if his else float("nan")
    names = [c[0] for c in combo]
    coreactant = "/".join(names[len(cations):])
    feasible = bool(best[0][0])
    return "/".join(names), coreactant, lo, hi, feasible


def _precursor_window(elements: list[str], precursors: str) -> tuple[float, float, str]:
    """Deposition window of a library process whose source gives none: the intersection of
    the sourced windows (``precursors.csv``) of its own precursors where the table has them,
    else of the best precursor per element (:func:`_process_for`). ``(min, max, source)``;
    NaN bounds when no window is known."""
    table = _precursors_cached()
    named = {_short(x).casefold() for x in precursors.replace(",", "/").split("/") if x.strip()}
    los, his, used = [], [], []
    for el in elements:
        rows = table[(table["element"] == el)
                     & table["precursor"].map(lambda p: _short(p).casefold() in named)]
        if rows.empty:
            continue
        row = rows.iloc[0]
        if _short(row["precursor"]) not in used:
            used.append(_short(row["precursor"]))
        if not math.isnan(row["temperature_min_c"]):
            los.append(float(row["temperature_min_c"]))
        if not math.isnan(row["temperature_max_c"]):
            his.append(float(row["temperature_max_c"]))
    if los or his:
        lo = max(los) if los else float("nan")
        hi = min(his) if his else float("nan")
        if not (lo > hi):
            return lo, hi, f"precursor table ({'/'.join(used)})"
    names, _, lo, hi, ok = _process_for(frozenset(elements))
    if ok and not (math.isnan(lo) and math.isnan(hi)):
        return lo, hi, f"precursor table ({names}; the library's precursors have no window)"
    return float("nan"), float("nan"), "none"


def _enumerate_compositions(
    cations: Iterable[str], max_atoms: int, max_li: int, max_m: int, include_mixed: bool,
) -> dict[tuple[tuple[str, int], ...], tuple[str, str, str]]:
    """Integer, charge-balanced compositions -> (family, anion, rule description)."""
    out: dict[tuple[tuple[str, int], ...], tuple[str, str, str]] = {}

    def add(counts: dict[str, int], family: str, anion: str, rule: str) -> None:
        if sum(counts.values()) > max_atoms:
            return
        key = _gcd_key(counts)
        out.setdefault(key, (family, anion, rule))

    cations = sorted(cations)
    for m in cations:
        for s in _cation_states(m):
            for a in range(1, max_li + 1):
                for b in range(1, max_m + 1):
                    pos = a + b * s
                    for x, (q, anion, family) in _SIMPLE_ANIONS.items():
                        if pos % q == 0:
                            add({"Li": a, m: b, x: pos // q}, family, anion,
                                f"{family}: Li+ {m}{s}+ {x}{q}-")
                    for former, n_o, q, anion, family in _POLYANIONS:
                        if m == former or pos % q:
                            continue
                        k = pos // q
                        add({"Li": a, m: b, former: k, "O": k * n_o}, family, anion,
                            f"{family}: Li+ {m}{s}+ ({former}O{n_o}){q}-")
    if include_mixed:
        formers = {p[0] for p in _POLYANIONS}
        metals = [c for c in cations if c not in formers]
        for m1, m2 in itertools.combinations(metals, 2):
            for s1 in _cation_states(m1):
                for s2 in _cation_states(m2):
                    for a in range(1, min(max_li, 4) + 1):
                        for b in (1, 2):
                            for c in (1, 2):
                                pos = a + b * s1 + c * s2
                                if pos % 2 == 0:
                                    add({"Li": a, m1: b, m2: c, "O": pos // 2}, "Li-M-M'-O",
                                        "oxide", f"Li-M-M'-O: Li+ {m1}{s1}+ {m2}{s2}+ O2-")
    return out


def _library_candidates() -> pd.DataFrame:
    lib = _library_cached()
    rows = []
    for coating, grp in lib.groupby("coating", sort=False):
        width = (grp["temperature_max_c"] - grp["temperature_min_c"]).fillna(-1.0)
        order = np.lexsort((-width.to_numpy(), grp["gpc_angstrom"].isna().to_numpy()))
        best = grp.iloc[order[0]]
        comp = resolve_material(str(coating)).composition
        elements = best["elements"]
        anion = _ANION_BY_CLASS[best["coating_class"]]
        if anion == "oxide" and "Si" in elements.split() and "Li" in elements.split():
            anion = "silicate"
        tmin, tmax = best["temperature_min_c"], best["temperature_max_c"]
        window_source, precursors = "library", best["precursors"]
        if pd.isna(tmin) and pd.isna(tmax):
            tmin, tmax, window_source = _precursor_window(elements.split(), str(precursors))
            if window_source.endswith("have no window)") or not str(precursors).strip():
                precursors = window_source.removeprefix("precursor table (").split(";")[0]
                precursors = precursors.rstrip(")")
        rows.append({
            "coating": coating, "formula": best["formula"],
            "reduced_formula": best["reduced_formula"], "family": best["coating_class"],
            "elements": elements, "n_elements": len(elements.split()),
            "li_fraction": float(comp["Li"] / comp.num_atoms), "anion": anion,
            "depositable": True, "method": best["method"], "precursors": precursors,
            "coreactant": best["coreactant"],
            "temperature_min_c": tmin, "temperature_max_c": tmax,
            "window_source": window_source,
            "gpc_angstrom": best["gpc_angstrom"], "source": best["source"],
            "in_library": True, "n_processes": len(grp),
        })
    return pd.DataFrame(rows)


@lru_cache(maxsize=8)
def _enumerate_cached(max_atoms: int, max_li: int, max_m: int, include_mixed: bool,
                      include_library: bool) -> pd.DataFrame:
    deposit = frozenset(_precursors_cached()["element"])
    cations = sorted(deposit - _NON_CATIONS)
    comps = _enumerate_compositions(cations, max_atoms, max_li, max_m, include_mixed)
    library = _library_candidates() if include_library else None
    seen = set(library["reduced_formula"]) if library is not None else set()
    rows = []
    for key, (family, anion, rule) in comps.items():
        reduced, li_frac, elements = _reduced(key)
        if reduced in seen:
            continue
        seen.add(reduced)
        precursors, coreactant, lo, hi, ok = _process_for(frozenset(el for el, _ in key))
        rows.append({
            "coating": reduced, "formula": reduced, "reduced_formula": reduced,
            "family": family, "elements": elements, "n_elements": len(key),
            "li_fraction": li_frac, "anion": anion, "depositable": ok, "method": "ALD",
            "precursors": precursors, "coreactant": coreactant,
            "temperature_min_c": lo, "temperature_max_c": hi, "window_source": "precursor table",
            "gpc_angstrom": float("nan"),
            "source": f"enumerated (coatml), composition rule: {rule}; window = intersection of "
                      "sourced precursor windows (precursors.csv)",
            "in_library": False, "n_processes": 0,
        })
    enumerated = pd.DataFrame(rows)
    frames = [f for f in (library, enumerated) if f is not None and not f.empty]
    out = pd.concat(frames, ignore_index=True)
    out["depositable"] = out["depositable"].astype(bool)
    out["in_library"] = out["in_library"].astype(bool)
    return out


def enumerate_candidates(
    max_atoms: int = 16,
    *,
    max_li: int = 6,
    max_m: int = 4,
    include_mixed_metal: bool = True,
    include_library: bool = True,
) -> pd.DataFrame:
    """Enumerate charge-balanced Li-containing candidate coatings (plus the library coatings).

    ``max_atoms`` bounds the atoms per (unreduced) formula unit, ``max_li`` / ``max_m`` the Li and
    M subscripts of the ternary families; Li-M-M'-O uses Li <= 4 and M, M' <= 2. Cations are the
    elements of ``precursors.csv`` other than Li, O, N, F, C, H, S; each gets the positive
    oxidation states pymatgen lists as both common and ICSD-observed. Rows are unique by
    ``reduced_formula``; a library coating wins over an enumerated one with the same formula.

    Columns: coating, formula, reduced_formula, family, elements, n_elements, li_fraction, anion,
    depositable, method, precursors, coreactant, temperature_min_c, temperature_max_c,
    gpc_angstrom (NaN when unknown), source, in_library, n_processes.
    """
    if max_atoms < 3:
        raise ValueError("max_atoms must be >= 3 (Li, a cation and an anion)")
    return _enumerate_cached(int(max_atoms), int(max_li), int(max_m), bool(include_mixed_metal),
                             bool(include_library)).copy()


# --------------------------------------------------------------------------------------------
# Tested marks
# --------------------------------------------------------------------------------------------


def _reduce_column(values: pd.Series) -> np.ndarray:
    """:func:`~coatml.data.formulas.chemistry_key` per value (``None`` for empty cells)."""
    from coatml.data.formulas import chemistry_key

    return np.array([chemistry_key(v) if isinstance(v, str) and v.strip() else None
                     for v in values], dtype=object)


def mark_tested(
    candidates: pd.DataFrame,
    records: pd.DataFrame,
    electrode: str | None = None,
    electrolyte: str | None = None,
) -> pd.DataFrame:
    """Return a copy of ``candidates`` with a boolean ``tested`` column.

    A candidate is tested when a record holds a coating with the same reduced formula (names
    resolved by :func:`coatml.data.formulas.resolve_material`, aliases included), restricted to
    records of the given electrode and/or electrolyte (also compared by reduced formula) when
    given. Unparseable record coatings match nothing.
    """
    from coatml.data.formulas import chemistry_key

    out = candidates.copy()
    if records.empty or "coating" not in records.columns:
        out["tested"] = False
        return out
    mask = np.ones(len(records), dtype=bool)
    for column, wanted in (("electrode", electrode), ("electrolyte", electrolyte)):
        if wanted is None:
            continue
        target = chemistry_key(wanted)
        mask &= _reduce_column(records[column]) == target
    tested = {f for f in _reduce_column(records.loc[mask, "coating"]) if f is not None}
    out["tested"] = out["reduced_formula"].isin(tested).to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateFilters:
    """Which interface-aware filters :func:`apply_filters` applies.

    ``max_deposition_temperature_c`` overrides the substrate default
    (:data:`SUBSTRATE_MAX_TEMPERATURE_C`); the lower of the two is used. ``max_thickness_nm``
    removes candidates whose single cycle already exceeds it. ``reducible_elements`` lists the
    cations removed against Li/Na metal (drop "Ta" to keep Ta5+ coatings, which is debatable).
    ``coatings``: keep only these coatings (names or formulas, compared by reduced formula).
    ``precursors_on_hand``: the lab's inventory (short names of ``precursors.csv``); keep only
    candidates whose every element has a precursor on hand.
    """

    anion_compatible: bool = True
    no_reducible_tm_vs_li_metal: bool = True
    max_deposition_temperature_c: float | None = None
    max_thickness_nm: float | None = None
    require_depositable: bool = True
    reducible_elements: tuple[str, ...] = REDUCIBLE_VS_ALKALI_METAL
    default_gpc_angstrom: float | None = None
    coatings: tuple[str, ...] | None = None
    precursors_on_hand: tuple[str, ...] | None = None


@dataclass(frozen=True)
class FilterStep:
    """One filter step: how many candidates it removed and how many remained."""

    name: str
    removed: int
    remaining: int
    rule: str


@dataclass(frozen=True)
class FilterReport:
    """What :func:`apply_filters` did, step by step."""

    electrode: str
    electrolyte: str
    coated_component: str
    electrode_class: str
    electrolyte_class: str
    substrate_class: str
    n_start: int
    steps: tuple[FilterStep, ...] = field(default_factory=tuple)

    @property
    def n_end(self) -> int:
        return self.steps[-1].remaining if self.steps else self.n_start

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([s.__dict__ for s in self.steps],
                            columns=["name", "removed", "remaining", "rule"])

    def nothing_left(self) -> str:
        """Why no candidate is left: the steps that removed candidates, or an empty pool."""
        removed = [f"{s.name} removed {s.removed} ({s.rule})" for s in self.steps if s.removed]
        return (f"no candidate coating is left for {self.electrode} | {self.electrolyte}: "
                + ("; ".join(removed) if removed else "the candidate pool is empty"))


@lru_cache(maxsize=65536)
def _covered_by(elements: frozenset[str], on_hand: frozenset[str]) -> bool:
    """True when every element has a precursor (``precursors.csv``) among ``on_hand``
    (case-folded short names)."""
    table = _precursors_cached()
    for el in elements:
        names = {_short(p).casefold() for p in table.loc[table["element"] == el, "precursor"]}
        if not names & on_hand:
            return False
    return True


def _median_library_gpc() -> float:
    return float(np.nanmedian(_library_cached()["gpc_angstrom"].to_numpy(dtype=float)))


def default_gpc_angstrom() -> float:
    """Default GPC for candidates without a sourced one: the median GPC of the library rows."""
    return _median_library_gpc()


def apply_filters(
    candidates: pd.DataFrame,
    electrode: str,
    electrolyte: str,
    coated_component: str,
    filters: CandidateFilters | None = None,
) -> tuple[pd.DataFrame, FilterReport]:
    """Remove candidates that cannot work at the electrode/electrolyte interface.

    Steps, in order (each recorded in the returned :class:`FilterReport`): depositable (a
    common precursor window exists), anion compatibility with the electrolyte class,
    no reducible cations against Li/Na metal, deposition temperature below what the coated
    substrate tolerates (survivors get ``temperature_max_c`` clipped to that limit), and
    single-cycle thickness below ``max_thickness_nm``.
    """
    if coated_component not in ("electrode", "electrolyte"):
        raise ValueError("coated_component must be 'electrode' or 'electrolyte'")
    f = filters or CandidateFilters()
    electrode_class = _substrate_class(electrode)
    electrolyte_class = _substrate_class(electrolyte)
    substrate_class = electrode_class if coated_component == "electrode" else electrolyte_class
    df = candidates.copy()
    steps: list[FilterStep] = []

    def step(name: str, keep: np.ndarray, rule: str) -> None:
        nonlocal df
        removed = int((~keep).sum())
        df = df.loc[keep]
        steps.append(FilterStep(name, removed, len(df), rule))

    n_start = len(df)
    if f.require_depositable:
        step("depositable", df["depositable"].to_numpy(dtype=bool),
             "every element has a precursor and the precursor windows overlap")
    if f.anion_compatible:
        allowed = ANION_COMPATIBILITY.get(electrolyte_class)
        keep = (df["anion"].isin(allowed).to_numpy() if allowed is not None
                else np.ones(len(df), dtype=bool))
        rule = (f"{electrolyte_class}: allowed {sorted(allowed)}; {ANION_COMPATIBILITY_SOURCE}"
                if allowed is not None else f"{electrolyte_class}: no anion restriction")
        step("anion_compatible", keep, rule)
    if f.no_reducible_tm_vs_li_metal:
        if electrode_class in ("li_metal", "na_metal"):
            bad = set(f.reducible_elements)
            keep = np.array([not (set(e.split()) & bad) for e in df["elements"]], dtype=bool)
            rule = f"against {electrode_class}: no {sorted(bad)}"
        else:
            keep = np.ones(len(df), dtype=bool)
            rule = f"{electrode_class} electrode: not an alkali metal, nothing removed"
        step("no_reducible_tm_vs_alkali_metal", keep, rule)
    limits = [v for v in (f.max_deposition_temperature_c,
                          SUBSTRATE_MAX_TEMPERATURE_C.get(substrate_class)) if v is not None]
    if limits:
        limit = float(min(limits))
        tmin = df["temperature_min_c"].to_numpy(dtype=float)
        keep = ~(tmin > limit)
        step("max_deposition_temperature", keep,
             f"{substrate_class} substrate: window must start at or below {limit:g} degC")
        tmax = df["temperature_max_c"].to_numpy(dtype=float)
        df = df.assign(temperature_max_c=np.where(np.isnan(tmax) | (tmax > limit), limit, tmax))
    else:
        step("max_deposition_temperature", np.ones(len(df), dtype=bool),
             f"{substrate_class} substrate: no sourced limit and none given")
    if f.max_thickness_nm is not None:
        gpc0 = (f.default_gpc_angstrom if f.default_gpc_angstrom is not None
                else _median_library_gpc())
        gpc = df["gpc_angstrom"].fillna(gpc0).to_numpy(dtype=float)
        step("max_thickness", gpc / 10.0 <= f.max_thickness_nm,
             f"one cycle (gpc/10 nm) must not exceed {f.max_thickness_nm:g} nm")
    if f.coatings is not None:
        from coatml.data.formulas import chemistry_key

        wanted = {chemistry_key(name) for name in f.coatings}
        keep = (df["reduced_formula"].isin(wanted) | df["coating"].isin(f.coatings)).to_numpy()
        found = set(df.loc[keep, "reduced_formula"]) | set(df.loc[keep, "coating"])
        missing = [n for n in f.coatings if n not in found and chemistry_key(n) not in found]
        step("named_coatings", keep, f"only {', '.join(f.coatings)}"
             + (f" (not among the candidates left: {', '.join(missing)})" if missing else ""))
    if f.precursors_on_hand is not None:
        on_hand = frozenset(p.casefold() for p in f.precursors_on_hand)
        keep = np.array([_covered_by(frozenset(e.split()), on_hand) for e in df["elements"]],
                        dtype=bool)
        step("inventory", keep, f"every element needs a precursor on hand "
             f"({', '.join(sorted(f.precursors_on_hand)) or 'none'})")
    report = FilterReport(electrode, electrolyte, coated_component, electrode_class,
                          electrolyte_class, substrate_class, n_start, tuple(steps))
    return df.reset_index(drop=True), report


# --------------------------------------------------------------------------------------------
# Process grid
# --------------------------------------------------------------------------------------------

_GRID_CARRY = ("coating", "reduced_formula", "family", "anion", "method", "precursors",
               "in_library", "temperature_min_c", "temperature_max_c")


def process_grid(
    candidates: pd.DataFrame,
    temperatures_per_window: int = 3,
    cycles: tuple[int, ...] | None = None,
    thickness_targets_nm: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0),
    default_gpc_angstrom: float | None = None,
    max_thickness_nm: float | None = None,
) -> pd.DataFrame:
    """Expand each candidate over deposition temperatures and cycle counts (vectorised).

    Temperatures are evenly spaced over the candidate's window (the midpoint when
    ``temperatures_per_window == 1``; a one-point window gives one temperature; a window with
    one unknown bound uses the known one; NaN when both are unknown). Cycle counts are
    ``cycles`` when given, otherwise ``round(target_nm * 10 / gpc)`` (at least 1) for each
    thickness target. ``thickness_nm = gpc_angstrom * cycles / 10``. Where the candidate has no
    sourced GPC the default (median library GPC unless given) is used and ``gpc_estimated`` is
    True. ``candidate_index`` points back to the row position in ``candidates``.
    """
    if temperatures_per_window < 1:
        raise ValueError("temperatures_per_window must be >= 1")
    n = len(candidates)
    k = int(temperatures_per_window)
    gpc0 = default_gpc_angstrom if default_gpc_angstrom is not None else _median_library_gpc()
    gpc_raw = candidates["gpc_angstrom"].to_numpy(dtype=float)
    estimated = np.isnan(gpc_raw)
    gpc = np.where(estimated, gpc0, gpc_raw)
    tmin = candidates["temperature_min_c"].to_numpy(dtype=float)
    tmax = candidates["temperature_max_c"].to_numpy(dtype=float)
    tmin, tmax = np.where(np.isnan(tmin), tmax, tmin), np.where(np.isnan(tmax), tmin, tmax)
    frac = np.array([0.5]) if k == 1 else np.linspace(0.0, 1.0, k)
    temps = tmin[:, None] + frac[None, :] * (tmax - tmin)[:, None]           # (n, k)
    if cycles is not None:
        cyc = np.broadcast_to(np.asarray(cycles, dtype=np.int64)[None, :], (n, len(cycles)))
    else:
        targets = np.asarray(thickness_targets_nm, dtype=float)
        cyc = np.maximum(1, np.rint(targets[None, :] * 10.0 / gpc[:, None])).astype(np.int64)
    m = cyc.shape[1]
    # Keep the first temperature only where the window is a single point or unknown.
    single = ~(tmax > tmin)
    keep_t = np.ones((n, k), dtype=bool)
    keep_t[:, 1:] = ~single[:, None]
    idx = np.repeat(np.arange(n), k * m)
    t_flat = np.repeat(temps.ravel(), m)
    c_flat = np.broadcast_to(cyc[:, None, :], (n, k, m)).ravel()
    mask = np.repeat(keep_t.ravel(), m)
    thickness = gpc[idx] * c_flat / 10.0
    if max_thickness_nm is not None:
        mask &= thickness <= max_thickness_nm
    idx, t_flat, c_flat, thickness = idx[mask], t_flat[mask], c_flat[mask], thickness[mask]
    carry = [c for c in _GRID_CARRY if c in candidates.columns]
    out = {c: candidates[c].to_numpy()[idx] for c in carry}
    out.update({
        "candidate_index": idx, "temperature_c": t_flat, "cycles": c_flat,
        "gpc_angstrom": gpc[idx], "gpc_estimated": estimated[idx], "thickness_nm": thickness,
    })
    return pd.DataFrame(out)

