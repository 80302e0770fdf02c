"""Summaries of a record table: what a user wants to see after loading data."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from coatml.data.schema import COLUMNS, TARGETS


@dataclass(frozen=True)
class DataSummary:
    """Counts of records: in total, per material, and per target."""

    n_records: int
    n_coated: int
    n_bare: int
    n_pairs: int
    by_kind: pd.Series
    by_electrode: pd.Series
    by_electrolyte: pd.Series
    by_coating: pd.Series
    targets: pd.DataFrame


def summarise(records: pd.DataFrame) -> DataSummary:
    """Count records per electrode / electrolyte / coating and how many carry each target."""
    coated = records["coating"].notna() & (records["coating"].astype(str) != "")
    pairs = records["pair_id"].dropna()
    rows = []
    for target in TARGETS:
        has = records[target].notna()
        rows.append({"target": target, "records": int(has.sum()),
                     "coated": int((has & coated).sum()), "bare": int((has & ~coated).sum())})
    for column in ("discharge_capacity_mah_g", "overpotential_mv", "cycle_life_h",
                   "coulombic_efficiency_pct", "ionic_conductivity_s_cm"):
        has = records[column].notna()
        rows.append({"target": f"{column} (outcome)", "records": int(has.sum()),
                     "coated": int((has & coated).sum()), "bare": int((has & ~coated).sum())})
    words = records["outcome_note"].notna() & records[list(TARGETS)].isna().all(axis=1)
    rows.append({"target": "outcome in words only (no target value)", "records": int(words.sum()),
                 "coated": int((words & coated).sum()), "bare": int((words & ~coated).sum())})
    return DataSummary(
        n_records=len(records),
        n_coated=int(coated.sum()),
        n_bare=int((~coated).sum()),
        n_pairs=int(pairs.nunique()),
        by_kind=records["data_kind"].value_counts(),
        by_electrode=records["electrode"].value_counts(),
        by_electrolyte=records["electrolyte"].value_counts(),
        by_coating=records.loc[coated, "coating"].value_counts(),
        targets=pd.DataFrame(rows),
    )


#: Outcome columns (targets first) whose counts ``sources_table`` lists per source.
OUTCOME_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in COLUMNS if c.group in ("target", "outcome") and c.kind == "float")


def sources_table(records: pd.DataFrame) -> pd.DataFrame:
    """One row per ``source``: data kind, records, coated / bare records, linked pairs and the
    outcome types it carries with their counts (``"capacity_retention_pct 3, ..."``), most
    records first."""
    coated = records["coating"].notna() & (records["coating"].astype(str) != "")
    rows = []
    for source, part in records.groupby(records["source"].astype(str), sort=False):
        counts = [(c, int(part[c].notna().sum())) for c in OUTCOME_COLUMNS]
        outcomes = ", ".join(f"{c} {n}" for c, n in counts if n)
        rows.append({
            "source": source,
            "data_kind": ", ".join(sorted(part["data_kind"].dropna().astype(str).unique())),
            "records": len(part),
            "coated": int(coated.loc[part.index].sum()),
            "bare": int((~coated.loc[part.index]).sum()),
            "pairs": int(part["pair_id"].dropna().astype(str).replace("", pd.NA).nunique()),
            "outcomes": outcomes or "(words only)",
        })
    table = pd.DataFrame(rows, columns=["source", "data_kind", "records", "coated", "bare",
                                        "pairs", "outcomes"])
    return table.sort_values(["records", "source"], ascending=[False, True],
                             ignore_index=True)
