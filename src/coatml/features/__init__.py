"""coatml.features: from records to model features.

The public names are imported lazily (PEP 562) so that ``import coatml.features`` stays light:
scikit-learn, pandas, pymatgen and matminer load only when a name is first used.

* :class:`RecordFeaturizer` -- the scikit-learn transformer (records DataFrame -> features).
* :class:`FeatureSet`, :func:`load_feature_set`, :func:`available_feature_sets` -- TOML feature
  sets.
* :class:`CompositionFeaturizer` -- matminer composition features, vectorised and cached.
* :func:`parse_precursors` -- precursor text -> delivered elements and ligand families.
* :func:`stability_window`, :func:`film_conductivity`, :func:`electrode_voltage_range` --
  sourced physics lookups; :func:`describe_material` -- interface descriptors.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "RecordFeaturizer": "coatml.features.pipeline",
    "FeatureWarning": "coatml.features.pipeline",
    "FeatureSet": "coatml.features.featureset",
    "FeatureSetError": "coatml.features.featureset",
    "load_feature_set": "coatml.features.featureset",
    "available_feature_sets": "coatml.features.featureset",
    "CompositionFeaturizer": "coatml.features.composition",
    "parse_precursors": "coatml.features.process",
    "PrecursorWarning": "coatml.features.process",
    "stability_window": "coatml.features.physics",
    "film_conductivity": "coatml.features.physics",
    "electrode_voltage_range": "coatml.features.physics",
    "describe_material": "coatml.features.interface",
}

__all__ = [
    "CompositionFeaturizer",
    "FeatureSet",
    "FeatureSetError",
    "FeatureWarning",
    "PrecursorWarning",
    "RecordFeaturizer",
    "available_feature_sets",
    "describe_material",
    "electrode_voltage_range",
    "film_conductivity",
    "load_feature_set",
    "parse_precursors",
    "stability_window",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from coatml.features.composition import CompositionFeaturizer
    from coatml.features.featureset import (
        FeatureSet,
        FeatureSetError,
        available_feature_sets,
        load_feature_set,
    )
    from coatml.features.interface import describe_material
    from coatml.features.physics import (
        electrode_voltage_range,
        film_conductivity,
        stability_window,
    )
    from coatml.features.pipeline import FeatureWarning, RecordFeaturizer
    from coatml.features.process import PrecursorWarning, parse_precursors


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'coatml.features' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
