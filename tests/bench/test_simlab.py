"""Tests of the simulated lab: qualitative physics from the review, noise, failures, labels."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coatml.bench.simlab import SimulatedLab, config_hash, default_config, load_config
from coatml.exceptions import FormulaError

REPO = Path(__file__).resolve().parents[2]
NMC811 = "LiNi0.8Mn0.1Co0.1O2"
THICKNESS_GRID_NM = np.round(np.arange(0.25, 30.01, 0.25), 2)


@pytest.fixture(scope="module")
def lab() -> SimulatedLab:
    return SimulatedLab()


def cells(n: int = 1, **columns: object) -> pd.DataFrame:
    """Records with sensible defaults: NMC811 | Li6PS5Cl, 5 nm LiNbO3 at 235 C, 100 cycles."""
    base: dict[str, object] = {
        "electrode": NMC811, "electrolyte": "Li6PS5Cl", "coating": "LiNbO3",
        "coated_component": "electrode", "method": "ALD", "temperature_c": 235.0,
        "thickness_nm": 5.0, "cycle_number": 100.0, "c_rate": 0.5, "test_temperature_c": 25.0,
    }
    base.update(columns)
    return pd.DataFrame({k: v if isinstance(v, list | np.ndarray) else [v] * n
                         for k, v in base.items()})


def thickness_scan(lab: SimulatedLab, **columns: object) -> pd.DataFrame:
    rec = cells(len(THICKNESS_GRID_NM), thickness_nm=THICKNESS_GRID_NM, **columns)
    return lab.expected(rec).assign(thickness_nm=THICKNESS_GRID_NM)


# --- configuration ---------------------------------------------------------------------------


def test_packaged_config_is_the_experiments_file() -> None:
    packaged = resources.files("coatml.bench").joinpath("data", "simlab.toml").read_bytes()
    assert packaged == (REPO / "experiments" / "simlab.toml").read_bytes()


def test_every_number_in_the_config_says_its_source_or_assumed() -> None:
    text = (REPO / "experiments" / "simlab.toml").read_text(encoding="utf-8")
    number = re.compile(r"^\s*[A-Za-z_]+\s*=\s*[-+0-9.eE]+\s*(#.*)?$")
    unlabelled = []
    for lineno, line in enumerate(text.splitlines(), 1):
        match = number.match(line)
        if match and (match.group(1) is None or len(match.group(1).strip("# ")) < 8):
            unlabelled.append((lineno, line))
    assert unlabelled == []
    # and the file really is the lab's configuration
    assert tomllib.loads(text) == default_config()


def test_partial_config_is_merged_and_typos_are_rejected(tmp_path: Path) -> None:
    cfg = load_config({"failure": {"p_min": 0.0, "p_max": 0.1}})
    assert cfg["failure"]["p_max"] == 0.1
    assert cfg["coating"]["LiNbO3"]["sigma_s_cm"] == pytest.approx(6.39e-8)
    with pytest.raises(ValueError, match="unknown section"):
        load_config({"fadee": {}})
    with pytest.raises(ValueError, match="unknown key"):
        load_config({"noise": {"retention_sd": 1.0}})
    with pytest.raises(ValueError, match="p_min"):
        load_config({"failure": {"p_min": 0.6, "p_max": 0.5}})
    path = tmp_path / "lab.toml"
    path.write_text("[noise]\nretention_sd_pct = 3.0\n", encoding="utf-8")
    lab = SimulatedLab(path)
    assert lab.config["noise"]["retention_sd_pct"] == 3.0
    assert lab.config_hash != SimulatedLab().config_hash
    assert lab.config_hash == config_hash(load_config(str(path)))
    with pytest.raises(FileNotFoundError):
        SimulatedLab(tmp_path / "missing.toml")


# --- physics from the review and coating-physics.md --------------------------------------------


def test_linbo3_on_nmc811_sulfide_has_an_optimum_of_a_few_nm(lab: SimulatedLab) -> None:
    scan = thickness_scan(lab)
    best_retention = scan.loc[scan["capacity_retention_pct"].idxmax(), "thickness_nm"]
    best_resistance = scan.loc[scan["interface_resistance_ohm_cm2"].idxmin(), "thickness_nm"]
    assert 1.0 < best_retention < 10.0
    assert 1.0 < best_resistance < 10.0
    by_t = scan.set_index("thickness_nm")["capacity_retention_pct"]
    # Hanyang (s): 1 nm insufficient, 2.5 nm minimum effective, 5 nm no further gain.
    assert by_t[1.0] < by_t[2.5] - 5.0
    assert abs(by_t[5.0] - by_t[2.5]) < 5.0


@pytest.mark.parametrize(
    ("electrode", "electrolyte", "coating", "component", "temperature_c"),
    [
        (NMC811, "Li6PS5Cl", "LiNbO3", "electrode", 235.0),
        (NMC811, "Li10GeP2S12", "Li3PO4", "electrode", 250.0),
        ("Li", "Li7La3Zr2O12", "Al2O3", "electrolyte", 150.0),
        ("LiCoO2", "Li6PS5Cl", "Li2ZrO3", "electrode", 270.0),
    ],
)
def test_thicker_than_optimum_raises_resistance_monotonically(
    lab: SimulatedLab, electrode: str, electrolyte: str, coating: str, component: str,
    temperature_c: float,
) -> None:
    scan = thickness_scan(lab, electrode=electrode, electrolyte=electrolyte, coating=coating,
                          coated_component=component, temperature_c=temperature_c)
    res = scan["interface_resistance_ohm_cm2"].to_numpy()
    beyond = res[int(np.argmin(res)):]
    assert len(beyond) > 10
    assert np.all(np.diff(beyond) > 0)


@pytest.mark.parametrize("electrolyte", ["Li6PS5Cl", "Li10GeP2S12"])
def test_linbo3_on_nmc811_beats_bare_by_far(lab: SimulatedLab, electrolyte: str) -> None:
    rec = cells(2, electrolyte=electrolyte, coating=["", "LiNbO3"], thickness_nm=[np.nan, 5.0])
    bare, coated = lab.expected(rec)["capacity_retention_pct"]
    assert coated > bare + 20.0
    assert bare < 70.0
    res_bare, res_coated = lab.expected(rec)["interface_resistance_ohm_cm2"]
    assert res_coated < res_bare


def test_li_garnet_al2o3_lowers_asr_from_1e3_to_1e1_1e2(lab: SimulatedLab) -> None:
    rec = cells(4, electrode="Li", electrolyte="Li7La3Zr2O12", coated_component="electrolyte",
                coating=["", "Al2O3", "Al2O3", "ZnO"], thickness_nm=[0.0, 2.0, 5.0, 3.0],
                temperature_c=150.0, cycle_number=10.0, c_rate=0.1)
    asr = lab.expected(rec)["interface_resistance_ohm_cm2"].to_numpy()
    assert 1e3 <= asr[0] < 1e4
    assert np.all((asr[1:3] >= 10.0) & (asr[1:3] <= 100.0))
    assert 10.0 <= asr[3] <= 300.0  # ZnO: 1900 -> ~100 ohm cm2 (the review, ref 19)


@pytest.mark.parametrize("electrolyte", ["Li7La3Zr2O12", "Li6PS5Cl", "Li10GeP2S12"])
@pytest.mark.parametrize("bad", ["Co3O4", "NiO", "LiCoO2", "LiNiO2"])
def test_li_metal_with_co_or_ni_coating_is_worse_than_al2o3(
    lab: SimulatedLab, electrolyte: str, bad: str,
) -> None:
    rec = cells(2, electrode="Li", electrolyte=electrolyte, coated_component="electrolyte",
                coating=["Al2O3", bad], thickness_nm=3.0, temperature_c=150.0)
    good_row, bad_row = lab.expected(rec).itertuples(index=False)
    assert bad_row.capacity_retention_pct < good_row.capacity_retention_pct
    assert bad_row.interface_resistance_ohm_cm2 > good_row.interface_resistance_ohm_cm2
    p_fail = lab._failure_probability(lab._evaluate(rec))
    assert p_fail[1] > p_fail[0]


def test_protecting_a_sulfide_against_a_4_3_v_cathode_needs_a_wide_window(
    lab: SimulatedLab,
) -> None:
    # Li3PO4 (oxidation limit 4.21 V) protects better than Li2ZrO3 (3.41 V), Zhu 2015 / Nolan 2021.
    rec = cells(2, coating=["Li3PO4", "Li2ZrO3"], temperature_c=260.0, c_rate=0.05)
    wide, narrow = lab.expected(rec)["capacity_retention_pct"]
    assert wide > narrow


def test_deposition_above_the_hidden_limits_hurts(lab: SimulatedLab) -> None:
    # LiNbO3 precursors decompose above ~250 C: thicker, rougher film, more resistance.
    rec = cells(2, temperature_c=[235.0, 400.0])
    low, high = lab.expected(rec)["interface_resistance_ohm_cm2"]
    assert high > low
    # Al2O3 grown on Li6PS5Cl far above its interdiffusion limit loses retention.
    rec = cells(2, coating="Al2O3", coated_component="electrolyte", temperature_c=[150.0, 340.0],
                thickness_nm=3.0)
    cool, hot = lab.expected(rec)["capacity_retention_pct"]
    assert hot < cool


def test_substrates_differ_in_hidden_nucleation_delay(lab: SimulatedLab) -> None:
    cathodes = ["LiNi0.8Mn0.1Co0.1O2", "LiNi0.6Mn0.2Co0.2O2", "LiNi0.5Mn0.3Co0.2O2",
                "LiNi0.33Mn0.33Co0.33O2", "LiCoO2"]
    rec = cells(len(cathodes), electrode=cathodes, thickness_nm=1.0)
    retention = lab.expected(rec)["capacity_retention_pct"].to_numpy()
    assert np.ptp(retention) > 1.0


def test_retention_falls_with_cycles_and_c_rate(lab: SimulatedLab) -> None:
    rec = cells(5, cycle_number=[0.0, 10.0, 50.0, 100.0, 300.0])
    ret = lab.expected(rec)["capacity_retention_pct"].to_numpy()
    assert np.all(np.diff(ret) < 0)
    rec = cells(4, c_rate=[0.05, 0.5, 1.0, 3.0])
    ret = lab.expected(rec)["capacity_retention_pct"].to_numpy()
    assert np.all(np.diff(ret) < 0)
    assert lab.expected(cells(1, c_rate=0.0, cycle_number=0.0))["capacity_retention_pct"][0] \
        == pytest.approx(100.0)


def test_thickness_from_gpc_and_cycles_and_aliases_match_formulas(lab: SimulatedLab) -> None:
    explicit = lab.expected(cells(1, thickness_nm=4.0))
    derived = lab.expected(cells(1, thickness_nm=np.nan, gpc_angstrom=0.8, cycles=50.0))
    pd.testing.assert_frame_equal(explicit, derived)
    by_alias = lab.expected(cells(1, electrode="NMC811", electrolyte="LPSCl", coating="Li-Nb-O"))
    by_formula = lab.expected(cells(1))
    pd.testing.assert_frame_equal(by_alias, by_formula)


def test_expected_has_no_nan_on_varied_records(lab: SimulatedLab) -> None:
    rng = np.random.default_rng(3)
    n = 3000
    rec = pd.DataFrame({
        "electrode": rng.choice([NMC811, "Li", "LiCoO2", "LiFePO4", "LiNi0.5Mn1.5O4", "C"], n),
        "electrolyte": rng.choice(["Li6PS5Cl", "Li10GeP2S12", "Li7La3Zr2O12", "LiPON",
                                   "Li1.3Al0.3Ti1.7(PO4)3", "Li3InCl6", "Li7P3S11"], n),
        "coating": rng.choice(["", "LiNbO3", "Al2O3", "alucone", "Li3PO4", "ZnO", "h-BN",
                               "TiO2", "Li1.5C2O1.8", None], n),
        "coated_component": rng.choice(["electrode", "electrolyte", "none"], n),
        "method": rng.choice(["ALD", "MLD", "none"], n),
        "temperature_c": np.where(rng.random(n) < 0.1, np.nan, rng.uniform(20, 500, n)),
        "thickness_nm": np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 50, n)),
        "cycle_number": rng.choice([np.nan, 0.0, 1.0, 100.0, 1000.0], n),
        "c_rate": rng.choice([np.nan, 0.0, 0.1, 1.0, 10.0], n),
        "test_temperature_c": rng.choice([np.nan, -20.0, 25.0, 60.0, 100.0], n),
        "current_density_ma_cm2": rng.choice([np.nan, 0.1, 1.0], n),
    })
    exp = lab.expected(rec)
    assert list(exp.columns) == ["capacity_retention_pct", "interface_resistance_ohm_cm2"]
    assert exp.index.equals(rec.index)
    assert not exp.isna().any().any()
    assert (exp["capacity_retention_pct"].between(0.0, 100.0)).all()
    assert (exp["interface_resistance_ohm_cm2"] > 0.0).all()


def test_bad_materials_are_reported(lab: SimulatedLab) -> None:
    with pytest.raises(FormulaError, match="coating"):
        lab.expected(cells(1, coating="Unobtainium9"))
    with pytest.raises(ValueError, match="electrolyte"):
        lab.expected(cells(1, electrolyte=""))


# --- simulate: labels, seeds, noise, batches, failures ---------------------------------------


def varied_cells(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return cells(n, thickness_nm=rng.uniform(2.0, 10.0, n),
                 coating=rng.choice(["LiNbO3", "Li3PO4", "Al2O3"], n),
                 cycle_number=rng.choice([50.0, 100.0, 200.0], n))


def test_simulate_labels_everything_synthetic(lab: SimulatedLab) -> None:
    rec = varied_cells(500, np.random.default_rng(0))
    out = lab.simulate(rec, seed=1)
    assert (out["data_kind"] == "synthetic").all()
    assert (out["source"] == f"synthetic: coatml.bench.SimulatedLab {lab.config_hash}").all()
    failed = out["cell_failed"].to_numpy()
    assert out.loc[failed, ["capacity_retention_pct", "interface_resistance_ohm_cm2"]] \
        .isna().all().all()
    assert out.loc[~failed, ["capacity_retention_pct", "interface_resistance_ohm_cm2"]] \
        .notna().all().all()
    assert out.loc[failed, "outcome_note"].str.startswith("synthetic failure").all()
    pd.testing.assert_frame_equal(out[rec.columns], rec)  # inputs untouched
    assert "capacity_retention_pct" not in rec


def test_same_seed_same_output_other_seed_other_output(lab: SimulatedLab) -> None:
    rec = varied_cells(300, np.random.default_rng(1))
    a = lab.simulate(rec, seed=42)
    pd.testing.assert_frame_equal(a, lab.simulate(rec, seed=42))
    pd.testing.assert_frame_equal(a, SimulatedLab().simulate(rec, seed=42))
    b = lab.simulate(rec, seed=43)
    assert not np.allclose(a["interface_resistance_ohm_cm2"].fillna(-1),
                           b["interface_resistance_ohm_cm2"].fillna(-1))


def test_noise_has_mean_zero_and_the_configured_spread() -> None:
    lab = SimulatedLab({"failure": {"p_min": 0.0, "p_max": 0.0}})
    rng = np.random.default_rng(2)
    n = 20000
    rec = varied_cells(n, rng).assign(batch_id=rng.integers(0, 2000, n).astype(str))
    sim = lab.simulate(rec, seed=7)
    exp = lab.expected(rec)
    assert not sim["cell_failed"].any()
    d_ret = sim["capacity_retention_pct"] - exp["capacity_retention_pct"]
    d_log = np.log10(sim["interface_resistance_ohm_cm2"] / exp["interface_resistance_ohm_cm2"])
    noise = lab.config["noise"]
    assert abs(d_ret.mean()) < 0.2
    assert abs(d_log.mean()) < 0.01
    assert noise["retention_sd_pct"] * 0.95 < d_ret.std() < noise["retention_sd_pct"] * 1.6
    expected_sd = np.hypot(noise["log10_resistance_sd"], noise["batch_log10_resistance_sd"])
    assert expected_sd * 0.9 < d_log.std() < expected_sd * 1.2


def test_batches_share_a_hidden_offset() -> None:
    quiet = SimulatedLab({"noise": {"retention_sd_pct": 0.0, "log10_resistance_sd": 0.0,
                                    "batch_log_fade_sd": 0.0},
                          "failure": {"p_min": 0.0, "p_max": 0.0}})
    rec = varied_cells(40, np.random.default_rng(4)).assign(batch_id=["a"] * 20 + ["b"] * 20)
    ratio = (quiet.simulate(rec, seed=3)["interface_resistance_ohm_cm2"]
             / quiet.expected(rec)["interface_resistance_ohm_cm2"]).to_numpy()
    assert np.ptp(ratio[:20]) < 1e-9
    assert np.ptp(ratio[20:]) < 1e-9
    assert not np.isclose(ratio[0], ratio[20])
    # the offset of a batch depends only on (seed, batch id), not on the other rows
    alone = quiet.simulate(rec.iloc[20:], seed=3)["interface_resistance_ohm_cm2"].to_numpy()
    together = quiet.simulate(rec, seed=3)["interface_resistance_ohm_cm2"].to_numpy()[20:]
    np.testing.assert_allclose(alone, together)


def test_failure_rate_stays_within_configured_bounds(lab: SimulatedLab) -> None:
    f = lab.config["failure"]
    n = 20000
    rng = np.random.default_rng(5)
    benign = cells(n, thickness_nm=5.0, cycle_number=50.0, c_rate=0.1, coating="Li3PO4",
                   temperature_c=260.0)
    harsh = cells(n, electrode="Li", electrolyte="Li10GeP2S12", coating="",
                  cycle_number=1000.0, c_rate=5.0, current_density_ma_cm2=2.0)
    rate_benign = lab.simulate(benign, seed=11)["cell_failed"].mean()
    rate_harsh = lab.simulate(harsh, seed=12)["cell_failed"].mean()
    tol = 4 * np.sqrt(0.25 / n)
    assert f["p_min"] - tol <= rate_benign <= f["p_min"] + 0.05
    assert rate_harsh <= f["p_max"] + tol
    assert rate_harsh > rate_benign + 0.2
    mixed = varied_cells(n, rng)
    rate_mixed = lab.simulate(mixed, seed=13)["cell_failed"].mean()
    assert f["p_min"] - tol <= rate_mixed <= f["p_max"] + tol
    assert not SimulatedLab({"failure": {"p_min": 0.0, "p_max": 0.0}}).simulate(
        harsh.head(500), seed=1)["cell_failed"].any()
    assert SimulatedLab({"failure": {"p_min": 1.0, "p_max": 1.0}}).simulate(
        benign.head(500), seed=1)["cell_failed"].all()


def test_deposition_on_molten_li_fails_at_p_max(lab: SimulatedLab) -> None:
    rec = cells(4000, electrode="Li", electrolyte="Li7La3Zr2O12", coating="Al2O3",
                coated_component="electrode", temperature_c=250.0, thickness_nm=2.0)
    out = lab.simulate(rec, seed=5)
    rate = out["cell_failed"].mean()
    assert abs(rate - lab.config["failure"]["p_max"]) < 4 * np.sqrt(0.25 / len(rec))
    assert out.loc[out["cell_failed"], "outcome_note"].str.contains("melting").all()
