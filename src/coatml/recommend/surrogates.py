"""Surrogates fitted at proposal time on one pair's measured records.

``coatml propose --surrogate gp`` (and ``coatml campaign next --surrogate gp``) do not load the
registered champions: they fit a :class:`~coatml.models.gaussian_process.DescriptorGP` per
objective target on the workspace's records of the pair being proposed for, in well under a
second. This is the proposer that ``coatml bench`` measures (its ``coatml`` strategy); the
champions carry what the literature and other pairs teach, the pair GP what this pair's own
cells say, with an uncertainty that knows which recipes are near a measured one.

**Transfer between pairs** (``sources``: records of other pairs, the lab's and the literature's):
the pair GP may also learn from them, through the descriptors it shares across pairs (the
coating's windows against *this* electrode, its conductivity, the recipe) on top of each pair's
own physics prior. A guard keeps negative transfer out: a source pair enters only where it
lowers the leave-one-out error on the target pair's own records (closed-form GP LOO with the
kernel refitted on own + source records), judged one source pair at a time and then together
(:func:`select_sources`); with fewer than ``prior_min_records`` own records nothing enters.

Failed cells are information twice over: they train the feasibility model (as always), and
:func:`failed_as_worst` enters them into the surrogate's training rows at the worst value
measured so far, so the surrogate also learns where not to go.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from coatml.exceptions import InsufficientDataError
from coatml.models.targets import MIN_RECORDS

__all__ = ["PAIR_FEATURE_SET", "PAIR_SURROGATES", "PairGPSettings", "SourceChoice",
           "failed_as_worst", "fit_pair_surrogates", "propose_pair_surrogate",
           "propose_with_pair_gp", "select_sources"]

#: Features of the pair surrogate: no composition features (constant within a pair).
PAIR_FEATURE_SET = "loop"


def failed_as_worst(records: pd.DataFrame, target: str) -> pd.DataFrame:
    """A copy of ``records`` whose failed cells (no value of ``target``, flagged failed by
    ``cell_failed`` or an outcome note, see :func:`coatml.recommend.feasibility.failure_labels`)
    carry the worst ``target`` value measured among ``records``: the lowest retention, the
    highest resistance. Without a failed cell or a measured value the records come back as
    they are."""
    from coatml.models.targets import get_target
    from coatml.recommend.feasibility import failure_labels

    if records.empty or target not in records.columns:
        return records
    values = pd.to_numeric(records[target], errors="coerce")
    failed = (failure_labels(records) == 1.0) & values.isna()
    if not failed.any() or values.notna().sum() == 0:
        return records
    worst = values.min() if get_target(target).higher_is_better else values.max()
    out = records.copy()
    out[target] = values.where(~failed, worst)
    return out


@dataclass(frozen=True)
class PairGPSettings:
    """How the closed loop's proposer fits its surrogates: one definition shared by
    ``coatml propose --surrogate gp``, ``coatml campaign next --surrogate gp`` and the
    benchmark's ``coatml`` strategy (what ``coatml bench`` measures is what ships).

    ``min_records``: measured values of the pair needed before the surrogate is fitted (fewer:
    space-filling design); ``noise_free``: acquisition on the latent std; ``failed_as_worst``:
    failed cells enter the surrogate at the worst value measured; ``estimator`` / ``params`` /
    ``feature_set``: the surrogate (``gp``: :class:`~coatml.models.gaussian_process.
    DescriptorGP` on the ``loop`` features; ``xgboost``: the boosted ensemble). The
    feasibility model is fitted on the pair's records (default feature set).

    ``prior``: start from the physics prior (:mod:`coatml.features.prior`): below
    ``prior_min_records`` measured values the surrogate is the prior alone
    (:class:`~coatml.models.surrogate.PriorSurrogate`, its mean and std), from there on the
    surrogate models the departure from the prior (the prior is the GP's prior mean, the
    ensemble's ``base_margin``), so the first batch already avoids what the physics rules out
    and the pair's own records take over as they come in."""

    min_records: int = MIN_RECORDS
    noise_free: bool = True
    failed_as_worst: bool = True
    estimator: str = "gp"
    params: dict[str, Any] | None = None
    feature_set: str = PAIR_FEATURE_SET
    prior: bool = False
    prior_min_records: int = 3

    def __post_init__(self) -> None:
        from coatml.models.surrogate import ESTIMATORS

        if self.min_records < 2 or self.prior_min_records < 2:
            raise ValueError("min_records must be >= 2 (a surrogate needs two values)")
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, not '{self.estimator}'")


@dataclass(frozen=True)
class SourceChoice:
    """What :func:`select_sources` decided: the admitted source pairs, the own-records LOO
    RMSE without and with them (modelled scale), one row per candidate source, and the
    admitted sources' measured records (failed cells at their pair's worst value), exactly
    the rows the decision was made with."""

    admitted: tuple[tuple[str, str], ...]
    loo_rmse_own: float
    loo_rmse_with: float
    table: pd.DataFrame
    records: pd.DataFrame


def _measured(rows: pd.DataFrame, target: str, settings: PairGPSettings) -> pd.DataFrame:
    train = failed_as_worst(rows, target) if settings.failed_as_worst else rows
    if target not in train.columns:
        return train.iloc[:0]
    return train.loc[pd.to_numeric(train[target], errors="coerce").notna()]


def _loo_rmse(train: pd.DataFrame, n_own: int, target: str, settings: PairGPSettings,
              seed: int) -> float:
    from coatml.models.surrogate import RecordModel

    model = RecordModel(target, feature_set=settings.feature_set, estimator="gp",
                        estimator_params=_params(replace(settings, estimator="gp"), seed),
                        min_records=2, prior=settings.prior).fit(train)
    res = model.loo_residuals()[:n_own]
    return float(np.sqrt(np.mean(res ** 2)))


def select_sources(own: pd.DataFrame, sources: pd.DataFrame, target: str,
                   settings: PairGPSettings | None = None, seed: int = 0) -> SourceChoice:
    """The source pairs (records of ``sources`` grouped by electrode / electrolyte chemistry)
    that lower the leave-one-out RMSE on ``own``'s measured records: each alone must beat
    the own-only model, and the admitted ones together must too (else the best single one
    is kept)."""
    from coatml.data.formulas import chemistry_key

    settings = settings or PairGPSettings()
    mine = _measured(own, target, settings)
    empty = SourceChoice((), float("nan"), float("nan"),
                         pd.DataFrame(columns=["electrode", "electrolyte", "records",
                                               "loo_rmse", "admitted"]), pd.DataFrame())
    if len(mine) < settings.prior_min_records or sources is None or sources.empty:
        return empty
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = _loo_rmse(mine, len(mine), target, settings, seed)
        keys = [(chemistry_key(str(a)), chemistry_key(str(b)))
                for a, b in zip(sources["electrode"], sources["electrolyte"], strict=True)]
        groups = pd.Series(range(len(sources))).groupby(pd.Series(keys).astype(str))
        rows, good = [], []
        for _, pos in groups:
            part = _measured(sources.iloc[pos.to_numpy()], target, settings)
            if part.empty:
                continue
            pair = (str(part["electrode"].iloc[0]), str(part["electrolyte"].iloc[0]))
            rmse = _loo_rmse(pd.concat([mine, part]), len(mine), target, settings, seed)
            rows.append({"electrode": pair[0], "electrolyte": pair[1], "records": len(part),
                         "loo_rmse": rmse, "admitted": rmse < base})
            if rmse < base:
                good.append((rmse, pair, part))
        good.sort(key=lambda g: g[0])
        admitted = [g[1] for g in good]
        with_all = good[0][0] if good else base
        if len(good) > 1:
            together = _loo_rmse(pd.concat([mine, *[g[2] for g in good]]), len(mine), target,
                                 settings, seed)
            if together < good[0][0]:
                with_all = together
            else:
                admitted = [good[0][1]]
    table = pd.DataFrame(rows, columns=list(empty.table.columns))
    table["admitted"] = [(r["electrode"], r["electrolyte"]) in admitted for r in rows]
    used = [g[2] for g in good if g[1] in admitted]
    return SourceChoice(tuple(admitted), base, with_all, table,
                        pd.concat(used) if used else pd.DataFrame())


def fit_pair_surrogates(observed: pd.DataFrame | None, electrode: str, electrolyte: str,
                        targets: tuple[str, ...], seed: int = 0,
                        settings: PairGPSettings | None = None,
                        sources: pd.DataFrame | None = None
                        ) -> tuple[dict[str, Any], list[str]]:
    """One pair :class:`~coatml.models.surrogate.RecordModel` per target, fitted on the
    pair's records in ``observed`` (aliases and formulas matched), failed cells as worst.

    Returns ``(models, messages)``; a target with fewer than ``settings.min_records`` measured
    values is left out with a message (``propose`` then falls back to a space-filling
    design)."""
    from coatml.features.process import PrecursorWarning
    from coatml.models.surrogate import PriorSurrogate, RecordModel
    from coatml.recommend.propose import pair_records

    settings = settings or PairGPSettings()
    min_records = settings.prior_min_records if settings.prior else settings.min_records
    rows = pair_records(observed, electrode, electrolyte)
    models: dict[str, Any] = {}
    messages: list[str] = []
    for target in targets:
        train = failed_as_worst(rows, target) if settings.failed_as_worst else rows
        if sources is not None and not sources.empty and settings.estimator == "gp":
            choice = select_sources(rows, sources, target, settings, seed)
            if choice.admitted:
                train = pd.concat([_measured(rows, target, settings), choice.records])
                messages.append(
                    f"{target}: transfer from {', '.join(f'{a} | {b}' for a, b in choice.admitted)}"
                    f" (own-records LOO RMSE {choice.loo_rmse_own:.3g} -> "
                    f"{choice.loo_rmse_with:.3g}, modelled scale)")
            elif len(choice.table):
                messages.append(f"{target}: no source pair lowers the own-records LOO RMSE "
                                f"({choice.loo_rmse_own:.3g}); no transfer")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PrecursorWarning)
                models[target] = RecordModel(
                    target, feature_set=settings.feature_set, estimator=settings.estimator,
                    estimator_params=_params(settings, seed),
                    min_records=min_records, prior=settings.prior).fit(train)
        except InsufficientDataError:
            n = int(pd.to_numeric(rows.get(target, pd.Series(dtype=float)),
                                  errors="coerce").notna().sum()) if len(rows) else 0
            if settings.prior:
                models[target] = PriorSurrogate(target, settings.feature_set).fit(rows)
                messages.append(f"{target}: {n} measured record(s) of {electrode} | "
                                f"{electrolyte} ({min_records} needed for the pair GP): "
                                "ranked by the physics prior with its uncertainty")
                continue
            messages.append(f"pair GP of {target}: {n} measured record(s) of {electrode} | "
                            f"{electrolyte}, {min_records} needed")
            continue
        messages.append(f"pair GP of {target} fitted on {models[target].n_train_} records of "
                        f"{electrode} | {electrolyte} (failed cells at the worst value"
                        + ("; starting from the physics prior)" if settings.prior else ")"))
    return models, messages


def _params(settings: PairGPSettings, seed: int) -> dict[str, Any]:
    from coatml.models.config import FAST_MODEL_PARAMS

    base = settings.params
    if base is None:
        base = dict(FAST_MODEL_PARAMS) if settings.estimator == "xgboost" else {}
    return {**base, "random_state": int(seed)}


def propose_with_pair_gp(spec: Any, observed: pd.DataFrame | None, objective: Any, n: int,
                         strategy: str, constraints: Any, seed: int,
                         settings: PairGPSettings | None = None, *,
                         features: pd.DataFrame | None = None,
                         sources: pd.DataFrame | None = None,
                         **propose_kwargs: Any) -> Any:
    """The closed loop's proposal: pair surrogates (:func:`fit_pair_surrogates`) and a
    feasibility model fitted on the pair's records, then :func:`~coatml.recommend.propose.
    propose`. ``features``: the default feature set of the pair's records and the space
    (same index; the benchmark's cache), which spares featurizing them again.
    ``sources``: other pairs' records the surrogates may learn from (:func:`select_sources`
    admits those that help). The fit's messages lead the proposal's."""
    from coatml.recommend.acquisition import Objective
    from coatml.recommend.feasibility import FeasibilityModel
    from coatml.recommend.propose import pair_records, propose

    settings = settings or PairGPSettings()
    obj = Objective.parse(objective)
    pair = pair_records(observed, spec.electrode, spec.electrolyte)
    models, messages = fit_pair_surrogates(pair, spec.electrode, spec.electrolyte,
                                           obj.targets, seed, settings, sources=sources)
    feasibility = FeasibilityModel(random_state=seed).fit(
        pair, features=None if features is None or pair.empty else features.loc[pair.index])
    proposal = propose(spec, models or None, obj, n, strategy, constraints, seed,
                       observed=pair, feasibility=feasibility, feature_cache=features,
                       noise_free=settings.noise_free, **propose_kwargs)
    return replace(proposal, messages=(*messages, *proposal.messages))



#: The pair surrogates ``coatml propose/campaign --surrogate`` offers besides ``champion``:
#: name -> (settings, whether the workspace's other pairs are transfer sources).
PAIR_SURROGATES: dict[str, tuple[PairGPSettings, bool]] = {
    "gp": (PairGPSettings(), False),
    "gp-prior": (PairGPSettings(prior=True), False),
    "gp-transfer": (PairGPSettings(prior=True), True),
}


def propose_pair_surrogate(name: str, spec: Any, observed: pd.DataFrame | None,
                           objective: Any, n: int, strategy: str, constraints: Any,
                           seed: int, **propose_kwargs: Any) -> Any:
    """:func:`propose_with_pair_gp` with the named :data:`PAIR_SURROGATES` settings; for
    ``gp-transfer`` the records of ``observed`` outside the pair are the transfer sources."""
    from coatml.recommend.propose import pair_records

    if name not in PAIR_SURROGATES:
        raise ValueError(f"unknown pair surrogate '{name}'; known: {sorted(PAIR_SURROGATES)}")
    settings, transfer = PAIR_SURROGATES[name]
    sources = None
    if transfer and observed is not None and len(observed):
        own = pair_records(observed, spec.electrode, spec.electrolyte)
        sources = observed.drop(index=own.index)
    return propose_with_pair_gp(spec, observed, objective, n, strategy, constraints, seed,
                                settings, sources=sources, **propose_kwargs)
