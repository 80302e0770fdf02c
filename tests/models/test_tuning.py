"""Optuna tuning: seeded, stored in an RDB URL, resumable. Data are SYNTHETIC."""

from __future__ import annotations

import pytest
from sklearn.base import clone

from coatml.models.config import SearchSpace, TuningConfig
from coatml.models.tuning import dataset_hash, study_name_for, tune
from coatml.models.validation import cross_validate_model, make_groups
from tests.models.conftest import small_model, synthetic_records

SPACE = (
    SearchSpace("max_depth", 1, 3, type="int"),
    SearchSpace("learning_rate", 0.05, 0.3, log=True),
)


def _data():
    recs, X, y = synthetic_records(n_sources=4, per_source=5, n_noise_features=2, seed=7)
    return X, y, make_groups(recs, "source").to_numpy()


def test_tuning_resumes_and_trials_accumulate(tmp_path):
    X, y, g = _data()
    url = f"sqlite:///{tmp_path / 'coatml.db'}"
    cfg = TuningConfig(n_trials=3, seed=0, space=SPACE, pruner_startup_trials=1)
    seen = []
    base = small_model(n_estimators=15, n_members=2)
    first = tune(base, X, y, g, storage=url, target="capacity_retention_pct", config=cfg,
                 progress=seen.append)
    assert first.n_trials_total == 3
    assert [p.done for p in seen] == [1, 2, 3] and all(p.total == 3 for p in seen)
    assert first.study_name == study_name_for("capacity_retention_pct", dataset_hash(X, y, g))
    assert set(first.best_params) == {"max_depth", "learning_rate"}
    assert 1 <= first.best_params["max_depth"] <= 3
    first_trials = [(t.params, t.value) for t in first.study.trials]
    second = tune(base, X, y, g, storage=url, target="capacity_retention_pct", config=cfg)
    assert second.study_name == first.study_name
    assert second.n_trials_total == 6
    # resumed, not restarted: the study's first three trials are the first run's, unchanged
    trials = second.study.trials
    assert [(t.params, t.value) for t in trials[:3]] == first_trials
    assert second.best_rmse == min(t.value for t in trials if t.state.name == "COMPLETE")
    # the best value is a real grouped-CV RMSE of the stored best params
    cv = cross_validate_model(lambda: clone(base).set_params(**second.best_params), X, y, g,
                              baselines=False)
    assert second.best_rmse == pytest.approx(cv.metrics["model"]["rmse"], rel=1e-9)


def test_other_data_gets_other_study(tmp_path):
    X, y, g = _data()
    url = f"sqlite:///{tmp_path / 'coatml.db'}"
    cfg = TuningConfig(n_trials=1, seed=0, space=SPACE)
    base = small_model(n_estimators=10, n_members=2)
    a = tune(base, X, y, g, storage=url, target="capacity_retention_pct", config=cfg)
    b = tune(base, X, y + 1.0, g, storage=url, target="capacity_retention_pct", config=cfg)
    assert a.study_name != b.study_name and b.n_trials_total == 1


def test_seeded_sampler_reproduces_params(tmp_path):
    X, y, g = _data()
    cfg = TuningConfig(n_trials=2, seed=3, space=SPACE)
    base = small_model(n_estimators=10, n_members=2)
    runs = [tune(base, X, y, g, storage=f"sqlite:///{tmp_path / f'{i}.db'}",
                 target="capacity_retention_pct", config=cfg) for i in range(2)]
    p0 = [t.params for t in runs[0].study.trials]
    p1 = [t.params for t in runs[1].study.trials]
    assert p0 == p1
