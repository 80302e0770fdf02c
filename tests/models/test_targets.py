"""Target transforms and the paired (relative to bare control) delta. Data are SYNTHETIC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coatml.exceptions import InsufficientDataError
from coatml.models.targets import (
    add_baseline,
    check_enough_data,
    gaussian_frame,
    get_target,
    paired_delta,
    target_values,
)


def test_forward_inverse_round_trip():
    res = get_target("interface_resistance_ohm_cm2")
    values = np.array([0.5, 12.0, 3400.0, np.nan])
    np.testing.assert_allclose(res.forward(values), np.log10(values))
    np.testing.assert_allclose(res.inverse(res.forward(values)), values)
    ret = get_target("capacity_retention_pct")
    np.testing.assert_array_equal(ret.forward([80.0, 95.5]), [80.0, 95.5])
    with pytest.raises(ValueError, match="> 0"):
        res.forward([-1.0])
    with pytest.raises(ValueError, match="unknown target"):
        get_target("voltage")


def test_log_target_intervals_back_transformed():
    res = get_target("interface_resistance_ohm_cm2")
    dist = gaussian_frame(np.array([1.0, 2.0]), np.array([0.1, 0.3]))
    back = res.inverse_dist(dist)
    np.testing.assert_allclose(back["median"], [10.0, 100.0])
    for col in ("lo95", "lo68", "hi68", "hi95"):
        np.testing.assert_allclose(back[col], 10 ** dist[col])
    assert np.all(back["lo95"] < back["median"]) and np.all(back["median"] < back["hi95"])
    # log-normal mean and std against a seeded Monte Carlo sample (tolerance: 5 standard errors)
    rng = np.random.default_rng(0)
    draws = 10 ** rng.normal(2.0, 0.3, 200_000)
    se = draws.std() / np.sqrt(draws.size)
    assert abs(back["mean"].iloc[1] - draws.mean()) < 5 * se
    assert abs(back["std"].iloc[1] - draws.std()) / draws.std() < 0.02
    ident = get_target("capacity_retention_pct").inverse_dist(dist)
    np.testing.assert_allclose(ident["mean"], dist["mean"])
    np.testing.assert_allclose(ident["hi95"], dist["hi95"])


def _pairs() -> pd.DataFrame:
    return pd.DataFrame({
        "pair_id": ["a", "a", "b", "b", "b", "c", "", None],
        "coating": ["", "Al2O3", None, "LiNbO3", "Li3PO4", "Al2O3", "Al2O3", "ZnO"],
        "interface_resistance_ohm_cm2": [100.0, 10.0, 50.0, 5.0, np.nan, 20.0, 30.0, 40.0],
        "capacity_retention_pct": [60.0, 80.0, 70.0, 75.0, 90.0, 85.0, 88.0, 70.0],
    })


def test_paired_delta_log_ratio_and_difference():
    recs = _pairs()
    res = paired_delta(recs, "interface_resistance_ohm_cm2")
    # only coated records whose pair has a bare value with a target: rows 1 and 3
    assert list(res.index) == [1, 3]
    np.testing.assert_allclose(res["delta"], [np.log10(10 / 100), np.log10(5 / 50)])
    np.testing.assert_allclose(res["bare"], [2.0, np.log10(50)])
    np.testing.assert_allclose(res["bare"] + res["delta"], res["coated"])
    ret = paired_delta(recs, "capacity_retention_pct")
    assert list(ret.index) == [1, 3, 4]
    np.testing.assert_allclose(ret["delta"], [20.0, 5.0, 20.0])


def test_paired_delta_averages_several_bare_controls():
    recs = pd.DataFrame({"pair_id": ["x", "x", "x"], "coating": ["", "", "Al2O3"],
                         "method": ["none", "none", "ALD"],
                         "capacity_retention_pct": [60.0, 70.0, 80.0]})
    out = paired_delta(recs, "capacity_retention_pct")
    assert out["delta"].tolist() == [15.0]


def test_paired_delta_needs_pair_column():
    with pytest.raises(InsufficientDataError, match="pair_id"):
        paired_delta(pd.DataFrame({"capacity_retention_pct": [1.0]}), "capacity_retention_pct")


def test_add_baseline_combines_variance():
    delta = gaussian_frame(np.array([-1.0, 0.5]), np.array([0.3, 0.4]))
    out = add_baseline(delta, baseline=np.array([2.0, 2.0]), baseline_std=0.4)
    np.testing.assert_allclose(out["mean"], [1.0, 2.5])
    np.testing.assert_allclose(out["std"], [0.5, np.sqrt(0.32)])


def test_check_enough_data_messages():
    recs = pd.DataFrame({"capacity_retention_pct": [80.0, np.nan, 70.0]})
    with pytest.raises(InsufficientDataError, match=r"2 of 3 record\(s\).*at least 8"):
        check_enough_data(recs, "capacity_retention_pct")
    with pytest.raises(InsufficientDataError,
                       match=r"0 of 3.*missing column\(s\): interface_resistance_ohm_cm2, pair_id"):
        check_enough_data(recs, "interface_resistance_ohm_cm2", needed_columns=["pair_id"])
    ok = pd.DataFrame({"capacity_retention_pct": np.arange(8.0)})
    assert check_enough_data(ok, "capacity_retention_pct") == 8
    assert target_values(ok, "capacity_retention_pct").tolist() == list(np.arange(8.0))


def test_bounded_target_intervals_are_censored_at_the_bounds():
    from coatml.models.targets import get_target

    spec = get_target("capacity_retention_pct")
    dist = pd.DataFrame({"mean": [91.6, 50.0, 2.0], "std": [8.7, 5.0, 3.0]})
    for col, z in (("lo68", -1.0), ("hi68", 1.0), ("lo95", -1.96), ("hi95", 1.96)):
        dist[col] = dist["mean"] + z * dist["std"]
    out = spec.inverse_dist(dist)
    assert out["hi68"].iloc[0] == 100.0 and out["hi95"].iloc[0] == 100.0
    assert out["lo95"].iloc[2] == 0.0
    # inside the bounds nothing moves
    assert out.loc[1, ["lo68", "hi68", "median"]].tolist() == [45.0, 55.0, 50.0]
    assert out["mean"].iloc[0] == 91.6  # the mean is the model's, unclipped
