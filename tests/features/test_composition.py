"""The fast composition featurizer against matminer's own featurizers, plus cache and input tests.

matminer results are computed once per test module (fixtures below) so the matminer part
stays well under a minute on one core.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coatml.exceptions import FormulaError
from coatml.features.composition import (
    AO_LABELS,
    ION_LABELS,
    ION_MAX_ATOMS,
    CompositionFeaturizer,
    MissingElementDataWarning,
)

RTOL = 1e-9
ATOL = 1e-12

# Battery-relevant formulas (electrodes, electrolytes, coatings, organics, nitrides, dopants).
FIXED_FORMULAS = [
    "LiNi0.8Mn0.1Co0.1O2",
    "LiNi0.6Mn0.2Co0.2O2",
    "LiNi1/3Mn1/3Co1/3O2".replace("1/3", "0.3333"),
    "LiNi0.5Mn1.5O4",
    "LiCoO2",
    "LiFePO4",
    "LiMn2O4",
    "Li4Ti5O12",
    "Li7La3Zr2O12",
    "Li6.75La2.75Ca0.25Zr1.75Nb0.25O12",
    "Li6.4La3Zr1.4Ta0.6O12",
    "Li6.25Al0.25La3Zr2O12",
    "Li10GeP2S12",
    "Li6PS5Cl",
    "Li3PS4",
    "Li7P3S11",
    "Li3YCl6",
    "Li3InCl6",
    "Li1.3Al0.3Ti1.7(PO4)3",
    "Li3PO4",
    "LiNbO3",
    "LiTaO3",
    "Li2ZrO3",
    "Al2O3",
    "ZrO2",
    "TiO2",
    "HfO2",
    "LiAlO2",
    "Li2SiO3",
    "AlF3",
    "LiF",
    "Li3N",
    "Li3BO3",
    "AlC3H5O3",
    "C6H4O2S",
    "Li2C8H4O4",
    "ZnC2H4O2",
    "TiC2H4O3",
    "C2H4O",
    "Li2S",
    "Si",
    "Li",
    "NaCl",
    "Na3V2(PO4)3",
    "Fe3O4",
    "GaN",
    "Si3N4",
    "Li2.9PO3.3N0.46",
    "LiI",
    "Li2O2",
]

# Elements with every tabulated value (no noble gases, no heavy actinides).
_POOL = [
    "H", "Li", "Be", "B", "C", "N", "O", "F", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "K", "Ca",
    "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br",
    "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I",
    "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Sm", "Eu", "Gd", "Hf", "Ta", "W", "Re", "Ir", "Pt",
    "Au", "Hg", "Tl", "Pb", "Bi",
]  # fmt: skip


def _amount_text(rng: np.random.Generator, fractional: bool) -> str:
    if fractional:
        return f"{rng.integers(1, 400) / 100:g}"
    n = int(rng.integers(1, 9))
    return "" if n == 1 else str(n)


def generate_formulas(n: int, seed: int = 20240607) -> list[str]:
    """Seeded random formulas: 1-6 elements, integer or two-decimal amounts (~40 % fractional)."""
    rng = np.random.default_rng(seed)
    out = list(FIXED_FORMULAS)
    while len(out) < n:
        k = int(rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5, 6]))
        els = rng.choice(_POOL, size=k, replace=False)
        fractional = bool(rng.random() < 0.4)
        out.append("".join(f"{e}{_amount_text(rng, fractional)}" for e in els))
    return out


FORMULAS = generate_formulas(1100)


def _matminer_rows(featurizer, formulas: list[str]) -> np.ndarray:
    """matminer's featurize per composition; NaN where it raises (as ignore_errors=True)."""
    from pymatgen.core import Composition

    n = len(featurizer.feature_labels())
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in formulas:
            try:
                rows.append([float(v) for v in featurizer.featurize(Composition(f))])
            except (ValueError, TypeError, AttributeError):
                rows.append([math.nan] * n)
    return np.asarray(rows, dtype=float)


def _matminer_ao_rows(formulas: list[str]) -> np.ndarray:
    """AtomicOrbitals -> (HOMO_energy, LUMO_energy, gap_AO, HOMO s/p/d/f, LUMO s/p/d/f)."""
    from matminer.featurizers.composition import AtomicOrbitals
    from pymatgen.core import Composition

    ao = AtomicOrbitals()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in formulas:
            try:
                hc, _he, he, lc, _le, le, gap = ao.featurize(Composition(f))
            except (ValueError, TypeError, AttributeError):
                rows.append([math.nan] * len(AO_LABELS))
                continue
            rows.append(
                [he, le, gap, *(float(hc == o) for o in "spdf"), *(float(lc == o) for o in "spdf")]
            )
    return np.asarray(rows, dtype=float)


def _is_fractional(formula: str) -> bool:
    from pymatgen.core import Composition

    return any(not float(a).is_integer() for a in Composition(formula).values())


@pytest.fixture(scope="module")
def fast_default() -> np.ndarray:
    return CompositionFeaturizer(on_missing="nan").featurize_many(FORMULAS)


@pytest.fixture(scope="module")
def labels() -> list[str]:
    return CompositionFeaturizer().feature_labels()


def _block(x: np.ndarray, labels: list[str], wanted: list[str]) -> np.ndarray:
    cols = [labels.index(w) for w in wanted]
    return x[:, cols]


def _assert_equal_nan(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, equal_nan=True)


def test_formula_set_is_large_and_varied() -> None:
    assert len(FORMULAS) >= 1000
    assert len(set(FORMULAS)) > 1000
    n_fractional = sum(_is_fractional(f) for f in FORMULAS)
    assert 200 < n_fractional < 800


def test_labels_match_matminer(labels: list[str]) -> None:
    from matminer.featurizers.composition import (
        ElementProperty,
        IonProperty,
        Stoichiometry,
        ValenceOrbital,
    )

    expected = (
        ElementProperty.from_preset("magpie", impute_nan=False).feature_labels()
        + Stoichiometry().feature_labels()
        + ValenceOrbital(impute_nan=False).feature_labels()
        + IonProperty(impute_nan=False).feature_labels()
        + list(AO_LABELS)
    )
    assert labels == expected
    assert len(labels) == 132 + 6 + 8 + 3 + 11


@pytest.mark.parametrize(
    "name",
    ["magpie", "stoichiometry", "valence_orbital"],
)
def test_equals_matminer_on_1000_formulas(name: str, fast_default, labels) -> None:
    from matminer.featurizers.composition import ElementProperty, Stoichiometry, ValenceOrbital

    mm = {
        "magpie": lambda: ElementProperty.from_preset("magpie", impute_nan=False),
        "stoichiometry": Stoichiometry,
        "valence_orbital": lambda: ValenceOrbital(impute_nan=False),
    }[name]()
    expected = _matminer_rows(mm, FORMULAS)
    assert not np.isnan(expected).any()  # the pool has complete data: a real comparison
    _assert_equal_nan(_block(fast_default, labels, mm.feature_labels()), expected)


def test_ion_property_equals_matminer_on_integer_formulas(fast_default, labels) -> None:
    from matminer.featurizers.composition import IonProperty

    integer = [i for i, f in enumerate(FORMULAS) if not _is_fractional(f)]
    assert len(integer) > 300
    expected = _matminer_rows(IonProperty(impute_nan=False), [FORMULAS[i] for i in integer])
    assert not np.isnan(expected).any()
    assert 0 < expected[:, 0].sum() < len(integer)  # both outcomes of "compound possible" occur
    _assert_equal_nan(
        _block(fast_default[integer], labels, list(IonProperty().feature_labels())), expected
    )


def _quarter_formulas(n: int, seed: int = 11) -> list[str]:
    """Seeded fractional formulas with amounts in quarters (small integer multiples)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        els = rng.choice(_POOL, size=int(rng.integers(2, 4)), replace=False)
        amounts = rng.integers(1, 9, size=len(els)) / 4
        if all(a.is_integer() for a in amounts):
            continue
        out.append("".join(f"{e}{a:g}" for e, a in zip(els, amounts, strict=True)))
    return out


def _pymatgen_search_size(formula: str) -> float:
    """Upper bound of the candidate sums pymatgen's oxi_state_guesses enumerates."""
    from pymatgen.core import Composition, Element

    size = 1.0
    for el, amt in Composition(formula).get_el_amt_dict().items():
        ox = Element(el).common_oxidation_states or Element(el).icsd_oxidation_states or (0,)
        size *= amt * (max(ox) - min(ox)) + 1
    return size


def test_ion_property_on_fractional_formulas_uses_integer_multiple(fast_default, labels) -> None:
    """matminer raises on fractional amounts; the documented estimate equals matminer on the
    smallest integer multiple, and the ionic-character columns equal it too.

    matminer (pymatgen's enumeration) is run only where its search is small enough to finish
    quickly: the fixed battery formulas and seeded quarter-amount formulas.
    """
    from matminer.featurizers.composition import IonProperty
    from pymatgen.core import Composition

    candidates = [f for f in FIXED_FORMULAS if _is_fractional(f)] + _quarter_formulas(200)
    scaled_all = [Composition(f).get_integer_formula_and_factor()[0] for f in candidates]
    keep = [i for i, s in enumerate(scaled_all) if _pymatgen_search_size(s) <= 2e5]
    assert len(keep) >= 150
    formulas = [candidates[i] for i in keep]
    scaled = [scaled_all[i] for i in keep]
    assert "LiNi0.8Mn0.1Co0.1O2" in formulas
    direct = _matminer_rows(IonProperty(impute_nan=False), formulas)
    assert np.isnan(direct).all()  # matminer gives nothing on fractional formulas
    expected = _matminer_rows(IonProperty(impute_nan=False), scaled)
    assert not np.isnan(expected).any()
    assert 0 < expected[:, 0].sum() < len(formulas)
    actual = CompositionFeaturizer(featurizers=("ion_property",)).featurize_many(formulas)
    _assert_equal_nan(actual, expected)
    # and the 1,100-formula run agrees with this featurizer on the fractional ones it holds
    frac = [i for i, f in enumerate(FORMULAS) if _is_fractional(f)]
    ion = CompositionFeaturizer(featurizers=("ion_property",), on_missing="nan")
    _assert_equal_nan(
        _block(fast_default[frac], labels, list(ION_LABELS)),
        ion.featurize_many([FORMULAS[i] for i in frac]),
    )


def test_ion_property_fractional_named_cases() -> None:
    f = CompositionFeaturizer(featurizers=("ion_property",))
    g = CompositionFeaturizer(featurizers=("ion_property",), ion_property_estimated=False)
    formulas = ["LiNi0.8Mn0.1Co0.1O2", "Li6.4La3Zr1.4Ta0.6O12", "LiCo0.001O2", "Li7La3Zr2O12"]
    est, off = f.featurize_many(formulas), g.featurize_many(formulas)
    # pymatgen's common states: Ni +2 only, so Li10Ni8MnCoO20 cannot balance (matminer agrees)
    assert est[0, 0] == 0.0
    assert est[1, 0] == 1.0  # Li32La15Zr7Ta3O60: Ta +5, Zr +4 balance
    assert math.isnan(est[2, 0])  # Li1000CoO2000 exceeds ION_MAX_ATOMS
    assert ION_MAX_ATOMS < 3001
    # pymatgen's integer formula of LiCo0.00001O2 drops Co (LiO2 -> Li2O2): no estimate
    assert math.isnan(f.featurize_many(["LiCo0.00001O2"])[0, 0])
    assert est[3, 0] == 1.0 and off[3, 0] == 1.0  # integer formula: no estimate needed
    assert np.isnan(off[:3, 0]).all()
    np.testing.assert_array_equal(est[:, 1:], off[:, 1:])  # ionic character never needs states
    assert np.isfinite(est[:, 1:]).all()


def test_atomic_orbitals_equal_matminer(fast_default, labels) -> None:
    subset = FORMULAS[:400] + ["Es2O3", "Pu", "LiCo0.0001O2"]
    expected = _matminer_ao_rows(subset)
    actual = CompositionFeaturizer(featurizers=("atomic_orbitals",), on_missing="nan")
    got = actual.featurize_many(subset)
    assert np.isnan(expected[-3]).all() and np.isnan(expected[-2]).all()  # matminer fails
    _assert_equal_nan(got, expected)
    _assert_equal_nan(_block(fast_default[:400], labels, list(AO_LABELS)), expected[:400])


def test_impute_nan_true_equals_matminer() -> None:
    from matminer.featurizers.composition import ElementProperty, IonProperty, ValenceOrbital

    formulas = FORMULAS[:150] + ["HeO", "Ar", "XeF2", "Es2O3", "LiRn", "NeNa2"]
    fast = CompositionFeaturizer(
        featurizers=("magpie", "valence_orbital", "ion_property"), impute_nan=True
    )
    got = fast.featurize_many(formulas)
    integer = [i for i, f in enumerate(formulas) if not _is_fractional(f)]
    expected = np.hstack(
        [
            _matminer_rows(ElementProperty.from_preset("magpie", impute_nan=True), formulas),
            _matminer_rows(ValenceOrbital(impute_nan=True), formulas),
        ]
    )
    _assert_equal_nan(got[:, :140], expected)
    assert np.isfinite(got[:, :140]).all()
    ion = _matminer_rows(IonProperty(impute_nan=True), [formulas[i] for i in integer])
    _assert_equal_nan(got[integer, 140:], ion)


def test_missing_element_data_raises_by_default() -> None:
    f = CompositionFeaturizer()
    with pytest.raises(FormulaError, match=r"HeO2.*He lacks Electronegativity"):
        f.featurize_many(["Li2O", "HeO2"])
    # single-element He needs no electronegativity for IonProperty but Magpie still lacks it
    with pytest.raises(FormulaError, match="He"):
        CompositionFeaturizer(featurizers=("magpie",)).featurize_many(["He"])
    # features not needing the missing value do not raise
    out = CompositionFeaturizer(featurizers=("stoichiometry",)).featurize_many(["HeO2"])
    assert np.isfinite(out).all()


def test_missing_element_data_nan_option_warns_and_matches_matminer() -> None:
    from matminer.featurizers.composition import ElementProperty

    f = CompositionFeaturizer(featurizers=("magpie",), on_missing="nan")
    formulas = ["Li2O", "HeO2", "HeO2", "Bk2O3"]
    with pytest.warns(MissingElementDataWarning, match=r"3 of 4 compositions \(2 unique\)"):
        got = f.featurize_many(formulas)
    expected = _matminer_rows(ElementProperty.from_preset("magpie", impute_nan=False), formulas)
    assert np.isnan(got[1]).any() and np.isfinite(got[0]).all()
    _assert_equal_nan(got, expected)
    # the mode of HeO2 is O's value (O is most abundant), not NaN, exactly as matminer
    col = f.feature_labels().index("MagpieData mode Electronegativity")
    assert np.isfinite(got[1, col]) and math.isnan(
        got[1, f.feature_labels().index("MagpieData mean Electronegativity")]
    )


@pytest.mark.parametrize("bad", ["Xx2O", "LiQO2", "", "Li2O)", 42])
def test_bad_input_raises_formula_error(bad) -> None:
    with pytest.raises(FormulaError):
        CompositionFeaturizer().featurize_many([bad])


def test_bad_parameters_raise() -> None:
    with pytest.raises(ValueError, match="featurizers"):
        CompositionFeaturizer(featurizers=("magpie", "nope")).feature_labels()
    with pytest.raises(ValueError, match="on_missing"):
        CompositionFeaturizer(on_missing="zero").featurize_many(["Li2O"])  # type: ignore[arg-type]


def test_init_does_no_work_and_table_hash() -> None:
    f = CompositionFeaturizer(featurizers=("magpie",))
    assert vars(f) == {
        "featurizers": ("magpie",),
        "impute_nan": False,
        "on_missing": "raise",
        "ion_property_estimated": True,
    }
    h = f.table_hash()
    assert len(h) == 64 and h == CompositionFeaturizer(featurizers=("magpie",)).table_hash()
    assert h != CompositionFeaturizer(featurizers=("magpie", "stoichiometry")).table_hash()
    assert h != CompositionFeaturizer(featurizers=("magpie",), impute_nan=True).table_hash()


def test_citations_and_frame() -> None:
    f = CompositionFeaturizer()
    cites = f.citations()
    assert any("10.1038/npjcompumats.2017.28" in c for c in cites)
    assert any("10.1103/PhysRevA.55.191" in c for c in cites)
    assert len(cites) == len(set(cites))
    frame = f.featurize_frame(["Li2O", "Al2O3"])
    assert list(frame.columns) == f.feature_labels()
    assert frame.shape == (2, 160) and frame.dtypes.eq(np.float64).all()


def test_accepts_compositions_and_strings_alike() -> None:
    from pymatgen.core import Composition

    f = CompositionFeaturizer()
    a = f.featurize_many([Composition("LiNi0.8Mn0.1Co0.1O2"), "Li7La3Zr2O12"])
    b = CompositionFeaturizer().featurize_many(["LiNi0.8Mn0.1Co0.1O2", Composition("Li7La3Zr2O12")])
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float64 and a.shape == (2, 160)
    assert f.featurize_many([]).shape == (0, 160)


_HYP_POOL = FIXED_FORMULAS + FORMULAS[200:230]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(_HYP_POOL), min_size=1, max_size=40))
def test_cache_never_changes_results(formulas: list[str]) -> None:
    warm = CompositionFeaturizer()
    warm.featurize_many(list(reversed(_HYP_POOL[:20])))  # cache filled in another order
    batch = warm.featurize_many(formulas)
    unique = list(dict.fromkeys(formulas))
    single = {u: CompositionFeaturizer().featurize_many([u])[0] for u in unique}
    np.testing.assert_array_equal(batch, np.stack([single[f] for f in formulas]))
    np.testing.assert_array_equal(batch, CompositionFeaturizer().featurize_many(formulas))


def _respell(formula: str, order: list[int], scale_style: int) -> str:
    from pymatgen.core import Composition

    items = list(Composition(formula).get_el_amt_dict().items())
    items = [items[i % len(items)] for i in order if i < len(items)] or items
    seen: dict[str, float] = {}
    for el, amt in items:
        seen.setdefault(el, amt)
    for el, amt in Composition(formula).get_el_amt_dict().items():
        seen.setdefault(el, amt)
    parts = []
    for el, amt in seen.items():
        text = f"{amt:g}" if scale_style == 0 else repr(float(amt))
        parts.append(el + ("" if text == "1" and scale_style == 0 else text))
    return " ".join(parts) if scale_style == 2 else "".join(parts)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(_HYP_POOL),
    st.permutations(list(range(6))),
    st.integers(min_value=0, max_value=2),
)
def test_element_order_and_spelling_give_identical_rows(formula, order, style) -> None:
    other = _respell(formula, list(order), style)
    f = CompositionFeaturizer()
    a = f.featurize_many([formula])
    b = CompositionFeaturizer().featurize_many([other])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(f.featurize_many([other, formula]), np.vstack([a, a]))
