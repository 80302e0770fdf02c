"""`coatml ui`: loopback by default, another address only with an access token, a clear
message when the ui extra is missing. (The page itself: tests/ui.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from coatml.cli import ui as ui_cli
from coatml.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_token(host: str) -> None:
    ui_cli.check_host(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "lab-server", "::"])
def test_other_hosts_are_refused_without_a_token(host: str) -> None:
    with pytest.raises(ValueError, match="without any login; set an access token"):
        ui_cli.check_host(host, None)
    with pytest.raises(ValueError, match="at least 16 characters"):
        ui_cli.check_host(host, "short")
    ui_cli.check_host(host, "a-long-enough-token-123")


def test_cli_refuses_public_host_without_token(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ui", "--host", "0.0.0.0", "-w", str(tmp_path)],
                           env={"COATML_UI_TOKEN": ""})
    assert result.exit_code == 2
    assert "refused: --host 0.0.0.0" in result.output and "--token" in result.output


def test_missing_streamlit_says_how_to_install(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui_cli, "find_spec", lambda name: None)
    result = runner.invoke(app, ["ui", "-w", str(tmp_path)])
    assert result.exit_code == 2
    assert "pip install 'coatml[ui]'" in result.output


def test_streamlit_command_binds_the_host_and_limits_uploads() -> None:
    cmd = ui_cli.streamlit_command("127.0.0.1", 8765, 7)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.port") + 1] == "8765"
    assert cmd[cmd.index("--server.maxUploadSize") + 1] == "7"
    assert Path(cmd[cmd.index("run") + 1]) == ui_cli.app_path()
    assert ui_cli.app_path().is_file()
