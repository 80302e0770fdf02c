"""The access token of a non-loopback `coatml ui --host`: nothing shows before it is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui._harness import AppTest
from tests.ui.conftest import APP

TOKEN = "correct-horse-battery-staple"


def test_token_gate(trained_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COATML_UI_TOKEN", TOKEN)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.sidebar.radio and not at.header  # no page before the token
    at.text_input(key="token_input").set_value("wrong").run()
    assert [e.value for e in at.error] == ["wrong access token"]
    assert not at.header
    at.text_input(key="token_input").set_value(TOKEN).run()
    assert not at.error
    assert at.header[0].value == "Data"
