"""One MLflow run per training: params, metrics, plots, embedded SQLite store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from coatml.tracking import PRIMARY_METRIC, Tracker, log_training, report_metrics
from coatml.tracking.runs import (
    CALIBRATION_PNG,
    IMPORTANCE_PNG,
    PARITY_PNG,
    PLOTS_DIR,
    folds_fingerprint,
)


def test_importing_tracking_does_not_import_mlflow() -> None:
    code = ("import sys, coatml.tracking as t; t.__doc__; "
            "bad = [m for m in ('mlflow', 'matplotlib', 'xgboost') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tracker_for_workspace_is_embedded(tmp_path: Path) -> None:
    t = Tracker.for_workspace(tmp_path / "ws")
    assert t.tracking_uri == f"sqlite:///{(tmp_path / 'ws' / 'mlflow.db').resolve().as_posix()}"
    assert t.effective_registry_uri == t.tracking_uri
    assert t.artifact_location == (tmp_path / "ws" / "mlartifacts").resolve().as_uri()
    with pytest.raises(AttributeError):
        t.tracking_uri = "x"  # type: ignore[misc]  # frozen


def test_report_metrics_flattens_model_and_baselines(trained_retention) -> None:
    report = trained_retention.report
    m = report_metrics(report)
    assert m["cv_rmse"] == pytest.approx(report.metrics["model"]["rmse"])
    assert m["cv_coverage68"] == pytest.approx(report.metrics["model"]["coverage68"])
    assert m["cv_coverage95"] == pytest.approx(report.metrics["model"]["coverage95"])
    for baseline in ("global_mean", "coating_mean", "random_forest"):
        assert m[f"baseline_{baseline}_rmse"] == pytest.approx(report.metrics[baseline]["rmse"])
    assert m["cv_n_records"] == report.n_records
    # Baselines have no intervals: their NaN coverage is not logged.
    assert "baseline_global_mean_coverage68" not in m


def test_log_training_logs_params_metrics_and_three_pngs(tracker, trained_retention,
                                                          tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # catch stray ./mlruns folders
    t = trained_retention
    run = log_training(tracker, target=t.target, model=t.model, featurizer=t.featurizer,
                       report=t.report, dataset_hash=t.dataset_hash, n_rows=len(t.records),
                       random_seed=0, log_model=False, tags={"purpose": "test"})
    client = tracker.client()
    logged = client.get_run(run.run_id)
    p = logged.data.params
    assert p["target"] == "capacity_retention_pct"
    assert p["dataset_hash"] == t.dataset_hash
    assert p["dataset_rows"] == str(len(t.records))
    assert p["feature_set"] == t.featurizer.feature_set
    assert p["feature_set_hash"] == str(t.featurizer.feature_set_hash_)
    assert p["model.n_estimators"] == str(t.model.n_estimators)
    assert p["model.n_members"] == str(t.model.n_members)
    assert p["random_seed"] == "0"
    assert p["code_version"].startswith(__import__("coatml").__version__)
    assert p["folds_hash"] == folds_fingerprint(t.report) != ""
    metrics = logged.data.metrics
    assert metrics[PRIMARY_METRIC] == pytest.approx(t.report.metrics["model"]["rmse"])
    assert metrics["baseline_random_forest_rmse"] == pytest.approx(
        t.report.metrics["random_forest"]["rmse"])
    assert logged.data.tags["purpose"] == "test"
    assert logged.data.tags["coatml.dataset_hash"] == t.dataset_hash

    plots = {f.path for f in client.list_artifacts(run.run_id, PLOTS_DIR)}
    assert plots == {f"{PLOTS_DIR}/{n}" for n in (PARITY_PNG, IMPORTANCE_PNG, CALIBRATION_PNG)}
    # Artifacts are files inside the workspace, real PNGs.
    ws_artifacts = Path(tracker.artifact_location.removeprefix("file://"))
    pngs = sorted(ws_artifacts.rglob("*.png"))
    assert {p.name for p in pngs} == {PARITY_PNG, IMPORTANCE_PNG, CALIBRATION_PNG}
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    assert not (tmp_path / "mlruns").exists()


def test_folds_fingerprint_changes_with_folds(trained_retention) -> None:
    import dataclasses

    report = trained_retention.report
    oof = report.oof.copy()
    oof["fold"] = oof["fold"].to_numpy()[::-1]
    other = dataclasses.replace(report, oof=oof)
    assert folds_fingerprint(report) == folds_fingerprint(dataclasses.replace(report))
    assert folds_fingerprint(other) != folds_fingerprint(report)
