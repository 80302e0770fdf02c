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


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def redact(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


def workspace(explicit: Path | None = None) -> Workspace:
    from coatml.workspace import Workspace

    return Workspace.find(explicit or STATE.get("workspace"))


def report_ingest(result: IngestResult) -> None:
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {result.source_name}: {warning}", highlight=False)
    if result.ignored_columns:
        console.print(f"{result.source_name}: ignored columns "
                      f"{', '.join(result.ignored_columns)}")
    if result.already_present:
        console.print(f"{result.source_name}: already added (same content); nothing to do")
    else:
        skipped = f", {result.n_skipped} already stored" if result.n_skipped else ""
        console.print(f"{result.source_name}: added {result.n_added} records{skipped}")


def add_literature(ws: Workspace) -> None:
    from coatml.data.literature import load_literature

    table = load_literature()
    with ws.store() as store:
        report_ingest(store.add_validated(table, source_name="literature dataset"))


def print_frame(frame: pd.DataFrame, title: str = "", max_width: int = 40) -> None:
    import math

    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for position, col in enumerate(frame.columns):
        table.add_column(str(col), overflow="fold", max_width=max_width,
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
        table.add_row(*cells)
    console.print(table)


def print_record(row: pd.Series) -> None:
    from rich.table import Table

    from coatml.data.schema import COLUMN_BY_NAME

    table = Table(show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_column("unit")
    for name, value in row.items():
        text = "" if value is None or str(value) in ("<NA>", "nan", "NaT", "None") else str(value)
        table.add_row(str(name), text, COLUMN_BY_NAME[str(name)].unit)
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
                  + ", ".join(f"{k} {v}" for k, v in s.by_kind.items()))
    print_frame(s.targets, title="Records carrying each target / outcome")
    for title, series in (("electrode", s.by_electrode), ("electrolyte", s.by_electrolyte),
                          ("coating", s.by_coating)):
        frame_counts = series.rename("records").rename_axis(title).reset_index()
        print_frame(frame_counts, title=f"Records per {title}")
