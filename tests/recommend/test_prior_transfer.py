"""The loop's surrogates starting from the physics prior, and transfer between pairs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from coatml.bench.simlab import SimulatedLab
from coatml.features.process import PrecursorWarning
from coatml.models.surrogate import PriorSurrogate, RecordModel
from coatml.recommend.propose import Constraints
from coatml.recommend.space import SpaceSpec, build_recipe_space
from coatml.recommend.surrogates import (
    PairGPSettings,
    fit_pair_surrogates,
    propose_with_pair_gp,
    select_sources,
)

NMC811, LPSCL = "LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl"
LNMO = "LiNi0.5Mn1.5O4"
RET = "capacity_retention_pct"


@pytest.fixture(scope="module")
def spec() -> SpaceSpec:
    return SpaceSpec(NMC811, LPSCL, max_candidates=40)


@pytest.fixture(scope="module")
def space(spec: SpaceSpec) -> pd.DataFrame:
    recipes, _, _ = build_recipe_space(spec)
    return recipes.reset_index(drop=True)


def _measure(space: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    rows = space.iloc[np.random.default_rng(seed).choice(len(space), n, replace=False)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SimulatedLab().simulate(rows, seed=seed).reset_index(drop=True)


def test_pair_without_records_is_ranked_by_the_prior(spec: SpaceSpec) -> None:
    settings = PairGPSettings(prior=True)
    models, messages = fit_pair_surrogates(None, NMC811, LPSCL, (RET,), 0, settings)
    assert isinstance(models[RET], PriorSurrogate)
    assert "physics prior" in messages[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecursorWarning)
        batch = propose_with_pair_gp(spec, None, "retention", 4, "ei",
                                     Constraints(max_per_coating=1), 3, settings).batch
    # the first batch avoids coatings the screening fails on a 4.3 V cathode
    from coatml.features.prior import prior_for

    table = prior_for(NMC811, LPSCL, list(batch["coating"]))
    assert (table["p_cathode_redox"] == 0.0).all()
    without = fit_pair_surrogates(None, NMC811, LPSCL, (RET,), 0, PairGPSettings())[0]
    assert without == {}  # no prior: space-filling design, as before


def test_pair_gp_with_records_starts_from_the_prior(space: pd.DataFrame) -> None:
    own = _measure(space, 6, 1)
    models, _ = fit_pair_surrogates(own, NMC811, LPSCL, (RET,), 0, PairGPSettings(prior=True))
    model = models[RET]
    assert isinstance(model, RecordModel) and model.prior
    assert model.prior_feature() == "prior__capacity_retention_pct"


def test_loo_residuals_match_refitting_without_the_row(space: pd.DataFrame) -> None:
    from coatml.models.gaussian_process import DescriptorGP

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x0": rng.uniform(-1, 1, 15)})
    y = np.sin(3 * X["x0"].to_numpy()) + rng.normal(0, 0.05, 15)
    gp = DescriptorGP(descriptors={"x0": 0.5}, linear_trend=False, random_state=0).fit(X, y)
    res = gp.loo_residuals()
    # closed form = refit with the kernel fixed, row i left out
    from sklearn.gaussian_process import GaussianProcessRegressor

    Z = gp.gp_.X_train_
    yz = gp.gp_.y_train_
    for i in (0, 7, 14):
        keep = np.arange(15) != i
        sub = GaussianProcessRegressor(gp.gp_.kernel_, optimizer=None).fit(Z[keep], yz[keep])
        mean_i = sub.predict(Z[i:i + 1])[0]
        assert res[i] == pytest.approx(gp.y_scale_ * (yz[i] - mean_i), rel=1e-5, abs=1e-8)


def _expected(space: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    rows = space.iloc[np.random.default_rng(seed).choice(len(space), n, replace=False)].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows[RET] = SimulatedLab().expected(rows)[RET].to_numpy()
    return rows.reset_index(drop=True)


def test_transfer_guard_admits_a_helpful_source_and_refuses_a_harmful_one(
        space: pd.DataFrame) -> None:
    # a sister pair with the same (simulated, noise-free) physics as the target pair, and one
    # whose outcomes are inverted; six draws of the target pair's own six records
    admitted_same, admitted_harm, gains = 0, 0, []
    for seed in range(6):
        own = _expected(space, 6, seed)
        same = _expected(space, 40, seed + 100).assign(electrolyte="Li6PS5Br")
        harmful = same.assign(electrolyte="Li3InCl6")
        harmful[RET] = 100.0 - harmful[RET]
        choice = select_sources(own, pd.concat([same, harmful]), RET,
                                PairGPSettings(prior=True))
        got = {b for _, b in choice.admitted}
        admitted_same += "Li6PS5Br" in got
        admitted_harm += "Li3InCl6" in got
        row = choice.table.set_index("electrolyte")
        assert row.loc["Li3InCl6", "loo_rmse"] > choice.loo_rmse_own
        gains.append(choice.loo_rmse_own - choice.loo_rmse_with)
    assert admitted_harm == 0
    assert admitted_same >= 4
    assert min(gains) >= 0.0  # what is admitted never raises the own-records LOO error


def test_no_transfer_below_the_pair_minimum(space: pd.DataFrame) -> None:
    own = _measure(space, 2, 4)
    src = _measure(space, 20, 5).assign(electrolyte="Li6PS5Br")
    choice = select_sources(own, src, RET, PairGPSettings(prior=True))
    assert choice.admitted == () and choice.table.empty


def test_prior_first_strategy_spends_its_first_batch_on_the_prior(space: pd.DataFrame) -> None:
    from coatml.bench.loop import BenchConfig, _prepare_pair, run_campaign

    cfg = BenchConfig(pairs=((NMC811, LPSCL),), seeds=1, budget=8, max_candidates=40,
                      checkpoints=(8,))
    lab = SimulatedLab()
    spec, sp, features, truth = _prepare_pair(cfg.pairs[0], cfg, lab, RET)
    seen: list[list[int]] = []
    from coatml.bench import strategies

    original = strategies.CoatmlPriorFirstStrategy.ask

    def spy(self, state, n, seed):  # type: ignore[no-untyped-def]
        out = original(self, state, n, seed)
        seen.append(list(out))
        return out

    strategies.CoatmlPriorFirstStrategy.ask = spy  # type: ignore[method-assign]
    try:
        run_campaign("coatml-prior-first", 0, spec, sp, features, truth, lab, cfg, RET)
    finally:
        strategies.CoatmlPriorFirstStrategy.ask = original  # type: ignore[method-assign]
    assert len(seen) == 2  # the first batch and the second, nothing random before
    first = sp.loc[seen[0]]
    assert len(first) == cfg.n_initial
    prior = features.loc[seen[0], "prior__capacity_retention_pct"]
    assert prior.mean() > features["prior__capacity_retention_pct"].mean()


def test_admitted_records_are_the_ones_judged_whatever_their_spelling(
        space: pd.DataFrame) -> None:
    own = _expected(space, 6, 1)
    same = _expected(space, 40, 101).assign(electrolyte="Li6PS5Br")
    same.loc[same.index[::2], "electrode"] = "NMC811"  # the alias of the same electrode
    choice = select_sources(own, same, RET, PairGPSettings(prior=True))
    assert len(choice.admitted) == 1  # one pair, two spellings
    assert len(choice.records) == same[RET].notna().sum()
    assert set(choice.records["electrode"]) == {"NMC811", NMC811}


def test_bench_prior_strategies_run_the_settings_the_cli_ships() -> None:
    from coatml.bench.strategies import make_strategy
    from coatml.recommend.surrogates import PAIR_SURROGATES

    for bench, cli in (("coatml", "gp"), ("coatml-prior", "gp-prior"),
                       ("coatml-prior-first", "gp-prior"), ("coatml-transfer", "gp-transfer")):
        settings, transfer = PAIR_SURROGATES[cli]
        strategy = make_strategy(bench)
        assert strategy.settings() == settings, bench
        assert strategy.transfer == transfer, bench
