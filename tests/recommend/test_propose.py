"""propose(): constraints, diversity, same temperature, chunking, feasibility, fallback."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from coatml.bench.simlab import SimulatedLab
from coatml.data.formulas import parse_formula
from coatml.features.process import PrecursorWarning
from coatml.models.surrogate import RecordModel
from coatml.recommend.feasibility import FeasibilityModel, failure_labels
from coatml.recommend.propose import Constraints, propose
from coatml.recommend.space import SpaceSpec, build_recipe_space

NMC811, LPSCL = "LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl"
RET, RES = "capacity_retention_pct", "interface_resistance_ohm_cm2"
FAST = {"n_members": 4, "n_estimators": 40, "learning_rate": 0.15, "min_child_weight": 1.0}


@pytest.fixture(scope="module")
def spec() -> SpaceSpec:
    return SpaceSpec(NMC811, LPSCL, max_candidates=30)


@pytest.fixture(scope="module")
def observed(spec: SpaceSpec) -> pd.DataFrame:
    space, _, _ = build_recipe_space(spec)
    rng = np.random.default_rng(3)
    rows = space.iloc[rng.choice(len(space), 40, replace=False)]
    return SimulatedLab().simulate(rows, seed=3).reset_index(drop=True)


@pytest.fixture(scope="module")
def models(observed: pd.DataFrame) -> dict[str, RecordModel]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecursorWarning)
        return {t: RecordModel(t, estimator_params=FAST).fit(observed) for t in (RET, RES)}


def _elements(name: str) -> set[str]:
    try:
        return {e.symbol for e in parse_formula(name).elements}
    except ValueError:
        return set()


def test_batch_is_in_the_record_schema_with_empty_targets(spec, models, observed) -> None:
    from coatml.data.validation import validate_frame

    prop = propose(spec, models, "retention", 4, "ei", seed=0, observed=observed)
    batch = prop.batch
    assert len(batch) == 4
    assert batch[RET].isna().all() and batch[RES].isna().all()
    assert batch["proposal_id"].is_unique
    assert (batch["data_kind"] == "lab").all()
    assert batch["source"].str.startswith("coatml proposal ").all()
    assert {f"pred_{RET}", f"pred_{RET}_std", f"pred_{RES}", "acq_score"} <= set(
        batch.columns)
    assert batch["acq_score"].notna().all() and (batch["acq_score"] >= 0).all()
    table = validate_frame(batch.copy().set_axis(range(2, 6)), source_name="batch")
    assert len(table.records) == 4
    assert any(c.startswith("pred_") for c in table.ignored_columns)
    assert prop.stopping is not None
    assert np.isfinite(prop.stopping.best_so_far[RET])
    assert prop.stopping.max_expected_improvement[RET] >= 0


@pytest.mark.parametrize("strategy,objective", [("ei", "retention"), ("ucb", "retention"),
                                                ("thompson", "retention"),
                                                ("ei", "resistance"), ("parego", "both"),
                                                ("ehvi", "both")])
def test_no_two_picks_of_one_coating(spec, models, observed, strategy, objective) -> None:
    prop = propose(spec, models, objective, 5, strategy, seed=1, observed=observed)
    assert len(prop.batch) == 5
    assert prop.batch["coating"].is_unique


def test_per_coating_allowance_and_coating_budget(spec, models, observed) -> None:
    prop = propose(spec, models, "retention", 6, "ei", Constraints(max_coatings=2), seed=0,
                   observed=observed)
    assert prop.batch["coating"].nunique() <= 2
    assert len(prop.batch) == 6


def test_same_temperature_constraint(spec, models, observed) -> None:
    prop = propose(spec, models, "retention", 4, "ei", Constraints(same_temperature=True),
                   seed=0, observed=observed)
    temps = prop.batch["temperature_c"].to_numpy(dtype=float)
    assert len(prop.batch) == 4
    assert np.all(temps == temps[0]) and temps[0] == prop.temperature_c
    # the shared temperature lies in every chosen coating's process window
    space, _, _ = build_recipe_space(spec)
    for coating in prop.batch["coating"]:
        rows = space[space["coating"] == coating]
        assert (rows["temperature_min_c"].min() - 1e-6 <= temps[0]
                <= rows["temperature_max_c"].max() + 1e-6)


def test_row_constraints_hold(spec, models, observed) -> None:
    space, _, _ = build_recipe_space(spec)
    family = space["family"].value_counts().index[0]
    c = Constraints(family=family, exclude_elements=("Nb", "Zr"), max_temperature_c=200.0,
                    max_thickness_nm=5.0)
    prop = propose(spec, models, "retention", 3, "ei", c, seed=0, observed=observed)
    chosen = space.loc[list(prop.space_index)]
    assert (chosen["family"] == family).all()
    assert (prop.batch["temperature_c"] <= 200.0).all()
    assert (prop.batch["thickness_nm"] <= 5.0).all()
    for coating in prop.batch["coating"]:
        assert not _elements(coating) & {"Nb", "Zr"}
    unconstrained = propose(spec, models, "retention", 3, "ei", seed=0, observed=observed)
    assert unconstrained.n_scored > prop.n_scored


def test_chunked_equals_unchunked(spec, models, observed) -> None:
    for strategy in ("ei", "thompson"):
        one = propose(spec, models, "retention", 4, strategy, seed=2, observed=observed,
                      chunk_size=10_000, batch_id="x")
        many = propose(spec, models, "retention", 4, strategy, seed=2, observed=observed,
                       chunk_size=3, batch_id="x")
        assert one.space_index == many.space_index
        np.testing.assert_allclose(one.batch["acq_score"], many.batch["acq_score"])
        assert one.stopping.max_expected_improvement == pytest.approx(
            many.stopping.max_expected_improvement)


def test_feasibility_lowers_failing_candidates(spec, models, observed) -> None:
    space, _, _ = build_recipe_space(spec)
    bad = "Al2O3" if "Al2O3" in set(space["coating"]) else space["coating"].iloc[0]
    rows = space[space["coating"] == bad].head(6).copy()
    rows[RET] = np.nan
    rows[RES] = np.nan
    rows["cell_failed"] = True
    rows["outcome_note"] = "short circuit in cycle 3"
    records = pd.concat([observed, rows], ignore_index=True)
    assert failure_labels(rows).eq(1.0).all()
    feas = FeasibilityModel().fit(records)
    assert feas.mode_ == "classifier"
    p = feas.predict_working(space)
    assert p[(space["coating"] == bad).to_numpy()].mean() < p[
        (space["coating"] != bad).to_numpy()].mean() - 0.2
    with_f = propose(spec, models, "retention", 4, "ucb", seed=0, observed=records,
                     feasibility=feas)
    assert bad not in set(with_f.batch["coating"])
    assert (with_f.batch["pred_p_working"] > 0.5).all()


def test_feasibility_falls_back_to_a_prior_and_says_so(observed) -> None:
    records = observed.copy()
    records["cell_failed"] = False
    records.loc[records[RET].isna(), RET] = 50.0
    feas = FeasibilityModel().fit(records)
    assert feas.mode_ == "prior"
    assert "prior rate" in feas.message_
    assert np.allclose(feas.predict_working(records), feas.prior_working_)


def test_space_filling_without_a_model(spec, observed) -> None:
    prop = propose(spec, None, "retention", 5, "ei", seed=4, observed=observed)
    assert prop.fallback is not None and "space-filling" in prop.fallback
    assert prop.strategy == "space-filling"
    assert len(prop.batch) == 5 and prop.batch["coating"].is_unique
    again = propose(spec, None, "retention", 5, "ei", seed=4, observed=observed)
    other = propose(spec, None, "retention", 5, "ei", seed=5, observed=observed)
    assert again.space_index == prop.space_index
    assert other.space_index != prop.space_index
    same_t = propose(spec, {}, "retention", 3, "ei", Constraints(same_temperature=True), seed=4)
    assert same_t.batch["temperature_c"].nunique() == 1


def test_impossible_constraints_are_a_clear_error(spec, models, observed) -> None:
    with pytest.raises(ValueError, match="no feasible recipe"):
        propose(spec, models, "retention", 2, "ei", Constraints(max_temperature_c=-100.0),
                observed=observed)


def test_noise_free_scoring_removes_only_the_noise_term(spec, models, observed) -> None:
    """The latent std is sqrt(std^2 - noise^2): smaller than the predictive std, and it varies
    between recipes while the noise term does not."""
    from coatml.recommend.acquisition import Objective
    from coatml.recommend.propose import Scorer

    space, _, _ = build_recipe_space(spec)
    rows = space.head(200)
    obj = Objective.parse("retention")
    full = Scorer(models, obj).block(rows)
    latent = Scorer(models, obj, noise_free=True).block(rows)
    np.testing.assert_allclose(full.mean, latent.mean)
    dist = models[RET].ensemble_.predict_dist(models[RET].featurize(rows))
    noise = dist["noise_std"].to_numpy()
    assert noise.max() > 0
    assert np.all(latent.std[:, 0] < full.std[:, 0])
    np.testing.assert_allclose(latent.std[:, 0] ** 2 + noise ** 2, full.std[:, 0] ** 2,
                               rtol=1e-6)
    batch = propose(spec, models, "retention", 4, "ei", observed=observed, seed=0,
                    noise_free=True).batch
    assert len(batch) == 4


def test_observed_pair_rows_match_aliases_and_formulas() -> None:
    """Records written with the formula count for a pair named by its alias."""
    import pandas as pd

    from coatml.recommend.propose import pair_records

    observed = pd.DataFrame({"electrode": ["LiNi0.8Mn0.1Co0.1O2", "LiCoO2", "NMC811"],
                             "electrolyte": ["Li6PS5Cl", "Li6PS5Cl", "LPSCl"]})
    rows = pair_records(observed, "NMC811", "Li6PS5Cl")
    assert list(rows.index) == [0, 2]


@pytest.fixture(scope="module")
def gp_model(observed: pd.DataFrame) -> dict[str, RecordModel]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecursorWarning)
        return {RET: RecordModel(RET, feature_set="loop", estimator="gp",
                                 estimator_params={"random_state": 0}).fit(observed)}


def test_gp_scorer_conditions_on_a_fantasised_pick(spec, gp_model) -> None:
    from coatml.recommend.acquisition import Objective
    from coatml.recommend.propose import Scorer

    space, _, _ = build_recipe_space(spec)
    rows = space.iloc[:60]
    scorer = Scorer(gp_model, Objective.parse("retention"))
    assert scorer.can_condition
    block = scorer.block(rows, cached=False)
    pick_features = scorer.features(rows.iloc[[5]], cached=False)
    after = scorer.condition(rows.iloc[[5]], block.take(np.array([5])), pick_features).block(
        rows, cached=False)
    np.testing.assert_allclose(after.mean, block.mean, atol=1e-6)
    assert after.std[5, 0] < block.std[5, 0]
    assert np.all(after.std <= block.std + 1e-9)


def test_boosted_ensemble_keeps_the_plain_believer(spec, models) -> None:
    from coatml.recommend.acquisition import Objective
    from coatml.recommend.propose import Scorer

    assert not Scorer(models, Objective.parse("retention")).can_condition


def test_gp_batch_is_diverse_and_valid(spec, gp_model, observed) -> None:
    prop = propose(spec, gp_model, "retention", 4, "ei", Constraints(max_per_coating=2), seed=0,
                   observed=observed)
    batch = prop.batch
    assert len(batch) == 4
    assert batch["coating"].value_counts().max() <= 2
    keys = list(zip(batch["coating"], batch["thickness_nm"], batch["temperature_c"],
                    strict=True))
    assert len(set(keys)) == 4
    assert batch[f"pred_{RET}_std"].gt(0).all()


def test_unknown_estimator_is_named(observed) -> None:
    with pytest.raises(ValueError, match="unknown estimator 'forest'"):
        RecordModel(RET, estimator="forest").fit(observed)


def test_gp_same_temperature_batch(spec, gp_model, observed) -> None:
    prop = propose(spec, gp_model, "retention", 3, "ei",
                   Constraints(max_per_coating=2, same_temperature=True), seed=2,
                   observed=observed)
    batch = prop.batch
    assert len(batch) == 3 and batch["temperature_c"].nunique() == 1
    assert prop.temperature_c == batch["temperature_c"].iloc[0]
    keys = set(zip(batch["coating"], batch["thickness_nm"], strict=True))
    assert len(keys) == 3
