"""Loading a registered model executes no stored file and refuses files that changed since
registration (issue #14: "model files are code")."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from coatml.exceptions import ModelIntegrityError, ModelNotFoundError
from coatml.tracking import Tracker, load_champion, register_and_maybe_promote
from coatml.tracking.registry import trust_model
from coatml.tracking.runs import TAG_MODEL_SHA256

from .test_registry import RETENTION, expected_dist, log


def registered(tracker: Tracker, trained) -> Path:
    """Log + register a retention model; return its stored model folder."""
    register_and_maybe_promote(tracker, log(tracker, trained))
    root = Path(tracker.artifact_location.removeprefix("file://"))
    (model_dir,) = [p.parent for p in root.rglob("MLmodel")]
    return model_dir


def test_appended_code_in_the_stored_model_file_does_not_run_and_is_refused(
        tracker, trained_retention, tmp_path: Path) -> None:
    model_dir = registered(tracker, trained_retention)
    marker = tmp_path / "code-ran"
    code_file = model_dir / "coatml_pyfunc_model.py"
    with code_file.open("a") as fh:
        fh.write(f"\nopen({str(marker)!r}, 'w').write('owned')\n")
    with pytest.raises(ModelIntegrityError, match="changed since it was registered"):
        load_champion(tracker, RETENTION)
    assert not marker.exists()
    # The appended line is live code: MLflow's own loader runs it (coatml does not use it).
    import mlflow

    with tracker.activate():
        mlflow.pyfunc.load_model(f"models:/coatml-{RETENTION}/1")
    assert marker.read_text() == "owned"


def test_loading_runs_no_stored_code(tracker, trained_retention,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """coatml's loader predicts without MLflow's code-running loader ever being called."""
    import mlflow.pyfunc

    registered(tracker, trained_retention)

    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("mlflow.pyfunc.load_model was called")

    monkeypatch.setattr(mlflow.pyfunc, "load_model", forbidden)
    loaded = load_champion(tracker, RETENTION)
    query = trained_retention.records.iloc[:5]
    np.testing.assert_array_equal(loaded.predict_dist(query)["mean"].to_numpy(),
                                  expected_dist(trained_retention, query)["mean"].to_numpy())


def test_registration_records_the_content_hash(tracker, trained_retention) -> None:
    registered(tracker, trained_retention)
    tag = tracker.client().get_model_version(f"coatml-{RETENTION}", "1").tags[TAG_MODEL_SHA256]
    assert len(tag) == 64 and int(tag, 16) >= 0


@pytest.mark.parametrize("tamper", ["edit member", "delete member", "add file"])
def test_changed_model_files_are_refused(tracker, trained_retention, tamper: str) -> None:
    model_dir = registered(tracker, trained_retention)
    member = model_dir / "artifacts" / "ensemble" / "member_001.json"
    if tamper == "edit member":
        member.write_bytes(member.read_bytes().replace(b"0", b"1", 1))
    elif tamper == "delete member":
        member.unlink()
    else:
        (model_dir / "artifacts" / "extra.json").write_text("{}")
    with pytest.raises(ModelIntegrityError, match="changed since it was registered") as info:
        load_champion(tracker, RETENTION)
    assert f"coatml-{RETENTION} v1" in str(info.value)
    assert isinstance(info.value, ModelNotFoundError)  # callers skipping a missing model skip it


def test_missing_artifact_folder_is_a_clear_error(tracker, trained_retention) -> None:
    model_dir = registered(tracker, trained_retention)
    shutil.rmtree(model_dir.parent.parent)  # mlartifacts/models
    with pytest.raises(ModelIntegrityError, match="are missing or unreadable"):
        load_champion(tracker, RETENTION)


def test_moved_workspace_still_loads(tracker, trained_retention, tmp_path: Path) -> None:
    registered(tracker, trained_retention)
    old = Path(tracker.artifact_location.removeprefix("file://")).parent
    new = tmp_path / "renamed-ws"
    shutil.move(old, new)
    moved = Tracker.for_workspace(new)
    loaded = load_champion(moved, RETENTION)
    query = trained_retention.records.iloc[:4]
    np.testing.assert_array_equal(loaded.predict_dist(query)["mean"].to_numpy(),
                                  expected_dist(trained_retention, query)["mean"].to_numpy())


def test_version_without_a_hash_is_refused_until_trusted(tracker, trained_retention) -> None:
    registered(tracker, trained_retention)
    client = tracker.client()
    client.delete_model_version_tag(f"coatml-{RETENTION}", "1", TAG_MODEL_SHA256)
    with pytest.raises(ModelIntegrityError, match="has no recorded content hash"):
        load_champion(tracker, RETENTION)
    digest = trust_model(tracker, f"coatml-{RETENTION}", 1)
    assert client.get_model_version(f"coatml-{RETENTION}", "1").tags[TAG_MODEL_SHA256] == digest
    assert load_champion(tracker, RETENTION).version == "1"


def test_training_after_a_move_writes_inside_the_moved_workspace(
        tracker, trained_retention, tmp_path: Path) -> None:
    registered(tracker, trained_retention)
    old = Path(tracker.artifact_location.removeprefix("file://")).parent
    new = tmp_path / "moved-ws"
    shutil.move(old, new)
    moved = Tracker.for_workspace(new)
    result = register_and_maybe_promote(moved, log(moved, trained_retention,
                                                   dataset_hash="after-move"))
    assert result.promoted and result.version == "2"
    assert not old.exists()  # nothing written to the old place
    assert load_champion(moved, RETENTION).version == "2"
