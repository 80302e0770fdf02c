"""Data: upload CSV/XLSX (whole-file validation, all or nothing), the records, the summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from coatml.ui import common

if TYPE_CHECKING:
    from coatml.workspace import Workspace

LIST_COLUMNS = ["record_id", "electrode", "electrolyte", "coating", "coated_component", "method",
                "temperature_c", "thickness_nm", "cycle_number", "capacity_retention_pct",
                "interface_resistance_ohm_cm2", "cell_failed", "data_kind", "source"]


def add_upload(ws: Workspace, data: bytes, name: str, kind: str, source: str | None) -> None:
    """Validate the whole file and add it in one transaction (``RecordStore.add_bytes``, as
    ``coatml data add``); every problem is shown as row, column, reason."""
    from coatml.data.schema import DATA_KINDS
    from coatml.exceptions import CoatmlError, ValidationError

    if kind not in DATA_KINDS or common.too_large(data, name):
        return
    try:
        with ws.store() as store:
            result = store.add_bytes(data, name, default_source=source or None, data_kind=kind)
    except ValidationError as exc:
        common.show_validation_error(exc)
        return
    except CoatmlError as exc:
        st.error(f"{name}: {exc}; nothing was written")
        return
    for warning in result.warnings:
        st.warning(f"{name}: {warning}")
    if result.ignored_columns:
        st.info(f"{name}: ignored columns {', '.join(result.ignored_columns)}")
    if result.already_present:
        st.info(f"{name}: already added (same content); nothing to do")
    else:
        skipped = f", {result.n_skipped} already stored" if result.n_skipped else ""
        st.success(f"{name}: added {result.n_added} records{skipped}")


def filtered(frame: pd.DataFrame, electrodes: list[str], electrolytes: list[str],
             coatings: list[str], kinds: list[str], text: str) -> pd.DataFrame:
    """The records matching every filter (an empty selection keeps all)."""
    keep = pd.Series(True, index=frame.index)
    for col, chosen in (("electrode", electrodes), ("electrolyte", electrolytes),
                        ("coating", coatings), ("data_kind", kinds)):
        if chosen:
            keep &= frame[col].astype(str).isin(chosen)
    if text.strip():
        needle = text.strip().casefold()
        hay = frame[["record_id", "coating", "source"]].astype(str).agg(" ".join, axis=1)
        keep &= hay.str.casefold().str.contains(needle, regex=False)
    return frame[keep]


def render(ws: Workspace) -> None:
    from coatml.data.schema import DATA_KINDS
    from coatml.data.summary import summarise

    st.header("Data")
    st.caption("The same whole-file validation as `coatml data add`: every problem is listed "
               "as row, column and reason, and nothing is written while there is one.")
    with st.form("upload", clear_on_submit=False):
        upload = st.file_uploader("Results file (CSV or XLSX)", type=["csv", "xlsx"],
                                  key="data_file")
        kind = st.selectbox("data_kind for rows that leave it empty", DATA_KINDS,
                            index=DATA_KINDS.index("lab"), key="data_kind")
        source = st.text_input("source for rows whose source is empty (e.g. a notebook id)",
                               key="data_source")
        submitted = st.form_submit_button("Validate and add")
    if submitted:
        if upload is None:
            st.warning("choose a CSV or XLSX file first")
        else:
            add_upload(ws, upload.getvalue(), upload.name, kind, source)

    with ws.store() as store:
        frame = store.to_frame()
    st.subheader(f"Records ({len(frame)})")
    if frame.empty:
        st.info("The workspace holds no records yet.")
        return
    cols = st.columns(5)
    options = {c: sorted(frame[c].dropna().astype(str).unique())
               for c in ("electrode", "electrolyte", "coating", "data_kind")}
    electrodes = cols[0].multiselect("electrode", options["electrode"], key="f_electrode")
    electrolytes = cols[1].multiselect("electrolyte", options["electrolyte"],
                                       key="f_electrolyte")
    coatings = cols[2].multiselect("coating", options["coating"], key="f_coating")
    kinds = cols[3].multiselect("data_kind", options["data_kind"], key="f_kind")
    text = cols[4].text_input("search id / coating / source", key="f_text")
    shown = filtered(frame, electrodes, electrolytes, coatings, kinds, text)
    st.caption(f"{len(shown)} of {len(frame)} records shown")
    st.dataframe(shown[[c for c in LIST_COLUMNS if c in shown.columns]], hide_index=True,
                 width="stretch", key="records_table")

    s = summarise(frame)
    st.subheader("Summary")
    st.markdown(f"**{s.n_records} records**: {s.n_coated} coated, {s.n_bare} bare controls, "
                f"{s.n_pairs} coated/bare pairs; by kind: "
                + ", ".join(f"{k} {v}" for k, v in s.by_kind.items()))
    st.dataframe(s.targets, width="stretch")
    for col, (title, series) in zip(st.columns(3), (("electrode", s.by_electrode),
                                           ("electrolyte", s.by_electrolyte),
                                           ("coating", s.by_coating)), strict=True):
        col.caption(f"records per {title}")
        col.dataframe(series.rename("records").rename_axis(title).reset_index(),
                      hide_index=True, width="stretch")
