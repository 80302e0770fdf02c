"""MLflow runs: where tracking data lives (:class:`Tracker`) and one run per training.

The default is *embedded*: a SQLite file ``<workspace>/mlflow.db`` holds runs, params, metrics
and the model registry, and artifacts (plots, models) land in ``<workspace>/mlartifacts``, so a
workspace folder is self-contained and needs no server. A remote tracking server
(``http://host:port``) works the same way; the server then decides where artifacts go.

mlflow is imported inside functions only: ``import coatml.tracking`` must stay cheap.

MLflow APIs relied on (mlflow 3.x):

* ``MlflowClient(tracking_uri=..., registry_uri=...)`` and ``create_experiment(name,
  artifact_location=...)`` -- an experiment's artifact location is fixed at creation, which
  is how artifacts are kept inside the workspace for a SQLite store (``create_experiment``
  docstring, mlflow 3.17).
* ``mlflow.start_run(experiment_id=...)`` + ``mlflow.log_params / log_metrics / set_tags /
  log_artifact`` (fluent API, one active run at a time).
* ``mlflow.pyfunc.log_model(name=...)`` (``name`` replaced ``artifact_path`` in 3.0, and the
  model becomes a LoggedModel addressed as ``models:/<model_id>``).
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_EXPERIMENT = "coatml"
DB_FILENAME = "mlflow.db"
ARTIFACTS_DIRNAME = "mlartifacts"

#: Metric used to compare models (lower is better): RMSE of the grouped cross-validation.
PRIMARY_METRIC = "cv_rmse"

#: Tag / param names (one place, so registry and CLI read what runs write).
TAG_TARGET = "coatml.target"
TAG_DATASET_HASH = "coatml.dataset_hash"
TAG_FOLDS_HASH = "coatml.folds_hash"
TAG_FEATURE_SET = "coatml.feature_set"
TAG_FEATURE_SET_HASH = "coatml.feature_set_hash"
TAG_CODE_VERSION = "coatml.code_version"
#: sha256 of a model's files (:func:`coatml.tracking.pyfunc.artifacts_digest`), on the run that
#: logged it and on every registered version; checked before a model is loaded.
TAG_MODEL_SHA256 = "coatml.model_sha256"
TAG_LITERATURE_VERSION = "coatml.literature_version"
TAG_LITERATURE_HASH = "coatml.literature_hash"

PARITY_PNG = "parity.png"
IMPORTANCE_PNG = "feature_importance.png"
CALIBRATION_PNG = "calibration.png"
PLOTS_DIR = "plots"

#: mlflow.environment_variables.MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR
_PROGRESS_BAR_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


#: Seconds one HTTP request to a tracking server may take (connect, or wait for an answer).
HTTP_TIMEOUT_S = 6
HTTP_MAX_RETRIES = 0


def limit_http_requests() -> None:
    """Bound MLflow's HTTP requests (``MLFLOW_HTTP_REQUEST_TIMEOUT``, default 120 s, and
    ``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, default 7 with exponential backoff): an unreachable
    server then fails within seconds instead of minutes. Values the user set are kept."""
    import os

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(HTTP_TIMEOUT_S))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(HTTP_MAX_RETRIES))


@dataclass(frozen=True)
class Tracker:
    """Where runs and registered models are stored.

    ``registry_uri`` defaults to ``tracking_uri`` (one SQLite file or one server holds both).
    ``artifact_location`` is used only when the experiment is first created; ``None`` lets
    the store or server choose (a server started with ``--serve-artifacts`` proxies them).
    """

    tracking_uri: str
    registry_uri: str | None = None
    experiment_name: str = DEFAULT_EXPERIMENT
    artifact_location: str | None = None

    @classmethod
    def for_workspace(cls, workspace: str | Path,
                      experiment_name: str = DEFAULT_EXPERIMENT) -> Tracker:
        """Embedded tracking inside ``workspace``: ``sqlite:///<ws>/mlflow.db`` +
        ``<ws>/mlartifacts``. The folder is created if missing."""
        ws = Path(workspace).expanduser().resolve()
        ws.mkdir(parents=True, exist_ok=True)
        artifacts = ws / ARTIFACTS_DIRNAME
        artifacts.mkdir(exist_ok=True)
        # sqlite:/// + absolute POSIX path gives the four-slash form SQLAlchemy expects.
        return cls(tracking_uri=f"sqlite:///{(ws / DB_FILENAME).as_posix()}",
                   experiment_name=experiment_name, artifact_location=artifacts.as_uri())

    @classmethod
    def remote(cls, url: str, experiment_name: str = DEFAULT_EXPERIMENT) -> Tracker:
        """A tracking server, e.g. ``http://127.0.0.1:5000``; it stores the artifacts."""
        return cls(tracking_uri=url.rstrip("/"), experiment_name=experiment_name)

    @property
    def effective_registry_uri(self) -> str:
        return self.registry_uri or self.tracking_uri

    def client(self):
        """An ``MlflowClient`` bound to this tracker (no global MLflow state involved).

        Requests to a tracking server give up after :data:`HTTP_TIMEOUT_S` seconds without
        retries (MLflow's defaults retry for minutes), unless ``MLFLOW_HTTP_REQUEST_TIMEOUT`` /
        ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` say otherwise."""
        from mlflow import MlflowClient

        limit_http_requests()

        return MlflowClient(tracking_uri=self.tracking_uri,
                            registry_uri=self.effective_registry_uri)

    def experiment_id(self) -> str:
        """Id of the experiment, created on first use with :attr:`artifact_location`."""
        client = self.client()
        exp = client.get_experiment_by_name(self.experiment_name)
        if exp is not None:
            self._follow_moved_workspace(exp)
            return exp.experiment_id
        from mlflow.exceptions import MlflowException

        try:
            return client.create_experiment(self.experiment_name,
                                            artifact_location=self.artifact_location)
        except MlflowException:
            # Lost a race with another process creating it: read it back.
            exp = client.get_experiment_by_name(self.experiment_name)
            if exp is None:
                raise
            return exp.experiment_id

    def _follow_moved_workspace(self, exp: Any) -> None:
        """An embedded store keeps the experiment's artifact folder as an absolute path; after
        the workspace folder was moved, renamed or copied, new runs would write their files
        to the old place (outside the workspace, or into another workspace). Point the
        experiment at this workspace's artifact folder instead (a SQLite store only: MLflow has
        no API to change an experiment's artifact location)."""
        current = self.artifact_location
        stored = str(exp.artifact_location or "")
        if (not current or not current.startswith("file:") or not stored.startswith("file:")
                or stored.rstrip("/") == current.rstrip("/")
                or not self.tracking_uri.startswith("sqlite:///")):
            return
        import sqlalchemy as sa

        engine = sa.create_engine(self.tracking_uri)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE experiments SET artifact_location = :new "
                                     "WHERE experiment_id = :id"),
                             {"new": current, "id": int(exp.experiment_id)})
        finally:
            engine.dispose()

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        """Point MLflow's fluent API (needed by ``log_model``/``load_model``) at this tracker
        for the duration of the block, restoring the previous URIs afterwards."""
        import os

        import mlflow

        limit_http_requests()
        old_tracking = mlflow.get_tracking_uri()
        old_registry = mlflow.get_registry_uri()
        # No tqdm bars on artifact up/downloads (they would clutter CLI output).
        old_bar = os.environ.get(_PROGRESS_BAR_ENV)
        os.environ[_PROGRESS_BAR_ENV] = "false"
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.effective_registry_uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(old_tracking)
            mlflow.set_registry_uri(old_registry)
            if old_bar is None:
                os.environ.pop(_PROGRESS_BAR_ENV, None)
            else:
                os.environ[_PROGRESS_BAR_ENV] = old_bar


@dataclass(frozen=True)
class TrainingRun:
    """What :func:`log_training` logged: enough for the registry to compare and register."""

    run_id: str
    experiment_id: str
    target: str
    model_uri: str | None
    metrics: Mapping[str, float]
    dataset_hash: str
    folds_hash: str
    params: Mapping[str, str] = field(default_factory=dict)
    log_model_seconds: float | None = None
    model_sha256: str = ""


# ----------------------------------------------------------------------------------------------
# Helpers


def code_version() -> str:
    """``coatml.__version__`` plus the git commit of the source tree when it is a checkout
    (``0.1.0+g1a2b3c4``, ``+dirty`` when uncommitted changes exist); the bare version
    otherwise."""
    import coatml

    version = coatml.__version__
    src = Path(coatml.__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=src, text=True,
                                capture_output=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    if not commit:
        return version
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=src, text=True, capture_output=True, timeout=5,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        dirty = ""
    return f"{version}+g{commit}" + (".dirty" if dirty else "")


def _finite(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def report_metrics(report: Any) -> dict[str, float]:
    """Flatten a CV report into MLflow metric names.

    Accepts a :class:`coatml.models.validation.CVReport` (anything with ``to_dict()``) or its
    dict. ``metrics["model"][m]`` becomes ``cv_<m>`` (``cv_rmse``, ``cv_mae``,
    ``cv_spearman_within_system``, ``cv_coverage68``, ``cv_coverage95``), every other
    predictor's ``metrics[<baseline>][m]`` becomes ``baseline_<baseline>_<m>``, and numeric
    top-level entries become ``cv_<key>`` (``cv_n_records``, ``cv_interval_scale_factor``).
    Non-finite values, booleans and text are dropped (a NaN metric says nothing and some
    stores reject it).
    """
    data = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    out: dict[str, float] = {}

    def put(name: str, value: Any) -> None:
        if isinstance(value, bool):
            return
        f = _finite(value)
        if f is not None:
            out[_metric_name(name)] = f

    for key, value in data.items():
        if key == "metrics" and isinstance(value, Mapping):
            for predictor, values in value.items():
                prefix = "cv" if predictor == "model" else f"baseline_{predictor}"
                for m, v in dict(values or {}).items():
                    put(f"{prefix}_{m}", v)
        elif not isinstance(value, (Mapping, list, tuple, str)):
            put(f"cv_{key}", value)
    return out


def folds_fingerprint(report: Any) -> str:
    """SHA-256 (first 16 hex) of the CV scheme and the fold and group of every out-of-fold
    row: two reports share it exactly when they used the same folds on the same rows."""
    import hashlib

    oof = getattr(report, "oof", None)
    if oof is None or "fold" not in oof:
        return ""
    payload = {
        "scheme": str(getattr(report, "scheme", "")),
        "fold": [int(v) for v in oof["fold"].to_numpy()],
        "group": [str(v) for v in oof["group"].to_numpy()] if "group" in oof else [],
    }
    blob = json.dumps(payload, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _metric_name(name: str) -> str:
    """MLflow allows alphanumerics, ``_ - . space / :``; replace anything else."""
    return "".join(c if (c.isalnum() or c in "_-./: ") else "_" for c in name)


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text[:6000]  # MLflow's param value limit is 6000 characters in 2.x/3.x stores


def target_axis(target: str) -> tuple[str, str]:
    """(quantity, unit) for plot labels of a target column from the record schema."""
    from coatml.data.schema import COLUMN_BY_NAME

    col = COLUMN_BY_NAME.get(target)
    unit = col.unit if col is not None else ""
    pretty_unit = {"ohm cm2": "Ω·cm²"}.get(unit, unit)
    quantity = target
    for suffix in ("_pct", "_ohm_cm2", "_mah_g", "_mv", "_s_cm", "_h"):
        if quantity.endswith(suffix):
            quantity = quantity[: -len(suffix)]
            break
    return quantity.replace("_", " ").capitalize(), pretty_unit


def gain_importance(model: Any) -> dict[str, float]:
    """Gain importance summed over the ensemble's boosters, averaged per member.

    Uses ``model.feature_importance(importance_type="gain")`` when the ensemble offers it;
    otherwise reads XGBoost boosters from ``model.boosters_`` (or ``get_booster()`` on each
    of ``model.estimators_``) and averages ``Booster.get_score(importance_type="gain")``
    (https://xgboost.readthedocs.io/en/stable/python/python_api.html#xgboost.Booster.get_score).
    """
    if hasattr(model, "feature_importance"):
        imp = model.feature_importance(importance_type="gain")
        return {str(k): float(v) for k, v in dict(imp).items()}
    boosters = list(getattr(model, "boosters_", []))
    if not boosters and hasattr(model, "estimators_"):
        boosters = [e.get_booster() for e in model.estimators_]
    if not boosters and hasattr(model, "get_booster"):
        boosters = [model.get_booster()]
    names = [str(n) for n in getattr(model, "feature_names_in_", [])]
    total: dict[str, float] = {}
    for b in boosters:
        for k, v in b.get_score(importance_type="gain").items():
            # Boosters trained on numpy arrays name features f0, f1, ...
            if names and k.startswith("f") and k[1:].isdigit() and int(k[1:]) < len(names):
                k = names[int(k[1:])]
            total[k] = total.get(k, 0.0) + float(v)
    n = max(len(boosters), 1)
    return {k: v / n for k, v in total.items()}


# ----------------------------------------------------------------------------------------------
# One run per training


def log_training(
    tracker: Tracker,
    *,
    target: str,
    model: Any,
    featurizer: Any,
    report: Any,
    dataset_hash: str,
    n_rows: int,
    input_example: pd.DataFrame | None = None,
    oof: pd.DataFrame | None = None,
    random_seed: int | None = None,
    folds_hash: str | None = None,
    model_params: Mapping[str, Any] | None = None,
    importance: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    run_name: str | None = None,
    log_model: bool = True,
) -> TrainingRun:
    """Log one training as one MLflow run and return what was logged.

    - params: model hyperparameters (``model_params`` or ``model.get_params()``) prefixed
      ``model.``, the target, feature-set name and hash, dataset hash and row count, CV folds
      hash, code version (:func:`code_version`) and the random seed;
    - metrics: :func:`report_metrics` of the CV report (model ``cv_*`` and ``baseline_*``
      rows, coverage68/95 included);
    - artifacts: ``plots/parity.png``, ``plots/feature_importance.png``,
      ``plots/calibration.png``, ``cv_report.json`` (+ ``cv_report.md`` if available), and
      (``log_model``) the pyfunc model under ``model`` (see :mod:`coatml.tracking.pyfunc`).

    ``oof`` holds the out-of-fold predictions with columns ``y_true``, ``mean``, ``std`` in
    the space the model predicts in (:mod:`coatml.models.targets`: log10 for resistance), where
    the plots are drawn and labelled; by default it is taken from ``report.oof`` (columns
    ``y``, ``model``, ``model_std`` of a ``CVReport``). ``folds_hash`` defaults to
    :func:`folds_fingerprint` of the report; the registry compares models only on equal
    dataset and folds hashes.
    """
    import mlflow

    from coatml.models.targets import get_target
    from coatml.tracking import plots

    model_space = get_target(target).transform

    metrics = report_metrics(report)
    if oof is None:
        roof = getattr(report, "oof", None)
        if roof is None:
            raise ValueError("pass oof= (y_true, mean, std) or a CVReport with .oof")
        std = roof["model_std"] if "model_std" in roof else np.full(len(roof), np.nan)
        oof = oof_frame(roof["y"], roof["model"], std)
    if folds_hash is None:
        folds_hash = folds_fingerprint(report)
    hp = dict(model_params) if model_params is not None else dict(model.get_params())
    feature_set = str(getattr(featurizer, "feature_set", ""))
    feature_set_hash = str(getattr(featurizer, "feature_set_hash_", ""))
    version = code_version()
    params: dict[str, str] = {f"model.{k}": _param_value(v) for k, v in sorted(hp.items())}
    params.update({
        "target": target,
        "feature_set": feature_set,
        "feature_set_hash": feature_set_hash,
        "n_features": str(len(getattr(featurizer, "feature_names_out_", []))),
        "dataset_hash": dataset_hash,
        "dataset_rows": str(int(n_rows)),
        "folds_hash": folds_hash,
        "code_version": version,
        "random_seed": "" if random_seed is None else str(int(random_seed)),
        "model_space": model_space,
    })
    all_tags = {
        TAG_TARGET: target,
        TAG_DATASET_HASH: dataset_hash,
        TAG_FOLDS_HASH: folds_hash,
        TAG_FEATURE_SET: feature_set,
        TAG_FEATURE_SET_HASH: feature_set_hash,
        TAG_CODE_VERSION: version,
    }
    all_tags.update(dict(tags or {}))

    quantity, unit = target_axis(target)
    if model_space == "log10":
        quantity, unit = f"log10 {quantity.lower()}", f"log10 {unit}" if unit else "log10"
    oof = pd.DataFrame(oof)
    interval_points = {lv: metrics[k] for lv, k in ((0.68, "cv_coverage68"),
                                                    (0.95, "cv_coverage95")) if k in metrics}
    imp = dict(importance) if importance is not None else gain_importance(model)

    experiment_id = tracker.experiment_id()
    log_seconds = None
    model_uri = None
    model_sha256 = ""
    with tracker.activate(), tempfile.TemporaryDirectory(prefix="coatml-run-") as tmp:
        tmpdir = Path(tmp)
        plot_dir = tmpdir / PLOTS_DIR
        plots.parity_plot(oof["y_true"], oof["mean"], oof["std"], plot_dir / PARITY_PNG,
                          quantity=quantity, unit=unit)
        plots.importance_plot(imp, plot_dir / IMPORTANCE_PNG)
        plots.calibration_plot(oof["y_true"], oof["mean"], oof["std"],
                               plot_dir / CALIBRATION_PNG, interval_points=interval_points)
        report_dict = report.to_dict() if hasattr(report, "to_dict") else dict(report)
        (tmpdir / "cv_report.json").write_text(json.dumps(report_dict, indent=2, default=str))
        if hasattr(report, "to_markdown"):
            (tmpdir / "cv_report.md").write_text(str(report.to_markdown()))

        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
            mlflow.log_params(params)
            if metrics:
                mlflow.log_metrics(metrics)
            mlflow.set_tags(all_tags)
            mlflow.log_artifacts(str(plot_dir), artifact_path=PLOTS_DIR)
            mlflow.log_artifact(str(tmpdir / "cv_report.json"))
            if (tmpdir / "cv_report.md").exists():
                mlflow.log_artifact(str(tmpdir / "cv_report.md"))
            if log_model:
                from coatml.tracking.pyfunc import log_pyfunc_model_with_digest

                if input_example is None:
                    raise ValueError("log_model=True needs input_example (a few records) to "
                                     "build the model signature")
                t0 = time.perf_counter()
                info, model_sha256 = log_pyfunc_model_with_digest(
                    model=model, featurizer=featurizer, target=target,
                    input_example=input_example)
                mlflow.set_tag(TAG_MODEL_SHA256, model_sha256)
                log_seconds = time.perf_counter() - t0
                model_uri = info.model_uri
                mlflow.log_metric("log_model_seconds", log_seconds)
            run_id = run.info.run_id

    return TrainingRun(run_id=run_id, experiment_id=experiment_id, target=target,
                       model_uri=model_uri, metrics=metrics, dataset_hash=dataset_hash,
                       folds_hash=folds_hash, params=params, log_model_seconds=log_seconds,
                       model_sha256=model_sha256)


def oof_frame(y_true: Any, mean: Any, std: Any) -> pd.DataFrame:
    """Build the ``oof`` table :func:`log_training` expects from three arrays."""
    return pd.DataFrame({"y_true": np.asarray(y_true, dtype=float),
                         "mean": np.asarray(mean, dtype=float),
                         "std": np.asarray(std, dtype=float)})
