"""Sourced formation enthalpies, thermochemical couples, window estimates and their
leave-one-out errors (coatml.features.thermo)."""

from __future__ import annotations

import math

import pytest

from coatml.features import thermo
from coatml.features.physics import load_table
from coatml.recommend.library import load_coating_library


def test_every_enthalpy_row_has_a_value_and_a_source() -> None:
    rows = thermo._read_table()
    assert len(rows) >= 90
    for row in rows:
        assert row["source"].strip(), row
        assert math.isfinite(float(row["dhf_kj_mol"])), row
        assert float(row["dhf_kj_mol"]) < 0, row  # every tabulated binary is stable
    assert len(thermo.formation_enthalpies()) == len(rows)


def test_every_window_row_has_a_source() -> None:
    for row in load_table("stability_windows.csv"):
        assert row["source"].strip(), row
        assert float(row["reduction_v"]) < float(row["oxidation_v"]), row


@pytest.mark.parametrize("bad", [{"source": ""}, {"dhf_kj_mol": "n/a"}, {"formula": ""}])
def test_a_row_without_value_or_source_fails(monkeypatch: pytest.MonkeyPatch,
                                             bad: dict[str, str]) -> None:
    rows = thermo._read_table()
    broken = [dict(rows[0], **bad), *rows[1:]]
    monkeypatch.setattr(thermo, "_read_table", lambda: broken)
    thermo.formation_enthalpies.cache_clear()
    try:
        with pytest.raises(ValueError, match="line 2"):
            thermo.formation_enthalpies()
    finally:
        thermo.formation_enthalpies.cache_clear()


def test_reduction_limit_follows_from_the_table() -> None:
    h = thermo.formation_enthalpies()
    # Al2O3 + 6 Li -> 2 Al + 3 Li2O, per electron
    expected = -(3 * h["Li2O"].dhf_kj_mol - h["Al2O3"].dhf_kj_mol) / (6 * thermo.FARADAY_KJ_PER_V)
    value, used = thermo.reduction_limit("Al", "O", 3)  # type: ignore[misc]
    assert value == pytest.approx(expected)
    assert set(used) == {"Al2O3", "Al", "Li2O"}
    # TiO2 is reduced first to a lower oxide (Ti2O3), at a higher potential than to the metal
    ti, used_ti = thermo.reduction_limit("Ti", "O", 4)  # type: ignore[misc]
    to_metal = -(2 * h["Li2O"].dhf_kj_mol - h["TiO2"].dhf_kj_mol) / (4 * thermo.FARADAY_KJ_PER_V)
    assert ti > to_metal and "Ti" not in used_ti
    assert thermo.reduction_limit("Zn", "O", 2) is None  # no sourced ZnO row


def test_oxidation_states_by_charge_balance() -> None:
    assert thermo.oxidation_states("Li2ZrO3") == {"Li": 1.0, "Zr": 4.0}
    assert thermo.oxidation_states("Co3O4")["Co"] == pytest.approx(8 / 3)  # type: ignore[index]
    assert thermo.oxidation_states("Li3PO4") == {"Li": 1.0, "P": 5.0}
    assert thermo.oxidation_states("LiMnO4") == {"Li": 1.0, "Mn": 7.0}


def test_no_nan_window_for_library_li_free_binary_oxides() -> None:
    lib = load_coating_library()
    binaries = lib[(lib["coating_class"] == "binary_oxide")]["reduced_formula"].unique()
    assert len(binaries) >= 20
    for formula in binaries:
        est = thermo.estimate_window(formula, formula)
        assert est is not None, formula
        for v in (est.reduction_v, est.oxidation_v, est.reduction_unc_v, est.oxidation_unc_v):
            assert not math.isnan(v), (formula, est)
        assert est.source


def test_estimate_uncertainty_is_the_measured_leave_one_out_error() -> None:
    errors = thermo.window_estimator_errors()
    zr = thermo.estimate_window("ZrO2", "ZrO2")
    assert zr is not None and zr.reduction_method == "thermo"
    assert zr.reduction_unc_v == pytest.approx(errors[("reduction", "thermo")][0])
    li = thermo.estimate_window("Li3NbO4", "Li3NbO4")
    assert li is not None and li.oxidation_method == "nearest"
    assert li.oxidation_unc_v == pytest.approx(errors[("oxidation", "nearest")][0])


def test_leave_one_out_never_uses_the_left_out_window() -> None:
    loo = thermo.window_loo()
    sourced = {r["material"] for r in load_table("stability_windows.csv") if r["formula"]}
    assert set(loo["material"]) == sourced
    assert (loo["error_v"] == loo["estimate_v"] - loo["sourced_v"]).all()
    for material, formula, *_ in thermo._sourced_windows():
        if not formula:
            continue
        got = thermo._nn_oxidation(thermo.composition_of(thermo.plain_formula(formula)),
                                   exclude=material)
        if got is not None:
            assert got[1] != material
    errors = thermo.window_estimator_errors()
    for (limit, method), (rmse, n) in errors.items():
        part = loo[(loo["limit"] == limit) & (loo["method"] == method)]
        assert n == len(part) > 0
        assert rmse == pytest.approx(math.sqrt((part["error_v"] ** 2).mean()))


def test_sourced_window_wins_and_li_free_highest_state_is_unbounded() -> None:
    nb = thermo.estimate_window("LiNbO3", "LiNbO3")
    assert nb is not None and (nb.reduction_v, nb.oxidation_v) == (1.74, 3.88)
    assert nb.reduction_method == "sourced" and "Zhu" in nb.source
    al = thermo.estimate_window("Al2O3", "Al2O3")
    assert al is not None and math.isinf(al.oxidation_v) and al.oxidation_method == "highest-state"
    cu = thermo.estimate_window("Cu2O", "Cu2O")  # Cu+ -> Cu2+ couple from Cu2O / CuO
    assert cu is not None and cu.oxidation_method == "thermo-couple" and cu.oxidation_v < 4.0


def test_anion_exchange_from_the_table_and_unknown_when_missing() -> None:
    h = thermo.formation_enthalpies()
    value, cation, used = thermo.anion_exchange("SiO2", "S")
    dh = (h["SiS2"].dhf_kj_mol + 2 * h["Li2O"].dhf_kj_mol - h["SiO2"].dhf_kj_mol
          - 2 * h["Li2S"].dhf_kj_mol)
    assert value == pytest.approx(dh / 2 / thermo.FARADAY_KJ_PER_V)
    assert cation == "Si" and "SiS2" in used
    missing, _, why = thermo.anion_exchange("ZrO2", "S")
    assert missing is None and "Zr+4 S" in why
    assert thermo.anion_exchange("LiF", "S")[0] == 0.0
