"""`coatml rank` shows the physics screening beside the predictions; --hide-failing,
--coatings and the workspace inventory (champions trained on SYNTHETIC simulated-lab records,
as in test_cli_rank)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from coatml.workspace import Workspace
from tests.cli.test_cli_rank import PAIR, invoke, register_champions
from tests.recommend.test_rank import simulated_records


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rankscreen") / "ws"
    code, out = invoke("init", str(root), "--no-literature")
    assert code == 0, out
    register_champions(Workspace.load(root), simulated_records())
    return root


def test_failing_candidates_are_marked_not_hidden(workspace: Path, tmp_path: Path) -> None:
    csv = tmp_path / "r.csv"
    code, out = invoke("rank", *PAIR, "--library-only", "--out", str(csv), "--plot",
                       str(tmp_path / "r.png"), "-w", str(workspace))
    assert code == 0, out
    assert "screening" in out
    table = pd.read_csv(csv)
    assert {"screen_verdict", "screen_reasons"} <= set(table.columns)
    assert set(table["screen_verdict"]) <= {"pass", "warn", "fail"}
    assert "Cu2O" in set(table["coating"])
    assert table.loc[table["coating"] == "Cu2O", "screen_verdict"].iloc[0] == "fail"

    hidden = tmp_path / "h.csv"
    code, out = invoke("rank", *PAIR, "--library-only", "--hide-failing", "--out",
                       str(hidden), "--plot", str(tmp_path / "h.png"), "-w", str(workspace))
    assert code == 0, out
    n_fail = int((table["screen_verdict"] == "fail").sum())
    assert f"--hide-failing left out {n_fail} candidate(s)" in out
    kept = pd.read_csv(hidden)
    assert len(kept) == len(table) - n_fail and (kept["screen_verdict"] != "fail").all()
    assert list(kept["rank"]) == list(range(1, len(kept) + 1))


def test_coatings_and_inventory_restrict_the_ranking(workspace: Path, tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    code, out = invoke("rank", *PAIR, "--coatings", "Al2O3,LiNbO3,ZnO", "--out", str(csv),
                       "--plot", str(tmp_path / "c.png"), "-w", str(workspace))
    assert code == 0, out
    assert "--coatings kept 3 candidate(s)" in out
    assert set(pd.read_csv(csv)["coating"]) == {"Al2O3", "LiNbO3", "ZnO"}

    code, out = invoke("inventory", "add", "DEZ", "H2O", "-w", str(workspace))
    assert code == 0, out
    code, out = invoke("rank", *PAIR, "--coatings", "Al2O3,LiNbO3,ZnO", "--out", str(csv),
                       "--plot", str(tmp_path / "c.png"), "-w", str(workspace))
    assert code == 0, out
    assert "precursor inventory removed 2 candidate(s)" in out
    assert set(pd.read_csv(csv)["coating"]) == {"ZnO"}
    code, out = invoke("rank", *PAIR, "--coatings", "Al2O3,LiNbO3,ZnO", "--no-inventory",
                       "--out", str(csv), "--plot", str(tmp_path / "c.png"),
                       "-w", str(workspace))
    assert code == 0, out
    assert len(pd.read_csv(csv)) == 3
    code, out = invoke("inventory", "remove", "DEZ", "H2O", "-w", str(workspace))
    assert code == 0, out
