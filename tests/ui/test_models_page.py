"""The Models page under AppTest: versions per target, metrics beside the baselines, the
calibration plot, and promotion only after a confirmation."""

from __future__ import annotations

from pathlib import Path

from tests.ui._harness import open_page, texts

RETENTION = "coatml-capacity_retention_pct"


def _champion(root: Path, name: str) -> str:
    from coatml.tracking.training import tracker_for
    from coatml.workspace import Workspace

    client = tracker_for(Workspace.load(root)).client()
    return str(client.get_model_version_by_alias(name, "champion").version)


def _register_second_version(root: Path) -> None:
    """A second (challenger) version of the retention model, as `coatml train` would add."""
    from coatml.tracking.registry import register_and_maybe_promote
    from coatml.tracking.runs import log_training
    from coatml.tracking.training import tracker_for
    from coatml.workspace import Workspace
    from tests.tracking.conftest import synthetic_records, train

    tracker = tracker_for(Workspace.load(root))
    trained = train(synthetic_records(), "capacity_retention_pct")
    run = log_training(tracker, target=trained.target, model=trained.model,
                       featurizer=trained.featurizer, report=trained.report,
                       dataset_hash=trained.dataset_hash, n_rows=len(trained.records),
                       input_example=trained.records.head(2))
    register_and_maybe_promote(tracker, run)


def test_versions_metrics_and_calibration(trained_workspace: Path) -> None:
    at = open_page("Models")
    assert [s.value for s in at.subheader] == [RETENTION, "coatml-interface_resistance_ohm_cm2"]
    versions = at.dataframe[0].value
    assert versions["aliases"].tolist() == ["champion"]
    metrics = at.dataframe[-1].value  # versions of each model, then the metrics
    assert metrics["predictor"].iloc[0] == "model"
    assert any(p.startswith("baseline: ") for p in metrics["predictor"])
    assert "rmse" in metrics.columns and metrics["rmse"].notna().all()
    assert len(at.get("image")) == 1  # the calibration plot of the run
    assert any("mlflow ui --backend-store-uri" in t for t in texts(at.markdown))
    # the champion offers no promotion
    assert not [b for b in at.button if b.label.startswith("Promote")]


def test_promotion_needs_confirmation(trained_workspace: Path) -> None:
    _register_second_version(trained_workspace)
    champion = _champion(trained_workspace, RETENTION)
    at = open_page("Models")
    at.selectbox(key="models_name").set_value(RETENTION).run()
    other = next(v for v in at.selectbox(key="models_version").options if v != champion)
    at.selectbox(key="models_version").set_value(int(other)).run()
    at.button(key="models_promote").click().run()
    assert any(f"Make {RETENTION} v{other} the champion?" in w for w in texts(at.warning))
    assert _champion(trained_workspace, RETENTION) == champion  # not yet
    at.button(key="models_confirm_no").click().run()
    assert _champion(trained_workspace, RETENTION) == champion
    at.button(key="models_promote").click().run()
    at.button(key="models_confirm_yes").click().run()
    assert any("promoted to champion by hand" in s for s in texts(at.success))
    assert _champion(trained_workspace, RETENTION) == str(other)
