"""RecordFeaturizer: the scikit-learn contract, bare controls, bad input, feature-set hashing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from coatml.exceptions import ValidationError
from coatml.features import (
    FeatureSetError,
    FeatureWarning,
    PrecursorWarning,
    RecordFeaturizer,
    load_feature_set,
)

REPO = Path(__file__).resolve().parents[2]


def _records() -> pd.DataFrame:
    rows = [
        dict(record_id="a1", electrode="NMC811", electrolyte="Li10GeP2S12", coating="LiNbO3",
             method="ALD", precursors="(CH3)3COLi/Nb(OC2H5)5", temperature_c=235.0,
             gpc_angstrom=2.0, cycles=10.0, cycle_number=50.0, c_rate=0.1, cell_type="full",
             capacity_retention_pct=90.0),
        dict(record_id="a2", electrode="NMC811", electrolyte="Li10GeP2S12", coating="",
             method="none", cycle_number=50.0, c_rate=0.1, cell_type="full",
             capacity_retention_pct=40.0),
        dict(record_id="b1", electrode="Li", electrolyte="LLZO", coating="ZnO", method="ALD",
             precursors="DEZ/H2O", temperature_c=150.0, thickness_nm=5.0, cell_type="symmetric",
             current_density_ma_cm2=0.1),
        dict(record_id="c1", electrode="Li", electrolyte="LSPS", coating="alucone", method="MLD",
             precursors="TMA/(CH2OH)2", temperature_c=85.0, gpc_angstrom=0.3, cycles=20.0),
    ]
    return pd.DataFrame(rows, index=[10, 20, 30, 40])


@pytest.fixture(scope="module")
def fitted() -> RecordFeaturizer:
    return RecordFeaturizer().fit(_records())


def test_output_columns_index_and_blocks(fitted):
    records = _records()
    out = fitted.transform(records)
    assert list(out.index) == list(records.index)
    assert list(out.columns) == list(fitted.get_feature_names_out())
    assert out.dtypes.map(lambda d: d == np.float64).all()
    prefixes = {c.split("__")[0] for c in out.columns}
    assert prefixes == {"is_coated", "electrode", "electrolyte", "coating", "interface",
                        "physics", "process", "test", "prior"}
    n_comp = len([c for c in out.columns if c.startswith("coating__")])
    assert n_comp == len([c for c in out.columns if c.startswith("electrode__")]) > 100
    # targets never leak: only the prior block names them, and it does not read them
    assert not any("capacity_retention" in c for c in out.columns if not c.startswith("prior__"))
    changed = records.assign(capacity_retention_pct=1.0, interface_resistance_ohm_cm2=1e6)
    prior_cols = [c for c in out.columns if c.startswith("prior__")]
    pd.testing.assert_frame_equal(fitted.transform(changed)[prior_cols], out[prior_cols])
    assert len(fitted.feature_set_hash_) == 64


def test_bare_control_has_nan_coating_block_and_is_coated_zero(fitted):
    out = fitted.transform(_records())
    assert out["is_coated"].tolist() == [1.0, 0.0, 1.0, 1.0]
    coating_cols = [c for c in out.columns if c.startswith("coating__")
                    or c.startswith("interface__coating_")
                    or c.startswith("physics__coating_")]
    assert out.loc[20, coating_cols].isna().all()
    assert out.loc[10, coating_cols].notna().any()
    assert out.loc[20, "process__method_none"] == 1.0
    # electrode and electrolyte features of the bare control equal those of its coated pair
    shared = [c for c in out.columns if c.startswith(("electrode__", "electrolyte__"))]
    pd.testing.assert_series_equal(out.loc[10, shared], out.loc[20, shared], check_names=False)


def test_repeated_materials_give_identical_rows(fitted):
    records = pd.concat([_records()] * 50, ignore_index=True)
    out = fitted.transform(records)
    assert out.shape[0] == 200
    first = out.iloc[:4].to_numpy()
    np.testing.assert_array_equal(out.iloc[100:104].to_numpy(), first)


def test_clone_pipeline_and_set_output():
    featurizer = RecordFeaturizer(on_missing="nan")
    cloned = clone(featurizer)
    assert cloned.get_params() == {"feature_set": "default", "on_missing": "nan"}
    assert not hasattr(cloned, "feature_names_out_")
    pipe = Pipeline([("features", RecordFeaturizer()),
                     ("impute", SimpleImputer(keep_empty_features=True))])
    pipe.set_output(transform="pandas")
    out = pipe.fit_transform(_records())
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == list(_records().index)
    names = pipe.get_feature_names_out()
    assert list(out.columns) == list(names)
    assert not out.isna().any().any()
    single = RecordFeaturizer().set_output(transform="pandas").fit(_records())
    assert list(single.transform(_records()).columns) == list(single.get_feature_names_out())


def test_invalid_parameters_and_inputs():
    with pytest.raises(InvalidParameterError):
        RecordFeaturizer(on_missing="ignore").fit(_records())
    with pytest.raises(FeatureSetError, match="unknown feature set"):
        RecordFeaturizer(feature_set="no-such-set").fit(_records())
    with pytest.raises(TypeError, match="DataFrame"):
        RecordFeaturizer().fit(np.zeros((3, 3)))
    with pytest.raises(ValidationError, match="electrolyte"):
        RecordFeaturizer().fit(_records().drop(columns=["electrolyte"]))


def test_unknown_formula_names_row_column_and_record_id(fitted):
    records = _records()
    records.loc[30, "coating"] = "Xq2O3"
    records.loc[40, "electrolyte"] = "no-such-alias"
    with pytest.raises(ValidationError) as info:
        fitted.transform(records)
    problems = info.value.problems
    assert [(p.row, p.column) for p in problems] == [(4, "coating"), (5, "electrolyte")]
    assert "record_id 'b1'" in problems[0].reason and "Xq" in problems[0].reason
    assert "record_id 'c1'" in problems[1].reason


def test_unknown_formula_with_on_missing_nan_warns_and_gives_nan():
    records = _records()
    records.loc[30, "coating"] = "Xq2O3"
    featurizer = RecordFeaturizer(on_missing="nan").fit(records)
    with pytest.warns(FeatureWarning, match="1 of 4 row"):
        out = featurizer.transform(records)
    coating_cols = [c for c in out.columns if c.startswith("coating__")]
    assert out.loc[30, coating_cols].isna().all()
    assert out.loc[30, "is_coated"] == 1.0  # it is coated; the material is unknown
    assert out.loc[10, coating_cols].notna().any()


def test_element_without_tabulated_property_is_an_error(fitted):
    records = _records()
    records.loc[40, "coating"] = "LiAr"
    with pytest.raises(ValidationError, match="row 5, column coating"):
        fitted.transform(records)


def test_unknown_precursor_tokens_warn_and_count(fitted):
    records = _records()
    records.loc[30, "precursors"] = "DEZ/unobtainium"
    with pytest.warns(PrecursorWarning, match="unobtainium"):
        out = fitted.transform(records)
    assert out.loc[30, "process__precursor_unknown_tokens"] == 1.0
    assert out.loc[10, "process__precursor_unknown_tokens"] == 0.0


def test_repo_copy_of_default_feature_set_agrees_with_package_data():
    repo = (REPO / "features" / "default.toml").read_bytes()
    package = (REPO / "src" / "coatml" / "features" / "data" / "default.toml").read_bytes()
    assert repo == package


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


_BASE = """
[feature_set]
name = "small"
version = 1
on_missing = "error"

[composition]
featurizers = ["stoichiometry"]
roles = ["coating"]

[blocks]
process = true
"""


def test_feature_hash_changes_when_the_toml_changes(tmp_path):
    base = load_feature_set(_write(tmp_path, "a.toml", _BASE))
    commented = load_feature_set(_write(tmp_path, "b.toml", "# a comment\n" + _BASE))
    more = load_feature_set(_write(tmp_path, "c.toml", _BASE + "physics = true\n"))
    other_roles = load_feature_set(
        _write(tmp_path, "d.toml", _BASE.replace('["coating"]', '["coating", "electrode"]'))
    )
    assert base.hash == commented.hash  # comments do not change the definition
    assert len({base.hash, more.hash, other_roles.hash}) == 3
    assert load_feature_set("default").hash != base.hash


def test_custom_feature_set_controls_the_columns(tmp_path):
    path = _write(tmp_path, "small.toml", _BASE)
    featurizer = RecordFeaturizer(feature_set=str(path)).fit(_records())
    names = featurizer.get_feature_names_out()
    assert {n.split("__")[0] for n in names} == {"is_coated", "coating", "process"}
    assert len([n for n in names if n.startswith("coating__")]) == 6  # stoichiometry p-norms
    out = featurizer.transform(_records())
    assert out.loc[20, [n for n in names if n.startswith("coating__")]].isna().all()


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("[extra]\nx = 1\n", "unknown table"),
        ('[blocks]\nprocess = "yes"\n', "true or false"),
    ],
)
def test_malformed_feature_sets_are_rejected(tmp_path, snippet, message):
    text = _BASE.replace("[blocks]\nprocess = true\n", "") + snippet
    with pytest.raises(FeatureSetError, match=message):
        load_feature_set(_write(tmp_path, "bad.toml", text))


def test_import_coatml_features_is_light():
    import subprocess
    import sys

    code = ("import sys, coatml.features; "
            "heavy = [m for m in ('sklearn', 'matminer', 'pymatgen.core', 'pandas') "
            "if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
