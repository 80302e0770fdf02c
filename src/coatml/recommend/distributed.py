"""The ranking of :mod:`coatml.recommend.rank` on a Dask cluster.

Partitions of the candidate table (``chunk_candidates`` candidates each) are scored in parallel
by :func:`coatml.recommend.rank.score_chunk` -- the very function the single-process path runs,
so the results are identical -- and combined on the client by
:func:`coatml.recommend.rank.assemble`.

How the models travel: as *references*, not as pickled Python objects.

* :class:`SavedModelRef`: a directory written by :func:`save_model` (the ensemble's XGBoost JSON
  files + ``coatml_model.json``, the layout of the MLflow model's artifacts,
  :func:`coatml.tracking.pyfunc.write_model_artifacts`); each worker process loads it once with
  :meth:`coatml.tracking.pyfunc.CoatmlModel.load_from` (JSON only, no pickle). The directory
  must be readable by the workers (same machine, or a shared file system).
* :class:`MlflowModelRef`: a registered model version (``models:/coatml-.../3``) and the
  tracking/registry URI; each worker loads it through MLflow once. Workers must reach the
  tracking store (a server URL, or the SQLite file on a shared file system).
* A fitted in-memory surrogate (e.g. a :class:`~coatml.models.surrogate.RecordModel`) is also
  accepted: Dask then cloudpickles it to the workers. That is fine for a LocalCluster of the
  same environment, not for a remote cluster of another one; prefer the references there.

Without a ``scheduler`` address a :class:`distributed.LocalCluster` is started (processes,
two workers with one thread each, on 127.0.0.1, dashboard off) and closed afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from coatml.recommend.rank import (
    ChunkResult,
    Progress,
    RankResult,
    rank_coatings,
    score_chunk,
    target_key,
)
from coatml.recommend.space import SpaceSpec

__all__ = ["DaskExecutor", "MlflowModelRef", "SavedModelRef", "load_ref", "rank_coatings_dask",
           "save_model"]


@dataclass(frozen=True)
class SavedModelRef:
    """A model saved by :func:`save_model` in ``directory`` (XGBoost JSON + metadata)."""

    directory: str

    def load(self) -> Any:
        from coatml.tracking.pyfunc import (
            ENSEMBLE_ARTIFACT,
            METADATA_ARTIFACT,
            METADATA_FILENAME,
            CoatmlModel,
        )

        root = Path(self.directory)
        return CoatmlModel().load_from({ENSEMBLE_ARTIFACT: str(root / ENSEMBLE_ARTIFACT),
                                        METADATA_ARTIFACT: str(root / METADATA_FILENAME)})


@dataclass(frozen=True)
class MlflowModelRef:
    """A registered MLflow model (``models:/NAME/VERSION``) in a tracking/registry store."""

    model_uri: str
    tracking_uri: str
    registry_uri: str | None = None

    def load(self) -> Any:
        """The version rebuilt from its JSON after its content hash is checked (no stored
        file is executed; :func:`coatml.tracking.registry.load_model`)."""
        from coatml.tracking.registry import load_model
        from coatml.tracking.runs import Tracker

        tracker = Tracker(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        return load_model(tracker, self.model_uri.removeprefix("models:/")).python_model


def save_model(model: Any, directory: str | Path) -> SavedModelRef:
    """Save a fitted surrogate (``featurizer_``, ``ensemble_``, ``target_``) as XGBoost JSON +
    metadata under ``directory``, loadable anywhere with :class:`SavedModelRef`."""
    from coatml.tracking.pyfunc import write_model_artifacts

    write_model_artifacts(model.ensemble_, model.featurizer_, model.target_.name, directory)
    return SavedModelRef(str(Path(directory).resolve()))


#: Models loaded in this (worker) process, by reference.
_LOADED: dict[Any, Any] = {}


def load_ref(ref: Any) -> Any:
    """The model a reference points to, loaded once per process; a surrogate passes through."""
    if not isinstance(ref, SavedModelRef | MlflowModelRef):
        return ref
    if ref not in _LOADED:
        _LOADED[ref] = ref.load()
    return _LOADED[ref]


def _score_remote(spec: SpaceSpec, candidates: pd.DataFrame, start: int,
                  refs: Mapping[str, Any], objective: str) -> ChunkResult:
    models = {target: load_ref(ref) for target, ref in refs.items()}
    return score_chunk(spec, candidates, start, models, objective)


def _client(scheduler: str | None):
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    return Client(cluster), cluster


class DaskExecutor:
    """Scores the chunks of :func:`coatml.recommend.rank.rank_coatings` on Dask workers.

    ``scheduler``: a Dask scheduler address (``tcp://host:8786``); ``None`` starts a local
    two-worker cluster for the call. The models are given as references (see the module
    docstring); the explanation of the top rows runs on the client, which loads them once."""

    timing_prefix = "worker_"

    def __init__(self, scheduler: str | None = None) -> None:
        self.scheduler = scheduler

    def models(self, refs: Mapping[str, Any]) -> dict[str, Any]:
        from coatml.recommend.rank import normalise_models

        return normalise_models({target_key(k): load_ref(ref) for k, ref in refs.items()})

    def score(self, spec: SpaceSpec, candidates: pd.DataFrame, starts: list[int], step: int,
              refs: Mapping[str, Any], objective: str, progress: Progress | None,
              timing: dict[str, float]) -> list[ChunkResult]:
        from distributed import as_completed

        refs = {target_key(key): ref for key, ref in refs.items()}
        t0 = time.perf_counter()
        client, cluster = _client(self.scheduler)
        try:
            timing["cluster"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            refs_future = client.scatter(dict(refs), broadcast=True)
            futures = [client.submit(_score_remote, spec, candidates.iloc[s:s + step], s,
                                     refs_future, objective, pure=False) for s in starts]
            position = {f.key: i for i, f in enumerate(futures)}
            results: list[ChunkResult | None] = [None] * len(futures)
            for done, future in enumerate(as_completed(futures), 1):
                results[position[future.key]] = future.result()
                if progress is not None:
                    progress(done, len(futures))
            timing["score"] = time.perf_counter() - t0
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return [r for r in results if r is not None]


def rank_coatings_dask(
    spec: SpaceSpec,
    model_refs: Mapping[str, Any],
    objective: str = "retention",
    top: int | None = None,
    records: pd.DataFrame | None = None,
    chunk_candidates: int = 2000,
    explain: bool = True,
    scheduler: str | None = None,
    *,
    candidates: pd.DataFrame | None = None,
    explain_rows: int = 200,
    progress: Progress | None = None,
) -> RankResult:
    """:func:`coatml.recommend.rank.rank_coatings` with a :class:`DaskExecutor` (the same
    driver; ``model_refs``: ``{target: SavedModelRef | MlflowModelRef | surrogate}``)."""
    return rank_coatings(spec, model_refs, objective, top, records, chunk_candidates, explain,
                         candidates=candidates, explain_rows=explain_rows, progress=progress,
                         executor=DaskExecutor(scheduler))
