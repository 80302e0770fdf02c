"""Proposal strategies compared by the closed-loop benchmark (:mod:`coatml.bench.loop`).

Each strategy is a thin object with settings only; what it learns lives in the
:class:`LoopState` of one campaign. ``ask(state, n, seed)`` returns ``n`` row positions of the
pair's recipe space to run next; ``tell(state, positions, measured)`` is called with the
simulated results.

* :class:`CoatmlStrategy`: coatml's proposer (:func:`coatml.recommend.propose.propose`): an
  in-memory :class:`~coatml.models.surrogate.RecordModel` retrained every round with small, fast
  settings, the feasibility model, an acquisition (EI by default) and the diverse batch.
* :class:`CoatmlPriorStrategy` / :class:`CoatmlPriorFirstStrategy`: the same proposer
  starting from the physics prior, with the shared random first batch / with its first batch
  from the prior; :class:`CoatmlTransferStrategy` also learns from other pairs' records.
* :class:`GreedyStrategy`: the same machinery with the posterior mean as acquisition (no
  exploration).
* :class:`RandomStrategy`: uniformly random untried recipes.
* :class:`TPEStrategy`: Optuna's TPE sampler on the raw recipe parameters (categorical coating,
  float deposition temperature, log-float thickness), ask-and-tell, each suggestion snapped to
  the nearest untried recipe of that coating in the feasible space.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from coatml.models.config import FAST_MODEL_PARAMS

__all__ = ["FAST_MODEL_PARAMS", "CoatmlPriorFirstStrategy", "CoatmlPriorStrategy",
           "CoatmlStrategy", "CoatmlTransferStrategy", "GreedyStrategy", "LoopState",
           "RandomStrategy", "TPEStrategy", "make_strategy", "strategy_class"]

#: Feature set of the in-loop surrogate (``features/loop.toml``).
LOOP_FEATURE_SET = "loop"


@dataclass
class LoopState:
    """One campaign of the benchmark: the pair's space (with cached features), what was run
    and measured, and strategy-private state (``extra``)."""

    spec: Any
    space: pd.DataFrame
    features: pd.DataFrame
    objective: str
    target: str
    records: pd.DataFrame = field(default_factory=pd.DataFrame)
    run: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class LoopStrategy:
    name: ClassVar[str] = "base"

    def ask(self, state: LoopState, n: int, seed: int) -> list[int]:
        raise NotImplementedError

    def tell(self, state: LoopState, positions: list[int], measured: pd.DataFrame) -> None:
        """Default: nothing beyond the records the loop keeps."""


def _untried(state: LoopState) -> np.ndarray:
    mask = np.ones(len(state.space), dtype=bool)
    mask[state.run] = False
    return np.flatnonzero(mask)


@dataclass(frozen=True)
class RandomStrategy(LoopStrategy):
    name: ClassVar[str] = "random"

    def ask(self, state, n, seed):
        rng = np.random.default_rng(seed)
        free = _untried(state)
        return [int(i) for i in rng.choice(free, size=min(n, len(free)), replace=False)]


@dataclass(frozen=True)
class CoatmlStrategy(LoopStrategy):
    """coatml's proposer with an in-memory, fast-retrained model.

    ``estimator``: the surrogate, ``"gp"`` (:class:`~coatml.models.gaussian_process.
    DescriptorGP`, the default: the small-data choice) or ``"xgboost"`` (the boosted ensemble,
    with ``model_params`` defaulting to :data:`FAST_MODEL_PARAMS`); ``feature_set``: the
    surrogate's features (default ``loop``: no composition features, which are constant for the
    pair's electrode and electrolyte and give 4-40 records room to fit noise); ``noise_free``:
    acquisition on the latent std (see :class:`coatml.recommend.propose.Scorer`);
    ``failed_as_worst``: a failed cell enters the surrogate's training rows with the worst value
    measured so far (a cell that shorted or died is at least as bad as the worst working one),
    besides training the feasibility model, so the surrogate also learns where not to go."""

    acquisition: str = "ei"
    max_per_coating: int = 1
    model_params: dict[str, Any] | None = None
    feature_set: str = LOOP_FEATURE_SET
    noise_free: bool = True
    estimator: str = "gp"
    failed_as_worst: bool = True
    prior: bool = False
    first_batch_from_prior: bool = False
    transfer: bool = False
    name: ClassVar[str] = "coatml"

    def settings(self) -> Any:
        """The :class:`~coatml.recommend.surrogates.PairGPSettings` this strategy runs (the
        ones ``coatml propose --surrogate gp`` ships)."""
        from coatml.recommend.surrogates import PairGPSettings

        return PairGPSettings(noise_free=self.noise_free, failed_as_worst=self.failed_as_worst,
                              estimator=self.estimator, params=self.model_params,
                              feature_set=self.feature_set, prior=self.prior)

    def ask(self, state, n, seed):
        from coatml.recommend.propose import Constraints
        from coatml.recommend.surrogates import propose_with_pair_gp

        proposal = propose_with_pair_gp(
            state.spec, state.records, state.objective, n, self.acquisition,
            Constraints(max_per_coating=self.max_per_coating), seed, self.settings(),
            features=state.features, space=state.space, exclude_index=state.run,
            batch_id=f"bench-{seed}",
            sources=state.extra.get("sources") if self.transfer else None)
        return [int(i) for i in proposal.space_index]


@dataclass(frozen=True)
class CoatmlPriorStrategy(CoatmlStrategy):
    """coatml's proposer starting from the physics prior (:mod:`coatml.features.prior`): the
    shared random first batch, then the pair GP on the departure from the prior."""

    prior: bool = True
    name: ClassVar[str] = "coatml-prior"


@dataclass(frozen=True)
class CoatmlPriorFirstStrategy(CoatmlStrategy):
    """As :class:`CoatmlPriorStrategy`, and its first batch comes from the prior too (a lab
    with prior knowledge does not spend its first batch at random); counted in whole batches
    like every other strategy."""

    prior: bool = True
    first_batch_from_prior: bool = True
    name: ClassVar[str] = "coatml-prior-first"


@dataclass(frozen=True)
class CoatmlTransferStrategy(CoatmlStrategy):
    """As :class:`CoatmlPriorFirstStrategy`, and the pair GP may learn from the other pairs'
    records (the loop's ``sources``) where they lower its leave-one-out error on the pair's
    own records (:func:`coatml.recommend.surrogates.select_sources`)."""

    prior: bool = True
    first_batch_from_prior: bool = True
    transfer: bool = True
    name: ClassVar[str] = "coatml-transfer"


@dataclass(frozen=True)
class GreedyStrategy(CoatmlStrategy):
    """The model's mean, no exploration (same model, feasibility and diversity rules)."""

    acquisition: str = "mean"
    name: ClassVar[str] = "greedy"


@dataclass(frozen=True)
class TPEStrategy(LoopStrategy):
    """Optuna TPE on (coating, temperature_c, log thickness_nm), ask-and-tell, snapped."""

    n_startup_trials: int = 4
    name: ClassVar[str] = "tpe"

    def _study(self, state: LoopState, seed: int) -> Any:
        import optuna

        if "study" not in state.extra:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            sampler = optuna.samplers.TPESampler(seed=int(seed),
                                                 n_startup_trials=self.n_startup_trials)
            study = optuna.create_study(direction="maximize", sampler=sampler)
            space = state.space
            temp = space["temperature_c"].to_numpy(dtype=float)
            thick = space["thickness_nm"].to_numpy(dtype=float)
            dists = {
                "coating": optuna.distributions.CategoricalDistribution(
                    sorted(space["coating"].astype(str).unique())),
                "temperature_c": optuna.distributions.FloatDistribution(
                    float(np.nanmin(temp)), float(np.nanmax(temp))),
                "thickness_nm": optuna.distributions.FloatDistribution(
                    float(np.nanmin(thick)), float(np.nanmax(thick)), log=True),
            }
            state.extra.update(study=study, dists=dists, pending=[])
            # the initial design the loop ran before the first ask
            self._add_known(state, state.run, state.records)
        return state.extra["study"]

    def _value(self, state: LoopState, measured: pd.DataFrame) -> np.ndarray:
        from coatml.models.targets import get_target

        spec = get_target(state.target)
        y = spec.forward(pd.to_numeric(measured[state.target], errors="coerce").to_numpy())
        return y if spec.higher_is_better else -y

    def _params(self, state: LoopState, pos: int) -> dict[str, Any]:
        row = state.space.iloc[pos]
        temp = float(row["temperature_c"])
        dist = state.extra["dists"]["temperature_c"]
        temp = dist.low if not np.isfinite(temp) else temp
        return {"coating": str(row["coating"]), "temperature_c": temp,
                "thickness_nm": float(row["thickness_nm"])}

    def _worst(self, state: LoopState) -> float:
        done = [t.value for t in state.extra["study"].trials if t.value is not None]
        return float(min(done)) if done else 0.0

    def _add_known(self, state: LoopState, positions: list[int], measured: pd.DataFrame) -> None:
        import optuna

        values = self._value(state, measured)
        worst = np.nanmin(values) if np.isfinite(values).any() else 0.0
        for pos, value in zip(positions, values, strict=True):
            state.extra["study"].add_trial(optuna.trial.create_trial(
                params=self._params(state, pos), distributions=state.extra["dists"],
                value=float(value if np.isfinite(value) else worst)))

    def ask(self, state, n, seed):
        study = self._study(state, seed)
        space = state.space
        temp = space["temperature_c"].to_numpy(dtype=float)
        lt = np.log(space["thickness_nm"].to_numpy(dtype=float))
        t_span = max(np.nanmax(temp) - np.nanmin(temp), 1.0)
        l_span = max(lt.max() - lt.min(), 1e-6)
        coating = space["coating"].astype(str).to_numpy()
        taken = set(state.run)
        out = []
        for _ in range(n):
            trial = study.ask(state.extra["dists"])
            p = trial.params
            cand = np.flatnonzero(coating == p["coating"])
            d = ((np.nan_to_num(temp[cand], nan=np.nanmin(temp)) - p["temperature_c"]) / t_span
                 ) ** 2 + ((lt[cand] - np.log(p["thickness_nm"])) / l_span) ** 2
            order = cand[np.argsort(d, kind="stable")]
            free = [int(i) for i in order if int(i) not in taken]
            pos = free[0] if free else int(order[0])
            taken.add(pos)
            state.extra["pending"].append((pos, trial))
            out.append(pos)
        return out

    def tell(self, state, positions, measured):
        study = state.extra["study"]
        values = self._value(state, measured)
        pending = state.extra["pending"]
        for pos, value in zip(positions, values, strict=True):
            asked_pos, trial = pending.pop(0)
            assert asked_pos == pos
            study.tell(trial, float(value) if np.isfinite(value) else self._worst(state))


_STRATEGIES: dict[str, type[LoopStrategy]] = {
    "coatml": CoatmlStrategy, "coatml-prior": CoatmlPriorStrategy,
    "coatml-prior-first": CoatmlPriorFirstStrategy, "coatml-transfer": CoatmlTransferStrategy,
    "greedy": GreedyStrategy,
    "random": RandomStrategy,
    "tpe": TPEStrategy,
}


def strategy_class(name: str) -> type[LoopStrategy]:
    """The class of a strategy by name (see :func:`make_strategy`)."""
    if name not in _STRATEGIES:
        raise ValueError(f"unknown bench strategy '{name}'; known: {sorted(_STRATEGIES)}")
    return _STRATEGIES[name]


def make_strategy(name: str, **params: Any) -> LoopStrategy:
    """A strategy by name: coatml, coatml-prior, coatml-prior-first, coatml-transfer, greedy,
    random or tpe."""
    return strategy_class(name)(**params)
