"""Benchmark: training on 1,000 / 10,000 / 100,000 SYNTHETIC records, stage by stage.

The records are synthetic: recipes drawn from the feasible spaces of three electrode /
electrolyte pairs, measured by :class:`coatml.bench.simlab.SimulatedLab` (labelled
``data_kind = synthetic``). For each size it prints wall time and peak memory of each stage:

- featurize: :class:`~coatml.features.pipeline.RecordFeaturizer` on all records;
- tune: Optuna (seeded TPE) over the model's search space, ``--trials`` trials, GroupKFold;
- fit: the final :class:`~coatml.models.estimators.EnsembleRegressor` (``models/default.toml``);
- log: MLflow run + pyfunc model + registration into a temporary embedded store.

Baseline measured in the same run: one plain ``xgboost.XGBRegressor`` with the same
hyper-parameters on the same features (the ensemble's price for its uncertainty), printed as
a ratio. Run on demand::

    python benchmarks/bench_train.py --sizes 1000 10000 100000 --trials 2
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

PAIRS = (("LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl"), ("LiCoO2", "Li10GeP2S12"), ("Li", "Li7La3Zr2O12"))
TARGET = "capacity_retention_pct"


def synthetic_records(n: int, seed: int = 0) -> pd.DataFrame:
    """n simulated measurements over the recipe spaces of PAIRS (synthetic)."""
    from coatml.bench.simlab import SimulatedLab
    from coatml.recommend.space import SpaceSpec, build_recipe_space

    rng = np.random.default_rng(seed)
    lab = SimulatedLab()
    parts = []
    for i, (electrode, electrolyte) in enumerate(PAIRS):
        space, _, _ = build_recipe_space(SpaceSpec(electrode, electrolyte))
        take = space.sample(n=n // len(PAIRS) + (i < n % len(PAIRS)), replace=True,
                            random_state=int(rng.integers(1 << 31)))
        take = take.assign(cycle_number=rng.choice([50.0, 100.0, 200.0], len(take)))
        parts.append(take)
    recipes = pd.concat(parts, ignore_index=True)
    measured = lab.simulate(recipes, seed=seed)
    measured["source"] = [f"synthetic: bench batch {k % 20}" for k in range(len(measured))]
    return measured


@contextmanager
def stage(results: dict, name: str):
    tracemalloc.start()
    start = time.perf_counter()
    yield
    results[name] = (time.perf_counter() - start, tracemalloc.get_traced_memory()[1] / 2**20)
    tracemalloc.stop()


def run(size: int, trials: int) -> dict:
    from coatml.features.pipeline import RecordFeaturizer
    from coatml.models.config import load_model_config
    from coatml.models.estimators import EnsembleRegressor
    from coatml.models.tuning import tune
    from coatml.models.validation import cross_validate_model
    from coatml.tracking.registry import register_and_maybe_promote
    from coatml.tracking.runs import Tracker, log_training

    records = synthetic_records(size)
    records = records[records[TARGET].notna()].reset_index(drop=True)
    results: dict = {}
    with stage(results, "featurize"):
        featurizer = RecordFeaturizer().fit(records)
        X = featurizer.transform(records)
    y = records[TARGET].to_numpy(dtype=float)
    groups = records["source"].to_numpy()
    config = load_model_config()
    params = config.estimator_params()
    with tempfile.TemporaryDirectory() as tmp:
        if trials:
            with stage(results, "tune"):
                tune(EnsembleRegressor(**params), X, y, groups, storage=f"sqlite:///{tmp}/o.db",
                     target=TARGET, config=config.tuning, n_trials=trials, n_splits=3)
        with stage(results, "fit"):
            model = EnsembleRegressor(**params).fit(X, y)
        import xgboost

        single = {k: params[k] for k in ("n_estimators", "max_depth", "learning_rate",
                                         "subsample", "colsample_bytree", "min_child_weight",
                                         "reg_lambda")}
        with stage(results, "baseline: one XGBRegressor"):
            xgboost.XGBRegressor(tree_method="hist", n_jobs=1, **single).fit(X, y)
        report = cross_validate_model(lambda: EnsembleRegressor(**{**params, "n_members": 2,
                                                                   "n_estimators": 20}),
                                      X.head(400), y[:400], groups[:400], records.head(400),
                                      n_splits=3, target=TARGET, baselines=False)
        with stage(results, "log"):
            ws = Path(tmp) / "ws"
            tracker = Tracker.for_workspace(ws)
            run_ = log_training(tracker, target=TARGET, model=model, featurizer=featurizer,
                                report=report, dataset_hash=f"synthetic-{size}",
                                n_rows=len(records), input_example=records.head(3)[[
                                    "electrode", "electrolyte", "coating", "thickness_nm"]])
            register_and_maybe_promote(tracker, run_)
    results["n"] = len(records)
    results["features"] = X.shape[1]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--trials", type=int, default=2)
    args = parser.parse_args()
    import logging
    import os

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print("SYNTHETIC records (coatml.bench.SimulatedLab); target", TARGET)
    for size in args.sizes:
        res = run(size, args.trials)
        print(f"\n== {size} requested, {res['n']} with a value, {res['features']} features")
        for name, value in res.items():
            if isinstance(value, tuple):
                print(f"  {name:28s} {value[0]:9.2f} s   peak traced {value[1]:8.1f} MiB")
        fit, base = res["fit"][0], res["baseline: one XGBRegressor"][0]
        print(f"  ensemble fit / one XGBRegressor = {fit / base:.1f}x")
        print(f"  process peak RSS so far: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
