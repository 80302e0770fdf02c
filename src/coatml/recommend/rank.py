"""Rank untested coating chemistries for one electrode / electrolyte pair.

:func:`rank_coatings` scores every recipe of the feasible recipe space
(:mod:`coatml.recommend.space`: candidate coatings x their process grids) with the champion
models and keeps, for each candidate coating, its best process setting:

* ``objective="retention"``: the recipe with the highest predicted capacity retention (mean);
* ``objective="resistance"``: the recipe with the lowest predicted interface resistance (median,
  i.e. the lowest model-space log10 mean: the map ``10**x`` is monotone);
* ``objective="both"``: the recipe maximising the scalarised score
  ``retention_mean / sd_retention - log10_resistance_mean / sd_log10_resistance``, each target
  divided by the standard deviation of that model's training targets (``sqrt(target_var_)``
  of the ensemble, 1 when unknown): equal weights on the standardised objectives. A maximiser
  of a positively weighted sum is never dominated by another recipe of the same candidate, so
  the chosen recipe is on that candidate's own Pareto front.

Across candidates, the table carries the Pareto rank (non-dominated sorting on predicted
retention mean, up, and log10 resistance mean, down; 1 = the front) whenever both models are
given, predicted retention and resistance with 68 % and 95 % intervals in natural units, the
``tested`` mark (a record of this coating for this electrode and electrolyte exists) and the
three features whose SHAP values pushed the chosen recipe's score most
(:mod:`coatml.recommend.explain`; computed for the first ``explain_rows`` rows of the sorted
table only, which keeps it fast), and the physics screening of each candidate
(``screen_verdict`` pass / warn / fail and ``screen_reasons``, :mod:`coatml.recommend.screening`):
failing candidates are marked, not removed.

How it stays fast: the space is processed in chunks of candidates
(:func:`score_chunk`); per chunk the records are featurized once for all models that share a
featurizer (the two champions usually do), every material is featurized once per chunk (the
electrode and electrolyte are identical on every row) and composition features are cached across
chunks by the process-wide :class:`~coatml.features.composition.CompositionFeaturizer`; only
the ensemble mean is computed for every recipe, the full predictive distribution only for the
chosen recipe of each candidate. :mod:`coatml.recommend.distributed` runs the same
:func:`score_chunk` on Dask workers.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from coatml.recommend.acquisition import OBJECTIVES, RESISTANCE, RETENTION
from coatml.recommend.candidates import FilterReport, enumerate_candidates, mark_tested
from coatml.recommend.space import SpaceSpec, candidate_table, iter_recipe_space

__all__ = ["OBJECTIVES", "RETENTION", "RESISTANCE", "ChunkResult", "RankCounts", "RankResult",
           "assemble", "check_models", "chunk_plan", "normalise_models",
           "objective_targets",
           "pareto_ranks", "rank_coatings", "score_chunk", "target_key"]

#: Column prefixes of the predictions in natural units.
PREFIX = {RETENTION: "retention_pct", RESISTANCE: "resistance_ohm_cm2"}
#: Column prefixes of the model-space predictions (log10 for resistance).
MODEL_PREFIX = {RETENTION: "retention_pct_model", RESISTANCE: "log10_resistance_ohm_cm2"}
_SHORT = {"retention": RETENTION, "resistance": RESISTANCE}
#: Recipe columns kept for the chosen recipe of each candidate.
RECIPE_COLUMNS = ("candidate_index", "coating", "coated_component", "method", "precursors",
                  "temperature_c", "gpc_angstrom", "gpc_estimated", "cycles", "thickness_nm")
#: Candidate columns copied into the table.
CANDIDATE_COLUMNS = ("reduced_formula", "family", "anion", "in_library")
#: Rows of the sorted table explained by SHAP values by default.
EXPLAIN_ROWS = 200
#: Number of top features reported per candidate.
TOP_FEATURES = 3

Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def objective_targets(objective: str) -> tuple[str, ...]:
    """The targets an objective optimises; ``ValueError`` for an unknown objective."""
    try:
        return OBJECTIVES[objective]
    except KeyError:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, "
                         f"not {objective!r}") from None


def target_key(key: str) -> str:
    """``"retention"`` / ``"resistance"`` or a target column -> the target column."""
    target = _SHORT.get(key, key)
    if target not in PREFIX:
        raise ValueError(f"unknown model key {key!r}: use {RETENTION!r} or {RESISTANCE!r}")
    return target


def normalise_models(models: Mapping[str, Any]) -> dict[str, Any]:
    """Key models by target column (``"retention"`` / ``"resistance"`` are accepted too) and
    unwrap :class:`~coatml.tracking.registry.LoadedModel` to its python model."""
    from coatml.models.surrogate import as_surrogate

    return {target_key(key): as_surrogate(model) for key, model in models.items()}


def check_models(models: Mapping[str, Any], objective: str) -> tuple[str, ...]:
    """The objective's targets; ``ValueError`` when one of their models is missing."""
    targets = objective_targets(objective)
    missing = [t for t in targets if t not in models]
    if missing:
        raise ValueError(f"objective {objective!r} needs a model of {', '.join(missing)}")
    return targets


def _features(models: Mapping[str, Any], targets: tuple[str, ...], records: pd.DataFrame,
              shared: dict[Any, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Feature matrices per target, featurizing once per featurizer group."""
    from coatml.models.surrogate import shared_features

    return shared_features({t: models[t] for t in targets}, records, shared)


def _weights(models: Mapping[str, Any], objective: str) -> dict[str, float]:
    """Score weight per objective target: the sign (up/down) over the scale (``both`` only)."""
    out = {}
    for target in objective_targets(objective):
        sign = 1.0 if models[target].target_.higher_is_better else -1.0
        out[target] = sign / (models[target].target_scale if objective == "both" else 1.0)
    return out


# --------------------------------------------------------------------------------------------
# Pareto ranks
# --------------------------------------------------------------------------------------------


def _dominates(qx: float, qy: float, px: float, py: float) -> bool:
    return qx >= px and qy <= py and (qx > px or qy < py)


def pareto_ranks(maximise: Any, minimise: Any) -> np.ndarray:
    """Non-dominated sorting of points ``(maximise up, minimise down)``: 1 = not dominated by
    any point, 2 = dominated only by rank-1 points, ... Rows with a non-finite coordinate get
    0 (unranked). Identical points share a rank. O(n log n) (2-D sweep with binary search over
    fronts: Jensen, IEEE Trans. Evol. Comput. 7, 503 (2003), doi:10.1109/TEVC.2003.817234)."""
    x = np.asarray(maximise, dtype=float)
    y = np.asarray(minimise, dtype=float)
    ranks = np.zeros(len(x), dtype=np.int64)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    order = ok[np.lexsort((y[ok], -x[ok]))]  # x descending, then y ascending
    last_x: list[float] = []
    last_y: list[float] = []
    for i in order:
        xi, yi = float(x[i]), float(y[i])
        lo, hi = 0, len(last_y)
        while lo < hi:  # first front whose latest (lowest-y) point does not dominate i
            mid = (lo + hi) // 2
            if _dominates(last_x[mid], last_y[mid], xi, yi):
                lo = mid + 1
            else:
                hi = mid
        if lo == len(last_y):
            last_x.append(xi)
            last_y.append(yi)
        else:
            last_x[lo], last_y[lo] = xi, yi
        ranks[i] = lo + 1
    return ranks


# --------------------------------------------------------------------------------------------
# Chunk scoring
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkResult:
    """The chosen recipe of each candidate of one chunk.

    ``best``: one row per candidate that had at least one finite score (recipe columns, score,
    predictions of every model); ``features``: per target, the feature rows of those recipes
    (same order), kept for the SHAP explanation of the top rows; ``n_recipes``: recipes scored;
    ``seconds``: time per stage; ``warnings``: distinct warning messages raised while scoring.
    """

    best: pd.DataFrame
    features: dict[str, pd.DataFrame]
    n_recipes: int
    seconds: dict[str, float]
    warnings: tuple[str, ...] = ()


def best_per_group(groups: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Positions of the highest finite ``score`` in each group (ties: the first position);
    groups without a finite score are left out. Sorted by group."""
    pos = np.flatnonzero(np.isfinite(score))
    order = pos[np.lexsort((pos, -score[pos], groups[pos]))]
    first = np.ones(len(order), dtype=bool)
    first[1:] = groups[order][1:] != groups[order][:-1]
    return order[first]


def _distribution_columns(model: Any, target: str, X: pd.DataFrame) -> dict[str, np.ndarray]:
    dist = model.dist_from_features(X)
    natural = model.target_.inverse_dist(dist)
    p, mp = PREFIX[target], MODEL_PREFIX[target]
    cols = {f"{p}_{c}": natural[c].to_numpy(dtype=float)
            for c in ("mean", "median", "std", "lo68", "hi68", "lo95", "hi95")}
    cols[f"{mp}_mean"] = dist["mean"].to_numpy(dtype=float)
    cols[f"{mp}_std"] = dist["std"].to_numpy(dtype=float)
    return cols


def score_chunk(spec: SpaceSpec, candidates: pd.DataFrame, start: int,
                models: Mapping[str, Any], objective: str) -> ChunkResult:
    """Score every recipe of ``candidates`` (a slice of the candidate table beginning at row
    ``start``) and return each candidate's best recipe with the predictions of all models."""
    models = normalise_models(models)
    targets = check_models(models, objective)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    chunks = list(iter_recipe_space(spec, candidates, candidates_per_chunk=max(len(candidates),
                                                                                1)))
    recipes = chunks[0] if chunks else None
    if recipes is None or recipes.empty:
        return ChunkResult(pd.DataFrame(), {}, 0, {"recipes": time.perf_counter() - t0})
    recipes = recipes.reset_index(drop=True)
    recipes["candidate_index"] = recipes["candidate_index"].to_numpy() + start
    seconds["recipes"] = time.perf_counter() - t0

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        shared: dict[Any, pd.DataFrame] = {}
        X = _features(models, targets, recipes, shared)
        seconds["featurize"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        weights = _weights(models, objective)
        score = np.zeros(len(recipes))
        arrays: dict[int, np.ndarray] = {}  # one C-ordered float32 copy per feature matrix
        for target in targets:
            frame = X[target]
            if id(frame) not in arrays:
                arrays[id(frame)] = np.ascontiguousarray(frame.to_numpy(dtype=np.float32))
            mean = models[target].mean_from_features(frame, arrays[id(frame)])
            score += weights[target] * mean
        seconds["predict"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        groups = recipes["candidate_index"].to_numpy()
        pos = best_per_group(groups, score)
        best = recipes.iloc[pos][[c for c in RECIPE_COLUMNS if c in recipes.columns]]
        best = best.reset_index(drop=True)
        best["score"] = score[pos]
        counts = pd.Series(groups).value_counts()
        best["n_recipes"] = counts.reindex(best["candidate_index"]).to_numpy(dtype=np.int64)
        features: dict[str, pd.DataFrame] = {
            t: X[t].iloc[pos].reset_index(drop=True) for t in targets}
        # other models: reuse the objective featurization where the featurizer is shared
        best_shared = {k: v.iloc[pos].reset_index(drop=True) for k, v in shared.items()}
        others = tuple(t for t in PREFIX if t in models and t not in targets)
        if others:
            best_records = recipes.iloc[pos].reset_index(drop=True)
            features.update(_features(models, others, best_records, best_shared))
        for target in PREFIX:
            if target in models:
                for name, values in _distribution_columns(models[target], target,
                                                          features[target]).items():
                    best[name] = values
        seconds["select"] = time.perf_counter() - t0
    messages = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return ChunkResult(best, features, len(recipes), seconds, messages)


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankCounts:
    """How many candidates each stage saw.

    ``library`` / ``enumerated``: candidates before the filters (enumerated = 0 with
    ``include_enumerated=False``); ``filter_steps``: ``(step name, removed, remaining)``;
    ``after_filters``: what the filters kept; ``candidates``: what was scored (after
    ``max_candidates`` sub-sampling, or the candidate table passed in); ``recipes``: recipes
    scored; ``ranked``: candidates with a finite score (rows before ``top``).
    """

    library: int
    enumerated: int
    filter_steps: tuple[tuple[str, int, int], ...]
    after_filters: int
    candidates: int
    recipes: int
    ranked: int


@dataclass(frozen=True)
class RankResult:
    """The ranking: ``table`` (one row per candidate coating, sorted by the objective),
    the filter ``report``, ``counts``, ``timing`` (seconds per stage) and the ``warnings`` the
    featurizer raised (each distinct message once)."""

    table: pd.DataFrame
    report: FilterReport
    counts: RankCounts
    timing: dict[str, float]
    objective: str
    spec: SpaceSpec
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        """A copy of the ranked table."""
        return self.table.copy()

    def plot(self, path: Any, **kwargs: Any) -> Any:
        """Write :func:`coatml.recommend.plots.rank_plot` of this ranking to ``path``."""
        from coatml.recommend.plots import rank_plot

        return rank_plot(self.table, path, objective=self.objective, **kwargs)


def interval_text(value: Any, lo: Any, hi: Any, fmt: str) -> str:
    """``"83.4 [74.6, 92.2]"``: a prediction with its interval (empty for a missing one), as
    ``coatml rank`` and the web page show it."""
    if value is None or value != value:  # NaN
        return ""
    return f"{value:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def prior_split_text(row: Any) -> str:
    """How much of a ranked row's predictions is the physics prior and how much the model
    learned beyond it: ``"retention: prior 82.0 %, learned +0.7; resistance: prior 53.7 ohm
    cm2, learned -0.04 dec"`` (empty for surrogates without a prior)."""
    parts = []
    for target, unit, fmt, learned_unit in ((RETENTION, "%", ".1f", ""),
                                            (RESISTANCE, "ohm cm2", ".3g", " dec")):
        prior = getattr(row, f"{PREFIX[target]}_prior", float("nan"))
        learned = getattr(row, f"{MODEL_PREFIX[target]}_learned", float("nan"))
        if prior == prior and learned == learned:
            name = "retention" if target == RETENTION else "resistance"
            parts.append(f"{name}: prior {prior:{fmt}} {unit}, learned "
                         f"{learned:+.2g}{learned_unit}")
    return "; ".join(parts)


def top_features_text(row: Any, sep: str = "\n") -> str:
    """The ``top_feature_i`` / ``top_shap_i`` columns of a ranked row as ``"label (+0.25)"``
    items joined by ``sep`` (empty where the row was not explained)."""
    items = []
    for i in range(1, TOP_FEATURES + 1):
        label = getattr(row, f"top_feature_{i}", None)
        value = getattr(row, f"top_shap_{i}", float("nan"))
        if isinstance(label, str) and value == value:
            items.append(f"{label} ({value:+.2g})")
    return sep.join(items)


def _count_pool(spec: SpaceSpec) -> tuple[int, int]:
    pool = enumerate_candidates(include_library=True)
    n_lib = int(pool["in_library"].sum())
    n_enum = int(len(pool) - n_lib) if spec.include_enumerated else 0
    return n_lib, n_enum


def _sort(table: pd.DataFrame, objective: str) -> pd.DataFrame:
    if objective == "retention":
        keys, asc = [f"{PREFIX[RETENTION]}_mean"], [False]
    elif objective == "resistance":
        keys, asc = [f"{MODEL_PREFIX[RESISTANCE]}_mean"], [True]
    else:
        keys, asc = ["pareto_rank", "score"], [True, False]
    return table.sort_values([*keys, "candidate_index"], ascending=[*asc, True],
                             kind="mergesort", na_position="last")


def _explain(table: pd.DataFrame, features: dict[str, pd.DataFrame], models: Mapping[str, Any],
             objective: str, n_rows: int) -> pd.DataFrame:
    """Top features (SHAP, score space) of the first ``n_rows`` rows of the sorted table."""
    from coatml.recommend.explain import top_from_values

    rows = table.index[:n_rows]  # labels = positions in the features frames
    out = table.copy()
    for i in range(1, TOP_FEATURES + 1):
        out[f"top_feature_{i}"] = pd.Series(pd.NA, index=out.index, dtype=object)
        out[f"top_shap_{i}"] = np.nan
    out["top_features"] = pd.Series("", index=out.index, dtype=object)
    if len(rows) == 0:
        return out
    weights = _weights(models, objective)
    total: pd.DataFrame | None = None
    for target, weight in weights.items():
        X = features[target].loc[rows]
        vals = models[target].explain_features(X).values * weight
        if total is not None:
            # same feature names in both models: add; otherwise keep them apart
            vals = vals.add(total, fill_value=0.0) if set(vals.columns) == set(total.columns) \
                else pd.concat([total, vals.add_prefix(f"{PREFIX[target]}:")], axis=1)
        total = vals
    assert total is not None
    top = top_from_values(total, TOP_FEATURES)
    for rank in range(1, TOP_FEATURES + 1):
        part = top[top["rank"] == rank]
        out.loc[part["row"].to_numpy(), f"top_feature_{rank}"] = part["label"].to_numpy()
        out.loc[part["row"].to_numpy(), f"top_shap_{rank}"] = part["shap_value"].to_numpy()
    text = top.assign(item=[f"{lab} ({val:+.3g})" for lab, val in
                            zip(top["label"], top["shap_value"], strict=True)])
    joined = text.groupby("row", sort=False)["item"].agg("; ".join)
    out.loc[joined.index, "top_features"] = joined.to_numpy()
    return out


def _with_prior_split(best: pd.DataFrame, features: Mapping[str, pd.DataFrame],
                      models: Mapping[str, Any]) -> pd.DataFrame:
    """How much of each prediction is the physics prior and how much was learned: per target
    whose surrogate starts from the prior, ``<prefix>_prior`` (the prior's median, natural
    units) and ``<model prefix>_learned`` (model-space mean minus prior mean: % points of
    retention, decades of resistance)."""
    from coatml.models.surrogate import as_surrogate
    from coatml.models.targets import get_target

    for target, model in models.items():
        col = as_surrogate(model).prior_feature()
        X = features.get(target)
        if col is None or X is None or col not in X.columns or best.empty:
            continue
        prior = X[col].to_numpy(dtype=float)
        spec = get_target(target)
        best[f"{PREFIX[target]}_prior"] = spec.inverse(prior)
        mean_col = f"{MODEL_PREFIX[target]}_mean"
        if mean_col in best.columns:
            best[f"{MODEL_PREFIX[target]}_learned"] = best[mean_col].to_numpy(float) - prior
    return best


def _with_screening(best: pd.DataFrame, info: pd.DataFrame, spec: SpaceSpec) -> pd.DataFrame:
    """``screen_verdict`` / ``screen_reasons`` (:mod:`coatml.recommend.screening`) of each
    row's coating; failing candidates are marked, not removed."""
    from coatml.recommend.screening import screen_candidates, screening_summary

    needed = {"coating", "reduced_formula", "in_library", "elements", "li_fraction",
              "temperature_min_c", "temperature_max_c", "depositable"}
    if best.empty or not needed <= set(info.columns):
        return best
    table = screen_candidates(info.drop_duplicates("coating"), spec.electrode,
                              spec.electrolyte, spec.resolved_component(),
                              inventory=spec.filters.precursors_on_hand)
    summary = screening_summary(table).set_index("coating")
    best["screen_verdict"] = best["coating"].map(summary["screen_verdict"]).to_numpy()
    best["screen_reasons"] = best["coating"].map(summary["screen_reasons"]).to_numpy()
    return best


def assemble(spec: SpaceSpec, candidates: pd.DataFrame, report: FilterReport,
             chunks: list[ChunkResult], models: Mapping[str, Any], objective: str,
             top: int | None, records: pd.DataFrame | None, explain: bool,
             explain_rows: int, timing: dict[str, float], screen: bool = True) -> RankResult:
    """Combine chunk results into the ranked :class:`RankResult` (shared by the Dask path)."""
    models = normalise_models(models)
    t0 = time.perf_counter()
    parts = [c for c in chunks if not c.best.empty]
    if parts:
        best = pd.concat([c.best for c in parts], ignore_index=True)
        features = {t: pd.concat([c.features[t] for c in parts], ignore_index=True)
                    for t in parts[0].features}
    else:
        best = pd.DataFrame(columns=[*RECIPE_COLUMNS, "score", "n_recipes"])
        features = {}
    order = np.argsort(best["candidate_index"].to_numpy(), kind="stable")
    best = best.iloc[order].reset_index(drop=True)
    features = {t: f.iloc[order].reset_index(drop=True) for t, f in features.items()}
    info = candidates.iloc[best["candidate_index"].to_numpy(dtype=np.int64)]
    for col in CANDIDATE_COLUMNS:
        if col in info.columns:
            best[col] = info[col].to_numpy()
    if records is not None:
        marked = mark_tested(info[["reduced_formula"]].reset_index(drop=True), records,
                             spec.electrode, spec.electrolyte)
        best["tested"] = marked["tested"].to_numpy(dtype=bool)
    else:
        best["tested"] = False
    if screen:
        best = _with_screening(best, info, spec)
    best = _with_prior_split(best, features, models)
    if RETENTION in models and RESISTANCE in models:
        ranks = pareto_ranks(best.get(f"{PREFIX[RETENTION]}_mean", pd.Series(dtype=float)),
                             best.get(f"{MODEL_PREFIX[RESISTANCE]}_mean", pd.Series(dtype=float)))
        best["pareto_rank"] = pd.Series(ranks, index=best.index).where(ranks > 0).astype("Int64")
    else:
        best["pareto_rank"] = pd.array([pd.NA] * len(best), dtype="Int64")
    best = _sort(best, objective)
    if top is not None:
        best = best.head(int(top))
    timing["assemble"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    notes: list[str] = []
    if explain and features:
        from coatml.models.surrogate import EXPLAIN

        lacking = [t for t in objective_targets(objective) if EXPLAIN not in
                   models[t].capabilities]
        if lacking:
            notes.append(f"no per-feature explanation: the {', '.join(lacking)} surrogate "
                         "does not offer one (a Gaussian process, or the prior alone); the "
                         "top-feature columns "
                         "are empty")
        best = _explain(best, features, models, objective, explain_rows if not lacking else 0)
    timing["explain"] = time.perf_counter() - t0
    best = best.reset_index(drop=True)
    best.insert(0, "rank", np.arange(1, len(best) + 1))
    lead = ["rank", "coating", "reduced_formula", "tested", "in_library", "family", "anion",
            "pareto_rank", "score", "screen_verdict"]
    best = best[[c for c in lead if c in best.columns]
                + [c for c in best.columns if c not in lead]]
    n_lib, n_enum = _count_pool(spec)
    counts = RankCounts(
        library=n_lib, enumerated=n_enum,
        filter_steps=tuple((s.name, s.removed, s.remaining) for s in report.steps),
        after_filters=report.n_end, candidates=len(candidates),
        recipes=int(sum(c.n_recipes for c in chunks)),
        ranked=int(sum(len(c.best) for c in parts)))
    # one message per kind (chunks repeat the same warning with other counts)
    seen: dict[str, str] = {}
    for message in (m for c in chunks for m in c.warnings):
        seen.setdefault(message[:60], message)
    messages = tuple(seen.values()) + tuple(notes)
    return RankResult(best, report, counts, timing, objective, spec, messages)


def chunk_plan(spec: SpaceSpec, candidates: pd.DataFrame | None, chunk_candidates: int
               ) -> tuple[pd.DataFrame, FilterReport, list[int], int, dict[str, float]]:
    """The filtered candidates (or the given table), the filter report, the chunk starts, the
    chunk size and the timing dict started with the candidate stage (shared by the
    single-process and the Dask ranking)."""
    t0 = time.perf_counter()
    table, report = candidate_table(spec)
    chosen = (table if candidates is None else candidates).reset_index(drop=True)
    timing = {"candidates": time.perf_counter() - t0}
    step = max(int(chunk_candidates), 1)
    return chosen, report, list(range(0, len(chosen), step)), step, timing


class LocalExecutor:
    """Scores the chunks one after the other in this process (the default executor of
    :func:`rank_coatings`; :class:`coatml.recommend.distributed.DaskExecutor` is the other)."""

    timing_prefix = ""

    def models(self, models: Mapping[str, Any]) -> dict[str, Any]:
        """The surrogates on this side (here: the models themselves)."""
        return normalise_models(models)

    def score(self, spec: SpaceSpec, candidates: pd.DataFrame, starts: list[int], step: int,
              models: Mapping[str, Any], objective: str, progress: Progress | None,
              timing: dict[str, float]) -> list[ChunkResult]:
        local = self.models(models)
        results: list[ChunkResult] = []
        for done, start in enumerate(starts, 1):
            results.append(score_chunk(spec, candidates.iloc[start:start + step], start, local,
                                       objective))
            if progress is not None:
                progress(done, len(starts))
        return results


def rank_coatings(
    spec: SpaceSpec,
    models: Mapping[str, Any],
    objective: str = "retention",
    top: int | None = None,
    records: pd.DataFrame | None = None,
    chunk_candidates: int = 2000,
    explain: bool = True,
    *,
    candidates: pd.DataFrame | None = None,
    explain_rows: int = EXPLAIN_ROWS,
    progress: Progress | None = None,
    executor: Any | None = None,
    screen: bool = True,
) -> RankResult:
    """Rank the candidate coatings of ``spec`` with ``models`` (see the module docstring).

    Args:
        spec: the pair, coated side, filters, grids and test conditions.
        models: ``{target: Surrogate}`` (keys ``capacity_retention_pct`` /
            ``interface_resistance_ohm_cm2``, or ``retention`` / ``resistance``); the
            objective's models are required, the other one is optional (its predictions are
            reported, and both give the Pareto rank). With a Dask executor: model references
            (:mod:`coatml.recommend.distributed`).
        objective: ``"retention"``, ``"resistance"`` or ``"both"``.
        top: keep only the first ``top`` rows (``None``: all candidates).
        records: workspace records, for the ``tested`` mark (``None``: all untested).
        chunk_candidates: candidates per chunk (memory ~ chunk recipes x features x 8 bytes).
        explain: add the top-3 SHAP features of the first ``explain_rows`` rows.
        candidates: a candidate table to rank instead of :func:`candidate_table` (``spec``'s
            filters are then not applied again; the report is still the spec's).
        progress: called with ``(chunks done, chunks total)``.
        executor: where the chunks are scored: :class:`LocalExecutor` (default) or
            :class:`coatml.recommend.distributed.DaskExecutor`; the result is the same.
        screen: add ``screen_verdict`` and ``screen_reasons`` (the physics screening of
            :mod:`coatml.recommend.screening`; failing candidates stay in the table).
    """
    executor = executor or LocalExecutor()
    objective_targets(objective)
    t_start = time.perf_counter()
    candidates, report, starts, step, timing = chunk_plan(spec, candidates, chunk_candidates)
    if isinstance(executor, LocalExecutor):
        check_models(normalise_models(models), objective)
    results = executor.score(spec, candidates, starts, step, models, objective, progress,
                             timing)
    for key in ("recipes", "featurize", "predict", "select"):
        timing[executor.timing_prefix + key] = float(
            sum(r.seconds.get(key, 0.0) for r in results))
    local = executor.models(models)
    check_models(local, objective)
    result = assemble(spec, candidates, report, results, local, objective, top, records,
                      explain, explain_rows, timing, screen)
    timing["total"] = time.perf_counter() - t_start
    return result
