"""The record featurizer: one scikit-learn transformer from a records table to model features.

:class:`RecordFeaturizer` turns a records DataFrame (the schema of :mod:`coatml.data.schema`)
into a float DataFrame with the same index and prefixed columns:

* ``is_coated`` -- 1 for a coated record, 0 for a bare control (empty ``coating``);
* ``electrode__*``, ``electrolyte__*``, ``coating__*`` -- composition features of each role
  (:class:`~coatml.features.composition.CompositionFeaturizer`); the coating block of a bare
  control is all NaN, never zeros that would look like a material;
* ``interface__*`` -- material classes, anion types, contrasts (:mod:`.interface`);
* ``physics__*`` -- sourced windows, conductivities, film resistance (:mod:`.physics`);
* ``process__*`` -- method, recipe, precursor chemistry (:mod:`.process`);
* ``test__*`` -- test conditions (:mod:`.process`).

Which blocks appear is set by the feature set (:mod:`.featureset`). Each distinct material
string is resolved, described and featurized once per call (rows are mapped by factorised
codes), so a screen of 100,000 rows over a handful of materials costs about as much as the
handful. Target and outcome columns are never read.

Bad input -- an unparsable formula, an unknown alias, an element without a tabulated property --
raises :class:`~coatml.exceptions.ValidationError` naming every affected row (spreadsheet
numbering: header = row 1, first record = row 2; plus the ``record_id`` where there is one) and
the column; with ``on_missing="nan"`` the material's features are NaN and one
:class:`FeatureWarning` counts the affected rows. Never a silent zero.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from coatml.exceptions import FormulaError, Problem, ValidationError
from coatml.features.featureset import ROLES, FeatureSet, load_feature_set

__all__ = ["FeatureWarning", "RecordFeaturizer", "BARE_TOKENS"]

#: Coating texts that mean "no coating" (a bare control).
BARE_TOKENS = frozenset({"", "none", "bare", "-", "--", "nan", "n/a", "na", "null"})
_REQUIRED = ("electrode", "electrolyte")


class FeatureWarning(UserWarning):
    """Some rows could not be featurized and got NaN (``on_missing="nan"``)."""


@dataclass
class _RoleMaterials:
    """Distinct materials of one role: row codes (-1 = none) and per-material results."""

    codes: np.ndarray
    texts: list[str]
    resolved: list[Any]
    descriptors: list[Any]
    errors: dict[int, str]


class RecordFeaturizer(TransformerMixin, BaseEstimator):
    """Featurize records (electrode, electrolyte, coating, recipe, test) for the models.

    Args:
        feature_set: a packaged feature-set name (``"default"``) or the path of a TOML file.
        on_missing: ``"error"`` or ``"nan"``; ``None`` uses the feature set's ``on_missing``.

    Attributes (after ``fit``):
        feature_set_: the resolved :class:`~coatml.features.featureset.FeatureSet`.
        feature_set_hash_: its hash (store it with every model).
        feature_names_out_: output column names.
        on_missing_: the policy in force.
        n_features_in_, feature_names_in_: the input columns seen in ``fit``.
    """

    _parameter_constraints: dict = {
        "feature_set": [str, os.PathLike],
        "on_missing": [StrOptions({"error", "nan"}), None],
    }

    def __init__(self, feature_set: str = "default", on_missing: str | None = None) -> None:
        self.feature_set = feature_set
        self.on_missing = on_missing

    # ------------------------------------------------------------------ sklearn contract

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.two_d_array = False
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: pd.DataFrame, y: Any = None) -> RecordFeaturizer:
        """Resolve the feature set and record the output feature names (nothing is learned
        from the rows; ``X`` is checked for the required columns)."""
        frame = self._check_frame(X)
        fs = load_feature_set(self.feature_set)
        self.feature_set_: FeatureSet = fs
        self.feature_set_hash_ = fs.hash
        self.on_missing_ = self.on_missing if self.on_missing is not None else fs.on_missing
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.feature_names_out_ = np.asarray(self._labels(fs), dtype=object)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names (prefixed by block)."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Features of every record as a float DataFrame with ``X``'s index."""
        check_is_fitted(self, "feature_names_out_")
        frame = self._check_frame(X)
        fs = self.feature_set_
        from coatml.features import interface, physics, process

        n = len(frame)
        # column-major: every block fills whole columns, and pandas keeps the array uncopied
        out = np.empty((n, len(self.feature_names_out_)), order="F")
        pos = 0

        c_codes, c_texts = process.factorize_text(frame, "coating")
        bare = np.array([t.casefold() in BARE_TOKENS for t in c_texts])
        is_coated = ~bare[c_codes]
        out[:, pos] = is_coated
        pos += 1

        materials = {role: self._resolve_role(frame, role, is_coated) for role in ROLES}
        tables = self._composition_tables(fs, materials)
        self._report_problems(frame, materials)

        for role in fs.roles:
            table = tables[role]
            width = table.shape[1]
            codes_ext = np.where(materials[role].codes < 0, table.shape[0] - 1,
                                 materials[role].codes)
            columns = np.ascontiguousarray(table.T)  # one gather per column: fastest
            for j in range(width):
                np.take(columns[j], codes_ext, out=out[:, pos + j])
            pos += width
        codes = {role: materials[role].codes for role in ROLES}
        if "interface" in fs.blocks:
            descs = {role: materials[role].descriptors for role in ROLES}
            block = interface.interface_features(descs, codes)
            out[:, pos:pos + block.shape[1]] = block
            pos += block.shape[1]
        proc_block = None
        unknown_precursors: list[str] = []
        if "process" in fs.blocks or "physics" in fs.blocks:
            proc_block, unknown_precursors = process.process_features(frame, is_coated)
        if "physics" in fs.blocks:
            phys = {
                role: [
                    None if r is None else physics.material_physics(r)
                    for r in materials[role].resolved
                ]
                for role in ROLES
            }
            labels = process.process_feature_labels()
            assert proc_block is not None  # the physics block needs the process block
            thickness = proc_block[:, labels.index("thickness_nm")]
            block = physics.physics_features(phys, codes, thickness)
            out[:, pos:pos + block.shape[1]] = block
            pos += block.shape[1]
        if "process" in fs.blocks and proc_block is not None:
            out[:, pos:pos + proc_block.shape[1]] = proc_block
            pos += proc_block.shape[1]
            process.warn_unknown_precursors(unknown_precursors, n)
        if "test_conditions" in fs.blocks:
            block = process.condition_features(frame)
            out[:, pos:pos + block.shape[1]] = block
            pos += block.shape[1]
        if "prior" in fs.blocks:
            from coatml.features.prior import prior_from_keys

            if proc_block is not None:  # the recipe's thickness, computed once
                thickness = proc_block[:, process.process_feature_labels().index("thickness_nm")]
            else:
                thickness, _flag = process.derived_thickness_nm(frame)
            e, ly = materials["electrode"], materials["electrolyte"]
            triples = np.stack([e.codes, ly.codes, c_codes], axis=1)
            distinct, row_codes = np.unique(triples, axis=0, return_inverse=True)
            keys = [(e.texts[i], ly.texts[j], c_texts[k]) for i, j, k in distinct]
            block = prior_from_keys(keys, row_codes.reshape(-1), is_coated, thickness)
            out[:, pos:pos + block.shape[1]] = block
            pos += block.shape[1]
        if pos != out.shape[1]:  # pragma: no cover - guards the label/block bookkeeping
            raise RuntimeError(f"feature bookkeeping: filled {pos} of {out.shape[1]} columns")
        return pd.DataFrame(out, index=frame.index, columns=list(self.feature_names_out_))

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _check_frame(X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                "RecordFeaturizer expects a records DataFrame (columns electrode, electrolyte, "
                f"coating, ...), got {type(X).__name__}"
            )
        missing = [c for c in _REQUIRED if c not in X.columns]
        if missing:
            raise ValidationError(
                [Problem(None, c, "required column is missing") for c in missing],
                source="RecordFeaturizer",
            )
        return X

    @staticmethod
    def _labels(fs: FeatureSet) -> list[str]:
        from coatml.features import interface, physics, process

        labels = ["is_coated"]
        if fs.composition_featurizers and fs.roles:
            comp = _composition_featurizer(fs)
            comp_labels = comp.feature_labels()
            for role in fs.roles:
                labels += [f"{role}__{label}" for label in comp_labels]
        if "interface" in fs.blocks:
            labels += [f"interface__{label}" for label in interface.interface_feature_labels()]
        if "physics" in fs.blocks:
            labels += [f"physics__{label}" for label in physics.physics_feature_labels()]
        if "process" in fs.blocks:
            labels += [f"process__{label}" for label in process.process_feature_labels()]
        if "test_conditions" in fs.blocks:
            labels += [f"test__{label}" for label in process.condition_feature_labels()]
        if "prior" in fs.blocks:
            from coatml.features.prior import prior_feature_labels

            labels += [f"prior__{label}" for label in prior_feature_labels()]
        return labels

    def _resolve_role(self, frame: pd.DataFrame, role: str, is_coated: np.ndarray
                      ) -> _RoleMaterials:
        from coatml.data.formulas import resolve_material
        from coatml.features.interface import describe_material
        from coatml.features.process import factorize_text

        codes, uniques = factorize_text(frame, role)
        resolved: list[Any] = []
        descriptors: list[Any] = []
        errors: dict[int, str] = {}
        for u, text in enumerate(uniques):
            if role == "coating" and text.casefold() in BARE_TOKENS:
                resolved.append(None)
                descriptors.append(None)
                continue
            try:
                if not text:
                    raise FormulaError("empty material name")
                material = resolve_material(text)
                desc = describe_material(material)
            except FormulaError as exc:
                errors[u] = str(exc)
                resolved.append(None)
                descriptors.append(None)
                continue
            resolved.append(material)
            descriptors.append(desc)
        if role == "coating":
            codes = np.where(is_coated, codes, -1)
        return _RoleMaterials(codes, list(uniques), resolved, descriptors, errors)

    def _composition_tables(self, fs: FeatureSet, materials: dict[str, _RoleMaterials]
                            ) -> dict[str, np.ndarray]:
        """Per role: composition features of each distinct material, plus a final NaN row
        (for bare coatings and unusable materials)."""
        if not (fs.composition_featurizers and fs.roles):
            return {}
        featurizer = _composition_featurizer(fs)
        n_feat = len(featurizer.feature_labels())
        blocks: dict[str, np.ndarray] = {}
        for role in fs.roles:
            mats = materials[role]
            idx = [i for i, r in enumerate(mats.resolved) if r is not None]
            table = np.full((len(mats.resolved) + 1, n_feat), np.nan)
            if idx:
                comps = [mats.resolved[i].composition for i in idx]
                try:
                    table[idx] = featurizer.featurize_many(comps)
                except FormulaError:
                    for i, comp in zip(idx, comps, strict=True):
                        try:
                            table[i] = featurizer.featurize_many([comp])[0]
                        except FormulaError as exc:
                            mats.errors[i] = str(exc)
                            mats.resolved[i] = None
                            mats.descriptors[i] = None
            blocks[role] = table
        return blocks

    def _report_problems(self, frame: pd.DataFrame, materials: dict[str, _RoleMaterials]
                         ) -> None:
        problems: list[Problem] = []
        affected = np.zeros(len(frame), dtype=bool)
        from coatml.features.process import factorize_text

        id_codes: np.ndarray | None = None
        id_texts: list[str] = []
        for role in ROLES:
            mats = materials[role]
            if not mats.errors:
                continue
            bad_codes = np.fromiter(mats.errors, dtype=np.intp)
            rows = np.flatnonzero(np.isin(mats.codes, bad_codes))
            affected[rows] = True
            if self.on_missing_ != "error":
                continue
            for r in rows[:200]:
                reason = mats.errors[int(mats.codes[r])]
                if id_codes is None:
                    id_codes, id_texts = factorize_text(frame, "record_id")
                record_id = id_texts[id_codes[r]]
                if record_id:
                    reason = f"record_id '{record_id}': {reason}"
                problems.append(Problem(int(r) + 2, role, reason))
            if len(rows) > 200:
                problems.append(Problem(None, role, f"... {len(rows) - 200} more rows with "
                                                    "the same problems"))
        if problems:
            problems.sort(key=lambda p: (p.row is None, p.row or 0))
            raise ValidationError(problems, source="RecordFeaturizer.transform")
        if affected.any():
            warnings.warn(
                f"{int(affected.sum())} of {len(frame)} row(s) contain a material that could "
                "not be resolved or featurized (unparsable formula, unknown alias or element "
                "without tabulated data); its features are NaN (on_missing='nan')",
                FeatureWarning,
                stacklevel=3,
            )


def _composition_featurizer(fs: FeatureSet):
    """One cached CompositionFeaturizer per (featurizers, impute_nan) in this process."""
    from coatml.features.composition import CompositionFeaturizer

    key = (fs.composition_featurizers, fs.impute_nan)
    cached = _FEATURIZERS.get(key)
    if cached is None:
        cached = CompositionFeaturizer(featurizers=fs.composition_featurizers,
                                       impute_nan=fs.impute_nan)
        _FEATURIZERS[key] = cached
    return cached


_FEATURIZERS: dict[tuple[tuple[str, ...], bool], Any] = {}
