"""Fixtures of the web-page tests: one small trained workspace, built once per session and
copied for each test that writes.

The champion models are trained on SYNTHETIC simulated-lab records (labelled synthetic), by
the real grouped CV, logged and registered as ``coatml train`` does
(:func:`tests.cli.test_cli_rank.register_champions`); the workspace also holds one lab record
(LiNbO3 on NMC811 | Li6PS5Cl) so the rank table has a tested coating.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "src" / "coatml" / "ui" / "app.py"
PAIR = ("LiNi0.8Mn0.1Co0.1O2", "Li6PS5Cl")


def build_workspace(root: Path) -> Path:
    """``coatml init --no-literature`` + one lab record + registered champion models."""
    from coatml.workspace import Workspace
    from tests.cli.test_cli_rank import register_champions
    from tests.data.test_validation import GOOD_ROW, HEADER
    from tests.recommend.test_rank import simulated_records

    ws = Workspace.init(root)
    with ws.store() as store:
        store.add_bytes(f"{HEADER}\n{GOOD_ROW}\n".encode(), "lab.csv")
    register_champions(ws, simulated_records(per_pair=30))
    return root


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("ui-template") / "ws")


@pytest.fixture
def trained_workspace(trained_template: Path, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the trained workspace, named by COATML_WORKSPACE for the app."""
    root = tmp_path / "ws"
    shutil.copytree(trained_template, root)
    monkeypatch.setenv("COATML_WORKSPACE", str(root))
    return root
