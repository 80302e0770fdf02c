"""Count how coatml answers bad input (issue #14): clear errors, tracebacks, silent acceptances.

Runs every case below through the real CLI (in-process with typer's CliRunner; connection cases
in a subprocess with a time limit, to catch hangs) against whichever coatml is importable, so
the same script measures two trees::

    PYTHONPATH=/work/main/src python experiments/bad_inputs.py      # before
    PYTHONPATH=src python experiments/bad_inputs.py                 # after

Each case says what a correct answer is: ``refuse`` (non-zero exit, a message containing
``expect``, no traceback, the store unchanged) or ``accept`` (exit 0 and the check passes).
Outcomes:

- ``clear``: the correct answer (a refusal naming the problem, or a correct acceptance);
- ``traceback``: a Python exception escaped (or a one-line "unexpected ..." from the handler:
  counted apart as ``unexpected``);
- ``silent``: exit 0 where a refusal was due, or the store changed on a refusal, or stored
  code ran, or a hostile cell came out raw;
- ``unclear``: a refusal whose message does not name the problem (e.g. fails for another
  reason), or a wrong acceptance result;
- ``hang``: the subprocess ran past its limit.

The synthetic model used by the model cases is trained on the tracking tests' synthetic
records (labelled synthetic there); no number here is a measurement.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.* helpers for the synthetic model

HEADER = ("electrode,electrolyte,coating,coated_component,method,precursors,temperature_c,"
          "gpc_angstrom,cycles,thickness_nm,cycle_number,capacity_retention_pct,"
          "interface_resistance_ohm_cm2,source")
GOOD = ("LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,LiNbO3,electrode,ALD,LiOtBu/Nb(OEt)5,235,2,10,,100,"
        "85,40,lab notebook 7")
BARE = "LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,,,,,,,,,100,40,300,lab notebook 7"
PRED_HEADER = "electrode,electrolyte,coating,coated_component,method,temperature_c,gpc_angstrom"
PRED_ROW = "LiNi0.8Mn0.1Co0.1O2,Li6PS5Cl,Al2O3,electrode,ALD,150,1.1"


@dataclass
class Case:
    name: str
    run: Callable[[Path], tuple[int, str, bool, bool]]  # (exit, output, traceback, changed)
    expect: str = ""
    want: str = "refuse"


def _cli(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, bool]:
    from typer.testing import CliRunner

    from coatml.cli.main import app

    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        result = CliRunner().invoke(app, args)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        from coatml.exceptions import CoatmlError

        if isinstance(exc, CoatmlError):  # what the `coatml` entry point (main()) prints
            from rich.markup import render

            try:  # main() printed the message as rich markup before issue #14
                render(f"[bold red]error:[/] {exc}")
            except Exception:  # noqa: BLE001 - the printer itself crashed: a traceback
                return 1, result.output + f"MarkupError printing: {exc}", True
            return 2, result.output + f"error: {exc}", False
        return result.exit_code, result.output, True
    return result.exit_code, result.output, False


def _count(ws: Path) -> int:
    from coatml.workspace import Workspace

    with Workspace.load(ws).store() as store:
        return store.count()


def add_text(text: str, name: str = "in.csv", extra: tuple[str, ...] = ()) -> Callable:
    def run(ws: Path) -> tuple[int, str, bool, bool]:
        path = ws.parent / name
        path.write_text(text, encoding="utf-8")
        before = _count(ws)
        code, out, tb = _cli(["-w", str(ws), "data", "add", str(path), *extra])
        return code, out, tb, _count(ws) != before
    return run


def add_path(make: Callable[[Path], Path]) -> Callable:
    def run(ws: Path) -> tuple[int, str, bool, bool]:
        path = make(ws.parent)
        before = _count(ws)
        code, out, tb = _cli(["-w", str(ws), "data", "add", str(path)])
        return code, out, tb, _count(ws) != before
    return run


def row(**changes: str) -> str:
    cells = dict(zip(HEADER.split(","), GOOD.split(","), strict=True))
    cells.update(changes)
    return f"{HEADER}\n" + ",".join(f'"{v}"' if "," in v else v for v in cells.values()) + "\n"


def _xlsx_rows() -> list[dict[str, str]]:
    return [dict(zip(HEADER.split(","), r.split(","), strict=True)) for r in (GOOD, BARE)]


def two_sheets(folder: Path) -> Path:
    import pandas as pd

    path = folder / "two.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame(_xlsx_rows()).to_excel(writer, sheet_name="a", index=False)
        pd.DataFrame(_xlsx_rows()[:1]).to_excel(writer, sheet_name="b", index=False)
    return path


def formula_cell(folder: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(GOOD.split(","))
    sheet.cell(row=2, column=HEADER.split(",").index("cycle_number") + 1, value="=100+50")
    path = folder / "formula.xlsx"
    book.save(path)
    return path


def renamed(folder: Path) -> Path:
    path = folder / "renamed.xlsx"
    path.write_text(f"{HEADER}\n{GOOD}\n", encoding="utf-8")
    return path


def truncated(folder: Path) -> Path:
    import pandas as pd

    good = folder / "good.xlsx"
    pd.DataFrame(_xlsx_rows()).to_excel(good, index=False)
    path = folder / "trunc.xlsx"
    path.write_bytes(good.read_bytes()[:1500])
    return path


def directory(folder: Path) -> Path:
    path = folder / "x.csv"
    path.mkdir()
    return path


def show_escape(ws: Path) -> tuple[int, str, bool, bool]:
    hostile = "\x1b]0;pwned\x07\x1b[31mred"
    add_text(row(source=hostile))(ws)
    from coatml.workspace import Workspace

    with Workspace.load(ws).store() as store:
        rid = str(store.to_frame()["record_id"].iloc[0])
    code, out, tb = _cli(["-w", str(ws), "data", "show", rid])
    echoed = "\x1b" in out or "\x07" in out
    return (0 if not echoed else 99), out + ("\n[escape echoed]" if echoed else ""), tb, False


def export_injection(ws: Path) -> tuple[int, str, bool, bool]:
    import pandas as pd

    add_text(row(source="=HYPERLINK(\"http://x\")"))(ws)
    out_path = ws.parent / "export.csv"
    code, out, tb = _cli(["-w", str(ws), "data", "export", "--out", str(out_path)])
    if code != 0:
        return code, out, tb, False
    cell = str(pd.read_csv(out_path)["source"].iloc[0])
    return (0 if cell.startswith("'") else 99), out + f"\ncell: {cell}", tb, False


def markup_argument(ws: Path) -> tuple[int, str, bool, bool]:
    code, out, tb = _cli(["-w", str(ws), "data", "show", "Li[/x]"])
    return code, out, tb, False


def remove_ingest(ws: Path) -> tuple[int, str, bool, bool]:
    add_text(f"{HEADER}\n{GOOD}\n")(ws)
    code, out, tb = _cli(["-w", str(ws), "data", "remove", "--ingest", "1"])
    return code, out, tb, False


def predict_text(text: str) -> Callable:
    def run(ws: Path) -> tuple[int, str, bool, bool]:
        path = ws.parent / "recipes.csv"
        path.write_text(text, encoding="utf-8")
        code, out, tb = _cli(["-w", str(ws), "predict", str(path), "--out",
                              str(ws.parent / "p.csv")])
        return code, out, tb, False
    return run


def config_line(line: str) -> Callable:
    def run(ws: Path) -> tuple[int, str, bool, bool]:
        config = ws / "coatml.toml"
        config.write_text(config.read_text().replace('url = "sqlite:///coatml.db"', line))
        code, out, tb = _cli(["-w", str(ws), "data", "list"])
        return code, out, tb, False
    return run


def _subprocess(args: list[str], env: dict[str, str], limit: float = 30.0
                ) -> tuple[int, str, bool]:
    full = {**os.environ, **env}
    try:
        proc = subprocess.run([sys.executable, "-m", "coatml.cli.main", *args], env=full,
                              capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return -999, "[hang]", False
    out = proc.stdout + proc.stderr
    return proc.returncode, out, "Traceback (most recent call last)" in out


def _silent_server() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    return server, int(server.getsockname()[1])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_url(kind: str) -> Callable:
    def run(ws: Path) -> tuple[int, str, bool, bool]:
        server = None
        if kind == "silent":
            server, port = _silent_server()
        else:
            port = _closed_port()
        try:
            code, out, tb = _subprocess(
                ["-w", str(ws), "data", "list"],
                {"COATML_DATABASE_URL": f"postgresql://u:s3cret@127.0.0.1:{port}/db"})
        finally:
            if server is not None:
                server.close()
        if "s3cret" in out:
            out += "\n[password shown]"
        return code, out, tb, False
    return run


def mlflow_silent(ws: Path) -> tuple[int, str, bool, bool]:
    server, port = _silent_server()
    try:
        code, out, tb = _subprocess(["-w", str(ws), "models", "list"],
                                    {"COATML_TRACKING_URI": f"http://127.0.0.1:{port}"},
                                    limit=30.0)
    finally:
        server.close()
    return code, out, tb, False


def init_bad_password(ws: Path) -> tuple[int, str, bool, bool]:
    target = ws.parent / "fresh"
    code, out, tb = _cli(["init", str(target), "--database-url",
                          f"postgresql://u:s3cret@127.0.0.1:{_closed_port()}/db"])
    left = (target / "coatml.toml").exists()
    return code, out + ("\n[half-made workspace left]" if left else ""), tb, left


# ------------------------------------------------------------------ model cases
def _with_model(ws: Path) -> Path:
    """Train + register a small synthetic retention model in ``ws``; return its model dir."""
    from tests.tracking.conftest import synthetic_records, train
    from tests.tracking.test_registry import log

    from coatml.tracking import register_and_maybe_promote
    from coatml.tracking.training import tracker_for
    from coatml.workspace import Workspace

    tracker = tracker_for(Workspace.load(ws))
    register_and_maybe_promote(tracker, log(tracker, train(synthetic_records(),
                                                           "capacity_retention_pct")))
    (model_dir,) = [p.parent for p in (ws / "mlartifacts").rglob("MLmodel")]
    return model_dir


def _predict(ws: Path) -> tuple[int, str, bool]:
    path = ws.parent / "recipes.csv"
    path.write_text(f"{PRED_HEADER}\n{PRED_ROW}\n", encoding="utf-8")
    return _cli(["-w", str(ws), "predict", str(path), "--out", str(ws.parent / "p.csv")])


def model_code_appended(ws: Path) -> tuple[int, str, bool, bool]:
    model_dir = _with_model(ws)
    marker = ws.parent / "code-ran"
    with (model_dir / "coatml_pyfunc_model.py").open("a") as fh:
        fh.write(f"\nopen({str(marker)!r}, 'w').write('x')\n")
    code, out, tb = _predict(ws)
    ran = marker.exists()
    return code, out + ("\n[stored code ran]" if ran else ""), tb, ran


def model_member_deleted(ws: Path) -> tuple[int, str, bool, bool]:
    model_dir = _with_model(ws)
    (model_dir / "artifacts" / "ensemble" / "member_001.json").unlink()
    code, out, tb = _predict(ws)
    return code, out, tb, False


def model_member_tampered(ws: Path) -> tuple[int, str, bool, bool]:
    model_dir = _with_model(ws)
    member = model_dir / "artifacts" / "ensemble" / "member_001.json"
    data = json.loads(member.read_text())
    member.write_text(json.dumps(data).replace("0.1", "0.2", 5))
    code, out, tb = _predict(ws)
    return code, out, tb, False


def model_artifacts_removed(ws: Path) -> tuple[int, str, bool, bool]:
    _with_model(ws)
    shutil.rmtree(ws / "mlartifacts")
    code, out, tb = _predict(ws)
    return code, out, tb, False


def model_workspace_moved(ws: Path) -> tuple[int, str, bool, bool]:
    _with_model(ws)
    moved = ws.parent / "moved-ws"
    shutil.move(ws, moved)
    code, out, tb = _predict(moved)
    return code, out, tb, False


CASES = [
    Case("unit in a cell (235 C)", add_text(row(temperature_c="235 C")), "carries a unit"),
    Case("overflow formula", add_text(row(coating="Li100000000000000000000000000000O")),
         "column coating"),
    Case("NaN as electrode", add_text(row(electrode="NaN")), "column electrode"),
    Case("NaN as coating", add_text(row(coating="NaN")), "column coating"),
    Case("Na (sodium) coating stays coated", add_text(row(coating="Na")), want="accept"),
    Case("2_0 as a number", add_text(row(temperature_c="2_0")), "column temperature_c"),
    Case("Arabic-Indic digits", add_text(row(temperature_c="٢٣٥")), "column temperature_c"),
    Case("cycle_number 1e308", add_text(row(cycle_number="1e308")), "column cycle_number"),
    Case("resistance 1e-300", add_text(row(interface_resistance_ohm_cm2="1e-300")),
         "column interface_resistance_ohm_cm2"),
    Case("pair_id joining electrodes",
         add_text(f"{HEADER},pair_id\n{GOOD},p1\n"
                  f"{BARE.replace('LiNi0.8Mn0.1Co0.1O2', 'LiCoO2')},p1\n"), "pair_id"),
    Case("bare control coated_component=electrode",
         add_text(f"{HEADER}\n{BARE.replace(',,,,,,,,,100', ',,electrode,,,,,,,100')}\n"),
         "coated_component"),
    Case("cell_failed with targets", add_text(f"{HEADER},cell_failed\n{GOOD},true\n"),
         "cell_failed"),
    Case("--kind hacked", add_text(f"{HEADER}\n{GOOD}\n", extra=("--kind", "hacked")),
         "hacked"),
    Case("decimal comma", add_text(row(temperature_c="235,5")), "decimal comma"),
    Case("semicolon delimiter", add_text(f"{HEADER}\n{GOOD}\n".replace(",", ";")),
         "semicolons"),
    Case("tab delimiter", add_text(f"{HEADER}\n{GOOD}\n".replace(",", "\t")), "tabs"),
    Case("date in a numeric column", add_text(row(temperature_c="2024-01-05")), "date"),
    Case("text in a numeric column", add_text(row(temperature_c="hot")), "not a number"),
    Case("xlsx data on two sheets", add_path(two_sheets), "sheets"),
    Case("xlsx formula cell", add_path(formula_cell), "formula"),
    Case("CSV renamed .xlsx", add_path(renamed), "XLSX"),
    Case("truncated xlsx", add_path(truncated), "XLSX"),
    Case("directory named x.csv", add_path(directory), "folder"),
    Case("rich markup in a cell", add_text(row(coating="Li[/x]")), "Li[/x]"),
    Case("rich markup in an argument", markup_argument, "Li[/x]"),
    Case("terminal escapes echoed by data show", show_escape, want="accept"),
    Case("CSV export formula injection", export_injection, want="accept"),
    Case("data remove --ingest", remove_ingest, want="accept"),
    Case("predict: unit in a cell", predict_text(
        f"{PRED_HEADER}\n{PRED_ROW.replace(',150,', ',150 C,')}\n"), "carries a unit"),
    Case("predict: negative GPC", predict_text(
        f"{PRED_HEADER}\n{PRED_ROW.replace(',1.1', ',-1.1')}\n"), "gpc_angstrom"),
    Case("predict: thickness_angstrom column", predict_text(
        f"{PRED_HEADER},thickness_angstrom\n{PRED_ROW},22\n"), "thickness_angstrom"),
    Case("config url = 5", config_line("url = 5"), "url"),
    Case("config url without scheme", config_line('url = "coatml.db"'), "sqlite:///"),
    Case("config sqlite under a file", config_line('url = "sqlite:////etc/hostname/x.db"'),
         "/etc/hostname/x.db"),
    Case("postgres closed port", pg_url("closed"), "127.0.0.1"),
    Case("postgres host never answers", pg_url("silent"), "127.0.0.1"),
    Case("MLflow server never answers", mlflow_silent, "127.0.0.1"),
    Case("init with unreachable database", init_bad_password, "127.0.0.1"),
    Case("model: code appended to stored file (must not run)", model_code_appended,
         "changed"),
    Case("model: ensemble member deleted", model_member_deleted, "capacity_retention_pct"),
    Case("model: ensemble member edited", model_member_tampered, "capacity_retention_pct"),
    Case("model: mlartifacts removed", model_artifacts_removed, "capacity_retention_pct"),
    Case("model: workspace moved", model_workspace_moved, want="accept"),
]


def classify(case: Case, code: int, out: str, tb: bool, changed: bool) -> str:
    if code == -999:
        return "hang"
    if tb:
        return "traceback"
    if "unexpected " in out and "--debug" in out:
        return "unexpected"
    if case.want == "accept":  # the store may change: accepting is the point
        return "clear" if code == 0 else ("silent" if code == 99 else "unclear")
    if code == 0 or changed:
        return "silent"
    return "clear" if case.expect in out and "[password shown]" not in out else "unclear"


def main() -> None:
    from coatml.cli.main import app  # noqa: F401 - fail early if coatml is not importable

    only = sys.argv[1:]
    results = []
    for case in CASES:
        if only and not any(o in case.name for o in only):
            continue
        folder = Path(tempfile.mkdtemp(prefix="coatml-bad-"))
        ws = folder / "ws"
        code, out, tb = _cli(["init", str(ws), "--no-literature"])
        assert code == 0, out
        start = time.monotonic()
        try:
            code, out, tb, changed = case.run(ws)
        except Exception as exc:  # noqa: BLE001 - an exception outside the CLI: a traceback
            code, out, tb, changed = 1, f"{type(exc).__name__}: {exc}", True, False
        seconds = time.monotonic() - start
        outcome = classify(case, code, out, tb, changed)
        first = next((ln for ln in out.splitlines() if ln.strip()), "")[:110]
        results.append(outcome)
        print(f"{outcome:10s} {seconds:5.1f}s  {case.name:42s} | exit {code} | {first}",
              flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    counts = Counter(results)
    print("\n" + ", ".join(f"{k} {counts[k]}" for k in ("clear", "silent", "traceback",
                                                         "unexpected", "unclear", "hang"))
          + f" (of {len(results)} cases)")


if __name__ == "__main__":
    main()
