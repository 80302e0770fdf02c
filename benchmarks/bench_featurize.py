"""Throughput of the fast composition featurizer against matminer, measured in the same run.

Records are synthetic (labelled so): each record draws an electrode, an electrolyte and a coating
formula from a pool of a few hundred formulas, as a real screen repeats materials. A record is
featurized as three compositions (one per role, 160 features each -> 480 columns).

* fast path: one :class:`CompositionFeaturizer` per role (as the record-level pipeline uses
  it), strings in, record matrix out; timed for 1,000 / 10,000 / 100,000 records.
* matminer: ``MultipleFeaturizer([ElementProperty magpie, Stoichiometry, ValenceOrbital,
  IonProperty, AtomicOrbitals]).featurize_dataframe(n_jobs=1, ignore_errors=True)`` on
  pre-parsed Composition columns (parsing not timed: generous to matminer). matminer has no
  cache, so its time is linear in records; it is timed on a subsample and extrapolated.
* cold: all-unique compositions, fresh featurizer (no cache hits) against matminer per
  composition.

Peak memory: tracemalloc peak of a separate untimed fast-path run at the largest size, and the
process's peak RSS (``resource.getrusage``) at the end.

Run:  nice python benchmarks/bench_featurize.py [--sizes 1000 10000 100000] [--mm-records 200]
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
import warnings

import numpy as np

from coatml.features.composition import CompositionFeaturizer

ELECTRODES = [
    "LiCoO2", "LiNi0.8Mn0.1Co0.1O2", "LiNi0.6Mn0.2Co0.2O2", "LiNi0.5Mn0.3Co0.2O2",
    "LiNi0.5Mn1.5O4", "LiMn2O4", "LiFePO4", "Li4Ti5O12", "LiNi0.8Co0.15Al0.05O2", "Si", "Li",
    "Li1.2Ni0.13Mn0.54Co0.13O2", "LiNiO2", "Li2S", "S",
]  # fmt: skip
ELECTROLYTES = [
    "Li7La3Zr2O12", "Li6.4La3Zr1.4Ta0.6O12", "Li6.25Al0.25La3Zr2O12", "Li10GeP2S12", "Li6PS5Cl",
    "Li3PS4", "Li7P3S11", "Li3YCl6", "Li3InCl6", "Li1.3Al0.3Ti1.7(PO4)3", "Li2.9PO3.3N0.46",
    "Li6.75La2.75Ca0.25Zr1.75Nb0.25O12", "Li5.5PS4.5Cl1.5",
]  # fmt: skip
COATINGS = [
    "Al2O3", "LiNbO3", "Li3PO4", "LiTaO3", "Li2ZrO3", "ZrO2", "TiO2", "HfO2", "LiAlO2", "AlF3",
    "LiF", "Li3BO3", "AlC3H5O3", "ZnC2H4O2", "TiC2H4O3", "Li2SiO3", "Li4Ti5O12", "Li2C8H4O4",
]  # fmt: skip
_ELEMENTS = [
    "Li", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ti", "V", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
    "Zr", "Nb", "Ta", "La", "Ca", "Ga", "Ge", "In", "Y", "B", "N", "F", "C", "H", "W", "Mo",
]  # fmt: skip


def synthetic_pool(n: int, rng: np.random.Generator) -> list[str]:
    """Synthetic doped variants (random dopant and amounts) to widen the pool to ``n``."""
    out: set[str] = set()
    while len(out) < n:
        base = rng.choice(ELECTRODES + ELECTROLYTES + COATINGS)
        dopant = rng.choice(_ELEMENTS)
        out.add(f"{base}{dopant}{rng.integers(1, 20) / 100:g}")
    return sorted(out)


def make_records(n: int, rng: np.random.Generator, pools: dict[str, list[str]]):
    return {role: list(rng.choice(pool, size=n)) for role, pool in pools.items()}


def fast_records(records: dict[str, list[str]], featurizers: dict[str, CompositionFeaturizer]):
    return np.hstack([featurizers[r].featurize_many(records[r]) for r in records])


def matminer_records(records: dict[str, list[str]]) -> float:
    """Seconds matminer takes for these records (Composition parsing excluded)."""
    import pandas as pd
    from matminer.featurizers.base import MultipleFeaturizer
    from matminer.featurizers.composition import (
        AtomicOrbitals,
        ElementProperty,
        IonProperty,
        Stoichiometry,
        ValenceOrbital,
    )
    from pymatgen.core import Composition

    mf = MultipleFeaturizer(
        [
            ElementProperty.from_preset("magpie", impute_nan=False),
            Stoichiometry(),
            ValenceOrbital(impute_nan=False),
            IonProperty(impute_nan=False),
            AtomicOrbitals(),
        ]
    )
    mf.set_n_jobs(1)
    total = 0.0
    for formulas in records.values():
        df = pd.DataFrame({"composition": [Composition(f) for f in formulas]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            mf.featurize_dataframe(df, "composition", ignore_errors=True, pbar=False)
            total += time.perf_counter() - t0
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--mm-records", type=int, default=200, help="matminer subsample")
    parser.add_argument("--cold", type=int, default=3_000, help="unique compositions, cold run")
    parser.add_argument("--pool-extra", type=int, default=250)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    extra = synthetic_pool(args.pool_extra, rng)
    third = len(extra) // 3
    pools = {
        "electrode": ELECTRODES + extra[:third],
        "electrolyte": ELECTROLYTES + extra[third : 2 * third],
        "coating": COATINGS + extra[2 * third :],
    }
    n_pool = sum(len(p) for p in pools.values())
    print(f"pool: {n_pool} formulas (synthetic doped variants: {len(extra)}); records synthetic")

    CompositionFeaturizer().feature_labels()  # imports only
    from coatml.features.composition import element_tables

    t0 = time.perf_counter()
    element_tables(False)
    print(f"element tables built once in {time.perf_counter() - t0:.2f} s (not in timings)")

    matminer_records({"warm-up": ["LiCoO2", "Li7La3Zr2O12"]})  # one-time loads, untimed
    mm_records = make_records(args.mm_records, rng, pools)
    mm_s = matminer_records(mm_records)
    mm_rate = args.mm_records / mm_s
    print(
        f"matminer featurize_dataframe(n_jobs=1): {args.mm_records} records in {mm_s:.2f} s "
        f"-> {mm_rate:,.1f} records/s (measured on this subsample; extrapolated below)"
    )

    print(
        f"{'records':>9} {'fast s':>9} {'fast rec/s':>12} {'matminer s (extrap.)':>21} {'ratio':>8}"
    )
    for n in args.sizes:
        records = make_records(n, rng, pools)
        featurizers = {r: CompositionFeaturizer() for r in records}
        gc.collect()
        t0 = time.perf_counter()
        x = fast_records(records, featurizers)
        fast_s = time.perf_counter() - t0
        assert x.shape == (n, 480)
        mm_est = n / mm_rate
        print(
            f"{n:>9,} {fast_s:>9.3f} {n / fast_s:>12,.0f} {mm_est:>21,.1f} {mm_est / fast_s:>8.0f}x"
        )
        del x

    # cold: every composition unique, fresh featurizer
    cold = synthetic_pool(args.cold, np.random.default_rng(args.seed + 1))
    t0 = time.perf_counter()
    CompositionFeaturizer().featurize_many(cold)
    cold_s = time.perf_counter() - t0
    n_mm_cold = min(300, len(cold))
    mm_cold_s = matminer_records({"x": cold[:n_mm_cold]})
    cold_rate, mm_cold_rate = len(cold) / cold_s, n_mm_cold / mm_cold_s
    print(
        f"cold (all unique): fast {len(cold)} compositions in {cold_s:.2f} s -> "
        f"{cold_rate:,.0f}/s; matminer {n_mm_cold} in {mm_cold_s:.2f} s -> {mm_cold_rate:,.0f}/s;"
        f" ratio {cold_rate / mm_cold_rate:.1f}x"
    )

    n = max(args.sizes)
    records = make_records(n, rng, pools)
    gc.collect()
    tracemalloc.start()
    x = fast_records(records, {r: CompositionFeaturizer() for r in records})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out_mib = x.nbytes / 2**20
    del x
    scale = 1024 if sys.platform != "darwin" else 1
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    print(
        f"peak memory at {n:,} records: tracemalloc {peak / 2**20:,.0f} MiB "
        f"(output matrix alone {out_mib:,.0f} MiB); process peak RSS {rss_mib:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
