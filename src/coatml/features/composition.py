"""Vectorised composition featurizer that reproduces matminer's numbers, fast.

A screen featurizes the same electrode, electrolyte and coating thousands of times. matminer
computes every composition from scratch through Python loops (2-8 ms per composition for the
five featurizers in ``benchmarks/bench_featurize.py``). :class:`CompositionFeaturizer` instead

1. caches every composition it has seen (formula string -> canonical composition -> row), so a
   repeated material costs one dictionary lookup;
2. featurizes the compositions it has not seen all at once: the element indices and amounts
   of the new compositions form padded ``(n, k)`` arrays (``k`` = most elements in one
   composition), gathered against element-property tables built once from matminer's own data
   files, and the statistics of :class:`matminer.featurizers.utils.stats.PropertyStats`
   (minimum, maximum, range, mean, avg_dev, mode) are taken with numpy over all rows together.

Padded gathers are used instead of a fraction-matrix product because ``0 * NaN`` is NaN (one
element without a value would poison every row) and minimum / maximum / mode are not linear.

Element tables are read at run time from the installed matminer (``MagpieData``,
``PymatgenData``) and pymatgen (oxidation states, NIST atomic-orbital energies) packages, not
copied into coatml: this is offline, it guarantees that the fast path uses exactly the tables
matminer uses (which is what "equal to matminer" means), and :meth:`table_hash` records which
tables a model was trained with. Sources: Ward et al., npj Comput. Mater. 2, 16028 (2016),
doi:10.1038/npjcompumats.2016.28 (Magpie); Ong et al., Comput. Mater. Sci. 68, 314 (2013),
doi:10.1016/j.commatsci.2012.10.028 (pymatgen); Kotochigova et al., Phys. Rev. A 55, 191 (1997),
doi:10.1103/PhysRevA.55.191 (atomic orbital energies).

Featurizers and feature counts (matminer class -> columns):

* ``"magpie"``: ``ElementProperty.from_preset("magpie")``, 22 properties x 6 statistics = 132
  columns, labels ``"MagpieData {stat} {property}"``.
* ``"stoichiometry"``: ``Stoichiometry()``, 6 columns ``"0-norm"`` ... ``"10-norm"``.
* ``"valence_orbital"``: ``ValenceOrbital()``, 8 columns ``"avg s valence electrons"`` ...
  ``"frac f valence electrons"``.
* ``"ion_property"``: ``IonProperty()``, 3 columns ``"compound possible"`` (1.0 / 0.0),
  ``"max ionic char"``, ``"avg ionic char"``. See *Fractional compositions* below.
* ``"atomic_orbitals"``: ``AtomicOrbitals()``, 11 numeric columns: ``"HOMO_energy"``,
  ``"LUMO_energy"``, ``"gap_AO"`` (eV, as matminer) and a one-hot encoding of matminer's string
  outputs ``HOMO_character`` / ``LUMO_character``: ``"HOMO_character_s"`` ... ``"_f"``,
  ``"LUMO_character_s"`` ... ``"_f"``. matminer's ``HOMO_element`` / ``LUMO_element`` (element
  symbols) are left out: as categories over ~90 symbols they would add sparse columns that the
  magpie statistics already describe. Where matminer's ``AtomicOrbitals`` raises (elements
  without tabulated orbitals such as Pu or Es, or no LUMO), the 11 columns are NaN.

Fractional compositions (``IonProperty``): matminer decides ``compound possible`` with
``Composition.oxi_state_guesses``, which raises ``ValueError("Charge balance analysis requires
integer values in Composition!")`` for any non-integer amount, so matminer gives no
``IonProperty`` row at all for ``LiNi0.8Mn0.1Co0.1O2`` and most battery materials. Here the
ionic-character columns (which need no oxidation states) are always computed, and ``compound
possible`` for a fractional composition is, when ``ion_property_estimated=True`` (default),
evaluated on the smallest integer multiple that pymatgen's ``get_integer_formula_and_factor``
gives (``LiNi0.8Mn0.1Co0.1O2`` -> ``Li10Ni8MnCoO20``), with exactly matminer's oxidation-state
lists; it is the value matminer returns for that integer formula. Multiples above
``ION_MAX_ATOMS`` atoms (dilute dopants), multiples from which pymatgen drops a very dilute
element, and, with ``ion_property_estimated=False``, every fractional composition get NaN.
Note that pymatgen's *common* oxidation states are narrow (Ni: +2 only), so ``Li10Ni8MnCoO20``
is "not possible": that is matminer's answer too.

Integer compositions use the same test as pymatgen (each atom takes one of the element's
common oxidation states, or its ICSD states if it has no common ones; is a total of zero
reachable?) computed with a bitset of reachable charge sums instead of enumerating
combinations. Oxidation states on input species are ignored: inputs are featurized as element
compositions.

Missing element data: with ``impute_nan=False`` some elements lack a tabulated value (He, Ne,
Ar, Rn: electronegativity; Bk-Lr: covalent radius; ...). ``on_missing="raise"`` (default)
raises :class:`~coatml.exceptions.FormulaError` naming the formula, element and property;
``on_missing="nan"`` returns matminer's NaNs and emits one :class:`MissingElementDataWarning`
per call counting the affected compositions. With ``impute_nan=True`` matminer's imputation
(the mean over all elements) is used and nothing is missing. Values are never silently zero.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from coatml.exceptions import FormulaError

if TYPE_CHECKING:
    import pandas as pd
    from pymatgen.core import Composition

FEATURIZER_NAMES: tuple[str, ...] = (
    "magpie",
    "stoichiometry",
    "valence_orbital",
    "ion_property",
    "atomic_orbitals",
)

MAGPIE_PROPERTIES: tuple[str, ...] = (
    "Number",
    "MendeleevNumber",
    "AtomicWeight",
    "MeltingT",
    "Column",
    "Row",
    "CovalentRadius",
    "Electronegativity",
    "NsValence",
    "NpValence",
    "NdValence",
    "NfValence",
    "NValence",
    "NsUnfilled",
    "NpUnfilled",
    "NdUnfilled",
    "NfUnfilled",
    "NUnfilled",
    "GSvolume_pa",
    "GSbandgap",
    "GSmagmom",
    "SpaceGroupNumber",
)
MAGPIE_STATS: tuple[str, ...] = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")
STOICHIOMETRY_P: tuple[int, ...] = (0, 2, 3, 5, 7, 10)
ORBITALS: tuple[str, ...] = ("s", "p", "d", "f")
VALENCE_PROPERTIES: tuple[str, ...] = ("NsValence", "NpValence", "NdValence", "NfValence")
ION_LABELS: tuple[str, ...] = ("compound possible", "max ionic char", "avg ionic char")
AO_LABELS: tuple[str, ...] = (
    "HOMO_energy",
    "LUMO_energy",
    "gap_AO",
    *(f"HOMO_character_{o}" for o in ORBITALS),
    *(f"LUMO_character_{o}" for o in ORBITALS),
)
#: Largest integer formula (atoms) on which ``compound possible`` is evaluated.
ION_MAX_ATOMS = 2000
_MAX_Z = 118
# np.isclose defaults, as PropertyStats.mode uses them
_ISCLOSE_RTOL = 1e-5
_ISCLOSE_ATOL = 1e-8


class MissingElementDataWarning(UserWarning):
    """Some compositions contain elements without a tabulated property; their features are NaN."""


# --------------------------------------------------------------------------------------------
# Element tables (built once per impute_nan setting from matminer / pymatgen data)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElementTables:
    """Per-element property tables indexed by ``Z - 1`` (Z = 1..118).

    ``magpie`` is ``(118, 22)`` in :data:`MAGPIE_PROPERTIES` order, ``electronegativity`` the
    Pauling electronegativity of ``PymatgenData``, ``oxidation_states`` the lists matminer's
    ``IonProperty`` hands to pymatgen (falling back to ICSD states as pymatgen does),
    ``atomic_orbitals`` pymatgen's NIST orbital energies (``None`` where untabulated).
    """

    symbols: tuple[str, ...]
    magpie: np.ndarray
    electronegativity: np.ndarray
    oxidation_states: tuple[tuple[int, ...], ...]
    atomic_orbitals: tuple[tuple[tuple[str, float], ...] | None, ...]
    impute_nan: bool

    def digest(self) -> str:
        h = hashlib.sha256()
        h.update(repr(self.symbols).encode())
        h.update(np.ascontiguousarray(self.magpie, dtype="<f8").tobytes())
        h.update(np.ascontiguousarray(self.electronegativity, dtype="<f8").tobytes())
        h.update(repr(self.oxidation_states).encode())
        h.update(repr(self.atomic_orbitals).encode())
        h.update(repr(self.impute_nan).encode())
        return h.hexdigest()


@lru_cache(maxsize=2)
def element_tables(impute_nan: bool) -> ElementTables:
    """Build the element tables from matminer's installed data files (offline, once)."""
    from matminer.utils.data import MagpieData, PymatgenData
    from pymatgen.core.periodic_table import Element

    magpie_data = MagpieData(impute_nan=impute_nan)
    pmg_data = PymatgenData(impute_nan=impute_nan)
    symbols = []
    magpie = np.full((_MAX_Z, len(MAGPIE_PROPERTIES)), np.nan)
    x = np.full(_MAX_Z, np.nan)
    ox: list[tuple[int, ...]] = []
    aos: list[tuple[tuple[str, float], ...] | None] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns for every untabulated value
        for z in range(1, _MAX_Z + 1):
            el = Element.from_Z(z)
            symbols.append(el.symbol)
            for j, prop in enumerate(MAGPIE_PROPERTIES):
                magpie[z - 1, j] = float(magpie_data.get_elemental_property(el, prop))
            x[z - 1] = float(pmg_data.get_elemental_property(el, "X"))
            # pymatgen: an empty override falls back to icsd_oxidation_states or common ones
            common = tuple(int(o) for o in pmg_data.get_oxidation_states(el))
            icsd = tuple(int(o) for o in (el.icsd_oxidation_states or ()))
            ox.append(common or icsd or common)
            orbitals = el.atomic_orbitals
            aos.append(
                None if orbitals is None else tuple((k, float(v)) for k, v in orbitals.items())
            )
    magpie.setflags(write=False)
    x.setflags(write=False)
    return ElementTables(
        symbols=tuple(symbols),
        magpie=magpie,
        electronegativity=x,
        oxidation_states=tuple(ox),
        atomic_orbitals=tuple(aos),
        impute_nan=impute_nan,
    )


# --------------------------------------------------------------------------------------------
# Per-composition pieces that are not vectorisable (run once per unique composition)
# --------------------------------------------------------------------------------------------


def _charge_balance_possible(z_amounts: Sequence[tuple[int, int]], tables: ElementTables) -> bool:
    """True when each atom can take one of its element's oxidation states so that the total is
    zero: the existence test of pymatgen's ``Composition.oxi_state_guesses`` (integer amounts).

    Reachable sums are a bitset (a Python int; bit ``i`` = sum ``base + i``), grown atom by atom.
    """
    reach = 1
    base = 0
    for z, n in z_amounts:
        states = tables.oxidation_states[z - 1]
        if n > 0 and not states:
            return False
        low = min(states) if states else 0
        shifts = [s - low for s in states]
        for _ in range(n):
            reach = _or_shifts(reach, shifts)
            base += low
    return base <= 0 and bool((reach >> (-base)) & 1)


def _or_shifts(reach: int, shifts: list[int]) -> int:
    out = 0
    for s in shifts:
        out |= reach << s
    return out


def _integer_amounts(amounts: Sequence[float]) -> list[int] | None:
    if all(float(a).is_integer() for a in amounts):
        return [int(a) for a in amounts]
    return None


def _compound_possible(
    zs: Sequence[int],
    amounts: Sequence[float],
    comp: Composition,
    tables: ElementTables,
    estimated: bool,
) -> float:
    if len(zs) < 2:
        return 1.0  # matminer: a single element is trivially "possible"
    ints = _integer_amounts(amounts)
    pairs: list[tuple[int, int]]
    if ints is not None:
        pairs = list(zip(zs, ints, strict=True))
    else:
        if not estimated:
            return math.nan
        from pymatgen.core import Composition as _Comp
        from pymatgen.core.periodic_table import Element

        formula, _ = comp.get_integer_formula_and_factor()
        el_amt = _Comp(formula).get_el_amt_dict()
        pairs = [(Element(sym).Z, int(round(a))) for sym, a in el_amt.items()]
        if len(pairs) != len(zs):  # pymatgen dropped a dilute element (ratio > 10,000)
            return math.nan
    if sum(n for _, n in pairs) > ION_MAX_ATOMS:
        return math.nan
    return 1.0 if _charge_balance_possible(pairs, tables) else 0.0


def _atomic_orbital_features(comp: Composition, tables: ElementTables) -> np.ndarray:
    """matminer ``AtomicOrbitals`` (via pymatgen ``MolecularOrbitals``) for one composition.

    Fills the atomic orbitals of the integer formula, sorted by energy, with all electrons.
    NaN everywhere where matminer raises (untabulated orbitals, no LUMO).
    """
    from pymatgen.core import Composition as _Comp
    from pymatgen.core.periodic_table import Element

    out = np.full(len(AO_LABELS), np.nan)
    formula, _ = comp.get_integer_formula_and_factor()
    int_comp = _Comp(formula).as_dict()
    orbitals: list[tuple[str, float]] = []
    electrons = 0.0
    for sym, amt in int_comp.items():
        z = Element(sym).Z
        aos = tables.atomic_orbitals[z - 1]
        if aos is None:
            return out
        orbitals.extend(list(aos) * int(amt))
        electrons += z * amt
    orbitals.sort(key=lambda o: o[1])
    capacity = {"s": 2, "p": 6, "d": 10, "f": 14}
    filled = 0
    for name, _energy in orbitals:
        if electrons <= 0:
            break
        electrons -= capacity[name[-1]]
        filled += 1
    if filled == 0:
        return out
    homo = orbitals[filled - 1]
    if electrons != 0:
        lumo = homo
    elif filled < len(orbitals):
        lumo = orbitals[filled]
    else:
        return out  # matminer fails on a missing LUMO
    out[0] = homo[1]
    out[1] = lumo[1]
    out[2] = lumo[1] - homo[1]
    out[3:7] = [float(homo[0][-1] == o) for o in ORBITALS]
    out[7:11] = [float(lumo[0][-1] == o) for o in ORBITALS]
    return out


# --------------------------------------------------------------------------------------------
# Vectorised statistics over padded (n, k) arrays
# --------------------------------------------------------------------------------------------


def _sum_axis1(values: np.ndarray) -> np.ndarray:
    """Sum over axis 1, left to right as matminer's lists are summed.

    An explicit sequential sum (k is small) makes the result independent of how much zero
    padding a batch has, so a composition gets bit-identical features in any batch.
    """
    total = np.zeros_like(values[:, 0])
    for j in range(values.shape[1]):
        total = total + values[:, j]
    return total


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """np.average(values, weights) along axis 1; values (n, k, p), weights (n, k)."""
    return _sum_axis1(values * weights[:, :, None]) / _sum_axis1(weights)[:, None]


def _property_stats(values: np.ndarray, weights: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """PropertyStats minimum, maximum, range, mean, avg_dev, mode -> (n, p, 6).

    ``values`` is (n, k, p) with padding entries set to 0, ``weights`` (n, k) the amounts
    (0 in padding), ``mask`` (n, k) True for real elements. NaN propagates as in matminer:
    min / max / range / mean / avg_dev are NaN if any element's value is NaN, mode only if a
    most-abundant element's value is NaN.
    """
    m3 = mask[:, :, None]
    minimum = np.where(m3, values, np.inf).min(axis=1)
    maximum = np.where(m3, values, -np.inf).max(axis=1)
    mean = _weighted_mean(values, weights)
    avg_dev = _weighted_mean(np.abs(values - mean[:, None, :]), weights)
    wmax = np.where(mask, weights, -np.inf).max(axis=1, keepdims=True)
    most = mask & (np.abs(weights - wmax) <= _ISCLOSE_ATOL + _ISCLOSE_RTOL * np.abs(wmax))
    mode = np.where(most[:, :, None], values, np.inf).min(axis=1)
    return np.stack([minimum, maximum, maximum - minimum, mean, avg_dev, mode], axis=2)


@dataclass(frozen=True)
class _Parsed:
    """One unique composition, canonically ordered by Z."""

    key: tuple[tuple[int, float], ...]
    formula: str
    composition: Any  # pymatgen Composition


# --------------------------------------------------------------------------------------------
# The featurizer
# --------------------------------------------------------------------------------------------


class CompositionFeaturizer:
    """matminer composition features for many compositions, vectorised and cached.

    Parameters are stored only; tables are built and the cache created on first use.

    Args:
        featurizers: which matminer featurizers to reproduce, in output order; any of
            :data:`FEATURIZER_NAMES`.
        impute_nan: passed as ``impute_nan`` to every matminer data source: ``False`` leaves
            untabulated element values missing (see ``on_missing``), ``True`` fills them with
            matminer's mean over all elements.
        on_missing: ``"raise"`` (FormulaError naming formula, element and property) or ``"nan"``
            (NaN as matminer + one counting :class:`MissingElementDataWarning` per call).
        ion_property_estimated: evaluate ``compound possible`` of fractional compositions on
            their smallest integer multiple (True) or give NaN (False); see the module docstring.

    Example:
        >>> f = CompositionFeaturizer(featurizers=("stoichiometry",))
        >>> f.featurize_many(["Li2O", "OLi2"])[:, 0].tolist()
        [2.0, 2.0]
    """

    def __init__(
        self,
        featurizers: tuple[str, ...] = FEATURIZER_NAMES,
        impute_nan: bool = False,
        *,
        on_missing: Literal["raise", "nan"] = "raise",
        ion_property_estimated: bool = True,
    ) -> None:
        self.featurizers = featurizers
        self.impute_nan = impute_nan
        self.on_missing = on_missing
        self.ion_property_estimated = ion_property_estimated

    # ---- scikit-learn's parameter API (so ``sklearn.base.clone`` works; no sklearn import) --

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments."""
        return {"featurizers": self.featurizers, "impute_nan": self.impute_nan,
                "on_missing": self.on_missing,
                "ion_property_estimated": self.ion_property_estimated}

    def set_params(self, **params: Any) -> CompositionFeaturizer:
        """Set constructor arguments; an unknown name is an error naming the known ones."""
        known = self.get_params()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"CompositionFeaturizer has no parameter(s) {unknown}; known: "
                             f"{sorted(known)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    # ---- description ---------------------------------------------------------------------

    def _check_params(self) -> tuple[str, ...]:
        names = tuple(self.featurizers)
        unknown = [n for n in names if n not in FEATURIZER_NAMES]
        if unknown or not names or len(set(names)) != len(names):
            raise ValueError(
                f"featurizers must be distinct names from {FEATURIZER_NAMES}, got {names!r}"
            )
        if self.on_missing not in ("raise", "nan"):
            raise ValueError(f"on_missing must be 'raise' or 'nan', got {self.on_missing!r}")
        return names

    def _labels_of(self, name: str) -> list[str]:
        if name == "magpie":
            return [f"MagpieData {s} {p}" for p in MAGPIE_PROPERTIES for s in MAGPIE_STATS]
        if name == "stoichiometry":
            return [f"{p}-norm" for p in STOICHIOMETRY_P]
        if name == "valence_orbital":
            return [f"{prop} {o} valence electrons" for prop in ("avg", "frac") for o in ORBITALS]
        if name == "ion_property":
            return list(ION_LABELS)
        return list(AO_LABELS)

    def feature_labels(self) -> list[str]:
        """Column labels, matminer's where matminer has a numeric output."""
        return [label for name in self._check_params() for label in self._labels_of(name)]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """scikit-learn spelling of :meth:`feature_labels`."""
        return np.asarray(self.feature_labels(), dtype=object)

    def citations(self) -> list[str]:
        """BibTeX of the matminer featurizers reproduced (deduplicated, in order)."""
        from matminer.featurizers.composition import (
            AtomicOrbitals,
            ElementProperty,
            IonProperty,
            Stoichiometry,
            ValenceOrbital,
        )

        makers = {
            "magpie": lambda: ElementProperty.from_preset("magpie", impute_nan=self.impute_nan),
            "stoichiometry": Stoichiometry,
            "valence_orbital": lambda: ValenceOrbital(impute_nan=self.impute_nan),
            "ion_property": lambda: IonProperty(impute_nan=self.impute_nan),
            "atomic_orbitals": AtomicOrbitals,
        }
        out: list[str] = []
        for name in self._check_params():
            for c in makers[name]().citations():
                if c not in out:
                    out.append(c)
        return out

    def table_hash(self) -> str:
        """sha256 over the element tables, the featurizer list and the value-changing options."""
        h = hashlib.sha256()
        h.update(element_tables(bool(self.impute_nan)).digest().encode())
        h.update(repr(self._check_params()).encode())
        h.update(repr((self.ion_property_estimated, ION_MAX_ATOMS)).encode())
        return h.hexdigest()

    # ---- scikit-learn shape ---------------------------------------------------------------

    def fit(self, X: Any = None, y: Any = None) -> CompositionFeaturizer:
        """Nothing to learn; validates parameters and returns ``self``."""
        self._check_params()
        return self

    def transform(self, X: Sequence[Composition | str]) -> np.ndarray:
        return self.featurize_many(X)

    # ---- featurization --------------------------------------------------------------------

    def featurize_frame(self, compositions: Sequence[Composition | str]) -> pd.DataFrame:
        """:meth:`featurize_many` as a DataFrame with :meth:`feature_labels` columns."""
        import pandas as pd

        return pd.DataFrame(self.featurize_many(compositions), columns=self.feature_labels())

    def featurize_many(self, compositions: Sequence[Composition | str]) -> np.ndarray:
        """Features of each composition: float64 ``(n, n_features)``, NaN where undefined.

        Strings are parsed strictly (:func:`coatml.data.formulas.parse_formula`; resolve alias
        names such as "alucone" with ``resolve_material`` first). Repeated compositions, or the
        same composition spelled differently ("Li2O", "OLi2"), cost one cache lookup.
        """
        names = self._check_params()
        state = self._state()
        rows = np.empty(len(compositions), dtype=np.intp)
        new: dict[tuple[tuple[int, float], ...], _Parsed] = {}
        pending: list[tuple[int, tuple[tuple[int, float], ...]]] = []
        by_text, by_comp, row_of = state["by_text"], state["by_comp"], state["row_of"]
        for i, item in enumerate(compositions):
            if isinstance(item, str):
                key = by_text.get(item)
                if key is None:
                    parsed = self._parse(item)
                    key = by_text[item] = parsed.key
                    if key not in row_of:
                        new.setdefault(key, parsed)
            else:
                try:
                    key = by_comp.get(item)
                except TypeError:
                    raise FormulaError(f"{item!r} is not a formula or Composition") from None
                if key is None:
                    parsed = self._parse(item)
                    key = by_comp[item] = parsed.key
                    if key not in row_of:
                        new.setdefault(key, parsed)
            row = row_of.get(key)
            if row is None:
                if key not in new:  # parsed in an earlier call that failed before caching
                    new[key] = self._parse(item)
                pending.append((i, key))
            else:
                rows[i] = row
        if new:
            self._add(list(new.values()), names, state)
            for i, key in pending:
                rows[i] = row_of[key]
        self._report_missing(rows, state)
        return state["matrix"][rows]

    # ---- internals ------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        """Lazily created cache, reset whenever a parameter changes."""
        params = (tuple(self.featurizers), bool(self.impute_nan), self.ion_property_estimated)
        state = getattr(self, "_cache_state", None)
        if state is None or state["params"] != params:
            n_features = len(self.feature_labels())
            state = {
                "params": params,
                "by_text": {},
                "by_comp": {},
                "row_of": {},
                "matrix": np.empty((0, n_features)),
                "missing": [],  # per cached row: "" or a description of the missing data
            }
            self._cache_state = state
        return state

    @staticmethod
    def _parse(item: Composition | str) -> _Parsed:
        from coatml.data.formulas import parse_formula

        if isinstance(item, str):
            comp = parse_formula(item)
            formula = item
        else:
            comp = item
            formula = getattr(item, "formula", repr(item))
        try:
            el_comp = comp.element_composition
            pairs = [(el.Z, float(amt)) for el, amt in el_comp.items()]
        except (AttributeError, TypeError, ValueError) as exc:
            raise FormulaError(
                f"'{formula}' is not a composition of real elements ({exc})"
            ) from None
        if not pairs or any(z < 1 or z > _MAX_Z for z, _ in pairs):
            raise FormulaError(f"'{formula}' has no atoms or an element outside Z = 1..{_MAX_Z}")
        if any(not (amt > 0 and math.isfinite(amt)) for _, amt in pairs):
            raise FormulaError(f"'{formula}' has a zero, negative or non-finite amount")
        pairs.sort()
        from pymatgen.core import Composition as _Comp

        canonical = _Comp({_symbol(z): amt for z, amt in pairs})
        return _Parsed(key=tuple(pairs), formula=formula, composition=canonical)

    def _add(self, parsed: list[_Parsed], names: tuple[str, ...], state: dict[str, Any]) -> None:
        tables = element_tables(bool(self.impute_nan))
        block, missing = self._compute(parsed, names, tables)
        start = state["matrix"].shape[0]
        state["matrix"] = np.concatenate([state["matrix"], block], axis=0)
        state["missing"].extend(missing)
        for j, p in enumerate(parsed):
            state["row_of"][p.key] = start + j

    def _compute(
        self, parsed: list[_Parsed], names: tuple[str, ...], tables: ElementTables
    ) -> tuple[np.ndarray, list[str]]:
        n = len(parsed)
        k = max(len(p.key) for p in parsed)
        idx = np.zeros((n, k), dtype=np.intp)
        amt = np.zeros((n, k))
        mask = np.zeros((n, k), dtype=bool)
        for i, p in enumerate(parsed):
            m = len(p.key)
            idx[i, :m] = [z - 1 for z, _ in p.key]
            amt[i, :m] = [a for _, a in p.key]
            mask[i, :m] = True
        n_el = mask.sum(axis=1)
        missing_sets: list[set[str]] = [set() for _ in range(n)]

        def note_missing(values: np.ndarray, labels: Sequence[str], rows_ok: np.ndarray) -> None:
            bad = np.isnan(values) & mask[:, :, None] & rows_ok[:, None, None]
            for i, j, c in zip(*np.nonzero(bad), strict=True):
                missing_sets[i].add(f"{tables.symbols[idx[i, j]]} lacks {labels[c]}")

        blocks: list[np.ndarray] = []
        all_rows = np.ones(n, dtype=bool)
        for name in names:
            if name == "magpie":
                vals = np.where(mask[:, :, None], tables.magpie[idx], 0.0)
                note_missing(vals, MAGPIE_PROPERTIES, all_rows)
                blocks.append(_property_stats(vals, amt, mask).reshape(n, -1))
            elif name == "stoichiometry":
                n_atoms = _sum_axis1(amt)[:, None]
                frac = amt / n_atoms
                cols = [n_el.astype(float)]
                for power in STOICHIOMETRY_P[1:]:
                    cols.append(_sum_axis1(frac**power) ** (1.0 / power))
                blocks.append(np.stack(cols, axis=1))
            elif name == "valence_orbital":
                cols_idx = [MAGPIE_PROPERTIES.index(c) for c in (*VALENCE_PROPERTIES, "NValence")]
                vals = np.where(mask[:, :, None], tables.magpie[idx][:, :, cols_idx], 0.0)
                note_missing(vals, [*VALENCE_PROPERTIES, "NValence"], all_rows)
                means = _weighted_mean(vals, amt)
                avg = means[:, :4]
                blocks.append(np.concatenate([avg, avg / means[:, 4:5]], axis=1))
            elif name == "ion_property":
                blocks.append(self._ion_block(parsed, idx, amt, mask, tables, note_missing))
            else:
                blocks.append(
                    np.stack([_atomic_orbital_features(p.composition, tables) for p in parsed])
                )
        missing = [
            f"'{p.formula}': " + "; ".join(sorted(s)) if s else ""
            for p, s in zip(parsed, missing_sets, strict=True)
        ]
        return np.concatenate(blocks, axis=1).astype(np.float64, copy=False), missing

    def _ion_block(self, parsed, idx, amt, mask, tables, note_missing) -> np.ndarray:
        n, k = idx.shape
        n_el = mask.sum(axis=1)
        x = np.where(mask, tables.electronegativity[idx], 0.0)
        note_missing(x[:, :, None], ["electronegativity (pymatgen X)"], n_el >= 2)
        out = np.zeros((n, 3))
        if k >= 2:
            ii, jj = np.triu_indices(k, 1)
            pair_ok = mask[:, ii] & mask[:, jj]
            ionic = 1.0 - np.exp(-0.25 * (x[:, ii] - x[:, jj]) ** 2)
            frac = amt / _sum_axis1(amt)[:, None]
            max_ic = np.where(pair_ok, ionic, -np.inf).max(axis=1)
            avg_ic = _sum_axis1(np.where(pair_ok, frac[:, ii] * frac[:, jj] * ionic, 0.0))
            multi = n_el >= 2
            out[multi, 1] = max_ic[multi]
            out[multi, 2] = avg_ic[multi]
        for i, p in enumerate(parsed):
            zs = [z for z, _ in p.key]
            amounts = [a for _, a in p.key]
            out[i, 0] = _compound_possible(
                zs, amounts, p.composition, tables, self.ion_property_estimated
            )
        return out

    def _report_missing(self, rows: np.ndarray, state: dict[str, Any]) -> None:
        missing = state["missing"]
        if not any(missing):
            return
        flagged = np.fromiter((bool(m) for m in missing), dtype=bool, count=len(missing))
        hit = flagged[rows]
        if not hit.any():
            return
        unique_rows = sorted({int(r) for r in rows[hit]})
        examples = "; ".join(missing[r] for r in unique_rows[:3])
        if self.on_missing == "raise":
            raise FormulaError(
                f"{len(unique_rows)} composition(s) contain elements without tabulated data "
                f"(impute_nan={self.impute_nan}): {examples}. Remove them, pass impute_nan=True "
                "to use matminer's element averages, or on_missing='nan' to get NaN."
            )
        warnings.warn(
            f"{int(hit.sum())} of {len(rows)} compositions ({len(unique_rows)} unique) contain "
            f"elements without tabulated data; their affected features are NaN: {examples}",
            MissingElementDataWarning,
            stacklevel=3,
        )


@cache
def _symbol(z: int) -> str:
    from pymatgen.core.periodic_table import Element

    return Element.from_Z(z).symbol
