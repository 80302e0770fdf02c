"""Material classes, anion types and interface contrasts."""

from __future__ import annotations

import numpy as np
import pytest

from coatml.data.formulas import resolve_material
from coatml.features.interface import (
    ANION_TYPES,
    MissingPropertyError,
    describe_material,
    interface_feature_labels,
    interface_features,
)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("Li6PS5Cl", "argyrodite"),
        ("Li10GeP2S12", "lgps"),
        ("Li10SnP2S12", "lgps"),
        ("Li3PS4", "sulfide"),
        ("Na3SbS4", "sulfide"),
        ("Li7La3Zr2O12", "garnet"),
        ("Li6.75La2.75Ca0.25Zr1.75Nb0.25O12", "garnet"),
        ("Li1.3Al0.3Ti1.7(PO4)3", "nasicon"),
        ("Li0.33La0.56TiO3", "perovskite"),
        ("Li3YCl6", "halide"),
        ("LiPON", "lipon"),
        ("PEO-LiTFSI", "polymer"),
    ],
)
def test_electrolyte_classes(name, cls):
    assert describe_material(resolve_material(name)).electrolyte_class == cls


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("LiNi0.8Mn0.1Co0.1O2", "layered_oxide"),
        ("LiCoO2", "layered_oxide"),
        ("LiNi0.5Mn1.5O4", "spinel"),
        ("LiFePO4", "olivine"),
        ("Li", "li_metal"),
        ("Na", "na_metal"),
        ("graphite", "graphite"),
        ("C", "graphite"),
        ("Li2C8H4O4", "organic"),
        ("Pt", "other"),
    ],
)
def test_electrode_classes(name, cls):
    assert describe_material(resolve_material(name)).electrode_class == cls


@pytest.mark.parametrize(
    ("name", "anion"),
    [
        ("Al2O3", "oxide"),
        ("Li3PO4", "phosphate"),
        ("LiPON", "oxynitride"),
        ("Li3BO3", "borate"),
        ("Li2CO3", "carbonate"),
        ("Li6PS5Cl", "sulfide"),
        ("AlF3", "halide"),
        ("h-BN", "nitride"),
        ("alucone", "organic"),
        ("Li", "metal"),
        ("C", "carbon"),
    ],
)
def test_anion_types(name, anion):
    assert anion in ANION_TYPES
    assert describe_material(resolve_material(name)).anion_type == anion


def test_scalar_descriptors():
    d = describe_material(resolve_material("Li6PS5Cl"))
    assert d.li_fraction == pytest.approx(6 / 13)
    assert d.tm_fraction == 0.0
    nmc = describe_material(resolve_material("LiNi0.8Mn0.1Co0.1O2"))
    assert nmc.tm_fraction == pytest.approx(0.25)


def test_element_without_electronegativity_is_an_error():
    with pytest.raises(MissingPropertyError, match="Ar"):
        describe_material(resolve_material("LiAr"))


def _row(electrode, electrolyte, coating):
    mats = {"electrode": electrode, "electrolyte": electrolyte, "coating": coating}
    descs = {r: [None if m is None else describe_material(resolve_material(m))]
             for r, m in mats.items()}
    codes = {r: np.array([-1 if m is None else 0]) for r, m in mats.items()}
    return dict(zip(interface_feature_labels(), interface_features(descs, codes)[0],
                    strict=True))


def test_contrasts_and_matches():
    f = _row("LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl", "Al2O3")
    assert f["coating_minus_electrolyte_li_fraction"] == pytest.approx(-6 / 13)
    assert f["coating_over_electrolyte_li_fraction"] == 0.0
    assert f["coating_over_electrode_tm_fraction"] == 0.0  # Al is not a transition metal
    assert f["electrode_over_electrolyte_mean_atomic_mass"] > 0
    assert f["coating_electrolyte_anion_type_match"] == 0.0
    assert f["coating_electrode_anion_type_match"] == 1.0
    assert f["coating_electrode_anion_element_match"] == 1.0
    assert f["electrolyte_class_argyrodite"] == 1.0
    assert f["electrode_class_layered_oxide"] == 1.0
    assert f["coating_anion_oxide"] == 1.0 and f["coating_anion_sulfide"] == 0.0
    # ratio with a zero denominator is NaN, not inf or 0
    g = _row("LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl", "LiNbO3")
    assert np.isnan(g["coating_over_electrolyte_tm_fraction"])


def test_bare_coating_gives_nan_coating_contrasts():
    f = _row("LiCoO2", "Li6PS5Cl", None)
    coating = [k for k in f if k.startswith("coating_")]
    assert coating and all(np.isnan(f[k]) for k in coating)
    assert f["electrode_electrolyte_anion_type_match"] == 0.0
