"""The CLI's answer to bad input: one clear line on stderr, exit code 2, the store unchanged;
an unexpected exception becomes one line pointing at --debug instead of a traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coatml.cli.main import app
from coatml.workspace import Workspace
from tests.data.test_validation import GOOD_ROW, HEADER

runner = CliRunner()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    result = runner.invoke(app, ["init", str(tmp_path / "ws"), "--no-literature"])
    assert result.exit_code == 0, result.output
    return tmp_path / "ws"


def run(ws: Path, *args: str):
    return runner.invoke(app, ["-w", str(ws), *args])


def count(ws: Path) -> int:
    with Workspace.load(ws).store() as store:
        return store.count()


def test_rich_markup_in_a_cell_does_not_break_the_error_printer(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "markup.csv"
    path.write_text(f"{HEADER}\n{GOOD_ROW.replace('LiNbO3', 'Li[/x]')}\n", encoding="utf-8")
    result = run(ws, "data", "add", str(path))
    assert result.exit_code == 2
    assert "row 2, column coating: 'Li[/x]' is not a formula" in result.stderr
    assert result.stdout == ""  # errors go to stderr
    assert "Traceback" not in result.output and count(ws) == 0


def test_rich_markup_in_an_argument(ws: Path) -> None:
    result = run(ws, "data", "show", "[bold]Li[/x]")
    assert result.exit_code == 2
    assert "no record with id '[bold]Li[/x]'" in result.stderr


def test_terminal_escapes_in_cells_are_not_echoed(ws: Path, tmp_path: Path) -> None:
    hostile = "\x1b]0;pwned\x07\x1b[31mred [bold]x[/] Li[/x]"
    path = tmp_path / "esc.csv"
    path.write_text(f"{HEADER}\n{GOOD_ROW.replace('lab notebook 7', hostile)}\n",
                    encoding="utf-8")
    assert run(ws, "data", "add", str(path)).exit_code == 0
    with Workspace.load(ws).store() as store:
        record_id = store.to_frame()["record_id"].iloc[0]
    for args in (("data", "show", record_id), ("data", "list")):
        result = run(ws, *args)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output
    shown = run(ws, "data", "show", record_id).stdout
    assert "\\x1b]0;pwned\\x07\\x1b[31mred [bold]x[/] Li[/x]" in shown


def test_unknown_kind_is_refused(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(f"{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
    result = run(ws, "data", "add", str(path), "--kind", "hacked")
    assert result.exit_code == 2
    assert "--kind must be one of literature, lab, synthetic, not 'hacked'" in result.stderr
    assert count(ws) == 0


@pytest.mark.parametrize("case", ["folder", "renamed", "missing"])
def test_unreadable_file_is_one_line(ws: Path, tmp_path: Path, case: str) -> None:
    if case == "folder":
        path = tmp_path / "x.csv"
        path.mkdir()
    elif case == "renamed":
        path = tmp_path / "x.xlsx"
        path.write_text(f"{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
    else:
        path = tmp_path / "absent.csv"
    result = run(ws, "data", "add", str(path))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    assert count(ws) == 0


def test_export_escapes_formulas_and_raw_cells_keeps_them(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "inj.csv"
    path.write_text(f"{HEADER}\n{GOOD_ROW.replace('lab notebook 7', '=1+1')}\n",
                    encoding="utf-8")
    assert run(ws, "data", "add", str(path)).exit_code == 0
    out = tmp_path / "out.csv"
    assert run(ws, "data", "export", "--out", str(out)).exit_code == 0
    assert pd.read_csv(out)["source"].tolist() == ["'=1+1"]
    assert run(ws, "data", "export", "--out", str(out), "--raw-cells").exit_code == 0
    assert pd.read_csv(out)["source"].tolist() == ["=1+1"]
    result = run(ws, "data", "export", "--out", str(tmp_path / "no" / "such" / "x.csv"))
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_unexpected_exception_is_one_line_and_debug_gives_the_trace(
        ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coatml.data import summary

    def broken(_frame: object) -> object:
        raise ZeroDivisionError("division by zero somewhere deep")

    monkeypatch.setattr(summary, "summarise", broken)
    path = ws / "ok.csv"
    path.write_text(f"{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
    run(ws, "data", "add", str(path))
    result = run(ws, "data", "summary")
    assert result.exit_code == 1
    assert result.stderr == ("error: unexpected ZeroDivisionError: division by zero somewhere "
                             "deep (run with --debug for the full trace)\n")
    debug = runner.invoke(app, ["--debug", "-w", str(ws), "data", "summary"])
    assert isinstance(debug.exception, ZeroDivisionError)


PREDICT_HEADER = ("electrode,electrolyte,coating,coated_component,method,temperature_c,"
                  "gpc_angstrom,cycles")
PREDICT_ROW = "LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,Al2O3,electrode,ALD,150,1.1,20"


@pytest.mark.parametrize(("text", "expected"), [
    (PREDICT_ROW.replace(",150,", ",150 C,"), "row 2, column temperature_c: '150 C' carries a "
                                               "unit"),
    (PREDICT_ROW.replace(",150,", ",hot,"), "row 2, column temperature_c: 'hot' is not a number"),
    (PREDICT_ROW.replace(",1.1,", ",-1.1,"), "row 2, column gpc_angstrom: -1.1 is below 0"),
    (PREDICT_ROW.replace(",20", ",-20"), "row 2, column cycles: -20 is below 0"),
])
def test_predict_validates_its_input_like_data_add(ws: Path, tmp_path: Path, text: str,
                                                   expected: str) -> None:
    path = tmp_path / "recipes.csv"
    path.write_text(f"{PREDICT_HEADER}\n{text}\n", encoding="utf-8")
    out = tmp_path / "pred.csv"
    result = run(ws, "predict", str(path), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert not out.exists()


def test_predict_refuses_a_column_in_another_unit(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "recipes.csv"
    path.write_text(f"{PREDICT_HEADER},thickness_angstrom\n{PREDICT_ROW},22\n", encoding="utf-8")
    result = run(ws, "predict", str(path), "--out", str(tmp_path / "pred.csv"))
    assert result.exit_code == 2
    assert "row 1, column thickness_angstrom: wrong unit" in result.stderr


def test_predict_with_a_broken_champion_names_it(ws: Path, tmp_path: Path) -> None:
    """A real champion in the workspace: a file of only electrode and electrolyte predicts;
    after one ensemble member is deleted the same command refuses with the reason."""
    from coatml.tracking import register_and_maybe_promote
    from coatml.tracking.training import tracker_for
    from tests.tracking.conftest import synthetic_records, train
    from tests.tracking.test_registry import log

    tracker = tracker_for(Workspace.load(ws))
    register_and_maybe_promote(tracker, log(tracker, train(synthetic_records(),
                                                           "capacity_retention_pct")))
    path = tmp_path / "pairs.csv"
    path.write_text("electrode,electrolyte\nLiNi0.8Mn0.1Co0.1O2,Li6PS5Cl\n", encoding="utf-8")
    out = tmp_path / "pred.csv"
    result = run(ws, "predict", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "interface_resistance_ohm_cm2: no champion model" in result.stderr
    assert pd.read_csv(out)["pred_capacity_retention_pct"].notna().all()
    # removing records while a champion was validated on them needs --yes
    data = tmp_path / "ok.csv"
    data.write_text(f"{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
    assert run(ws, "data", "add", str(data)).exit_code == 0
    with Workspace.load(ws).store() as store:
        record_id = store.to_frame()["record_id"].iloc[0]
    refused = run(ws, "data", "remove", record_id)
    assert refused.exit_code == 2 and "registered models were validated" in refused.stderr
    assert count(ws) == 1
    assert run(ws, "data", "remove", record_id, "--yes").exit_code == 0 and count(ws) == 0
    out.unlink()
    next((ws / "mlartifacts").rglob("member_001.json")).unlink()
    result = run(ws, "predict", str(path), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "changed since it was registered" in result.stderr
    assert "Traceback" not in result.output and not out.exists()


def test_data_remove_by_ingest_and_unknown_id(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(f"{HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
    assert run(ws, "data", "add", str(path)).exit_code == 0
    result = run(ws, "data", "remove", "r-nope")
    assert result.exit_code == 2 and "no record with id 'r-nope'" in result.stderr
    assert count(ws) == 1
    listed = run(ws, "data", "ingests")
    assert listed.exit_code == 0 and "ok.csv" in listed.stdout
    result = run(ws, "data", "remove", "--ingest", "1", "--reason", "wrong batch")
    assert result.exit_code == 0, result.output
    assert "Removed 1 record(s) (ingest 1); logged as removal 1" in result.stdout
    assert count(ws) == 0
    assert "wrong batch" in run(ws, "data", "removals").stdout


def test_size_limit_refuses_before_reading(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(f"{HEADER}\n" + f"{GOOD_ROW}\n" * 3, encoding="utf-8")
    result = run(ws, "data", "add", str(path), "--max-size-mb", "0.0001")
    assert result.exit_code == 2
    assert "above the limit of 0.0001 MB" in result.stderr and count(ws) == 0


def test_describe_exception_names_file_database_and_server_problems() -> None:
    import sqlalchemy as sa
    from mlflow.exceptions import MlflowException

    from coatml.cli.main import describe_exception

    assert describe_exception(PermissionError(13, "Permission denied", "/data/x.csv")) == (
        "Permission denied: /data/x.csv (run with --debug for the full trace)", 2)
    message, code = describe_exception(sa.exc.OperationalError(
        "SELECT 1", {}, Exception("server closed the connection unexpectedly")))
    assert code == 2 and message.startswith("database error (OperationalError): ")
    message, code = describe_exception(MlflowException(
        "API request to http://alice:pw@10.0.0.5:5000/api/2.0/mlflow/runs/get failed with "
        "exception HTTPConnectionPool: Max retries exceeded (Caused by NewConnectionError("
        "'Failed to establish a new connection: [Errno 111] Connection refused'))"))
    assert code == 2
    assert message.startswith("cannot reach the MLflow tracking server at "
                              "http://alice:***@10.0.0.5:5000: connection refused")
    assert describe_exception(KeyError("x"))[1] == 1
