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
from typing import Any

import pandas as pd

from coatml.exceptions import InsufficientDataError

__all__ = ["PAIR_FEATURE_SET", "failed_as_worst", "fit_pair_surrogates"]

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


def fit_pair_surrogates(observed: pd.DataFrame | None, electrode: str, electrolyte: str,
                        targets: tuple[str, ...], seed: int = 0,
                        params: dict[str, Any] | None = None,
                        min_records: int = 2) -> tuple[dict[str, Any], list[str]]:
    """One pair-GP :class:`~coatml.models.surrogate.RecordModel` per target, fitted on the
    pair's records in ``observed`` (aliases and formulas matched), failed cells as worst.

    Returns ``(models, messages)``; a target with fewer than ``min_records`` measured values
    is left out with a message (``propose`` then falls back to a space-filling design)."""
    from coatml.features.process import PrecursorWarning
    from coatml.models.surrogate import RecordModel
    from coatml.recommend.propose import pair_records

    rows = pair_records(observed, electrode, electrolyte)
    models: dict[str, Any] = {}
    messages: list[str] = []
    for target in targets:
        train = failed_as_worst(rows, target)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PrecursorWarning)
                models[target] = RecordModel(
                    target, feature_set=PAIR_FEATURE_SET, estimator="gp",
                    estimator_params={**(params or {}), "random_state": int(seed)},
                    min_records=min_records).fit(train)
        except InsufficientDataError:
            n = int(pd.to_numeric(rows.get(target, pd.Series(dtype=float)),
                                  errors="coerce").notna().sum()) if len(rows) else 0
            messages.append(f"pair GP of {target}: {n} measured record(s) of {electrode} | "
                            f"{electrolyte}, {min_records} needed")
            continue
        messages.append(f"pair GP of {target} fitted on {models[target].n_train_} records of "
                        f"{electrode} | {electrolyte} (failed cells at the worst value)")
    return models, messages
