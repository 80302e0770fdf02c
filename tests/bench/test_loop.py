"""Closed-loop benchmark: the quick run completes, is seeded, and writes its report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from coatml.bench.loop import (
    _prepare_pair,
    load_bench_config,
    load_simulator,
    run_bench,
    run_campaign,
)
from coatml.bench.simlab import SimulatedLab

REPO = Path(__file__).resolve().parents[2]


def test_default_config_file_loads() -> None:
    cfg = load_bench_config(REPO / "experiments" / "bench.toml")
    assert cfg.seeds >= 20 and len(cfg.pairs) >= 2
    assert set(cfg.strategies) == {"coatml", "random", "tpe", "greedy"}
    assert cfg.checkpoints == (10, 20, 40) and cfg.budget >= 40
    with pytest.raises(ValueError, match="unknown key"):
        load_bench_config(None, nonsense=1)


def test_quick_bench_runs_the_loop(tmp_path: Path) -> None:
    cfg = replace(load_bench_config(REPO / "experiments" / "bench.toml", quick=True), seeds=1)
    result = run_bench(cfg, SimulatedLab(), out_dir=tmp_path)
    camp = result.campaigns
    assert len(camp) == len(cfg.strategies) * cfg.seeds * len(cfg.pairs)
    for (_, _), curve in result.curves.items():
        assert curve.shape == (cfg.seeds, cfg.budget)
        assert np.all(curve >= -1e-9)
        assert np.all(np.diff(curve, axis=1) <= 1e-9)  # regret never grows
    assert set(result.summary["strategy"]) == set(cfg.strategies)
    for name in ("table", "plot", "campaigns", "summary"):
        assert result.files[name].is_file()
    assert "| all | coatml |" in result.files["table"].read_text()


def test_campaigns_are_seeded() -> None:
    cfg = replace(load_bench_config(quick=True), max_candidates=15, budget=10)
    lab = SimulatedLab()
    spec, space, feats, truth = _prepare_pair(cfg.pairs[0], cfg, lab, "capacity_retention_pct")
    for name in ("random", "tpe", "coatml"):
        a = run_campaign(name, 3, spec, space, feats, truth, lab, cfg, "capacity_retention_pct")
        b = run_campaign(name, 3, spec, space, feats, truth, lab, cfg, "capacity_retention_pct")
        np.testing.assert_array_equal(a, b)


def test_plug_in_simulator() -> None:
    sim = load_simulator("coatml.bench.simlab:SimulatedLab")
    assert isinstance(sim, SimulatedLab)
    with pytest.raises(ValueError, match="package.module:object"):
        load_simulator("coatml.bench.simlab")
    with pytest.raises(TypeError, match="simulate"):
        load_simulator("coatml.bench.loop:BenchConfig")


def test_loop_feature_set_is_compact_and_packaged() -> None:
    """The in-loop surrogate's feature set: the repo copy equals the packaged one, it has no
    composition features, and it keeps the recipe (thickness) and physics descriptors."""
    from coatml.bench.strategies import LOOP_FEATURE_SET, CoatmlStrategy
    from coatml.features.featureset import load_feature_set

    repo = (REPO / "features" / f"{LOOP_FEATURE_SET}.toml").read_bytes()
    package = (REPO / "src" / "coatml" / "features" / "data"
               / f"{LOOP_FEATURE_SET}.toml").read_bytes()
    assert repo == package
    fs = load_feature_set(LOOP_FEATURE_SET)
    assert fs.composition_featurizers == ()
    assert {"physics", "process"} <= set(fs.blocks)
    assert CoatmlStrategy().feature_set == LOOP_FEATURE_SET
