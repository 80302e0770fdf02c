"""Ranking an unseen pair on the simulated lab (SYNTHETIC): how well do the models order the
coatings of a pair they have no records of?

For each held-out pair of the benchmark (``coatml bench``'s default pairs, default candidate
space: library + enumerated), the other pairs' spaces are "measured" by the simulated lab
(``--per-pair`` random recipes each, noisy, failures included: SYNTHETIC records) and the
models below are given those records. Each model scores every recipe of the held-out pair; a
coating's score is that of its best-scored recipe, and the coatings are compared with the
simulator's noise-free value of their best recipe (``SimulatedLab.expected``):
Spearman's rho over all coatings and precision of the top 10 (share of the predicted top 10
among the true top 10).

Models (capacity retention):

* ``today``: the boosted ensemble on the default features without the prior (the model of
  coatml before issue 11), trained on the other pairs' records;
* ``prior``: the physics prior alone (:class:`coatml.models.surrogate.PriorSurrogate`);
* ``prior+model``: the ensemble started from the prior (``base_margin``), trained on the
  bundled literature only (real records, none of the simulated lab's);
* ``prior+model+transfer``: the same, trained on the literature and the other pairs'
  simulated records.

A baseline in the same run: ``random`` (the expected Spearman 0 and precision 10/n of a random
order, computed exactly).

Shared sources, disclosed: the prior and the simulator both read sourced stability windows,
film conductivities and the review's Table 2 numbers; the prior's equations are the
screening's criteria, not the simulator's, and it sees none of its hidden factors.

Run: ``python benchmarks/bench_unseen_pair.py [--per-pair 60] [--seeds 3]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

TARGET = "capacity_retention_pct"


def _best_per_coating(space: pd.DataFrame, values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=space.index).groupby(space["coating"].to_numpy()).max()


def _scores(pred: pd.Series, truth: pd.Series, k: int = 10) -> tuple[float, float]:
    common = truth.index.intersection(pred.index)
    p, t = pred[common], truth[common]
    rho = float(spearmanr(p.to_numpy(), t.to_numpy()).statistic)
    top_p = set(p.sort_values(ascending=False, kind="mergesort").index[:k])
    top_t = set(t.sort_values(ascending=False, kind="mergesort").index[:k])
    return rho, len(top_p & top_t) / k


def main() -> None:
    from coatml.bench.loop import _prepare_pair, load_bench_config, load_simulator
    from coatml.data.literature import load_literature
    from coatml.features.process import PrecursorWarning
    from coatml.models.config import FAST_MODEL_PARAMS
    from coatml.models.surrogate import PriorSurrogate, RecordModel

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-pair", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore", PrecursorWarning)
    cfg = load_bench_config()
    sim = load_simulator(None)
    t0 = time.perf_counter()
    prepared = {pair: _prepare_pair(pair, cfg, sim, TARGET) for pair in cfg.pairs}
    literature = load_literature().records
    rows = []
    for held in cfg.pairs:
        spec, space, features, truth = prepared[held]
        true_best = _best_per_coating(space, truth)
        n = len(true_best)
        rows.append({"pair": f"{held[0]} / {held[1]}", "model": "random (exact)", "seed": -1,
                     "spearman": 0.0, "precision_at_10": 10 / n})
        prior_model = PriorSurrogate(TARGET).fit()
        rho, prec = _scores(_best_per_coating(space, prior_model.mean_from_features(features)),
                            true_best)
        rows.append({"pair": f"{held[0]} / {held[1]}", "model": "prior", "seed": -1,
                     "spearman": rho, "precision_at_10": prec})
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            measured = []
            for other in cfg.pairs:
                if other == held:
                    continue
                o_space = prepared[other][1]
                pick = rng.choice(len(o_space), size=min(args.per_pair, len(o_space)),
                                  replace=False)
                measured.append(sim.simulate(o_space.iloc[pick], seed=seed))
            others = pd.concat(measured, ignore_index=True)
            params = {**FAST_MODEL_PARAMS, "random_state": seed}
            variants = {
                "today": RecordModel(TARGET, estimator_params=params).fit(others),
                "prior+model": RecordModel(TARGET, estimator_params=params, min_records=5,
                                           prior=True).fit(literature),
                "prior+model+transfer": RecordModel(
                    TARGET, estimator_params=params, prior=True).fit(
                        pd.concat([literature, others], ignore_index=True)),
            }
            for name, model in variants.items():
                pred = model.mean_from_features(model.select_features(features))
                rho, prec = _scores(_best_per_coating(space, pred), true_best)
                rows.append({"pair": f"{held[0]} / {held[1]}", "model": name, "seed": seed,
                             "spearman": rho, "precision_at_10": prec})
    table = pd.DataFrame(rows)
    summary = (table.groupby(["pair", "model"], sort=False)[["spearman", "precision_at_10"]]
               .mean().round(3))
    print("Ranking an unseen pair (SYNTHETIC simulated lab; mean over seeds; "
          f"{args.per_pair} records per other pair)")
    print(summary.to_markdown())
    pooled = table.groupby("model", sort=False)[["spearman", "precision_at_10"]].mean().round(3)
    print("\nPooled over pairs:")
    print(pooled.to_markdown())
    base = pooled.loc["random (exact)", "precision_at_10"]
    for name in pooled.index:
        print(f"{name}: precision@10 {pooled.loc[name, 'precision_at_10'] / base:.2f}x random")
    print(f"\n{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
