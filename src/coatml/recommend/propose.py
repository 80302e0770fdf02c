"""Propose the next batch of ALD/MLD recipes for one electrode / electrolyte pair.

:func:`propose` scores the feasible recipe space (:mod:`coatml.recommend.space`) in chunks:
each chunk is featurized, predicted by the surrogates (mean, std and, for Thompson sampling,
the ensemble members), weighted by the chance of a working cell
(:mod:`coatml.recommend.feasibility`) and screened by the acquisition
(:mod:`coatml.recommend.acquisition`); only a running top-``pool_size`` pool is kept, so a space
of millions of recipes never sits in memory. The batch is then picked from the pool one recipe
at a time with

* a believer update of the acquisition state after each pick (EI, ParEGO, EHVI), and
* local penalisation: a recipe of a coating already picked is blocked once that coating has
  ``max_per_coating`` picks, and otherwise down-weighted by ``1 - exp(-d^2 / 2)`` where ``d`` is
  its distance to the pick in (``ln`` thickness / ``ln 2``, temperature / 50 degC),

so a batch is not K copies of one idea. ``same_temperature`` picks, among reactor temperatures
that enough candidates' process windows contain, the one whose batch has the largest total
acquisition (every recipe re-scored at that temperature).

Without a model the batch is a seeded space-filling design (greedy maximin over coating x
temperature x ln thickness on a uniform sample of the feasible space), and the proposal says so.

The batch comes back in the record schema with empty target columns for the lab to fill,
``proposal_id`` per row, ``data_kind = "lab"`` and ``source = "coatml proposal <id>"``, plus
``pred_*`` columns (predicted mean and std per target, chance of a working cell), ``acq_*`` and
``proposed_*`` columns, which ``coatml data add`` ignores.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from coatml.data.schema import TARGETS
from coatml.recommend.acquisition import (
    AcqContext,
    Acquisition,
    Objective,
    PredictionBlock,
    complete_context,
    expected_improvement,
    make_acquisition,
    make_context,
)
from coatml.recommend.space import SpaceSpec, candidate_table, iter_recipe_space

__all__ = ["BatchRequest", "Constraints", "ModelRecommender", "Proposal", "Scorer",
           "SpaceFillingRecommender", "StoppingSignal", "TwoPhaseRecommender", "check_strategy",
           "pair_records", "propose"]

#: Record-schema columns of a proposed recipe, in output order.
RECIPE_COLUMNS = (
    "electrode", "electrolyte", "coating", "coated_component", "method", "precursors",
    "temperature_c", "gpc_angstrom", "cycles", "thickness_nm", "cycle_number", "c_rate",
    "test_temperature_c", "current_density_ma_cm2",
)
THICKNESS_SCALE_LN = math.log(2.0)
TEMPERATURE_SCALE_C = 50.0


@dataclass(frozen=True)
class Constraints:
    """Constraints of a batch. ``family`` matches the candidate's family, coating class or
    anion (case-insensitive); ``exclude_elements`` removes coatings containing any of them;
    ``max_coatings`` is the budget of distinct coatings in the batch; ``same_temperature``
    makes every recipe share one deposition temperature (one reactor run)."""

    family: str | None = None
    exclude_elements: tuple[str, ...] = ()
    min_temperature_c: float | None = None
    max_temperature_c: float | None = None
    min_thickness_nm: float | None = None
    max_thickness_nm: float | None = None
    max_coatings: int | None = None
    max_per_coating: int = 1
    same_temperature: bool = False
    temperature_step_c: float = 10.0

    def per_coating(self, n: int) -> int:
        """Picks allowed per coating: enough to fill ``n`` within the coating budget."""
        if self.max_coatings:
            return max(self.max_per_coating, math.ceil(n / self.max_coatings))
        return self.max_per_coating


@dataclass(frozen=True)
class StoppingSignal:
    """Is another batch worth it? ``max_expected_improvement``: the largest expected
    improvement left in the screened space per target (model space: percentage points of
    retention, decades of resistance); ``best_so_far``: the best measured value of the pair
    per target (natural units, NaN when none)."""

    max_expected_improvement: Mapping[str, float]
    best_so_far: Mapping[str, float]
    n_observed: int

    def text(self) -> str:
        parts = []
        for target, ei in self.max_expected_improvement.items():
            unit = "decades" if target == "interface_resistance_ohm_cm2" else "% points"
            best = self.best_so_far.get(target, float("nan"))
            best_text = "none measured" if not np.isfinite(best) else f"{best:.4g}"
            parts.append(f"{target}: best so far {best_text}, largest expected improvement "
                         f"left {ei:.3g} {unit}")
        return "; ".join(parts) + f" ({self.n_observed} measured records of this pair)"


@dataclass(frozen=True)
class Proposal:
    """A proposed batch and how it was chosen."""

    batch: pd.DataFrame
    batch_id: str
    objective: str
    strategy: str
    stopping: StoppingSignal | None
    n_scored: int
    temperature_c: float | None = None
    fallback: str | None = None
    messages: tuple[str, ...] = ()
    seconds: float = 0.0
    space_index: tuple[Any, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def _quiet(fn: Any, *args: Any) -> Any:
    from coatml.features.process import precursor_warnings_ignored

    with precursor_warnings_ignored():
        return fn(*args)


class Scorer:
    """Predictions of the surrogates (one per objective target) in utility space, through the
    :class:`~coatml.models.surrogate.Surrogate` contract only.

    ``feature_cache``: full featurizer output for a fixed space (same index), used for rows
    that were not modified (the closed-loop benchmark featurizes its space once).
    ``noise_free``: the std is that of the latent outcome (the ensemble's residual-noise term
    removed), the uncertainty that expected improvement is defined on; with few records that
    term is the out-of-bag misfit, the same for every recipe, and swamps the spread that
    differs between recipes, which turns EI into a ranking by the mean.
    """

    def __init__(self, models: Mapping[str, Any], objective: Objective,
                 feasibility: Any | None = None, feature_cache: pd.DataFrame | None = None,
                 members: bool = False, noise_free: bool = False) -> None:
        from coatml.models.surrogate import as_surrogate

        missing = [t for t in objective.targets if t not in models]
        if missing:
            raise ValueError(f"objective '{objective.name}' needs a model of {missing}")
        self.models = {t: as_surrogate(models[t]) for t in objective.targets}
        self.objective = objective
        self.feasibility = feasibility
        self.feature_cache = feature_cache
        self.members = members
        self.noise_free = noise_free

    @property
    def n_members(self) -> int:
        return min(m.n_members for m in self.models.values())

    def features(self, chunk: pd.DataFrame, cached: bool = True) -> dict[str, pd.DataFrame]:
        """Each surrogate's features of ``chunk`` (from the cache when ``cached``), through
        its checked ``featurize`` otherwise."""
        from coatml.models.surrogate import shared_features

        if cached and self.feature_cache is not None:
            X = self.feature_cache.loc[chunk.index]
            return {t: m.select_features(X) for t, m in self.models.items()}
        return _quiet(shared_features, self.models, chunk)

    def _feasibility_features(self, X: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
        """Features of the feasibility model's feature set without featurizing the chunk
        again: a surrogate's matrix of that set, if any (the cache serves cached rows)."""
        want = getattr(self.feasibility, "feature_set", None)
        for target, model in self.models.items():
            key = model.feature_key()
            if key is not None and key[0] == want:
                return X[target]
        return None

    def block(self, chunk: pd.DataFrame, cached: bool = True,
              X: Mapping[str, pd.DataFrame] | None = None) -> PredictionBlock:
        """Predictions for ``chunk``; ``X``: its features when the caller has them already."""
        X = self.features(chunk, cached) if X is None else X
        means, stds, members = [], [], []
        for target, model in self.models.items():
            dist = model.dist_from_features(X[target], latent=self.noise_free)
            sign = 1.0 if model.target_.higher_is_better else -1.0
            means.append(sign * dist["mean"].to_numpy(dtype=float))
            stds.append(dist["std"].to_numpy(dtype=float))
            if self.members:
                members.append(sign * model.members_from_features(X[target]))
        p = None
        if self.feasibility is not None:
            full = (self.feature_cache.loc[chunk.index]
                    if cached and self.feature_cache is not None
                    else self._feasibility_features(X))
            p = np.clip(self.feasibility.predict_working(chunk, features=full), 0.0, 1.0)
        mem = None
        if self.members:
            k = min(m.shape[0] for m in members)
            mem = np.stack([m[:k] for m in members], axis=-1)
        return PredictionBlock(np.stack(means, axis=1), np.stack(stds, axis=1), mem, p)

    @property
    def can_condition(self) -> bool:
        """Every surrogate can condition on fantasised outcomes (a Gaussian process can)."""
        from coatml.models.surrogate import CONDITION

        return all(CONDITION in m.capabilities for m in self.models.values())

    def condition(self, rows: pd.DataFrame, block: PredictionBlock,
                  X: Mapping[str, pd.DataFrame]) -> Scorer:
        """A scorer whose surrogates also condition on ``rows`` (features ``X``) having come
        out at their predicted means (``block``): the kriging believer of a batch. It re-scores
        the std only, so it leaves the chance of a working cell to the caller's block."""
        import copy

        models: dict[str, Any] = {}
        for j, (target, model) in enumerate(self.models.items()):
            sign = 1.0 if model.target_.higher_is_better else -1.0
            models[target] = model.condition(X[target], sign * block.mean[:, j])
        out = copy.copy(self)
        out.models = models
        out.feasibility = None
        return out


def _take(X: Mapping[str, pd.DataFrame], rows: Any) -> dict[str, pd.DataFrame]:
    """Rows (positions) of each surrogate's feature matrix."""
    return {t: frame.iloc[rows] for t, frame in X.items()}


# ---------------------------------------------------------------------------------------------
# Constraints on rows
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _elements_of(name: str) -> frozenset[str]:
    from coatml.data.formulas import parse_formula, resolve_material
    from coatml.exceptions import FormulaError

    try:
        comp = parse_formula(name)
    except FormulaError:
        try:
            comp = resolve_material(name).composition
        except (FormulaError, FileNotFoundError):
            return frozenset()
    return frozenset(el.symbol for el in comp.elements)


def _coating_key(chunk: pd.DataFrame) -> np.ndarray:
    """The coating chemistry of each row (reduced formula where known, else the name)."""
    if "reduced_formula" in chunk.columns:
        key = chunk["reduced_formula"].astype("object")
        return np.where(key.isna(), chunk["coating"].astype(str), key.astype(str))
    return chunk["coating"].astype(str).to_numpy()


def constraint_mask(chunk: pd.DataFrame, c: Constraints) -> np.ndarray:
    """Rows of a recipe-space chunk that satisfy the row-level constraints."""
    ok = np.ones(len(chunk), dtype=bool)
    temp = chunk["temperature_c"].to_numpy(dtype=float)
    thick = chunk["thickness_nm"].to_numpy(dtype=float)
    # a limit excludes recipes whose value is unknown (they cannot be shown to satisfy it)
    if c.max_temperature_c is not None:
        ok &= temp <= c.max_temperature_c
    if c.min_temperature_c is not None:
        ok &= temp >= c.min_temperature_c
    if c.max_thickness_nm is not None:
        ok &= thick <= c.max_thickness_nm
    if c.min_thickness_nm is not None:
        ok &= thick >= c.min_thickness_nm
    if c.family:
        want = c.family.casefold()
        hit = np.zeros(len(chunk), dtype=bool)
        for col in ("family", "anion", "coating_class"):
            if col in chunk.columns:
                hit |= chunk[col].astype(str).str.casefold().to_numpy() == want
        ok &= hit
    if c.exclude_elements:
        banned = frozenset(c.exclude_elements)
        keys = _coating_key(chunk)
        names = chunk["coating"].astype(str).to_numpy()
        uniq = {k: i for i, k in enumerate(dict.fromkeys(zip(keys, names, strict=True)))}
        bad = np.array([bool((_elements_of(k) or _elements_of(n)) & banned) for k, n in uniq])
        codes = np.array([uniq[(k, n)] for k, n in zip(keys, names, strict=True)], dtype=int)
        ok &= ~bad[codes] if len(bad) else ok
    return ok


# ---------------------------------------------------------------------------------------------
# Pool and batch selection
# ---------------------------------------------------------------------------------------------


@dataclass
class _Pool:
    rows: pd.DataFrame | None = None
    block: PredictionBlock | None = None
    score: np.ndarray | None = None

    def add(self, rows: pd.DataFrame, block: PredictionBlock, score: np.ndarray,
            size: int) -> None:
        if self.rows is not None:
            assert self.block is not None and self.score is not None
            rows = pd.concat([self.rows, rows])
            block = PredictionBlock.concat([self.block, block])
            score = np.concatenate([self.score, score])
        if len(score) > size:
            # stable: ties keep the earlier row, so chunking does not change the pool
            keep = np.sort(np.argsort(-score, kind="stable")[:size])
            rows, block, score = rows.iloc[keep], block.take(keep), score[keep]
        self.rows, self.block, self.score = rows, block, score


def _penalty(rows: pd.DataFrame, keys: np.ndarray, j: int) -> np.ndarray:
    same = keys == keys[j]
    lt = np.log(np.maximum(rows["thickness_nm"].to_numpy(dtype=float), 1e-3))
    temp = rows["temperature_c"].to_numpy(dtype=float)
    d2 = ((lt - lt[j]) / THICKNESS_SCALE_LN) ** 2 + np.nan_to_num(
        (temp - temp[j]) / TEMPERATURE_SCALE_C) ** 2
    return np.where(same, 1.0 - np.exp(-0.5 * d2), 1.0)


def _select(rows: pd.DataFrame, block: PredictionBlock, strategy: Acquisition,
            ctx: AcqContext, n: int, c: Constraints, scorer: Scorer | None = None,
            cached: bool = True) -> tuple[list[int], list[float]]:
    """Greedy diverse batch from the pool: ``(positions, scores)``.

    With a ``scorer`` whose surrogates can condition (a Gaussian process), each pick is also
    fantasised at its predicted mean and the pool re-scored (kriging believer), so the std
    around a pick shrinks before the next one is chosen."""
    believer = scorer if scorer is not None and scorer.can_condition else None
    X = believer.features(rows, cached) if believer is not None else None
    keys = _coating_key(rows)
    p = block.p_working if block.p_working is not None else np.ones(block.n)
    penalty = np.ones(block.n)
    allowed = np.ones(block.n, dtype=bool)
    per_coating = c.per_coating(n)
    # lexicographic tie-breaker: higher mean utility first
    order = np.argsort(np.argsort(block.mean.sum(axis=1), kind="stable"), kind="stable")
    tie = 1e-9 * order / max(block.n, 1)
    counts: dict[str, int] = {}
    picks: list[int] = []
    scores: list[float] = []
    for i in range(n):
        s = strategy.score(block, ctx, pick=i) * p * penalty
        cand = allowed.copy()
        if c.max_coatings and len(counts) >= c.max_coatings:
            cand &= np.isin(keys, list(counts))
        if not cand.any():
            break
        eff = np.where(cand, s + tie, -np.inf)
        j = int(np.argmax(eff))
        picks.append(j)
        scores.append(float(s[j]))
        counts[keys[j]] = counts.get(keys[j], 0) + 1
        allowed[j] = False
        if counts[keys[j]] >= per_coating:
            allowed &= keys != keys[j]
        penalty *= _penalty(rows, keys, j)
        ctx = strategy.update(ctx, block.take(np.array([j])))
        if believer is not None and X is not None and i + 1 < n:
            believer = believer.condition(rows.iloc[[j]], block.take(np.array([j])),
                                          _take(X, [j]))
            fresh = believer.block(rows, X=X)
            block = replace(block, std=fresh.std, members=fresh.members)
    return picks, scores


def _reactor_temperatures(rows: pd.DataFrame, c: Constraints) -> np.ndarray:
    tmin = rows["temperature_min_c"].to_numpy(dtype=float) if "temperature_min_c" in rows \
        else rows["temperature_c"].to_numpy(dtype=float)
    tmax = rows["temperature_max_c"].to_numpy(dtype=float) if "temperature_max_c" in rows \
        else rows["temperature_c"].to_numpy(dtype=float)
    lo, hi = np.nanmin(tmin), np.nanmax(tmax)
    if c.min_temperature_c is not None:
        lo = max(lo, c.min_temperature_c)
    if c.max_temperature_c is not None:
        hi = min(hi, c.max_temperature_c)
    step = c.temperature_step_c
    grid = np.arange(math.ceil(lo / step) * step, hi + 1e-9, step) if hi >= lo else np.array([])
    own = rows["temperature_c"].to_numpy(dtype=float)
    own = own[(own >= lo) & (own <= hi)]
    return np.unique(np.round(np.concatenate([grid, own]), 6))


def _same_temperature(rows: pd.DataFrame, scorer: Scorer | None, strategy: Acquisition | None,
                      ctx: AcqContext | None, n: int, c: Constraints, rng: np.random.Generator
                      ) -> tuple[pd.DataFrame, PredictionBlock | None, list[int], list[float],
                                 float | None]:
    """Choose the reactor temperature whose batch has the largest total acquisition among
    temperatures that enough distinct coatings' windows contain."""
    keys = _coating_key(rows)
    tmin = rows.get("temperature_min_c", rows["temperature_c"]).to_numpy(dtype=float)
    tmax = rows.get("temperature_max_c", rows["temperature_c"]).to_numpy(dtype=float)
    tmin = np.where(np.isnan(tmin), tmax, tmin)
    tmax = np.where(np.isnan(tmax), tmin, tmax)
    need = math.ceil(n / c.per_coating(n))
    best: tuple[float, pd.DataFrame, PredictionBlock | None, list[int], list[float], float] | None
    best = None
    for temp in _reactor_temperatures(rows, c):
        inside = (tmin <= temp + 1e-9) & (tmax >= temp - 1e-9)
        if len(set(keys[inside])) < need:
            continue
        sub = rows.loc[inside].copy()
        sub["temperature_c"] = float(temp)
        sub = sub.drop_duplicates(subset=["coating", "precursors", "thickness_nm"])
        if scorer is None:
            picks = _maximin(sub, n, c, rng)
            total, block, scores = float(len(picks)), None, [float("nan")] * len(picks)
        else:
            assert strategy is not None and ctx is not None
            block = scorer.block(sub, cached=False)
            picks, scores = _select(sub, block, strategy, ctx, n, c, scorer, cached=False)
            total = float(np.sum(scores))
        if len(picks) < n:
            continue
        if best is None or total > best[0] + 1e-12:
            best = (total, sub, block, picks, scores, float(temp))
    if best is None:
        raise ValueError(
            f"--same-temperature: no deposition temperature lies in the process windows of "
            f"enough coatings for a batch of {n}; lower the batch size or relax the constraints")
    _, sub, block, picks, scores, temp = best
    return sub, block, picks, scores, temp


def _maximin(rows: pd.DataFrame, n: int, c: Constraints, rng: np.random.Generator) -> list[int]:
    """Greedy maximin design over coating x temperature x ln thickness (seeded start)."""
    if len(rows) == 0:
        return []
    keys = _coating_key(rows)
    temp = rows["temperature_c"].to_numpy(dtype=float)
    lt = np.log(np.maximum(rows["thickness_nm"].to_numpy(dtype=float), 1e-3))
    span_t = max(np.nanmax(temp) - np.nanmin(temp), 1.0)
    span_l = max(lt.max() - lt.min(), 1e-6)
    zt, zl = np.nan_to_num((temp - np.nanmin(temp)) / span_t), (lt - lt.min()) / span_l
    per_coating = c.per_coating(n)
    allowed = np.ones(len(rows), dtype=bool)
    dmin = np.full(len(rows), np.inf)
    counts: dict[str, int] = {}
    picks: list[int] = []
    for _ in range(n):
        cand = allowed.copy()
        if c.max_coatings and len(counts) >= c.max_coatings:
            cand &= np.isin(keys, list(counts))
        if not cand.any():
            break
        if not picks:
            j = int(rng.choice(np.flatnonzero(cand)))
        else:
            noise = rng.random(len(rows)) * 1e-6
            j = int(np.argmax(np.where(cand, dmin + noise, -np.inf)))
        picks.append(j)
        counts[keys[j]] = counts.get(keys[j], 0) + 1
        allowed[j] = False
        if counts[keys[j]] >= per_coating:
            allowed &= keys != keys[j]
        d = np.sqrt((zt - zt[j]) ** 2 + (zl - zl[j]) ** 2) + np.where(keys == keys[j], 0.0, 1.0)
        dmin = np.minimum(dmin, d)
    return picks


# ---------------------------------------------------------------------------------------------
# Observations of the pair
# ---------------------------------------------------------------------------------------------


def pair_records(observed: pd.DataFrame | None, electrode: str, electrolyte: str
                 ) -> pd.DataFrame:
    if observed is None or len(observed) == 0:
        return pd.DataFrame()
    e = _material_keys(observed["electrode"])
    s = _material_keys(observed["electrolyte"])
    from coatml.data.formulas import chemistry_key

    return observed.loc[(e == chemistry_key(electrode)) & (s == chemistry_key(electrolyte))]


def _material_keys(values: pd.Series) -> np.ndarray:
    from coatml.data.formulas import chemistry_key

    codes, uniques = pd.factorize(values.astype(str))
    keys = np.asarray([chemistry_key(u) for u in uniques], dtype=object)
    return keys[codes]


def _recipe_keys(frame: pd.DataFrame) -> list[tuple[str, float, float]]:
    """(coating chemistry, deposition temperature to 1 degC, thickness to 0.01 nm) per row:
    the identity of a recipe (within one recipe space the thickness fixes the cycles).
    Thickness falls back to ``gpc_angstrom * cycles / 10`` where it is missing."""
    if len(frame) == 0:
        return []
    chem = _material_keys(frame["coating"].fillna(""))
    temp = pd.to_numeric(frame.get("temperature_c"), errors="coerce").to_numpy(dtype=float)
    thick = pd.to_numeric(frame.get("thickness_nm"), errors="coerce").to_numpy(dtype=float)
    if "cycles" in frame and "gpc_angstrom" in frame:
        derived = (pd.to_numeric(frame["gpc_angstrom"], errors="coerce")
                   * pd.to_numeric(frame["cycles"], errors="coerce") / 10.0).to_numpy(float)
        thick = np.where(np.isnan(thick), derived, thick)
    return [(str(c), float(np.round(t, 0)), float(np.round(h, 2)))
            for c, t, h in zip(chem, temp, thick, strict=True)]


def runnable_mask(chunk: pd.DataFrame) -> np.ndarray:
    """Rows a lab can run as written: a deposition temperature, cycles, a thickness and
    precursors are all known."""
    ok = np.ones(len(chunk), dtype=bool)
    for col in ("temperature_c", "cycles", "thickness_nm"):
        ok &= np.isfinite(pd.to_numeric(chunk[col], errors="coerce").to_numpy(dtype=float))
    prec = chunk["precursors"].astype("object")
    ok &= (prec.notna() & (prec.astype(str).str.strip() != "")).to_numpy()
    return ok


@dataclass
class _Exclusions:
    """What a batch must not contain: recipes run (or pending) ``replicates`` times already,
    space rows excluded by position, and the counts removed for the report."""

    done: dict[tuple[str, float, float], int]
    replicates: int
    index: set[Any]
    not_runnable: set[str] = field(default_factory=set)
    n_repeat: int = 0

    @classmethod
    def build(cls, measured: pd.DataFrame, pending: pd.DataFrame | None, replicates: int,
              index: Iterable[Any] | None) -> _Exclusions:
        done: dict[tuple[str, float, float], int] = {}
        coated = measured
        if len(measured) and "coating" in measured:
            text = measured["coating"].astype("object")
            coated = measured.loc[text.notna() & (text.astype(str).str.strip() != "")]
        frames = [coated] + ([pending] if pending is not None and len(pending) else [])
        for frame in frames:
            for key in _recipe_keys(frame):
                done[key] = done.get(key, 0) + 1
        return cls(done, int(replicates), set(index) if index is not None else set())

    def mask(self, chunk: pd.DataFrame) -> np.ndarray:
        ok = runnable_mask(chunk)
        if (~ok).any():
            self.not_runnable.update(chunk.loc[~ok, "coating"].astype(str))
        if self.index:
            ok &= ~chunk.index.isin(list(self.index))
        if self.done and ok.any():
            keys = _recipe_keys(chunk)
            again = np.array([self.done.get(k, 0) >= self.replicates for k in keys])
            self.n_repeat += int((again & ok).sum())
            ok &= ~again
        return ok

    def messages(self) -> list[str]:
        out = []
        if self.not_runnable:
            names = sorted(self.not_runnable)
            shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
            out.append(f"{len(names)} candidate coating(s) not proposed: no deposition "
                       f"temperature, cycles or precursors known for them ({shown})")
        if self.n_repeat:
            out.append(f"{self.n_repeat} recipe(s) already measured or pending "
                       f"{self.replicates} time(s) in this workspace were not proposed again "
                       "(ask for replicates with --replicates N)")
        return out


def _observed_utility(pair: pd.DataFrame, objective: Objective) -> np.ndarray:
    from coatml.models.targets import get_target

    if len(pair) == 0:
        return np.empty((0, len(objective.targets)))
    cols = []
    for target, sign in zip(objective.targets, objective.signs, strict=True):
        values = pd.to_numeric(pair.get(target), errors="coerce").to_numpy(dtype=float)
        cols.append(sign * get_target(target).forward(values))
    return np.stack(cols, axis=1)


def _best_so_far(pair: pd.DataFrame, objective: Objective) -> dict[str, float]:
    from coatml.models.targets import get_target

    out = {}
    for target in objective.targets:
        values = pd.to_numeric(pair.get(target, pd.Series(dtype=float)), errors="coerce")
        values = values.dropna()
        if values.empty:
            out[target] = float("nan")
        else:
            out[target] = float(values.max() if get_target(target).higher_is_better
                                else values.min())
    return out


# ---------------------------------------------------------------------------------------------
# propose
# ---------------------------------------------------------------------------------------------


def _chunks(spec: SpaceSpec, space: pd.DataFrame | None, candidates: pd.DataFrame | None,
            chunk_size: int) -> Iterator[pd.DataFrame]:
    if space is not None:
        rows_per_chunk = max(1, chunk_size) * 20
        for start in range(0, len(space), rows_per_chunk):
            yield space.iloc[start:start + rows_per_chunk]
        return
    if candidates is None:
        candidates, _ = candidate_table(spec)
    yield from iter_recipe_space(spec, candidates, candidates_per_chunk=max(1, chunk_size))


def _batch_id(spec: SpaceSpec, seed: int) -> str:
    text = f"{spec.electrode}|{spec.electrolyte}|{seed}|{time.time_ns()}"
    return "p" + hashlib.sha1(text.encode()).hexdigest()[:8]


@dataclass
class BatchRequest:
    """One request for a batch: the pair's space and everything a recommender needs, shared
    by the recommenders (built by :func:`propose`)."""

    spec: SpaceSpec
    objective: Objective
    n: int
    constraints: Constraints
    seed: int
    batch_id: str
    chunk_size: int = 200
    observed: pd.DataFrame | None = None
    pair: pd.DataFrame = field(default_factory=pd.DataFrame)
    space: pd.DataFrame | None = None
    candidates: pd.DataFrame | None = None
    feature_cache: pd.DataFrame | None = None
    exclusions: _Exclusions | None = None
    messages: list[str] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Chunks of the feasible space: constraints applied, unrunnable, excluded and
        already-measured recipes removed (counted in :attr:`exclusions`)."""
        for chunk in _chunks(self.spec, self.space, self.candidates, self.chunk_size):
            mask = constraint_mask(chunk, self.constraints)
            if self.exclusions is not None:
                mask &= self.exclusions.mask(chunk)
            chunk = chunk.loc[mask]
            if len(chunk):
                yield chunk

    def no_recipe(self) -> ValueError:
        reasons = "; ".join(self.exclusions.messages()) if self.exclusions else ""
        return ValueError(f"no feasible recipe for {self.spec.electrode} | "
                          f"{self.spec.electrolyte} under the constraints"
                          + (f" ({reasons})" if reasons else ""))

    def finish(self, batch: pd.DataFrame, strategy: str, stopping: StoppingSignal | None,
               n_scored: int, temperature: float | None, fallback: str | None,
               index: tuple[Any, ...]) -> Proposal:
        messages = list(self.messages)
        if self.exclusions is not None:
            messages += self.exclusions.messages()
        if fallback:
            messages.append(fallback)
        if len(batch) < self.n:
            messages.append(f"only {len(batch)} recipes satisfy the constraints (asked for "
                            f"{self.n})")
        return Proposal(batch, self.batch_id, self.objective.name, strategy, stopping,
                        n_scored, temperature, fallback, tuple(messages),
                        time.perf_counter() - self.t0, index)


@dataclass(frozen=True)
class SpaceFillingRecommender:
    """Cold start: a seeded space-filling design (uniform reservoir sample of the feasible
    space, then greedy maximin over coating x deposition temperature x ln thickness)."""

    sample_size: int = 2000
    name: ClassVar[str] = "space-filling"

    def __post_init__(self) -> None:
        if self.sample_size < 1:
            raise ValueError("sample_size must be >= 1")

    def recommend(self, req: BatchRequest, reason: str | None = None) -> Proposal:
        rng = req.rng()
        size = max(self.sample_size, 100 * req.n)
        keep_rows: pd.DataFrame | None = None
        keep_keys = np.empty(0)
        n_scored = 0
        for chunk in req.chunks():
            n_scored += len(chunk)
            keys = rng.random(len(chunk))
            rows = chunk if keep_rows is None else pd.concat([keep_rows, chunk])
            allk = np.concatenate([keep_keys, keys])
            if len(allk) > size:
                sel = np.sort(np.argsort(allk)[:size])
                rows, allk = rows.iloc[sel], allk[sel]
            keep_rows, keep_keys = rows, allk
        if keep_rows is None or len(keep_rows) == 0:
            raise req.no_recipe()
        note = ((reason + ": ") if reason else "") + (
            "space-filling design (seeded greedy maximin over coating x deposition temperature "
            "x ln thickness), not model-guided")
        c = req.constraints
        temperature = None
        if c.same_temperature:
            rows, _, picks, _, temperature = _same_temperature(keep_rows, None, None, None,
                                                               req.n, c, rng)
        else:
            rows = keep_rows
            picks = _maximin(rows, req.n, c, rng)
        chosen = rows.iloc[picks]
        batch = _batch_frame(chosen, req.batch_id, self.name, np.full(len(picks), np.nan))
        stopping = StoppingSignal({t: float("nan") for t in req.objective.targets},
                                  _best_so_far(req.pair, req.objective), len(req.pair))
        return req.finish(batch, self.name, stopping, n_scored, temperature, note,
                          tuple(chosen.index))


@dataclass(frozen=True)
class ModelRecommender:
    """Model-guided batch: the acquisition (``strategy``) on the surrogates' predictions,
    weighted by the chance of a working cell, screened over the space in chunks, then a
    diverse batch picked from the top ``pool_size`` (believer updates; kriging believer when
    the surrogates can condition). ``noise_free``: acquisition on the latent std."""

    strategy: str | Acquisition = "auto"
    noise_free: bool = False
    pool_size: int | None = None

    def __post_init__(self) -> None:
        check_strategy(self.strategy)
        if self.pool_size is not None and self.pool_size < 1:
            raise ValueError("pool_size must be >= 1")

    @property
    def name(self) -> str:
        return self.strategy if isinstance(self.strategy, str) else self.strategy.name

    def recommend(self, req: BatchRequest, models: Mapping[str, Any],
                  feasibility: Any | None = None) -> Proposal:
        obj, n, c = req.objective, req.n, req.constraints
        rng = req.rng()
        acq = make_acquisition(self.strategy, obj)
        if feasibility is not None:
            req.messages.append(feasibility.message_)
        scorer = Scorer(models, obj, feasibility, req.feature_cache,
                        members=acq.needs_members, noise_free=self.noise_free)
        ctx = make_context(obj, _observed_utility(req.pair, obj), n_picks=n, seed=req.seed)
        had_obs = ctx.has_observations
        pool = _Pool()
        n_scored = 0
        max_ei = np.zeros(len(obj.targets))
        prepared = False
        pool_size = self.pool_size or max(400, 50 * n)
        for chunk in req.chunks():
            block = scorer.block(chunk)
            n_scored += len(chunk)
            if not prepared:
                ctx = acq.prepare(complete_context(ctx, block), scorer.n_members)
                prepared = True
            elif not had_obs:  # no measurement yet: the incumbent is the best predicted mean
                ctx = replace(ctx, incumbent=np.maximum(ctx.incumbent, block.mean.max(axis=0)))
            for j in range(len(obj.targets)):
                ei = expected_improvement(block.mean[:, j], block.std[:, j], ctx.incumbent[j])
                max_ei[j] = max(max_ei[j], float(ei.max()))
            p = block.p_working if block.p_working is not None else 1.0
            pool.add(chunk, block, acq.score(block, ctx) * p, pool_size)
        if pool.rows is None:
            raise req.no_recipe()
        temperature = None
        if c.same_temperature:
            rows, chosen_block, picks, scores, temperature = _same_temperature(
                pool.rows, scorer, acq, ctx, n, c, rng)
        else:
            rows, chosen_block = pool.rows, pool.block
            assert chosen_block is not None
            picks, scores = _select(rows, chosen_block, acq, ctx, n, c, scorer)
        assert chosen_block is not None
        stopping = StoppingSignal(dict(zip(obj.targets, map(float, max_ei), strict=True)),
                                  _best_so_far(req.pair, obj), len(req.pair))
        chosen = rows.iloc[picks]
        batch = _batch_frame(chosen, req.batch_id, acq.name, np.asarray(scores))
        _add_predictions(batch, chosen, models,
                         chosen_block.take(np.asarray(picks, dtype=int)), obj)
        return req.finish(batch, acq.name, stopping, n_scored, temperature, None,
                          tuple(chosen.index))


@dataclass(frozen=True)
class TwoPhaseRecommender:
    """Space-filling until every objective target has a surrogate, model-guided after
    (BayBE's two-phase meta recommender)."""

    initial: SpaceFillingRecommender = field(default_factory=SpaceFillingRecommender)
    model: ModelRecommender = field(default_factory=ModelRecommender)

    def recommend(self, req: BatchRequest, models: Mapping[str, Any] | None,
                  feasibility: Any | None = None) -> Proposal:
        usable = {t: m for t, m in (models or {}).items() if m is not None}
        missing = [t for t in req.objective.targets if t not in usable]
        if missing:
            if usable:
                req.messages.append(f"no model of {missing}")
            return self.initial.recommend(req, "no trained model for the objective")
        if feasibility is None and req.observed is not None and len(req.observed):
            from coatml.recommend.feasibility import FeasibilityModel

            feasibility = FeasibilityModel(random_state=req.seed).fit(req.observed)
        return self.model.recommend(req, usable, feasibility)


def check_strategy(strategy: str | Acquisition) -> None:
    """Refuse an unknown strategy name before any work (``ValueError`` naming the choices)."""
    from coatml.recommend.acquisition import STRATEGY_NAMES

    if isinstance(strategy, Acquisition):
        return
    if str(strategy).lower() not in ("auto", *STRATEGY_NAMES):
        raise ValueError(f"strategy must be one of {['auto', *STRATEGY_NAMES]}, "
                         f"not '{strategy}'")


def propose(
    spec: SpaceSpec,
    models: Mapping[str, Any] | None,
    objective: str | Objective = "retention",
    n: int = 4,
    strategy: str | Acquisition = "auto",
    constraints: Constraints | None = None,
    seed: int = 0,
    chunk_size: int = 200,
    *,
    observed: pd.DataFrame | None = None,
    feasibility: Any | None = None,
    pool_size: int | None = None,
    space: pd.DataFrame | None = None,
    candidates: pd.DataFrame | None = None,
    feature_cache: pd.DataFrame | None = None,
    exclude_index: Iterable[Any] | None = None,
    batch_id: str | None = None,
    noise_free: bool = False,
    pending: pd.DataFrame | None = None,
    replicates: int = 1,
) -> Proposal:
    """Propose ``n`` recipes for ``spec``'s pair (see the module docstring): a
    :class:`TwoPhaseRecommender` over a :class:`BatchRequest`.

    ``models``: target -> Surrogate (or registry LoadedModel); ``None`` or empty -> space-filling
    design. ``observed``: the workspace's records (the pair's give the incumbent, the stopping
    signal and the recipes already measured; all of them train the feasibility model unless
    ``feasibility`` is given). ``chunk_size``: candidates per scored chunk. ``space``: a ready
    recipe table (rows in chunks of ``20 * chunk_size``) instead of enumerating ``spec``;
    ``feature_cache``: its features. ``exclude_index``: space rows not to propose.
    ``pending``: recipes proposed and not yet measured (a campaign's), not proposed again.
    ``replicates``: how many times one recipe (coating chemistry, temperature, thickness) may
    be measured or pending before it is no longer proposed (1: never repeat a recipe).
    ``noise_free``: score on the latent (noise-free) std, see :class:`Scorer`.
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    if replicates < 1:
        raise ValueError("replicates must be >= 1")
    recommender = TwoPhaseRecommender(model=ModelRecommender(strategy, noise_free, pool_size))
    pair = pair_records(observed, spec.electrode, spec.electrolyte)
    req = BatchRequest(
        spec=spec, objective=Objective.parse(objective), n=n,
        constraints=constraints or Constraints(), seed=seed,
        batch_id=batch_id or _batch_id(spec, seed), chunk_size=chunk_size, observed=observed,
        pair=pair, space=space, candidates=candidates, feature_cache=feature_cache,
        exclusions=_Exclusions.build(pair, pending, replicates, exclude_index))
    return recommender.recommend(req, models, feasibility)


def _batch_frame(chosen: pd.DataFrame, batch_id: str, strategy: str,
                 scores: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame({col: chosen[col].to_numpy() if col in chosen else np.nan
                        for col in RECIPE_COLUMNS})
    for target in TARGETS:
        out[target] = np.nan
    out["cell_failed"] = ""  # the lab fills true where the cell failed
    out["outcome_note"] = ""
    out["data_kind"] = "lab"
    out["source"] = f"coatml proposal {batch_id}"
    out["proposal_id"] = [f"{batch_id}-{i + 1:02d}" for i in range(len(out))]
    out["acq_score"] = scores
    out["acq_strategy"] = strategy
    out["proposed_rank"] = np.arange(1, len(out) + 1)
    for col in ("family", "in_library", "gpc_estimated"):
        if col in chosen.columns:
            out[f"proposed_{col}"] = chosen[col].to_numpy()
    return out


def _add_predictions(batch: pd.DataFrame, chosen: pd.DataFrame, models: Mapping[str, Any],
                     block: PredictionBlock, obj: Objective) -> None:
    """The prediction columns of every model given
    (:func:`coatml.models.surrogate.prediction_columns`: ``pred_<target>`` is the median, as in
    ``coatml predict`` and ``coatml rank``; the std is the one the acquisition used), plus
    ``pred_p_working``."""
    from coatml.models.surrogate import as_surrogate, prediction_columns

    recipe = chosen.reset_index(drop=True)
    for target, model in models.items():
        m = as_surrogate(model)
        if target in obj.targets:
            j = obj.targets.index(target)
            dist = pd.DataFrame({"mean": block.mean[:, j] * obj.signs[j],
                                 "std": block.std[:, j]})
        else:
            dist = _quiet(m.predict_model_space, recipe).reset_index(drop=True)
        for col, values in prediction_columns(m.target_, dist).items():
            batch[col] = values
    batch["pred_p_working"] = block.p_working if block.p_working is not None else np.nan
