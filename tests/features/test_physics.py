"""Sourced physics tables and the descriptors derived from them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coatml.data.formulas import resolve_material
from coatml.features.physics import (
    PHYSICS_TABLES,
    XIAO_HIGH_OXIDATION_V,
    electrode_voltage_range,
    film_conductivity,
    load_table,
    material_physics,
    physics_citations,
    physics_feature_labels,
    physics_features,
    physics_tables_hash,
    stability_window,
)

NUMERIC = {
    "stability_windows.csv": ("reduction_v", "oxidation_v"),
    "film_conductivity.csv": ("sigma_s_cm",),
    "electrode_voltage_ranges.csv": ("v_min", "v_max"),
}


@pytest.mark.parametrize("name", PHYSICS_TABLES)
def test_every_table_value_has_a_source(name):
    rows = load_table(name)
    assert rows, name
    for row in rows:
        assert row["source"].strip(), row
        assert row["secondary"] in ("0", "1"), row
        for column in NUMERIC[name]:
            assert math.isfinite(float(row[column])), (row, column)


def test_windows_are_ordered_and_conductivities_positive():
    for row in load_table("stability_windows.csv"):
        assert float(row["reduction_v"]) < float(row["oxidation_v"]), row
    for row in load_table("film_conductivity.csv"):
        assert 0 < float(row["sigma_s_cm"]) < 1, row
    for row in load_table("electrode_voltage_ranges.csv"):
        assert float(row["v_min"]) <= float(row["v_max"]), row


def test_citations_and_hash():
    assert len(physics_citations()) >= 5
    assert len(physics_tables_hash()) == 64


def _row(table, material):
    return next(r for r in load_table(table) if r["material"] == material)


def test_tabulated_window_is_returned_unflagged():
    row = _row("stability_windows.csv", "LiNbO3")
    window = stability_window(resolve_material("LiNbO3"))
    assert not window.estimated
    assert (window.reduction_v, window.oxidation_v) == (float(row["reduction_v"]),
                                                       float(row["oxidation_v"]))
    # the same composition spelled differently and an alias both find it
    assert stability_window(resolve_material("NbLiO3")) == window
    assert stability_window(resolve_material("Li-Nb-O")).oxidation_v == window.oxidation_v


def test_lipon_alias_matches_by_name():
    row = _row("stability_windows.csv", "LiPON")
    window = stability_window(resolve_material("LiPON"))
    assert not window.estimated and window.reduction_v == float(row["reduction_v"])


def test_untabulated_li_compound_is_estimated_and_flagged():
    window = stability_window(resolve_material("Li3BO3"))
    assert window is not None and window.estimated
    assert "estimated" in window.source


def test_li_free_binary_oxide_gets_no_window():
    assert stability_window(resolve_material("Al2O3")) is None
    assert stability_window(resolve_material("ZnO")) is None


def test_xiao_rule_caps_oxidation_above_li_fraction_020():
    # nearest tabulated neighbour of both is LiPO3 (oxidation 5.01 V, Li fraction 0.20)
    low_li = stability_window(resolve_material("Li0.9PO3"))  # Li fraction 0.18
    high_li = stability_window(resolve_material("Li1.2PO3"))  # Li fraction 0.23
    assert low_li.estimated and high_li.estimated
    assert low_li.oxidation_v >= XIAO_HIGH_OXIDATION_V
    assert high_li.oxidation_v < XIAO_HIGH_OXIDATION_V


def test_film_conductivity_tabulated_estimated_or_missing():
    tab = film_conductivity(resolve_material("LiNbO3"))
    assert not tab.estimated
    assert tab.sigma_s_cm == float(_row("film_conductivity.csv", "LiNbOx")["sigma_s_cm"])
    est = film_conductivity(resolve_material("Li2ZrO3"))
    assert est.estimated and 1e-9 < est.sigma_s_cm < 1e-6
    assert film_conductivity(resolve_material("ZnO")) is None
    assert not film_conductivity(resolve_material("Al2O3")).estimated  # computed, tabulated


def test_electrode_voltage_ranges():
    assert electrode_voltage_range(resolve_material("LiNi0.8Mn0.1Co0.1O2")).family == "nmc"
    assert electrode_voltage_range(resolve_material("LiNi0.5Mn1.5O4")).family == "lnmo"
    li = electrode_voltage_range(resolve_material("Li"))
    assert (li.v_min, li.v_max) == (0.0, 0.0)
    assert electrode_voltage_range(resolve_material("LiMn2O4")) is None


def _features(electrode, electrolyte, coating, thickness_nm):
    mats = {"electrode": electrode, "electrolyte": electrolyte, "coating": coating}
    phys = {r: [None if m is None else material_physics(resolve_material(m))]
            for r, m in mats.items()}
    codes = {r: np.array([-1 if m is None else 0]) for r, m in mats.items()}
    out = physics_features(phys, codes, np.array([thickness_nm]))
    return dict(zip(physics_feature_labels(), out[0], strict=True))


def test_film_resistance_matches_t_over_sigma():
    f = _features("LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl", "LiNbO3", 2.5)
    sigma = float(_row("film_conductivity.csv", "LiNbOx")["sigma_s_cm"])
    assert f["log10_film_resistance_ohm_cm2"] == pytest.approx(math.log10(2.5e-7 / sigma))
    # coating-physics.md: LiNbOx 2.5 nm ~ 3.9 ohm cm2
    assert 10 ** f["log10_film_resistance_ohm_cm2"] == pytest.approx(3.9, rel=0.02)
    assert f["film_resistance_estimated"] == 0.0


def test_window_overlaps_and_gap():
    f = _features("LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl", "LiNbO3", 5.0)
    # NMC 2.7-4.3 V, LPSCl 1.71-2.01 V, LiNbO3 1.74-3.88 V
    assert f["electrolyte_electrode_gap_v"] == pytest.approx(4.3 - 2.01)
    assert f["coating_electrolyte_overlap_v"] == pytest.approx(2.01 - 1.74)
    assert f["coating_electrode_excess_v"] == pytest.approx(4.3 - 3.88)
    assert f["coating_electrode_covered_fraction"] == pytest.approx((3.88 - 2.7) / 1.6)
    assert f["coating_gap_residual_v"] == pytest.approx(4.3 - 3.88)
    assert f["coating_covers_gap"] == 0.0
    # Li metal is a point range: LLZO reduces at 0.05 V, Li3PO4 at 0.69 V -> not covered
    g = _features("Li", "Li7La3Zr2O12", "Li3PO4", 5.0)
    assert g["electrolyte_electrode_gap_v"] == pytest.approx(0.05)
    assert g["coating_electrode_covered_fraction"] == 0.0


def test_bare_control_coating_physics_is_nan():
    f = _features("LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl", None, np.nan)
    coating_cols = [k for k in f if k.startswith("coating_") or "film" in k]
    assert coating_cols and all(np.isnan(f[k]) for k in coating_cols)
    assert f["electrolyte_electrode_gap_v"] == pytest.approx(4.3 - 2.01)
