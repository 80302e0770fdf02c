"""Counts of the bundled literature before and after the DOI records: records per target and
outcome, per pair class (electrode class / electrolyte class), per method and per source.

Run from the repository root: ``python experiments/literature_counts.py [--out FILE]``
(default ``experiments/literature_counts.md``). "Before" is the review's records and the
reference sheet (sources not starting with ``doi:``); "after" adds the DOI records.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from coatml.data.formulas import resolve_material
from coatml.data.literature import literature_version, load_literature
from coatml.data.summary import OUTCOME_COLUMNS, sources_table
from coatml.features.interface import describe_material


def _classes(records: pd.DataFrame) -> pd.Series:
    def cls(row: pd.Series) -> str:
        e = describe_material(resolve_material(str(row["electrode"]))).electrode_class
        s = describe_material(resolve_material(str(row["electrolyte"]))).electrolyte_class
        return f"{e} / {s}"

    return records.apply(cls, axis=1)


def _side_by_side(before: pd.Series, after: pd.Series, name: str) -> str:
    table = pd.DataFrame({"before": before, "after": after}).fillna(0).astype(int)
    table = table.sort_values(["after", "before"], ascending=False)
    table.index.name = name
    return table.to_markdown()


def _per_target(records: pd.DataFrame) -> pd.Series:
    coated = records["coating"].fillna("").astype(str) != ""
    out = {"records": len(records), "coated records": int(coated.sum()),
           "bare records": int((~coated).sum()),
           "pairs (pair_id)": int(records["pair_id"].dropna().nunique()),
           "sources": int(records["source"].nunique())}
    for column in OUTCOME_COLUMNS:
        has = records[column].notna()
        out[column] = int(has.sum())
        both = records.loc[has].groupby("pair_id")["coating"].apply(
            lambda c: c.fillna("").astype(str).ne("").nunique() == 2)
        out[f"{column}: pairs with both sides"] = int(both.sum())
    return pd.Series(out)


def report() -> str:
    records = load_literature().records.copy()
    records["pair_class"] = _classes(records)
    before = records[~records["source"].astype(str).str.startswith("doi:")]
    version = literature_version()
    lines = [f"# Literature counts (dataset {version.version}, sha256 "
             f"{version.content_hash[:16]})", "",
             "Written by `python experiments/literature_counts.py`.", "",
             "## Records per target and outcome", "",
             _side_by_side(_per_target(before), _per_target(records), "count"), ""]
    for target in ("capacity_retention_pct", "interface_resistance_ohm_cm2", None):
        sub_b = before if target is None else before[before[target].notna()]
        sub_a = records if target is None else records[records[target].notna()]
        what = "all records" if target is None else f"records with {target}"
        lines += [f"## Pair class ({what})", "",
                  _side_by_side(sub_b["pair_class"].value_counts(),
                                sub_a["pair_class"].value_counts(), "electrode / electrolyte"),
                  ""]
    lines += ["## Method", "", _side_by_side(before["method"].value_counts(),
                                             records["method"].value_counts(), "method"), ""]
    table = sources_table(records)
    lines += ["## Per source (after)", "",
              f"{len(table)} sources; {int(table['source'].str.startswith('doi:').sum())} "
              "of them DOI sources of the DOI records.", "",
              table.to_markdown(index=False), ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("experiments/literature_counts.md"))
    args = parser.parse_args(argv)
    text = report()
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
