"""Formula and alias parsing: strict, with messages that name the problem."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymatgen.core import Composition
from pymatgen.core.periodic_table import Element

from coatml.data.formulas import alias_table, parse_formula, resolve_material
from coatml.exceptions import FormulaError

ELEMENTS = [e.symbol for e in Element if e.Z <= 94]


def test_formula_parses_to_composition() -> None:
    comp = resolve_material("LiNi0.8Mn0.1Co0.1O2").composition
    assert comp["Ni"] == pytest.approx(0.8)
    assert comp["O"] == pytest.approx(2.0)


@pytest.mark.parametrize(("text", "fragment"), [
    ("LiXx2O3", "unknown element(s): Xx"),
    ("Li3(PS4", "unbalanced parentheses"),
    ("Li6PS5Cl; DROP", "not a formula or known alias"),
    ("", "empty"),
    ("   ", "empty"),
])
def test_bad_formulas_are_named(text: str, fragment: str) -> None:
    with pytest.raises(FormulaError) as info:
        resolve_material(text)
    assert fragment in str(info.value)


def test_every_alias_resolves_with_basis_and_source() -> None:
    table = alias_table()
    assert table, "alias table is empty"
    for key, alias in table.items():
        assert alias.basis.strip(), f"{alias.name}: no basis"
        assert alias.source.strip(), f"{alias.name}: no source"
        comp = parse_formula(alias.formula)
        assert comp.num_atoms > 0
        assert resolve_material(key).formula == alias.formula


@pytest.mark.parametrize("name", ["alucone", "Alucone", "LiPON", "h-BN", "PEDOT", "Li-Nb-O",
                                  "Cr-Al2O3", "PEO-LiTFSI", "SPE", "ipn-PEA", "Li2Q-LiPON"])
def test_review_named_materials_are_aliases(name: str) -> None:
    resolved = resolve_material(name)
    assert resolved.is_alias
    assert resolved.composition.num_atoms > 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ELEMENTS),
                          st.one_of(st.integers(1, 12), st.sampled_from([0.5, 0.25, 1.5, 2.75]))),
                min_size=1, max_size=5, unique_by=lambda t: t[0]))
def test_random_valid_formulas_round_trip(parts: list[tuple[str, float]]) -> None:
    text = "".join(f"{el}{amt}" for el, amt in parts)
    comp = resolve_material(text).composition
    expected = Composition(dict(parts))
    assert comp.almost_equals(expected)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_random_text_resolves_or_raises_formula_error(text: str) -> None:
    try:
        resolved = resolve_material(text)
    except FormulaError as exc:
        assert str(exc)
    else:
        assert resolved.composition.num_atoms > 0
