"""Acquisition functions: how much a candidate recipe is worth measuring next.

Strategies are thin, seeded objects in the style of Optuna's samplers: they hold their
settings only; everything learned during a campaign (the best value so far, the observed Pareto
front, the normalisation bounds, the random draws of one batch) lives in an
:class:`AcqContext` that the caller builds from the campaign's records and passes in.

Everything works in *utility space*: the models' model space (percent for capacity retention,
``log10(ohm cm2)`` for interface resistance) multiplied by the direction of the target, so that
larger is always better (``u = +retention``, ``u = -log10 R``).

Scores are non-negative "improvement-like" numbers so that the chance of a working cell and the
batch-diversity penalty can multiply them (:mod:`coatml.recommend.propose`):

* :class:`ExpectedImprovement`: closed form ``(mu - best) Phi(z) + sd phi(z)``, ``z = (mu -
  best) / sd`` (Jones, Schonlau, Welch, J. Global Optim. 13, 455 (1998)); a believer update
  raises ``best`` to the predicted mean of each pick.
* :class:`UpperConfidenceBound`: ``mu + beta sd`` above a floor (the worst observed utility),
  Srinivas et al., ICML 2010.
* :class:`ThompsonSampling`: one ensemble member (a bootstrap posterior draw) per pick, above the
  floor.
* :class:`PosteriorMean`: ``mu`` above the floor; pure exploitation (the "greedy" baseline).
* :class:`ParEGO` (two objectives): expected improvement of a random augmented-Chebyshev
  scalarisation per pick (Knowles, IEEE Trans. Evol. Comput. 10, 50 (2006)), by Monte Carlo with
  common random numbers.
* :class:`ExpectedHypervolumeImprovement` (two objectives): Monte Carlo expected gain of the
  dominated area over the observed Pareto front (normalised utilities, reference point 0.1
  below the observed minimum), with a believer update of the front after each pick.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

__all__ = [
    "OBJECTIVES",
    "AcqContext",
    "Acquisition",
    "ExpectedHypervolumeImprovement",
    "ExpectedImprovement",
    "Objective",
    "ParEGO",
    "PosteriorMean",
    "PredictionBlock",
    "ThompsonSampling",
    "UpperConfidenceBound",
    "expected_improvement",
    "hypervolume_2d",
    "hypervolume_improvement_2d",
    "make_acquisition",
    "make_context",
    "pareto_front",
]

RETENTION = "capacity_retention_pct"
RESISTANCE = "interface_resistance_ohm_cm2"
#: Objective name -> targets it optimises.
OBJECTIVES: dict[str, tuple[str, ...]] = {
    "retention": (RETENTION,),
    "resistance": (RESISTANCE,),
    "both": (RETENTION, RESISTANCE),
}
#: Direction of each target in model space (+1: higher is better).
SIGNS: dict[str, float] = {RETENTION: 1.0, RESISTANCE: -1.0}


@dataclass(frozen=True)
class Objective:
    """What a campaign optimises: one or two targets, each maximised in utility space."""

    name: str
    targets: tuple[str, ...]

    @classmethod
    def parse(cls, name: str | Objective) -> Objective:
        if isinstance(name, Objective):
            return name
        if name not in OBJECTIVES:
            raise ValueError(f"objective must be one of {sorted(OBJECTIVES)}, not '{name}'")
        return cls(name, OBJECTIVES[name])

    @property
    def signs(self) -> np.ndarray:
        return np.array([SIGNS[t] for t in self.targets], dtype=float)

    @property
    def multi(self) -> bool:
        return len(self.targets) > 1

    def utility(self, model_space: np.ndarray) -> np.ndarray:
        """``(n, T)`` model-space values -> utilities (larger is better)."""
        return np.asarray(model_space, dtype=float) * self.signs


@dataclass
class PredictionBlock:
    """Predictions for ``n`` recipes in utility space: ``mean``/``std`` ``(n, T)``, optional
    ``members`` ``(M, n, T)`` and ``p_working`` ``(n,)`` (chance of a working cell)."""

    mean: np.ndarray
    std: np.ndarray
    members: np.ndarray | None = None
    p_working: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.mean.shape[0])

    def take(self, idx: np.ndarray) -> PredictionBlock:
        return PredictionBlock(
            self.mean[idx], self.std[idx],
            None if self.members is None else self.members[:, idx],
            None if self.p_working is None else self.p_working[idx])

    @staticmethod
    def concat(blocks: list[PredictionBlock]) -> PredictionBlock:
        members = None
        if blocks and all(b.members is not None for b in blocks):
            members = np.concatenate([b.members for b in blocks], axis=1)
        p = None
        if blocks and all(b.p_working is not None for b in blocks):
            p = np.concatenate([b.p_working for b in blocks])
        return PredictionBlock(np.concatenate([b.mean for b in blocks]),
                               np.concatenate([b.std for b in blocks]), members, p)


@dataclass(frozen=True)
class AcqContext:
    """Campaign state an acquisition reads (utility space, one entry per target).

    ``incumbent``: best observed utility (NaN: none observed yet); ``floor``: the utility of a
    worthless outcome (value-type scores count above it); ``lower``/``upper``: normalisation
    bounds for scalarisations; ``front``: observed Pareto front ``(k, T)``; ``member_draws`` /
    ``weights``: the per-pick random draws of one batch.
    """

    objective: Objective
    incumbent: np.ndarray
    floor: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    front: np.ndarray
    n_picks: int = 1
    member_draws: np.ndarray | None = None
    weights: np.ndarray | None = None
    mc_normals: np.ndarray | None = None
    seed: int = 0

    @property
    def has_observations(self) -> bool:
        return bool(np.all(np.isfinite(self.incumbent)))


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Non-dominated rows of ``points`` (maximisation in every column)."""
    pts = np.asarray(points, dtype=float)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(pts) == 0:
        return pts.reshape(0, points.shape[1] if np.ndim(points) == 2 else 2)
    keep = np.ones(len(pts), dtype=bool)
    for i in range(len(pts)):
        dominated = np.all(pts >= pts[i], axis=1) & np.any(pts > pts[i], axis=1)
        keep[i] = not dominated.any()
    return np.unique(pts[keep], axis=0)


def make_context(objective: Objective | str, observed_utility: np.ndarray | None,
                 n_picks: int = 1, seed: int = 0) -> AcqContext:
    """Build the context from the utilities of the campaign's measured records ``(n_obs, T)``
    (NaN rows are ignored). Bounds default to NaN until :func:`complete_context` fills them."""
    obj = Objective.parse(objective)
    t = len(obj.targets)
    obs = np.empty((0, t)) if observed_utility is None else np.asarray(observed_utility, float)
    obs = obs.reshape(-1, t)
    nan = np.full(t, np.nan)
    inc, floor, lo, hi = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    for j in range(t):
        col = obs[:, j][np.isfinite(obs[:, j])]
        if len(col):
            inc[j], floor[j] = col.max(), col.min()
            spread = col.max() - col.min()
            if len(col) >= 2 and spread > 0:
                lo[j], hi[j] = col.min(), col.max()
    front = pareto_front(obs) if t > 1 else np.empty((0, t))
    return AcqContext(obj, inc, floor, lo, hi, front, n_picks=n_picks, seed=seed)


def complete_context(ctx: AcqContext, block: PredictionBlock) -> AcqContext:
    """Fill what the observations could not give from a first block of predictions: the
    incumbent (best predicted mean), the floor (lowest ``mean - 3 sd``) and the bounds (5th and
    95th percentiles of the means)."""
    mean, std = block.mean, block.std
    inc = np.where(np.isfinite(ctx.incumbent), ctx.incumbent, np.nanmax(mean, axis=0))
    floor = np.where(np.isfinite(ctx.floor), ctx.floor, np.nanmin(mean - 3 * std, axis=0))
    lo = np.where(np.isfinite(ctx.lower), ctx.lower, np.nanpercentile(mean, 5, axis=0))
    hi = np.where(np.isfinite(ctx.upper), ctx.upper, np.nanpercentile(mean, 95, axis=0))
    width = np.maximum(hi - lo, np.maximum(np.nanmedian(std, axis=0), 1e-6))
    return replace(ctx, incumbent=inc, floor=np.minimum(floor, inc), lower=lo, upper=lo + width)


# ---------------------------------------------------------------------------------------------
# Closed forms and hypervolume
# ---------------------------------------------------------------------------------------------


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float | np.ndarray,
                         xi: float = 0.0) -> np.ndarray:
    """Closed-form expected improvement over ``best`` of a Gaussian (maximisation)."""
    from scipy.special import ndtr

    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    diff = mean - np.asarray(best, dtype=float) - xi
    safe = np.where(std > 1e-12, std, 1.0)
    z = diff / safe
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    ei = diff * ndtr(z) + safe * pdf
    return np.where(std > 1e-12, np.maximum(ei, 0.0), np.maximum(diff, 0.0))


def hypervolume_2d(front: np.ndarray, ref: np.ndarray) -> float:
    """Area dominated by ``front`` (maximisation) above the reference point ``ref``."""
    pts = np.asarray(front, dtype=float).reshape(-1, 2)
    pts = pts[np.all(pts > ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[np.argsort(-pts[:, 0])]
    area, y_max = 0.0, ref[1]
    for x, y in pts:
        if y > y_max:
            area += (x - ref[0]) * (y - y_max)
            y_max = y
    return float(area)


def hypervolume_improvement_2d(points: np.ndarray, front: np.ndarray,
                               ref: np.ndarray) -> np.ndarray:
    """Hypervolume gained by adding each row of ``points`` ``(..., 2)`` to ``front``
    (vectorised): area of the box ``[ref, p]`` minus its overlap with the front's region."""
    p = np.asarray(points, dtype=float)
    box = np.prod(np.maximum(p - ref, 0.0), axis=-1)
    f = np.asarray(front, dtype=float).reshape(-1, 2)
    if len(f) == 0:
        return box
    f = pareto_front(f)
    f = f[np.argsort(f[:, 0])]  # x ascending, y descending on a front
    # clip the front to the box of p: a staircase stays a staircase
    cx = np.minimum(f[:, 0], p[..., None, 0])            # (..., k)
    cy = np.minimum(f[:, 1], p[..., None, 1])
    prev = np.concatenate([np.full(cx.shape[:-1] + (1,), ref[0]), cx[..., :-1]], axis=-1)
    width = np.maximum(cx - np.maximum(prev, ref[0]), 0.0)
    overlap = np.sum(width * np.maximum(cy - ref[1], 0.0), axis=-1)
    return np.maximum(box - overlap, 0.0)


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------


class Acquisition:
    """Base class. ``prepare`` draws the batch's random numbers into the context, ``score``
    gives every recipe of a block a non-negative score for pick ``pick`` (``None``: the
    screening score, an upper envelope over the batch's picks), ``update`` applies a believer
    update after a pick."""

    name: ClassVar[str] = "base"
    multi_objective: ClassVar[bool] = False
    needs_members: ClassVar[bool] = False

    def check(self, objective: Objective) -> None:
        if objective.multi and not self.multi_objective and self.name != "thompson":
            raise ValueError(f"strategy '{self.name}' scores one target; objective "
                             f"'{objective.name}' needs parego, ehvi or thompson")
        if self.multi_objective and not objective.multi:
            raise ValueError(f"strategy '{self.name}' needs objective 'both'")

    def prepare(self, ctx: AcqContext, n_members: int | None = None) -> AcqContext:
        return ctx

    def score(self, block: PredictionBlock, ctx: AcqContext,
              pick: int | None = None) -> np.ndarray:
        raise NotImplementedError

    def update(self, ctx: AcqContext, picked: PredictionBlock) -> AcqContext:
        return ctx


@dataclass(frozen=True)
class ExpectedImprovement(Acquisition):
    """Expected improvement over the best observed value (single target)."""

    xi: float = 0.0
    believer: bool = True
    name: ClassVar[str] = "ei"

    def score(self, block, ctx, pick=None):
        return expected_improvement(block.mean[:, 0], block.std[:, 0], ctx.incumbent[0], self.xi)

    def update(self, ctx, picked):
        if not self.believer:
            return ctx
        inc = np.maximum(ctx.incumbent, picked.mean.max(axis=0))
        return replace(ctx, incumbent=inc)


@dataclass(frozen=True)
class UpperConfidenceBound(Acquisition):
    """``mu + beta * sd`` above the floor (single target)."""

    beta: float = 2.0
    name: ClassVar[str] = "ucb"

    def score(self, block, ctx, pick=None):
        return np.maximum(block.mean[:, 0] + self.beta * block.std[:, 0] - ctx.floor[0], 0.0)


@dataclass(frozen=True)
class PosteriorMean(Acquisition):
    """The predicted mean above the floor: no exploration (greedy baseline)."""

    name: ClassVar[str] = "mean"

    def score(self, block, ctx, pick=None):
        return np.maximum(block.mean[:, 0] - ctx.floor[0], 0.0)


def _scalarise(u: np.ndarray, w: np.ndarray, ctx: AcqContext, rho: float) -> np.ndarray:
    """Augmented Chebyshev scalarisation of utilities ``u (..., T)`` normalised to the bounds."""
    z = (u - ctx.lower) / (ctx.upper - ctx.lower)
    wz = w * z
    return wz.min(axis=-1) + rho * wz.sum(axis=-1)


@dataclass(frozen=True)
class ThompsonSampling(Acquisition):
    """One ensemble member per pick (a posterior draw); for two targets the draw is scalarised
    with a random weight per pick."""

    rho: float = 0.05
    name: ClassVar[str] = "thompson"
    needs_members: ClassVar[bool] = True

    def prepare(self, ctx, n_members=None):
        rng = np.random.default_rng(ctx.seed)
        m = int(n_members or 1)
        draws = rng.integers(0, m, size=ctx.n_picks)
        weights = _random_weights(rng, ctx.n_picks, len(ctx.objective.targets))
        return replace(ctx, member_draws=draws, weights=weights)

    def _value(self, block, ctx, pick):
        if block.members is None:
            raise ValueError("Thompson sampling needs the ensemble members' predictions")
        u = block.members[ctx.member_draws[pick]]              # (n, T)
        if ctx.objective.multi:
            return _scalarise(u, ctx.weights[pick], ctx, self.rho) - _scalarise(
                ctx.floor, ctx.weights[pick], ctx, self.rho)
        return u[:, 0] - ctx.floor[0]

    def score(self, block, ctx, pick=None):
        picks = range(ctx.n_picks) if pick is None else [pick]
        out = np.max([self._value(block, ctx, p) for p in picks], axis=0)
        return np.maximum(out, 0.0)


def _random_weights(rng: np.random.Generator, n: int, t: int) -> np.ndarray:
    """Weights uniform on the simplex; the first pick of a batch weighs targets equally."""
    w = rng.dirichlet(np.ones(t), size=n)
    w[0] = 1.0 / t
    return w


def _believe_front(ctx: AcqContext, picked: PredictionBlock) -> AcqContext:
    """Believer update of a multi-objective batch: the pick's predicted means join the front."""
    front = np.vstack([ctx.front.reshape(-1, picked.mean.shape[1]), picked.mean])
    return replace(ctx, front=pareto_front(front))


@dataclass(frozen=True)
class ParEGO(Acquisition):
    """Expected improvement of a random augmented-Chebyshev scalarisation, one weight vector
    per pick; Monte Carlo with ``n_samples`` common normal draws."""

    rho: float = 0.05
    n_samples: int = 64
    name: ClassVar[str] = "parego"
    multi_objective: ClassVar[bool] = True

    def prepare(self, ctx, n_members=None):
        rng = np.random.default_rng(ctx.seed)
        t = len(ctx.objective.targets)
        return replace(ctx, weights=_random_weights(rng, ctx.n_picks, t),
                       mc_normals=rng.standard_normal((self.n_samples, t)))

    def _ei(self, block, ctx, pick, best_obs):
        w = ctx.weights[pick]
        samples = block.mean[None] + block.std[None] * ctx.mc_normals[:, None, :]  # (S, n, T)
        s = _scalarise(samples, w, ctx, self.rho)
        best = _scalarise(best_obs, w, ctx, self.rho).max() if len(best_obs) else -np.inf
        if not np.isfinite(best):
            best = _scalarise(block.mean, w, ctx, self.rho).max()
        return np.maximum(s - best, 0.0).mean(axis=0)

    def score(self, block, ctx, pick=None):
        picks = range(ctx.n_picks) if pick is None else [pick]
        best_obs = ctx.front if len(ctx.front) else ctx.incumbent[None, :]
        return np.max([self._ei(block, ctx, p, best_obs) for p in picks], axis=0)

    def update(self, ctx, picked):
        return _believe_front(ctx, picked)


@dataclass(frozen=True)
class ExpectedHypervolumeImprovement(Acquisition):
    """Monte Carlo expected hypervolume improvement over the observed front (two targets,
    normalised utilities); believer update of the front after each pick."""

    n_samples: int = 32
    ref_margin: float = 0.1
    name: ClassVar[str] = "ehvi"
    multi_objective: ClassVar[bool] = True

    def prepare(self, ctx, n_members=None):
        rng = np.random.default_rng(ctx.seed)
        t = len(ctx.objective.targets)
        return replace(ctx, mc_normals=rng.standard_normal((self.n_samples, t)))

    def score(self, block, ctx, pick=None):
        scale = ctx.upper - ctx.lower
        ref = np.full(2, -self.ref_margin)
        front = (ctx.front - ctx.lower) / scale if len(ctx.front) else np.empty((0, 2))
        mean = (block.mean - ctx.lower) / scale
        std = block.std / scale
        samples = mean[None] + std[None] * ctx.mc_normals[:, None, :]           # (S, n, 2)
        return hypervolume_improvement_2d(samples, front, ref).mean(axis=0)

    def update(self, ctx, picked):
        return _believe_front(ctx, picked)


_STRATEGIES: dict[str, type[Acquisition]] = {
    "ei": ExpectedImprovement, "ucb": UpperConfidenceBound, "thompson": ThompsonSampling,
    "mean": PosteriorMean, "parego": ParEGO, "ehvi": ExpectedHypervolumeImprovement,
}
STRATEGY_NAMES: tuple[str, ...] = tuple(_STRATEGIES)


def make_acquisition(name: str | Acquisition, objective: Objective | str,
                     **params: float) -> Acquisition:
    """A strategy by name (``auto``: ``ei`` for one target, ``parego`` for both), checked
    against the objective."""
    obj = Objective.parse(objective)
    if isinstance(name, Acquisition):
        strategy = name
    else:
        key = name.lower()
        if key == "auto":
            key = "parego" if obj.multi else "ei"
        if key not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {['auto', *STRATEGY_NAMES]}, not '{name}'")
        strategy = _STRATEGIES[key](**params)
    strategy.check(obj)
    return strategy
