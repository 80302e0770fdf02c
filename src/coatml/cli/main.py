"""The ``coatml`` command line: thin typer commands over the package's modules.

Heavy libraries are imported inside the commands, so ``coatml --help`` stays fast.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from coatml.cli import _common
from coatml.cli import literature as _literature_cli
from coatml.cli._common import console, fail, workspace_option
from coatml.exceptions import CoatmlError, mask_url

DEBUG_HINT = "run with --debug for the full trace"


def describe_exception(exc: BaseException) -> tuple[str, int]:
    """One line naming what went wrong, and the exit code: 2 for a problem with the input,
    the configuration or a server (the user can fix it), 1 for anything unexpected."""
    if isinstance(exc, CoatmlError):
        return str(exc), 2
    first = mask_url(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    name = type(exc).__name__
    if isinstance(exc, OSError) and (exc.strerror or exc.filename):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or first}{where} ({DEBUG_HINT})", 2
    module = type(exc).__module__.split(".")[0]
    if module == "sqlalchemy":
        return f"database error ({name}): {first} ({DEBUG_HINT})", 2
    if module in ("mlflow", "requests", "urllib3"):
        return _tracking_message(str(exc), name), 2
    if isinstance(exc, MemoryError):
        return f"out of memory ({DEBUG_HINT})", 1
    return f"unexpected {name}: {first or 'no message'} ({DEBUG_HINT})", 1


_API_URL = re.compile(r"API request to (\S+?)/api/\S* failed")
_CAUSES = (("read timed out", "no answer (timed out)"),
           ("connection refused", "connection refused: is the server running?"),
           ("name or service not known", "unknown host"),
           ("failed to resolve", "unknown host"),
           ("timed out", "timed out"))


def _tracking_message(text: str, name: str) -> str:
    """One line for an MLflow/HTTP failure: which server, and why, password masked."""
    match = _API_URL.search(text)
    low = text.casefold()
    if match:
        why = next((say for key, say in _CAUSES if key in low), None)
        if why:
            return (f"cannot reach the MLflow tracking server at {mask_url(match.group(1))}: "
                    f"{why} ([tracking] uri or COATML_TRACKING_URI; {DEBUG_HINT})")
    first = mask_url(text.strip().splitlines()[0] if text.strip() else name)
    return f"tracking server error ({name}): {first} ({DEBUG_HINT})"


class _Group(TyperGroup):
    """The root command group: any exception a command raises becomes one line on stderr
    (:func:`describe_exception`) unless ``--debug`` (or ``COATML_DEBUG=1``) asks for the
    traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # typer/click's own exits, aborts and usage errors keep their handling
            if _common.STATE.get("debug") or type(exc).__module__.split(".")[0] in (
                    "typer", "click"):
                raise
            message, code = describe_exception(exc)
            _common.print_error(message)
            raise typer.Exit(code) from None


app = typer.Typer(
    name="coatml",
    help="Rank and propose ALD/MLD interface coatings for solid-state lithium batteries.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Group,
)
data_app = typer.Typer(help="Add, inspect and export records.", no_args_is_help=True)
app.add_typer(data_app, name="data")
data_app.command("sources")(_literature_cli.data_sources)


@app.callback()
def _root(
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Workspace folder (default: COATML_WORKSPACE or "
                     "the current folder and its parents).", envvar="COATML_WORKSPACE"),
    ] = None,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the full Python traceback of an error.",
        envvar="COATML_DEBUG")] = False,
) -> None:
    _common.STATE["workspace"] = workspace
    _common.STATE["debug"] = debug
    _common.configure_width()


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder of the new workspace.")] = Path(
        "coatml-workspace"),
    literature: Annotated[bool, typer.Option(help="Load the bundled literature dataset.")] = True,
    database_url: Annotated[str | None, typer.Option(
        help="SQLAlchemy URL of the store (default: embedded SQLite in the workspace).")] = None,
    tracking_uri: Annotated[str | None, typer.Option(
        help="MLflow tracking URI (default: embedded SQLite in the workspace).")] = None,
) -> None:
    """Create a workspace (config + embedded database) and load the literature dataset."""
    from coatml.workspace import Workspace

    ws = Workspace.init(directory, database_url=database_url, tracking_uri=tracking_uri)
    console.print(f"Workspace [bold]{_common.esc(ws.root)}[/] "
                  f"(store: {_common.esc(_common.redact(ws.database_url))})", highlight=False)
    if literature:
        _common.add_literature(ws)
        _common.print_summary(ws)


@data_app.command("add")
def data_add(
    files: Annotated[list[Path] | None, typer.Argument(help="CSV or XLSX files.")] = None,
    literature: Annotated[bool, typer.Option(
        "--literature", help="Add the bundled literature dataset.")] = False,
    source: Annotated[str | None, typer.Option(
        help="Source for rows whose 'source' cell is empty (e.g. a notebook id).")] = None,
    kind: Annotated[str, typer.Option(help="data_kind for rows that leave it empty: lab, "
                                           "literature or synthetic.")] = "lab",
    max_size_mb: Annotated[float, typer.Option(
        help="Refuse files larger than this many MB (0: no limit).")] = 100.0,
    workspace: workspace_option = None,
) -> None:
    """Validate whole files, then add each in one transaction (all rows or none)."""
    from coatml.data.schema import DATA_KINDS

    if kind not in DATA_KINDS:
        fail(f"--kind must be one of {', '.join(DATA_KINDS)}, not '{kind}'")
    if not files and not literature:
        fail("name a CSV/XLSX file or pass --literature")
    if not max_size_mb >= 0:
        fail(f"--max-size-mb must be 0 (no limit) or positive, not {max_size_mb:g}")
    ws = _common.workspace(workspace)
    if literature:
        _common.add_literature(ws)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with ws.store() as store:
        for path in files or []:
            with Progress(TextColumn("validating {task.description}"), BarColumn(),
                          TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"),
                          TimeElapsedColumn(), console=_common.err_console,
                          transient=True,
                          disable=not _common.err_console.is_terminal) as bar:
                task = bar.add_task(_common.esc(path.name), total=1)

                def progress(done: int, total: int, bar: Progress = bar,
                             task: Any = task) -> None:
                    bar.update(task, completed=done, total=total)

                result = store.add_file(path, default_source=source, data_kind=kind,
                                        max_mb=max_size_mb or None, progress=progress)
            _common.report_ingest(result)


@data_app.command("list")
def data_list(
    limit: Annotated[int, typer.Option(help="Show at most this many records (0: all).")] = 50,
    kind: Annotated[str | None, typer.Option(help="Only this data_kind.")] = None,
    workspace: workspace_option = None,
) -> None:
    """List records (id, materials, recipe, targets, source)."""
    ws = _common.workspace(workspace)
    with ws.store() as store:
        frame = store.to_frame(data_kind=kind)
    columns = ["record_id", "electrode", "electrolyte", "coating", "method", "temperature_c",
               "thickness_nm", "cycle_number", "capacity_retention_pct",
               "interface_resistance_ohm_cm2", "data_kind"]
    shown = frame if limit == 0 else frame.head(limit)
    _common.print_frame(shown[columns], title=f"{len(frame)} records"
                        + (f" (first {limit})" if 0 < limit < len(frame) else ""))


@data_app.command("show")
def data_show(record_id: str, workspace: workspace_option = None) -> None:
    """Show every field of one record."""
    ws = _common.workspace(workspace)
    with ws.store() as store:
        try:
            row = store.get(record_id)
        except KeyError as exc:
            fail(str(exc.args[0]))
    _common.print_record(row)


@data_app.command("export")
def data_export(
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    out: Annotated[Path | None, typer.Option(help="Output file (default: outputs/records.*)")]
    = None,
    raw_cells: Annotated[bool, typer.Option(
        "--raw-cells", help="CSV: write text cells as stored, without the ' that keeps a "
        "spreadsheet from running a cell beginning with = + - @ as a formula.")] = False,
    workspace: workspace_option = None,
) -> None:
    """Export all records as CSV or Parquet.

    In CSV, a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    is written with a leading ``'`` so a spreadsheet shows it as text instead of running it as
    a formula (``--raw-cells`` writes the cells as stored)."""
    from coatml.data.store import spreadsheet_safe

    if fmt not in ("csv", "parquet"):
        fail(f"--format must be csv or parquet, not '{fmt}'")
    ws = _common.workspace(workspace)
    with ws.store() as store:
        frame = store.to_frame()
    target = out or ws.outputs_dir / f"records.{fmt}"
    if target.is_dir():
        fail(f"--out {target} is a folder; name a file")
    if not target.parent.is_dir():
        fail(f"--out {target}: the folder {target.parent} does not exist")
    if fmt == "csv":
        (frame if raw_cells else spreadsheet_safe(frame)).to_csv(target, index=False)
    else:
        frame.to_parquet(target, index=False)
    console.print(f"Wrote {len(frame)} records to {_common.esc(target)}", highlight=False)


@data_app.command("remove")
def data_remove(
    record_ids: Annotated[list[str] | None, typer.Argument(help="Record ids to remove.")] = None,
    ingest: Annotated[int | None, typer.Option(
        help="Remove every record of this ingest (ids: `coatml data ingests`).")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept in the removal log).")] = "",
    yes: Annotated[bool, typer.Option(
        "--yes", help="Remove even though registered models were validated on the current "
        "records (they are then out of date; retrain).")] = False,
    workspace: workspace_option = None,
) -> None:
    """Remove records (by id or a whole ingest) in one transaction, logged with the rows.

    Refused, removing nothing: unknown ids or ingest, records that a campaign result links,
    and (without --yes) any removal while registered models exist, since their recorded
    dataset hash would no longer match the store."""
    if not record_ids and ingest is None:
        fail("name record ids or pass --ingest N (see `coatml data ingests`)")
    ws = _common.workspace(workspace)
    if not yes:
        versions = _registered_versions(ws)
        if versions:
            fail("registered models were validated on the current records ("
                 + ", ".join(versions) + "); removing records leaves their dataset hash "
                 "matching nothing in the store. Pass --yes to remove anyway (the removed rows "
                 "stay in `coatml data removals`), then retrain with `coatml train`")
    with ws.store() as store:
        result = store.remove(record_ids or [], ingest_id=ingest, reason=reason)
    console.print(f"Removed {len(result.record_ids)} record(s) ({_common.esc(result.selection)})"
                  f"; logged as removal {result.removal_id}. Dataset hash "
                  f"{result.dataset_hash_before[:12]} -> {result.dataset_hash_after[:12]}.",
                  highlight=False)


def _registered_versions(ws: object) -> list[str]:
    """``name vN`` of every registered champion in the workspace's tracking store."""
    from coatml.tracking.registry import list_models
    from coatml.tracking.training import tracker_for

    _common.quiet_libraries()
    frame = list_models(tracker_for(ws))  # type: ignore[arg-type]
    champions = frame[frame["aliases"].astype(str).str.contains("champion")]
    return [f"{n} v{v} (dataset {str(h)[:12]})"
            for n, v, h in zip(champions["name"], champions["version"],
                               champions["dataset_hash"], strict=True)]


@data_app.command("ingests")
def data_ingests(workspace: workspace_option = None) -> None:
    """The ingest log: every file added, when, by whom, how many records."""
    ws = _common.workspace(workspace)
    with ws.store() as store:
        log = store.ingest_log()
    if log.empty:
        console.print("No ingests yet.")
        return
    _common.print_frame(log.drop(columns=["content_hash"]), title="Ingests")


@data_app.command("removals")
def data_removals(workspace: workspace_option = None) -> None:
    """The removal log of `coatml data remove`."""
    ws = _common.workspace(workspace)
    with ws.store() as store:
        log = store.removal_log()
    if log.empty:
        console.print("No removals.")
        return
    _common.print_frame(log, title="Removals")


@data_app.command("summary")
def data_summary(workspace: workspace_option = None) -> None:
    """Records per electrode / electrolyte / coating and how many carry each target."""
    _common.print_summary(_common.workspace(workspace))


@data_app.command("schema")
def data_schema() -> None:
    """Print the record schema (columns, units, allowed values)."""
    from coatml.data.schema import describe_schema_markdown

    console.print(describe_schema_markdown(), markup=False, highlight=False)


@data_app.command("aliases")
def data_aliases() -> None:
    """Print the alias table of named materials (formula, class, basis)."""
    from rich.table import Table

    from coatml.data.formulas import alias_table

    table = Table(title="Named materials", show_lines=False)
    for col in ("name", "formula", "class", "basis"):
        table.add_column(col, overflow="fold")
    seen = set()
    for alias in alias_table().values():
        if alias.name in seen:
            continue
        seen.add(alias.name)
        table.add_row(alias.name, alias.formula, alias.material_class, alias.basis)
    console.print(table)


def _register_optional() -> None:
    """Commands contributed by the later stages of the pipeline (features, models, ...)."""
    import importlib

    for module in ("coatml.cli.features", "coatml.cli.models", "coatml.cli.recommend",
                   "coatml.cli.propose", "coatml.cli.bench", "coatml.cli.quickstart",
                   "coatml.cli.screen", "coatml.cli.inventory", "coatml.cli.ui"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(app)


_register_optional()


def main() -> None:
    try:
        app()
    except CoatmlError as exc:
        _common.print_error(exc)
        sys.exit(2)


if __name__ == "__main__":
    main()
