"""Physics descriptors from sourced tables: stability windows, film conductivity, film resistance.

Package data (``coatml/features/data``), every row with its source (``secondary = 1`` marks a
value read from a secondary summary, as in ``shared/reference/coating-physics.md``):

* ``stability_windows.csv`` -- computed (0 K DFT) electrochemical stability windows, reduction
  and oxidation limit in V vs Li/Li+ (Zhu, He, Mo 2015; Nolan, Wachsman, Mo 2021; Xiao, Miara,
  Wang, Ceder 2019). Computed windows are thermodynamic limits; real interfaces are kinetically
  wider.
* ``film_conductivity.csv`` -- Li-ion conductivity of amorphous ALD/MLD films as deposited
  (measured), plus computed values for amorphous Al2O3 / AlF3 (Xu et al. 2015). Crystalline bulk
  values are 5-10 orders lower and are deliberately not used.
* ``electrode_voltage_ranges.csv`` -- typical operating (cycling) voltage range of electrode
  families vs Li/Li+.

Estimates (always flagged ``*_estimated = 1``; tabulated values have 0; no value gives NaN):

* **Stability window** of a Li-containing material that is not tabulated: the window of the most
  similar tabulated compound of the same anion family (oxygen-based / sulfide / halide / ...),
  similarity measured on Li atomic fraction, polyanion-former fraction (P, B, Si, S, C bonded to
  O) and mean electronegativity. This carries Xiao et al. (Joule 2019)'s design rules -- covalent
  P-O / B-O polyanions raise the oxidation limit, more Li lowers it -- through the neighbour
  choice, and their hard rule is applied on top: an oxidation limit >= 5 V needs a Li atomic
  fraction <= 0.20, so above 0.20 the estimate is capped below 5 V. Li-free materials (Al2O3,
  ZrO2, ZnO, h-BN ...) get no estimate: the Li-grand-potential windows of these papers are
  not tabulated for them here and no rule of the same papers gives their numbers.
* **Film conductivity** of a Li-containing coating that is not tabulated: the geometric mean of
  the measured (not computed) Li-containing ALD/MLD films in the table. Li-free coatings
  without a tabulated value get NaN.

Derived descriptors (NaN wherever an input is missing, including every coating descriptor of a
bare control):

* ``coating_electrode_excess_v``: how far the electrode's operating range reaches outside the
  coating's window, ``max(0, red - v_min) + max(0, v_max - ox)``; 0 = stable over the range.
* ``coating_electrode_covered_fraction``: fraction of the electrode range inside the coating
  window (for a point range such as Li metal: 1 inside, 0 outside).
* ``coating_electrolyte_overlap_v``: length of the intersection of the two windows.
* ``electrolyte_electrode_gap_v``: how far the electrode's range reaches outside the
  electrolyte's window (the gap a coating has to bridge), defined for bare controls too.
* ``coating_gap_residual_v`` / ``coating_covers_gap``: the part of that gap that the coating's
  window does not cover, and 1 when nothing is left.
* ``log10_film_resistance_ohm_cm2``: ``log10(thickness_nm * 1e-7 / sigma)`` (R = t / sigma of
  a dense film), flagged estimated when sigma is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from coatml.features.interface import MaterialDescriptors, describe_material

if TYPE_CHECKING:
    from coatml.data.formulas import ResolvedMaterial

__all__ = [
    "PHYSICS_TABLES",
    "FilmConductivity",
    "StabilityWindow",
    "VoltageRange",
    "electrode_voltage_range",
    "film_conductivity",
    "load_table",
    "physics_citations",
    "physics_feature_labels",
    "physics_features",
    "physics_tables_hash",
    "stability_window",
]

PHYSICS_TABLES: tuple[str, ...] = (
    "stability_windows.csv",
    "film_conductivity.csv",
    "electrode_voltage_ranges.csv",
)
#: Xiao et al. 2019: an oxidation limit >= 5 V needs a Li atomic fraction <= 0.20.
XIAO_LI_FRACTION_FOR_5V = 0.20
XIAO_HIGH_OXIDATION_V = 5.0
_OXYGEN_FAMILIES = frozenset({"oxide", "phosphate", "borate", "carbonate", "oxynitride"})


@dataclass(frozen=True)
class StabilityWindow:
    """Electrochemical stability window (V vs Li/Li+) and where it came from."""

    reduction_v: float
    oxidation_v: float
    estimated: bool
    source: str


@dataclass(frozen=True)
class FilmConductivity:
    """Li-ion conductivity of a thin film (S/cm) and where it came from."""

    sigma_s_cm: float
    estimated: bool
    source: str


@dataclass(frozen=True)
class VoltageRange:
    """Operating voltage range of an electrode family (V vs Li/Li+)."""

    family: str
    v_min: float
    v_max: float
    source: str


def _read_bytes(name: str) -> bytes:
    return resources.files("coatml.features.data").joinpath(name).read_bytes()


@lru_cache(maxsize=8)
def load_table(name: str) -> tuple[dict[str, str], ...]:
    """Rows of a packaged physics table (``name`` from :data:`PHYSICS_TABLES`)."""
    if name not in PHYSICS_TABLES:
        raise ValueError(f"unknown physics table '{name}'; known: {PHYSICS_TABLES}")
    text = _read_bytes(name).decode("utf-8")
    return tuple(dict(row) for row in csv.DictReader(io.StringIO(text)))


def physics_tables_hash() -> str:
    """sha256 over the bytes of every physics table (part of the feature-set hash)."""
    h = hashlib.sha256()
    for name in PHYSICS_TABLES:
        h.update(name.encode())
        h.update(_read_bytes(name))
    return h.hexdigest()


def physics_citations() -> list[str]:
    """The distinct sources cited by the physics tables."""
    out: list[str] = []
    for name in PHYSICS_TABLES:
        for row in load_table(name):
            if row["source"] not in out:
                out.append(row["source"])
    return out


@lru_cache(maxsize=65536)
def _reduced(formula: str) -> str:
    from coatml.data.formulas import parse_formula

    return parse_formula(formula).reduced_formula


def _names_of(material: ResolvedMaterial) -> set[str]:
    names = {material.name.strip().casefold(), material.formula.strip().casefold()}
    if material.alias is not None:
        names.add(material.alias.name.casefold())
        names.update(s.casefold() for s in material.alias.synonyms)
    return names


def _match(rows: tuple[dict[str, str], ...], material: ResolvedMaterial) -> dict[str, str] | None:
    names = _names_of(material)
    reduced = material.composition.reduced_formula
    for row in rows:
        if row["material"].casefold() in names:
            return row
    for row in rows:
        if row["formula"] and _reduced(row["formula"]) == reduced:
            return row
    return None


@lru_cache(maxsize=1)
def _window_references() -> tuple[tuple[MaterialDescriptors, dict[str, str]], ...]:
    """Tabulated windows with a formula, described like any material (for estimates)."""
    from coatml.data.formulas import resolve_material

    refs = []
    for row in load_table("stability_windows.csv"):
        if row["formula"]:
            refs.append((describe_material(resolve_material(row["formula"])), row))
    return tuple(refs)


def _family(anion: str) -> str:
    return "oxygen" if anion in _OXYGEN_FAMILIES else anion


def stability_window(material: ResolvedMaterial) -> StabilityWindow | None:
    """Tabulated window, an estimate (see module doc), or ``None``."""
    row = _match(load_table("stability_windows.csv"), material)
    if row is not None:
        return StabilityWindow(float(row["reduction_v"]), float(row["oxidation_v"]), False,
                               row["source"])
    desc = describe_material(material)
    if desc.li_fraction <= 0:
        return None
    best: tuple[float, dict[str, str]] | None = None
    for ref, ref_row in _window_references():
        if _family(ref.anion_type) != _family(desc.anion_type) or ref.li_fraction <= 0:
            continue
        dist = math.sqrt(
            (ref.li_fraction - desc.li_fraction) ** 2
            + (ref.polyanion_fraction - desc.polyanion_fraction) ** 2
            + ((ref.mean_electronegativity - desc.mean_electronegativity) / 4.0) ** 2
        )
        if best is None or dist < best[0]:
            best = (dist, ref_row)
    if best is None:
        return None
    ref_row = best[1]
    reduction = float(ref_row["reduction_v"])
    oxidation = float(ref_row["oxidation_v"])
    if desc.li_fraction > XIAO_LI_FRACTION_FOR_5V:
        oxidation = min(oxidation, np.nextafter(XIAO_HIGH_OXIDATION_V, 0.0))
    source = (f"estimated from nearest tabulated {ref_row['material']} ({ref_row['source']}); "
              "Xiao et al., Joule 3, 1252 (2019) Li-fraction rule")
    return StabilityWindow(reduction, float(oxidation), True, source)


@lru_cache(maxsize=1)
def _measured_li_film_log_mean() -> float:
    logs = []
    for row in load_table("film_conductivity.csv"):
        if not row["basis"].startswith("measured"):
            continue
        name = row["formula"] or row["material"]
        if "Li" in name:
            logs.append(math.log10(float(row["sigma_s_cm"])))
    return float(np.mean(logs))


def film_conductivity(material: ResolvedMaterial) -> FilmConductivity | None:
    """Tabulated thin-film Li-ion conductivity, an estimate (Li-containing films), or ``None``."""
    row = _match(load_table("film_conductivity.csv"), material)
    if row is not None:
        return FilmConductivity(float(row["sigma_s_cm"]), False, row["source"])
    if describe_material(material).li_fraction > 0:
        return FilmConductivity(
            10.0 ** _measured_li_film_log_mean(),
            True,
            "estimated: geometric mean of the measured Li-containing ALD/MLD films in "
            "film_conductivity.csv",
        )
    return None


def electrode_voltage_range(material: ResolvedMaterial) -> VoltageRange | None:
    """Operating voltage range of the electrode's family, or ``None`` when not tabulated."""
    family = describe_material(material).electrode_family
    for row in load_table("electrode_voltage_ranges.csv"):
        if row["family"] == family:
            return VoltageRange(family, float(row["v_min"]), float(row["v_max"]), row["source"])
    return None


# --------------------------------------------------------------------------- feature block


def physics_feature_labels() -> list[str]:
    """Labels of the physics block, without the ``physics__`` prefix."""
    return [
        "coating_reduction_v", "coating_oxidation_v", "coating_window_v",
        "coating_window_estimated",
        "electrolyte_reduction_v", "electrolyte_oxidation_v", "electrolyte_window_v",
        "electrolyte_window_estimated",
        "electrode_v_min", "electrode_v_max",
        "coating_electrode_excess_v", "coating_electrode_covered_fraction",
        "coating_electrolyte_overlap_v",
        "electrolyte_electrode_gap_v", "coating_gap_residual_v", "coating_covers_gap",
        "coating_log10_sigma_s_cm", "coating_sigma_estimated",
        "log10_film_resistance_ohm_cm2", "film_resistance_estimated",
    ]


@dataclass(frozen=True)
class MaterialPhysics:
    """Per-material physics lookups (one per distinct material)."""

    window: StabilityWindow | None
    sigma: FilmConductivity | None
    voltage: VoltageRange | None


def material_physics(material: ResolvedMaterial) -> MaterialPhysics:
    """All physics lookups of one material."""
    return MaterialPhysics(stability_window(material), film_conductivity(material),
                           electrode_voltage_range(material))


def _gather(items: list[MaterialPhysics | None], codes: np.ndarray, getter) -> np.ndarray:
    table = np.array(
        [np.nan if (m is None or getter(m) is None) else float(getter(m)) for m in items]
        + [np.nan]
    )
    return table[np.where(codes < 0, len(items), codes)]


def physics_features(
    physics: dict[str, list[MaterialPhysics | None]],
    codes: dict[str, np.ndarray],
    thickness_nm: np.ndarray,
) -> np.ndarray:
    """The physics block for every row (see module doc for definitions)."""
    labels = physics_feature_labels()
    col = {name: i for i, name in enumerate(labels)}
    out = np.full((len(thickness_nm), len(labels)), np.nan)

    def window(role: str):
        red = _gather(physics[role], codes[role], lambda m: m.window and m.window.reduction_v)
        ox = _gather(physics[role], codes[role], lambda m: m.window and m.window.oxidation_v)
        est = _gather(physics[role], codes[role],
                      lambda m: None if m.window is None else float(m.window.estimated))
        return red, ox, est

    c_red, c_ox, c_est = window("coating")
    e_red, e_ox, e_est = window("electrolyte")
    v_min = _gather(physics["electrode"], codes["electrode"],
                    lambda m: None if m.voltage is None else m.voltage.v_min)
    v_max = _gather(physics["electrode"], codes["electrode"],
                    lambda m: None if m.voltage is None else m.voltage.v_max)
    out[:, col["coating_reduction_v"]] = c_red
    out[:, col["coating_oxidation_v"]] = c_ox
    out[:, col["coating_window_v"]] = c_ox - c_red
    out[:, col["coating_window_estimated"]] = c_est
    out[:, col["electrolyte_reduction_v"]] = e_red
    out[:, col["electrolyte_oxidation_v"]] = e_ox
    out[:, col["electrolyte_window_v"]] = e_ox - e_red
    out[:, col["electrolyte_window_estimated"]] = e_est
    out[:, col["electrode_v_min"]] = v_min
    out[:, col["electrode_v_max"]] = v_max

    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, col["coating_electrode_excess_v"]] = (
            np.maximum(0.0, c_red - v_min) + np.maximum(0.0, v_max - c_ox)
        )
        width = v_max - v_min
        inside = np.minimum(c_ox, v_max) - np.maximum(c_red, v_min)
        frac = np.where(width > 0, np.clip(inside, 0.0, None) / width,
                        ((c_red <= v_min) & (c_ox >= v_max)).astype(float))
        out[:, col["coating_electrode_covered_fraction"]] = np.where(
            np.isnan(c_red) | np.isnan(v_min), np.nan, frac
        )
        out[:, col["coating_electrolyte_overlap_v"]] = np.clip(
            np.minimum(c_ox, e_ox) - np.maximum(c_red, e_red), 0.0, None
        )
        gap = np.maximum(0.0, e_red - v_min) + np.maximum(0.0, v_max - e_ox)
        out[:, col["electrolyte_electrode_gap_v"]] = gap
        residual = (np.maximum(0.0, np.minimum(e_red, c_red) - v_min)
                    + np.maximum(0.0, v_max - np.maximum(e_ox, c_ox)))
        out[:, col["coating_gap_residual_v"]] = residual
        out[:, col["coating_covers_gap"]] = np.where(np.isnan(residual), np.nan,
                                                     (residual <= 0.0).astype(float))

        sigma = _gather(physics["coating"], codes["coating"],
                        lambda m: m.sigma and m.sigma.sigma_s_cm)
        s_est = _gather(physics["coating"], codes["coating"],
                        lambda m: None if m.sigma is None else float(m.sigma.estimated))
        out[:, col["coating_log10_sigma_s_cm"]] = np.log10(sigma)
        out[:, col["coating_sigma_estimated"]] = s_est
        resistance = thickness_nm * 1e-7 / sigma
        out[:, col["log10_film_resistance_ohm_cm2"]] = np.where(
            resistance > 0, np.log10(resistance), np.nan
        )
        out[:, col["film_resistance_estimated"]] = np.where(
            np.isnan(out[:, col["log10_film_resistance_ohm_cm2"]]), np.nan, s_est
        )
    return out
