"""The published-orderings check set (experiments/published_orderings.csv) and the script's pure
agreement rule. No physics prior is needed here."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pandas as pd
import pytest

from coatml.data.formulas import resolve_material

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
CSV_PATH = EXPERIMENTS / "published_orderings.csv"
SCRIPT_PATH = EXPERIMENTS / "published_orderings.py"
DOI = re.compile(r"^10\.\d{4,}/\S+$")


def _script():
    spec = importlib.util.spec_from_file_location("published_orderings", SCRIPT_PATH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def relations() -> pd.DataFrame:
    return pd.read_csv(CSV_PATH, dtype=str, keep_default_na=False)


def test_columns_and_ids(relations):
    assert list(relations.columns) == _script().COLUMNS
    assert len(relations) > 0
    assert relations["id"].is_unique


def test_rows_are_sourced_and_well_formed(relations):
    for row in relations.itertuples(index=False):
        assert DOI.match(row.doi.strip()), (row.id, row.doi)
        assert row.statement.strip(), row.id
        assert row.citation.strip(), row.id
        assert row.kind in {"computational", "experimental"}, (row.id, row.kind)
        assert row.coated_component in {"electrode", "electrolyte"}, row.id
        assert row.better.strip() != row.worse.strip(), row.id
        assert len(row.statement) <= 200, row.id


def test_every_material_resolves(relations):
    for row in relations.itertuples(index=False):
        for name in (row.electrode, row.electrolyte, row.better, row.worse):
            resolve_material(name)


def test_metrics_map_to_prior_columns(relations):
    script = _script()
    for metric in relations["metric"]:
        assert metric in script.METRIC_COLUMNS, metric


def test_agreement_outcomes():
    agreement = _script().agreement
    assert agreement(90.0, 80.0, higher_is_better=True) == "agree"
    assert agreement(80.0, 90.0, higher_is_better=True) == "disagree"
    assert agreement(1.0, 2.0, higher_is_better=False) == "agree"
    assert agreement(2.0, 1.0, higher_is_better=False) == "disagree"
    assert agreement(1.0, 1.0 + 1e-12, higher_is_better=True) == "tie"
    assert agreement(1.0, 1.0 + 1e-12, higher_is_better=False) == "tie"


def test_summary_counts_ties_apart():
    script = _script()
    results = pd.DataFrame({"outcome": ["agree", "agree", "disagree", "tie"]})
    totals = script.summary(results)
    assert (totals["agree"], totals["disagree"], totals["ties"]) == (2, 1, 1)
    assert totals["agreement"] == pytest.approx(2 / 3)
