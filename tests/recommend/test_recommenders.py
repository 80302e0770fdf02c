"""The recommend layer's seams (issue #10): one surrogate contract, recommender objects, a
campaign that holds its state, and the benchmark driving what the CLI ships. Each test names
the defect it guards against."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coatml.bench.simlab import SimulatedLab
from coatml.data.store import RecordStore
from coatml.exceptions import FeatureSetMismatchError
from coatml.features.process import PrecursorWarning
from coatml.models.surrogate import RecordModel
from coatml.recommend.campaign import Campaign, CampaignConfig
from coatml.recommend.propose import (
    Constraints,
    ModelRecommender,
    SpaceFillingRecommender,
    propose,
    runnable_mask,
)
from coatml.recommend.space import SpaceSpec, build_recipe_space

NMC811, LPSCL = "LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl"
RET, RES = "capacity_retention_pct", "interface_resistance_ohm_cm2"
FAST = {"n_members": 3, "n_estimators": 30}
KEEP = ["electrode", "electrolyte", "coating", "coated_component", "method", "precursors",
        "temperature_c", "gpc_angstrom", "cycles", "thickness_nm", "cycle_number", "c_rate",
        "test_temperature_c", RET, RES, "cell_failed", "outcome_note", "data_kind", "source"]


@pytest.fixture(scope="module")
def spec() -> SpaceSpec:
    return SpaceSpec(NMC811, LPSCL, max_candidates=25)


@pytest.fixture(scope="module")
def space(spec: SpaceSpec) -> pd.DataFrame:
    recipes, _, _ = build_recipe_space(spec)
    return recipes.reset_index(drop=True)


@pytest.fixture(scope="module")
def observed(space: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = space.iloc[rng.choice(len(space), 24, replace=False)]
    out = SimulatedLab().simulate(rows, seed=5)
    return out[[c for c in KEEP if c in out.columns]].reset_index(drop=True)


def _fit(records: pd.DataFrame, target: str = RET, **kw) -> RecordModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecursorWarning)
        params = FAST if kw.get("estimator", "xgboost") == "xgboost" else {}
        return RecordModel(target, estimator_params=params, **kw).fit(records)


def _keys(batch: pd.DataFrame) -> set[tuple[str, float, float]]:
    return {(str(c), round(float(t), 0), round(float(h), 2)) for c, t, h in
            zip(batch["coating"], batch["temperature_c"], batch["thickness_nm"], strict=True)}


# defect 1: pending proposals were proposed again ------------------------------------------
def test_campaign_next_twice_does_not_repeat_pending_recipes(tmp_path: Path,
                                                             observed: pd.DataFrame) -> None:
    store = RecordStore(f"sqlite:///{tmp_path / 's.db'}")
    store.add_frame(observed, source_name="seed", data_kind="synthetic")
    camp = Campaign.new(store, "c1", NMC811, LPSCL, "retention", max_candidates=25)
    models = {RET: _fit(store.to_frame())}
    first = camp.next(4, models=models)
    second = camp.next(4, models=models)
    assert len(first.batch) == len(second.batch) == 4
    assert not _keys(first.batch) & _keys(second.batch)
    assert (camp.status()["status"] == "pending").sum() == 8


# defect 6: a measured recipe was proposed again; replicates on request ---------------------
def test_measured_recipes_are_not_proposed_again_unless_replicates(
        spec: SpaceSpec, space: pd.DataFrame, observed: pd.DataFrame) -> None:
    from coatml.recommend.feasibility import FeasibilityModel

    model = {RET: _fit(observed)}
    feas = FeasibilityModel(random_state=0).fit(observed)  # the same scores in every call
    first = propose(spec, model, "retention", 4, "mean", seed=0, observed=observed,
                    feasibility=feas)
    # the lab measures that batch; the next proposal must not repeat any of it
    measured = SimulatedLab().simulate(first.batch[[c for c in KEEP if c in first.batch]],
                                       seed=9)
    both = pd.concat([observed, measured[[c for c in KEEP if c in measured]]],
                     ignore_index=True)
    again = propose(spec, model, "retention", 4, "mean", seed=0, observed=both,
                    feasibility=feas)
    assert not _keys(first.batch) & _keys(again.batch)
    assert any("already measured" in m for m in again.messages)
    # with two measurements allowed per recipe the same greedy picks come back
    rep = propose(spec, model, "retention", 4, "mean", seed=0, observed=both,
                  feasibility=feas, replicates=2)
    assert _keys(rep.batch) & _keys(first.batch)


# defect 2: propose accepted a champion whose feature set no longer matches -----------------
def test_propose_refuses_a_surrogate_with_another_feature_set(
        spec: SpaceSpec, observed: pd.DataFrame) -> None:
    model = _fit(observed)
    model.feature_set_hash_ = "0" * 16  # trained with other feature definitions
    with pytest.raises(FeatureSetMismatchError, match="feature definitions changed"):
        propose(spec, {RET: model}, "retention", 2, "ei", seed=0, observed=observed)


# defect 3: rank with the pair GP crashed in its explanation; both-weights fell back to 1 ---
def test_rank_with_a_gp_surrogate_explains_what_it_can(observed: pd.DataFrame) -> None:
    from coatml.recommend.rank import _weights, rank_coatings

    gp = {t: _fit(observed, t, feature_set="loop", estimator="gp") for t in (RET, RES)}
    spec = SpaceSpec(NMC811, LPSCL, max_candidates=10)
    result = rank_coatings(spec, gp, "both", top=5)
    assert len(result.table) == 5
    assert result.table["top_features"].eq("").all()
    assert any("no per-feature explanation" in w for w in result.warnings)
    weights = _weights(gp, "both")
    for target, sign in ((RET, 1.0), (RES, -1.0)):
        y = gp[target].target_.forward(observed[target].dropna().to_numpy(float))
        assert weights[target] == pytest.approx(sign / np.std(y, ddof=1))
        assert abs(weights[target]) != 1.0


# defect 4: the benchmark's strategy and `coatml propose --surrogate gp` differed ----------
def test_benchmark_strategy_and_propose_return_the_same_batch(
        spec: SpaceSpec, space: pd.DataFrame, observed: pd.DataFrame) -> None:
    from coatml.bench.strategies import CoatmlStrategy, LoopState
    from coatml.recommend.surrogates import PairGPSettings, propose_with_pair_gp

    strategy = CoatmlStrategy(acquisition="ei", max_per_coating=2)
    assert strategy.settings() == PairGPSettings()  # the defaults the CLI ships
    # the benchmark's state: the same records, positioned in the space
    rows = observed.copy()
    rows.index = np.random.default_rng(5).choice(len(space), 24, replace=False)  # as sampled
    state = LoopState(spec, space, pd.DataFrame(index=space.index), "retention", RET,
                      records=rows, run=list(rows.index))
    state.features = _features(space)
    bench = space.loc[strategy.ask(state, 4, 11)]
    cli = propose_with_pair_gp(spec, observed, "retention", 4, "ei",
                               Constraints(max_per_coating=2), 11).batch
    assert _keys(bench) == _keys(cli)


def _features(space: pd.DataFrame) -> pd.DataFrame:
    from coatml.features.pipeline import RecordFeaturizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecursorWarning)
        return RecordFeaturizer().fit(space.head(5)).transform(space)


# defect 5: recipes without a deposition temperature were proposed --------------------------
def test_every_proposed_recipe_is_runnable_and_the_rest_are_counted() -> None:
    from coatml.recommend.candidates import enumerate_candidates

    lib = enumerate_candidates().set_index("coating")
    # library coatings whose processes give no window take it from the precursor table
    for coating in ("Nb2O5", "LiAlO2", "Li4Ti5O12", "AlPO4", "Li2C6H4O2"):
        assert np.isfinite(lib.at[coating, "temperature_min_c"]), coating
        assert str(lib.at[coating, "precursors"]).strip()
    for coating in ("Li4Ti5O12", "AlPO4", "Li2C6H4O2"):
        assert lib.at[coating, "window_source"].startswith("precursor table"), coating
    from coatml.recommend.space import candidate_table

    spec = SpaceSpec(NMC811, LPSCL, include_enumerated=False)
    cands, _ = candidate_table(spec)
    # a coating whose window no source gives (neither its process nor its precursors')
    unknown = cands["coating"].isin(["ZrO2", "HfO2"])
    assert unknown.sum() == 2
    cands.loc[unknown, ["temperature_min_c", "temperature_max_c"]] = np.nan
    prop = propose(spec, None, "retention", len(cands), seed=0, candidates=cands)
    assert runnable_mask(prop.batch).all()
    assert prop.batch["temperature_c"].notna().all()
    assert not {"ZrO2", "HfO2"} & set(prop.batch["coating"])
    assert any("2 candidate coating(s) not proposed: no deposition temperature" in m
               and "HfO2" in m and "ZrO2" in m for m in prop.messages)


# defect 7: predict's "mean" resistance lay outside its own interval -----------------------
def test_predict_propose_and_rank_report_the_same_median(
        spec: SpaceSpec, observed: pd.DataFrame) -> None:
    from coatml.models.surrogate import prediction_columns
    from coatml.recommend.rank import rank_coatings

    models = {t: _fit(observed, t) for t in (RET, RES)}
    prop = propose(spec, models, "both", 3, "parego", seed=0, observed=observed)
    recipe = prop.batch.reset_index(drop=True)
    for target, model in models.items():
        cols = prediction_columns(model.target_, model.predict_model_space(recipe))
        point = cols[f"pred_{target}"]
        assert np.all(cols[f"pred_{target}_lo68"] <= point)
        assert np.all(point <= cols[f"pred_{target}_hi68"])
        np.testing.assert_allclose(prop.batch[f"pred_{target}"], point, rtol=1e-6)
    res = cols[f"pred_{RES}_lognormal_mean"]
    assert np.all(res > cols[f"pred_{RES}"])  # the log-normal mean is labelled, not the point
    ranked = rank_coatings(SpaceSpec(NMC811, LPSCL, max_candidates=5), models, "both",
                           explain=False).table
    best = ranked.iloc[0]
    row = {c: best[c] for c in recipe.columns if c in ranked.columns}
    row.update(electrode=NMC811, electrolyte=LPSCL, coated_component="electrode")
    got = prediction_columns(models[RES].target_,
                             models[RES].predict_model_space(pd.DataFrame([row])))
    assert got[f"pred_{RES}"][0] == pytest.approx(best["resistance_ohm_cm2_median"], rel=1e-6)


# defect 8: bogus strategies were stored; add was two transactions; bench.toml unpackaged ----
def test_bad_settings_fail_when_built(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="strategy must be one of"):
        ModelRecommender(strategy="bogus")
    with pytest.raises(ValueError, match="sample_size"):
        SpaceFillingRecommender(sample_size=0)
    store = RecordStore(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(ValueError, match="strategy must be one of"):
        Campaign.new(store, "x", NMC811, LPSCL, strategy="bogus")
    assert Campaign.list(store).empty
    with pytest.raises(ValueError, match="unknown campaign setting"):
        Campaign.new(store, "x", NMC811, LPSCL, colour="red")


def test_campaign_config_round_trips_with_a_version_tag() -> None:
    cfg = CampaignConfig(seed=3, surrogate="gp", replicates=2, exclude_elements=("Co",))
    text = cfg.to_json()
    assert '"version": 1' in text and '"type": "coatml.CampaignConfig"' in text
    assert CampaignConfig.from_json(text) == cfg
    with pytest.raises(ValueError, match="unknown campaign setting"):
        CampaignConfig.from_json(text.replace('"seed"', '"sede"'))
    with pytest.raises(ValueError, match="newer"):
        CampaignConfig.from_json(text.replace('"version": 1', '"version": 99'))


def test_campaign_add_is_one_transaction_and_idempotent(
        tmp_path: Path, observed: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy as sa

    from coatml.recommend import campaign as campaign_mod

    store = RecordStore(f"sqlite:///{tmp_path / 's.db'}")
    store.add_frame(observed, source_name="seed", data_kind="synthetic")
    camp = Campaign.new(store, "c", NMC811, LPSCL, max_candidates=25)
    prop = camp.next(2, models={RET: _fit(store.to_frame())})
    measured = SimulatedLab().simulate(prop.batch[[c for c in KEEP if c in prop.batch]
                                                  + ["proposal_id"]], seed=2)
    measured = measured[[c for c in KEEP if c in measured] + ["proposal_id"]]
    n0 = store.count()
    # the link step fails: the records must not land either
    real_insert = campaign_mod.results.insert

    def broken() -> sa.Insert:
        raise RuntimeError("disk full")

    monkeypatch.setattr(campaign_mod.results, "insert", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        camp.add_results(measured)
    assert store.count() == n0
    monkeypatch.setattr(campaign_mod.results, "insert", real_insert)
    camp.add_results(measured)
    camp.add_results(measured)  # the same file twice: no duplicate links
    with camp.engine.connect() as conn:
        n_links = conn.execute(sa.select(sa.func.count()).select_from(
            campaign_mod.results)).scalar_one()
    assert n_links == 2 and store.count() == n0 + 2


def test_the_bench_defaults_are_packaged_and_match_experiments() -> None:
    from importlib import resources

    from coatml.bench.loop import load_bench_config

    packaged = resources.files("coatml.bench.data").joinpath("bench.toml").read_text("utf-8")
    repo = Path(__file__).resolve().parents[2] / "experiments" / "bench.toml"
    assert packaged == repo.read_text("utf-8")
    assert load_bench_config(None).seeds == load_bench_config(repo).seeds == 50
