"""Ranking throughput: >= 10,000 candidates x process grids for NMC811 | Li6PS5Cl.

Everything here is SYNTHETIC: the models are trained on records measured by the simulated lab
(:class:`coatml.bench.simlab.SimulatedLab`, ``data_kind="synthetic"``), only to have realistic
XGBoost ensembles to time.

* Candidates: the filtered candidate table of NMC811 | Li6PS5Cl (library + enumerated,
  ``enumerate_candidates()`` defaults) holds fewer than 10,000 coatings (2,677 at the time of
  writing), so ``--candidates`` rows are **sampled with replacement** from it (seeded); the
  process grid is made finer than the default (5 temperatures per window x 10 thickness
  targets) so that the recipes number >= 300,000.
* Fast path: :func:`coatml.recommend.rank.rank_coatings` with ``objective="both"`` (both models
  score every recipe), chunks of ``--chunk`` candidates, SHAP for the top 200 rows.
* Baseline (same run): the naive path on ``--naive-candidates`` candidates, extrapolated
  linearly to all candidates: per candidate, its recipes are scored with each model's public
  ``predict_dist`` (each model featurizes the rows itself) with the composition-feature cache
  emptied before every call (no reuse of composition features across calls), and the best
  recipe is taken. The ratio is baseline / fast.
* Peak memory: ``tracemalloc`` peak of a second, untimed fast-path run, and the process's peak
  RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) at the end.

Run:  nice python benchmarks/bench_rank.py [--candidates 10000] [--chunk 2000]
      [--naive-candidates 60] [--members 5] [--trees 100]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from coatml.recommend.rank import RESISTANCE, RETENTION, rank_coatings
from coatml.recommend.space import SpaceSpec, build_recipe_space, candidate_table

ELECTRODE = "LiNi0.8Mn0.1Co0.1O2"
ELECTROLYTE = "Li6PS5Cl"
TRAIN_PAIRS = ((ELECTRODE, ELECTROLYTE), ("LiCoO2", ELECTROLYTE), ("Li", "Li7La3Zr2O12"))
THICKNESS_TARGETS_NM = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0)


def train(members: int, trees: int) -> dict:
    """Models of both targets on SYNTHETIC simulated-lab records (3 pairs, 120 each)."""
    from coatml.bench.simlab import SimulatedLab
    from coatml.models.surrogate import RecordModel

    lab = SimulatedLab()
    frames = []
    for i, (electrode, electrolyte) in enumerate(TRAIN_PAIRS):
        recipes, _, _ = build_recipe_space(SpaceSpec(electrode, electrolyte))
        lib = recipes[recipes["in_library"]]
        part = pd.concat([lib.sample(min(60, len(lib)), random_state=i),
                          recipes.sample(60, random_state=i)])
        frames.append(lab.simulate(part, seed=i))
    records = pd.concat(frames, ignore_index=True)
    params = {"n_members": members, "n_estimators": trees, "random_state": 0}
    return {t: RecordModel(t, estimator_params=params).fit(records)
            for t in (RETENTION, RESISTANCE)}


def naive(spec: SpaceSpec, candidates: pd.DataFrame, models: dict) -> tuple[float, int]:
    """Per-candidate loop, every model featurizing for itself, no composition cache."""
    from coatml.features import pipeline
    from coatml.recommend.space import iter_recipe_space

    t0 = time.perf_counter()
    n_recipes = 0
    for i in range(len(candidates)):
        recipes = next(iter_recipe_space(spec, candidates.iloc[i:i + 1], 1))
        n_recipes += len(recipes)
        score = np.zeros(len(recipes))
        for model in models.values():
            pipeline._FEATURIZERS.clear()  # a fresh composition featurizer: nothing cached
            dist = model.predict_dist(recipes)
            sign = 1.0 if model.target_.higher_is_better else -1.0
            score += sign * model.target_.forward(dist["median"].to_numpy())
        int(np.argmax(score))
    return time.perf_counter() - t0, n_recipes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--naive-candidates", type=int, default=60)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--trees", type=int, default=100)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # unknown-precursor notes: counted in a feature

    t0 = time.perf_counter()
    models = train(args.members, args.trees)
    print(f"trained 2 models ({args.members} members x {args.trees} trees) on SYNTHETIC "
          f"simulated-lab records in {time.perf_counter() - t0:.1f} s")

    spec = SpaceSpec(ELECTRODE, ELECTROLYTE, temperatures_per_window=5,
                     thickness_targets_nm=THICKNESS_TARGETS_NM)
    table, report = candidate_table(spec)
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(table), size=args.candidates)
    candidates = table.iloc[pick].reset_index(drop=True)
    print(f"candidates: {len(table)} distinct after filters "
          f"({report.n_start} before); {len(candidates)} sampled WITH REPLACEMENT "
          f"({len(np.unique(pick))} distinct)")

    # fast path, timed
    result = rank_coatings(spec, models, "both", candidates=candidates,
                           chunk_candidates=args.chunk)
    fast_s = result.timing["total"]
    n_rec = result.counts.recipes
    print(f"\nfast path: {n_rec:,} recipes, {result.counts.ranked:,} candidates ranked, "
          f"{len(result.table)} rows, {fast_s:.2f} s "
          f"({n_rec / fast_s:,.0f} recipes/s)")
    for stage, secs in result.timing.items():
        print(f"  {stage:<11s} {secs:8.2f} s")

    # naive baseline on a subsample, extrapolated
    sub = candidates.iloc[:args.naive_candidates]
    naive_s, naive_rec = naive(spec, sub, models)
    per_candidate = naive_s / len(sub)
    naive_total = per_candidate * len(candidates)
    print(f"\nnaive baseline: {len(sub)} candidates ({naive_rec} recipes) in {naive_s:.2f} s "
          f"-> {per_candidate * 1e3:.1f} ms/candidate -> extrapolated {naive_total:.1f} s for "
          f"{len(candidates):,} candidates")
    print(f"ratio naive / fast: {naive_total / fast_s:.1f}x")

    # peak memory of an untimed run
    tracemalloc.start()
    rank_coatings(spec, models, "both", candidates=candidates, chunk_candidates=args.chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"\npeak memory: tracemalloc {peak / 2**20:.0f} MiB (fast path), "
          f"peak RSS {rss_kib / 1024:.0f} MiB (process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
