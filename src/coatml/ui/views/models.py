"""Models: registered versions per target, champion / challenger, grouped-CV metrics beside
the baselines, the calibration plot, the MLflow UI command, promotion with a confirmation."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from coatml.ui import common

if TYPE_CHECKING:
    from coatml.workspace import Workspace

_METRIC = re.compile(r"^(cv|baseline_(?P<baseline>.+?))_(?P<metric>rmse|mae|spearman_within_system|"
                     r"coverage68|coverage95|r2)$")


def metrics_table(metrics: dict[str, float]) -> pd.DataFrame:
    """Grouped-CV metrics of the model beside each baseline's (rows: predictor)."""
    rows: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        m = _METRIC.match(key)
        if not m:
            continue
        who = "model" if key.startswith("cv_") else f"baseline: {m['baseline']}"
        rows.setdefault(who, {})[m["metric"]] = value
    frame = pd.DataFrame.from_dict(rows, orient="index")
    return frame.rename_axis("predictor").reset_index()


def _calibration(ws: Workspace, info: dict[str, Any]) -> bytes | None:
    """The calibration plot logged with the version's run, if any."""
    from coatml.tracking.runs import CALIBRATION_PNG

    path = next((a for a in info["artifacts"] if a.endswith(CALIBRATION_PNG)), None)
    if path is None or not info["run_id"]:
        return None
    import tempfile
    from pathlib import Path

    client = common.tracker(ws).client()
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(info["run_id"], path, tmp)
        return Path(local).read_bytes()


@st.fragment(run_every=2.0)
def job_status(root: str) -> None:
    """Progress of this workspace's background training, refreshed every 2 s (only this
    fragment reruns; the rest of the page and other sessions stay as they are)."""
    from coatml.ui.jobs import jobs

    job = jobs().current(root)
    if job is None:
        return
    end = job.finished or time.time()
    if job.state == "running":
        st.progress(job.fraction(), text=f"training in the background: {job.stage} "
                                         f"({job.done}/{job.total}), {end - job.started:.0f} s")
    elif job.state == "finished":
        st.success(f"training finished in {end - job.started:.0f} s")
    else:
        st.error(f"training failed after {end - job.started:.0f} s: {job.error}")
    for line in job.results:
        st.caption(line)


def training(ws: Workspace) -> None:
    """Start `coatml train` (per target) in a background thread and show its progress."""
    from coatml.ui.jobs import start_training

    with st.expander("Train in the background (as `coatml train`)"), st.form("train_form"):
        targets = st.multiselect("targets", list(common.TARGETS.values()),
                                 default=list(common.TARGETS.values()), key="train_targets")
        fast = st.checkbox("fast: no tuning, reuse the champion's hyper-parameters", True,
                           key="train_fast")
        trials = st.number_input("Optuna trials per target when not fast (0: the config's)",
                                 0, 500, 0, key="train_trials")
        go = st.form_submit_button("Start training")
    if go:
        if not targets:
            st.warning("choose at least one target")
        else:
            try:
                start_training(str(ws.root), list(targets), bool(fast), int(trials) or None)
            except ValueError as exc:
                st.error(str(exc))
    job_status(str(ws.root))


def render(ws: Workspace) -> None:
    from coatml.exceptions import CoatmlError
    from coatml.tracking.registry import list_models, promote, show_model

    st.header("Models")
    tracker = common.tracker(ws)
    frame = list_models(tracker)
    if ws.tracking_uri.startswith(("http://", "https://")):
        st.markdown(f"MLflow UI: [{ws.tracking_uri}]({ws.tracking_uri})")
    else:
        st.markdown("MLflow UI (the full history of runs): run "
                    f"`mlflow ui --backend-store-uri {ws.tracking_uri}` and open "
                    "http://127.0.0.1:5000")
    training(ws)
    if frame.empty:
        st.info("No registered model yet: train above (or `coatml train`).")
        return
    for name, part in frame.groupby("name", sort=True):
        st.subheader(str(name))
        st.dataframe(part.drop(columns=["name"]), hide_index=True, width="stretch",
                     key=f"models_{name}")
    c1, c2 = st.columns(2)
    name = c1.selectbox("model", sorted(frame["name"].unique()), key="models_name")
    versions = sorted(frame.loc[frame["name"] == name, "version"].tolist(), reverse=True)
    version = c2.selectbox("version", versions, key="models_version")
    info = show_model(tracker, f"{name}/{version}")
    st.markdown(f"**{name} v{version}**: aliases {', '.join(info['aliases']) or 'none'}, "
                f"role {info['role'] or '-'}, dataset hash {str(info['dataset_hash'])[:12]}, "
                f"created {info['created']}")
    st.caption("Grouped (leave-one-source-out) cross-validation, model and baselines on the "
               "same folds")
    st.dataframe(metrics_table(info["metrics"]), hide_index=True, width="stretch",
                 key="models_metrics")
    png = _calibration(ws, info)
    if png is not None:
        st.image(png, caption="calibration of the predictive intervals (grouped CV)",
                 width=520)

    if "champion" in info["aliases"]:
        st.caption(f"v{version} is the champion.")
        return
    if st.button(f"Promote {name} v{version} to champion ...", key="models_promote"):
        st.session_state["models_confirm"] = (name, version)
    if st.session_state.get("models_confirm") == (name, version):
        st.warning(f"Make {name} v{version} the champion? Rank, propose and campaigns use it "
                   "from then on; the current champion is tagged former-champion.")
        c1, c2 = st.columns(2)
        if c1.button("Yes, promote", key="models_confirm_yes"):
            try:
                result = promote(tracker, name, version)
            except CoatmlError as exc:
                st.error(str(exc))
            else:
                st.session_state.pop("models_confirm", None)
                st.success(result.reason)
        if c2.button("Cancel", key="models_confirm_no"):
            st.session_state.pop("models_confirm", None)
            st.rerun()
