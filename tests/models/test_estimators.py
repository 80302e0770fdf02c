"""Contract, reproducibility, uncertainty and persistence tests of EnsembleRegressor.

All data here are SYNTHETIC (seeded numpy draws), not measurements.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from coatml.exceptions import InsufficientDataError
from coatml.models.estimators import PHYSICS_PRIOR_COLUMN, EnsembleRegressor
from tests.models.conftest import small_model


def _toy(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(0, 1, size=(n, 4)), columns=["a", "b", "c", "d"])
    y = 3 * X["a"] + np.sin(4 * X["b"]) + rng.normal(0, 0.2, n)
    return X, y.to_numpy()


def test_sklearn_contract_clone_params_and_fit_returns_self():
    model = small_model(max_depth=2)
    params = model.get_params()
    assert params["max_depth"] == 2
    twin = clone(model)
    assert twin.get_params() == params
    assert twin.set_params(max_depth=4) is twin
    assert twin.max_depth == 4 and model.max_depth == 2
    X, y = _toy()
    assert model.fit(X, y) is model
    assert list(model.get_feature_names_out()) == ["a", "b", "c", "d"]
    assert list(model.feature_names_in_) == ["a", "b", "c", "d"]
    assert model.n_features_in_ == 4
    assert not hasattr(clone(model), "estimators_")


def test_not_fitted_raises():
    with pytest.raises(NotFittedError):
        small_model().predict(_toy()[0])


def test_invalid_params_raise_at_fit():
    X, y = _toy()
    with pytest.raises(ValueError, match="subsample"):
        small_model(subsample=1.5).fit(X, y)
    with pytest.raises(ValueError, match="monotone_constraints"):
        small_model(monotone_constraints={"zzz": 1}).fit(X, y)


def test_same_seed_same_predictions_other_seed_differs():
    X, y = _toy()
    p1 = small_model(random_state=3).fit(X, y).predict_dist(X)
    p2 = small_model(random_state=3).fit(X, y).predict_dist(X)
    p3 = small_model(random_state=4).fit(X, y).predict_dist(X)
    pd.testing.assert_frame_equal(p1, p2)
    assert not np.allclose(p1["mean"], p3["mean"])


def test_predict_members_shape_and_mean():
    X, y = _toy()
    model = small_model(n_members=6).fit(X, y)
    members = model.predict_members(X.iloc[:7])
    assert members.shape == (6, 7)
    np.testing.assert_allclose(members.mean(axis=0), model.predict(X.iloc[:7]), rtol=1e-6)
    assert np.all(members.std(axis=0) > 0)


def test_nan_features_and_column_order():
    X, y = _toy()
    X.loc[::5, "c"] = np.nan
    model = small_model().fit(X, y)
    shuffled = X[["d", "c", "b", "a"]]
    np.testing.assert_array_equal(model.predict(X), model.predict(shuffled))
    with pytest.raises(ValueError, match="lacks"):
        model.predict(X.drop(columns="a"))


def test_insufficient_data_message():
    X, y = _toy(12)
    y = y.copy()
    y[5:] = np.nan
    with pytest.raises(InsufficientDataError, match=r"5 of 12 record\(s\).*at least 8"):
        small_model().fit(X, pd.Series(y, name="capacity_retention_pct"))


def test_uncertainty_grows_away_from_data():
    X, y = _toy(60, seed=1)
    model = small_model(n_members=10).fit(X, y)
    rng = np.random.default_rng(7)
    inside = pd.DataFrame(rng.uniform(0.1, 0.9, size=(100, 4)), columns=X.columns)
    near = inside.assign(a=inside["a"] + 1.5)  # outside the range of the main feature
    far = inside.assign(a=inside["a"] + 4.0)
    s_in = model.predict_dist(inside)["std"].to_numpy()
    s_near = model.predict_dist(near)["std"].to_numpy()
    s_far = model.predict_dist(far)["std"].to_numpy()
    assert s_near.min() >= s_in.max()
    assert np.all(s_far > s_near)
    # without the extrapolation term the member spread alone need not grow: the term is what
    # carries the claim
    flat = clone(model).set_params(extrapolation_scale=0.0).fit(X, y)
    assert flat.predict_dist(far)["extrapolation_std"].eq(0).all()


def test_std_combines_components_and_scale():
    X, y = _toy()
    model = small_model().fit(X, y)
    d = model.predict_dist(X)
    expected = np.sqrt(d["epistemic_std"] ** 2 + d["noise_std"] ** 2 + d["extrapolation_std"] ** 2)
    np.testing.assert_allclose(d["std"], expected, rtol=1e-6)
    assert model.noise_source_ == "out-of-bag" and model.noise_var_ > 0
    np.testing.assert_allclose(d["hi95"] - d["mean"], 1.959964 * d["std"], rtol=1e-5)


def test_interval_scale_is_fitted_not_a_parameter():
    X, y = _toy()
    model = small_model().fit(X, y)
    assert "interval_scale" not in model.get_params()
    assert model.interval_scale_ == 1.0
    d = model.predict_dist(X)
    assert model.calibrate_intervals(2.0) is model
    d2 = model.predict_dist(X)
    np.testing.assert_allclose(d2["std"], 2 * d["std"], rtol=1e-12)
    np.testing.assert_allclose(d2["hi68"] - d2["mean"], 2 * (d["hi68"] - d["mean"]), rtol=1e-9)
    np.testing.assert_array_equal(d2["mean"], d["mean"])
    np.testing.assert_array_equal(d2["noise_std"], d["noise_std"])  # components stay raw
    assert not hasattr(clone(model), "interval_scale_")  # learned, so clone drops it
    assert small_model().fit(X, y).interval_scale_ == 1.0  # a refit starts uncalibrated
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="interval scale"):
            model.calibrate_intervals(bad)
    with pytest.raises(NotFittedError):
        small_model().calibrate_intervals(2.0)


def test_calibration_on_heteroscedastic_synthetic_problem():
    """95 % interval coverage on 500 fresh points of a SYNTHETIC heteroscedastic problem.

    Band: if the intervals were exact, the number covered is Binomial(500, 0.95), sd
    sqrt(0.95 * 0.05 / 500) = 0.0097; we accept +-3 sd (0.921..0.979). Noise sd varies 5x across
    the input, so a constant noise term is only right on average: the band checks that.
    """
    rng = np.random.default_rng(0)

    def make(n):
        X = pd.DataFrame(rng.uniform(0, 1, size=(n, 3)), columns=["a", "b", "c"])
        sd = 0.2 + 0.8 * X["a"].to_numpy()
        y = 2 * np.sin(3 * X["a"].to_numpy()) + X["b"].to_numpy() + rng.normal(0, 1, n) * sd
        return X, y

    X, y = make(120)
    Xt, yt = make(500)
    d = EnsembleRegressor(n_estimators=100, n_members=10, random_state=0).fit(X, y).predict_dist(Xt)
    cover95 = np.mean((yt >= d["lo95"]) & (yt <= d["hi95"]))
    half = 3 * np.sqrt(0.95 * 0.05 / 500)
    assert 0.95 - half <= cover95 <= 0.95 + half


def test_save_load_round_trip(tmp_path):
    X, y = _toy()
    X = X.assign(**{PHYSICS_PRIOR_COLUMN: 0.5 * X["a"]})
    model = small_model(prior="physics", monotone_constraints={"a": 1}).fit(X, y)
    path = model.save(tmp_path / "ens")
    assert sorted(p.suffix for p in path.iterdir()) == [".json"] * (model.n_members + 1)
    loaded = EnsembleRegressor.load(path)
    assert loaded.get_params() == model.get_params()
    pd.testing.assert_frame_equal(loaded.predict_dist(X), model.predict_dist(X))
    np.testing.assert_array_equal(loaded.predict_members(X), model.predict_members(X))
    model.calibrate_intervals(1.7)
    reloaded = EnsembleRegressor.load(model.save(tmp_path / "calibrated"))
    assert reloaded.interval_scale_ == 1.7
    pd.testing.assert_frame_equal(reloaded.predict_dist(X), model.predict_dist(X))


def test_load_reads_a_v1_file_with_the_scale_among_the_params(tmp_path):
    """Models registered before the scale became a fitted attribute stored it as a parameter
    (format v1); they load with the same std."""
    import json

    X, y = _toy()
    model = small_model().fit(X, y).calibrate_intervals(1.3)
    path = model.save(tmp_path / "ens")
    meta = json.loads((path / "ensemble.json").read_text())
    meta["format"] = "coatml-ensemble-v1"
    meta["params"]["interval_scale"] = meta.pop("interval_scale")
    del meta["n_features_in"]
    (path / "ensemble.json").write_text(json.dumps(meta))
    old = EnsembleRegressor.load(path)
    assert "interval_scale" not in old.get_params() and old.interval_scale_ == 1.3
    pd.testing.assert_frame_equal(old.predict_dist(X), model.predict_dist(X))
    meta["format"] = "coatml-ensemble-v0"
    (path / "ensemble.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="v0"):
        EnsembleRegressor.load(path)


def test_plain_arrays_and_bad_input():
    X, y = _toy()
    arr = X.to_numpy()
    model = small_model().fit(arr, y)
    assert not hasattr(model, "feature_names_in_") and model.n_features_in_ == 4
    assert list(model.get_feature_names_out()) == ["x0", "x1", "x2", "x3"]
    np.testing.assert_allclose(model.predict(arr), small_model().fit(X, y).predict(X),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="3 features, but EnsembleRegressor is expecting 4"):
        model.predict(arr[:, :3])
    with pytest.raises(ValueError, match="infinity"):
        small_model().fit(np.where(arr > 0.99, np.inf, arr), y)
    with pytest.raises(ValueError, match=r"infinity at row\(s\) \[3\]"):
        small_model().fit(X, np.where(np.arange(len(y)) == 3, np.inf, y))
    with pytest.raises(ValueError, match=r"non-numeric column\(s\): \['e'\]"):
        small_model().fit(X.assign(e="LiNbO3"), y)


def test_callable_prior_cannot_be_saved(tmp_path):
    X, y = _toy()
    model = small_model(prior=lambda f: np.zeros(len(f))).fit(X, y)
    with pytest.raises(ValueError, match="callable prior"):
        model.save(tmp_path)


@functools.lru_cache(maxsize=1)
def _monotone_model() -> EnsembleRegressor:
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.uniform(0, 1, size=(80, 3)), columns=["t", "u", "v"])
    # non-monotone truth in t: the constraint must still hold for the predictions
    y = np.sin(6 * X["t"]) + X["u"] + rng.normal(0, 0.1, 80)
    return small_model(monotone_constraints={"t": 1}).fit(X, y.to_numpy())


@settings(max_examples=30, deadline=None)
@given(u=st.floats(-0.5, 1.5), v=st.floats(-0.5, 1.5),
       ts=st.lists(st.floats(-1.0, 2.0), min_size=2, max_size=20))
def test_monotone_constraint_respected(u, v, ts):
    model = _monotone_model()
    grid = pd.DataFrame({"t": sorted(ts), "u": u, "v": v})
    members = model.predict_members(grid)
    assert np.all(np.diff(members, axis=1) >= -1e-6)
    assert np.all(np.diff(model.predict(grid)) >= -1e-6)


def test_prior_is_used_as_base_margin():
    X, y = _toy()
    X = X.assign(**{PHYSICS_PRIOR_COLUMN: 0.0})  # constant in training: trees cannot split on it
    model = small_model(prior="physics").fit(X, y)
    base = model.predict(X)
    shifted = model.predict(X.assign(**{PHYSICS_PRIOR_COLUMN: 1.0}))
    np.testing.assert_allclose(shifted - base, 1.0, atol=1e-5)
    no_prior = small_model().fit(X, y)
    np.testing.assert_array_equal(no_prior.predict(X), no_prior.predict(
        X.assign(**{PHYSICS_PRIOR_COLUMN: 1.0})))


def test_informative_prior_helps_extrapolation():
    """Trees extrapolate flat; a prior carrying the trend (SYNTHETIC y = 5a) keeps it."""
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.uniform(0, 1, 60), "b": rng.uniform(0, 1, 60)})
    y = 5 * X["a"].to_numpy() + rng.normal(0, 0.1, 60)
    test = pd.DataFrame({"a": np.linspace(2, 3, 20), "b": 0.5})
    truth = 5 * test["a"].to_numpy()
    with_prior = small_model(prior=lambda f: 5 * f["a"].to_numpy()).fit(X, y)
    without = small_model().fit(X, y)
    err_with = np.abs(with_prior.predict(test) - truth).mean()
    err_without = np.abs(without.predict(test) - truth).mean()
    assert err_with < 0.5 < err_without
