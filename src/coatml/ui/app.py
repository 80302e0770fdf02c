"""The Streamlit script of `coatml ui` (run by ``streamlit run``; the workspace comes from
``COATML_WORKSPACE``). Each browser session runs this script in its own thread, so a long
ranking in one session leaves the others responsive; champion models are loaded once per
version for all sessions (``st.cache_resource``)."""

from __future__ import annotations

import hmac
import os

import streamlit as st

from coatml.ui import common
from coatml.ui.views import campaigns, data, models, propose, rank

PAGES = {"Data": data, "Rank": rank, "Propose": propose, "Campaigns": campaigns,
         "Models": models}
TOKEN_ENV = "COATML_UI_TOKEN"


def authorised() -> bool:
    """With ``COATML_UI_TOKEN`` set (a non-loopback ``coatml ui --host``), the session must
    give the token (typed, or ``?token=`` in the address) before it sees anything."""
    token = os.environ.get(TOKEN_ENV, "")
    if not token or st.session_state.get("authorised"):
        return True
    given = st.query_params.get("token", "")
    if not given:
        given = st.text_input("Access token", type="password", key="token_input")
    if given and hmac.compare_digest(str(given).encode(), token.encode()):
        st.session_state["authorised"] = True
        st.rerun()
    if given:
        st.error("wrong access token")
    return False


def main() -> None:
    st.set_page_config(page_title="coatml", layout="wide")
    if not authorised():
        st.stop()
    from coatml.exceptions import CoatmlError

    try:
        ws = common.workspace()
    except CoatmlError as exc:
        st.error(str(exc))
        st.stop()
    common.warm_champions(ws)
    st.sidebar.title("coatml")
    st.sidebar.caption(f"workspace: {ws.root}")
    page = st.sidebar.radio("page", list(PAGES), key="page")
    try:
        PAGES[page].render(ws)
    except CoatmlError as exc:
        st.error(str(exc))


main()
