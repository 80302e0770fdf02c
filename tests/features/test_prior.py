"""The physics prior (coatml.features.prior): anchors, hazards, feature block."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coatml.features import prior
from coatml.features.pipeline import RecordFeaturizer

NMC, LPSCL = "LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl"


def test_shipped_anchors_equal_the_recomputation_from_the_literature() -> None:
    from coatml.data.literature import load_literature

    table = load_literature()
    assert prior.calibrate(table.records, table.content_hash) == prior.load_calibration()


def test_anchors_order_coated_above_bare() -> None:
    cal = prior.load_calibration()
    assert cal.retention_coated_pct > cal.retention_bare_pct
    assert cal.log10_resistance_coated < cal.log10_resistance_bare
    assert cal.n_retention_bare >= 3 and cal.n_resistance_bare >= 3


def test_calibrate_refuses_too_few_values() -> None:
    frame = pd.DataFrame({"coating": ["Al2O3", "none"], "capacity_retention_pct": [80.0, 60.0],
                          "interface_resistance_ohm_cm2": [10.0, 100.0]})
    with pytest.raises(ValueError, match="at least 3"):
        prior.calibrate(frame)


def test_redox_active_coatings_fall_below_stable_ones_on_a_high_voltage_cathode() -> None:
    table = prior_table(NMC, LPSCL, ["Co3O4", "MnO", "Cu2O", "Li3PO4", "LiNbO3", "Al2O3"])
    redox = table.loc[["Co3O4", "MnO", "Cu2O"], "prior_capacity_retention_pct"]
    stable = table.loc[["Li3PO4", "LiNbO3", "Al2O3"], "prior_capacity_retention_pct"]
    assert redox.max() < stable.min()
    assert (table.loc[["Co3O4", "MnO", "Cu2O"], "p_cathode_redox"] == 1.0).all()
    cal = prior.load_calibration()
    assert redox.max() == pytest.approx(cal.retention_bare_pct, abs=0.5)


def test_li_metal_reduces_linbo3_but_not_li3po4() -> None:
    table = prior_table("Li", "Li7La3Zr2O12", ["LiNbO3", "Li3PO4", "Al2O3"])
    assert table.loc["LiNbO3", "p_reduction_limit"] > 0.9
    assert table.loc["Li3PO4", "p_reduction_limit"] < 0.05
    assert table.loc["LiNbO3", "prior_capacity_retention_pct"] < \
        table.loc["Li3PO4", "prior_capacity_retention_pct"]


def test_unknown_coating_gets_unknown_hazards_not_a_pass() -> None:
    table = prior_table(NMC, LPSCL, ["Xx9Qq", "LiF"])
    assert table.loc["Xx9Qq", "survival"] < table.loc["LiF", "survival"]
    hz = [c for c in table.columns if c.startswith("p_") and c != "p_coverage"]
    assert (table.loc["Xx9Qq", hz] == prior.P_UNKNOWN).all()


def test_thicker_film_raises_the_resistance_prior() -> None:
    thin = prior.prior_for(NMC, LPSCL, ["Al2O3"], thickness_nm=1.0)
    thick = prior.prior_for(NMC, LPSCL, ["Al2O3"], thickness_nm=10.0)
    assert thick["prior_log10_interface_resistance"].iloc[0] > \
        thin["prior_log10_interface_resistance"].iloc[0] + 0.5


def test_no_ties_among_the_library_on_a_new_pair() -> None:
    from coatml.recommend.library import load_coating_library

    names = sorted(set(load_coating_library()["coating"]))
    table = prior.prior_for(NMC, LPSCL, names)
    distinct = table["prior_capacity_retention_pct"].round(6).nunique()
    assert distinct >= len(names) // 2


def test_feature_block_matches_prior_for_and_marks_bare_controls() -> None:
    records = pd.DataFrame({"electrode": [NMC, NMC], "electrolyte": [LPSCL, LPSCL],
                            "coating": ["LiNbO3", "none"], "thickness_nm": [2.5, np.nan]})
    X = RecordFeaturizer().fit(records).transform(records)
    direct = prior.prior_for(NMC, LPSCL, ["LiNbO3"], thickness_nm=2.5)
    assert X[prior.prior_column("capacity_retention_pct")].iloc[0] == pytest.approx(
        direct["prior_capacity_retention_pct"].iloc[0])
    assert X[prior.prior_column("interface_resistance_ohm_cm2")].iloc[0] == pytest.approx(
        direct["prior_log10_interface_resistance"].iloc[0])
    cal = prior.load_calibration()
    assert X[prior.prior_column("capacity_retention_pct")].iloc[1] == cal.retention_bare_pct
    assert X[prior.prior_column("interface_resistance_ohm_cm2")].iloc[1] == \
        cal.log10_resistance_bare


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30),
       st.lists(st.floats(0.1, 100.0), min_size=1, max_size=30))
def test_prior_bounds_hold_for_any_survival(survivals: list[float], thick: list[float]) -> None:
    # the mean stays between the bare and coated anchors, the std at least the coated spread
    cal = prior.load_calibration()
    n = min(len(survivals), len(thick))
    s = np.array(survivals[:n])
    dr = cal.retention_coated_pct - cal.retention_bare_pct
    mean = cal.retention_bare_pct + dr * s
    std = np.sqrt(cal.retention_sd_pct ** 2 + dr ** 2 * s * (1 - s))
    assert (mean >= cal.retention_bare_pct - 1e-9).all()
    assert (mean <= cal.retention_coated_pct + 1e-9).all()
    assert (std >= cal.retention_sd_pct - 1e-9).all()
    block = prior.prior_from_names(np.array([NMC] * n, dtype=object),
                                   np.array([LPSCL] * n, dtype=object),
                                   np.array(["Al2O3"] * n, dtype=object),
                                   np.ones(n, dtype=bool), np.array(thick[:n]))
    assert np.isfinite(block).all()
    assert (block[:, 1] >= cal.retention_sd_pct - 1e-9).all()
    assert (block[:, 3] >= cal.log10_resistance_sd - 1e-9).all()


def test_hazard_is_a_normal_margin() -> None:
    # an oxidation limit exactly KINETIC_MARGIN_V below the cut-off is a coin flip
    from coatml.features.screening import CHEMISTRY_CRITERIA, KINETIC_MARGIN_V

    class Ctx:
        v_max, v_min = 4.3, 2.5

    rows = []
    for crit in CHEMISTRY_CRITERIA:
        if crit == "oxidation_limit":
            rows.append((4.3 - KINETIC_MARGIN_V, 0.3, "V", "warn", "", "estimate", ""))
        else:
            rows.append((math.nan, math.nan, "", "pass", "", "not-applicable", ""))
    hz = prior._hazards(tuple(rows), Ctx())
    assert hz["oxidation_limit"] == pytest.approx(0.5)
    assert sum(hz.values()) == pytest.approx(0.5)


def prior_table(electrode: str, electrolyte: str, coatings: list[str]) -> pd.DataFrame:
    return prior.prior_for(electrode, electrolyte, coatings).set_index("coating")


def test_thickness_has_an_optimum_between_pinholes_and_blocking() -> None:
    # thin films leave the interface open (coverage), thick resistive ones block it
    ret = {t: prior.prior_for(NMC, LPSCL, ["Li3PO4"], thickness_nm=t)[
        "prior_capacity_retention_pct"].iloc[0] for t in (0.5, 3.0, 200.0)}
    assert ret[3.0] > ret[0.5] + 5.0
    assert ret[3.0] > ret[200.0] + 5.0
    assert prior.coverage_hazard(np.array([1.0]))[0] == pytest.approx(0.95, abs=0.01)
    assert prior.coverage_hazard(np.array([2.5]))[0] == pytest.approx(0.05, abs=0.01)


def test_a_computed_pristine_film_conductivity_cannot_fail_the_film() -> None:
    # a-Al2O3's computed conductivity (5.6e-12 S/cm) would block a 2 nm film; measured Al2O3
    # on garnet (Han 2017, in the literature) says otherwise: transport is unknown, not failed
    table = prior.prior_for("Li", "Li7La3Zr2O12", ["Al2O3", "Li3PO4"], thickness_nm=2.0)
    assert table.set_index("coating").loc["Al2O3", "p_li_ion_resistance"] == prior.P_UNKNOWN
    # while a measured conductivity does decide: 200 nm of Li3PO4 blocks
    thick = prior.prior_for(NMC, LPSCL, ["Li3PO4"], thickness_nm=200.0)
    assert thick["p_li_ion_resistance"].iloc[0] > 0.9
