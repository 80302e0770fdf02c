"""The record schema: one record is one measured cell (a coated one or its bare control).

Every column carries its unit in its name (``thickness_nm``, ``temperature_c``). This module is
the single place that says which columns exist, what type they hold, which values are allowed
and which physical range is plausible. Validation (:mod:`coatml.data.validation`) and the store
(:mod:`coatml.data.store`) both read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnKind = Literal["str", "float", "int", "bool", "enum", "datetime"]


@dataclass(frozen=True)
class Column:
    """One column of the record schema.

    ``low``/``high`` are hard physical limits (a value outside is an error); ``warn_low`` /
    ``warn_high`` mark the plausible range (a value outside is a warning). ``low_inclusive``
    says whether ``low`` itself is allowed (resistance must be strictly positive). ``floor``
    is the smallest meaningful magnitude of a strictly positive quantity: a value between
    ``low`` and ``floor`` (a resistance of 1e-300 ohm cm2) is a typo or a unit slip, an error.
    The ``high`` limits are generous (an order of magnitude or more above any reported value):
    they stop typos and overflow-sized numbers, not unusual results.
    """

    name: str
    kind: ColumnKind
    description: str
    unit: str = ""
    allowed: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    warn_low: float | None = None
    warn_high: float | None = None
    floor: float | None = None
    required: bool = False
    group: str = "recipe"


#: Deposition methods. ALD and MLD first; the others label literature results of the same
#: chemistries made another way (the models see the method): CVD, PLD (pulsed laser),
#: sputtering, evaporation (thermal / e-beam), wet_chemistry (sol-gel, solution, spin or dip
#: coating), in_situ (a layer formed by reaction in the cell or on contact) and other.
METHODS = ("ALD", "MLD", "CVD", "PLD", "sputtering", "evaporation", "wet_chemistry", "in_situ",
           "other", "none")
#: The methods that build a film cycle by cycle (``cycles`` and ``gpc_angstrom`` apply).
CYCLIC_METHODS = ("ALD", "MLD")
COATED_COMPONENTS = ("electrode", "electrolyte", "none")
CELL_TYPES = ("full", "half", "symmetric", "film", "unknown")
DATA_KINDS = ("literature", "lab", "synthetic")
QUALIFIERS = ("", "<", ">", "~")

COLUMNS: tuple[Column, ...] = (
    Column("record_id", "str",
           "Unique id of the record; derived from the row content when absent.",
           group="identity"),
    Column("pair_id", "str", "Links a coated record to its bare control (same value on both).",
           group="identity"),
    Column("electrode", "str", "Electrode formula or known alias, e.g. LiNi0.8Mn0.1Co0.1O2, Li.",
           required=True, group="materials"),
    Column("electrolyte", "str", "Solid electrolyte formula or known alias, e.g. Li6PS5Cl, LiPON.",
           required=True, group="materials"),
    Column("coating", "str", "Coating formula or alias; empty for a bare control.",
           group="materials"),
    Column("coated_component", "enum", "Which side carries the coating.",
           allowed=COATED_COMPONENTS, group="materials"),
    Column("method", "enum", "Deposition method.", allowed=METHODS, group="recipe"),
    Column("precursors", "str", "Precursors and co-reactants separated by '/', as reported.",
           group="recipe"),
    Column("temperature_c", "float", "Deposition temperature.", unit="degC", low=-273.15,
           low_inclusive=False, high=1000.0, warn_low=20.0, warn_high=500.0, group="recipe"),
    Column("gpc_angstrom", "float", "Growth per cycle.", unit="angstrom/cycle", low=0.0,
           high=100.0, warn_high=10.0, group="recipe"),
    Column("cycles", "float", "Number of ALD/MLD cycles.", unit="cycles", low=0.0, high=1e5,
           group="recipe"),
    Column("thickness_nm", "float", "Coating thickness; derived from gpc_angstrom * cycles / 10 "
           "when missing.", unit="nm", low=0.0, high=1e5, warn_high=200.0, group="recipe"),
    Column("thickness_derived", "bool", "True where thickness_nm was computed from GPC x cycles.",
           group="recipe"),
    Column("cell_type", "enum", "Cell configuration: full cell, half cell, symmetric cell, or a "
           "film measurement.", allowed=CELL_TYPES, group="test"),
    Column("cycle_number", "float", "Cycle at which the outcome was measured.", unit="cycles",
           low=0.0, high=1e6, group="test"),
    Column("c_rate", "float", "Charge/discharge rate.", unit="C", low=0.0, high=1000.0,
           warn_high=50.0, group="test"),
    Column("test_temperature_c", "float", "Cell test temperature.", unit="degC", low=-273.15,
           low_inclusive=False, high=1000.0, warn_low=-40.0, warn_high=150.0, group="test"),
    Column("current_density_ma_cm2", "float", "Current density (symmetric cells).", unit="mA/cm2",
           low=0.0, high=1e4, warn_high=50.0, group="test"),
    Column("capacity_retention_pct", "float", "Target: discharge capacity retained at "
           "cycle_number relative to the initial one.", unit="%", low=0.0, high=200.0,
           group="target"),
    Column("interface_resistance_ohm_cm2", "float", "Target: interfacial (area-specific) "
           "resistance.", unit="ohm cm2", low=0.0, low_inclusive=False, high=1e9,
           floor=1e-6, group="target"),
    Column("discharge_capacity_mah_g", "float", "Discharge capacity.", unit="mAh/g", low=0.0,
           high=1e4, warn_high=4000.0, group="outcome"),
    Column("coulombic_efficiency_pct", "float", "Coulombic efficiency.", unit="%", low=0.0,
           high=200.0, group="outcome"),
    Column("overpotential_mv", "float", "Overpotential / polarisation of a symmetric cell.",
           unit="mV", low=0.0, high=1e5, group="outcome"),
    Column("ionic_conductivity_s_cm", "float", "Li-ion conductivity of the film or electrolyte.",
           unit="S/cm", low=0.0, high=1.0, group="outcome"),
    Column("cycle_life_h", "float", "Hours of cycling reached (e.g. until short circuit).",
           unit="h", low=0.0, high=1e6, group="outcome"),
    Column("critical_current_density_ma_cm2", "float", "Critical current density: the highest "
           "current density a Li-metal cell cycles at before it short-circuits.", unit="mA/cm2",
           low=0.0, low_inclusive=False, high=1e4, warn_high=50.0, group="outcome"),
    Column("outcome_qualifier", "enum", "Qualifier printed with the numeric outcomes of this "
           "record: '<' less than, '>' more than, '~' about; empty when exact.",
           allowed=QUALIFIERS, group="outcome"),
    Column("cell_failed", "bool", "True when the cell failed (no usable measurement, short "
           "circuit, unable to operate).", group="outcome"),
    Column("outcome_note", "str", "Outcome in words, verbatim where the source gives words.",
           group="outcome"),
    Column("data_kind", "enum", "literature, lab (the user's own) or synthetic (simulated lab).",
           allowed=DATA_KINDS, group="provenance"),
    Column("source", "str", "Reference: the review's reference number and citation, a DOI, "
           "a lab notebook id, or 'synthetic: ...'.", required=True, group="provenance"),
    Column("source_detail", "str", "Where in the source (table row, section, figure).",
           group="provenance"),
    Column("proposal_id", "str", "Id of the coatml proposal this measurement answers, if any.",
           group="provenance"),
    Column("added_at", "datetime", "When the record entered the store (UTC, set by the store).",
           group="provenance"),
    Column("added_by", "str", "Who added it (user name, set by the store when absent).",
           group="provenance"),
)

COLUMN_BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
TARGETS: tuple[str, ...] = ("capacity_retention_pct", "interface_resistance_ohm_cm2")
NUMERIC_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.kind in ("float", "int"))
MATERIAL_COLUMNS: tuple[str, ...] = ("electrode", "electrolyte", "coating")

#: Columns whose values are set by the store, never by the input file.
STORE_COLUMNS: tuple[str, ...] = ("added_at",)

#: Columns that define the content of a record (used for the derived record id and the
#: duplicate check): everything except the id itself and store-set provenance.
CONTENT_COLUMNS: tuple[str, ...] = tuple(
    c for c in COLUMN_NAMES if c not in ("record_id", "added_at", "added_by")
)

#: Columns added to the schema after records were first stored: they enter a record's content
#: hash only when set, so records stored before keep their hash (and their identity).
HASH_IF_SET_COLUMNS: tuple[str, ...] = ("critical_current_density_ma_cm2",)

#: Tolerated relative disagreement between thickness_nm and gpc_angstrom * cycles / 10.
THICKNESS_AGREEMENT = 0.20


def describe_schema_markdown() -> str:
    """Return the schema as a markdown table (used by the README and ``coatml data schema``)."""
    lines = ["| column | type | unit | allowed / range | meaning |", "|---|---|---|---|---|"]
    for c in COLUMNS:
        if c.allowed:
            rng = ", ".join(repr(a) if a == "" else a for a in c.allowed)
        else:
            lo = "" if c.low is None else (f">= {c.low:g}" if c.low_inclusive else f"> {c.low:g}")
            hi = "" if c.high is None else f"<= {c.high:g}"
            if c.floor is not None:
                lo = f">= {c.floor:g}"
            rng = " and ".join(x for x in (lo, hi) if x)
        lines.append(f"| `{c.name}` | {c.kind} | {c.unit} | {rng} | {c.description} |")
    return "\n".join(lines)
