"""``sklearn.base.clone`` of the featurizers: an unfitted copy with equal parameters that,
fitted again, gives the same features (on the shipped literature records)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from coatml.data.literature import load_literature
from coatml.features.composition import CompositionFeaturizer
from coatml.features.pipeline import RecordFeaturizer


def test_record_featurizer_clone_is_unfitted_and_refits_to_the_same_features() -> None:
    records = load_literature().records
    fitted = RecordFeaturizer(feature_set="loop", on_missing="nan").fit(records)
    twin = clone(fitted)
    assert twin is not fitted
    assert twin.get_params() == {"feature_set": "loop", "on_missing": "nan"}
    assert not hasattr(twin, "feature_names_out_") and not hasattr(twin, "feature_set_hash_")
    out = twin.fit(records).transform(records)
    pd.testing.assert_frame_equal(out, fitted.transform(records))
    assert twin.feature_set_hash_ == fitted.feature_set_hash_
    assert clone(twin.set_params(feature_set="default")).feature_set == "default"
    assert fitted.feature_set == "loop"  # the original is untouched


def test_composition_featurizer_clone_has_the_parameters_and_not_the_cache() -> None:
    f = CompositionFeaturizer(featurizers=("stoichiometry", "valence_orbital"), impute_nan=True,
                              on_missing="nan")
    first = f.featurize_many(["Li2O", "LiNbO3"])  # fills f's cache
    twin = clone(f)
    assert twin is not f and twin.get_params() == f.get_params()
    assert getattr(twin, "_cache_state", None) is None
    np.testing.assert_array_equal(twin.featurize_many(["Li2O", "LiNbO3"]), first)
    assert twin.set_params(on_missing="raise") is twin
    assert twin.on_missing == "raise" and f.on_missing == "nan"
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['bogus'\]"):
        twin.set_params(bogus=1)
