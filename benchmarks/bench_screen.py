"""Physics screening speed: every candidate (library + enumerated) of a pair in < 2 s.

For each pair a fresh Python process imports coatml, builds the candidate pool
(``enumerate_candidates()``, timed apart), then times :func:`coatml.recommend.screening.
screen_candidates` twice: cold (first call in the process: the thermochemistry tables, the
leave-one-out errors and every per-formula cache are built inside the timing) and warm (same
process, caches filled). The target is the cold time. No models, no synthetic data.

Run:  nice python benchmarks/bench_screen.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

PAIRS = (
    ("LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl"),
    ("Li", "Li7La3Zr2O12"),
    ("LiCoO2", "Li3PS4"),
)
TARGET_S = 2.0

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from coatml.recommend.candidates import enumerate_candidates
from coatml.recommend.screening import screen_candidates, screening_summary
t_import = time.perf_counter() - t0
t0 = time.perf_counter(); pool = enumerate_candidates(); t_pool = time.perf_counter() - t0
electrode, electrolyte = sys.argv[1], sys.argv[2]
t0 = time.perf_counter(); table = screen_candidates(pool, electrode, electrolyte)
cold = time.perf_counter() - t0
t0 = time.perf_counter(); screen_candidates(pool, electrode, electrolyte)
warm = time.perf_counter() - t0
verdicts = screening_summary(table)["screen_verdict"].value_counts().to_dict()
print(json.dumps({"import": t_import, "pool": t_pool, "cold": cold, "warm": warm,
                  "candidates": len(pool), "rows": len(table), "verdicts": verdicts}))
"""


def run(electrode: str, electrolyte: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, electrode, electrolyte],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'pair':40s} {'cands':>6s} {'rows':>7s} {'pool s':>7s} {'cold s':>7s} "
          f"{'warm s':>7s}  verdicts")
    worst = 0.0
    for electrode, electrolyte in PAIRS:
        runs = [run(electrode, electrolyte) for _ in range(args.repeats)]
        best = min(runs, key=lambda r: r["cold"])
        worst = max(worst, best["cold"])
        print(f"{electrode + ' | ' + electrolyte:40s} {best['candidates']:6d} {best['rows']:7d} "
              f"{best['pool']:7.2f} {best['cold']:7.2f} {best['warm']:7.2f}  {best['verdicts']}")
    status = "met" if worst < TARGET_S else "MISSED"
    print(f"slowest cold screening (best of {args.repeats}): {worst:.2f} s; target < "
          f"{TARGET_S:g} s: {status}")


if __name__ == "__main__":
    main()
