"""``coatml data sources``: the sources behind the records, with their counts and outcome types.

Registered on the ``data`` command group by :mod:`coatml.cli.main`. Heavy libraries are imported
inside the command so that ``coatml --help`` stays light.
"""

from __future__ import annotations

from typing import Annotated

import typer

from coatml.cli import _common
from coatml.cli._common import console, workspace_option


def data_sources(
    bundled: Annotated[bool, typer.Option(
        "--bundled", help="List the bundled literature dataset instead of the workspace.")]
    = False,
    limit: Annotated[int, typer.Option(help="Show at most this many sources (0: all).")] = 0,
    workspace: workspace_option = None,
) -> None:
    """Sources (DOI, review reference, notebook) with record counts and outcome types, and the
    bundled literature dataset's version and content hash."""
    from coatml.data.literature import literature_version, load_literature
    from coatml.data.summary import sources_table

    version = literature_version(strict=False)
    console.print(f"Bundled literature dataset: version {version.version}, content sha256 "
                  f"{version.content_hash[:16]}")
    if bundled:
        records = load_literature().records
        where = "bundled literature dataset"
    else:
        ws = _common.workspace(workspace)
        with ws.store() as store:
            records = store.to_frame()
        where = f"workspace {ws.root}"
    if records.empty:
        console.print(f"No records in the {where}.")
        return
    table = sources_table(records)
    shown = table if limit == 0 else table.head(limit)
    title = (f"{len(table)} sources, {len(records)} records ({where})"
             + (f"; first {limit}" if 0 < limit < len(table) else ""))
    _common.print_frame(shown, title=title, max_width=60)
