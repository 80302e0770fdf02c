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


def _wait(at, seconds: float = 600.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not at.success and not at.error and time.monotonic() < deadline:
        time.sleep(1)
        at.run()


def test_training_runs_in_the_background(trained_workspace: Path) -> None:
    from coatml.tracking.registry import list_models
    from coatml.tracking.training import tracker_for
    from coatml.workspace import Workspace
    from tests.tracking.conftest import synthetic_records

    ws = Workspace.load(trained_workspace)
    tracker = tracker_for(ws)
    before = len(list_models(tracker, "capacity_retention_pct"))
    at = open_page("Models")
    at.multiselect(key="train_targets").set_value(["capacity_retention_pct"])
    # the store holds one record: the job fails and says why
    at.button[0].click().run()
    _wait(at)
    assert texts(at.error)[0].startswith("training failed after")
    assert "InsufficientDataError: capacity_retention_pct: 1 of 1 record(s)" in texts(at.error)[0]

    with ws.store() as store:
        store.add_frame(synthetic_records(), source_name="synthetic records")
    at.button[0].click().run()  # "Start training": returns while the thread trains
    assert not at.exception and not at.error, texts(at.error)
    at.button[0].click().run()  # a second start while the first runs is refused
    if not at.success:  # (unless the first one has finished already)
        assert texts(at.error)[0].startswith("a training job is already running in this "
                                             "workspace")
        at.run()
    _wait(at)
    assert texts(at.success) and texts(at.success)[0].startswith("training finished in"), \
        texts(at.error)
    assert any(c.startswith("capacity_retention_pct: ") for c in texts(at.caption))
    assert len(list_models(tracker, "capacity_retention_pct")) == before + 1
