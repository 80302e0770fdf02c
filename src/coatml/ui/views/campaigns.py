"""Campaigns: list, pending proposals, returned results with their deviations, next batch,
and upload of measured results (``coatml.recommend.campaign.Campaign``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from coatml.ui import common
from coatml.ui.views import propose as propose_page

if TYPE_CHECKING:
    from coatml.workspace import Workspace


def _new_campaign(ws: Workspace) -> None:
    from coatml.exceptions import CoatmlError
    from coatml.recommend.campaign import Campaign

    with st.expander("New campaign"), st.form("campaign_new"):
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("name", key="camp_new_name")
        electrode = c2.text_input("electrode", "LiNi0.8Mn0.1Co0.1O2", key="camp_new_electrode")
        electrolyte = c3.text_input("electrolyte", "Li6PS5Cl", key="camp_new_electrolyte")
        c1, c2, c3 = st.columns(3)
        objective = c1.selectbox("objective", ("retention", "resistance", "both"),
                                 key="camp_new_objective")
        strategy = c2.selectbox("strategy", propose_page.STRATEGIES, key="camp_new_strategy")
        surrogate = c3.selectbox("surrogate", common.SURROGATES, key="camp_new_surrogate")
        max_candidates = st.number_input(
            "candidate coatings sampled per batch (0: all)", 0, 100000, 0,
            key="camp_new_max_candidates")
        if st.form_submit_button("Create"):
            problem = common.material_error(electrode, electrolyte)
            if not name.strip():
                problem = "name the campaign"
            if problem:
                st.error(problem)
                return
            try:
                with ws.store() as store:
                    Campaign.new(store, name.strip(), electrode.strip(), electrolyte.strip(),
                                 objective, strategy, surrogate=surrogate,
                                 max_candidates=int(max_candidates) or None)
                st.success(f"campaign '{name.strip()}' created")
            except (CoatmlError, ValueError) as exc:
                st.error(str(exc))


def render(ws: Workspace) -> None:
    from coatml.data.validation import read_table_bytes
    from coatml.exceptions import CoatmlError, ValidationError
    from coatml.recommend.campaign import Campaign

    st.header("Campaigns")
    _new_campaign(ws)
    with ws.store() as store:
        listing = Campaign.list(store)
    if listing.empty:
        st.info("No campaign yet: create one above (or `coatml campaign new`).")
        return
    cols = [c for c in ("name", "electrode", "electrolyte", "objective", "strategy",
                        "created_at") if c in listing.columns]
    st.dataframe(listing[cols], hide_index=True, width="stretch", key="camp_list")
    name = st.selectbox("campaign", listing["name"].tolist(), key="camp_name")
    with ws.store() as store:
        camp = Campaign.load(store, name)
        status = camp.status()
        summary = camp.summary()
    st.markdown(f"**{name}**: {summary['electrode']} | {summary['electrolyte']}, objective "
                f"{summary['objective']}, surrogate {camp.config.surrogate}: "
                f"**{summary['pending']} pending**, {summary['returned']} returned, "
                f"{summary['unsolicited']} unsolicited")
    pending = status[status["status"] == "pending"]
    st.subheader(f"Pending proposals ({len(pending)})")
    st.dataframe(pending, hide_index=True, width="stretch", key="camp_pending")
    st.subheader("All proposals and results (delta_*: actual minus proposed recipe)")
    st.dataframe(status, hide_index=True, width="stretch", key="camp_status")

    with st.form("camp_next"):
        st.markdown("**Next batch** (the campaign's surrogate and strategy; pending and "
                    "measured recipes are not proposed again)")
        n = st.number_input("batch size", 1, 50, 4, key="camp_n")
        values = propose_page.constraints_form("camp")
        go = st.form_submit_button("Propose the next batch")
    if go:
        from coatml.tracking.training import tracker_for

        try:
            cons = propose_page.constraints(values)
            with st.spinner("scoring the recipe space ..."), ws.store() as store:
                camp = Campaign.load(store, name)
                st.session_state["camp_proposal"] = (name, camp.next(
                    int(n), tracker=tracker_for(ws), constraints=cons))
            st.rerun()
        except (CoatmlError, ValueError) as exc:
            st.error(str(exc))
    last = st.session_state.get("camp_proposal")
    if last is not None and last[0] == name:
        propose_page.show_proposal(last[1], "camp")

    with st.form("camp_results"):
        st.markdown("**Upload measured results** (rows with `proposal_id` answer a proposal; "
                    "the actual recipe is stored and the deviation shown)")
        upload = st.file_uploader("results (CSV or XLSX)", type=["csv", "xlsx"],
                                  key="camp_file")
        send = st.form_submit_button("Validate and add to the campaign")
    if send:
        if upload is None:
            st.warning("choose a CSV or XLSX file first")
            return
        data = upload.getvalue()
        if common.too_large(data, upload.name):
            return
        try:
            raw, _ = read_table_bytes(data, upload.name)
            with ws.store() as store:
                report = Campaign.load(store, name).add_results(raw, source_name=upload.name)
        except ValidationError as exc:
            common.show_validation_error(exc)
            return
        except CoatmlError as exc:
            st.error(f"{upload.name}: {exc}")
            return
        for warning in report.warnings:
            st.warning(str(warning))
        st.success(f"{upload.name}: added {report.n_added} records ({report.n_skipped} "
                   f"already stored); {report.n_matched} answer proposals, "
                   f"{report.n_unsolicited} unsolicited")
        if len(report.deviations):
            st.caption("Actual minus proposed recipe")
            st.dataframe(report.deviations, hide_index=True, width="stretch")
