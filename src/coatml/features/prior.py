"""The physics prior: what the screening says a coating should do, as a number with an uncertainty.

For every record (electrode, electrolyte, coating, thickness) the prior gives, per target, a mean
and a standard deviation in model space (capacity retention in %, interface resistance in
log10 ohm cm2). The models start from it (:class:`coatml.models.prior.PriorOffsetRegressor`
uses the mean as XGBoost's ``base_margin`` / the Gaussian process's prior mean) and learn only
what the data say beyond it; a pair without records is ranked by it, with its uncertainty.

How it is built (all from :mod:`coatml.features.screening`, nothing from the simulated lab):

1. **Hazards.** Each chemistry criterion gives a probability ``p`` that it fails, from its value
   and uncertainty (a normal margin to the criterion's fail threshold):
   windows ``Phi((excess - KINETIC_MARGIN_V) / unc)``, anion exchange
   ``Phi((-0.3 eV - dH) / unc)``, redox with the electrolyte ``Phi(excess / unc)``; a cathode
   that oxidises a cation fails with ``p = 1``; an open-shell (electronically conducting) film
   with :data:`P_CONDUCTING`; a criterion the screening reports ``unknown`` with
   :data:`P_UNKNOWN`. The uncertainty is floored at :data:`MIN_UNC_V` so a tabulated value
   (uncertainty 0) gives a step, not a division by zero.
   Transport is a hazard too, per row because it depends on the thickness: a film whose
   Li-ion area-specific resistance ``t / sigma`` exceeds the literature's median interface
   resistance of coated cells (``log10_resistance_coated``) blocks the cell,
   ``Phi((log10 ASR - log10_resistance_coated) / max(unc, MIN_UNC_DECADES))``; a Li-free
   film without a sourced conductivity (Li-ion blocking expected, not estimated) gets
   :data:`P_UNKNOWN`, and so does a record without a thickness. So does a film whose only
   conductivity is *computed* for the pristine amorphous film (a-Al2O3, a-AlF3; Xu et al.):
   such films lithiate in the cell (Al2O3 on garnet measured 1 ohm cm2 after lithiation, Han
   2017, in the bundled literature, where t / sigma of the computed value gives 10^4), so the
   computed value enters the resistance prior but cannot fail the film.
   Coverage is the thickness's other side: a film thinner than the minimum effective
   thickness leaves the interface open. :data:`COVERAGE_HALF_NM` (the geometric middle of
   "1.0 nm insufficient, 2.5 nm minimum effective", LiNbO on NCM811 with a sulfide, Hanyang,
   Energy Storage Mater. 86 (2026) (s); Bong et al., J. Power Sources 577, 233259 (2023) (s)
   saw most of the gain from the first, partial coverage) and :data:`COVERAGE_WIDTH_DECADES`
   (so that 1.0 nm fails and 2.5 nm passes with 95 %): ``Phi((log10 t_half - log10 t) / w)``,
   :data:`P_UNKNOWN` without a thickness. One sourced system stands for all (an assumption).
2. **Survival** ``S = prod(1 - p)``: the chance that the film protects the interface and lets
   Li ions through, with the Bernoulli variance ``S (1 - S)``.
3. **Retention** ``mu = bare + (coated - bare) S``; ``sd^2 = sd_coated^2 + (coated - bare)^2
   S (1 - S)``. **Resistance** (log10) ``mu = S log10(R_contact + R_film) + (1 - S) bare``,
   ``R_film = t / sigma`` from the ``li_ion_resistance`` criterion (Li-ion-blocking Li-free
   films without a sourced conductivity: the film term is left out and its uncertainty is the
   spread of the tabulated films); ``sd^2 = sd_coated^2 + (bare - coated)^2 S (1 - S) +
   (w sd_film)^2`` with ``w`` the film's share of the resistance. A bare control gets
   ``bare`` with ``sd_bare``.

The anchors ``coated`` / ``bare`` / ``sd_*`` are the medians and spreads of the bundled
literature (coated and bare control cells: :func:`calibrate`), shipped in
``features/data/prior.toml`` with the literature hash they came from (a test recomputes them).

Shared sources with the simulated lab (:mod:`coatml.bench.simlab`), disclosed: both read the
same kinds of sourced numbers (0 K DFT stability windows of Zhu 2015 / Nolan 2021 / Xiao 2019,
ALD film conductivities, the review's Table 2 bare / coated retention and Han 2017's garnet
contact resistance), but the prior's equations are the screening's criteria above, not the
simulator's driving forces, coverage, fade or failure model, and it sees none of the
simulator's hidden factors.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PRIOR_COLUMNS",
    "PRIOR_TARGETS",
    "PriorCalibration",
    "calibrate",
    "load_calibration",
    "prior_column",
    "prior_feature_labels",
    "prior_for",
    "prior_from_keys",
    "prior_from_names",
    "prior_table_hash",
]

#: Targets the prior speaks about (model space: retention %, log10 resistance).
PRIOR_TARGETS: tuple[str, ...] = ("capacity_retention_pct", "interface_resistance_ohm_cm2")
#: Probability that a criterion the screening cannot judge fails (project assumption: close to
#: the share of failing criteria among the judged ones over the coating library, see the note
#: of issue 11; not a sourced value).
P_UNKNOWN = 0.25
#: Probability that an electronically conducting (open-shell) film fails to protect (project
#: assumption: the screening's "likely conducting" is a rule, not a measurement).
P_CONDUCTING = 0.5
#: Floor of a criterion's uncertainty in the margin probability (V or eV; project setting).
MIN_UNC_V = 0.05
#: Floor of the uncertainty of a film's log10 Li-ion conductivity (decades; project setting:
#: a sourced value is one lab's film, others' differ).
MIN_UNC_DECADES = 0.5
#: Thickness at which a film covers its substrate with even odds (nm; see the docstring).
COVERAGE_HALF_NM = math.sqrt(1.0 * 2.5)
#: Width of the coverage transition (decades of thickness; 1.0 nm -> p 0.95, 2.5 nm -> 0.05).
COVERAGE_WIDTH_DECADES = math.log10(2.5 / COVERAGE_HALF_NM) / 1.6449
CALIBRATION_FILE = "prior.toml"


def prior_column(target: str, std: bool = False) -> str:
    """Feature-column name of the prior mean (or its std) of ``target``, model space."""
    return f"prior__{target}" + ("_std" if std else "")


#: The prior block's feature columns.
PRIOR_COLUMNS: tuple[str, ...] = tuple(prior_column(t, s) for t in PRIOR_TARGETS
                                       for s in (False, True))


def prior_feature_labels() -> list[str]:
    """Labels of the prior block (the feature pipeline prefixes them ``prior__``)."""
    return [c.removeprefix("prior__") for c in PRIOR_COLUMNS]


@dataclass(frozen=True)
class PriorCalibration:
    """Literature anchors of the prior (model space), with the counts they rest on."""

    retention_coated_pct: float
    retention_bare_pct: float
    retention_sd_pct: float
    n_retention_coated: int
    n_retention_bare: int
    log10_resistance_coated: float
    log10_resistance_bare: float
    log10_resistance_sd: float
    n_resistance_coated: int
    n_resistance_bare: int
    literature_hash: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def calibrate(records: pd.DataFrame, literature_hash: str = "") -> PriorCalibration:
    """Medians (and the coated cells' standard deviation) of retention and log10 resistance
    of coated and of bare cells in ``records`` (the bundled literature)."""
    from coatml.features.pipeline import BARE_TOKENS

    coating = records["coating"].fillna("").astype(str).str.strip().str.casefold()
    bare = coating.isin(BARE_TOKENS)
    ret = pd.to_numeric(records["capacity_retention_pct"], errors="coerce")
    res = np.log10(pd.to_numeric(records["interface_resistance_ohm_cm2"], errors="coerce"))
    rc, rb = ret[~bare].dropna(), ret[bare].dropna()
    sc, sb = res[~bare].dropna(), res[bare].dropna()
    if min(len(rc), len(rb), len(sc), len(sb)) < 3:
        raise ValueError("the prior needs at least 3 coated and 3 bare values of each target")
    return PriorCalibration(
        round(float(rc.median()), 4), round(float(rb.median()), 4),
        round(float(rc.std(ddof=1)), 4), len(rc), len(rb),
        round(float(sc.median()), 4), round(float(sb.median()), 4),
        round(float(sc.std(ddof=1)), 4), len(sc), len(sb), literature_hash)


def _calibration_bytes() -> bytes:
    return resources.files("coatml.features.data").joinpath(CALIBRATION_FILE).read_bytes()


@lru_cache(maxsize=1)
def load_calibration() -> PriorCalibration:
    """The shipped anchors (``features/data/prior.toml``)."""
    raw = tomllib.loads(_calibration_bytes().decode())["calibration"]
    return PriorCalibration(**raw)


def prior_table_hash() -> str:
    """sha256 of the shipped anchors (part of the feature-set hash)."""
    return hashlib.sha256(_calibration_bytes()).hexdigest()


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _hazards(rows: tuple[Any, ...], ctx: Any) -> dict[str, float]:
    """Failure probability per chemistry criterion (see the module docstring)."""
    from coatml.features.screening import _EXCHANGE_FAIL_EV, CHEMISTRY_CRITERIA, KINETIC_MARGIN_V

    out: dict[str, float] = {}
    for crit, row in zip(CHEMISTRY_CRITERIA, rows, strict=True):
        value, unc, _unit, status, _reason, method, _src = row
        u = max(float(unc), MIN_UNC_V) if unc == unc else MIN_UNC_V
        if crit == "li_ion_resistance" or method == "not-applicable":
            p = 0.0  # transport enters the resistance prior, not the survival
        elif status == "unknown":
            p = P_UNKNOWN
        elif crit == "oxidation_limit":
            p = 0.0 if math.isinf(value) else _phi((ctx.v_max - value - KINETIC_MARGIN_V) / u)
        elif crit == "reduction_limit":
            p = _phi((value - ctx.v_min - KINETIC_MARGIN_V) / u)
        elif crit == "anion_exchange":
            p = _phi((_EXCHANGE_FAIL_EV - value) / u)
        elif crit == "electrolyte_redox":
            p = _phi(value / u)
        elif crit == "cathode_redox":
            p = 1.0 if status == "fail" else 0.0
        elif crit == "electronic":
            p = P_CONDUCTING if status == "warn" else 0.0
        else:  # pragma: no cover - a new criterion must be given a hazard here
            raise KeyError(crit)
        out[crit] = float(min(max(p, 0.0), 1.0))
    return out


@dataclass(frozen=True)
class CoatingPrior:
    """Thickness-independent part of one coating's prior on one pair."""

    survival: float
    log10_sigma: float  # film Li-ion conductivity (S/cm), NaN when not estimated
    log10_sigma_unc: float
    hazards: tuple[tuple[str, float], ...]
    sigma_computed: bool = False  # only a computed (pristine film) conductivity is known


@lru_cache(maxsize=4096)
def _pair_ctx(electrode: str, electrolyte: str) -> Any:
    from coatml.exceptions import FormulaError
    from coatml.features.screening import pair_context

    try:
        return pair_context(electrode, electrolyte, "electrode")
    except (FormulaError, ValueError, KeyError):
        return None


@lru_cache(maxsize=65536)
def coating_prior(electrode: str, electrolyte: str, coating: str) -> CoatingPrior:
    """Survival and film conductivity of ``coating`` on the pair (names as in records)."""
    from coatml.data.formulas import resolve_material
    from coatml.exceptions import FormulaError
    from coatml.features import thermo
    from coatml.features.screening import (
        CHEMISTRY_CRITERIA,
        _film_table,
        chemistry_rows,
        film_entry,
    )

    ctx = _pair_ctx(electrode, electrolyte)
    _films, _mean, film_sd = _film_table()
    try:
        mat = resolve_material(coating)
    except (FormulaError, ValueError):
        mat = None
    if ctx is None or mat is None:
        s = (1.0 - P_UNKNOWN) ** len(CHEMISTRY_CRITERIA)
        return CoatingPrior(s, math.nan, film_sd,
                            tuple((c, P_UNKNOWN) for c in CHEMISTRY_CRITERIA))
    comp = mat.composition
    elements = sorted(el.symbol for el in comp.elements)
    li = float(comp.get_atomic_fraction("Li"))
    rows = chemistry_rows(comp.reduced_formula, mat.name, elements, li, ctx, 1.0)
    hz = _hazards(rows, ctx)
    s = float(np.prod([1.0 - p for p in hz.values()]))
    ion = rows[CHEMISTRY_CRITERIA.index("li_ion_resistance")]
    log_asr_1nm, unc = float(ion[0]), float(ion[1])
    log_sigma = math.log10(1e-7) - log_asr_1nm if log_asr_1nm == log_asr_1nm else math.nan
    film = film_entry(thermo.plain_formula(comp.reduced_formula), mat.name)
    computed = film is not None and film[3].startswith("computed")
    return CoatingPrior(s, log_sigma, unc if log_sigma == log_sigma else film_sd,
                        tuple(hz.items()), computed)


def blocking_hazard(log10_sigma: np.ndarray, log10_sigma_unc: np.ndarray,
                    thickness_nm: np.ndarray, computed: np.ndarray | None = None
                    ) -> np.ndarray:
    """Probability that a film of this conductivity and thickness blocks the cell (see the
    module docstring): :data:`P_UNKNOWN` where the conductivity or the thickness is missing
    or the conductivity is only ``computed`` for the pristine film."""
    cal = load_calibration()
    lsig = np.asarray(log10_sigma, dtype=float)
    t = np.asarray(thickness_nm, dtype=float)
    ok = np.isfinite(lsig) & np.isfinite(t) & (t > 0)
    if computed is not None:
        ok &= ~np.asarray(computed, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_asr = np.log10(np.where(ok, t, 1.0) * 1e-7) - np.where(ok, lsig, 0.0)
    unc = np.maximum(np.nan_to_num(np.asarray(log10_sigma_unc, dtype=float)), MIN_UNC_DECADES)
    from scipy.special import ndtr

    return np.where(ok, ndtr((log_asr - cal.log10_resistance_coated) / unc), P_UNKNOWN)


def coverage_hazard(thickness_nm: np.ndarray) -> np.ndarray:
    """Probability that a film of this thickness leaves the interface open (see the module
    docstring); :data:`P_UNKNOWN` without a thickness."""
    from scipy.special import ndtr

    t = np.asarray(thickness_nm, dtype=float)
    ok = np.isfinite(t) & (t > 0)
    z = (math.log10(COVERAGE_HALF_NM) - np.log10(np.where(ok, t, 1.0))) / COVERAGE_WIDTH_DECADES
    return np.where(ok, ndtr(z), P_UNKNOWN)


@dataclass(frozen=True)
class _Block:
    """The prior block and the per-row parts it was built from (for :func:`prior_for`)."""

    values: np.ndarray  # (n, 4), PRIOR_COLUMNS
    survival: np.ndarray  # chemistry x coverage x transport
    p_li_ion_resistance: np.ndarray
    p_coverage: np.ndarray


def prior_from_keys(keys: list[tuple[str, str, str]], codes: np.ndarray, coated: np.ndarray,
                    thickness_nm: np.ndarray) -> np.ndarray:
    """``(n, 4)`` prior block (:data:`PRIOR_COLUMNS`): row ``i`` is the (electrode,
    electrolyte, coating) ``keys[codes[i]]``; ``coated`` False marks bare controls; a NaN
    thickness makes the transport and coverage hazards unknown. Callers that hold codes of
    distinct materials (the feature pipeline) skip factorizing names row by row."""
    return _block(keys, codes, coated, thickness_nm).values


def prior_from_names(electrode: np.ndarray, electrolyte: np.ndarray, coating: np.ndarray,
                     coated: np.ndarray, thickness_nm: np.ndarray) -> np.ndarray:
    """:func:`prior_from_keys` for arrays of names."""
    codes, uniques = pd.factorize(pd.MultiIndex.from_arrays([electrode, electrolyte, coating]))
    return prior_from_keys(list(uniques), codes, coated, thickness_nm)


def _block(keys: list[tuple[str, str, str]], codes: np.ndarray, coated: np.ndarray,
           thickness_nm: np.ndarray) -> _Block:
    cal = load_calibration()
    n = len(codes)
    out = np.empty((n, len(PRIOR_COLUMNS)))
    cps = [coating_prior(str(a), str(b), str(c)) for a, b, c in keys]
    surv = np.array([c.survival for c in cps])[codes]
    lsig = np.array([c.log10_sigma for c in cps])[codes]
    lsig_unc = np.array([c.log10_sigma_unc for c in cps])[codes]
    computed = np.array([c.sigma_computed for c in cps], dtype=bool)[codes]
    t = np.asarray(thickness_nm, dtype=float)
    p_res = blocking_hazard(lsig, lsig_unc, t, computed)
    p_cov = coverage_hazard(t)
    surv = surv * (1.0 - p_cov)
    surv_t = surv * (1.0 - p_res)
    dr = cal.retention_coated_pct - cal.retention_bare_pct
    out[:, 0] = cal.retention_bare_pct + dr * surv_t
    out[:, 1] = np.sqrt(cal.retention_sd_pct ** 2 + dr ** 2 * surv_t * (1.0 - surv_t))
    var_s = surv * (1.0 - surv)
    contact = 10.0 ** cal.log10_resistance_coated
    with np.errstate(invalid="ignore", over="ignore"):
        film = np.where(np.isfinite(lsig) & np.isfinite(t), t * 1e-7 / 10.0 ** lsig, 0.0)
    share = film / (contact + film)
    log_coated = np.log10(contact + film)
    dres = cal.log10_resistance_bare - cal.log10_resistance_coated
    out[:, 2] = surv * log_coated + (1.0 - surv) * cal.log10_resistance_bare
    film_term = np.where(np.isfinite(lsig), share * lsig_unc, lsig_unc)
    out[:, 3] = np.sqrt(cal.log10_resistance_sd ** 2 + dres ** 2 * var_s
                        + (surv * film_term) ** 2)
    bare = ~np.asarray(coated, dtype=bool)
    out[bare, 0] = cal.retention_bare_pct
    out[bare, 1] = cal.retention_sd_pct
    out[bare, 2] = cal.log10_resistance_bare
    out[bare, 3] = cal.log10_resistance_sd
    return _Block(out, surv_t, p_res, p_cov)


def prior_for(electrode: str, electrolyte: str, coatings: list[str],
              coated_component: str = "auto", thickness_nm: float = 2.5) -> pd.DataFrame:
    """The prior of each coating on one pair at ``thickness_nm``: ``coating``, then the prior
    mean and std of each target (retention in %, resistance in log10 ohm cm2), ``survival``
    and the per-criterion failure probabilities (``p_<criterion>``). ``coated_component`` is
    accepted for symmetry with the screening (the chemistry does not depend on it)."""
    del coated_component
    n = len(coatings)
    keys = [(electrode, electrolyte, str(c)) for c in coatings]
    block = _block(keys, np.arange(n), np.ones(n, dtype=bool), np.full(n, float(thickness_nm)))
    out = pd.DataFrame(block.values, columns=list(PRIOR_COLUMNS))
    out.insert(0, "coating", list(coatings))
    res = "interface_resistance_ohm_cm2"
    out = out.rename(columns={
        prior_column(res): "prior_log10_interface_resistance",
        prior_column(res, True): "prior_log10_interface_resistance_std",
        prior_column("capacity_retention_pct"): "prior_capacity_retention_pct",
        prior_column("capacity_retention_pct", True): "prior_capacity_retention_pct_std"})
    out["survival"] = block.survival
    parts = [coating_prior(*key) for key in keys]
    for crit, _ in parts[0].hazards if parts else ():
        out[f"p_{crit}"] = [dict(p.hazards)[crit] for p in parts]
    if n:
        out["p_li_ion_resistance"] = block.p_li_ion_resistance
        out["p_coverage"] = block.p_coverage
    return out


def write_calibration(path: str | None = None) -> PriorCalibration:
    """Recompute the anchors from the bundled literature and write ``prior.toml``."""
    from pathlib import Path

    from coatml.data.literature import load_literature

    table = load_literature()
    cal = calibrate(table.records, table.content_hash)
    head = ("# Anchors of the physics prior (coatml.features.prior), computed by\n"
            "# coatml.features.prior.calibrate() from the bundled literature (coated and bare "
            "control cells):\n# medians of capacity retention (%) and log10 interface resistance "
            "(ohm cm2), and the standard\n# deviation of the coated cells. Regenerate with "
            "`python -m coatml.features.prior` after the\n# literature changes; a test checks "
            "this file against the recomputation.\n\n[calibration]\n")
    body = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in cal.as_dict().items())
    target = Path(path) if path else Path(str(resources.files("coatml.features.data")
                                              .joinpath(CALIBRATION_FILE)))
    target.write_text(head + body)
    load_calibration.cache_clear()
    return cal


if __name__ == "__main__":  # pragma: no cover
    print(write_calibration())
