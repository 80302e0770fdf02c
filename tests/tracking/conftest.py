"""Fixtures for the tracking tests: a small SYNTHETIC record set, a real featurizer and
real (small) XGBoost ensembles validated by the real grouped CV.

The records are synthetic (``data_kind="synthetic"``): a smooth made-up dependence of the
outcomes on coating thickness, only there to give the models something learnable. No number
here is a literature value.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

COATINGS = (("Al2O3", "TMA/H2O"), ("LiNbO3", "(CH3)3COLi/Nb(OC2H5)5"), ("Li3PO4", "LiHMDS/TMPO"))
N_SOURCES = 6
PER_SOURCE = 7


def synthetic_records(seed: int = 7) -> pd.DataFrame:
    """42 synthetic coated cells from 6 synthetic "sources" (the CV groups)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(N_SOURCES):
        for i in range(PER_SOURCE):
            coating, precursors = COATINGS[(s + i) % len(COATINGS)]
            thickness = float(rng.uniform(0.5, 12.0))
            retention = 95.0 - 0.35 * (thickness - 4.0) ** 2 + rng.normal(0.0, 1.5)
            log_r = 1.2 + 0.08 * thickness + rng.normal(0.0, 0.05)
            rows.append({
                "electrode": "LiNi0.8Mn0.1Co0.1O2",
                "electrolyte": "Li6PS5Cl",
                "coating": coating,
                "coated_component": "electrode",
                "method": "ALD",
                "precursors": precursors,
                "temperature_c": float(rng.uniform(100.0, 200.0)),
                "thickness_nm": thickness,
                "cell_type": "full",
                "cycle_number": 100.0,
                "c_rate": 0.5,
                "test_temperature_c": 25.0,
                "capacity_retention_pct": float(np.clip(retention, 1.0, 150.0)),
                "interface_resistance_ohm_cm2": float(10.0**log_r),
                "data_kind": "synthetic",
                "source": f"synthetic: tracking test group {s}",
            })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Trained:
    """A trained, cross-validated model of one target (what `coatml train` produces)."""

    target: str
    records: pd.DataFrame
    featurizer: Any
    model: Any
    report: Any
    dataset_hash: str


def dataset_hash(records: pd.DataFrame) -> str:
    return str(pd.util.hash_pandas_object(records, index=False).sum())


def train(records: pd.DataFrame, target: str, **model_params: Any) -> Trained:
    from coatml.features.pipeline import RecordFeaturizer
    from coatml.models.estimators import EnsembleRegressor
    from coatml.models.targets import target_values
    from coatml.models.validation import cross_validate_model

    params = {"n_members": 3, "n_estimators": 40, "random_state": 0, **model_params}
    featurizer = RecordFeaturizer(feature_set="default")
    X = featurizer.fit_transform(records)
    y = target_values(records, target)
    report = cross_validate_model(lambda: EnsembleRegressor(**params), X, y, "source",
                                  records, n_splits=3, target=target)
    model = EnsembleRegressor(**params).fit(X, y)
    return Trained(target, records, featurizer, model, report, dataset_hash(records))


@pytest.fixture(scope="session")
def records() -> pd.DataFrame:
    return synthetic_records()


@pytest.fixture(scope="session")
def trained_retention(records: pd.DataFrame) -> Trained:
    return train(records, "capacity_retention_pct")


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store with its schema migrations applied (done once: creating
    the tables takes seconds); each test gets its own copy."""
    from coatml.tracking import Tracker

    ws = tmp_path_factory.mktemp("template-ws")
    tracker = Tracker.for_workspace(ws)
    tracker.client().search_experiments()  # creates and migrates the database
    return ws / "mlflow.db"


@pytest.fixture
def tracker(tmp_path: Path, migrated_db: Path):
    """Embedded tracking in a fresh workspace (a copy of the migrated, empty store)."""
    from coatml.tracking import Tracker

    tracker = Tracker.for_workspace(tmp_path / "ws")
    shutil.copyfile(migrated_db, tmp_path / "ws" / "mlflow.db")
    return tracker
