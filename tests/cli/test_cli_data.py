"""The data commands end to end, through the real CLI entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coatml.cli.main import app
from coatml.workspace import Workspace
from tests.data.test_validation import BARE_ROW, GOOD_ROW, HEADER

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_init_add_list_show_export(tmp_path: Path) -> None:
    ws_dir = tmp_path / "ws"
    code, out = invoke("init", str(ws_dir), "--no-literature")
    assert code == 0, out
    assert (ws_dir / "coatml.toml").is_file() and (ws_dir / "coatml.db").is_file()
    csv = tmp_path / "lab.csv"
    csv.write_text(f"{HEADER}\n{GOOD_ROW}\n{BARE_ROW}\n", encoding="utf-8")
    code, out = invoke("data", "add", str(csv), "-w", str(ws_dir))
    assert code == 0, out
    assert "added 2 records" in out
    code, out = invoke("data", "add", str(csv), "-w", str(ws_dir))
    assert "already added" in out
    code, out = invoke("data", "list", "-w", str(ws_dir))
    assert code == 0 and "2 records" in out and "LiNbO3" in out
    record_id = Workspace.load(ws_dir).store().to_frame()["record_id"].iloc[0]
    code, out = invoke("data", "show", record_id, "-w", str(ws_dir))
    assert code == 0 and record_id in out
    code, out = invoke("data", "show", "nope", "-w", str(ws_dir))
    assert code == 2 and "no record with id 'nope'" in out
    for fmt in ("csv", "parquet"):
        target = tmp_path / f"out.{fmt}"
        code, out = invoke("data", "export", "--format", fmt, "--out", str(target), "-w",
                           str(ws_dir))
        assert code == 0, out
        frame = pd.read_csv(target) if fmt == "csv" else pd.read_parquet(target)
        assert len(frame) == 2
        assert set(frame["coating"].dropna()) == {"LiNbO3"}


def test_bad_file_exits_nonzero_and_names_row(tmp_path: Path) -> None:
    ws_dir = tmp_path / "ws"
    invoke("init", str(ws_dir), "--no-literature")
    csv = tmp_path / "bad.csv"
    csv.write_text(f"{HEADER}\n{GOOD_ROW}\n{GOOD_ROW.replace('85', '-1')}\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "coatml.cli.main", "-w", str(ws_dir), "data",
                           "add", str(csv)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "row 3, column capacity_retention_pct" in proc.stdout + proc.stderr
    assert Workspace.load(ws_dir).store().count() == 0


def test_workspace_found_from_subfolder_and_env(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.init(tmp_path / "ws")
    sub = ws.root / "a" / "b"
    sub.mkdir(parents=True)
    assert Workspace.find(start=sub).root == ws.root
    monkeypatch.setenv("COATML_WORKSPACE", str(ws.root))
    assert Workspace.find(start=tmp_path).root == ws.root


def test_database_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.init(tmp_path / "ws")
    other = tmp_path / "elsewhere.db"
    monkeypatch.setenv("COATML_DATABASE_URL", f"sqlite:///{other}")
    assert Workspace.load(ws.root).database_url == f"sqlite:///{other}"


@pytest.mark.postgres
def test_init_with_postgres(tmp_path: Path, postgres_url: str) -> None:
    code, out = invoke("init", str(tmp_path / "pg"), "--database-url", postgres_url)
    assert code == 0, out
    ws = Workspace.load(tmp_path / "pg")
    assert ws.database_url == postgres_url
    with ws.store() as store:
        assert store.count() > 0
        assert (store.to_frame()["data_kind"] == "literature").all()


def test_help_is_fast_and_light() -> None:
    """`coatml --help` must not import the heavy libraries."""
    code = ("import sys, runpy; sys.argv=['coatml','--help']\n"
            "try:\n    runpy.run_module('coatml.cli.main', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "heavy=[m for m in ('pandas','mlflow','optuna','xgboost','matminer','sklearn',"
            "'pymatgen','sqlalchemy','shap','dask','matplotlib') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr
