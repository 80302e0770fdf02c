"""Benchmark of `propose` on large recipe spaces (run on demand, not a test).

    /work/venv/bin/python benchmarks/bench_propose.py [--big-rows 2000000]

Cases, each in its own process so its peak memory (ru_maxrss) is its own:

* ``100k``: one propose over >= 100,000 feasible recipes (EI, batch of 4), cold and warm
  (materials featurized once per process), target < 10 s;
* ``2m``: one propose over ~2,000,000 recipes scored in chunks, target peak memory < 2 GiB;
* ``baseline``: materialise-everything on a subsample (build the whole table, featurize it,
  predict it at once), whose memory per recipe extrapolated to the 2M space is the comparison.

Models: RecordModels (SYNTHETIC training data from the simulated lab, 60 recipes).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

NMC811, LPSCL = "LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl"
RET = "capacity_retention_pct"


def _models():
    from coatml.bench.simlab import SimulatedLab
    from coatml.features.process import PrecursorWarning
    from coatml.models.surrogate import RecordModel
    from coatml.recommend.space import SpaceSpec, build_recipe_space

    space, _, _ = build_recipe_space(SpaceSpec(NMC811, LPSCL, max_candidates=80))
    rows = space.iloc[np.random.default_rng(0).choice(len(space), 60, replace=False)]
    observed = SimulatedLab().simulate(rows, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecursorWarning)
        model = RecordModel(RET, estimator_params={"n_members": 10, "n_estimators": 150,
                                                   "learning_rate": 0.1}).fit(observed)
    return {RET: model}, observed


def _spec(rows: int):
    from coatml.recommend.space import SpaceSpec

    if rows <= 150_000:  # ~700 candidates x 10 temperatures x 21 thicknesses
        return SpaceSpec(NMC811, LPSCL, max_candidates=700, temperatures_per_window=10,
                         thickness_targets_nm=tuple(np.round(np.geomspace(0.3, 30, 21), 3)))
    # every candidate x 32 temperatures x 32 thicknesses
    return SpaceSpec(NMC811, LPSCL, temperatures_per_window=32,
                     thickness_targets_nm=tuple(np.round(np.geomspace(0.2, 40, 32), 3)))


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def case_propose(rows: int) -> dict:
    from coatml.recommend.propose import propose

    models, observed = _models()
    spec = _spec(rows)
    out = {}
    chunk = 100 if rows <= 150_000 else 20  # candidates per chunk (20 x ~1000 recipes)
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        prop = propose(spec, models, "retention", 4, "ei", seed=0, observed=observed,
                       chunk_size=chunk)
        out[f"{label}_s"] = time.perf_counter() - t0
    out.update(n_scored=prop.n_scored, peak_mib=_peak_mib(),
               coatings=list(prop.batch["coating"]))
    return out


def case_baseline(rows: int) -> dict:
    """Materialise-everything: the whole (sub)space as one table, featurized and predicted."""
    import pandas as pd

    from coatml.features.process import PrecursorWarning
    from coatml.recommend.space import candidate_table, iter_recipe_space

    models, _ = _models()
    model = models[RET]
    spec = _spec(2_000_000)
    cands, _ = candidate_table(spec)
    per_cand = 32 * 32
    sub = cands.sample(n=min(len(cands), max(1, rows // per_cand)), random_state=0)
    base = _peak_mib()
    t0 = time.perf_counter()
    table = pd.concat(list(iter_recipe_space(spec, sub.reset_index(drop=True),
                                             candidates_per_chunk=10**9)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecursorWarning)
        X = model.featurize(table)
    dist = model.ensemble_.predict_dist(X)
    best = int(np.argmax(dist["mean"].to_numpy()))
    return {"rows": len(table), "seconds": time.perf_counter() - t0, "peak_mib": _peak_mib(),
            "before_mib": base, "best_row": best}


def _run(case: str, rows: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--case", case, "--rows", str(rows)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=["propose", "baseline"])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--big-rows", type=int, default=2_000_000)
    ap.add_argument("--baseline-rows", type=int, default=200_000)
    args = ap.parse_args()
    if args.case == "propose":
        print(json.dumps(case_propose(args.rows)))
        return
    if args.case == "baseline":
        print(json.dumps(case_baseline(args.rows)))
        return
    small = _run("propose", 100_000)
    print(f"propose over {small['n_scored']:,} recipes: cold {small['cold_s']:.1f} s, warm "
          f"{small['warm_s']:.1f} s (target < 10 s), peak {small['peak_mib']:.0f} MiB")
    big = _run("propose", args.big_rows)
    print(f"propose over {big['n_scored']:,} recipes (chunked): cold {big['cold_s']:.1f} s, "
          f"warm {big['warm_s']:.1f} s, peak {big['peak_mib']:.0f} MiB (target < 2048 MiB)")
    base = _run("baseline", args.baseline_rows)
    per_row = (base["peak_mib"] - base["before_mib"]) / base["rows"]
    projected = base["before_mib"] + per_row * big["n_scored"]
    print(f"baseline materialise-everything on {base['rows']:,} recipes: {base['seconds']:.1f} s, "
          f"peak {base['peak_mib']:.0f} MiB ({1024 * per_row:.1f} KiB per recipe); projected to "
          f"{big['n_scored']:,} recipes: {projected:,.0f} MiB")
    print(f"ratio peak memory chunked / projected materialised: {big['peak_mib'] / projected:.3f}")


if __name__ == "__main__":
    main()
