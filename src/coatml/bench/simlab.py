r"""A simulated lab: a documented, physically motivated, SYNTHETIC source of measurements.

The closed-loop benchmark (:mod:`coatml.bench`) needs a "lab" that answers proposed recipes with
numbers, so that proposal strategies can be compared on many campaigns without real cells.
:class:`SimulatedLab` is that lab. It is a toy: every parameter is either taken from a cited
source or marked "assumed, synthetic" in its configuration file (``experiments/simlab.toml``,
shipped as ``coatml/bench/data/simlab.toml``). Everything it outputs is labelled
``data_kind="synthetic"`` and ``source="synthetic: coatml.bench.SimulatedLab <config hash>"``.
Never mix its output with literature or lab data as if it were measured.

Model
=====

Inputs per record (the record schema, :mod:`coatml.data.schema`): electrode ``E``, electrolyte
``S``, coating ``C`` (empty = bare), coated_component, method, deposition temperature
``T_dep`` (degC), thickness ``t`` (nm; else GPC x cycles / 10), cycle_number ``n``, c_rate ``c``
(1/h), test_temperature_c ``T`` and current_density_ma_cm2 ``j``. Empty inputs take the
``[defaults]`` of the configuration. Each distinct material is resolved once
(:func:`coatml.data.formulas.resolve_material`) and matched to a configured entry by name,
synonym, alias or composition; materials without entry get properties from documented element
rules (``[rules]``).

**Potentials and driving forces (V).** A cathode exposes the interface to its upper cut-off
``V_E``; Li metal (0 V) and carbon anodes to their low potential. With the electrolyte window
``[S_red, S_ox]``, the coating window ``[C_red, C_ox]`` (0 K DFT values, Zhu 2015 / Nolan 2021 /
Xiao 2019) and a kinetic tolerance ``delta`` (real interfaces are kinetically wider)::

    cathode:        d_S = max(0, V_E - S_ox - delta)      d_C = max(0, V_E - C_ox - delta)
    Li metal/anode: d_S = max(0, S_red - V_E - delta)     d_C = max(0, C_red - V_E - delta)

On the reductive side a coating containing a redox-active transition metal (Ti, V, Cr, Mn, Fe,
Co, Ni, Cu, Nb, Mo, W) is converted to metal + Li2O once ``d_C > 0`` (flag ``conv``) and one with
an alloying element (Zn, Sn, Ge, ...) to a Li alloy; both then conduct electrons (flag ``b``) and
no longer shield the electrolyte from the electrode potential. Driving forces of the covered and
of the exposed (pinhole) area::

    D_coat = b d_S + (1 - b) d_C + w_chem |E_rxn(C, S)| [S sulfide] + w_conv conv d_C
             + w_diff max(0, T_dep - T_sub_max) / 100
    D_open = d_S

``E_rxn`` is the computed coating | thiophosphate reaction energy (eV/atom; Sundar 2025, Xiao
2019), the anion-mismatch (oxide on sulfide) interdiffusion driver; ``T_sub_max`` the hidden
interdiffusion limit of the substrate (the coated component).

**Coverage.** Pinholes close as the film grows past a hidden, substrate-dependent nucleation
delay ``t_nuc`` (nm)::

    theta = 1 - exp(-max(0, t - t_nuc) / t_c')
    t_c'  = t_c (1 + r_dec dT_dec / 50) (1 + r_low dT_low / 100)
    t_eff = t (1 + h_dec dT_dec / 50)

with ``dT_dec = max(0, T_dep - T_dec)`` above the hidden precursor-decomposition limit of the
coating (CVD-like growth: rougher, thicker than nominal) and ``dT_low`` below its ALD window.

**Interface resistance (ohm cm2).** Covered and exposed areas conduct in parallel; each path is
a sum of a base (contact) term, the film and a parabolic interphase::

    R_film = t_eff [cm] / sigma_C(T)      sigma_C(T) = sigma_ref exp(-Ea/k (1/T - 1/T_ref))
    R_int(D, n) = g a_T m_b D sqrt(n)     a_T = exp(-Ea_deg/k (1/T - 1/T_0))
    R_open = R_base + R_int(D_open, n)
    R_coat = R_base rho_wet + R_film + R_int(D_coat, n)
    R      = 1 / (theta / R_coat + (1 - theta) / R_open) * 10^(o_b)

``R_base`` is the bare Li | electrolyte contact ASR for Li metal (1710 ohm cm2 for garnet,
Han 2017) and a cathode base ASR otherwise; ``rho_wet`` the coated/bare contact ratio of
Li-wetting coatings (Al2O3 1710 -> 1, Han 2017; ZnO 1900 -> 100, review ref 19), 1 elsewhere.
``m_b`` and ``o_b`` are hidden batch offsets (1 and 0 in :meth:`SimulatedLab.expected`).

**Capacity retention (%)**, relative to the formation capacity at negligible rate::

    k   = a_T m_b (k_0 + k_ec (theta D_coat + (1 - theta) D_open))      (1/cycle)
    Q_r = 100 exp(-k n) / (1 + c R / R_half)

so thin films lose capacity through pinholes and thick films through the IR drop of their own
resistance: the optimum sits at a few nm.

**Failures and noise** (only :meth:`SimulatedLab.simulate`). A cell fails with probability
``p = p_min + (p_max - p_min)(1 - exp(-H))``, where the harshness ``H`` grows with the driving
force (times sqrt(n/100)), with a reduced transition-metal coating on Li metal, with the current
density above a critical one (Li metal), with c_rate above a threshold, and with deposition above
the substrate limit; deposition on Li metal above its melting point always gives ``p_max``.
Failed cells get NaN targets, ``cell_failed=True`` and an ``outcome_note``. Measurement noise:
``Q_r + N(0, s_Q)`` and ``log10 R + N(0, s_R)``; batch offsets ``log m_b ~ N(0, s_m)``,
``o_b ~ N(0, s_o)`` are drawn per value of a ``batch_id`` (or ``batch``) column, else once per call.

**Hidden factors** (never in the records, so models cannot see them): the nucleation delay of each
substrate, the precursor-decomposition limit of each coating and the interdiffusion limit of each
substrate (both jittered), the batch offsets, the failures and the noise. The per-material factors
are fixed for a lab (``[meta] hidden_seed``); batch offsets, failures and noise follow ``seed``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from coatml.data.formulas import parse_formula, resolve_material
from coatml.exceptions import FormulaError

if TYPE_CHECKING:
    from pymatgen.core import Composition

__all__ = ["SimulatedLab", "default_config", "load_config"]

TARGET_COLUMNS = ("capacity_retention_pct", "interface_resistance_ohm_cm2")
_SOURCE_PREFIX = "synthetic: coatml.bench.SimulatedLab"
_SCALAR_SECTIONS = (
    "meta", "physics", "defaults", "coverage", "fade", "interphase", "deposition", "failure",
    "noise", "rules",
)
_TABLE_SECTIONS = ("electrode", "electrolyte", "coating")
_CATHODE_METALS = frozenset({"Ni", "Co", "Mn", "Fe", "V", "Cr", "Cu"})
_METAL, _CATHODE, _ANODE, _OTHER = 0, 1, 2, 3


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


def _default_text() -> str:
    return resources.files("coatml.bench").joinpath("data", "simlab.toml").read_text("utf-8")


def default_config() -> dict[str, Any]:
    """The packaged default configuration (a fresh copy)."""
    return tomllib.loads(_default_text())


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(config: str | Path | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Load and validate a configuration; a partial one is merged over the packaged default.

    ``config`` is ``None`` (the default), a path to a TOML file, or a mapping.
    """
    base = default_config()
    if config is None:
        override: Mapping[str, Any] = {}
    elif isinstance(config, Mapping):
        override = config
    else:
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(f"simulated-lab config '{path}' not found")
        override = tomllib.loads(path.read_text(encoding="utf-8"))
    merged = _merge(base, override)
    _validate_config(merged, base)
    return merged


def _validate_config(cfg: dict[str, Any], base: dict[str, Any]) -> None:
    unknown = sorted(set(cfg) - set(_SCALAR_SECTIONS) - set(_TABLE_SECTIONS))
    if unknown:
        raise ValueError(f"simulated-lab config: unknown section(s) {unknown}; "
                         f"known: {list(_SCALAR_SECTIONS + _TABLE_SECTIONS)}")
    for section in _SCALAR_SECTIONS:
        extra = sorted(set(cfg[section]) - set(base[section]))
        if extra:
            raise ValueError(f"simulated-lab config: unknown key(s) {extra} in [{section}]")
    f = cfg["failure"]
    if not 0.0 <= f["p_min"] <= f["p_max"] <= 1.0:
        raise ValueError("simulated-lab config: need 0 <= failure.p_min <= failure.p_max <= 1")
    for section, key in (("coverage", "growth_length_nm"), ("physics", "boltzmann_ev_per_k"),
                         ("fade", "half_capacity_resistance_ohm_cm2")):
        if not cfg[section][key] > 0:
            raise ValueError(f"simulated-lab config: {section}.{key} must be > 0")
    cov = cfg["coverage"]
    if not 0 <= cov["nucleation_delay_min_nm"] <= cov["nucleation_delay_max_nm"]:
        raise ValueError("simulated-lab config: need 0 <= nucleation_delay_min_nm <= "
                         "nucleation_delay_max_nm")
    for key, value in cfg["noise"].items():
        if value < 0:
            raise ValueError(f"simulated-lab config: noise.{key} must be >= 0")


def config_hash(cfg: Mapping[str, Any]) -> str:
    """A short, stable hash of a configuration (used in the ``source`` label)."""
    text = json.dumps(cfg, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# Materials
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Material:
    """A resolved material: the name as given, its composition and elements, its alias."""

    name: str
    key: str  # the configured entry's name, or the reduced formula
    elements: frozenset[str]
    amounts: Mapping[str, float]
    alias_names: frozenset[str]
    entry: Mapping[str, Any] | None


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _composition(name: str) -> tuple[Composition, frozenset[str]]:
    """Resolve ``name``; the alias names (case-folded) come back for entry matching."""
    try:
        resolved = resolve_material(name)
    except FileNotFoundError:  # alias table not installed: formulas still work
        return parse_formula(name), frozenset()
    aliases: frozenset[str] = frozenset()
    if resolved.alias is not None:
        aliases = frozenset(_norm(s) for s in (resolved.alias.name, *resolved.alias.synonyms))
    return resolved.composition, aliases


class _Table:
    """One configured material table (electrode / electrolyte / coating) with its matcher."""

    def __init__(self, entries: Mapping[str, Mapping[str, Any]]) -> None:
        self.entries = dict(entries)
        self._names: dict[str, str] = {}
        self._comps: list[tuple[str, Composition]] = []
        for key, entry in self.entries.items():
            for name in (key, *entry.get("synonyms", ())):
                self._names[_norm(name)] = key
            try:
                comp = parse_formula(entry.get("formula", key))
            except FormulaError:
                continue
            self._comps.append((key, comp.fractional_composition))

    def match(self, name: str, comp: Composition, aliases: frozenset[str]) -> str | None:
        for cand in (_norm(name), *sorted(aliases)):
            if cand in self._names:
                return self._names[cand]
        frac = comp.fractional_composition
        for key, entry_comp in self._comps:
            if frac.almost_equals(entry_comp, rtol=0.01, atol=1e-6):
                return key
        return None

    def resolve(self, name: str, column: str) -> _Material:
        try:
            comp, aliases = _composition(name)
        except FormulaError as exc:
            raise FormulaError(f"column '{column}': {exc}") from None
        key = self.match(name, comp, aliases)
        amounts = {str(el): float(amt) for el, amt in comp.get_el_amt_dict().items()}
        return _Material(
            name=name,
            key=key if key is not None else comp.reduced_formula,
            elements=frozenset(amounts),
            amounts=amounts,
            alias_names=aliases,
            entry=self.entries[key] if key is not None else None,
        )


def _factor(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes (-1 for missing) and the distinct names, stripped; string work once per name."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, [str(u).strip() for u in uniques]


def _unit_hash(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts`` (the lab's hidden factors)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


# ---------------------------------------------------------------------------------------------
# The lab
# ---------------------------------------------------------------------------------------------


class SimulatedLab:
    """A SYNTHETIC lab that answers records with capacity retention and interface resistance.

    Parameters
    ----------
    config
        ``None`` for the packaged default (``experiments/simlab.toml``), a path to a TOML file,
        or a mapping; a partial configuration is merged over the default.

    Examples
    --------
    >>> import pandas as pd
    >>> lab = SimulatedLab()
    >>> rec = pd.DataFrame({"electrode": ["LiNi0.8Mn0.1Co0.1O2"] * 2,
    ...                     "electrolyte": ["Li6PS5Cl"] * 2, "coating": ["", "LiNbO3"],
    ...                     "thickness_nm": [float("nan"), 5.0], "temperature_c": [None, 235.0],
    ...                     "cycle_number": [100.0, 100.0]})
    >>> exp = lab.expected(rec)
    >>> bool(exp["capacity_retention_pct"].iloc[1] > exp["capacity_retention_pct"].iloc[0])
    True
    """

    def __init__(self, config: str | Path | dict | None = None) -> None:
        self.config: dict[str, Any] = load_config(config)
        self.config_hash: str = config_hash(self.config)
        self.source: str = f"{_SOURCE_PREFIX} {self.config_hash}"
        self._tables = {name: _Table(self.config.get(name, {})) for name in _TABLE_SECTIONS}
        self._cache: dict[tuple[str, str], dict[str, float]] = {}

    def __repr__(self) -> str:
        return f"SimulatedLab(config_hash={self.config_hash!r})"

    # -- public API ---------------------------------------------------------------------------

    def expected(self, records: pd.DataFrame) -> pd.DataFrame:
        """Noise-free outcomes without failures or batch offsets (for regret and the optimum).

        Returns a frame with the index of ``records`` and the columns
        ``capacity_retention_pct`` (%) and ``interface_resistance_ohm_cm2`` (ohm cm2).
        """
        state = self._evaluate(records)
        ret, res = self._outcomes(state, np.ones(len(records)), np.zeros(len(records)))
        return pd.DataFrame({TARGET_COLUMNS[0]: ret, TARGET_COLUMNS[1]: res},
                            index=records.index)

    def simulate(self, records: pd.DataFrame, seed: int) -> pd.DataFrame:
        """Measure ``records``: a copy with both targets filled (SYNTHETIC, noisy, some failed).

        Failed cells get NaN targets, ``cell_failed=True`` and an ``outcome_note``; every row
        gets ``data_kind="synthetic"`` and ``source="synthetic: coatml.bench.SimulatedLab
        <config hash>"``. The same ``seed`` and records give the same output.
        """
        n_rows = len(records)
        state = self._evaluate(records)
        noise = self.config["noise"]
        rng = np.random.default_rng(seed)

        fade_mult, log_offset = self._batch_offsets(records, seed)
        ret, res = self._outcomes(state, fade_mult, log_offset)
        ret = ret + rng.normal(0.0, noise["retention_sd_pct"], n_rows)
        ret = np.clip(ret, 0.0, 200.0)
        res = res * 10.0 ** rng.normal(0.0, noise["log10_resistance_sd"], n_rows)

        p_fail = self._failure_probability(state)
        failed = rng.random(n_rows) < p_fail
        ret[failed] = np.nan
        res[failed] = np.nan

        out = records.copy()
        out[TARGET_COLUMNS[0]] = ret
        out[TARGET_COLUMNS[1]] = res
        out["cell_failed"] = failed
        notes = (out["outcome_note"].astype(object).where(out["outcome_note"].notna(), "")
                 if "outcome_note" in out else pd.Series("", index=out.index, dtype=object))
        note_values = notes.to_numpy(dtype=object, copy=True)
        note_values[failed] = np.where(state["melted"][failed],
                                       "synthetic failure: Li metal substrate above its melting "
                                       "point during deposition",
                                       np.where(state["kind"][failed] == _METAL,
                                                "synthetic failure: short circuit",
                                                "synthetic failure: no usable capacity"))
        out["outcome_note"] = note_values
        out["data_kind"] = "synthetic"
        out["source"] = self.source
        return out

    # -- materials ----------------------------------------------------------------------------

    def _props(self, table: str, name: str) -> dict[str, float]:
        key = (table, name)
        if key not in self._cache:
            material = self._tables[table].resolve(name, table)
            builder = {"electrode": self._electrode_props, "electrolyte": self._electrolyte_props,
                       "coating": self._coating_props}[table]
            self._cache[key] = builder(material)
        return self._cache[key]

    def _substrate_extras(self, material: _Material, max_dep_c: float, jitter: bool) -> dict:
        cfg = self.config
        seed = cfg["meta"]["hidden_seed"]
        cov = cfg["coverage"]
        u_nuc = _unit_hash(seed, "nucleation", material.key)
        jit = cfg["deposition"]["hidden_temperature_jitter_c"]
        u_t = _unit_hash(seed, "substrate-limit", material.key)
        return {
            "nuc_nm": cov["nucleation_delay_min_nm"]
            + (cov["nucleation_delay_max_nm"] - cov["nucleation_delay_min_nm"]) * u_nuc,
            "max_dep_c": max_dep_c + (jit * (2.0 * u_t - 1.0) if jitter else 0.0),
        }

    def _electrode_props(self, m: _Material) -> dict[str, float]:
        rules = self.config["rules"]
        entry = m.entry or {}
        el = m.elements
        if "kind" in entry:
            kinds = {"metal": _METAL, "cathode": _CATHODE, "anode": _ANODE}
            kind = kinds.get(entry["kind"], _OTHER)
            potential = float(entry.get("potential_v", math.nan))
        elif el <= {"Li", "Na"} and len(el) == 1:
            kind, potential = _METAL, 0.0
        elif el and el <= {"C", "Si"}:
            kind, potential = _ANODE, rules["carbon_anode_v"]
        elif "Li" in el and "O" in el and el & _CATHODE_METALS:
            kind = _CATHODE
            amt = m.amounts
            if "Fe" in el and "P" in el:
                potential = rules["olivine_upper_v"]
            elif "Ni" in el and amt.get("Mn", 0.0) >= 1.0 and "Co" not in el:
                potential = rules["spinel_high_voltage_upper_v"]
            else:
                potential = rules["layered_oxide_upper_v"]
        else:
            kind, potential = _OTHER, math.nan
        base = rules["cathode_base_resistance_ohm_cm2"] if kind == _CATHODE else \
            rules["other_base_resistance_ohm_cm2"]
        max_dep = entry.get("max_deposition_c", rules["cathode_max_deposition_c"]
                            if kind == _CATHODE else rules["other_max_deposition_c"])
        props = {"kind": float(kind), "potential_v": potential,
                 "base_ohm_cm2": float(entry.get("base_resistance_ohm_cm2", base))}
        props.update(self._substrate_extras(m, float(max_dep), jitter=kind != _METAL))
        return props

    def _electrolyte_class(self, m: _Material) -> str:
        if m.entry is not None and "class" in m.entry:
            return str(m.entry["class"])
        el, amt = m.elements, m.amounts
        if "S" in el and amt.get("S", 0.0) > amt.get("O", 0.0):
            return "sulfide"
        if {"La", "Zr", "O"} <= el:
            return "garnet"
        if {"P", "O"} <= el and el & {"Ti", "Ge"}:
            return "nasicon"
        if {"C", "H"} <= el:
            return "polymer"
        return "other"

    def _electrolyte_props(self, m: _Material) -> dict[str, float]:
        rules = self.config["rules"]
        cls = self._electrolyte_class(m)
        entry = dict(m.entry or {})
        like = {"sulfide": rules["sulfide_like"], "garnet": rules["garnet_like"],
                "nasicon": rules["nasicon_like"]}.get(cls)
        if m.entry is None and like is not None:
            entry = dict(self.config["electrolyte"][like])
        if cls == "polymer":
            red, ox = rules["polymer_reduction_v"], rules["polymer_oxidation_v"]
        else:
            red, ox = rules["other_electrolyte_reduction_v"], rules["other_electrolyte_oxidation_v"]
        props = {
            "reduction_v": float(entry.get("reduction_v", red)),
            "oxidation_v": float(entry.get("oxidation_v", ox)),
            "sulfide": 1.0 if cls == "sulfide" else 0.0,
            "li_contact_ohm_cm2": float(entry.get("li_contact_ohm_cm2",
                                                  rules["li_contact_ohm_cm2"])),
        }
        max_dep = float(entry.get("max_deposition_c", rules["electrolyte_max_deposition_c"]))
        props.update(self._substrate_extras(m, max_dep, jitter=True))
        return props

    def _coating_props(self, m: _Material) -> dict[str, float]:
        cfg = self.config
        rules = cfg["rules"]
        entry = m.entry or {}
        el = m.elements
        has_li = "Li" in el
        organic = {"C", "H"} <= el
        redox = bool(el & set(rules["redox_active_elements"]))
        alloy = bool(el & set(rules["alloying_elements"]))
        if organic:
            ox = rules["organic_oxidation_v"]
        elif not has_li:
            ox = rules["li_free_oxidation_v"]
        elif el & set(rules["polyanion_formers"]):
            ox = rules["li_polyanion_oxidation_v"]
        else:
            ox = rules["li_ternary_oxidation_v"]
        if redox:
            red = rules["redox_active_reduction_v"]
        elif alloy:
            red = rules["alloying_reduction_v"]
        elif has_li:
            red = rules["li_containing_reduction_v"]
        else:
            red = rules["fixed_valence_reduction_v"]
        sigma = rules["li_containing_sigma_s_cm"] if has_li else rules["li_free_sigma_s_cm"]
        low, high = ((rules["mld_window_low_c"], rules["mld_window_high_c"]) if organic
                     else (rules["ald_window_low_c"], rules["ald_window_high_c"]))
        sulfide_coating = "S" in el and "O" not in el and "N" not in el
        rxn = 0.0 if sulfide_coating else rules["oxide_on_sulfide_reaction_ev_atom"]
        wet = rules["alloying_wetting_ratio"] if alloy else 1.0
        jit = cfg["deposition"]["hidden_temperature_jitter_c"]
        u_dec = _unit_hash(cfg["meta"]["hidden_seed"], "decomposition", m.key)
        return {
            "reduction_v": float(entry.get("reduction_v", red)),
            "oxidation_v": float(entry.get("oxidation_v", ox)),
            "sigma_s_cm": float(entry.get("sigma_s_cm", sigma)),
            "sigma_t_k": float(entry.get("sigma_temperature_c",
                                         cfg["physics"]["reference_temperature_c"])) + 273.15,
            "sigma_ea_ev": float(entry.get("sigma_ea_ev", rules["sigma_activation_energy_ev"])),
            "window_low_c": float(entry.get("window_low_c", low)),
            "decomposition_c": float(entry.get("decomposition_c", high)) + jit * (2 * u_dec - 1),
            "reaction_ev_atom": float(entry.get("reaction_ev_atom_vs_sulfide", rxn)),
            "wetting_ratio": float(entry.get("li_wetting_ratio", wet)),
            "conversion": 1.0 if redox else 0.0,
            "electron_conducting": 1.0 if (redox or alloy) else 0.0,
        }

    def _column_props(self, table: str, codes: np.ndarray, names: list[str],
                      keys: tuple[str, ...]) -> dict[str, np.ndarray]:
        """Properties of each row's material; ``codes`` index ``names`` (distinct names)."""
        used = np.unique(codes)
        out = {k: np.full(len(names), np.nan) for k in keys}
        for i in used:
            props = self._props(table, names[i])
            for k in keys:
                out[k][i] = props[k]
        return {k: v[codes] for k, v in out.items()}

    # -- the model ----------------------------------------------------------------------------

    def _evaluate(self, records: pd.DataFrame) -> dict[str, np.ndarray]:
        """Everything that does not depend on batch offsets, noise or failures."""
        cfg = self.config
        n_rows = len(records)
        dflt = cfg["defaults"]
        missing_col: tuple[np.ndarray, list[str]] = (np.full(n_rows, -1, dtype=np.intp), [])
        cols: dict[str, tuple[np.ndarray, list[str]]] = {
            col: _factor(records[col]) if col in records else missing_col
            for col in ("electrode", "electrolyte", "coating", "method", "coated_component")}
        for col in ("electrode", "electrolyte"):
            if col not in records:
                raise ValueError(f"records need a '{col}' column")
            codes, names = cols[col]
            if (codes < 0).any() or "" in names:
                raise ValueError(f"records: column '{col}' has empty values")

        def num(col: str, default: float) -> np.ndarray:
            if col not in records:
                return np.full(n_rows, default, dtype=float)
            values = pd.to_numeric(records[col], errors="coerce").to_numpy(dtype=float)
            return np.where(np.isnan(values), default, values)

        def raw(col: str) -> np.ndarray:
            if col not in records:
                return np.full(n_rows, np.nan)
            return pd.to_numeric(records[col], errors="coerce").to_numpy(dtype=float)

        def equals(col: str, value: str) -> np.ndarray:
            codes, names = cols[col]
            hit = np.asarray([name == value for name in names] + [False], dtype=bool)
            return hit[codes]  # code -1 (missing) picks the trailing False

        e = self._column_props("electrode", *cols["electrode"],
                               ("kind", "potential_v", "base_ohm_cm2", "nuc_nm", "max_dep_c"))
        s = self._column_props("electrolyte", *cols["electrolyte"],
                               ("reduction_v", "oxidation_v", "sulfide", "li_contact_ohm_cm2",
                                "nuc_nm", "max_dep_c"))

        # Coating: empty / missing / method "none" = bare.
        coat_keys = ("reduction_v", "oxidation_v", "sigma_s_cm", "sigma_t_k", "sigma_ea_ev",
                     "window_low_c", "decomposition_c", "reaction_ev_atom", "wetting_ratio",
                     "conversion", "electron_conducting")
        c = {k: np.zeros(n_rows) for k in coat_keys}
        c["sigma_s_cm"][:] = 1.0
        c["sigma_t_k"][:] = 298.15
        c["wetting_ratio"][:] = 1.0
        has_coat = np.zeros(n_rows, dtype=bool)
        if "coating" in records:
            codes, names = cols["coating"]
            has_coat = (codes >= 0) & ~equals("coating", "") & ~equals("method", "none")
            if has_coat.any():
                sub = self._column_props("coating", codes[has_coat], names, coat_keys)
                for k in coat_keys:
                    c[k][has_coat] = sub[k]

        # Thickness (nm): given, else GPC x cycles / 10, else the default; 0 for bare.
        thick = raw("thickness_nm")
        derived = raw("gpc_angstrom") * raw("cycles") / 10.0
        thick = np.where(np.isnan(thick), derived, thick)
        thick = np.where(np.isnan(thick), dflt["thickness_nm"], thick)
        thick = np.where(has_coat, np.maximum(thick, 0.0), 0.0)

        t_dep = num("temperature_c", dflt["deposition_temperature_c"])
        n_cyc = np.maximum(num("cycle_number", dflt["cycle_number"]), 0.0)
        c_rate = np.maximum(num("c_rate", dflt["c_rate"]), 0.0)
        t_test_k = num("test_temperature_c", dflt["test_temperature_c"]) + 273.15
        j = raw("current_density_ma_cm2")

        # Substrate = the coated component (electrode unless it says electrolyte).
        on_sse = equals("coated_component", "electrolyte")
        nuc = np.where(on_sse, s["nuc_nm"], e["nuc_nm"])
        sub_max = np.where(on_sse, s["max_dep_c"], e["max_dep_c"])

        # Deposition temperature effects (only where there is a coating).
        dep = cfg["deposition"]
        dt_dec = np.where(has_coat, np.maximum(0.0, t_dep - c["decomposition_c"]), 0.0)
        dt_low = np.where(has_coat, np.maximum(0.0, c["window_low_c"] - t_dep), 0.0)
        dt_diff = np.where(has_coat, np.maximum(0.0, t_dep - sub_max), 0.0)
        kind = e["kind"]
        melted = has_coat & ~on_sse & (kind == _METAL) & (t_dep > sub_max)

        t_eff = thick * (1.0 + dep["decomposition_thickening_per_50c"] * dt_dec / 50.0)
        t_c = (cfg["coverage"]["growth_length_nm"]
               * (1.0 + dep["decomposition_roughening_per_50c"] * dt_dec / 50.0)
               * (1.0 + dep["low_temperature_roughening_per_100c"] * dt_low / 100.0))
        theta = np.where(has_coat, 1.0 - np.exp(-np.maximum(0.0, thick - nuc) / t_c), 0.0)

        # Driving forces (V).
        delta = cfg["physics"]["kinetic_tolerance_v"]
        pot = e["potential_v"]
        oxid = kind == _CATHODE
        redu = (kind == _METAL) | (kind == _ANODE)
        d_s = np.where(oxid, np.maximum(0.0, pot - s["oxidation_v"] - delta),
                       np.where(redu, np.maximum(0.0, s["reduction_v"] - pot - delta), 0.0))
        d_c = np.where(oxid, np.maximum(0.0, pot - c["oxidation_v"] - delta),
                       np.where(redu, np.maximum(0.0, c["reduction_v"] - pot - delta), 0.0))
        d_s = np.nan_to_num(d_s)
        d_c = np.where(has_coat, np.nan_to_num(d_c), 0.0)
        reduced = redu & (d_c > 0.0)
        b = np.where(reduced, c["electron_conducting"], 0.0)
        conv = np.where(reduced, c["conversion"], 0.0)
        fade = cfg["fade"]
        d_coat = (b * d_s + (1.0 - b) * d_c
                  + fade["chem_weight_v_per_ev_atom"] * s["sulfide"] * np.abs(c["reaction_ev_atom"])
                  + fade["conversion_weight"] * conv * d_c
                  + fade["interdiffusion_weight_v_per_100c"] * dt_diff / 100.0)
        d_coat = np.where(has_coat, d_coat, 0.0)
        d_area = theta * d_coat + (1.0 - theta) * d_s

        # Temperature factors.
        kb = cfg["physics"]["boltzmann_ev_per_k"]
        t_ref_k = cfg["physics"]["reference_temperature_c"] + 273.15
        a_t = np.exp(-fade["activation_energy_ev"] / kb * (1.0 / t_test_k - 1.0 / t_ref_k))
        a_base = np.exp(cfg["interphase"]["base_activation_energy_ev"] / kb
                        * (1.0 / t_test_k - 1.0 / t_ref_k))
        sigma = c["sigma_s_cm"] * np.exp(-c["sigma_ea_ev"] / kb * (1.0 / t_test_k
                                                                   - 1.0 / c["sigma_t_k"]))
        r_film = np.where(has_coat, t_eff * 1e-7 / sigma, 0.0)
        is_metal = kind == _METAL
        r_base = np.where(is_metal, s["li_contact_ohm_cm2"], e["base_ohm_cm2"]) * a_base
        wet = np.where(is_metal, c["wetting_ratio"], 1.0)

        return {
            "n": n_cyc, "sqrt_n": np.sqrt(n_cyc), "c_rate": c_rate, "a_t": a_t, "theta": theta,
            "d_coat": d_coat, "d_open": d_s, "d_area": d_area, "r_film": r_film,
            "r_base": r_base, "wet": wet, "kind": kind, "conv": conv, "j": j,
            "dt_diff": dt_diff, "melted": melted,
        }

    def _outcomes(self, st: dict[str, np.ndarray], fade_mult: np.ndarray,
                  log_offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        g = cfg["interphase"]["growth_ohm_cm2_per_v_sqrt_cycle"] * st["a_t"] * fade_mult
        r_open = st["r_base"] + g * st["d_open"] * st["sqrt_n"]
        r_coat = st["r_base"] * st["wet"] + st["r_film"] + g * st["d_coat"] * st["sqrt_n"]
        theta = st["theta"]
        resistance = 1.0 / (theta / r_coat + (1.0 - theta) / r_open) * 10.0 ** log_offset
        fade = cfg["fade"]
        k = st["a_t"] * fade_mult * (fade["k_intrinsic_per_cycle"]
                                     + fade["k_ec_per_cycle_per_v"] * st["d_area"])
        retention = 100.0 * np.exp(-k * st["n"]) / (
            1.0 + st["c_rate"] * resistance / fade["half_capacity_resistance_ohm_cm2"])
        return retention, resistance

    def _failure_probability(self, st: dict[str, np.ndarray]) -> np.ndarray:
        f = self.config["failure"]
        is_metal = st["kind"] == _METAL
        j_excess = np.where(is_metal & ~np.isnan(st["j"]),
                            np.maximum(0.0, np.nan_to_num(st["j"])
                                       / f["critical_current_density_ma_cm2"] - 1.0), 0.0)
        harsh = (f["driving_force_weight"] * st["d_area"] * np.sqrt(st["n"] / 100.0)
                 + f["conversion_weight"] * st["conv"] * st["theta"] * is_metal
                 + f["current_density_weight"] * j_excess
                 + f["c_rate_weight"] * np.maximum(0.0, st["c_rate"] - f["c_rate_threshold"])
                 + f["interdiffusion_weight_per_50c"] * st["dt_diff"] / 50.0)
        p = f["p_min"] + (f["p_max"] - f["p_min"]) * (1.0 - np.exp(-harsh))
        return np.where(st["melted"], f["p_max"], p)

    def _batch_offsets(self, records: pd.DataFrame,
                       seed: int) -> tuple[np.ndarray, np.ndarray]:
        noise = self.config["noise"]
        n_rows = len(records)
        col = next((c for c in ("batch_id", "batch") if c in records), None)
        if col is None:
            batch = pd.Series(["<call>"] * n_rows, index=records.index)
        else:
            batch = records[col].astype(object).where(records[col].notna(), "<call>").astype(str)
        codes, uniques = pd.factorize(batch, sort=False)
        mult = np.empty(len(uniques))
        offset = np.empty(len(uniques))
        for i, name in enumerate(uniques):
            key = int(hashlib.blake2b(str(name).encode("utf-8"), digest_size=8).hexdigest(), 16)
            rng = np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, key])
            mult[i] = math.exp(rng.normal(0.0, noise["batch_log_fade_sd"]))
            offset[i] = rng.normal(0.0, noise["batch_log10_resistance_sd"])
        return mult[codes], offset[codes]
