"""Propose: the next batch of recipes under the lab's constraints (``propose`` /
``propose_with_pair_gp``, as ``coatml propose``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from coatml.ui import common

if TYPE_CHECKING:
    from coatml.recommend.propose import Constraints, Proposal
    from coatml.workspace import Workspace

STRATEGIES = ("auto", "ei", "ucb", "thompson", "mean", "parego", "ehvi")


def batch_columns(batch: Any) -> list[str]:
    """The columns of a batch worth reading on screen (the CSV keeps all)."""
    from coatml.data.schema import TARGETS

    preds = [c for t in TARGETS for c in (f"pred_{t}", f"pred_{t}_std") if c in batch.columns]
    cols = ["proposal_id", "coating", "method", "precursors", "temperature_c", "cycles",
            "thickness_nm", *preds, "pred_p_working", "acq_score"]
    return [c for c in cols if c in batch.columns]


def constraints_form(prefix: str) -> dict[str, Any]:
    """The constraint widgets (family, exclusions, temperature and thickness limits, coating
    budget, per-coating limit, same temperature); returns their raw values."""
    c1, c2, c3, c4 = st.columns(4)
    values: dict[str, Any] = {
        "family": c1.text_input("family / class / anion (empty: any)", key=f"{prefix}_family"),
        "exclude": c2.text_input("exclude elements (e.g. Co, Ni)", key=f"{prefix}_exclude"),
        "min_t": c3.number_input("min deposition temperature (°C, 0: none)", 0.0, 1000.0, 0.0,
                                 key=f"{prefix}_min_t"),
        "max_t": c4.number_input("max deposition temperature (°C, 0: none)", 0.0, 1000.0, 0.0,
                                 key=f"{prefix}_max_t"),
    }
    c1, c2, c3, c4 = st.columns(4)
    values["max_d"] = c1.number_input("max thickness (nm, 0: none)", 0.0, 1000.0, 0.0,
                                      key=f"{prefix}_max_d")
    values["max_coatings"] = c2.number_input("max distinct coatings (0: any)", 0, 100, 0,
                                             key=f"{prefix}_max_coatings")
    values["per_coating"] = c3.number_input("recipes per coating", 1, 100, 1,
                                            key=f"{prefix}_per_coating")
    values["same_t"] = c4.checkbox("same deposition temperature (one reactor run)",
                                   key=f"{prefix}_same_t")
    return values


def constraints(values: dict[str, Any]) -> Constraints:
    """:class:`~coatml.recommend.propose.Constraints` of the form (``ValueError`` on a bad
    element symbol)."""
    from coatml.recommend.propose import Constraints

    return Constraints(family=values["family"].strip() or None,
                       exclude_elements=common.parse_elements(values["exclude"]),
                       min_temperature_c=common.optional(values["min_t"]),
                       max_temperature_c=common.optional(values["max_t"]),
                       max_thickness_nm=common.optional(values["max_d"]),
                       max_coatings=int(values["max_coatings"]) or None,
                       max_per_coating=int(values["per_coating"]),
                       same_temperature=bool(values["same_t"]))


def show_proposal(proposal: Proposal, key: str) -> None:
    """The batch table, the notes, the stopping signal and the CSV download."""
    batch = proposal.batch
    st.subheader(f"Batch {proposal.batch_id}: {len(batch)} recipes")
    st.caption(f"strategy {proposal.strategy}, objective {proposal.objective}, "
               f"{proposal.n_scored:,} recipes scored in {proposal.seconds:.1f} s")
    st.dataframe(batch[batch_columns(batch)], hide_index=True, width="stretch",
                 key=f"{key}_table")
    if proposal.fallback:
        st.info(proposal.fallback)
    for message in proposal.messages:
        st.caption(f"note: {message}")
    if proposal.temperature_c is not None:
        st.info(f"Same-temperature batch: deposit all at {proposal.temperature_c:g} °C")
    if proposal.stopping is not None:
        st.caption(f"Stopping signal: {proposal.stopping.text()}")
    st.download_button("Download the batch (CSV)", batch.to_csv(index=False),
                       file_name=f"proposal-{proposal.batch_id}.csv", mime="text/csv",
                       key=f"{key}_download")
    st.caption("Fill the target columns and upload the file on the Data page (or to its "
               "campaign).")


def render(ws: Workspace) -> None:
    from coatml.recommend.acquisition import Objective, make_acquisition
    from coatml.recommend.propose import propose
    from coatml.recommend.space import SpaceSpec
    from coatml.recommend.surrogates import propose_pair_surrogate

    st.header("Propose the next batch")
    st.caption("As `coatml propose`: champion models (or a Gaussian process fitted now on "
               "this pair's own records), an acquisition function, and your constraints.")
    with st.form("propose_form"):
        c1, c2, c3, c4 = st.columns(4)
        electrode = c1.text_input("electrode", "LiNi0.8Mn0.1Co0.1O2", key="prop_electrode")
        electrolyte = c2.text_input("electrolyte", "Li6PS5Cl", key="prop_electrolyte")
        objective = c3.selectbox("objective", ("retention", "resistance", "both"),
                                 key="prop_objective")
        n = c4.number_input("batch size", 1, 50, 4, key="prop_n")
        c1, c2, c3, c4 = st.columns(4)
        strategy = c1.selectbox("strategy", STRATEGIES, key="prop_strategy")
        surrogate = c2.selectbox("surrogate", common.SURROGATES, key="prop_surrogate")
        replicates = c3.number_input("times one recipe may be measured", 1, 20, 1,
                                     key="prop_replicates")
        seed = c4.number_input("seed", 0, 2**31 - 1, 0, key="prop_seed")
        max_candidates = st.number_input(
            "candidate coatings sampled (0: all; a sample is faster)", 0, 100000, 0,
            key="prop_max_candidates")
        values = constraints_form("prop")
        submitted = st.form_submit_button("Propose")
    if submitted:
        st.session_state["proposal"] = None
        problem = common.material_error(electrode, electrolyte)
        try:
            obj = Objective.parse(objective)
            make_acquisition(strategy, obj)
            cons = constraints(values)
        except ValueError as exc:
            problem = str(exc)
        if problem:
            st.error(problem)
        else:
            with ws.store() as store:
                observed = store.to_frame()
            spec = SpaceSpec(electrode.strip(), electrolyte.strip(), seed=int(seed),
                             max_candidates=int(max_candidates) or None)
            try:
                with st.spinner("scoring the recipe space ..."):
                    if surrogate != "champion":
                        proposal = propose_pair_surrogate(surrogate, spec, observed, obj, int(n),
                                                          strategy, cons, int(seed),
                                                          replicates=int(replicates))
                    else:
                        models, missing = common.champions(ws, obj.targets)
                        for message in missing.values():
                            st.info(message)
                        proposal = propose(spec, models, obj, int(n), strategy, cons,
                                           int(seed), observed=observed,
                                           replicates=int(replicates))
                st.session_state["proposal"] = proposal
            except ValueError as exc:
                st.error(str(exc))
    proposal = st.session_state.get("proposal")
    if proposal is not None:
        show_proposal(proposal, "prop")
