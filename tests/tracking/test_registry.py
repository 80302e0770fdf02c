"""Pyfunc model round trip and the registry's champion/challenger rule (embedded SQLite)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coatml.exceptions import ModelNotFoundError
from coatml.models.targets import get_target
from coatml.tracking import (
    Tracker,
    list_models,
    load_champion,
    log_training,
    model_name,
    promote,
    register_and_maybe_promote,
    show_model,
)
from coatml.tracking.pyfunc import OUTPUT_COLUMNS
from coatml.tracking.registry import CHALLENGER, CHAMPION, TAG_ROLE, champion_params

from .conftest import Trained, train

RETENTION = "capacity_retention_pct"
RESISTANCE = "interface_resistance_ohm_cm2"


def log(tracker: Tracker, t: Trained, dataset_hash: str | None = None, **kw):
    return log_training(tracker, target=t.target, model=t.model, featurizer=t.featurizer,
                        report=t.report, dataset_hash=dataset_hash or t.dataset_hash,
                        n_rows=len(t.records), input_example=t.records.head(3), random_seed=0,
                        **kw)


def expected_dist(t: Trained, records: pd.DataFrame) -> pd.DataFrame:
    """What the in-memory featurizer + ensemble predict, mapped to record units."""
    dist = t.model.predict_dist(t.featurizer.transform(records))
    return get_target(t.target).inverse_dist(dist)


@pytest.fixture(scope="module")
def trained_resistance(records) -> Trained:
    return train(records, RESISTANCE)


@pytest.mark.parametrize("which", ["retention", "resistance"])
def test_model_round_trip_by_alias_predicts_identical_numbers(
        which, tracker, trained_retention, trained_resistance) -> None:
    t = trained_retention if which == "retention" else trained_resistance
    run = log(tracker, t)
    assert run.model_uri and run.model_uri.startswith("models:/")
    result = register_and_maybe_promote(tracker, run)
    assert result.promoted and result.version == "1" and result.name == model_name(t.target)

    loaded = load_champion(tracker, t.target)
    assert (loaded.name, loaded.version, loaded.target) == (model_name(t.target), "1", t.target)
    query = t.records.iloc[5:17]
    got = loaded.predict_dist(query)
    want = expected_dist(t, query)
    assert list(got.columns) == list(OUTPUT_COLUMNS)
    pd.testing.assert_index_equal(got.index, query.index)
    for col in ("mean", "median", "std", "lo68", "hi68", "lo95", "hi95"):
        np.testing.assert_array_equal(got[col].to_numpy(), want[col].to_numpy(), err_msg=col)
    # The pyfunc entry point (with MLflow's schema check) gives the same numbers.
    via_pyfunc = loaded.pyfunc_model.predict(t.records.head(3))
    np.testing.assert_array_equal(via_pyfunc["mean"].to_numpy(),
                                  expected_dist(t, t.records.head(3))["mean"].to_numpy())
    if which == "resistance":
        # Natural units: ohm cm2, the median is 10 ** (model-space mean).
        ms = t.model.predict_dist(t.featurizer.transform(query))
        np.testing.assert_allclose(got["median"], 10.0 ** ms["mean"].to_numpy(), rtol=1e-12)
        assert (got["lo95"] > 0).all() and (got["lo95"] < got["median"]).all()


def test_logged_model_holds_no_pickle(tracker, trained_retention) -> None:
    run = log(tracker, trained_retention)
    ws = Path(tracker.artifact_location.removeprefix("file://"))
    files = {p.name for p in ws.rglob("*") if p.is_file()}
    assert "MLmodel" in files and "coatml_model.json" in files and "ensemble.json" in files
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle"))], files
    requirements = next(ws.rglob("requirements.txt")).read_text()
    # XGBoost is pinned under the distribution that provides it (xgboost-cpu by default)
    assert re.search(r"(?m)^xgboost(-cpu)?==", requirements) and "mlflow==" in requirements
    assert run.log_model_seconds is not None and run.log_model_seconds > 0


def test_registration_prints_no_mlflow_notices(tracker, trained_retention, capfd) -> None:
    # MLflow prints "Registered model ... already exists" for the model coatml creates just
    # before, and "Created version ..."; coatml reports the version in its own line.
    capfd.readouterr()
    first = register_and_maybe_promote(tracker, log(tracker, trained_retention))
    second = register_and_maybe_promote(tracker, log(tracker, trained_retention))
    out = capfd.readouterr()
    assert (first.version, second.version) == ("1", "2")
    printed = out.out + out.err
    assert "already exists" not in printed and "Created version" not in printed, printed
    assert "Successfully registered" not in printed, printed


def test_other_stderr_lines_inside_registration_pass_through(capsys) -> None:
    import sys

    from coatml.tracking.registry import _without_registration_notices

    with _without_registration_notices():
        print("Registered model 'coatml-x' already exists. Creating a new version of this "
              "model...", file=sys.stderr)
        print("WARNING mlflow: something a user must see", file=sys.stderr)
        print("Created version '3' of model 'coatml-x'.", file=sys.stderr)
    assert capsys.readouterr().err == "WARNING mlflow: something a user must see\n"


def test_worse_or_equal_stays_challenger_and_better_becomes_champion(
        tracker, records, trained_retention) -> None:
    # Three configurations on the same dataset and folds; their order is measured, not assumed.
    weak = train(records, RETENTION, n_estimators=2, learning_rate=0.01)
    strong = train(records, RETENTION, n_estimators=200, learning_rate=0.1, max_depth=2)
    ranked = sorted([weak, trained_retention, strong],
                    key=lambda t: t.report.metrics["model"]["rmse"])
    best, middle, worst = ranked
    rmse = [t.report.metrics["model"]["rmse"] for t in ranked]
    assert rmse[0] < rmse[1] < rmse[2], rmse
    name = model_name(RETENTION)
    client = tracker.client()

    first = register_and_maybe_promote(tracker, log(tracker, middle))
    assert first.promoted and first.version == "1"

    worse = register_and_maybe_promote(tracker, log(tracker, worst))
    assert not worse.promoted and worse.version == "2"
    assert worse.champion_version == "1"
    assert "does not beat" in worse.reason and "Champion v1 stays" in worse.reason
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == "1"
    assert client.get_model_version(name, "2").tags[TAG_ROLE] == CHALLENGER
    assert str(client.get_model_version_by_alias(name, CHALLENGER).version) == "2"

    equal = register_and_maybe_promote(tracker, log(tracker, middle))
    assert not equal.promoted and equal.value == equal.champion_value
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == "1"

    better = register_and_maybe_promote(tracker, log(tracker, best))
    assert better.promoted and better.version == "4"
    assert better.value < better.champion_value
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == "4"
    assert client.get_model_version(name, "1").tags[TAG_ROLE] == "former-champion"
    assert load_champion(tracker, RETENTION).version == "4"


def test_changed_dataset_rule(tracker, trained_retention) -> None:
    t = trained_retention
    register_and_maybe_promote(tracker, log(tracker, t))
    # New data, no way to re-evaluate the champion: the model validated on the new data wins.
    res = register_and_maybe_promote(tracker, log(tracker, t, dataset_hash="new-data-1"))
    assert res.promoted and "dataset changed" in res.reason

    # New data again, champion re-evaluated on it with its own hyperparameters.
    seen = {}

    def reevaluate(params):
        seen.update(params)
        return res.value / 2.0  # the champion's config scores better on the new folds

    kept = register_and_maybe_promote(tracker, log(tracker, t, dataset_hash="new-data-2"),
                                      reevaluate=reevaluate)
    assert seen["n_estimators"] == t.model.n_estimators and seen["n_members"] == 3
    assert not kept.promoted and kept.champion_value == pytest.approx(res.value / 2.0)
    assert "re-evaluated" in kept.reason
    assert champion_params(tracker, RETENTION)["max_depth"] == t.model.max_depth

    # New data, the champion's configuration scores exactly what the new version scores (the
    # loop's `train --fast`): the version trained on the current records takes over.
    new = log(tracker, t, dataset_hash="new-data-3")
    refreshed = register_and_maybe_promote(tracker, new,
                                           reevaluate=lambda params: new.metrics["cv_rmse"])
    assert refreshed.promoted and "never saw" in refreshed.reason


def test_list_show_promote(tracker, trained_retention) -> None:
    t = trained_retention
    run = log(tracker, t)
    register_and_maybe_promote(tracker, run)
    register_and_maybe_promote(tracker, run)  # tie: v2 is challenger
    name = model_name(RETENTION)

    table = list_models(tracker)
    assert list(table["version"]) == [1, 2]
    assert list(table["aliases"]) == [CHAMPION, CHALLENGER]
    assert table["cv_rmse"].tolist() == pytest.approx([t.report.metrics["model"]["rmse"]] * 2)
    assert (table["dataset_hash"] == t.dataset_hash).all()
    assert table["created"].notna().all()
    assert list_models(tracker, target=RESISTANCE).empty

    shown = show_model(tracker, f"{name}@{CHAMPION}")
    assert shown["version"] == "1" and shown["aliases"] == [CHAMPION]
    assert shown["metrics"]["cv_rmse"] == pytest.approx(t.report.metrics["model"]["rmse"])
    assert shown["params"]["dataset_hash"] == t.dataset_hash
    assert "plots/parity.png" in shown["artifacts"]
    assert show_model(tracker, f"{name}/2")["role"] == CHALLENGER
    assert show_model(tracker, name)["version"] == "1"  # bare name = champion

    result = promote(tracker, name, 2)
    assert result.promoted and "was v1" in result.reason
    assert show_model(tracker, name)["version"] == "2"
    assert load_champion(tracker, RETENTION).version == "2"

    with pytest.raises(ModelNotFoundError):
        show_model(tracker, f"{name}/9")
    with pytest.raises(ModelNotFoundError):
        promote(tracker, name, 9)


def test_no_champion_says_run_train(tracker) -> None:
    with pytest.raises(ModelNotFoundError, match="coatml train"):
        load_champion(tracker, RETENTION)
