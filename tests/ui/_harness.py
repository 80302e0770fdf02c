"""Helpers of the page tests: the app under Streamlit's AppTest, on one page."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("streamlit", reason="the web page needs the ui extra (pip install "
                                        "'coatml[ui]'); the README's test command installs it")

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.ui.conftest import APP  # noqa: E402

#: Seconds one script run may take (a ranking or a proposal scores the space on 2 shared
#: cores); a correctness bound for the harness, not a speed target.
RUN_TIMEOUT = 300


def open_page(page: str) -> AppTest:
    """The app run once, then switched to ``page`` with the sidebar radio."""
    at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    if page != "Data":
        at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.header[0].value.startswith(page.split()[0])
    return at


def texts(elements: Any) -> list[str]:
    return [str(e.value) for e in elements]


def submit(at: AppTest, label: str) -> AppTest:
    """Click the (form submit) button whose label is ``label`` and rerun."""
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}: {[b.label for b in at.button]}"
    matches[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at
