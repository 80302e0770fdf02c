"""Why a recipe got its prediction, in words a reader follows: readable feature labels and the
top-k contributions per recipe, from a surrogate's ``"explain"`` capability (exact TreeSHAP of
the boosted ensemble, :mod:`coatml.models.explain`). Values are in model space: percentage
points of capacity retention, decades (log10 ohm cm2) of interface resistance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from coatml.models.explain import ShapValues, shap_from_features

__all__ = ["ShapValues", "readable_label", "shap_from_features", "shap_values",
           "top_contributions"]

#: Readable names of the feature-block prefixes of the record featurizer.
_BLOCKS = {"electrode": "electrode", "electrolyte": "electrolyte", "coating": "coating",
           "interface": "interface", "physics": "physics", "process": "process",
           "test": "test conditions"}


def readable_label(feature: str) -> str:
    """``"coating__MagpieData mean Electronegativity"`` -> ``"coating: MagpieData mean
    Electronegativity"``; ``"process__thickness_nm"`` -> ``"process: thickness nm"``."""
    block, sep, rest = feature.partition("__")
    if not sep:
        return feature.replace("_", " ")
    name = _BLOCKS.get(block, block)
    if block in ("electrode", "electrolyte", "coating"):
        return f"{name}: {rest}"
    return f"{name}: {rest.replace('_', ' ')}"


def shap_values(surrogate: Any, records: pd.DataFrame, member: int | None = None) -> ShapValues:
    """SHAP values of a :class:`~coatml.models.surrogate.Surrogate` for record rows."""
    return surrogate.explain_features(surrogate.featurize(records), member)


def top_from_values(values: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The ``k`` largest-magnitude contributions per row of a SHAP value table, long format:
    ``row`` (index label), ``rank`` (1 = largest), ``feature``, ``label``, ``shap_value``."""
    arr = values.to_numpy(dtype=float)
    k = min(k, arr.shape[1])
    mag = np.where(np.isfinite(arr), np.abs(arr), -np.inf)
    # stable sort on -|value|: ties keep column order, so the output is deterministic
    order = np.argsort(-mag, axis=1, kind="stable")[:, :k]
    rows = np.repeat(np.arange(arr.shape[0]), k)
    cols = order.ravel()
    names = np.asarray(values.columns, dtype=object)
    return pd.DataFrame({
        "row": values.index.to_numpy()[rows],
        "rank": np.tile(np.arange(1, k + 1), arr.shape[0]),
        "feature": names[cols],
        "label": [readable_label(str(n)) for n in names[cols]],
        "shap_value": arr[rows, cols],
    })


def top_contributions(surrogate: Any, records: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The ``k`` features that pushed each record's prediction most (largest ``|SHAP|``).

    Returns one row per (record, rank): ``row`` (the records' index label), ``rank``,
    ``feature`` (model feature name), ``label`` (readable, e.g. ``"coating: MagpieData mean
    Electronegativity"``), ``shap_value`` (model space; see the module docstring) and
    ``feature_value``.
    """
    X = surrogate.featurize(records)
    shap = surrogate.explain_features(X)
    out = top_from_values(shap.values, k)
    pos = np.repeat(np.arange(len(X)), min(k, X.shape[1]))
    col = pd.Index(shap.values.columns).get_indexer(out["feature"])
    X = X.reindex(columns=shap.values.columns)
    out["feature_value"] = X.to_numpy(dtype=float)[pos, col]
    return out
