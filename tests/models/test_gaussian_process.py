"""DescriptorGP: a Gaussian process on scaled descriptors (the closed loop's surrogate)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from coatml.models.gaussian_process import DEFAULT_DESCRIPTORS, DescriptorGP

DESCRIPTORS = {"process__log10_thickness_nm": 0.5, "physics__coating_oxidation_v": 1.0}


def _frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Retention-like target: an optimum at 5 nm and a gain with the oxidation limit."""
    rng = np.random.default_rng(seed)
    lt = rng.uniform(np.log10(0.5), np.log10(20.0), n)
    ox = rng.uniform(3.0, 5.0, n)
    y = 90.0 - 20.0 * (lt - np.log10(5.0)) ** 2 + 4.0 * (ox - 4.0)
    X = pd.DataFrame({"process__log10_thickness_nm": lt, "physics__coating_oxidation_v": ox,
                      "ignored__column": rng.normal(size=n)})
    return X, y


def test_estimator_contract() -> None:
    gp = DescriptorGP(descriptors=DESCRIPTORS, n_restarts=0, random_state=3)
    assert not hasattr(gp, "gp_")  # no work in __init__
    copy = clone(gp)
    assert copy.get_params() == gp.get_params()
    X, y = _frame(20)
    gp.fit(X, y)
    names = list(gp.get_feature_names_out())
    assert names == ["process__log10_thickness_nm", "physics__coating_oxidation_v",
                     "descriptors_missing_share"]
    assert gp.n_features_in_ == 3


def test_learns_a_smooth_response_from_few_records() -> None:
    X, y = _frame(25, seed=1)
    Xt, yt = _frame(400, seed=2)
    pred = DescriptorGP(descriptors=DESCRIPTORS, random_state=0).fit(X, y).predict(Xt)
    rmse = float(np.sqrt(np.mean((pred - yt) ** 2)))
    assert rmse < 0.25 * float(np.std(yt))


def test_std_small_at_data_large_away_from_it() -> None:
    X, y = _frame(12, seed=4)
    gp = DescriptorGP(descriptors=DESCRIPTORS, random_state=0).fit(X, y)
    far = pd.DataFrame({"process__log10_thickness_nm": [3.0], "physics__coating_oxidation_v": [9.0],
                        "ignored__column": [0.0]})
    near = gp.predict_dist(X.iloc[:3])["epistemic_std"].to_numpy()
    away = float(gp.predict_dist(far)["epistemic_std"].iloc[0])
    assert np.all(near < away)
    dist = gp.predict_dist(X)
    assert {"mean", "std", "epistemic_std", "noise_std", "lo68", "hi95"} <= set(dist.columns)
    assert np.all(dist["std"] >= dist["epistemic_std"] - 1e-12)


def test_missing_descriptor_is_filled_and_flagged() -> None:
    X, y = _frame(15, seed=5)
    X.loc[X.index[:4], "physics__coating_oxidation_v"] = np.nan
    gp = DescriptorGP(descriptors=DESCRIPTORS, random_state=0).fit(X, y)
    Z = gp._design(X)
    assert np.all(Z[:4, 2] == 0.5) and np.all(Z[4:, 2] == 0.0)  # 1 of 2 descriptors missing
    assert np.all(np.isfinite(Z))
    assert np.all(np.isfinite(gp.predict(X)))


def test_condition_keeps_the_mean_and_shrinks_the_std_at_the_pick() -> None:
    X, y = _frame(10, seed=6)
    Xt, _ = _frame(50, seed=7)
    gp = DescriptorGP(descriptors=DESCRIPTORS, random_state=0).fit(X, y)
    before = gp.predict_dist(Xt)
    pick = Xt.iloc[[0]]
    fantasised = gp.condition(pick, before["mean"].to_numpy()[:1])
    after = fantasised.predict_dist(Xt)
    np.testing.assert_allclose(after["mean"], before["mean"], rtol=0, atol=1e-6)
    assert after["epistemic_std"].iloc[0] < 0.5 * before["epistemic_std"].iloc[0]
    assert np.all(after["epistemic_std"].to_numpy() <= before["epistemic_std"].to_numpy() + 1e-9)
    # the original is untouched
    np.testing.assert_allclose(gp.predict_dist(Xt)["epistemic_std"], before["epistemic_std"])


def test_members_are_seeded_draws_around_the_mean() -> None:
    X, y = _frame(10, seed=8)
    gp = DescriptorGP(descriptors=DESCRIPTORS, n_members=400, random_state=2).fit(X, y)
    members = gp.predict_members(X.iloc[:5])
    assert members.shape == (400, 5)
    np.testing.assert_array_equal(members, gp.predict_members(X.iloc[:5]))
    dist = gp.predict_dist(X.iloc[:5])
    assert np.all(np.abs(members.mean(axis=0) - dist["mean"].to_numpy())
                  < 4 * dist["epistemic_std"].to_numpy() / np.sqrt(400) + 1e-9)


def test_bad_input_is_named() -> None:
    X, y = _frame(6)
    with pytest.raises(ValueError, match="physics__coating_window_v"):
        DescriptorGP(descriptors={"physics__coating_window_v": 1.0}).fit(X, y)
    with pytest.raises(ValueError, match="positive"):
        DescriptorGP(descriptors={"process__log10_thickness_nm": 0.0}).fit(X, y)
    with pytest.raises(ValueError, match=r"process__log10_thickness_nm.*array's columns"):
        DescriptorGP(descriptors=DESCRIPTORS).fit(X.to_numpy(), y)  # an array has no names
    with pytest.raises(ValueError, match=r"finite target values; NaN at row\(s\) \[0\]"):
        DescriptorGP(descriptors=DESCRIPTORS).fit(X, np.where(np.arange(6) == 0, np.nan, y))
    gp = DescriptorGP(descriptors=DESCRIPTORS, n_restarts=0).fit(X, y)
    with pytest.raises(ValueError, match=r"lacks 1 feature.*physics__coating_oxidation_v"):
        gp.predict(X.drop(columns="physics__coating_oxidation_v"))
    with pytest.raises(ValueError, match="infinity"):
        gp.predict(X.assign(physics__coating_oxidation_v=np.inf))


def test_plain_array_uses_every_column_with_scale_one() -> None:
    """The documented fallback: an array's columns x0, x1, ... are all descriptors, scale 1;
    the same GP as on a named frame with those descriptors."""
    X, y = _frame(15, seed=10)
    arr = X[list(DESCRIPTORS)].to_numpy()
    on_array = DescriptorGP(random_state=0).fit(arr, y)
    assert on_array.descriptor_names_ == ["x0", "x1"] and list(on_array.scales_) == [1.0, 1.0]
    assert not hasattr(on_array, "feature_names_in_")
    named = DescriptorGP(descriptors={c: 1.0 for c in DESCRIPTORS}, random_state=0).fit(
        X[list(DESCRIPTORS)], y)
    pd.testing.assert_frame_equal(on_array.predict_dist(arr),
                                  named.predict_dist(X[list(DESCRIPTORS)]).reset_index(drop=True))
    with pytest.raises(ValueError, match="DEFAULT|process__log10_thickness_nm"):
        DescriptorGP().fit(X[["ignored__column"]], y)  # a named frame needs the defaults


def test_interval_scale_is_fitted_not_a_parameter() -> None:
    X, y = _frame(12, seed=11)
    gp = DescriptorGP(descriptors=DESCRIPTORS, bounds=(0.0, 100.0), random_state=0).fit(X, y)
    assert "interval_scale" not in gp.get_params() and gp.interval_scale_ == 1.0
    before, draws = gp.predict_dist(X), gp.predict_members(X)
    assert gp.calibrate_intervals(1.5) is gp
    after = gp.predict_dist(X)
    np.testing.assert_allclose(after["std"], 1.5 * before["std"], rtol=1e-12)
    np.testing.assert_array_equal(after["mean"], before["mean"])
    assert np.all(after["hi95"] > before["hi95"]) and np.all(after["lo95"] < before["lo95"])
    spread = gp.predict_members(X) - gp.predict(X)
    assert np.abs(spread).mean() > np.abs(draws - gp.predict(X)).mean()
    assert not hasattr(clone(gp), "interval_scale_")
    with pytest.raises(ValueError, match="interval scale"):
        gp.calibrate_intervals(0.0)


def test_default_descriptors_are_loop_features() -> None:
    from coatml.features.pipeline import RecordFeaturizer

    records = pd.DataFrame([{
        "electrode": "LiNi0.8Mn0.1Co0.1O2", "electrolyte": "Li6PS5Cl", "coating": "LiNbO3",
        "coated_component": "electrode", "method": "ALD", "precursors": "LiOtBu/Nb(OEt)5/H2O",
        "temperature_c": 235.0, "thickness_nm": 5.0, "cycle_number": 100.0, "c_rate": 0.5,
        "test_temperature_c": 25.0}])
    names = set(RecordFeaturizer(feature_set="loop").fit(records).get_feature_names_out())
    assert set(DEFAULT_DESCRIPTORS) <= names


def test_bounded_target_stays_in_its_range_when_extrapolating() -> None:
    X, y = _frame(15, seed=9)
    y = np.clip(60.0 + 30.0 * (X["process__log10_thickness_nm"].to_numpy() + 0.3), 1.0, 99.0)
    far = pd.DataFrame({"process__log10_thickness_nm": [3.0, -3.0],
                        "physics__coating_oxidation_v": [4.0, 4.0], "ignored__column": [0.0, 0.0]})
    free = DescriptorGP(descriptors=DESCRIPTORS, random_state=0).fit(X, y)
    bounded = DescriptorGP(descriptors=DESCRIPTORS, bounds=(0.0, 100.0), random_state=0).fit(X, y)
    assert free.predict(far)[0] > 100.0  # the linear trend runs past the physical limit ...
    dist = bounded.predict_dist(far)
    for col in ("mean", "lo95", "lo68", "hi68", "hi95"):
        assert np.all((dist[col] > 0.0) & (dist[col] < 100.0))  # ... the bounded GP does not
    assert np.all(dist["lo95"] <= dist["mean"]) and np.all(dist["mean"] <= dist["hi95"])
    members = bounded.predict_members(far)
    assert np.all((members > 0.0) & (members < 100.0))
    inside = bounded.predict(X)
    assert float(np.sqrt(np.mean((inside - y) ** 2))) < 0.2 * float(np.std(y))
    with pytest.raises(ValueError, match="low < high"):
        DescriptorGP(descriptors=DESCRIPTORS, bounds=(5.0, 5.0)).fit(X, y)


def test_record_model_passes_the_target_range() -> None:
    from coatml.models.surrogate import RecordModel

    assert RecordModel("capacity_retention_pct", estimator="gp")._regressor().bounds == (0.0,
                                                                                         100.0)
    assert RecordModel("interface_resistance_ohm_cm2", estimator="gp")._regressor().bounds is None
