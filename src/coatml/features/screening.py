"""Chemistry criteria of the physics screening (no deposition, no inventory).

One place computes, for a coating against an electrode / electrolyte pair, the criteria that
follow from thermodynamics and transport alone: stability window against the electrode's range,
anion exchange with a sulfide / halide electrolyte, oxidation by a high-voltage cathode, redox
with the electrolyte, Li-ion area-specific resistance and electronic character. Each criterion
row carries a value, an uncertainty, a status (``pass`` / ``warn`` / ``fail`` / ``unknown``), a
reason a person can read, the method and the source. The screening table
(:mod:`coatml.recommend.screening`, which adds the precursor and process-window criteria) and
the physics prior of the models (:mod:`coatml.features.prior`) both build on it, so what the
screening says and what the prior believes cannot drift apart.

Criteria (thresholds are project settings, documented where they are defined):

* ``oxidation_limit`` / ``reduction_limit``: the coating's stability window
  (:func:`coatml.features.thermo.estimate_window`: sourced, else estimated with the estimator's
  leave-one-out error as uncertainty) against the electrode's operating range
  (``electrode_voltage_ranges.csv``). ``excess`` = how far the range reaches past the limit;
  pass when ``excess + unc <= 0``, fail when ``excess - unc > KINETIC_MARGIN_V``, else warn.
  Computed windows are 0 K thermodynamic limits and real interfaces are kinetically wider (the
  sourced tables say so): LiNbO3 (3.88 V) works on 4.3 V NMC, which is why only a limit more
  than ``KINETIC_MARGIN_V`` (project setting, 1.0 V) past the range fails. Against Li metal the
  reduction limit is "reduction by Li metal".
* ``anion_exchange``: oxide / fluoride / nitride coating against a sulfide (S) or halide (Cl)
  electrolyte: the enthalpy of swapping anions with the electrolyte's Li salt
  (:func:`coatml.features.thermo.anion_exchange`, eV per coating anion, worst cation); pass
  ``>= 0``, fail ``<= -0.3``, warn between; uncertainty ``ENTHALPY_UNC_EV`` (project assumption:
  the neglected entropy term of solid-solid reactions). Unknown where an enthalpy is missing.
* ``cathode_redox``: against a cathode charged to >= ``HIGH_VOLTAGE_V``: a cation below its
  highest common oxidation state (pymatgen) is oxidised (fail; value = its tabulated oxidation
  couple when known, else the count of such cations).
* ``electrolyte_redox``: the coating oxidises the electrolyte when its reduction limit lies above
  the electrolyte's oxidation limit, and the electrolyte oxidises the coating when the coating's
  oxidation limit lies below the electrolyte's reduction limit (the worse of the two is
  reported; fail beyond the uncertainty, warn within); a multivalent transition metal whose
  limit only the electronegativity fit gives is ``unknown``.
* ``li_ion_resistance``: area-specific resistance ``t / sigma`` (log10 ohm cm2) at
  ``thickness_nm`` from ``film_conductivity.csv``; Li-containing films without a value get the
  geometric mean of the measured Li films (uncertainty: their spread in decades); Li-free films
  without a value are Li-ion blocking: unknown. Pass <= 10 ohm cm2, else warn.
* ``electronic``: closed-shell cations only (d0, d10, main group: insulating) pass; open-shell
  d cations (mixed valence, likely electronic conduction; project rule) warn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from coatml.data.formulas import resolve_material
from coatml.features import thermo

__all__ = [
    "CHEMISTRY_CRITERIA",
    "CRITERIA",
    "ENTHALPY_UNC_EV",
    "HIGH_VOLTAGE_V",
    "KINETIC_MARGIN_V",
    "SCREEN_COLUMNS",
    "SUBSTRATE_MAX_TEMPERATURE_C",
    "PairContext",
    "chemistry_rows",
    "pair_context",
    "substrate_class",
]

CRITERIA: tuple[str, ...] = (
    "oxidation_limit", "reduction_limit", "anion_exchange", "cathode_redox",
    "electrolyte_redox", "li_ion_resistance", "electronic", "precursors", "process_window",
)
SCREEN_COLUMNS: tuple[str, ...] = (
    "coating", "reduced_formula", "in_library", "criterion", "value", "uncertainty", "unit",
    "status", "reason", "method", "source",
)
#: How far past a computed window a limit may lie before it fails (V; project setting).
KINETIC_MARGIN_V = 1.0
#: Uncertainty of a reaction enthalpy used as a free energy (eV per anion; project assumption).
ENTHALPY_UNC_EV = 0.1
#: A cathode whose range reaches this potential counts as high-voltage (V vs Li/Li+).
HIGH_VOLTAGE_V = 4.0
#: Area-specific resistance below which a film passes (ohm cm2).
ASR_PASS_OHM_CM2 = 10.0
_EXCHANGE_FAIL_EV = -0.3
_WINDOW_SOURCE = "electrode_voltage_ranges.csv"


@dataclass(frozen=True)
class PairContext:
    """What the screening needs to know about the pair (potentials in V vs Li/Li+)."""

    electrode: str
    electrolyte: str
    coated_component: str
    electrode_class: str
    electrolyte_class: str
    v_min: float
    v_max: float
    range_source: str
    electrolyte_red: float
    electrolyte_ox: float
    electrolyte_source: str
    substrate_limit_c: float


def pair_context(electrode: str, electrolyte: str, coated_component: str = "auto"
                 ) -> PairContext:
    """Classes, electrode range and electrolyte window of a pair (names resolved; a bad name
    raises :class:`~coatml.exceptions.FormulaError`)."""
    from coatml.data.formulas import resolve_material
    from coatml.features.physics import electrode_voltage_range

    el = resolve_material(electrode)
    ly = resolve_material(electrolyte)
    electrode_class = substrate_class(electrode)
    electrolyte_class = substrate_class(electrolyte)
    if coated_component == "auto":
        coated_component = "electrolyte" if electrode_class in ("li_metal", "na_metal") \
            else "electrode"
    rng = electrode_voltage_range(el)
    win = thermo.estimate_window(ly.composition.reduced_formula, ly.name)
    substrate = electrode_class if coated_component == "electrode" else electrolyte_class
    return PairContext(
        electrode, electrolyte, coated_component, electrode_class, electrolyte_class,
        rng.v_min if rng else math.nan, rng.v_max if rng else math.nan,
        f"{_WINDOW_SOURCE}: {rng.family} ({rng.source})" if rng else "",
        win.reduction_v if win else math.nan, win.oxidation_v if win else math.nan,
        win.source if win else "",
        SUBSTRATE_MAX_TEMPERATURE_C.get(substrate, math.nan),
    )


#: Default highest deposition temperature per substrate class (degC): the melting points of Li
#: (180.5 C) and Na (97.8 C) (CRC Handbook of Chemistry and Physics). No sourced tolerance was
#: found for sulfide electrolytes or oxide cathodes: no default (pass max_deposition_temperature_c).
SUBSTRATE_MAX_TEMPERATURE_C: dict[str, float] = {"li_metal": 180.5, "na_metal": 97.8}

_CLASS_FROM_ALIAS: dict[str, str] = {
    "sulfide": "sulfide", "argyrodite": "sulfide", "halide": "halide",
    "garnet": "oxide_electrolyte", "nasicon": "oxide_electrolyte",
    "perovskite": "oxide_electrolyte", "lipon": "oxide_electrolyte",
    "polymer": "polymer", "li_metal": "li_metal", "na_metal": "na_metal",
    "layered_oxide": "oxide_cathode", "spinel_oxide": "oxide_cathode", "olivine": "oxide_cathode",
    "graphite": "graphite", "organic_electrode": "organic", "organic_film": "organic",
}
_CATHODE_TM = frozenset({"Ni", "Co", "Mn", "Fe", "V", "Cr", "Cu"})


def substrate_class(name: str) -> str:
    """Coarse material class of an electrode/electrolyte: alias class, else composition rules.

    Rules: pure Li / Na -> li_metal / na_metal; S without O -> sulfide; Cl/Br/I without S and O
    -> halide; O with a redox transition metal -> oxide_cathode; other O -> oxide_electrolyte;
    pure C -> graphite; anything else -> other.
    """
    res = resolve_material(name)
    if res.alias is not None and res.alias.material_class in _CLASS_FROM_ALIAS:
        return _CLASS_FROM_ALIAS[res.alias.material_class]
    elements = {el.symbol for el in res.composition.elements}
    if elements == {"Li"}:
        return "li_metal"
    if elements == {"Na"}:
        return "na_metal"
    if "S" in elements and "O" not in elements:
        return "sulfide"
    if elements & {"Cl", "Br", "I"} and not elements & {"S", "O"}:
        return "halide"
    if "O" in elements and elements & _CATHODE_TM:
        return "oxide_cathode"
    if "O" in elements:
        return "oxide_electrolyte"
    if elements == {"C"}:
        return "graphite"
    return "other"


# --------------------------------------------------------------------------- helpers


def _status_window(excess: float, unc: float) -> str:
    if excess + unc <= 0:
        return "pass"
    if excess - unc > KINETIC_MARGIN_V:
        return "fail"
    return "warn"


def _fmt(v: float, u: float) -> str:
    return f"{v:.2f} +/- {u:.2f} V" if u > 0 else f"{v:.2f} V"


@lru_cache(maxsize=64)
def _multivalent(symbol: str) -> bool:
    from pymatgen.core.periodic_table import Element

    el = Element(symbol)
    states = [s for s in el.common_oxidation_states if s > 0]
    return len(states) >= 2 and (el.is_transition_metal or symbol in ("Ce", "Sn"))


@lru_cache(maxsize=64)
def _max_state(symbol: str) -> int:
    from pymatgen.core.periodic_table import Element

    states = [s for s in Element(symbol).common_oxidation_states if s > 0]
    return max(states) if states else 0


@lru_cache(maxsize=64)
def _d_count(symbol: str, state: float) -> float:
    """d electrons of a transition-metal cation (group - state); 0 for main-group cations."""
    from pymatgen.core.periodic_table import Element

    el = Element(symbol)
    if not el.is_transition_metal:
        return 0.0
    return float(el.group) - state


def _open_shell(symbol: str, state: float) -> bool:
    d = _d_count(symbol, round(state, 6))
    return 1e-6 < d < 10 - 1e-6


@lru_cache(maxsize=1)
def _film_table() -> tuple[dict[str, tuple[float, str, str, str]], float, float]:
    """Sourced film conductivities ``(sigma, material, source, basis)`` by reduced formula /
    name, and the log10 mean and spread of the measured Li-containing films."""
    from coatml.features.physics import load_table

    by: dict[str, tuple[float, str, str, str]] = {}
    logs = []
    for row in load_table("film_conductivity.csv"):
        sigma = float(row["sigma_s_cm"])
        entry = (sigma, row["material"], row["source"], row["basis"])
        by[row["material"].casefold()] = entry
        if row["formula"]:
            by[str(thermo.formula_key(row["formula"]))] = entry
        name = row["formula"] or row["material"]
        if row["basis"].startswith("measured") and "Li" in name:
            logs.append(math.log10(sigma))
    arr = np.array(logs)
    return by, float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 1.0


# --------------------------------------------------------------------------- criteria


#: value, uncertainty, unit, status, reason, method, source
Row = tuple[float, float, str, str, str, str, str]


def _window_rows(est: thermo.WindowEstimate | None, ctx: PairContext) -> tuple[Row, Row]:
    if est is None:
        why = "no window: organic / hybrid film (no sourced window, no estimator)"
        return ((math.nan, math.nan, "V", "unknown", why, "none", "stability_windows.csv"),
                (math.nan, math.nan, "V", "unknown", why, "none", "stability_windows.csv"))
    src = f"{est.source}; electrode range: {ctx.range_source or 'not tabulated'}"
    ox, oxu = est.oxidation_v, est.oxidation_unc_v
    if math.isnan(ctx.v_max):
        ox_row: Row = (ox, oxu, "V", "unknown",
                       f"oxidation limit {_fmt(ox, oxu)}; {ctx.electrode}'s range not tabulated",
                       est.oxidation_method, src)
    elif math.isinf(ox):
        ox_row = (ox, 0.0, "V", "pass", "not oxidised: " + est.source.split("oxidation: ")[-1],
                  est.oxidation_method, src)
    else:
        status = _status_window(ctx.v_max - ox, oxu)
        rel = "below" if ox < ctx.v_max else "above"
        ox_row = (ox, oxu, "V", status,
                  f"oxidation limit {_fmt(ox, oxu)} ({est.oxidation_method}) is {rel} the "
                  f"{ctx.electrode}'s {ctx.v_max:g} V cut-off", est.oxidation_method, src)
    red, redu = est.reduction_v, est.reduction_unc_v
    if math.isnan(ctx.v_min):
        red_row: Row = (red, redu, "V", "unknown",
                        f"reduction limit {_fmt(red, redu)}; {ctx.electrode}'s range not "
                        "tabulated", est.reduction_method, src)
    else:
        status = _status_window(red - ctx.v_min, redu)
        if ctx.electrode_class in ("li_metal", "na_metal"):
            verb = "reduced by Li metal" if red > ctx.v_min else "stable against Li metal"
            text = f"reduction limit {_fmt(red, redu)} ({est.reduction_method}): {verb} (0 V)"
        else:
            rel = "above" if red > ctx.v_min else "below"
            text = (f"reduction limit {_fmt(red, redu)} ({est.reduction_method}) is {rel} the "
                    f"{ctx.electrode}'s {ctx.v_min:g} V lower cut-off")
        red_row = (red, redu, "V", status, text, est.reduction_method, src)
    return ox_row, red_row


def _exchange_row(formula: str, organic: bool, ctx: PairContext) -> Row:
    target = {"sulfide": "S", "halide": "Cl"}.get(ctx.electrolyte_class)
    src = "formation_enthalpies.csv"
    if target is None:
        return (math.nan, math.nan, "eV/anion", "pass",
                f"not applicable: {ctx.electrolyte_class} electrolyte (no anion exchange "
                "partner)", "not-applicable", src)
    if organic:
        return (math.nan, math.nan, "eV/anion", "unknown",
                "organic / hybrid film: no formation enthalpies", "none", src)
    got_value, cation, used = thermo.anion_exchange(formula, target)
    if got_value is None:
        return (math.nan, math.nan, "eV/anion", "unknown",
                f"anion exchange with the {ctx.electrolyte} unknown: {used}", "none", src)
    value = float(got_value)
    status = "pass" if value >= 0 else ("fail" if value <= _EXCHANGE_FAIL_EV else "warn")
    who = f" ({cation})" if cation else ""
    return (value, ENTHALPY_UNC_EV, "eV/anion", status,
            f"exchanging anions with the {ctx.electrolyte}'s Li salt{who}: {value:+.2f} +/- "
            f"{ENTHALPY_UNC_EV:.1f} eV per anion ({'favoured' if value < 0 else 'not favoured'})",
            "thermo", f"{src} ({used})")


def _cathode_row(states: dict[str, float] | None, anion: str | None, ctx: PairContext) -> Row:
    src = f"pymatgen common oxidation states; formation_enthalpies.csv; {ctx.range_source}"
    if ctx.electrode_class != "oxide_cathode" or not (ctx.v_max >= HIGH_VOLTAGE_V):
        return (math.nan, math.nan, "V", "pass",
                f"not applicable: {ctx.electrode} is not a cathode charged to >= "
                f"{HIGH_VOLTAGE_V:g} V", "not-applicable", src)
    if states is None:
        return (math.nan, math.nan, "V", "unknown",
                "oxidation states not resolved by charge balance", "none", src)
    low = {el: s for el, s in states.items()
           if el not in thermo.FIXED_STATE and s < _max_state(el) - 1e-6}
    if not low:
        return (0.0, 0.0, "count", "pass",
                "every cation is in its highest common oxidation state", "charge-balance", src)
    couples = [thermo.oxidation_couple(el, anion or "O", s) for el, s in low.items()]
    names = ", ".join(f"{el}{s:+.3g}" for el, s in low.items())
    known = [c for c in couples if c is not None]
    if known:
        v = min(c[0] for c in known)
        return (v, thermo.window_uncertainty("reduction", "thermo"), "V", "fail",
                f"{names} is oxidised at the {ctx.v_max:g} V cathode (couple {v:.2f} V)",
                "thermo-couple", src)
    return (float(len(low)), 0.0, "count", "fail",
            f"{names} below its highest common state: oxidised at the {ctx.v_max:g} V cathode",
            "charge-balance", src)


def _electrolyte_row(est: thermo.WindowEstimate | None, states: dict[str, float] | None,
                     ctx: PairContext) -> Row:
    src = f"coating window ({est.source if est else 'none'}); electrolyte window " \
          f"({ctx.electrolyte_source or 'none'})"
    if est is None or math.isnan(ctx.electrolyte_ox):
        return (math.nan, math.nan, "V", "unknown",
                "no window for the coating or the electrolyte", "none", src)
    if est.reduction_method in ("en-fit", "thermo+en-fit") and states is not None:
        tm = [el for el in states if _multivalent(el)
              and thermo.reduction_limit(el, "O", states[el]) is None]
        if tm:
            return (est.reduction_v, est.reduction_unc_v, "V", "unknown",
                    f"{', '.join(tm)}: multivalent transition metal without tabulated "
                    f"couples; redox with the {ctx.electrolyte} unknown", est.reduction_method,
                    src)
    excess = est.reduction_v - ctx.electrolyte_ox
    unc = est.reduction_unc_v
    # the other direction: the electrolyte oxidises a coating whose oxidation limit lies below
    # the electrolyte's reduction limit
    other = ctx.electrolyte_red - est.oxidation_v
    other_unc = est.oxidation_unc_v if math.isfinite(est.oxidation_v) else 0.0
    if math.isfinite(other) and other - other_unc > excess - unc:
        status = _status_sign(other, other_unc)
        rel = "below" if other > 0 else "above"
        return (other, other_unc, "V", status,
                f"coating oxidation limit {_fmt(est.oxidation_v, other_unc)} is {rel} the "
                f"{ctx.electrolyte}'s reduction limit {ctx.electrolyte_red:.2f} V"
                + (" (the electrolyte oxidises the coating)" if status == "fail" else ""),
                est.oxidation_method, src)
    status = _status_sign(excess, unc)
    rel = "above" if excess > 0 else "below"
    return (excess, unc, "V", status,
            f"coating reduction limit {_fmt(est.reduction_v, unc)} is {rel} the "
            f"{ctx.electrolyte}'s oxidation limit {ctx.electrolyte_ox:.2f} V"
            + (" (the coating oxidises the electrolyte)" if status == "fail" else ""),
            est.reduction_method, src)


def _status_sign(excess: float, unc: float) -> str:
    if excess - unc > 0:
        return "fail"
    return "warn" if excess + unc > 0 else "pass"


def film_entry(formula: str, name: str) -> tuple[float, str, str, str] | None:
    """The sourced film conductivity row of a coating (plain formula or name):
    ``(sigma_s_cm, material, source, basis)``, or ``None``."""
    films = _film_table()[0]
    return films.get(str(thermo.formula_key(formula))) or films.get(name.casefold())


def _transport_rows(formula: str, name: str, li_fraction: float, organic: bool,
                    states: dict[str, float] | None, thickness_nm: float) -> tuple[Row, Row]:
    _films, log_mean, log_sd = _film_table()
    hit = film_entry(formula, name)
    src = "film_conductivity.csv"
    if hit is not None:
        log_sigma, unc, method = math.log10(hit[0]), 0.0, "sourced"
        src = f"{src}: {hit[1]} ({hit[2]})"
    elif li_fraction > 0:
        log_sigma, unc, method = log_mean, log_sd, "estimate"
        src = f"{src}: geometric mean of the measured Li-containing films (estimate)"
    else:
        log_sigma = math.nan
    if log_sigma == log_sigma:
        log_asr = math.log10(thickness_nm * 1e-7) - log_sigma
        asr = 10 ** log_asr
        status = "pass" if asr <= ASR_PASS_OHM_CM2 else "warn"
        ion: Row = (log_asr, unc, "log10(ohm cm2)", status,
                    f"Li-ion ASR of a dense {thickness_nm:g} nm film {asr:.3g} ohm cm2 "
                    f"(sigma 10^{log_sigma:.1f} S/cm, +/- {unc:.1f} decades, {method})",
                    method, src)
    else:
        ion = (math.nan, math.nan, "log10(ohm cm2)", "unknown",
               "Li-free film without a sourced Li-ion conductivity: Li-ion blocking expected, "
               "ASR not estimated", "none", src)
    if organic or states is None:
        el_row: Row = (math.nan, math.nan, "count", "unknown",
                       "electronic character unknown (organic / unresolved states)", "none",
                       "project rule (d-electron count)")
    else:
        open_ = [f"{el}{s:+.3g}" for el, s in states.items() if _open_shell(el, s)]
        el_row = ((float(len(open_)), 0.0, "count", "warn",
                   f"open-shell cations {', '.join(open_)}: likely electronically conducting",
                   "d-count", "project rule (d-electron count from charge balance)")
                  if open_ else
                  (0.0, 0.0, "count", "pass", "closed-shell cations only: electronically "
                   "insulating", "d-count", "project rule (d-electron count from charge "
                   "balance)"))
    return ion, el_row




#: The criteria :func:`chemistry_rows` computes (in its order).
CHEMISTRY_CRITERIA: tuple[str, ...] = CRITERIA[:7]


def chemistry_rows(reduced_formula: str, name: str, elements: list[str], li_fraction: float,
                   ctx: PairContext, thickness_nm: float) -> tuple[Row, ...]:
    """The :data:`CHEMISTRY_CRITERIA` rows of one coating against the pair ``ctx``."""
    formula = thermo.plain_formula(str(reduced_formula))
    organic = "C" in elements and "H" in elements
    states = None if organic else thermo.oxidation_states(formula)
    anion = None if organic else thermo.main_anion(thermo.composition_of(formula))
    est = None if organic else thermo.estimate_window(formula, str(name))
    return (*_window_rows(est, ctx), _exchange_row(formula, organic, ctx),
            _cathode_row(states, anion, ctx), _electrolyte_row(est, states, ctx),
            *_transport_rows(formula, str(name), float(li_fraction), organic, states,
                             thickness_nm))
