"""Grouped CV, baselines, learning curves and variant choice. All data are SYNTHETIC."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.dummy import DummyRegressor

from coatml.exceptions import InsufficientDataError
from coatml.models.targets import paired_delta
from coatml.models.validation import (
    Variant,
    compare_variants,
    cross_validate_model,
    group_splits,
    learning_curve,
    make_groups,
    spearman_within_systems,
)
from tests.models.conftest import small_model, synthetic_records


@settings(max_examples=60, deadline=None)
@given(labels=st.lists(st.sampled_from("abcdefg"), min_size=2, max_size=60),
       k=st.sampled_from([None, 2, 3]))
def test_no_group_on_both_sides(labels, k):
    n_groups = len(set(labels))
    if n_groups < 2 or (k is not None and k > n_groups):
        with pytest.raises((InsufficientDataError, ValueError)):
            group_splits(labels, k)
        return
    g = np.asarray(labels, dtype=object)
    splits = group_splits(g, k)
    tested = np.concatenate([te for _, te in splits])
    assert sorted(tested) == list(range(len(g)))  # every row tested exactly once
    for tr, te in splits:
        assert not set(g[tr]) & set(g[te])
        assert len(tr) + len(te) == len(g)


def test_make_groups_source_and_system():
    recs, _, _ = synthetic_records(n_sources=4, per_source=2)
    assert make_groups(recs, "source").nunique() == 4
    systems = make_groups(recs, "system")
    assert set(systems) == {f"{e} | {s}" for e, s in zip(recs.electrode, recs.electrolyte,
                                                                  strict=True)}
    broken = recs.assign(source=[""] + list(recs.source[1:]))
    with pytest.raises(ValueError, match="group label"):
        make_groups(broken, "source")


def test_cross_validation_report_and_baselines_on_same_folds():
    recs, X, y = synthetic_records(n_sources=8, per_source=6, seed=1)
    report = cross_validate_model(small_model, X, y, "source", recs,
                                  target="capacity_retention_pct")
    assert report.n_folds == 8 and report.n_groups == 8 and report.n_records == len(y)
    oof = report.oof
    g = make_groups(recs, "source").to_numpy()
    for fold in range(report.n_folds):
        te = oof["fold"].to_numpy() == fold
        assert len(set(g[te])) == 1
        train_mean = y[~te].mean()
        np.testing.assert_allclose(oof.loc[te, "global_mean"], train_mean)
        coats = recs["coating"].to_numpy()
        for i in np.flatnonzero(te):
            same = (~te) & (coats == coats[i])
            expected = y[same].mean() if same.any() else train_mean
            assert oof.loc[i, "coating_mean"] == pytest.approx(expected)
    frame = report.to_frame()
    assert list(frame.index) == ["model", "global_mean", "coating_mean", "random_forest"]
    rmse = np.sqrt(np.mean((oof["model"] - oof["y"]) ** 2))
    assert frame.loc["model", "rmse"] == pytest.approx(rmse)
    assert 0 <= frame.loc["model", "coverage95"] <= 1
    assert np.isnan(frame.loc["global_mean", "coverage95"])
    # the synthetic signal is strong: the model must beat the training mean
    assert report.beats_baselines["global_mean"]
    md = report.to_markdown()
    assert "| model |" in md and "global_mean" in md
    json.dumps(report.to_dict())  # JSON-safe
    assert report.interval_scale_factor > 0


def test_report_says_plainly_when_model_loses():
    recs, X, y = synthetic_records(n_sources=5, per_source=4, seed=2)
    report = cross_validate_model(lambda: DummyRegressor(strategy="constant", constant=0.0),
                                  X, y, "system", recs)
    assert not all(report.beats_baselines.values())
    assert "does NOT beat the global_mean baseline" in report.summary()
    assert "does NOT beat" in report.to_markdown()
    assert np.isnan(report.interval_scale_factor)


def test_spearman_within_systems_rules():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 5.0])
    systems = np.array(["A", "A", "A", "B", "B", "B"])
    rho, n, _ = spearman_within_systems(y, y.copy(), systems)
    assert (rho, n) == (1.0, 2)  # B holds ties but not all equal -> ranked
    rho, n, note = spearman_within_systems(y[:4], y[:4], np.array(["A", "A", "B", "B"]))
    assert np.isnan(rho) and n == 0 and "not computed" in note
    rho, n, _ = spearman_within_systems(np.array([1.0, 2, 3]), np.array([7.0, 7, 7]),
                                        np.array(["A"] * 3))
    assert (rho, n) == (0.0, 1)


def test_insufficient_rows_for_cv():
    recs, X, y = synthetic_records(n_sources=2, per_source=3)
    with pytest.raises(InsufficientDataError, match=r"6 of 6 record\(s\)"):
        cross_validate_model(small_model, X, y, "source", recs)


def test_learning_curve_shape_and_seed():
    recs, X, y = synthetic_records(n_sources=6, per_source=8, seed=3)
    g = make_groups(recs, "source")
    fractions = (0.15, 0.2, 0.5, 1.0)
    def fast():
        return small_model(n_members=3, n_estimators=20)

    lc = learning_curve(fast, X, y, g, fractions=fractions, random_state=1)
    assert list(lc["fraction"]) == list(fractions)
    # 6 folds, 40 training rows each: 15 % = 6 rows < 8 -> every fold skipped; 20 % = 8 kept
    assert lc["folds_skipped"].tolist() == [6, 0, 0, 0]
    assert np.isnan(lc.loc[0, "rmse"]) and lc.loc[0, "n_test"] == 0
    assert lc["n_train_mean"].tolist()[1:] == [8.0, 20.0, 40.0]
    assert (lc["n_test"].iloc[1:] == 48).all()
    again = learning_curve(fast, X, y, g, fractions=fractions, random_state=1)
    pd.testing.assert_frame_equal(lc, again)


def test_compare_absolute_vs_paired_delta_picks_delta_when_bare_explains_variance():
    """SYNTHETIC pairs: each cell's bare value has a large random part the features do not
    see; the coating adds a feature-driven effect. Modelling the delta must win."""
    rng = np.random.default_rng(4)
    rows, feats = [], []
    for s in range(10):
        for p in range(4):
            bare = rng.normal(60, 15)
            thickness = rng.uniform(0, 10)
            pair = f"s{s}p{p}"
            rows.append({"source": f"synthetic {s}", "pair_id": pair, "coating": "",
                         "electrode": "E", "electrolyte": "S", "capacity_retention_pct": bare})
            feats.append({"thickness_nm": 0.0, "coated": 0.0})
            rows.append({"source": f"synthetic {s}", "pair_id": pair, "coating": "C",
                         "electrode": "E", "electrolyte": "S",
                         "capacity_retention_pct": bare + 2 * thickness + rng.normal(0, 1)})
            feats.append({"thickness_nm": thickness, "coated": 1.0})
    recs, X = pd.DataFrame(rows), pd.DataFrame(feats)
    delta = paired_delta(recs, "capacity_retention_pct")
    coated = delta.index
    y = recs.loc[coated, "capacity_retention_pct"].to_numpy()
    choice = compare_variants(
        [Variant("absolute", small_model), Variant("delta", small_model,
                                                   offset=delta["bare"].to_numpy())],
        X.loc[coated], y, "source", recs.loc[coated],
    )
    assert choice.choice == "delta"
    assert "delta lowers grouped-CV RMSE" in choice.reason
    assert choice.table.loc["delta", "rmse"] < choice.table.loc["absolute", "rmse"]


def test_compare_keeps_reference_within_threshold():
    recs, X, y = synthetic_records(n_sources=5, per_source=4, seed=5)
    choice = compare_variants(
        [Variant("plain", small_model), Variant("same", small_model)], X, y, "source", recs)
    assert choice.choice == "plain"
