"""Tests of the ranking: one row per candidate, best recipe by brute force, Pareto ranks,
tested marks, SHAP additivity, chunking invariance and the figure.

Models are trained on SYNTHETIC records from :class:`coatml.bench.simlab.SimulatedLab`
(``data_kind="synthetic"``), so they are meaningful but say nothing about real cells.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coatml.recommend.rank import (
    MODEL_PREFIX,
    PREFIX,
    RESISTANCE,
    RETENTION,
    pareto_ranks,
    rank_coatings,
)
from coatml.recommend.space import SpaceSpec, build_recipe_space

NMC811 = "LiNi0.8Mn0.1Co0.1O2"
LPSCL = "Li6PS5Cl"
PAIRS = ((NMC811, LPSCL), ("LiCoO2", LPSCL), ("Li", "Li7La3Zr2O12"))
SPEC = SpaceSpec(NMC811, LPSCL, max_candidates=70, seed=1)


def simulated_records(per_pair: int = 60, seed: int = 0) -> pd.DataFrame:
    """SYNTHETIC training records: library and random recipes of three pairs, measured by the
    simulated lab (noise and failures included)."""
    from coatml.bench.simlab import SimulatedLab

    lab = SimulatedLab()
    frames = []
    for i, (electrode, electrolyte) in enumerate(PAIRS):
        recipes, _, _ = build_recipe_space(SpaceSpec(electrode, electrolyte))
        lib = recipes[recipes["in_library"]]
        part = pd.concat([lib.sample(min(per_pair, len(lib)), random_state=seed + i),
                          recipes.sample(per_pair, random_state=seed + i)])
        frames.append(lab.simulate(part, seed=seed + i))
    return pd.concat(frames, ignore_index=True)


def fit_models(records: pd.DataFrame) -> dict:
    from coatml.models.surrogate import RecordModel

    params = {"n_members": 5, "n_estimators": 100, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown-precursor notes of the featurizer
        return {t: RecordModel(t, estimator_params=params).fit(records)
                for t in (RETENTION, RESISTANCE)}


@pytest.fixture(scope="session")
def sim_records() -> pd.DataFrame:
    return simulated_records()


@pytest.fixture(scope="session")
def models(sim_records: pd.DataFrame) -> dict:
    return fit_models(sim_records)


@pytest.fixture(scope="session")
def space() -> tuple[pd.DataFrame, pd.DataFrame]:
    recipes, candidates, _ = build_recipe_space(SPEC)
    return recipes.reset_index(drop=True), candidates


@pytest.fixture(scope="session")
def ranked(models: dict, sim_records: pd.DataFrame) -> dict:
    return {obj: rank_coatings(SPEC, models, obj, records=sim_records, chunk_candidates=25)
            for obj in ("retention", "resistance", "both")}


def brute_force_fronts(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pareto ranks by repeatedly peeling off the non-dominated set (O(n^2) per front)."""
    ranks = np.zeros(len(x), dtype=int)
    left = set(range(len(x)))
    front = 0
    while left:
        front += 1
        current = [i for i in left if not any(
            x[j] >= x[i] and y[j] <= y[i] and (x[j] > x[i] or y[j] < y[i]) for j in left)]
        for i in current:
            ranks[i] = front
        left -= set(current)
    return ranks


def _predict_all(models: dict, recipes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {t: m.predict_model_space(recipes) for t, m in models.items()}


# --- structure and order -----------------------------------------------------------------------


@pytest.mark.parametrize("objective", ["retention", "resistance", "both"])
def test_one_row_per_candidate_sorted_by_objective(ranked: dict, space, objective: str) -> None:
    recipes, candidates = space
    result = ranked[objective]
    table = result.table
    assert len(table) == candidates.shape[0] == result.counts.ranked
    assert table["candidate_index"].is_unique
    assert result.counts.recipes == len(recipes)
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    if objective == "retention":
        values = table[f"{PREFIX[RETENTION]}_mean"].to_numpy()
        assert np.all(np.diff(values) <= 0)
    elif objective == "resistance":
        values = table[f"{PREFIX[RESISTANCE]}_median"].to_numpy()
        assert np.all(np.diff(values) >= 0)
    else:
        pr = table["pareto_rank"].to_numpy(dtype=int)
        assert np.all(np.diff(pr) >= 0)
        for _, grp in table.groupby("pareto_rank"):
            assert np.all(np.diff(grp["score"].to_numpy()) <= 0)
    for p in PREFIX.values():
        lo95, lo68, mid, hi68, hi95 = (table[f"{p}_{c}"].to_numpy()
                                       for c in ("lo95", "lo68", "median", "hi68", "hi95"))
        assert np.all((lo95 <= lo68) & (lo68 <= mid) & (mid <= hi68) & (hi68 <= hi95))


@pytest.mark.parametrize("objective", ["retention", "resistance", "both"])
def test_best_recipe_is_the_brute_force_best(ranked: dict, models: dict, space,
                                             objective: str) -> None:
    recipes, _ = space
    preds = _predict_all(models, recipes)
    ret = preds[RETENTION]["mean"].to_numpy()
    logr = preds[RESISTANCE]["mean"].to_numpy()
    if objective == "retention":
        score = ret
    elif objective == "resistance":
        score = -logr
    else:
        sd_ret = np.sqrt(models[RETENTION].ensemble_.target_var_)
        sd_res = np.sqrt(models[RESISTANCE].ensemble_.target_var_)
        score = ret / sd_ret - logr / sd_res
    frame = recipes.assign(score=score)
    table = ranked[objective].table.set_index("candidate_index")
    for cand, grp in frame.groupby("candidate_index"):
        best = grp.loc[grp["score"].idxmax()]
        row = table.loc[cand]
        assert row["score"] == pytest.approx(best["score"], abs=1e-9)
        assert row["thickness_nm"] == best["thickness_nm"]
        assert row["temperature_c"] == best["temperature_c"] or (
            np.isnan(row["temperature_c"]) and np.isnan(best["temperature_c"]))
        # reported predictions are those of the chosen recipe
        i = best.name
        assert row[f"{MODEL_PREFIX[RETENTION]}_mean"] == pytest.approx(ret[i], abs=1e-9)
        assert row[f"{MODEL_PREFIX[RESISTANCE]}_mean"] == pytest.approx(logr[i], abs=1e-9)
        assert row[f"{PREFIX[RESISTANCE]}_median"] == pytest.approx(10 ** logr[i], rel=1e-9)


def test_chunk_size_does_not_change_the_result(models: dict, ranked: dict) -> None:
    one_chunk = rank_coatings(SPEC, models, "both", records=None, chunk_candidates=10_000,
                              explain=False)
    many = ranked["both"].table[one_chunk.table.columns.drop("tested")]
    pd.testing.assert_frame_equal(one_chunk.table.drop(columns="tested"),
                                  many.drop(columns=[c for c in many if c.startswith("top_")]),
                                  check_exact=False, rtol=0, atol=1e-9)


# --- Pareto ------------------------------------------------------------------------------------


def test_pareto_ranks_match_brute_force_with_ties() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 40, 150):
        x = rng.integers(0, 6, n).astype(float)  # a coarse grid makes ties and duplicates
        y = rng.integers(0, 6, n).astype(float)
        assert list(pareto_ranks(x, y)) == list(brute_force_fronts(x, y))
    x = rng.normal(size=300)
    y = rng.normal(size=300)
    assert list(pareto_ranks(x, y)) == list(brute_force_fronts(x, y))


def test_pareto_ranks_leave_non_finite_rows_unranked() -> None:
    ranks = pareto_ranks([1.0, np.nan, 2.0], [1.0, 0.0, np.inf])
    assert list(ranks) == [1, 0, 0]


def test_table_pareto_ranks_are_correct(ranked: dict) -> None:
    table = ranked["both"].table
    x = table[f"{PREFIX[RETENTION]}_mean"].to_numpy()
    y = table[f"{MODEL_PREFIX[RESISTANCE]}_mean"].to_numpy()
    assert list(table["pareto_rank"].astype(int)) == list(brute_force_fronts(x, y))
    front = table[table["pareto_rank"] == 1]
    assert len(front) >= 1
    for (_, a), (_, b) in itertools.permutations(front.iterrows(), 2):
        assert not (a[f"{PREFIX[RETENTION]}_mean"] >= b[f"{PREFIX[RETENTION]}_mean"]
                    and a[f"{MODEL_PREFIX[RESISTANCE]}_mean"]
                    < b[f"{MODEL_PREFIX[RESISTANCE]}_mean"])


# --- tested marks ------------------------------------------------------------------------------


def test_tested_marks_follow_the_pair(models: dict) -> None:
    base = {"electrolyte": LPSCL, "coated_component": "electrode", "method": "ALD",
            "thickness_nm": 5.0}
    records = pd.DataFrame([
        {**base, "electrode": NMC811, "coating": "LiNbO3"},
        {**base, "electrode": "NCM811", "coating": "lithium phosphate"},  # alias spellings
        {**base, "electrode": "LiCoO2", "coating": "Al2O3"},  # another pair: not tested here
    ])
    spec = SpaceSpec(NMC811, LPSCL, include_enumerated=False)
    table = rank_coatings(spec, models, "retention", records=records, explain=False).table
    tested = set(table.loc[table["tested"], "reduced_formula"])
    assert "LiNbO3" in tested
    assert "Al2O3" not in tested
    assert tested <= {"LiNbO3", "Li3PO4"}
    untested = rank_coatings(spec, models, "retention", records=None, explain=False).table
    assert not untested["tested"].any()


# --- SHAP --------------------------------------------------------------------------------------


def test_shap_contributions_add_up_to_each_member(models: dict, space) -> None:
    from coatml.recommend.explain import shap_values, top_contributions

    recipes, _ = space
    rows = recipes.sample(40, random_state=0)
    for target, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            members = model.predict_members(rows)
            one = shap_values(model, rows, member=2)
            mean = shap_values(model, rows)
            top = top_contributions(model, rows, k=3)
        np.testing.assert_allclose(one.prediction().to_numpy(), members[2], atol=2e-4)
        np.testing.assert_allclose(mean.prediction().to_numpy(), members.mean(axis=0),
                                   atol=2e-4)
        assert len(top) == 3 * len(rows)
        for _, grp in top.groupby("row", sort=False):
            mags = grp["shap_value"].abs().to_numpy()
            assert np.all(np.diff(mags) <= 0)
            row_vals = mean.values.loc[grp["row"].iloc[0]].abs()
            assert mags[0] == pytest.approx(row_vals.max())
        assert top["label"].str.contains(": ").all(), target


def test_table_top_features_are_the_largest_shap_values(ranked: dict, models: dict,
                                                        space) -> None:
    from coatml.recommend.explain import readable_label, shap_values

    recipes, _ = space
    table = ranked["retention"].table
    row = table.iloc[0]
    chosen = recipes[(recipes["candidate_index"] == row["candidate_index"])
                     & (recipes["thickness_nm"] == row["thickness_nm"])
                     & ((recipes["temperature_c"] == row["temperature_c"])
                        | recipes["temperature_c"].isna())].head(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = shap_values(models[RETENTION], chosen).values.iloc[0]
    top3 = values.abs().sort_values(ascending=False, kind="stable").index[:3]
    assert [row[f"top_feature_{i}"] for i in (1, 2, 3)] == [readable_label(f) for f in top3]
    assert row["top_shap_1"] == pytest.approx(values[top3[0]], abs=1e-9)
    assert row["top_features"].count(";") == 2


# --- figure ------------------------------------------------------------------------------------


@pytest.mark.parametrize("objective", ["both", "retention", "resistance"])
def test_rank_plot_writes_a_png(ranked: dict, tmp_path: Path, objective: str,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    saved: list = []
    original = Figure.savefig

    def keep(fig: Figure, *args, **kwargs):
        saved.append(fig)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    path = ranked[objective].plot(tmp_path / f"{objective}.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = imread(path).shape[:2]
    assert width >= 7.5 * 150 and height >= 3.0 * 150
    # what the figure shows: the table's numbers
    (ax,) = saved[0].axes
    table = ranked[objective].table
    if objective == "both":
        x = table["resistance_ohm_cm2_median"].to_numpy(dtype=float)
        y = table["retention_pct_mean"].to_numpy(dtype=float)
        shown = np.vstack([c.get_offsets() for c in ax.collections
                           if not str(c.get_label()).startswith(("Pareto", "_"))])
        assert len(shown) == len(table)
        np.testing.assert_allclose(np.sort(shown[:, 0]), np.sort(x))
        np.testing.assert_allclose(shown[np.lexsort(shown.T[::-1])],
                                   np.column_stack([x, y])[np.lexsort((y, x))])
        front = (table["pareto_rank"] == 1).to_numpy()
        (line,) = [line for line in ax.lines if line.get_color() == "tab:red"]
        order = np.argsort(x[front])
        np.testing.assert_allclose(line.get_xydata(),
                                   np.column_stack([x[front][order], y[front][order]]))
        assert ax.get_xscale() == "log"
    else:
        prefix, centre = {"retention": ("retention_pct", "mean"),
                          "resistance": ("resistance_ohm_cm2", "median")}[objective]
        top = table.head(30)
        bars68 = ax.collections[1].get_segments()  # hlines: 95 % first, then 68 %
        np.testing.assert_allclose([seg[:, 0] for seg in bars68],
                                   top[[f"{prefix}_lo68", f"{prefix}_hi68"]].to_numpy(float))
        centres = np.vstack([c.get_offsets() for c in ax.collections[2:]])
        np.testing.assert_allclose(np.sort(centres[:, 0]),
                                   np.sort(top[f"{prefix}_{centre}"].to_numpy(float)))
        labels = [t.get_text().split("  (")[0] for t in ax.get_yticklabels()]
        top_down = [label for _, label in sorted(zip(ax.get_yticks(), labels, strict=True),
                                                 reverse=True)]
        assert top_down == top["coating"].tolist()  # the best row on top
        assert ax.get_xscale() == ("log" if objective == "resistance" else "linear")


def test_bad_objective_and_missing_model_are_rejected(models: dict) -> None:
    with pytest.raises(ValueError, match="objective must be one of"):
        rank_coatings(SPEC, models, "cost")
    with pytest.raises(ValueError, match=RESISTANCE):
        rank_coatings(SPEC, {"retention": models[RETENTION]}, "both")


def test_fast_ensemble_mean_and_shap_with_a_prior_margin(sim_records: pd.DataFrame,
                                                         space) -> None:
    """With a prior (XGBoost base_margin) the shared-matrix mean equals ``predict`` and the
    SHAP bias carries the margin, so contributions still add up to every member."""
    from coatml.features.pipeline import RecordFeaturizer
    from coatml.models.estimators import EnsembleRegressor
    from coatml.recommend.explain import shap_from_features

    recipes, _ = space
    rows = sim_records[sim_records[RETENTION].notna()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        featurizer = RecordFeaturizer().fit(rows)
        X = featurizer.transform(rows)
        Xq = featurizer.transform(recipes.head(300))
    prior = "process__thickness_nm"
    assert prior in X.columns
    ens = EnsembleRegressor(n_members=3, n_estimators=30, prior=prior).fit(
        X, rows[RETENTION].to_numpy())
    np.testing.assert_array_equal(ens.predict_mean_float32(Xq), ens.predict(Xq))
    members = ens.predict_members(Xq)
    shap = shap_from_features(ens, Xq, member=1)
    np.testing.assert_allclose(shap.prediction().to_numpy(), members[1], atol=2e-4)
    # the margin is in the bias: rows with another prior value have another bias
    assert shap.bias.nunique() > 1


def test_rank_says_how_much_is_prior_and_how_much_was_learned(sim_records: pd.DataFrame
                                                              ) -> None:
    from coatml.models.surrogate import RecordModel
    from coatml.recommend.rank import prior_split_text

    params = {"n_members": 3, "n_estimators": 30, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with_prior = {t: RecordModel(t, estimator_params=params, prior=True).fit(sim_records)
                      for t in (RETENTION, RESISTANCE)}
        result = rank_coatings(SPEC, with_prior, "both", chunk_candidates=25)
    table = result.table
    learned = table["retention_pct_model_mean"] - table["retention_pct_model_learned"]
    np.testing.assert_allclose(learned, table["retention_pct_prior"], atol=1e-9)
    res_prior = np.log10(table["resistance_ohm_cm2_prior"])
    np.testing.assert_allclose(table["log10_resistance_ohm_cm2_mean"]
                               - table["log10_resistance_ohm_cm2_learned"], res_prior,
                               atol=1e-9)
    text = prior_split_text(next(table.itertuples(index=False)))
    assert text.startswith("retention: prior ") and "resistance: prior " in text
    # a model without the prior has no such columns and no text
    plain = rank_coatings(SPEC, fit_models(sim_records), "both", chunk_candidates=25).table
    assert "retention_pct_prior" not in plain
    assert prior_split_text(next(plain.itertuples(index=False))) == ""
