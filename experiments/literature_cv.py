"""Grouped (leave-source-out) CV of the models against the baselines on the bundled literature,
before (the review's Table 2/text records and the reference sheet) and after adding the DOI
records, plus the learning curve on the enlarged data.

Run from the repository root:
``python experiments/literature_cv.py [--n-estimators 40] [--n-members 4] [--out FILE]``.
The models use the packaged model config with a small ensemble (the numbers are about the data,
not the tuning); the leave-one-source-out folds are the same for the model and the baselines.
Writes a markdown report (default ``experiments/literature_cv.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from coatml.data.literature import literature_version, load_literature
from coatml.exceptions import InsufficientDataError
from coatml.features.pipeline import RecordFeaturizer
from coatml.models.config import load_model_config
from coatml.models.estimators import EnsembleRegressor
from coatml.models.targets import get_target
from coatml.models.validation import cross_validate_model, learning_curve

TARGETS = ("capacity_retention_pct", "interface_resistance_ohm_cm2")


def _cv(records: pd.DataFrame, target: str, params: dict, label: str) -> list[str]:
    spec = get_target(target)
    rows = records.loc[pd.to_numeric(records[target], errors="coerce").notna()]
    featurizer = RecordFeaturizer().fit(records)
    X = featurizer.transform(rows)
    y = spec.forward(rows[target].to_numpy(dtype=float))
    try:
        report = cross_validate_model(lambda: EnsembleRegressor(**params), X, y, "source", rows,
                                      n_splits=None, target=target)
    except InsufficientDataError as exc:
        return [f"### {target}, {label}", "", f"Not enough data: {exc}", ""]
    lines = [f"### {target}, {label} (model space: {spec.transform})", "",
             report.to_markdown(), ""]
    if label.startswith("after"):
        curve = learning_curve(lambda: EnsembleRegressor(**params), X, y, "source", rows,
                               fractions=(0.25, 0.5, 0.75, 1.0))
        lines += ["Learning curve (leave-source-out folds, training folds subsampled):", "",
                  curve.to_markdown(index=False, floatfmt=".3f"), ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-estimators", type=int, default=40)
    parser.add_argument("--n-members", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("experiments/literature_cv.md"))
    args = parser.parse_args(argv)
    params = load_model_config().estimator_params()
    params.update(n_estimators=args.n_estimators, n_members=args.n_members, min_records=4)
    records = load_literature().records
    before = records[~records["source"].astype(str).str.startswith("doi:")]
    version = literature_version()
    t0 = time.perf_counter()
    lines = ["# Leave-source-out CV on the bundled literature, before and after the DOI records",
             "", f"Literature dataset {version.version} (sha256 {version.content_hash[:16]}); "
             f"`python experiments/literature_cv.py --n-estimators {args.n_estimators} "
             f"--n-members {args.n_members}`.", ""]
    for target in TARGETS:
        for label, part in (("before", before), ("after", records)):
            n = int(part[target].notna().sum())
            n_src = int(part.loc[part[target].notna(), "source"].nunique())
            lines += _cv(part, target, params, f"{label}: {n} records from {n_src} sources")
    lines.append(f"Wall time: {time.perf_counter() - t0:.0f} s.")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
