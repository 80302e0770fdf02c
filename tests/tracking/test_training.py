"""`coatml train` end to end on the shipped literature data (real records, real MLflow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from coatml.cli.main import app
from coatml.data.literature import literature_version, load_literature
from coatml.exceptions import InsufficientDataError
from coatml.tracking.training import TrainOptions, tracker_for, train_target
from coatml.workspace import Workspace

SMALL = """
[model]
n_estimators = 40
max_depth = 3
learning_rate = 0.1
n_members = 4
random_state = 0

[validation]
groups = "source"
n_splits = 0
learning_curve_fractions = [0.5, 1.0]

[tuning]
n_trials = 2
timeout_s = 600.0
seed = 0

[tuning.space.max_depth]
type = "int"
low = 2
high = 4
"""


@pytest.fixture(scope="module")
def literature_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace with the literature data and a first retention model (the champion)."""
    from coatml.cli._common import add_literature

    ws = Workspace.init(tmp_path_factory.mktemp("train") / "ws")
    add_literature(ws)
    (ws.root / "small.toml").write_text(SMALL, encoding="utf-8")
    return ws


@pytest.fixture(scope="module")
def first_training(literature_ws: Workspace):
    return train_target(literature_ws, TrainOptions(
        "capacity_retention_pct", trials=2, config_path=str(literature_ws.root / "small.toml")))


def test_train_registers_champion_and_unchanged_retrain_keeps_it(literature_ws: Workspace,
                                                                 first_training) -> None:
    config = str(literature_ws.root / "small.toml")
    first = first_training
    assert first.promotion.promoted
    shipped = load_literature().records
    assert first.n_with_target == int(shipped["capacity_retention_pct"].notna().sum())
    assert first.report.n_groups >= 5
    assert set(first.report.metrics) >= {"model", "global_mean", "coating_mean", "random_forest"}
    assert first.learning_curve is not None and len(first.learning_curve) == 2
    run = tracker_for(literature_ws).client().get_run(first.run.run_id)
    assert run.data.params["dataset_hash"] == first.run.dataset_hash
    version = literature_version()
    assert run.data.tags["coatml.literature_version"] == version.version
    assert run.data.tags["coatml.literature_hash"] == version.content_hash
    assert run.data.tags["coatml.literature_rows"] == str(first.n_with_target)
    assert "cv_rmse" in run.data.metrics and "baseline_random_forest_rmse" in run.data.metrics

    second = train_target(literature_ws, TrainOptions("capacity_retention_pct", fast=True,
                                                      config_path=config))
    kept = second.promotion
    assert not kept.promoted
    assert kept.champion_version == str(first.promotion.version)
    assert kept.value is not None and kept.champion_value is not None
    assert kept.value >= kept.champion_value  # lower RMSE is better: it did not beat it
    assert kept.reason.startswith(f"v{kept.version} tagged challenger: {kept.metric} ")
    from coatml.tracking.registry import list_models

    listing = list_models(tracker_for(literature_ws), "capacity_retention_pct")
    champion = listing[listing["aliases"].astype(str).str.contains("champion")]
    assert champion["version"].astype(str).tolist() == [str(first.promotion.version)]


def test_champion_carries_the_cv_interval_scale_as_a_fitted_attribute(
        literature_ws: Workspace, first_training) -> None:
    """The registered model's std is the refitted ensemble's std times the grouped-CV factor
    (the numbers the former ``interval_scale`` parameter gave), and the factor is no longer
    logged or stored as a hyper-parameter."""
    from coatml.models.estimators import EnsembleRegressor
    from coatml.models.targets import get_target
    from coatml.tracking.registry import load_champion

    factor = first_training.report.interval_scale_factor
    assert np.isfinite(factor) and factor > 0 and factor != 1.0
    assert "interval_scale" not in first_training.params
    run = tracker_for(literature_ws).client().get_run(first_training.run.run_id)
    assert "model.interval_scale" not in run.data.params
    assert float(run.data.metrics["cv_interval_scale_factor"]) == pytest.approx(factor)

    champion = load_champion(tracker_for(literature_ws), "capacity_retention_pct").python_model
    assert champion.ensemble_.interval_scale_ == pytest.approx(factor, rel=1e-12)
    with literature_ws.store() as store:
        records = store.to_frame()
    rows = records.loc[records["capacity_retention_pct"].notna()]
    X = champion.featurize(rows)
    y = get_target("capacity_retention_pct").forward(
        rows["capacity_retention_pct"].to_numpy(dtype=float))
    raw = EnsembleRegressor(**first_training.params).fit(X, y).predict_dist(X)
    served = champion.ensemble_.predict_dist(X)
    np.testing.assert_allclose(served["std"], factor * raw["std"], rtol=1e-6)
    np.testing.assert_allclose(served["mean"], raw["mean"], rtol=1e-6)


def test_too_few_records_says_how_many(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "few")
    frame = pd.DataFrame([{"electrode": "LiCoO2", "electrolyte": "Li6PS5Cl", "coating": "Al2O3",
                           "coated_component": "electrode", "method": "ALD",
                           "thickness_nm": t, "capacity_retention_pct": 80 + t,
                           "source": "notebook 1"} for t in (1, 2, 3)])
    with ws.store() as store:
        store.add_frame(frame)
    with pytest.raises(InsufficientDataError) as info:
        train_target(ws, TrainOptions("capacity_retention_pct", trials=0))
    message = str(info.value)
    assert "3 of 3 record(s) carry a value" in message and "at least 8" in message


def test_resistance_trains_on_literature(literature_ws: Workspace) -> None:
    outcome = train_target(literature_ws, TrainOptions("interface_resistance_ohm_cm2", trials=0,
                                                       config_path=str(literature_ws.root /
                                                                       "small.toml")))
    with literature_ws.store() as store:
        stored = store.to_frame()
    expected = int(pd.to_numeric(stored["interface_resistance_ohm_cm2"], errors="coerce")
                   .notna().sum())
    assert expected >= 9  # the review's values at least
    assert outcome.n_with_target == expected
    assert outcome.promotion.promoted


def test_cli_models_list_show_and_predict(literature_ws: Workspace, first_training,
                                          tmp_path: Path) -> None:
    runner = CliRunner()
    ws = str(literature_ws.root)
    result = runner.invoke(app, ["models", "list", "-w", ws])
    assert result.exit_code == 0, result.output
    assert "coatml-capacity_retention_pct" in result.output
    result = runner.invoke(app, ["models", "show", "coatml-capacity_retention_pct@champion",
                                 "-w", ws])
    assert result.exit_code == 0, result.output
    recipes = tmp_path / "recipes.csv"
    pd.DataFrame([
        {"electrode": "LiNi0.8Mn0.1Co0.1O2", "electrolyte": "Li6PS5Cl", "coating": "LiNbO3",
         "coated_component": "electrode", "method": "ALD", "thickness_nm": 3,
         "temperature_c": 235, "cycle_number": 100},
        {"electrode": "LiNi0.8Mn0.1Co0.1O2", "electrolyte": "Li6PS5Cl", "coating": "Al2O3",
         "coated_component": "electrode", "method": "ALD", "thickness_nm": 1,
         "temperature_c": 150, "cycle_number": 100},
    ]).to_csv(recipes, index=False)
    out = tmp_path / "preds.csv"
    result = runner.invoke(app, ["predict", str(recipes), "--out", str(out), "-w", ws])
    assert result.exit_code == 0, result.output
    preds = pd.read_csv(out)
    for col in ("", "_std", "_lo68", "_hi68", "_lo95", "_hi95"):
        assert preds[f"pred_capacity_retention_pct{col}"].notna().all()
    assert (preds["pred_capacity_retention_pct_lo95"]
            <= preds["pred_capacity_retention_pct"]).all()


def test_predict_names_the_bad_row(literature_ws: Workspace, first_training,
                                   tmp_path: Path) -> None:
    recipes = tmp_path / "bad.csv"
    recipes.write_text("electrode,electrolyte,coating\nLiCoO2,Li6PS5Cl,Al2O3\n"
                       "LiCoO2,Li6PS5Cl,Al2Qq3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["predict", str(recipes), "-w", str(literature_ws.root)])
    assert result.exit_code != 0
    text = result.output + str(result.exception)
    assert "row 3, column coating" in text
