"""Thermochemistry of coatings from sourced binary formation enthalpies, and window estimates.

Package data ``formation_enthalpies.csv``: standard formation enthalpies (kJ/mol, 298.15 K) of
binary compounds (oxides, sulfides, fluorides, chlorides, nitrides) with a source on every row:
NIST-JANAF tables (Chase 1998) for most rows, plus Li2S, HfO2 (encyclopedia infoboxes,
``secondary = 1``) and ZnS (doi:10.1002/jctb.5010090302). Elements without rows (Zn oxide, Ga,
La, Y, Ce, Sn, Mn and Ni oxides, ...) get no thermochemical estimate: the callers say so.

Reaction enthalpies stand in for reaction free energies (the entropy term of solid-solid
reactions is small); every value built on them carries that approximation.

**Couples.** A cation M in state ``s`` bonded to anion X (charge ``q``) forms ``MX_{s/q}``.
The reduction of ``MX_{s/q}`` by Li to a lower tabulated state ``s'`` (the metal is ``s' = 0``,
enthalpy 0) releases ``(s - s')/q`` of the lithium salt ``Li_qX``::

    E(s -> s') = -[H(MX_{s'/q}) + (s - s')/q * H(Li_qX) - H(MX_{s/q})] / ((s - s') F)

in V vs Li/Li+. The reduction limit of state ``s`` is the highest ``E(s -> s')``; the
oxidation couple of state ``s`` is the lowest ``E(s'' -> s)`` over tabulated higher states.

**Window estimate of a coating** (:func:`estimate_window`), in order:

1. the sourced window (``stability_windows.csv``), uncertainty 0 (the table's own DFT limits);
2. reduction limit: the thermochemical limit above, the highest over the coating's non-Li
   cations (each taken in the state the charge balance gives, using its binary with the
   coating's anion); where a cation has no tabulated binary, a linear fit of the binary-oxide
   limits on the cation's Pauling electronegativity (``en-fit``); pure Li salts: 0 V;
3. oxidation limit: pure Li salts (Li2O, LiF, Li3N, ...): oxidation of the anion,
   ``-H(Li_qX) / (q F)``; other Li-containing materials: the nearest tabulated window of the
   same anion family (Li fraction, polyanion-former fraction, mean electronegativity; Xiao
   et al. Joule 2019's rule caps Li fraction > 0.20 below 5 V), as in
   :mod:`coatml.features.physics`;
   Li-free materials whose cations are all in their highest common oxidation state: no Li to
   extract and no higher cation state, so the limit is unbounded (``inf``); Li-free materials
   with a lower-state cation: its tabulated oxidation couple, else (rough) its reduction limit
   with 1 V added to the uncertainty.

Every estimate's uncertainty is its measured leave-one-out RMSE against the sourced windows
(:func:`window_loo`), per limit and method; the en-fit adds its own leave-one-out RMSE against
the thermochemical limits in quadrature.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import pandas as pd

__all__ = [
    "ANION_CHARGE",
    "FARADAY_KJ_PER_V",
    "FIXED_STATE",
    "Enthalpy",
    "WindowEstimate",
    "anion_exchange",
    "composition_of",
    "estimate_window",
    "formation_enthalpies",
    "formula_key",
    "main_anion",
    "oxidation_couple",
    "oxidation_states",
    "plain_formula",
    "reduction_limit",
    "window_estimator_errors",
    "window_uncertainty",
    "window_loo",
]

#: kJ per mol of electrons per volt.
FARADAY_KJ_PER_V = 96.48533
#: Anion charge magnitudes of the binaries used here.
ANION_CHARGE: dict[str, int] = {"O": 2, "S": 2, "F": 1, "Cl": 1, "N": 3}
#: Cations with a fixed state in polyanion/organic coatings (and Li).
FIXED_STATE: dict[str, int] = {"Li": 1, "H": 1, "P": 5, "B": 3, "Si": 4, "C": 4}
_POLYANION_FORMERS = frozenset({"P", "B", "Si", "S", "C"})
_FORMULA_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*\.?\d*)")
ENTHALPY_TABLE = "formation_enthalpies.csv"


@dataclass(frozen=True)
class Enthalpy:
    """One row of the formation-enthalpy table (kJ/mol of the formula as written)."""

    formula: str
    dhf_kj_mol: float
    counts: tuple[tuple[str, float], ...]
    source: str


@dataclass(frozen=True)
class WindowEstimate:
    """A stability window (V vs Li/Li+) with uncertainties, methods and sources."""

    reduction_v: float
    reduction_unc_v: float
    reduction_method: str
    oxidation_v: float
    oxidation_unc_v: float
    oxidation_method: str
    source: str


_GROUP = re.compile(r"\(([^()]*)\)(\d*\.?\d*)")


@lru_cache(maxsize=16384)
def _composition_cached(formula: str) -> tuple[tuple[str, float], ...]:
    text = formula
    while "(" in text:  # expand innermost brackets: Li10Ge(PS6)2 -> Li10GeP2S12
        text = _GROUP.sub(lambda m: "".join(
            f"{el}{(float(n) if n else 1.0) * (float(m.group(2)) if m.group(2) else 1.0):g}"
            for el, n in _FORMULA_TOKEN.findall(m.group(1))), text)
    out: dict[str, float] = {}
    for el, n in _FORMULA_TOKEN.findall(text):
        out[el] = out.get(el, 0.0) + (float(n) if n else 1.0)
    return tuple(out.items())


def composition_of(formula: str) -> dict[str, float]:
    """Element amounts of a formula such as ``Li2ZrO3`` or ``Li10Ge(PS6)2`` (brackets
    expanded)."""
    return dict(_composition_cached(formula))


def _read_table() -> list[dict[str, str]]:
    text = resources.files("coatml.features.data").joinpath(ENTHALPY_TABLE).read_text("utf-8")
    return [dict(r) for r in csv.DictReader(io.StringIO(text))]


@lru_cache(maxsize=1)
def formation_enthalpies() -> dict[str, Enthalpy]:
    """The sourced table keyed by formula; a row without a value or source raises
    ``ValueError`` naming the row."""
    out: dict[str, Enthalpy] = {}
    for i, row in enumerate(_read_table(), start=2):
        formula = (row.get("formula") or "").strip()
        source = (row.get("source") or "").strip()
        try:
            value = float(row.get("dhf_kj_mol") or "nan")
        except ValueError:
            value = math.nan
        if not formula or not source or not math.isfinite(value):
            raise ValueError(f"{ENTHALPY_TABLE} line {i} ({formula or 'no formula'}): every "
                             "row needs a formula, a finite dhf_kj_mol and a source")
        counts = composition_of(formula)
        out[formula] = Enthalpy(formula, value, tuple(sorted(counts.items())), source)
    return out


@cache
def _binaries(cation: str, anion: str) -> tuple[tuple[float, float, str], ...]:
    """Tabulated binaries of ``cation`` with ``anion``: (state, enthalpy per cation, formula),
    the metal (state 0, enthalpy 0) included."""
    q = ANION_CHARGE[anion]
    rows = [(0.0, 0.0, cation)]
    for e in formation_enthalpies().values():
        counts = dict(e.counts)
        if set(counts) == {cation, anion}:
            a, b = counts[cation], counts[anion]
            rows.append((round(b * q / a, 6), e.dhf_kj_mol / a, e.formula))
    return tuple(sorted(rows))


@cache
def _li_salt(anion: str) -> tuple[float, str] | None:
    """Enthalpy per anion atom of the Li salt ``Li_qX`` and its formula."""
    for e in formation_enthalpies().values():
        counts = dict(e.counts)
        if set(counts) == {"Li", anion}:
            return e.dhf_kj_mol / counts[anion], e.formula
    return None


def _couple(cation: str, anion: str, s_hi: float, s_lo: float
            ) -> tuple[float, tuple[str, ...]] | None:
    rows = {r[0]: r for r in _binaries(cation, anion)}
    salt = _li_salt(anion)
    if s_hi not in rows or s_lo not in rows or salt is None or s_hi <= s_lo:
        return None
    q = ANION_CHARGE[anion]
    dh = rows[s_lo][1] + (s_hi - s_lo) / q * salt[0] - rows[s_hi][1]
    return -dh / ((s_hi - s_lo) * FARADAY_KJ_PER_V), (rows[s_hi][2], rows[s_lo][2], salt[1])


def reduction_limit(cation: str, anion: str, state: float) -> tuple[float, tuple[str, ...]] | None:
    """Highest potential (V vs Li/Li+) at which Li reduces ``cation`` in ``state`` bonded to
    ``anion`` to a lower tabulated state, and the formulas used; ``None`` when the state's
    binary or the Li salt is not tabulated."""
    if anion not in ANION_CHARGE:
        return None
    best: tuple[float, tuple[str, ...]] | None = None
    for s_lo, _, _ in _binaries(cation, anion):
        got = _couple(cation, anion, round(state, 6), s_lo)
        if got is not None and (best is None or got[0] > best[0]):
            best = got
    return best


def oxidation_couple(cation: str, anion: str, state: float
                     ) -> tuple[float, tuple[str, ...]] | None:
    """Lowest potential at which ``cation`` in ``state`` is oxidised to a higher tabulated
    state (the reverse of that state's reduction), or ``None``."""
    if anion not in ANION_CHARGE:
        return None
    best: tuple[float, tuple[str, ...]] | None = None
    for s_hi, _, _ in _binaries(cation, anion):
        got = _couple(cation, anion, s_hi, round(state, 6))
        if got is not None and (best is None or got[0] < best[0]):
            best = got
    return best


# --------------------------------------------------------------------------- oxidation states


@cache
def _common_states(symbol: str) -> tuple[int, ...]:
    from pymatgen.core.periodic_table import Element

    states = tuple(sorted(s for s in Element(symbol).common_oxidation_states if s > 0))
    return states or (1,)


@cache
def _pauling(symbol: str) -> float:
    from pymatgen.core.periodic_table import Element

    x = Element(symbol).X
    return float(x) if x == x else math.nan


def main_anion(comp: dict[str, float]) -> str | None:
    """The anion a coating's cations are bonded to (O before F, N, S, Cl), or ``None``."""
    for anion in ("O", "F", "N", "S", "Cl"):
        if anion in comp:
            return anion
    return None


@lru_cache(maxsize=16384)
def oxidation_states(formula: str) -> dict[str, float] | None:
    """Cation oxidation states of a plain formula by charge balance: Li, H, P, B, Si, C fixed
    (Si and B as the only cation are solved like any cation), anions O/S -2, F/Cl -1, N -3;
    one other cation solved directly, two by the first combination of pymatgen's common states
    (highest first) that balances. ``None`` when nothing balances."""
    comp = composition_of(formula)
    anions = {el: n for el, n in comp.items() if el in ANION_CHARGE}
    negative = sum(n * ANION_CHARGE[el] for el, n in anions.items())
    cations = {el: n for el, n in comp.items() if el not in ANION_CHARGE}
    if not cations or not anions:
        return None
    fixed = {el: float(FIXED_STATE[el]) for el in cations
             if el in FIXED_STATE and (len(cations) > 1 or el == "Li")}
    free = [el for el in cations if el not in fixed]
    rest = negative - sum(cations[el] * s for el, s in fixed.items())
    if not free:
        return fixed if abs(rest) < 1e-6 else None
    if len(free) == 1:
        state = rest / cations[free[0]]
        return {**fixed, free[0]: round(state, 6)} if state > 0 else None
    if len(free) == 2:
        a, b = free
        for sa in sorted(_common_states(a), reverse=True):
            for sb in sorted(_common_states(b), reverse=True):
                if abs(cations[a] * sa + cations[b] * sb - rest) < 1e-6 * max(rest, 1.0):
                    return {**fixed, a: float(sa), b: float(sb)}
    return None


# --------------------------------------------------------------------------- window estimate


def _family(anion: str | None, comp: dict[str, float]) -> str:
    if anion in ("O", "N") and "O" in comp:
        return "oxygen"
    return anion or "other"


@dataclass(frozen=True)
class _Desc:
    li_fraction: float
    polyanion_fraction: float
    mean_en: float
    family: str


def _describe(comp: dict[str, float]) -> _Desc:
    total = sum(comp.values())
    poly = (sum(n for el, n in comp.items() if el in _POLYANION_FORMERS) / total
            if "O" in comp and len(comp) > 2 else 0.0)
    ens = [(_pauling(el), n) for el, n in comp.items()]
    mean_en = sum(x * n for x, n in ens if x == x) / max(sum(n for x, n in ens if x == x), 1e-9)
    return _Desc(comp.get("Li", 0.0) / total, poly, mean_en, _family(main_anion(comp), comp))


@lru_cache(maxsize=1)
def _sourced_windows() -> tuple[tuple[str, str, float, float, str], ...]:
    """(material, formula, reduction, oxidation, source) of the sourced window table."""
    from coatml.features.physics import load_table

    return tuple((r["material"], r["formula"], float(r["reduction_v"]),
                  float(r["oxidation_v"]), r["source"])
                 for r in load_table("stability_windows.csv"))


@lru_cache(maxsize=16384)
def plain_formula(formula: str) -> str:
    """The formula with brackets expanded and amounts divided by the smallest one (elements
    in order of appearance), e.g. ``Li10Ge(PS6)2`` -> ``Li10GeP2S12``; :func:`_key` compares
    compositions order-free."""
    comp = composition_of(formula)
    low = min(comp.values()) if comp else 1.0
    return "".join(f"{el}{n / low:.10g}" if abs(n / low - 1) > 1e-9 else el
                   for el, n in comp.items())


@lru_cache(maxsize=16384)
def formula_key(formula: str) -> tuple[tuple[str, float], ...]:
    """Order-free key of a reduced composition (atomic fractions rounded to 1e-6)."""
    comp = composition_of(formula)
    total = sum(comp.values()) or 1.0
    return tuple(sorted((el, round(n / total, 6)) for el, n in comp.items()))


@lru_cache(maxsize=1)
def _sourced_by_formula() -> dict[tuple[tuple[str, float], ...], tuple[str, float, float, str]]:
    out = {}
    for material, formula, red, ox, source in _sourced_windows():
        if formula:
            out[formula_key(formula)] = (material, red, ox, source)
    return out


@lru_cache(maxsize=1)
def _sourced_by_name() -> dict[str, tuple[str, float, float, str]]:
    return {m.casefold(): (m, r, o, src) for m, _, r, o, src in _sourced_windows()}


@lru_cache(maxsize=1)
def _reference_descs() -> tuple[tuple[str, _Desc, float], ...]:
    """(material, descriptor, oxidation limit) of every sourced window with a formula."""
    return tuple((material, _describe(composition_of(formula)), ox)
                 for material, formula, _, ox, _src in _sourced_windows() if formula)


def _nn_oxidation(comp: dict[str, float], exclude: str | None = None
                  ) -> tuple[float, str] | None:
    desc = _describe(comp)
    if desc.li_fraction <= 0:
        return None
    best: tuple[float, float, str] | None = None
    for material, ref, ox in _reference_descs():
        if material == exclude:
            continue
        if ref.family != desc.family or ref.li_fraction <= 0:
            continue
        dist = math.sqrt((ref.li_fraction - desc.li_fraction) ** 2
                         + (ref.polyanion_fraction - desc.polyanion_fraction) ** 2
                         + ((ref.mean_en - desc.mean_en) / 4.0) ** 2)
        if best is None or dist < best[0]:
            best = (dist, ox, material)
    if best is None:
        return None
    ox = best[1]
    if desc.li_fraction > 0.20:
        ox = min(ox, 4.999)
    return ox, best[2]


def _thermo_reduction(comp: dict[str, float], states: dict[str, float] | None
                      ) -> tuple[float, list[str], list[str]] | None:
    """Highest thermochemical reduction limit over non-Li cations; (value, formulas, lacking
    cations). ``None`` when no cation could be evaluated."""
    anion = main_anion(comp)
    if anion is None or states is None:
        return None
    best = -math.inf
    used: list[str] = []
    lacking: list[str] = []
    for el, state in states.items():
        if el in ("Li", "H"):
            continue
        got = reduction_limit(el, anion, state)
        if got is None:
            lacking.append(el)
            continue
        used.extend(got[1])
        best = max(best, got[0])
    if best == -math.inf:
        return None
    return best, used, lacking


@lru_cache(maxsize=1)
def _en_points() -> tuple[tuple[str, float, float], ...]:
    """(cation, Pauling electronegativity, thermochemical reduction limit of its highest
    tabulated oxide) for every cation with a tabulated oxide."""
    cations = sorted({el for e in formation_enthalpies().values() for el, _ in e.counts
                      if el not in ANION_CHARGE and el != "Li"})
    pts = []
    for el in cations:
        rows = _binaries(el, "O")
        if len(rows) < 2:
            continue
        got = reduction_limit(el, "O", rows[-1][0])
        if got is not None and _pauling(el) == _pauling(el):
            pts.append((el, _pauling(el), got[0]))
    return tuple(pts)


def _fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    slope = sum((p[0] - mx) * (p[1] - my) for p in points) / sxx if sxx > 0 else 0.0
    return my - slope * mx, slope


@lru_cache(maxsize=256)
def _en_fit(exclude: frozenset[str]) -> tuple[float, float]:
    return _fit([(x, y) for el, x, y in _en_points() if el not in exclude])


def _en_predict(cation: str, exclude: frozenset[str] = frozenset()) -> float:
    a, b = _en_fit(exclude)
    return a + b * _pauling(cation)


@lru_cache(maxsize=1)
def _en_fit_loo_rmse() -> float:
    """Leave-one-cation-out RMSE of the en-fit against the thermochemical limits (V)."""
    errs = [_en_predict(el, frozenset({el})) - y for el, _, y in _en_points()]
    return math.sqrt(sum(e * e for e in errs) / len(errs)) if errs else math.nan


def _reduction_estimate(comp: dict[str, float], states: dict[str, float] | None,
                        exclude_cations: frozenset[str] = frozenset()
                        ) -> tuple[float, str, str] | None:
    non_li = [el for el in comp if el not in ANION_CHARGE and el not in ("Li", "H")]
    if not non_li and main_anion(comp) is not None:
        salt = _li_salt(main_anion(comp) or "")
        return 0.0, "li-salt", f"Li salt: stable against Li metal ({salt[1] if salt else ''})"
    thermo = _thermo_reduction(comp, states)
    values: list[float] = []
    parts: list[str] = []
    method = "thermo"
    if thermo is not None:
        values.append(thermo[0])
        parts.append("binary formation enthalpies (" + ", ".join(dict.fromkeys(thermo[1]))
                     + "; formation_enthalpies.csv)")
    missing = thermo[2] if thermo is not None else non_li
    if missing and main_anion(comp) in ("O", "F", "N", "S", "Cl"):
        en = [_en_predict(el, exclude_cations) for el in missing if _pauling(el) == _pauling(el)]
        if en:
            values.append(max(en))
            parts.append("en-fit for " + ", ".join(missing))
            method = "en-fit" if thermo is None else "thermo+en-fit"
    if not values:
        return None
    return max(values), method, "; ".join(parts)


def window_uncertainty(limit: str, method: str) -> float:
    """Uncertainty (V) of a window estimate: the leave-one-out RMSE of ``method`` for
    ``limit``; the en-fit adds its own leave-one-out RMSE in quadrature to the thermochemical
    one."""
    errors = window_estimator_errors()
    key = "thermo" if method == "thermo+en-fit" else method
    rmse = errors.get((limit, key), (math.nan, 0))[0]
    if method in ("en-fit", "thermo+en-fit"):
        thermo = errors.get((limit, "thermo"), (math.nan, 0))[0]
        rmse = math.sqrt(thermo ** 2 + _en_fit_loo_rmse() ** 2)
    return rmse


@lru_cache(maxsize=16384)
def estimate_window(formula: str, name: str | None = None) -> WindowEstimate | None:
    """Stability window of a coating (sourced, else estimated; see the module doc).
    ``None`` for materials without an inorganic anion (organic films)."""
    key = plain_formula(formula)
    hit = _sourced_by_formula().get(formula_key(formula)) or (
        _sourced_by_name().get(name.casefold()) if name else None)
    if hit is not None:
        material, red, ox, source = hit
        return WindowEstimate(red, 0.0, "sourced", ox, 0.0, "sourced",
                              f"stability_windows.csv: {material} ({source})")
    comp = composition_of(key)
    if "C" in comp and "H" in comp:
        return None
    anion = main_anion(comp)
    if anion is None:
        return None
    states = oxidation_states(key)
    reduction = _reduction_estimate(comp, states)
    if reduction is None:
        return None
    red_v, red_method, red_src = reduction
    red_unc = 0.0 if red_method == "li-salt" else window_uncertainty("reduction", red_method)
    ox_v, ox_unc, ox_method, ox_src = _oxidation_estimate(comp, states, red_v, red_unc)
    return WindowEstimate(red_v, red_unc, red_method, ox_v, ox_unc, ox_method,
                          f"reduction: {red_src}; oxidation: {ox_src}")


def _oxidation_estimate(comp: dict[str, float], states: dict[str, float] | None,
                        red_v: float, red_unc: float) -> tuple[float, float, str, str]:
    non_li = [el for el in comp if el not in ANION_CHARGE and el not in ("Li", "H")]
    anion0 = main_anion(comp) or ""
    salt = _li_salt(anion0) if not non_li else None
    if salt is not None:
        q = ANION_CHARGE[anion0]
        return (-salt[0] / (q * FARADAY_KJ_PER_V), window_uncertainty("reduction", "thermo"),
                "li-salt", f"anion oxidation of {salt[1]} from its formation enthalpy "
                "(formation_enthalpies.csv)")
    if comp.get("Li", 0.0) > 0:
        nn = _nn_oxidation(comp)
        if nn is not None:
            return (nn[0], window_uncertainty("oxidation", "nearest"), "nearest",
                    f"nearest tabulated window {nn[1]} (stability_windows.csv); Xiao et al., "
                    "Joule 3, 1252 (2019) Li-fraction rule")
    anion = main_anion(comp) or ""
    low = {el: s for el, s in (states or {}).items()
           if el not in FIXED_STATE and s < max(_common_states(el)) - 1e-6}
    if comp.get("Li", 0.0) <= 0 and not low:
        return (math.inf, 0.0, "highest-state",
                "Li-free, every cation in its highest common oxidation state (pymatgen): "
                "nothing to oxidise but the anion, no Li to extract")
    couples = [oxidation_couple(el, anion, s) for el, s in low.items()]
    known = [c for c in couples if c is not None]
    if known and len(known) == len(couples):
        best = min(known, key=lambda c: c[0])
        return (best[0], window_uncertainty("reduction", "thermo"), "thermo-couple",
                "oxidation couple from binary formation enthalpies ("
                + ", ".join(best[1]) + "; formation_enthalpies.csv)")
    return (red_v, math.sqrt(red_unc ** 2 + 1.0), "rough",
            "rough: lower-state cation " + ", ".join(f"{el}{s:+g}" for el, s in low.items())
            + " without a tabulated couple; its reduction limit stands in (+1 V uncertainty)")


# --------------------------------------------------------------------------- leave-one-out


def window_loo() -> pd.DataFrame:
    """Each estimator against every sourced window it can estimate, the sourced row left out
    of the estimator's references (nearest window) or fit (en-fit: the row's cations left out).

    Columns: material, formula, limit (reduction / oxidation), method, sourced_v, estimate_v,
    error_v (estimate - sourced).
    """
    rows = []
    for material, formula, red, ox, _ in _sourced_windows():
        if not formula:
            continue
        key = plain_formula(formula)
        shown = formula
        comp = composition_of(key)
        states = oxidation_states(key)
        thermo = _thermo_reduction(comp, states)
        if thermo is not None and not thermo[2]:
            rows.append((material, shown, "reduction", "thermo", red, thermo[0]))
        cations = [el for el in comp if el not in ANION_CHARGE and el not in ("Li", "H")]
        en = [_en_predict(el, frozenset(cations)) for el in cations
              if _pauling(el) == _pauling(el)]
        if en and main_anion(comp) == "O":
            rows.append((material, shown, "reduction", "en-fit", red, max(en)))
        nn = _nn_oxidation(comp, exclude=material)
        if nn is not None:
            rows.append((material, shown, "oxidation", "nearest", ox, nn[0]))
    out = pd.DataFrame(rows, columns=["material", "formula", "limit", "method", "sourced_v",
                                      "estimate_v"])
    out["error_v"] = out["estimate_v"] - out["sourced_v"]
    return out


@lru_cache(maxsize=1)
def window_estimator_errors() -> dict[tuple[str, str], tuple[float, int]]:
    """``{(limit, method): (leave-one-out RMSE in V, n)}`` from :func:`window_loo`."""
    loo = window_loo()
    out: dict[tuple[str, str], tuple[float, int]] = {}
    for (limit, method), grp in loo.groupby(["limit", "method"]):
        err = grp["error_v"].to_numpy(dtype=float)
        out[(str(limit), str(method))] = (float(math.sqrt((err ** 2).mean())), len(err))
    return out


# --------------------------------------------------------------------------- anion exchange


def anion_exchange(formula: str, target: str) -> tuple[float | None, str, str]:
    """Enthalpy (eV per coating anion) of swapping the coating's anion for ``target`` (S or
    Cl) against the Li salt of ``target``, for the worst (most negative) non-Li cation:
    ``MX_{s/q} + (s/q') Li_q'Y -> MY_{s/q'} + (s/q) Li_qX``. Returns (value, cation, formulas
    used); the value is ``None`` (and the text says what is missing) when a binary of the
    cation's state or a Li salt is not tabulated; a pure Li salt gives 0."""
    comp = composition_of(plain_formula(formula))
    anion = main_anion(comp)
    states = oxidation_states(plain_formula(formula))
    if anion is None or states is None or target not in ANION_CHARGE:
        return None, "", "oxidation states or anion not resolved"
    if anion == target:
        return 0.0, "", "same anion"
    salt_x, salt_y = _li_salt(anion), _li_salt(target)
    if salt_x is None or salt_y is None:
        return None, "", f"no tabulated Li salt of {anion if salt_x is None else target}"
    q, q2 = ANION_CHARGE[anion], ANION_CHARGE[target]
    worst: tuple[float, str, str] | None = None
    for el, s in states.items():
        if el in ("Li", "H"):
            continue
        hx = {r[0]: r for r in _binaries(el, anion)}.get(round(s, 6))
        hy = {r[0]: r for r in _binaries(el, target)}.get(round(s, 6))
        if hx is None or hy is None:
            lack = [f"{el}{s:+g} {a}" for a, h in ((anion, hx), (target, hy)) if h is None]
            return None, el, "no sourced formation enthalpy of " + " or ".join(lack)
        dh = hy[1] + (s / q) * salt_x[0] - hx[1] - (s / q2) * salt_y[0]
        per_anion = dh / (s / q) / FARADAY_KJ_PER_V
        used = ", ".join((hx[2], hy[2], salt_x[1], salt_y[1]))
        if worst is None or per_anion < worst[0]:
            worst = (per_anion, el, used)
    if worst is None:
        return 0.0, "", f"only Li cations ({salt_x[1]})"
    return worst
