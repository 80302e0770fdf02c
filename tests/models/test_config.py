"""Model config: TOML loading, shipped copy, dict round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coatml.models.config import (
    ModelConfig,
    SearchSpace,
    TuningConfig,
    default_config_text,
    load_model_config,
)
from coatml.models.estimators import EnsembleRegressor

REPO = Path(__file__).resolve().parents[2]


def test_shipped_copy_equals_repository_default():
    assert default_config_text() == (REPO / "models" / "default.toml").read_text("utf-8")


def test_default_config_loads_and_builds_estimator():
    cfg = load_model_config()
    assert cfg == ModelConfig.from_toml(REPO / "models" / "default.toml")
    assert cfg.tuning.n_trials >= 1 and cfg.tuning.space
    model = EnsembleRegressor(**cfg.estimator_params())
    assert isinstance(model, EnsembleRegressor)
    assert model.max_depth == cfg.max_depth and model.n_members == cfg.n_members
    # every search-space name is a real estimator parameter
    assert {s.name for s in cfg.tuning.space} <= set(model.get_params())


def test_unknown_key_is_an_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nmax_dept = 3\n")
    with pytest.raises(ValueError, match="max_dept"):
        ModelConfig.from_toml(bad)
    bad.write_text("[tuning.space.max_depth]\nlow = 5\nhigh = 2\ntype = 'int'\n")
    with pytest.raises(ValueError, match="low"):
        ModelConfig.from_toml(bad)


def test_interval_scale_is_not_a_setting(tmp_path):
    """The interval scale is fitted by grouped CV; a config of an earlier version that sets it
    gets an error saying so, not a silently ignored key."""
    old = tmp_path / "old.toml"
    old.write_text("[model]\ninterval_scale = 1.0\n")
    with pytest.raises(ValueError, match="interval_scale: .*cross-validation fits it"):
        ModelConfig.from_toml(old)
    assert "interval_scale" not in load_model_config().estimator_params()
    bad = tmp_path / "tune.toml"
    bad.write_text("[tuning.space.interval_scale]\nlow = 0.5\nhigh = 2.0\n")
    with pytest.raises(ValueError, match="unknown estimator parameter"):
        ModelConfig.from_toml(bad)


_names = st.sampled_from(["max_depth", "learning_rate", "reg_lambda", "subsample"])


@st.composite
def _spaces(draw):
    chosen = draw(st.lists(_names, unique=True, max_size=4))
    out = []
    for name in chosen:
        low = draw(st.integers(1, 50))
        high = low + draw(st.integers(1, 50))
        kind = draw(st.sampled_from(["int", "float"]))
        out.append(SearchSpace(name=name, low=float(low), high=float(high), type=kind,
                               log=draw(st.booleans())))
    return tuple(out)


@settings(max_examples=60, deadline=None)
@given(
    n_estimators=st.integers(1, 2000),
    max_depth=st.integers(1, 12),
    learning_rate=st.floats(1e-4, 1.0),
    n_members=st.integers(1, 100),
    prior=st.one_of(st.none(), st.just("physics"), st.text(min_size=1, max_size=10)),
    mono=st.dictionaries(st.text(min_size=1, max_size=8), st.sampled_from([-1, 0, 1]),
                         max_size=4),
    groups=st.sampled_from(["source", "system"]),
    n_splits=st.sampled_from([0, 2, 5]),
    fractions=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=5),
    n_trials=st.integers(1, 500),
    timeout=st.one_of(st.none(), st.floats(1.0, 1e5)),
    space=_spaces(),
)
def test_to_dict_from_dict_round_trip(n_estimators, max_depth, learning_rate, n_members, prior,
                                      mono, groups, n_splits, fractions, n_trials, timeout, space):
    cfg = ModelConfig(
        n_estimators=n_estimators, max_depth=max_depth, learning_rate=learning_rate,
        n_members=n_members, prior=prior,
        monotone_constraints=tuple(sorted(mono.items())), groups=groups, n_splits=n_splits,
        learning_curve_fractions=tuple(fractions),
        tuning=TuningConfig(n_trials=n_trials, timeout_s=timeout, space=space),
    )
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert TuningConfig.from_dict(cfg.tuning.to_dict()) == cfg.tuning
