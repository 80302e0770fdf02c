"""Shared helpers of the CLI commands: workspace lookup, tables, error exits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    import pandas as pd

    from coatml.data.store import IngestResult
    from coatml.workspace import Workspace

console = Console()
err_console = Console(stderr=True)
STATE: dict[str, Any] = {"workspace": None}

workspace_option = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (overrides the global option).",
                 show_default=False),
]


def quiet_libraries() -> None:
    """MLflow, Alembic and Optuna log at WARNING: the CLI shows its own progress and tables."""
    import logging
    import os

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    for name in ("mlflow", "alembic", "optuna"):
        logging.getLogger(name).setLevel(logging.WARNING)
    import optuna  # its own logger setup on import would reset the level set above

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def configure_width() -> None:
    """Piped output (a file, a notebook cell, a test) gets wide tables instead of folded ones."""
    for con in (console, err_console):
        con._width = None if con.is_terminal else 160


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(value: object) -> str:
    """``value`` as text safe to show in a terminal: control characters (an escape sequence
    that would recolour, move the cursor or retitle the terminal) are shown as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def esc(value: object) -> str:
    """``value`` for interpolation into a rich markup string: markup brackets escaped
    (``Li[/x]`` is shown as typed instead of crashing the printer) and control characters made
    visible (:func:`printable`)."""
    from rich.markup import escape

    return escape(printable(value))


def print_error(message: object, code_hint: str = "") -> None:
    """``error: <message>`` on stderr; the message is shown as typed (no markup)."""
    err_console.print(f"[bold red]error:[/] {esc(message)}{code_hint}", highlight=False,
                      soft_wrap=True)


def warn(message: object) -> None:
    """``warning: <message>`` on stderr."""
    err_console.print(f"[yellow]warning:[/] {esc(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` as an error on stderr and exit with ``code`` (2: bad input)."""
    print_error(message)
    raise typer.Exit(code)


def redact(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    from coatml.exceptions import mask_url

    return mask_url(url)


def workspace(explicit: Path | None = None) -> Workspace:
    from coatml.workspace import Workspace

    return Workspace.find(explicit or STATE.get("workspace"))


def report_ingest(result: IngestResult) -> None:
    name = esc(result.source_name)
    for warning in result.warnings:
        warn(f"{result.source_name}: {warning}")
    if result.ignored_columns:
        console.print(f"{name}: ignored columns "
                      f"{esc(', '.join(result.ignored_columns))}", highlight=False)
    if result.already_present:
        console.print(f"{name}: already added (same content); nothing to do", highlight=False)
    else:
        skipped = f", {result.n_skipped} already stored" if result.n_skipped else ""
        console.print(f"{name}: added {result.n_added} records{skipped}", highlight=False)


def add_literature(ws: Workspace) -> None:
    from coatml.data.literature import load_literature

    table = load_literature()
    with ws.store() as store:
        report_ingest(store.add_validated(table, source_name="literature dataset"))


def print_frame(frame: pd.DataFrame, title: str = "", max_width: int = 40) -> None:
    import math

    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(printable(title)) if title else None, header_style="bold")
    for position, col in enumerate(frame.columns):
        table.add_column(Text(printable(col)), overflow="fold", max_width=max_width,
                         no_wrap=position == 0)
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append("")
            elif isinstance(value, float):
                cells.append(f"{value:.4g}")
            else:
                text = str(value)
                cells.append("" if text in ("<NA>", "nan", "None") else text)
        table.add_row(*(Text(printable(cell)) for cell in cells))
    console.print(table)


def print_record(row: pd.Series) -> None:
    from rich.table import Table
    from rich.text import Text

    from coatml.data.schema import COLUMN_BY_NAME

    table = Table(show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_column("unit")
    for name, value in row.items():
        text = "" if value is None or str(value) in ("<NA>", "nan", "NaT", "None") else str(value)
        table.add_row(Text(printable(name)), Text(printable(text)),
                      COLUMN_BY_NAME[str(name)].unit)
    console.print(table)


def print_summary(ws: Workspace) -> None:
    from coatml.data.summary import summarise

    with ws.store() as store:
        frame = store.to_frame()
    if frame.empty:
        console.print("The workspace holds no records yet (`coatml data add FILE.csv`).")
        return
    s = summarise(frame)
    console.print(f"[bold]{s.n_records} records[/]: {s.n_coated} coated, {s.n_bare} bare "
                  f"controls, {s.n_pairs} coated/bare pairs; by kind: "
                  + esc(", ".join(f"{k} {v}" for k, v in s.by_kind.items())), highlight=False)
    print_frame(s.targets, title="Records carrying each target / outcome")
    for title, series in (("electrode", s.by_electrode), ("electrolyte", s.by_electrolyte),
                          ("coating", s.by_coating)):
        frame_counts = series.rename("records").rename_axis(title).reset_index()
        print_frame(frame_counts, title=f"Records per {title}")
