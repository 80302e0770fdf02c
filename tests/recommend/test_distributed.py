"""The Dask ranking equals the single-process ranking (LocalCluster, two workers, loopback).

Models are trained on SYNTHETIC simulated-lab records (see test_rank.py) and travel to the
workers as saved XGBoost JSON directories, not as pickled objects.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coatml.recommend.distributed import SavedModelRef, load_ref, rank_coatings_dask, save_model
from coatml.recommend.rank import RESISTANCE, RETENTION, rank_coatings
from tests.recommend.test_rank import SPEC, models, sim_records  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def saved(models: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:  # noqa: F811
    root = tmp_path_factory.mktemp("models")
    return {t: save_model(m, root / t) for t, m in models.items()}


def test_saved_model_predicts_exactly_like_the_in_memory_one(models: dict,  # noqa: F811
                                                             saved: dict) -> None:
    from coatml.recommend.space import build_recipe_space

    recipes, _, _ = build_recipe_space(SPEC)
    rows = recipes.sample(200, random_state=1)
    for target, ref in saved.items():
        assert isinstance(ref, SavedModelRef) and Path(ref.directory, "ensemble").is_dir()
        assert not list(Path(ref.directory).rglob("*.pkl"))
        loaded = ref.load()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = models[target].predict_model_space(rows)
            b = loaded.predict_model_space(rows)
        np.testing.assert_array_equal(a["mean"].to_numpy(), b["mean"].to_numpy())
        np.testing.assert_array_equal(a["std"].to_numpy(), b["std"].to_numpy())
    assert load_ref(saved[RETENTION]) is load_ref(saved[RETENTION])  # loaded once per process


@pytest.mark.slow
def test_dask_ranking_equals_single_process(saved: dict, sim_records: pd.DataFrame  # noqa: F811
                                            ) -> None:
    local_models = {t: load_ref(ref) for t, ref in saved.items()}
    single = rank_coatings(SPEC, local_models, "both", records=sim_records,
                           chunk_candidates=20)
    seen: list[tuple[int, int]] = []
    dask = rank_coatings_dask(SPEC, saved, "both", records=sim_records, chunk_candidates=20,
                              progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (4, 4) and len(seen) == 4
    assert dask.counts == single.counts
    assert len(dask.table) == len(single.table) > 0
    pd.testing.assert_frame_equal(dask.table, single.table, check_exact=False, rtol=0,
                                  atol=1e-9)
    assert set(dask.table.columns) >= {"pareto_rank", "top_features",
                                       f"{'resistance_ohm_cm2'}_lo68"}
    assert RESISTANCE in saved
