"""`coatml screen`: the physics screening of every candidate coating for a pair."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coatml.cli import _common
from coatml.cli import _options as o
from coatml.cli._common import console, fail, workspace_option


def screen(
    electrode: o.ElectrodeOpt,
    electrolyte: o.ElectrolyteOpt,
    coated_component: o.ComponentOpt = o.ComponentChoice.auto,
    coatings: o.CoatingsOpt = None,
    library_only: Annotated[bool, typer.Option(
        "--library-only", help="Only the sourced library coatings (no enumerated ones).")]
    = False,
    thickness: Annotated[float, typer.Option(
        help="Film thickness of the Li-ion resistance criterion (nm, > 0).")] = 2.5,
    rows: Annotated[int, typer.Option(help="Candidates to show (all are written).", min=1)]
    = 25,
    out: Annotated[Path | None, typer.Option(
        help="CSV path of the long table (default: outputs/screen_*.csv in the workspace; "
             "with --out no workspace is needed).")] = None,
    no_inventory: o.NoInventoryOpt = False,
    workspace: workspace_option = None,
) -> None:
    """Screen every candidate coating (library + enumerated) for a pair: stability window,
    chemical compatibility, transport and deposition, each with value, uncertainty, status
    and reason."""
    import pandas as pd
    from rich.table import Table

    from coatml.cli.recommend import _slug
    from coatml.data.formulas import resolve_material
    from coatml.recommend.candidates import enumerate_candidates
    from coatml.recommend.screening import screen_candidates, screening_summary

    o.check_positive(thickness, "--thickness")
    o.check_materials(electrode, electrolyte)
    names = o.parse_coatings(coatings)
    candidates = enumerate_candidates()
    if library_only:
        candidates = candidates[candidates["in_library"]]
    if names is not None:
        wanted = {resolve_material(n).composition.reduced_formula for n in names}
        keep = candidates["reduced_formula"].isin(wanted) | candidates["coating"].isin(names)
        missing = [n for n in names if resolve_material(n).composition.reduced_formula
                   not in set(candidates.loc[keep, "reduced_formula"]) and n not in
                   set(candidates.loc[keep, "coating"])]
        if missing:
            fail(f"--coatings: not a candidate coating: {', '.join(missing)} (the candidates "
                 "are the library and the enumerated Li-M-X compositions)")
        candidates = candidates[keep]
    ws = None
    if out is None or workspace is not None:
        ws = _common.workspace(workspace)
    else:  # --out given: a workspace is only needed for its inventory
        from coatml.exceptions import WorkspaceError

        try:
            ws = _common.workspace(None)
        except WorkspaceError:
            ws = None
    inventory = o.inventory(ws, no_inventory) if ws is not None else None
    table = screen_candidates(candidates.reset_index(drop=True), electrode, electrolyte,
                              coated_component.value, thickness_nm=thickness,
                              inventory=inventory)
    summary = screening_summary(table)
    order = {"pass": 0, "warn": 1, "fail": 2}
    lib = candidates.set_index("coating")["in_library"]
    summary = summary.assign(_o=summary["screen_verdict"].map(order),
                             _l=~summary["coating"].map(lib).fillna(False).astype(bool))
    summary = summary.sort_values(["_o", "_l", "n_warn", "coating"], kind="mergesort")
    counts = summary["screen_verdict"].value_counts()
    console.print(f"[bold]Screened[/] {len(summary)} candidate coatings for {electrode} | "
                  f"{electrolyte}: " + ", ".join(f"{counts.get(v, 0)} {v}"
                                                for v in ("pass", "warn", "fail")),
                  highlight=False)
    shown = Table(title="Screening (first rows; pass, then warn, then fail)",
                  header_style="bold")
    for col in ("coating", "verdict", "fail/warn/unknown"):
        shown.add_column(col)
    shown.add_column("reasons", overflow="fold", max_width=100)
    for r in summary.head(rows).itertuples(index=False):
        shown.add_row(_common.esc(r.coating), r.screen_verdict,
                      f"{r.n_fail}/{r.n_warn}/{r.n_unknown}", _common.esc(r.screen_reasons))
    console.print(shown)
    if out is not None:
        path = out
    else:
        assert ws is not None
        path = ws.outputs_dir / f"screen_{_slug(electrode)}_{_slug(electrolyte)}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = table.merge(summary[["coating", "screen_verdict"]], on="coating", how="left")
    pd.DataFrame(merged).to_csv(path, index=False)
    console.print(f"Wrote {len(table)} rows ({len(summary)} coatings x "
                  f"{table['criterion'].nunique()} criteria) to {path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("screen")(screen)
