"""How well the physics prior orders coatings the way published studies do.

Reads ``experiments/published_orderings.csv`` (one row per published "better > worse" relation
between two coatings on the same electrode / electrolyte pair, each with its DOI; see the
"Published orderings as checks" section of ``experiments/README.md``), asks
``coatml.features.prior.prior_for`` for both coatings of every relation and reports whether the
prior orders the pair the same way. These are checks, not tuning targets.

Metric mapping (the CSV's ``metric`` column to the prior's column):

* ``interface_resistance`` -> ``prior_log10_interface_resistance`` (lower is better);
* everything else (``capacity_retention``, ``stability``, ``reaction_energy``,
  ``recommended``) -> ``prior_capacity_retention_pct`` (higher is better).

A relation *agrees* when the prior puts ``better`` ahead of ``worse``, *ties* when the two prior
values are equal within 1e-9, and *disagrees* otherwise. Agreement = agree / (agree + disagree);
ties are counted separately.

Run from the repository root::

    python experiments/published_orderings.py            # print the table
    python experiments/published_orderings.py --write    # also write published_orderings.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
CSV_PATH = HERE / "published_orderings.csv"
MD_PATH = HERE / "published_orderings.md"

TIE_TOLERANCE = 1e-9
THICKNESS_NM = 2.5

RETENTION = "prior_capacity_retention_pct"
RESISTANCE = "prior_log10_interface_resistance"
#: CSV metric -> (prior column, higher is better). Metrics not listed use retention.
METRIC_COLUMNS: dict[str, tuple[str, bool]] = {
    "interface_resistance": (RESISTANCE, False),
    "capacity_retention": (RETENTION, True),
    "stability": (RETENTION, True),
    "reaction_energy": (RETENTION, True),
    "recommended": (RETENTION, True),
}
COLUMNS = [
    "id", "doi", "citation", "kind", "electrode", "electrolyte", "coated_component",
    "better", "worse", "metric", "statement",
]


def agreement(better_value: float, worse_value: float, higher_is_better: bool) -> str:
    """``"agree"`` if the prior ranks ``better`` ahead of ``worse``, ``"tie"`` if the two values
    are equal within 1e-9, ``"disagree"`` otherwise."""
    diff = float(better_value) - float(worse_value)
    if abs(diff) <= TIE_TOLERANCE:
        return "tie"
    if (diff > 0) == higher_is_better:
        return "agree"
    return "disagree"


def prior_column(metric: str) -> tuple[str, bool]:
    """The prior column compared for a CSV ``metric`` and whether higher is better there."""
    return METRIC_COLUMNS.get(metric.strip(), (RETENTION, True))


def load_relations(path: Path = CSV_PATH) -> pd.DataFrame:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks columns {missing}")
    return table


def _import_prior():
    try:
        from coatml.features.prior import prior_for
    except ImportError as exc:
        sys.exit(
            "published_orderings: cannot import coatml.features.prior.prior_for "
            f"({exc}). The physics prior is not in this checkout yet; run this script on a "
            "checkout that has it."
        )
    return prior_for


def evaluate(relations: pd.DataFrame, prior_for) -> pd.DataFrame:
    """One row per relation with both prior values and the outcome."""
    rows = []
    for rel in relations.itertuples(index=False):
        column, higher = prior_column(rel.metric)
        coated = rel.coated_component.strip() or "auto"
        prior = prior_for(
            rel.electrode, rel.electrolyte, [rel.better, rel.worse],
            coated_component=coated, thickness_nm=THICKNESS_NM,
        )
        better_value = float(prior.iloc[0][column])
        worse_value = float(prior.iloc[1][column])
        rows.append({
            "id": rel.id,
            "pair": f"{rel.electrode} / {rel.electrolyte} ({rel.coated_component})",
            "published": f"{rel.better} > {rel.worse}",
            "metric": rel.metric,
            "prior column": column,
            "prior better": better_value,
            "prior worse": worse_value,
            "outcome": agreement(better_value, worse_value, higher),
            "doi": rel.doi,
        })
    return pd.DataFrame(rows)


def summary(results: pd.DataFrame) -> dict[str, float | int]:
    counts = results["outcome"].value_counts()
    agree = int(counts.get("agree", 0))
    disagree = int(counts.get("disagree", 0))
    ties = int(counts.get("tie", 0))
    decided = agree + disagree
    return {
        "relations": len(results),
        "agree": agree,
        "disagree": disagree,
        "ties": ties,
        "agreement": agree / decided if decided else float("nan"),
    }


def render(results: pd.DataFrame) -> str:
    totals = summary(results)
    table = results.copy()
    for col in ("prior better", "prior worse"):
        table[col] = table[col].map(lambda v: f"{v:.3f}")
    rate = totals["agreement"]
    rate_text = "n/a" if rate != rate else f"{rate:.2f}"
    lines = [
        "# Published coating orderings vs the physics prior",
        "",
        "Generated by `python experiments/published_orderings.py --write` from "
        "`experiments/published_orderings.csv` (sources and selection rules: "
        "`experiments/README.md`, section *Published orderings as checks*). "
        f"Prior evaluated at {THICKNESS_NM} nm; retention in %, higher is better; "
        "resistance in log10 ohm cm2, lower is better. Checks, not tuning targets.",
        "",
        table.to_markdown(index=False),
        "",
        f"Relations: {totals['relations']}; agree: {totals['agree']}; "
        f"disagree: {totals['disagree']}; ties: {totals['ties']}; "
        f"agreement = agree / (agree + disagree) = {rate_text}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=CSV_PATH)
    parser.add_argument("--write", action="store_true", help=f"also write {MD_PATH.name}")
    parser.add_argument("--out", type=Path, default=MD_PATH)
    args = parser.parse_args(argv)

    prior_for = _import_prior()
    text = render(evaluate(load_relations(args.csv), prior_for))
    print(text)
    if args.write:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
