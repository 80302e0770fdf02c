"""Models that start from the physics prior: GP prior mean, XGBoost base_margin, the prior
surrogate of a pair without records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from coatml.features.prior import prior_column, prior_for
from coatml.models.gaussian_process import DescriptorGP
from coatml.models.surrogate import PriorSurrogate, RecordModel

NMC, LPSCL = "LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl"
RET = "capacity_retention_pct"


def _frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x0": rng.uniform(-1, 1, n), "p": rng.uniform(50, 90, n)})
    y = X["p"].to_numpy() + 2.0 * X["x0"].to_numpy() + rng.normal(0, 0.1, n)
    return X, y


def test_gp_prior_mean_is_taken_back_far_from_the_data() -> None:
    X, y = _frame(12)
    gp = DescriptorGP(descriptors={"x0": 0.5}, prior="p", random_state=0).fit(X, y)
    far = pd.DataFrame({"x0": [40.0, 40.0], "p": [60.0, 80.0]})
    pred = gp.predict(far)
    # the learned part is the same for both rows: the difference is the prior's
    assert pred[1] - pred[0] == pytest.approx(20.0, abs=1e-6)
    plain = DescriptorGP(descriptors={"x0": 0.5}, random_state=0).fit(X, y)
    assert plain.predict(far)[1] - plain.predict(far)[0] == pytest.approx(0.0, abs=1e-6)


def test_gp_prior_refuses_a_missing_column() -> None:
    X, y = _frame(8)
    with pytest.raises(ValueError, match="prior column"):
        DescriptorGP(descriptors={"x0": 0.5}, prior="nope").fit(X, y)


def test_gp_condition_keeps_the_prior() -> None:
    X, y = _frame(10)
    gp = DescriptorGP(descriptors={"x0": 0.5}, prior="p", random_state=0).fit(X, y)
    new = pd.DataFrame({"x0": [0.3], "p": [70.0]})
    mean = gp.predict(new)
    cond = gp.condition(new, mean)
    assert cond.predict(new)[0] == pytest.approx(mean[0], abs=1e-6)
    assert cond.predict_dist(new)["epistemic_std"].iloc[0] < \
        gp.predict_dist(new)["epistemic_std"].iloc[0]


def _space(coatings: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"electrode": NMC, "electrolyte": LPSCL, "coating": coatings,
                         "coated_component": "electrode", "method": "ALD",
                         "thickness_nm": 2.5, "cycle_number": 100.0})


def test_prior_surrogate_ranks_a_pair_without_records_by_the_prior() -> None:
    coatings = ["Co3O4", "Li3PO4", "LiNbO3", "Al2O3", "MnO", "ZrO2"]
    model = PriorSurrogate(RET).fit()
    dist = model.predict_dist(_space(coatings))
    expected = prior_for(NMC, LPSCL, coatings)
    np.testing.assert_allclose(dist["mean"], expected["prior_capacity_retention_pct"])
    np.testing.assert_allclose(dist["std"], expected["prior_capacity_retention_pct_std"])
    assert model.prior_feature() == prior_column(RET)
    assert dist.loc[[0, 4], "mean"].max() < dist.loc[[1, 2, 3], "mean"].min()


def test_record_model_with_prior_learns_the_departure(literature_records: pd.DataFrame) -> None:
    from coatml.models.config import FAST_MODEL_PARAMS

    params = {**FAST_MODEL_PARAMS, "random_state": 0}
    with_prior = RecordModel(RET, estimator_params=params, min_records=5,
                             prior=True).fit(literature_records)
    without = RecordModel(RET, estimator_params=params, min_records=5).fit(literature_records)
    assert with_prior.prior_feature() == prior_column(RET)
    assert without.prior_feature() is None
    assert not any(c.startswith("prior__") for c in without.feature_names_)
    from coatml.recommend.library import load_coating_library

    names = sorted(set(load_coating_library()["coating"]))
    space = _space(names)
    p = with_prior.predict_dist(space)["mean"].to_numpy()
    q = without.predict_dist(space)["mean"].to_numpy()
    prior = prior_for(NMC, LPSCL, names)["prior_capacity_retention_pct"].to_numpy()
    # the prior-started model follows the physics on an unseen pair, today's model does not
    assert spearmanr(p, prior).statistic > 0.8
    assert spearmanr(p, prior).statistic > spearmanr(q, prior).statistic
    at = dict(zip(names, p, strict=True))
    assert max(at["Co3O4"], at["MnO"], at["Cu2O"]) < min(at["Li3PO4"], at["LiNbO3"])


@pytest.fixture(scope="module")
def literature_records() -> pd.DataFrame:
    from coatml.data.literature import load_literature

    return load_literature().records


def test_gp_fits_when_a_descriptor_is_missing_on_every_row() -> None:
    import warnings

    X, y = _frame(6)
    X["w"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no All-NaN RuntimeWarning reaches the user
        gp = DescriptorGP(descriptors={"x0": 0.5, "w": 1.0}, random_state=0).fit(X, y)
    assert np.isfinite(gp.predict(X)).all()
    assert gp.fill_values_[1] == 0.0
