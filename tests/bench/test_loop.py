"""Closed-loop benchmark: the quick run completes, is seeded, and writes its report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from coatml.bench.loop import (
    _prepare_pair,
    load_bench_config,
    load_simulator,
    run_bench,
    run_campaign,
)
from coatml.bench.simlab import SimulatedLab

REPO = Path(__file__).resolve().parents[2]


def test_default_config_file_loads() -> None:
    cfg = load_bench_config(REPO / "experiments" / "bench.toml")
    assert cfg.seeds >= 20 and len(cfg.pairs) >= 2
    assert set(cfg.strategies) == {"coatml", "coatml-prior", "coatml-prior-first",
                                   "coatml-transfer", "random", "tpe", "greedy"}
    assert cfg.checkpoints == (10, 20, 40) and cfg.budget >= 40
    with pytest.raises(ValueError, match="unknown key"):
        load_bench_config(None, nonsense=1)


def test_quick_bench_runs_the_loop(tmp_path: Path) -> None:
    cfg = replace(load_bench_config(REPO / "experiments" / "bench.toml", quick=True), seeds=1)
    result = run_bench(cfg, SimulatedLab(), out_dir=tmp_path)
    camp = result.campaigns
    assert len(camp) == len(cfg.strategies) * cfg.seeds * len(cfg.pairs)
    for (pair, name), curve in result.curves.items():
        assert curve.shape == (cfg.seeds, cfg.budget)
        assert np.all(curve >= -1e-9)
        # the table is read off these curves: regret at the checkpoints, experiments to target
        rows = camp[(camp["pair"] == pair) & (camp["strategy"] == name)].sort_values("seed")
        for k in cfg.checkpoints:
            np.testing.assert_array_equal(rows[f"regret_at_{k}"], curve[:, k - 1])
        best = result.best[pair]  # retention: model space is percent
        reached = best - curve >= best - cfg.tolerance * abs(best)
        first = np.where(reached.any(axis=1), reached.argmax(axis=1) + 1.0, np.inf)
        np.testing.assert_array_equal(rows["experiments_to_target"], first)
        assert np.any(curve[:, -1] < curve[:, 0])  # the campaigns improve on their start
    assert set(result.summary["strategy"]) == set(cfg.strategies)
    for name in ("table", "plot", "campaigns", "summary"):
        assert result.files[name].is_file()
    table = result.files["table"].read_text()
    assert "| all | coatml |" in table
    assert "Random search, exact" in table and result.files["random_exact"].is_file()


def test_campaigns_are_seeded() -> None:
    cfg = replace(load_bench_config(quick=True), max_candidates=15, budget=10)
    lab = SimulatedLab()
    spec, space, feats, truth = _prepare_pair(cfg.pairs[0], cfg, lab, "capacity_retention_pct")
    for name in ("random", "tpe", "coatml"):
        a = run_campaign(name, 3, spec, space, feats, truth, lab, cfg, "capacity_retention_pct")
        b = run_campaign(name, 3, spec, space, feats, truth, lab, cfg, "capacity_retention_pct")
        np.testing.assert_array_equal(a, b)


def test_plug_in_simulator() -> None:
    sim = load_simulator("coatml.bench.simlab:SimulatedLab")
    assert isinstance(sim, SimulatedLab)
    with pytest.raises(ValueError, match="package.module:object"):
        load_simulator("coatml.bench.simlab")
    with pytest.raises(TypeError, match="simulate"):
        load_simulator("coatml.bench.loop:BenchConfig")


def test_loop_feature_set_is_compact_and_packaged() -> None:
    """The in-loop surrogate's feature set: the repo copy equals the packaged one, it has no
    composition features, and it keeps the recipe (thickness) and physics descriptors."""
    from coatml.bench.strategies import LOOP_FEATURE_SET, CoatmlStrategy
    from coatml.features.featureset import load_feature_set

    repo = (REPO / "features" / f"{LOOP_FEATURE_SET}.toml").read_bytes()
    package = (REPO / "src" / "coatml" / "features" / "data"
               / f"{LOOP_FEATURE_SET}.toml").read_bytes()
    assert repo == package
    fs = load_feature_set(LOOP_FEATURE_SET)
    assert fs.composition_featurizers == ()
    assert {"physics", "process"} <= set(fs.blocks)
    assert CoatmlStrategy().feature_set == LOOP_FEATURE_SET


def test_failed_cells_train_the_surrogate_at_the_worst_value() -> None:
    import pandas as pd

    from coatml.bench.strategies import CoatmlStrategy
    from coatml.recommend.surrogates import failed_as_worst

    records = pd.DataFrame({"capacity_retention_pct": [80.0, 60.0, np.nan, np.nan],
                            "interface_resistance_ohm_cm2": [10.0, 20.0, np.nan, np.nan],
                            "cell_failed": [False, False, True, False]})
    rows = failed_as_worst(records, "capacity_retention_pct")
    # the failed cell takes the worst retention measured; a row without information stays empty
    assert rows["capacity_retention_pct"].tolist()[:3] == [80.0, 60.0, 60.0]
    assert np.isnan(rows["capacity_retention_pct"].iloc[3])
    assert np.isnan(records["capacity_retention_pct"].iloc[2])  # input untouched
    rows = failed_as_worst(records, "interface_resistance_ohm_cm2")
    assert rows["interface_resistance_ohm_cm2"].iloc[2] == 20.0  # worst = highest resistance
    # the strategy hands its switch to the shared settings
    assert CoatmlStrategy().settings().failed_as_worst
    assert not CoatmlStrategy(failed_as_worst=False).settings().failed_as_worst


def test_model_table_picks_the_in_loop_surrogate(tmp_path: Path) -> None:
    from coatml.bench.strategies import FAST_MODEL_PARAMS, CoatmlStrategy

    assert load_bench_config(REPO / "experiments" / "bench.toml").estimator == "gp"
    path = tmp_path / "b.toml"
    path.write_text('[bench]\nseeds = 2\n[model]\nestimator = "xgboost"\nn_estimators = 10\n')
    cfg = load_bench_config(path)
    assert cfg.estimator == "xgboost"
    assert cfg.model_params == {**FAST_MODEL_PARAMS, "n_estimators": 10}
    from coatml.recommend.surrogates import _params

    assert _params(CoatmlStrategy(estimator="xgboost").settings(), 1) == {
        **FAST_MODEL_PARAMS, "random_state": 1}
    assert _params(CoatmlStrategy().settings(), 4) == {"random_state": 4}


@pytest.mark.parametrize("n_space,n_target", [(5, 1), (30, 4), (768, 29), (12, 12), (7, 0)])
def test_random_survival_is_the_hypergeometric_tail(n_space: int, n_target: int) -> None:
    from math import comb

    from coatml.bench.loop import random_survival

    ks = np.arange(n_space + 1)
    expected = [comb(n_space - n_target, int(k)) / comb(n_space, int(k)) for k in ks]
    np.testing.assert_allclose(random_survival(n_space, n_target, ks), expected, rtol=1e-9,
                               atol=1e-12)


def test_random_exact_agrees_with_sampling() -> None:
    from coatml.bench.loop import random_exact

    table = random_exact({"a": (200, 6), "b": (50, 10)}, budget=20).set_index("pair")
    rng = np.random.default_rng(0)
    for label, (n, g) in {"a": (200, 6), "b": (50, 10)}.items():
        firsts = np.array([np.argmax(rng.permutation(n)[:n] < g) + 1 for _ in range(4000)])
        assert abs(np.median(firsts) - table.loc[label, "median_experiments"]) <= 1
        assert abs((firsts <= 20).mean() - table.loc[label, "reached_within_budget"]) < 0.03
    assert table.loc["all", "target_recipes"] == 16
