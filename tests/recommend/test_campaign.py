"""Campaign round trip on SQLite and PostgreSQL: propose, return, deviations, rejections."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coatml.bench.simlab import SimulatedLab
from coatml.data.store import RecordStore
from coatml.exceptions import ValidationError
from coatml.features.process import PrecursorWarning
from coatml.models.surrogate import RecordModel
from coatml.recommend.campaign import Campaign, CampaignError
from coatml.recommend.space import SpaceSpec, build_recipe_space

NMC811, LPSCL = "LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl"
RET = "capacity_retention_pct"
LAB_COLUMNS = ["electrode", "electrolyte", "coating", "coated_component", "method", "precursors",
               "temperature_c", "gpc_angstrom", "cycles", "thickness_nm", "cycle_number",
               "c_rate", "test_temperature_c", "proposal_id"]


@pytest.fixture(scope="module")
def seed_records() -> pd.DataFrame:
    space, _, _ = build_recipe_space(SpaceSpec(NMC811, LPSCL, max_candidates=20))
    rng = np.random.default_rng(0)
    rows = space.iloc[rng.choice(len(space), 24, replace=False)]
    out = SimulatedLab().simulate(rows, seed=0)
    return out.drop(columns=[c for c in out.columns if c not in
                             (*LAB_COLUMNS, RET, "interface_resistance_ohm_cm2", "cell_failed",
                              "outcome_note", "data_kind", "source")])


def _models(records: pd.DataFrame) -> dict[str, RecordModel]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecursorWarning)
        return {RET: RecordModel(RET, estimator_params={"n_members": 3, "n_estimators": 30})
                .fit(records)}


def _measure(batch: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """What the lab ran and measured: thinner and hotter than proposed."""
    ran = batch[LAB_COLUMNS].copy()
    ran["thickness_nm"] = (ran["thickness_nm"] * 0.9).round(3)
    ran["gpc_angstrom"] = np.nan
    ran["cycles"] = np.nan
    ran["temperature_c"] = ran["temperature_c"] + 10.0
    measured = SimulatedLab().simulate(ran, seed=seed)
    return measured[LAB_COLUMNS + [RET, "interface_resistance_ohm_cm2", "cell_failed",
                                   "outcome_note"]]


def test_campaign_round_trip(database_url: str, seed_records: pd.DataFrame) -> None:
    store = RecordStore(database_url)
    store.add_frame(seed_records, source_name="seed", data_kind="synthetic")
    camp = Campaign.new(store, "nmc-lpscl", NMC811, LPSCL, "retention", max_candidates=20)
    with pytest.raises(CampaignError, match="exists already"):
        Campaign.new(store, "nmc-lpscl", NMC811, LPSCL)
    models = _models(store.to_frame())
    prop = camp.next(3, models=models)
    assert len(prop.batch) == 3
    status = Campaign.load(store, "nmc-lpscl").status()
    assert (status["status"] == "pending").sum() == 3
    assert set(status["proposal_id"]) == set(prop.batch["proposal_id"])
    assert status["model_versions"].str.contains(r"xgboost/default on \d+ records/in-memory").all()

    results = _measure(prop.batch)
    n_before = store.count()
    report = camp.add_results(results)
    assert report.n_matched == 3 and report.n_unsolicited == 0
    assert store.count() == n_before + report.n_added and report.n_added == 3
    # deviations: actual minus proposed
    known_t = prop.batch["temperature_c"].notna().to_numpy()
    assert known_t.any()
    np.testing.assert_allclose(report.deviations["delta_temperature_c"][known_t], 10.0)
    assert report.deviations["delta_temperature_c"][~known_t].isna().all()
    expected = (prop.batch["thickness_nm"] * 0.9).round(3) - prop.batch["thickness_nm"]
    np.testing.assert_allclose(report.deviations["delta_thickness_nm"], expected.to_numpy(),
                               atol=1e-9)
    status = camp.status()
    assert (status["status"] == "returned").sum() == 3
    np.testing.assert_allclose(status["delta_temperature_c"].dropna(), 10.0)
    assert status["delta_temperature_c"].notna().sum() == known_t.sum()
    # the store holds the actual recipe, not the proposed one
    stored = store.to_frame()
    mine = stored[stored["proposal_id"].isin(prop.batch["proposal_id"])]
    assert len(mine) == 3
    merged = mine.merge(prop.batch[["proposal_id", "temperature_c"]], on="proposal_id",
                        suffixes=("", "_proposed"))
    np.testing.assert_allclose(
        (merged["temperature_c"] - merged["temperature_c_proposed"]).dropna(), 10.0)

    # the second batch is numbered on
    second = camp.next(2, models=_models(store.to_frame()))
    assert second.batch_id.endswith("b002")
    store.close()


def test_bad_rows_are_rejected_by_row(tmp_path: Path, seed_records: pd.DataFrame) -> None:
    store = RecordStore(f"sqlite:///{tmp_path / 'c.db'}")
    camp = Campaign.new(store, "c1", NMC811, LPSCL, max_candidates=20)
    prop = camp.next(2)  # no model: space-filling
    assert prop.fallback is not None
    results = _measure(prop.batch)
    bad = results.copy()
    bad.loc[0, "proposal_id"] = "nope-01"
    bad.loc[1, "coating"] = "ZrO2" if bad.loc[1, "coating"] != "ZrO2" else "Al2O3"
    n_before = store.count()
    with pytest.raises(ValidationError) as info:
        camp.add_results(bad)
    text = str(info.value)
    assert "row 2" in text and "nope-01" in text
    assert "row 3" in text and "coating" in text
    assert store.count() == n_before
    assert (camp.status()["status"] == "pending").all()

    # an unsolicited row is accepted and flagged
    extra = results.iloc[[0]].copy()
    extra["proposal_id"] = ""
    extra["thickness_nm"] = 4.0
    report = camp.add_results(pd.concat([results, extra], ignore_index=True))
    assert report.n_unsolicited == 1 and report.n_matched == 2
    assert any("unsolicited" in w for w in report.warnings)
    status = camp.status()
    assert (status["status"] == "unsolicited").sum() == 1
    assert (status["status"] == "returned").sum() == 2
    store.close()


def test_batch_is_an_mlflow_run_linked_to_model_versions(tmp_path: Path,
                                                         seed_records: pd.DataFrame) -> None:
    from coatml.tracking.runs import Tracker

    tracker = Tracker.for_workspace(tmp_path / "ws")
    store = RecordStore(f"sqlite:///{tmp_path / 'c.db'}")
    store.add_frame(seed_records, source_name="seed", data_kind="synthetic")
    camp = Campaign.new(store, "tracked", NMC811, LPSCL, max_candidates=20)
    prop = camp.next(2, models=_models(store.to_frame()), tracker=tracker)
    status = camp.status()
    run_id = status["mlflow_run_id"].iloc[0]
    assert isinstance(run_id, str) and len(run_id) > 8
    run = tracker.client().get_run(run_id)
    assert run.data.tags["coatml.kind"] == "proposal"
    assert re.fullmatch(r"xgboost/default on \d+ records/in-memory",
                        run.data.tags[f"coatml.model.{RET}"])
    assert run.data.params["n"] == "2"
    assert prop.batch_id == run.data.tags["coatml.batch_id"]
    store.close()
