"""Feature sets: which features a model sees, declared in TOML and hashed.

A feature set names the composition featurizers and the roles they describe, the extra blocks
(interface, physics, process, test_conditions, prior) and what to do with bad input
(``on_missing``).
The format is documented in ``features/README.md``. Packaged definitions live in
``coatml/features/data/<name>.toml`` (the source of truth, shipped with the package); the repo's
``features/`` folder holds a copy for reading and editing, and a test checks they agree. Any
other TOML file can be loaded by path.

``FeatureSet.hash`` is the sha256 of the canonical definition (parsed TOML, so comments and
key order do not matter), the composition featurizer's ``table_hash()``, the physics tables'
bytes, the precursor vocabulary and every block's labels: a model trained with one hash was
trained on exactly these features.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from coatml.exceptions import CoatmlError

__all__ = [
    "BLOCKS",
    "ROLES",
    "FeatureSet",
    "FeatureSetError",
    "available_feature_sets",
    "load_feature_set",
]

ROLES: tuple[str, ...] = ("electrode", "electrolyte", "coating")
BLOCKS: tuple[str, ...] = ("interface", "physics", "process", "test_conditions", "prior")
ON_MISSING: tuple[str, ...] = ("error", "nan")
_TOP_KEYS = {"feature_set", "composition", "blocks"}
_SET_KEYS = {"name", "version", "description", "on_missing"}
_COMP_KEYS = {"featurizers", "roles", "impute_nan"}


class FeatureSetError(CoatmlError, ValueError):
    """A feature-set definition that cannot be found or is malformed."""


@dataclass(frozen=True)
class FeatureSet:
    """A resolved feature-set definition.

    ``blocks`` lists the extra blocks switched on, in :data:`BLOCKS` order; ``source`` says
    where the definition was read from.
    """

    name: str
    version: int
    description: str
    composition_featurizers: tuple[str, ...]
    roles: tuple[str, ...]
    impute_nan: bool
    blocks: tuple[str, ...]
    on_missing: str
    hash: str
    source: str

    def definition(self) -> dict[str, Any]:
        """The canonical definition (what is hashed, apart from the tables)."""
        return _canonical(self.name, self.version, self.description, self.on_missing,
                          self.composition_featurizers, self.roles, self.impute_nan, self.blocks)


def _canonical(name: str, version: int, description: str, on_missing: str,
               featurizers: tuple[str, ...], roles: tuple[str, ...], impute_nan: bool,
               blocks: tuple[str, ...]) -> dict[str, Any]:
    return {
        "feature_set": {"name": name, "version": version, "description": description,
                        "on_missing": on_missing},
        "composition": {"featurizers": list(featurizers), "roles": list(roles),
                        "impute_nan": impute_nan},
        "blocks": {b: (b in blocks) for b in BLOCKS},
    }


def available_feature_sets() -> list[str]:
    """Names of the packaged feature sets."""
    root = resources.files("coatml.features.data")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def _read(name_or_path: str | os.PathLike[str]) -> tuple[str, str]:
    text_name = os.fspath(name_or_path)
    path = Path(text_name)
    if text_name.endswith(".toml") or path.exists():
        if not path.is_file():
            raise FeatureSetError(f"feature-set file not found: {path}")
        return path.read_text(encoding="utf-8"), str(path)
    if text_name not in available_feature_sets():
        raise FeatureSetError(
            f"unknown feature set '{text_name}'; packaged sets: {available_feature_sets()} "
            "(or pass the path of a .toml file)"
        )
    res = resources.files("coatml.features.data").joinpath(f"{text_name}.toml")
    return res.read_text(encoding="utf-8"), f"package:coatml.features.data/{text_name}.toml"


def _expect(cond: bool, source: str, message: str) -> None:
    if not cond:
        raise FeatureSetError(f"{source}: {message}")


def load_feature_set(name_or_path: str | os.PathLike[str] = "default") -> FeatureSet:
    """Load, validate and hash a feature set by packaged name or TOML path."""
    from coatml.features.composition import FEATURIZER_NAMES

    text, source = _read(name_or_path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FeatureSetError(f"{source}: not valid TOML ({exc})") from None
    _expect(not set(raw) - _TOP_KEYS, source,
            f"unknown table(s) {sorted(set(raw) - _TOP_KEYS)}; allowed: {sorted(_TOP_KEYS)}")
    meta = raw.get("feature_set", {})
    comp = raw.get("composition", {})
    blocks_raw = raw.get("blocks", {})
    _expect(not set(meta) - _SET_KEYS, source, f"unknown [feature_set] keys "
            f"{sorted(set(meta) - _SET_KEYS)}")
    _expect(not set(comp) - _COMP_KEYS, source, f"unknown [composition] keys "
            f"{sorted(set(comp) - _COMP_KEYS)}")
    _expect(not set(blocks_raw) - set(BLOCKS), source,
            f"unknown [blocks] {sorted(set(blocks_raw) - set(BLOCKS))}; allowed: {BLOCKS}")
    name = meta.get("name")
    _expect(isinstance(name, str) and bool(name), source, "[feature_set] name is required")
    version = meta.get("version", 1)
    _expect(isinstance(version, int) and not isinstance(version, bool), source,
            "[feature_set] version must be an integer")
    on_missing = meta.get("on_missing", "error")
    _expect(on_missing in ON_MISSING, source, f"on_missing must be one of {ON_MISSING}")
    featurizers = tuple(comp.get("featurizers", ()))
    bad = [f for f in featurizers if f not in FEATURIZER_NAMES]
    _expect(not bad, source, f"unknown composition featurizer(s) {bad}; known: "
            f"{FEATURIZER_NAMES}")
    _expect(len(set(featurizers)) == len(featurizers), source, "featurizers repeat")
    roles = tuple(comp.get("roles", ROLES if featurizers else ()))
    _expect(all(r in ROLES for r in roles) and len(set(roles)) == len(roles), source,
            f"roles must be distinct names from {ROLES}")
    impute_nan = comp.get("impute_nan", False)
    _expect(isinstance(impute_nan, bool), source, "impute_nan must be true or false")
    for key, value in blocks_raw.items():
        _expect(isinstance(value, bool), source, f"[blocks] {key} must be true or false")
    blocks = tuple(b for b in BLOCKS if blocks_raw.get(b, False))
    _expect(bool(featurizers and roles) or bool(blocks), source, "the feature set is empty")
    description = str(meta.get("description", ""))
    definition = _canonical(name, version, description, on_missing, featurizers, roles,
                            impute_nan, blocks)
    digest = _hash(definition, featurizers, impute_nan)
    return FeatureSet(name=name, version=version, description=description,
                      composition_featurizers=featurizers, roles=roles, impute_nan=impute_nan,
                      blocks=blocks, on_missing=on_missing, hash=digest, source=source)


def _hash(definition: dict[str, Any], featurizers: tuple[str, ...], impute_nan: bool) -> str:
    from coatml.features.interface import interface_feature_labels
    from coatml.features.physics import physics_feature_labels, physics_tables_hash
    from coatml.features.process import (
        PRECURSOR_VOCABULARY,
        condition_feature_labels,
        process_feature_labels,
    )

    h = hashlib.sha256()
    h.update(json.dumps(definition, sort_keys=True, separators=(",", ":")).encode())
    if featurizers:
        from coatml.features.composition import CompositionFeaturizer

        h.update(CompositionFeaturizer(featurizers=featurizers,
                                       impute_nan=impute_nan).table_hash().encode())
    h.update(physics_tables_hash().encode())
    if "prior" in definition.get("blocks", {}) and definition["blocks"]["prior"]:
        from coatml.features.prior import prior_table_hash

        h.update(prior_table_hash().encode())
    h.update(repr(PRECURSOR_VOCABULARY).encode())
    for labels in (interface_feature_labels(), physics_feature_labels(),
                   process_feature_labels(), condition_feature_labels()):
        h.update(json.dumps(labels).encode())
    return h.hexdigest()
