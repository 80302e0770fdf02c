"""Model registry: one registered model per target, champion/challenger by grouped-CV RMSE.

Names: ``coatml-<target>`` (``coatml-capacity_retention_pct``). The version serving
predictions carries the alias ``champion``; ``load_champion`` resolves that alias and loads it
(``MlflowClient.set_registered_model_alias`` / ``get_model_version_by_alias``; model
version *stages* are deprecated since MLflow 2.9.0 -- ``@deprecated(since="2.9.0")`` on the
stage APIs in ``mlflow/tracking/client.py`` -- so aliases and tags carry the roles).

Promotion rule (:func:`register_and_maybe_promote`)
---------------------------------------------------
A new version is compared with the current champion on the *same* validation: the primary
metric (:data:`coatml.tracking.runs.PRIMARY_METRIC`, grouped-CV RMSE in model space, lower is
better) computed on the same dataset hash and the same folds hash.

1. No champion yet: the new version becomes champion.
2. Same dataset hash and folds hash: it becomes champion only if it is strictly better by
   more than ``min_improvement``; a tie or a worse score leaves the champion in place, and
   the new version is tagged ``coatml.role=challenger`` (and gets the ``challenger`` alias).
3. Different dataset or folds: the champion's stored score is not comparable.
   - With a ``reevaluate`` callable (the trainer passes one that runs the same grouped CV
     with the champion's hyperparameters on the current data and folds), the champion's
     score is recomputed and rule 2 applies to the two comparable numbers.
   - Without one, the new version becomes champion: it is the only model validated on the
     current data, and the old champion never saw the new records. The reason says so.
4. A new version without the metric never becomes champion automatically.

Every outcome returns a :class:`PromotionResult` whose ``reason`` the CLI prints as is.

Loading (:func:`load_model`, :func:`load_champion`) executes no stored file: it reads the
version's files, checks their sha256 against the ``coatml.model_sha256`` tag recorded at
registration, and rebuilds the model from JSON with the installed coatml code
(:func:`coatml.tracking.pyfunc.load_model_files`). Missing, damaged or changed files raise
:class:`~coatml.exceptions.ModelIntegrityError` naming the version and what to do.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from coatml.exceptions import ModelIntegrityError, ModelNotFoundError
from coatml.tracking.runs import (
    PRIMARY_METRIC,
    TAG_DATASET_HASH,
    TAG_FOLDS_HASH,
    TAG_MODEL_SHA256,
    TAG_TARGET,
    Tracker,
    TrainingRun,
)

CHAMPION = "champion"
CHALLENGER = "challenger"
TAG_ROLE = "coatml.role"
TAG_METRIC_PREFIX = "coatml.metric."
MODEL_PREFIX = "coatml-"

#: MLflow's own notices from ``mlflow.register_model`` (printed to stderr, not logged):
#: coatml creates the registered model itself and prints its own line about each version.
_MLFLOW_REGISTER_NOTICE = re.compile(
    r"^(Successfully registered model '.*'\.|Registered model '.*' already exists\. "
    r"Creating a new version of this model\.\.\.|Created version '.*' of model '.*'\.)$")

#: Metrics shown by :func:`list_models` (when the run logged them).
LISTED_METRICS = ("cv_rmse", "cv_mae", "cv_spearman_within_system", "cv_coverage68",
                  "cv_coverage95")


@dataclass(frozen=True)
class PromotionResult:
    """Outcome of a registration: which version, whether it is now champion, and why."""

    name: str
    version: str
    promoted: bool
    reason: str
    metric: str = PRIMARY_METRIC
    value: float | None = None
    champion_version: str | None = None
    champion_value: float | None = None


def model_name(target: str) -> str:
    """Registered-model name of a target: ``coatml-<target>``."""
    return f"{MODEL_PREFIX}{target}"


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def _is_better(new: float, old: float, greater_is_better: bool, min_improvement: float) -> bool:
    return new > old + min_improvement if greater_is_better else new < old - min_improvement


def _ensure_registered_model(client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(
                name, tags={TAG_TARGET: name.removeprefix(MODEL_PREFIX)},
                description=f"coatml model of {name.removeprefix(MODEL_PREFIX)}")
        except MlflowException:
            client.get_registered_model(name)  # created concurrently: fine if it exists now


@contextlib.contextmanager
def _without_registration_notices() -> Iterator[None]:
    """Drop MLflow's registration notices from stderr inside the block; everything else
    written to stderr there (warnings, errors) is passed on unchanged afterwards."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stderr(buffer):
            yield
    finally:
        kept = [line for line in buffer.getvalue().splitlines(keepends=True)
                if not _MLFLOW_REGISTER_NOTICE.match(line.rstrip("\n"))]
        if kept:
            sys.stderr.write("".join(kept))


def _current_champion(client, name: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def _version_metric(client, mv, metric: str) -> float | None:
    """Metric of a model version: its tag if present, else its run's logged metric."""
    tag = (mv.tags or {}).get(TAG_METRIC_PREFIX + metric)
    if tag not in (None, ""):
        return float(tag)
    if mv.run_id:
        value = client.get_run(mv.run_id).data.metrics.get(metric)
        return None if value is None else float(value)
    return None


def _decode_param(value: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def champion_params(tracker: Tracker, target: str) -> dict[str, Any]:
    """Hyperparameters of the current champion (the ``model.*`` params of its run)."""
    client = tracker.client()
    mv = _current_champion(client, model_name(target))
    if mv is None or not mv.run_id:
        raise ModelNotFoundError(_no_model_message(tracker, target))
    params = client.get_run(mv.run_id).data.params
    return {k.removeprefix("model."): _decode_param(v) for k, v in params.items()
            if k.startswith("model.")}


def register_and_maybe_promote(
    tracker: Tracker,
    training: TrainingRun,
    *,
    metric: str = PRIMARY_METRIC,
    greater_is_better: bool = False,
    min_improvement: float = 0.0,
    reevaluate: Callable[[Mapping[str, Any]], float] | None = None,
) -> PromotionResult:
    """Register ``training``'s model as a new version of ``coatml-<target>`` and apply the
    promotion rule of this module's docstring. ``reevaluate(champion_hyperparameters)`` must
    return the champion configuration's ``metric`` on the current dataset and folds."""
    import mlflow

    if not training.model_uri:
        raise ValueError("this training run logged no model (log_training(log_model=False))")
    name = model_name(training.target)
    client = tracker.client()
    _ensure_registered_model(client, name)
    value = training.metrics.get(metric)
    tags = {TAG_TARGET: training.target, TAG_DATASET_HASH: training.dataset_hash,
            TAG_FOLDS_HASH: training.folds_hash}
    for key, val in training.metrics.items():
        tags[TAG_METRIC_PREFIX + key] = repr(float(val))
    tags[TAG_MODEL_SHA256] = training.model_sha256 or _stored_digest(tracker,
                                                                      training.model_uri)
    with tracker.activate(), _without_registration_notices():
        # models:/<model_id> registers the LoggedModel and keeps the run lineage (mlflow 3).
        mv = mlflow.register_model(training.model_uri, name, tags=tags)
    version = str(mv.version)
    champ = _current_champion(client, name)

    def promote_now(reason: str, champ_version=None, champ_value=None) -> PromotionResult:
        _set_champion(client, name, version, previous=champ)
        return PromotionResult(name, version, True, reason, metric, value, champ_version,
                               champ_value)

    def keep(reason: str, champ_version=None, champ_value=None) -> PromotionResult:
        client.set_model_version_tag(name, version, TAG_ROLE, CHALLENGER)
        client.set_registered_model_alias(name, CHALLENGER, version)
        return PromotionResult(name, version, False, reason, metric, value, champ_version,
                               champ_value)

    if champ is None:
        return promote_now(f"{name} v{version} is the first model for {training.target}: "
                           f"now champion ({metric} = {_fmt(value)}).")
    cv = str(champ.version)
    if value is None:
        return keep(f"v{version} has no {metric}; champion v{cv} stays. Promote by hand with "
                    f"`coatml models promote {name} {version}` if intended.", cv)
    ctags = champ.tags or {}
    same_data = (ctags.get(TAG_DATASET_HASH) == training.dataset_hash
                 and ctags.get(TAG_FOLDS_HASH, "") == training.folds_hash)
    direction = "higher" if greater_is_better else "lower"
    if same_data:
        champ_value = _version_metric(client, champ, metric)
        basis = "on the same dataset and folds"
    elif reevaluate is not None:
        champ_value = float(reevaluate(champion_params(tracker, training.target)))
        client.set_model_version_tag(
            name, cv, f"coatml.reevaluated.{training.dataset_hash[:12]}.{metric}",
            repr(champ_value))
        basis = (f"champion v{cv} re-evaluated with its hyperparameters on the current "
                 f"dataset {training.dataset_hash[:12]} and folds")
    else:
        return promote_now(
            f"v{version} is now champion: the dataset changed since champion v{cv} was "
            f"validated ({str(ctags.get(TAG_DATASET_HASH, '?'))[:12]} -> "
            f"{training.dataset_hash[:12]}), so its {metric} is not comparable and it never "
            f"saw the new records; v{version} is the only model validated on the current data "
            f"({metric} = {_fmt(value)}).", cv, None)
    if champ_value is None:
        return promote_now(f"v{version} is now champion: champion v{cv} has no {metric} to "
                           f"compare ({metric} = {_fmt(value)}).", cv, None)
    if _is_better(value, champ_value, greater_is_better, min_improvement):
        return promote_now(f"v{version} is now champion: {metric} {_fmt(value)} vs "
                           f"{_fmt(champ_value)} for v{cv} ({direction} is better; {basis}).",
                           cv, champ_value)
    if not same_data and value == champ_value:
        # Same configuration, same validation score, more data: the new version is the
        # champion's configuration refreshed on the current records (the active-learning
        # loop's `train --fast`). Keeping the old version would keep a model that never saw
        # the new measurements.
        return promote_now(f"v{version} is now champion: it matches champion v{cv}'s "
                           f"{metric} ({_fmt(value)}; {basis}) and was trained on the current "
                           f"records, which v{cv} never saw.", cv, champ_value)
    return keep(f"v{version} tagged challenger: {metric} {_fmt(value)} does not beat champion "
                f"v{cv}'s {_fmt(champ_value)} ({direction} is better; {basis}). "
                f"Champion v{cv} stays.", cv, champ_value)


def _set_champion(client, name: str, version: str, previous=None) -> None:
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, TAG_ROLE, CHAMPION)
    if previous is not None and str(previous.version) != str(version):
        client.set_model_version_tag(name, str(previous.version), TAG_ROLE, "former-champion")
    # A version that is champion is no longer "the challenger".
    try:
        if str(client.get_model_version_by_alias(name, CHALLENGER).version) == str(version):
            client.delete_registered_model_alias(name, CHALLENGER)
    except Exception:  # noqa: BLE001 - no challenger alias: nothing to clear
        pass


def promote(tracker: Tracker, name: str, version: str | int) -> PromotionResult:
    """Make ``name`` version ``version`` the champion by hand (no metric comparison)."""
    from mlflow.exceptions import MlflowException

    client = tracker.client()
    version = str(version)
    try:
        mv = client.get_model_version(name, version)
    except MlflowException as e:
        raise ModelNotFoundError(f"{name} has no version {version} in {tracker.tracking_uri}; "
                                 "`coatml models list` shows what exists.") from e
    previous = _current_champion(client, name)
    _set_champion(client, name, version, previous=previous)
    prev = "none" if previous is None else f"v{previous.version}"
    value = _version_metric(client, mv, PRIMARY_METRIC)
    return PromotionResult(name, version, True,
                           f"{name} v{version} promoted to champion by hand (was {prev}).",
                           PRIMARY_METRIC, value,
                           None if previous is None else str(previous.version))


def _created(ms: int | None) -> pd.Timestamp | None:
    if ms is None:
        return None
    return pd.Timestamp(ms, unit="ms", tz="UTC")


def list_models(tracker: Tracker, target: str | None = None) -> pd.DataFrame:
    """One row per registered version: name, version, aliases, role, metrics, dataset hash,
    created (UTC), run id. Sorted by name, then version (newest last)."""
    client = tracker.client()
    if target is not None:
        names = [model_name(target)]
    else:
        names = sorted(rm.name for rm in client.search_registered_models(
            filter_string=f"name LIKE '{MODEL_PREFIX}%'"))
    rows = []
    for name in names:
        aliases_by_version: dict[str, list[str]] = {}
        try:
            rm = client.get_registered_model(name)
        except Exception:  # noqa: BLE001 - no such model: no rows
            continue
        for alias, ver in (rm.aliases or {}).items():
            aliases_by_version.setdefault(str(ver), []).append(alias)
        for mv in client.search_model_versions(f"name='{name}'"):
            tags = mv.tags or {}
            row = {"name": name, "version": int(mv.version),
                   "aliases": ",".join(sorted(aliases_by_version.get(str(mv.version), []))),
                   "role": tags.get(TAG_ROLE, "")}
            for m in LISTED_METRICS:
                tag = tags.get(TAG_METRIC_PREFIX + m)
                row[m] = float(tag) if tag not in (None, "") else float("nan")
            row["dataset_hash"] = tags.get(TAG_DATASET_HASH, "")
            row["created"] = _created(mv.creation_timestamp)
            row["run_id"] = mv.run_id or ""
            rows.append(row)
    columns = ["name", "version", "aliases", "role", *LISTED_METRICS, "dataset_hash",
               "created", "run_id"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["name", "version"]).reset_index(drop=True)


_REF = re.compile(r"^(?P<name>[^@/]+?)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))?$")


def _resolve(client, ref: str):
    """``name@alias`` | ``name/version`` | ``name`` (= champion) -> ModelVersion."""
    from mlflow.exceptions import MlflowException

    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(f"model reference {ref!r}: use NAME@ALIAS, NAME/VERSION or NAME, "
                         "e.g. coatml-capacity_retention_pct@champion")
    name = m["name"]
    try:
        if m["version"]:
            return client.get_model_version(name, m["version"])
        return client.get_model_version_by_alias(name, m["alias"] or CHAMPION)
    except MlflowException as e:
        raise ModelNotFoundError(f"no model version {ref!r}; `coatml models list` shows the "
                                 "registered ones, `coatml train` creates them.") from e


def show_model(tracker: Tracker, ref: str) -> dict[str, Any]:
    """Everything about one version: ``"coatml-x@champion"``, ``"coatml-x/3"`` or a name
    (its champion). Keys: name, version, aliases, role, target, dataset_hash, folds_hash,
    created, run_id, source, metrics, params, tags, artifacts."""
    client = tracker.client()
    mv = _resolve(client, ref)
    rm = client.get_registered_model(mv.name)
    aliases = sorted(a for a, v in (rm.aliases or {}).items() if str(v) == str(mv.version))
    run = client.get_run(mv.run_id) if mv.run_id else None
    artifacts: list[str] = []
    if run is not None:
        artifacts = [f.path for f in client.list_artifacts(run.info.run_id)]
        for d in [f for f in client.list_artifacts(run.info.run_id) if f.is_dir]:
            artifacts.extend(f.path for f in client.list_artifacts(run.info.run_id, d.path))
    tags = dict(mv.tags or {})
    return {
        "name": mv.name,
        "version": str(mv.version),
        "aliases": aliases,
        "role": tags.get(TAG_ROLE, ""),
        "target": tags.get(TAG_TARGET, mv.name.removeprefix(MODEL_PREFIX)),
        "dataset_hash": tags.get(TAG_DATASET_HASH, ""),
        "folds_hash": tags.get(TAG_FOLDS_HASH, ""),
        "created": _created(mv.creation_timestamp),
        "run_id": mv.run_id or "",
        "source": mv.source,
        "metrics": dict(run.data.metrics) if run is not None else {},
        "params": dict(run.data.params) if run is not None else {},
        "tags": tags,
        "artifacts": sorted(artifacts),
    }


class VerifiedPyfunc:
    """What :attr:`LoadedModel.pyfunc_model` holds: the rebuilt model behind the two methods of
    MLflow's ``PyFuncModel`` that coatml uses (``predict`` and ``unwrap_python_model``)."""

    def __init__(self, python_model: Any) -> None:
        self._python_model = python_model

    def unwrap_python_model(self) -> Any:
        return self._python_model

    def predict(self, data: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        return self._python_model.predict(None, pd.DataFrame(data), params)


@dataclass(frozen=True)
class LoadedModel:
    """A registered version loaded for prediction. ``predict_dist(records)`` gives
    ``mean, median, std, lo68, hi68, lo95, hi95`` per record in the target's units."""

    name: str
    version: str
    target: str
    run_id: str
    pyfunc_model: Any

    @property
    def python_model(self):
        """The :class:`coatml.tracking.pyfunc.CoatmlModel` behind the pyfunc wrapper."""
        return self.pyfunc_model.unwrap_python_model()

    def predict_dist(self, records: pd.DataFrame) -> pd.DataFrame:
        """Predict for a records table (indexed like ``records``).

        Calls the model directly rather than ``pyfunc.predict``: MLflow's schema check would
        reject record tables that legitimately omit optional columns or hold them with
        another dtype; the featurizer validates what it needs.
        """
        return self.python_model.predict_dist(records)


def _no_model_message(tracker: Tracker, target: str) -> str:
    return (f"no champion model for {target} (registered model {model_name(target)}) in "
            f"{_masked(tracker.tracking_uri)}. Run `coatml train --target {target}` first.")


def _masked(uri: str) -> str:
    from coatml.exceptions import mask_url

    return mask_url(uri)


def _relocated(tracker: Tracker, source: str) -> Path | None:
    """Where an embedded workspace's model files are now, when the workspace folder was moved
    or renamed after the model was logged (MLflow stores absolute artifact paths): the same
    ``models/<model_id>/artifacts`` under the tracker's current artifact folder."""
    location = tracker.artifact_location or ""
    if not location.startswith("file:") or not source.startswith("models:/m-"):
        return None
    from urllib.parse import unquote, urlparse

    root = Path(unquote(urlparse(location).path))
    candidate = root / "models" / source.removeprefix("models:/") / "artifacts"
    return candidate if candidate.is_dir() else None


def _model_dir(tracker: Tracker, uri: str, fallback_source: str = "") -> Path:
    """A local folder holding the logged model at ``uri`` (downloaded from a server; the
    files themselves for an embedded store)."""
    import mlflow

    try:
        with tracker.activate():
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
        if local.is_dir():
            return local
    except Exception:  # noqa: BLE001 - any failure to fetch: try the moved-workspace location
        moved = _relocated(tracker, fallback_source or uri)
        if moved is not None:
            return moved
        raise
    moved = _relocated(tracker, fallback_source or uri)
    if moved is not None:
        return moved
    raise FileNotFoundError(f"{local} is missing")


def _stored_digest(tracker: Tracker, uri: str) -> str:
    from coatml.tracking.pyfunc import artifacts_digest

    return artifacts_digest(_model_dir(tracker, uri))


def _version_files(tracker: Tracker, mv: Any) -> dict[str, bytes]:
    from coatml.tracking.pyfunc import read_model_files

    label = f"{mv.name} v{mv.version}"
    try:
        folder = _model_dir(tracker, f"models:/{mv.name}/{mv.version}", str(mv.source or ""))
        return read_model_files(folder)
    except Exception as exc:  # noqa: BLE001 - any failure to read the files is reported as such
        raise ModelIntegrityError(
            f"the files of {label} (from {_masked(str(mv.source))}) are missing or unreadable "
            f"({type(exc).__name__}: {_masked(str(exc)).splitlines()[0] if str(exc) else ''}); "
            f"retrain with `coatml train`, or make another version champion with "
            f"`coatml models promote {mv.name} VERSION`") from exc


def load_model(tracker: Tracker, ref: str) -> LoadedModel:
    """Load ``name@alias`` / ``name/version`` / ``name`` without executing any stored file:
    read the version's files, check them against the ``coatml.model_sha256`` tag recorded at
    registration, and rebuild the model from its JSON with the installed coatml code.

    Raises :class:`ModelIntegrityError` when the files are missing, changed or unreadable, or
    when the version carries no recorded hash (registered before coatml recorded one:
    ``coatml models trust`` records it after you have checked the files)."""
    from coatml.tracking.pyfunc import artifacts_digest, load_model_files

    client = tracker.client()
    mv = _resolve(client, ref)
    label = f"{mv.name} v{mv.version}"
    expected = (mv.tags or {}).get(TAG_MODEL_SHA256, "")
    if not expected:
        raise ModelIntegrityError(
            f"{label} has no recorded content hash ({TAG_MODEL_SHA256}), so its files cannot be "
            f"verified and are not loaded. Retrain (`coatml train`), or, if you trust the files, "
            f"record their hash with `coatml models trust {mv.name} {mv.version}`")
    files = _version_files(tracker, mv)
    found = artifacts_digest(files)
    if found != expected:
        raise ModelIntegrityError(
            f"the files of {label} changed since it was registered (sha256 {found[:12]}..., "
            f"recorded {expected[:12]}...); refusing to load them. Retrain with `coatml train`, "
            f"or make another version champion with `coatml models promote {mv.name} VERSION`")
    try:
        model = load_model_files(files)
    except Exception as exc:  # noqa: BLE001 - verified files that still do not load
        raise ModelIntegrityError(
            f"{label} could not be rebuilt from its files ({type(exc).__name__}: {exc}); "
            "retrain with `coatml train`") from exc
    target = (mv.tags or {}).get(TAG_TARGET, mv.name.removeprefix(MODEL_PREFIX))
    return LoadedModel(mv.name, str(mv.version), target, mv.run_id or "",
                       VerifiedPyfunc(model))


def trust_model(tracker: Tracker, name: str, version: str | int) -> str:
    """Record the sha256 of ``name`` version ``version``'s current files as its content hash
    (for versions registered before coatml recorded one, or files changed on purpose); returns
    the hash. Only do this after checking the files: loading then trusts them."""
    from coatml.tracking.pyfunc import artifacts_digest

    client = tracker.client()
    mv = _resolve(client, f"{name}/{version}")
    digest = artifacts_digest(_version_files(tracker, mv))
    client.set_model_version_tag(mv.name, str(mv.version), TAG_MODEL_SHA256, digest)
    return digest


def load_champion(tracker: Tracker, target: str) -> LoadedModel:
    """The champion of ``target``; :class:`ModelNotFoundError` (telling the user to run
    ``coatml train``) when there is none, :class:`ModelIntegrityError` (a subclass) when its
    files are missing or changed."""
    try:
        return load_model(tracker, f"{model_name(target)}@{CHAMPION}")
    except ModelIntegrityError:
        raise
    except ModelNotFoundError as e:
        raise ModelNotFoundError(_no_model_message(tracker, target)) from e


def load_champions(tracker: Tracker, targets: Iterable[str]) -> tuple[dict[str, LoadedModel],
                                                                     dict[str, str]]:
    """The champions of ``targets`` that have one, and for the others why not
    (``{target: message}``): the one way commands load the models they score with."""
    models: dict[str, LoadedModel] = {}
    missing: dict[str, str] = {}
    for target in targets:
        try:
            models[target] = load_champion(tracker, target)
        except ModelNotFoundError as exc:
            missing[target] = str(exc)
    return models, missing
