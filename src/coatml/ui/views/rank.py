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


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The ranked table with readable columns: numbers stay numbers (sortable in the
    browser); the 68 % intervals and the explanation are added as text."""
    from coatml.recommend.rank import interval_text, prior_split_text, top_features_text

    out = pd.DataFrame({"rank": table["rank"], "coating": table["coating"].astype(str),
                        "tested": np.where(table["tested"].astype(bool), "tested", "untested")})
    out["Pareto rank"] = table.get("pareto_rank", pd.Series(pd.NA, index=table.index))
    out["T (°C)"] = table["temperature_c"]
    out["thickness (nm)"] = table["thickness_nm"]
    for prefix, point, label, interval, fmt in (
            ("retention_pct", "mean", "retention %", "retention 68 %", ".1f"),
            ("resistance_ohm_cm2", "median", "resistance ohm cm²", "resistance 68 %", ".3g")):
        if f"{prefix}_{point}" in table:
            out[label] = table[f"{prefix}_{point}"]
            out[interval] = [
                interval_text(m, lo, hi, fmt) for m, lo, hi in zip(
                    table[f"{prefix}_{point}"], table[f"{prefix}_lo68"],
                    table[f"{prefix}_hi68"], strict=True)]
    rows = list(table.itertuples(index=False))
    out["prior vs learned"] = [prior_split_text(row) for row in rows]
    out["why (top-3 SHAP features, model space)"] = [top_features_text(row, "; ")
                                                     for row in rows]
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
        st.error(report.nothing_left())
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


def chart(table: pd.DataFrame, objective: str) -> Any:
    """The ranking as an interactive Vega-Lite chart (drawn as SVG in the browser), one symbol
    per table row: for both objectives retention against resistance (log axis) with 68 %
    intervals as error bars and the Pareto front (rank 1) in red and joined by a line; for
    one objective the 68 % interval of each candidate, in rank order."""
    import altair as alt

    data = pd.DataFrame({
        "rank": table["rank"].to_numpy(), "coating": table["coating"].astype(str).to_numpy(),
        "tested": np.where(table["tested"].astype(bool), "tested", "untested"),
        "front": np.where(pd.Series(table.get("pareto_rank", pd.Series(pd.NA,
                                                                    index=table.index)))
                          .fillna(0).astype(int).to_numpy() == 1, "Pareto front", "other")})
    for prefix, centre in (("retention_pct", "mean"), ("resistance_ohm_cm2", "median")):
        if f"{prefix}_{centre}" in table:
            for key in (centre, "lo68", "hi68"):
                data[f"{prefix}_{key}"] = table[f"{prefix}_{key}"].to_numpy(dtype=float)
    tooltip = ["rank", "coating", "tested"] + [c for c in data.columns
                                               if c.endswith(("_mean", "_median"))]
    shape = alt.Shape("tested:N", scale=alt.Scale(domain=["untested", "tested"],
                                                  range=["circle", "square"]))
    colour = alt.Color("front:N", scale=alt.Scale(domain=["other", "Pareto front"],
                                                  range=["#555555", "#d62728"]), title="")
    if objective == "both":
        x_title = "predicted interface resistance (ohm cm², median, 68 % interval)"
        y_title = "predicted capacity retention (%, mean, 68 % interval)"
        x = alt.X("resistance_ohm_cm2_median:Q", scale=alt.Scale(type="log"), title=x_title)
        y = alt.Y("retention_pct_mean:Q", scale=alt.Scale(zero=False), title=y_title)
        base = alt.Chart(data)
        x_bars = base.mark_rule(color="#9a9a9a", opacity=0.45).encode(
            x=alt.X("resistance_ohm_cm2_lo68:Q", scale=alt.Scale(type="log"),
                    title=x_title), x2="resistance_ohm_cm2_hi68:Q", y=y)
        y_bars = base.mark_rule(color="#9a9a9a", opacity=0.45).encode(
            x=x, y=alt.Y("retention_pct_lo68:Q", scale=alt.Scale(zero=False), title=y_title),
            y2="retention_pct_hi68:Q")
        front = base.transform_filter(alt.datum.front == "Pareto front").mark_line(
            color="#d62728", strokeWidth=2).encode(x=x, y=y,
                                                   order="resistance_ohm_cm2_median:Q")
        # the front's symbols last, so they are drawn on top of the others
        points = alt.Chart(data.sort_values("front", key=lambda c: c == "Pareto front",
                                            kind="stable")).mark_point(
            filled=True, size=80, opacity=0.95, stroke="white", strokeWidth=0.8).encode(
            x=x, y=y, shape=shape, color=colour, tooltip=tooltip)
        layers = [x_bars, y_bars, front, points]
    else:
        prefix, centre = (("retention_pct", "mean") if objective == "retention"
                          else ("resistance_ohm_cm2", "median"))
        scale = alt.Scale(type="log") if objective == "resistance" else alt.Scale(zero=False)
        label = ("predicted capacity retention (%)" if objective == "retention"
                 else "predicted interface resistance (ohm cm²)")
        y = alt.Y("coating:N", sort=alt.EncodingSortField("rank"), title="")
        base = alt.Chart(data)
        layers = [base.mark_rule(color="#4c78a8", strokeWidth=3, opacity=0.6).encode(
                      x=alt.X(f"{prefix}_lo68:Q", scale=scale,
                              title=f"{label}: {centre}, 68 % interval"),
                      x2=f"{prefix}_hi68:Q", y=y),
                  base.mark_point(filled=True, size=50).encode(
                      x=alt.X(f"{prefix}_{centre}:Q", scale=scale,
                              title=f"{label}: {centre}, 68 % interval"), y=y, shape=shape,
                      color=colour, tooltip=tooltip)]
    height = 520 if objective == "both" else max(240, 18 * len(data))
    return alt.layer(*layers).properties(height=height).interactive()


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
    st.altair_chart(chart(table, result.objective), width="stretch", key="rank_chart")
    st.caption(f"{len(table)} candidates plotted, one symbol per row of the table (square: "
               "tested); 68 % intervals as error bars"
               + ("; Pareto front in red" if result.objective == "both" else "")
               + ". Hover a symbol for its values.")
    key = (st.session_state.get("rank_run", 0), top)
    cached = st.session_state.get("rank_figure")
    if cached is None or cached[0] != key:  # drawn once per ranking, not on every rerun
        cached = (key, figure(result, top))
        st.session_state["rank_figure"] = cached
    st.download_button("Download the figure (PNG, as coatml rank draws it)", cached[1],
                       file_name=f"rank_{slug}_{result.objective}.png", mime="image/png",
                       key="rank_png")
