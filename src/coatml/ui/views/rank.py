"""Rank: the candidate coatings of a pair under the champion models (``rank_coatings``)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from coatml.ui import common

if TYPE_CHECKING:
    from coatml.recommend.rank import RankResult
    from coatml.workspace import Workspace

OBJECTIVES = ("both", "retention", "resistance")
COMPONENTS = ("auto", "electrode", "electrolyte")


def _interval(mean: Any, lo: Any, hi: Any, fmt: str) -> str:
    if mean is None or mean != mean:
        return ""
    return f"{mean:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The ranked table with readable columns: numbers stay numbers (sortable in the
    browser); the 68 % intervals and the explanation are added as text."""
    out = pd.DataFrame({"rank": table["rank"], "coating": table["coating"].astype(str),
                        "tested": np.where(table["tested"].astype(bool), "tested", "untested")})
    out["Pareto rank"] = table.get("pareto_rank", pd.Series(pd.NA, index=table.index))
    out["T (°C)"] = table["temperature_c"]
    out["thickness (nm)"] = table["thickness_nm"]
    if "retention_pct_mean" in table:
        out["retention %"] = table["retention_pct_mean"]
        out["retention 68 %"] = [
            _interval(m, lo, hi, ".1f") for m, lo, hi in zip(
                table["retention_pct_mean"], table["retention_pct_lo68"],
                table["retention_pct_hi68"], strict=True)]
    if "resistance_ohm_cm2_median" in table:
        out["resistance ohm cm²"] = table["resistance_ohm_cm2_median"]
        out["resistance 68 %"] = [
            _interval(m, lo, hi, ".3g") for m, lo, hi in zip(
                table["resistance_ohm_cm2_median"], table["resistance_ohm_cm2_lo68"],
                table["resistance_ohm_cm2_hi68"], strict=True)]
    why = []
    for row in table.itertuples(index=False):
        parts = []
        for i in range(1, 4):
            label = getattr(row, f"top_feature_{i}", None)
            value = getattr(row, f"top_shap_{i}", float("nan"))
            if isinstance(label, str) and value == value:
                parts.append(f"{label} ({value:+.2g})")
        why.append("; ".join(parts))
    out["why (top-3 SHAP features, model space)"] = why
    for col in ("family", "in_library", "method", "precursors"):
        if col in table:
            out[col] = table[col]
    return out.reset_index(drop=True)


def run(ws: Workspace, electrode: str, electrolyte: str, coated_component: str,
        objective: str, max_temperature: float | None, max_thickness: float | None,
        anion_filter: bool, reducible_filter: bool, library_only: bool,
        cycle_number: float, c_rate: float) -> RankResult | None:
    """Rank with the library function of ``coatml rank`` (``candidate_table`` then
    ``rank_coatings``); errors are shown on the page."""
    from coatml.exceptions import CoatmlError
    from coatml.recommend.candidates import CandidateFilters
    from coatml.recommend.rank import rank_coatings
    from coatml.recommend.space import SpaceSpec, TestConditions, candidate_table

    problem = common.material_error(electrode, electrolyte)
    if problem:
        st.error(problem)
        return None
    needed = {common.TARGETS[o] for o in (("retention", "resistance") if objective == "both"
                                          else (objective,))}
    models, missing = common.champions(ws)
    for target, message in missing.items():
        if target in needed:
            st.error(f"objective '{objective}' needs a champion model of {target}: {message}")
            return None
        st.info(f"no champion of {target}; its predictions and the Pareto rank are left out")
    spec = SpaceSpec(
        electrode=electrode, electrolyte=electrolyte, coated_component=coated_component,
        filters=CandidateFilters(anion_compatible=anion_filter,
                                 no_reducible_tm_vs_li_metal=reducible_filter,
                                 max_deposition_temperature_c=max_temperature,
                                 max_thickness_nm=max_thickness),
        conditions=TestConditions(cycle_number=cycle_number, c_rate=c_rate),
        include_enumerated=not library_only)
    candidates, report = candidate_table(spec)
    if candidates.empty:
        removed = [f"{s.name} removed {s.removed} ({s.rule})" for s in report.steps if s.removed]
        st.error(f"no candidate coating is left for {electrode} | {electrolyte}: "
                 + ("; ".join(removed) if removed else "the candidate pool is empty"))
        return None
    with ws.store() as store:
        records = store.to_frame()
    bar = st.progress(0.0, text="scoring recipes")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"scoring recipes: chunk {done}/{total}")

    try:
        result = rank_coatings(spec, models, objective, top=None, records=records,
                               candidates=candidates, progress=progress)
    except (CoatmlError, ValueError) as exc:
        st.error(f"ranking failed: {exc}")
        return None
    finally:
        bar.empty()
    return result


def figure(result: RankResult, top: int) -> bytes:
    """The ranking figure of ``coatml rank`` (``rank_plot``) as PNG bytes."""
    from coatml.recommend.plots import rank_plot

    with tempfile.TemporaryDirectory() as tmp:
        path = rank_plot(result.table.head(top), Path(tmp) / "rank.png",
                         objective=result.objective, dpi=150,
                         title=f"{result.spec.electrode} | {result.spec.electrolyte} "
                               f"(objective: {result.objective})")
        return Path(path).read_bytes()


def render(ws: Workspace) -> None:
    st.header("Rank coatings")
    st.caption("Best recipe per candidate coating under the champion models (as `coatml "
               "rank`): 68 % predictive intervals, tested / untested in this workspace, the "
               "Pareto rank when both objectives are asked, and the three features that "
               "pushed each prediction most.")
    with st.form("rank_form"):
        c1, c2, c3, c4 = st.columns(4)
        electrode = c1.text_input("electrode", "LiNi0.8Mn0.1Co0.1O2", key="rank_electrode")
        electrolyte = c2.text_input("electrolyte", "Li6PS5Cl", key="rank_electrolyte")
        component = c3.selectbox("coated side", COMPONENTS, key="rank_component")
        objective = c4.selectbox("objective", OBJECTIVES, key="rank_objective")
        c1, c2, c3, c4 = st.columns(4)
        max_t = c1.number_input("max deposition temperature (°C, 0: none)", 0.0, 1000.0, 0.0,
                                key="rank_max_t")
        max_d = c2.number_input("max thickness (nm, 0: none)", 0.0, 1000.0, 0.0,
                                key="rank_max_d")
        cycle = c3.number_input("cycle number scored", 1.0, 1e6, 100.0, key="rank_cycle")
        c_rate = c4.number_input("C-rate scored (1/h)", 0.01, 100.0, 0.5, key="rank_crate")
        c1, c2, c3, c4 = st.columns(4)
        anion = c1.checkbox("anion filter", True, key="rank_anion")
        reducible = c2.checkbox("reducible-metal filter", True, key="rank_reducible")
        library_only = c3.checkbox("library coatings only", False, key="rank_library")
        top = c4.number_input("rows shown", 1, 5000, 50, key="rank_top")
        submitted = st.form_submit_button("Rank")
    if submitted:
        result = run(ws, electrode.strip(), electrolyte.strip(), component, objective,
                     common.optional(max_t), common.optional(max_d), anion, reducible,
                     library_only, cycle, c_rate)
        st.session_state["rank_result"] = result
        st.session_state["rank_run"] = st.session_state.get("rank_run", 0) + 1
    result = st.session_state.get("rank_result")
    if result is None:
        return
    show(result, int(top))


def show(result: RankResult, top: int) -> None:
    c = result.counts
    steps = " -> ".join(f"after {name} {remaining} (-{removed})"
                        for name, removed, remaining in c.filter_steps)
    st.markdown(f"**{result.spec.electrode} | {result.spec.electrolyte}**, objective "
                f"**{result.objective}**: library {c.library} + enumerated {c.enumerated} -> "
                f"{steps}; {c.recipes:,} recipes scored in {result.timing.get('total', 0):.1f} s")
    for message in dict.fromkeys(m.split(":", 1)[0] for m in result.warnings):
        full = next(m for m in result.warnings if m.startswith(message))
        st.caption(f"note: {full[:240]}")
    table = result.table.head(top)
    st.subheader(f"{len(table)} ranked coatings (of {len(result.table)})")
    st.dataframe(display_table(table), hide_index=True, width="stretch",
                 key="rank_table",
                 column_config={"retention %": st.column_config.NumberColumn(format="%.1f"),
                                "resistance ohm cm²": st.column_config.NumberColumn(
                                    format="%.3g"),
                                "thickness (nm)": st.column_config.NumberColumn(format="%.3g"),
                                "T (°C)": st.column_config.NumberColumn(format="%.0f")})
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", f"{result.spec.electrode}_{result.spec.electrolyte}")
    st.download_button("Download the ranking (CSV)", result.table.to_csv(index=False),
                       file_name=f"rank_{slug}_{result.objective}.csv", mime="text/csv",
                       key="rank_download")
    key = (st.session_state.get("rank_run", 0), top)
    cached = st.session_state.get("rank_figure")
    if cached is None or cached[0] != key:  # drawn once per ranking, not on every rerun
        cached = (key, figure(result, top))
        st.session_state["rank_figure"] = cached
    st.image(cached[1],
             caption=f"{len(table)} candidates plotted (the table's rows); 68 % intervals as "
                     "error bars" + ("; Pareto front in red" if result.objective == "both"
                                     else ""))
