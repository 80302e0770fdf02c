"""Helpers shared by the pages: the workspace, cached champion models, problem tables."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

if TYPE_CHECKING:
    from coatml.workspace import Workspace

TARGETS = {"retention": "capacity_retention_pct", "resistance": "interface_resistance_ohm_cm2"}
DEFAULT_MAX_UPLOAD_MB = 20
#: Surrogates a proposal can use (the champions, or a pair surrogate fitted now).
SURROGATES = ("champion", "gp", "gp-prior", "gp-transfer")


def workspace() -> Workspace:
    """The workspace named by ``COATML_WORKSPACE`` (set by ``coatml ui``)."""
    from coatml.workspace import Workspace

    return Workspace.find(os.environ.get("COATML_WORKSPACE") or None)


def max_upload_bytes() -> int:
    """The upload limit (``coatml ui --max-upload-mb``; Streamlit enforces it too)."""
    try:
        mb = int(os.environ.get("COATML_UI_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB))
    except ValueError:
        mb = DEFAULT_MAX_UPLOAD_MB
    return mb * 1024 * 1024


def too_large(data: bytes, name: str) -> bool:
    """Show an error and return True when an upload is past the limit."""
    limit = max_upload_bytes()
    if len(data) > limit:
        st.error(f"{name}: {len(data) / 1e6:.1f} MB is more than the upload limit of "
                 f"{limit // (1024 * 1024)} MB (`coatml ui --max-upload-mb`); nothing was "
                 "written")
        return True
    return False


def problems_frame(problems: Iterable[Any]) -> pd.DataFrame:
    """Validation problems as a table: row (as a spreadsheet shows it), column, reason."""
    return pd.DataFrame(
        [{"row": "" if p.row is None else str(p.row), "column": p.column or "",
          "reason": p.reason} for p in problems], columns=["row", "column", "reason"])


def show_validation_error(exc: Any) -> None:
    """Every problem of a ValidationError inline, and that nothing was written."""
    problems = list(getattr(exc, "problems", []))
    st.error(f"{len(problems)} problem(s) in {getattr(exc, 'source', 'the file')}: "
             "nothing was written.")
    lines = []
    for p in problems:
        lines.append(f"- {p}")
    st.markdown("\n".join(lines[:200]) or str(exc))
    st.dataframe(problems_frame(problems), hide_index=True, width="stretch")


def tracker(ws: Workspace) -> Any:
    from coatml.tracking.training import tracker_for

    return tracker_for(ws)


def champion_versions(ws: Workspace, targets: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``((target, version), ...)`` of the current champions (cheap registry look-up): the key
    of the model cache, so a promotion loads the new champion."""
    from mlflow.exceptions import MlflowException

    from coatml.tracking.registry import CHAMPION, model_name

    client = tracker(ws).client()
    out = []
    for target in targets:
        try:
            mv = client.get_model_version_by_alias(model_name(target), CHAMPION)
            out.append((target, str(mv.version)))
        except MlflowException:
            out.append((target, ""))
    return tuple(out)


@st.cache_resource(show_spinner="Loading the champion models ...", max_entries=8)
def _load_champions(root: str, tracking_uri: str, versions: tuple[tuple[str, str], ...]
                    ) -> tuple[dict[str, Any], dict[str, str]]:
    from coatml.tracking.registry import load_champions
    from coatml.workspace import Workspace

    ws = Workspace.load(root)
    models, missing = load_champions(tracker(ws), [t for t, _ in versions])
    return dict(models), dict(missing)


def champions(ws: Workspace, targets: Iterable[str] = tuple(TARGETS.values())
              ) -> tuple[dict[str, Any], dict[str, str]]:
    """The champion models (loaded once per version and shared by every session, via
    ``st.cache_resource``) and, for targets without one, why not."""
    from coatml.cli._common import quiet_libraries

    quiet_libraries()
    versions = champion_versions(ws, targets)
    return _load_champions(str(ws.root), ws.tracking_uri, versions)


@st.cache_resource
def _warmed() -> set[str]:
    return set()


def warm_champions(ws: Workspace) -> None:
    """Start loading the champions in a background thread at the server's first page view
    (``coatml ui`` sets ``COATML_UI_WARM=1``), so the first ranking does not wait for them; a
    session that needs them meanwhile waits for the same load (the cache's compute lock)."""
    import threading

    if os.environ.get("COATML_UI_WARM") != "1":
        return
    started = _warmed()
    if str(ws.root) in started:
        return
    started.add(str(ws.root))

    def load() -> None:
        try:
            champions(ws)
        except Exception:  # noqa: BLE001 - a page that needs them reports the problem
            return

    threading.Thread(target=load, name="coatml-warm-champions", daemon=True).start()


def parse_elements(text: str) -> tuple[str, ...]:
    """``"co, ni"`` -> ``("Co", "Ni")``; ``ValueError`` naming an unknown symbol."""
    from coatml.data.formulas import parse_element_symbols

    try:
        return parse_element_symbols(text)
    except ValueError as exc:
        raise ValueError(f"excluded elements: {exc}") from None


def optional(value: float | None) -> float | None:
    """A number input left at 0 (or empty) means "no limit"."""
    return None if value is None or value == 0 else float(value)


def material_error(electrode: str, electrolyte: str) -> str | None:
    """Why the electrode or electrolyte name cannot be resolved, or None."""
    from coatml.data.formulas import resolve_material
    from coatml.exceptions import FormulaError

    for role, name in (("electrode", electrode), ("electrolyte", electrolyte)):
        if not name.strip():
            return f"{role}: enter a formula or a known name"
        try:
            resolve_material(name)
        except FormulaError as exc:
            return f"{role} '{name}': {exc}"
    return None
