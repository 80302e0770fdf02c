"""`coatml screen` and `coatml inventory` end to end in a temporary workspace."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coatml.cli.main import app

runner = CliRunner()
PAIR = ("--electrode", "NMC811", "--electrolyte", "Li6PS5Cl")


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    code, out = invoke("init", str(root), "--no-literature")
    assert code == 0, out
    return root


def test_screen_prints_and_writes_the_long_table(workspace: Path, tmp_path: Path) -> None:
    out_csv = tmp_path / "screen.csv"
    code, out = invoke("screen", *PAIR, "--library-only", "--out", str(out_csv),
                       "-w", str(workspace))
    assert code == 0, out
    assert "Screened 43 candidate coatings" in out and "Screening" in out
    table = pd.read_csv(out_csv)
    assert table["coating"].nunique() == 43
    assert {"value", "uncertainty", "status", "reason", "source", "screen_verdict"} <= set(
        table.columns)
    cu = table[(table["coating"] == "Cu2O") & (table["criterion"] == "cathode_redox")]
    assert cu["status"].iloc[0] == "fail"


def test_screen_named_coatings_and_default_path(workspace: Path) -> None:
    code, out = invoke("screen", *PAIR, "--coatings", "Al2O3, LiNbO3", "-w", str(workspace))
    assert code == 0, out
    written = workspace / "outputs" / "screen_NMC811_Li6PS5Cl.csv"
    assert set(pd.read_csv(written)["coating"]) == {"Al2O3", "LiNbO3"}


def test_screen_bad_inputs_are_clear(workspace: Path) -> None:
    code, out = invoke("screen", "--electrode", "LiXq9O2", "--electrolyte", "Li6PS5Cl",
                       "-w", str(workspace))
    assert code == 2 and "--electrode 'LiXq9O2'" in out
    code, out = invoke("screen", *PAIR, "--coatings", "Qq2O3", "-w", str(workspace))
    assert code == 2 and "--coatings 'Qq2O3'" in out
    code, out = invoke("screen", *PAIR, "--coatings", "Li5La3Ta2O12", "-w", str(workspace))
    assert code == 2 and "not a candidate coating: Li5La3Ta2O12" in out
    code, out = invoke("screen", *PAIR, "--thickness", "-1", "-w", str(workspace))
    assert code == 2 and "--thickness" in out


def test_inventory_add_list_remove_and_refusal(workspace: Path) -> None:
    code, out = invoke("inventory", "list", "-w", str(workspace))
    assert code == 0 and "No inventory" in out
    code, out = invoke("inventory", "add", "TMA", "h2o", "-w", str(workspace))
    assert code == 0, out
    assert "on hand: TMA, H2O" in out
    code, out = invoke("inventory", "add", "DEZZ", "-w", str(workspace))
    assert code == 2 and "'DEZZ' is not a known precursor" in out and "DEZ" in out
    code, out = invoke("inventory", "list", "-w", str(workspace))
    assert code == 0 and "TMA: delivers Al" in out and "2 precursor(s)" in out
    code, out = invoke("inventory", "remove", "TMA", "-w", str(workspace))
    assert code == 0 and "on hand: H2O" in out
    code, out = invoke("inventory", "remove", "TMA", "-w", str(workspace))
    assert code == 2 and "not in the inventory: TMA" in out


def test_screen_uses_the_inventory(workspace: Path, tmp_path: Path) -> None:
    code, out = invoke("inventory", "add", "DEZ", "H2O", "-w", str(workspace))
    assert code == 0, out
    out_csv = tmp_path / "s.csv"
    code, out = invoke("screen", *PAIR, "--coatings", "Al2O3,ZnO", "--out", str(out_csv),
                       "-w", str(workspace))
    assert code == 0, out
    table = pd.read_csv(out_csv).set_index(["coating", "criterion"])
    assert table.loc[("Al2O3", "precursors"), "status"] == "fail"
    assert table.loc[("ZnO", "precursors"), "status"] == "pass"
    code, out = invoke("screen", *PAIR, "--coatings", "Al2O3", "--no-inventory", "--out",
                       str(out_csv), "-w", str(workspace))
    assert code == 0, out
    table = pd.read_csv(out_csv).set_index(["coating", "criterion"])
    assert table.loc[("Al2O3", "precursors"), "status"] == "pass"


def test_screen_with_out_needs_no_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    monkeypatch.chdir(tmp_path)
    out_csv = tmp_path / "alone.csv"
    code, out = invoke("screen", *PAIR, "--coatings", "LiNbO3", "--out", str(out_csv))
    assert code == 0, out
    assert set(pd.read_csv(out_csv)["coating"]) == {"LiNbO3"}
    code, out = invoke("screen", *PAIR, "--coatings", "LiNbO3")
    assert code == 2 and "no coatml workspace" in out
