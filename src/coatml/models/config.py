"""Model configuration: frozen dataclasses loaded from TOML (``models/default.toml``).

The shipped defaults live in package data (``coatml/models/data/default.toml``, identical to
the repository's ``models/default.toml``); a workspace may pass its own file. Every dataclass
round-trips through :meth:`to_dict` / :meth:`from_dict` (and so through JSON, for logging as an
MLflow artifact). Unknown keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Literal

_ESTIMATOR_KEYS = (
    "n_estimators", "max_depth", "learning_rate", "subsample", "colsample_bytree",
    "min_child_weight", "reg_lambda", "reg_alpha", "n_members", "bootstrap", "random_state",
    "extrapolation_scale", "device", "n_jobs",
)
#: Keys of earlier versions that are no longer settings, with the reason.
_RETIRED_KEYS = {
    "interval_scale": "the interval scale is no longer a setting: grouped cross-validation "
                      "fits it for every trained model (EnsembleRegressor.interval_scale_); "
                      "remove the key",
}


def _check_keys(cls: type, data: Mapping[str, Any], where: str) -> None:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known keys: {sorted(known)}")


@dataclass(frozen=True)
class SearchSpace:
    """Search range of one hyperparameter for Optuna (``[tuning.space.<name>]``)."""

    name: str
    low: float
    high: float
    type: Literal["int", "float"] = "float"
    log: bool = False

    def __post_init__(self) -> None:
        if self.type not in ("int", "float"):
            raise ValueError(f"search space {self.name}: type must be 'int' or 'float'")
        if not self.low < self.high:
            raise ValueError(f"search space {self.name}: low ({self.low}) must be < high "
                             f"({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"search space {self.name}: log scale needs low > 0")
        if self.type == "int" and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError(f"search space {self.name}: int bounds must be whole numbers")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "low": self.low, "high": self.high, "type": self.type,
                "log": self.log}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        _check_keys(cls, data, f"[tuning.space.{data.get('name', '?')}]")
        return cls(**dict(data))


@dataclass(frozen=True)
class TuningConfig:
    """Optuna budget and search space (``[tuning]``)."""

    n_trials: int = 40
    timeout_s: float | None = None
    seed: int = 0
    pruner_startup_trials: int = 5
    pruner_warmup_folds: int = 1
    space: tuple[SearchSpace, ...] = ()

    def __post_init__(self) -> None:
        if self.n_trials < 1:
            raise ValueError(f"[tuning] n_trials must be >= 1, got {self.n_trials}")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError(f"[tuning] timeout_s must be > 0, got {self.timeout_s}")
        names = [s.name for s in self.space]
        if len(set(names)) != len(names):
            raise ValueError(f"[tuning.space] duplicate parameter names: {names}")
        bad = [n for n in names if n not in _ESTIMATOR_KEYS]
        if bad:
            raise ValueError(f"[tuning.space] unknown estimator parameter(s) {bad}; "
                             f"tunable: {list(_ESTIMATOR_KEYS)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_trials": self.n_trials,
            "timeout_s": self.timeout_s,
            "seed": self.seed,
            "pruner_startup_trials": self.pruner_startup_trials,
            "pruner_warmup_folds": self.pruner_warmup_folds,
            "space": {s.name: {k: v for k, v in s.to_dict().items() if k != "name"}
                      for s in self.space},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TuningConfig:
        _check_keys(cls, data, "[tuning]")
        data = dict(data)
        space = data.pop("space", {}) or {}
        return cls(
            **data,
            space=tuple(SearchSpace.from_dict({"name": k, **v}) for k, v in space.items()),
        )


@dataclass(frozen=True)
class ModelConfig:
    """Estimator hyperparameters (``[model]``), validation settings (``[validation]``) and
    tuning (``[tuning]``). ``monotone_constraints`` is stored as sorted ``(feature, sign)``
    pairs so the config stays hashable."""

    n_estimators: int = 300
    max_depth: int = 3
    learning_rate: float = 0.03
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    min_child_weight: float = 3.0
    reg_lambda: float = 5.0
    reg_alpha: float = 0.0
    n_members: int = 20
    bootstrap: bool = True
    random_state: int = 0
    extrapolation_scale: float = 1.0
    device: str = "cpu"
    n_jobs: int = 1
    prior: str | None = None
    monotone_constraints: tuple[tuple[str, int], ...] = ()
    groups: Literal["source", "system"] = "source"
    n_splits: int = 0
    learning_curve_fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
    tuning: TuningConfig = field(default_factory=TuningConfig)

    def __post_init__(self) -> None:
        if self.groups not in ("source", "system"):
            raise ValueError(f"[validation] groups must be 'source' or 'system', got "
                             f"{self.groups!r}")
        if self.n_splits < 0 or self.n_splits == 1:
            raise ValueError("[validation] n_splits must be 0 (leave one group out) or >= 2")
        for feat, sign in self.monotone_constraints:
            if sign not in (-1, 0, 1):
                raise ValueError(f"[model.monotone_constraints] {feat} must be -1, 0 or 1")

    def estimator_params(self) -> dict[str, Any]:
        """Keyword arguments for :class:`coatml.models.estimators.EnsembleRegressor`."""
        params: dict[str, Any] = {k: getattr(self, k) for k in _ESTIMATOR_KEYS}
        params["prior"] = self.prior
        params["monotone_constraints"] = dict(self.monotone_constraints) or None
        return params

    def to_dict(self) -> dict[str, Any]:
        """Nested dict in the TOML layout (``model`` / ``validation`` / ``tuning``)."""
        model = {k: getattr(self, k) for k in _ESTIMATOR_KEYS}
        if self.prior is not None:
            model["prior"] = self.prior
        if self.monotone_constraints:
            model["monotone_constraints"] = dict(self.monotone_constraints)
        return {
            "model": model,
            "validation": {
                "groups": self.groups,
                "n_splits": self.n_splits,
                "learning_curve_fractions": list(self.learning_curve_fractions),
            },
            "tuning": self.tuning.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        unknown = sorted(set(data) - {"model", "validation", "tuning"})
        if unknown:
            raise ValueError(f"unknown section(s) {unknown}; expected model, validation, tuning")
        model = dict(data.get("model", {}))
        validation = dict(data.get("validation", {}))
        known_model = set(_ESTIMATOR_KEYS) | {"prior", "monotone_constraints"}
        retired = sorted(set(model) & set(_RETIRED_KEYS))
        if retired:
            raise ValueError(f"[model] {retired[0]}: {_RETIRED_KEYS[retired[0]]}")
        bad = sorted(set(model) - known_model)
        if bad:
            raise ValueError(f"[model]: unknown key(s) {bad}; known keys: {sorted(known_model)}")
        bad = sorted(set(validation) - {"groups", "n_splits", "learning_curve_fractions"})
        if bad:
            raise ValueError(f"[validation]: unknown key(s) {bad}")
        mono = model.pop("monotone_constraints", {}) or {}
        if "learning_curve_fractions" in validation:
            validation["learning_curve_fractions"] = tuple(
                float(f) for f in validation["learning_curve_fractions"]
            )
        return cls(
            **model,
            **validation,
            monotone_constraints=tuple(sorted((str(k), int(v)) for k, v in mono.items())),
            tuning=TuningConfig.from_dict(data.get("tuning", {})),
        )

    @classmethod
    def from_toml(cls, path: str | Path) -> ModelConfig:
        """Read a config TOML file."""
        path = Path(path)
        with path.open("rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"{path}: not valid TOML: {exc}") from exc
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from exc


def default_config_text() -> str:
    """Text of the shipped ``default.toml`` (package data)."""
    return resources.files("coatml.models").joinpath("data/default.toml").read_text("utf-8")


def load_model_config(path: str | Path | None = None) -> ModelConfig:
    """Load ``path``, or the shipped defaults when ``path`` is ``None``."""
    if path is not None:
        return ModelConfig.from_toml(path)
    return ModelConfig.from_dict(tomllib.loads(default_config_text()))


#: Small, fast ensemble settings for refitting inside a loop (the benchmark's and the pair
#: surrogate's ``estimator="xgboost"``; a project choice, not tuned).
FAST_MODEL_PARAMS: dict[str, Any] = {
    "n_members": 4, "n_estimators": 50, "learning_rate": 0.15, "max_depth": 3,
    "min_child_weight": 1.0, "reg_lambda": 1.0, "subsample": 0.9, "colsample_bytree": 0.8,
}
