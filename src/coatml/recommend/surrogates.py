"""Surrogates fitted at proposal time on one pair's measured records.

``coatml propose --surrogate gp`` (and ``coatml campaign next --surrogate gp``) do not load the
registered champions: they fit a :class:`~coatml.models.gaussian_process.DescriptorGP` per
objective target on the workspace's records of the pair being proposed for, in well under a
second. This is the proposer that ``coatml bench`` measures (its ``coatml`` strategy); the
champions carry what the literature and other pairs teach, the pair GP what this pair's own
cells say, with an uncertainty that knows which recipes are near a measured one.

Failed cells are information twice over: they train the feasibility model (as always), and
:func:`failed_as_worst` enters them into the surrogate's training rows at the worst value
measured so far, so the surrogate also learns where not to go.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from coatml.exceptions import InsufficientDataError
from coatml.models.targets import MIN_RECORDS

__all__ = ["PAIR_FEATURE_SET", "PairGPSettings", "failed_as_worst", "fit_pair_surrogates",
           "propose_with_pair_gp"]

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


def fit_pair_surrogates(observed: pd.DataFrame | None, electrode: str, electrolyte: str,
                        targets: tuple[str, ...], seed: int = 0,
                        settings: PairGPSettings | None = None
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
                         **propose_kwargs: Any) -> Any:
    """The closed loop's proposal: pair surrogates (:func:`fit_pair_surrogates`) and a
    feasibility model fitted on the pair's records, then :func:`~coatml.recommend.propose.
    propose`. ``features``: the default feature set of the pair's records and the space
    (same index; the benchmark's cache), which spares featurizing them again.
    The fit's messages lead the proposal's."""
    from coatml.recommend.acquisition import Objective
    from coatml.recommend.feasibility import FeasibilityModel
    from coatml.recommend.propose import pair_records, propose

    settings = settings or PairGPSettings()
    obj = Objective.parse(objective)
    pair = pair_records(observed, spec.electrode, spec.electrolyte)
    models, messages = fit_pair_surrogates(pair, spec.electrode, spec.electrolyte,
                                           obj.targets, seed, settings)
    feasibility = FeasibilityModel(random_state=seed).fit(
        pair, features=None if features is None or pair.empty else features.loc[pair.index])
    proposal = propose(spec, models or None, obj, n, strategy, constraints, seed,
                       observed=pair, feasibility=feasibility, feature_cache=features,
                       noise_free=settings.noise_free, **propose_kwargs)
    return replace(proposal, messages=(*messages, *proposal.messages))

