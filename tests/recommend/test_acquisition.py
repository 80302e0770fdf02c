"""Acquisition math: EI closed form, UCB monotonicity, Thompson seeds, Pareto-aware picks."""

from __future__ import annotations

import numpy as np
import pytest

from coatml.recommend.acquisition import (
    ExpectedHypervolumeImprovement,
    ExpectedImprovement,
    Objective,
    ParEGO,
    PredictionBlock,
    ThompsonSampling,
    UpperConfidenceBound,
    complete_context,
    expected_improvement,
    hypervolume_2d,
    hypervolume_improvement_2d,
    make_acquisition,
    make_context,
    pareto_front,
)


def test_expected_improvement_matches_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    mean = np.array([0.0, 1.0, -1.0, 2.5])
    std = np.array([1.0, 0.5, 2.0, 0.1])
    best = 0.8
    draws = mean + std * rng.standard_normal((400_000, 4))
    mc = np.maximum(draws - best, 0.0).mean(axis=0)
    closed = expected_improvement(mean, std, best)
    np.testing.assert_allclose(closed, mc, rtol=0.02, atol=2e-3)


def test_expected_improvement_without_uncertainty_is_the_plain_gain() -> None:
    np.testing.assert_allclose(expected_improvement(np.array([1.0, 3.0]), np.zeros(2), 2.0),
                               [0.0, 1.0])


def test_ucb_is_monotone_in_beta() -> None:
    obj = Objective.parse("retention")
    ctx = make_context(obj, np.array([[50.0], [70.0]]))
    block = PredictionBlock(np.array([[60.0], [65.0], [40.0]]), np.array([[5.0], [1.0], [9.0]]))
    scores = [UpperConfidenceBound(beta=b).score(block, ctx) for b in (0.0, 1.0, 2.0, 4.0)]
    for lo, hi in zip(scores, scores[1:], strict=False):
        assert np.all(hi >= lo)
    assert np.all(scores[-1] > scores[0])
    # beta trades mean for spread: the best mean wins without exploration, a wider one with
    # it; a bound under the floor (the worst observed, 50) scores 0
    assert np.argmax(scores[0]) == 1 and np.argmax(scores[-1]) == 0
    np.testing.assert_allclose(scores[-1][:2] - scores[1][:2], 3.0 * np.array([5.0, 1.0]))
    assert scores[1][2] == 0.0 and scores[-1][2] == pytest.approx(40.0 + 4 * 9.0 - 50.0)


def _members_block(seed: int = 0) -> PredictionBlock:
    rng = np.random.default_rng(seed)
    members = rng.normal(60, 10, size=(16, 50, 1))
    return PredictionBlock(members.mean(axis=0), members.std(axis=0), members)


def test_thompson_picks_differ_with_seeds() -> None:
    obj = Objective.parse("retention")
    block = _members_block()
    picks = set()
    for seed in range(8):
        ctx = make_context(obj, np.array([[40.0], [55.0]]), n_picks=1, seed=seed)
        ctx = ThompsonSampling().prepare(ctx, n_members=16)
        picks.add(int(np.argmax(ThompsonSampling().score(block, ctx, pick=0))))
    assert len(picks) >= 3


def test_thompson_same_seed_same_pick() -> None:
    obj = Objective.parse("retention")
    block = _members_block()
    out = []
    for _ in range(2):
        ctx = ThompsonSampling().prepare(make_context(obj, None, n_picks=2, seed=5), 16)
        ctx = complete_context(ctx, block)
        out.append(np.argmax(ThompsonSampling().score(block, ctx, pick=1)))
    assert out[0] == out[1]


def test_pareto_front_and_hypervolume() -> None:
    pts = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [1.5, 1.5], [0.5, 0.5]])
    front = pareto_front(pts)
    assert {tuple(p) for p in front} == {(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)}
    ref = np.zeros(2)
    assert hypervolume_2d(front, ref) == pytest.approx(3 + 2 * 1 + 1 * 1)
    new = np.array([[2.5, 2.5], [1.5, 1.5], [4.0, 0.5]])
    hvi = hypervolume_improvement_2d(new, front, ref)
    brute = [hypervolume_2d(np.vstack([front, p]), ref) - hypervolume_2d(front, ref) for p in new]
    np.testing.assert_allclose(hvi, brute)


@pytest.mark.parametrize("strategy", [ParEGO(), ExpectedHypervolumeImprovement()])
def test_scalarised_choices_pick_pareto_points(strategy) -> None:
    obj = Objective.parse("both")
    observed = np.array([[60.0, -2.0], [70.0, -2.5], [50.0, -1.5]])
    ctx = make_context(obj, observed, n_picks=3, seed=1)
    # candidates: three Pareto-optimal predictions and dominated ones, all certain-ish
    mean = np.array([[80.0, -1.2], [75.0, -1.0], [85.0, -1.6],   # non-dominated
                     [70.0, -2.0], [74.0, -1.3], [60.0, -2.4]])  # dominated
    block = PredictionBlock(mean, np.full_like(mean, 0.05))
    ctx = strategy.prepare(complete_context(ctx, block))
    front = {tuple(p) for p in pareto_front(mean)}
    for pick in range(3):
        best = int(np.argmax(strategy.score(block, ctx, pick=pick)))
        assert tuple(mean[best]) in front


def test_strategy_objective_checks() -> None:
    with pytest.raises(ValueError, match="needs objective 'both'"):
        make_acquisition("ehvi", "retention")
    with pytest.raises(ValueError, match="scores one target"):
        make_acquisition("ei", "both")
    assert make_acquisition("auto", "both").name == "parego"
    assert isinstance(make_acquisition("auto", "resistance"), ExpectedImprovement)


def test_resistance_utility_is_negative_log() -> None:
    obj = Objective.parse("resistance")
    ctx = make_context(obj, obj.utility(np.array([[2.0], [1.0]])))
    assert ctx.incumbent[0] == pytest.approx(-1.0)  # 10 ohm cm2 beats 100 ohm cm2
