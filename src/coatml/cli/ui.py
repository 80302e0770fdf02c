"""`coatml ui`: the lab web page (a Streamlit app over one workspace).

The page is served on 127.0.0.1 unless ``--host`` names another address, and then only with
an access token (``--token`` or ``COATML_UI_TOKEN``), which every browser session must enter
before it sees anything. Streamlit is the optional ``coatml[ui]`` extra.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

import typer

from coatml.cli import _common
from coatml.cli._common import console, fail, workspace_option

TOKEN_ENV = "COATML_UI_TOKEN"
MIN_TOKEN_CHARS = 16
INSTALL_HINT = ("the web page needs Streamlit, the optional `ui` extra: "
                "pip install 'coatml[ui]' (or pip install 'streamlit>=1.50')")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, token: str | None) -> None:
    """Refuse a non-loopback ``host`` without an access token of at least
    :data:`MIN_TOKEN_CHARS` characters (``ValueError`` with the reason)."""
    if is_loopback(host):
        return
    if not token:
        raise ValueError(
            f"--host {host} would serve the workspace (records, models, promotion) to other "
            f"machines without any login; set an access token with --token or {TOKEN_ENV} "
            "(every browser then has to enter it), or keep the default 127.0.0.1")
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"the access token must have at least {MIN_TOKEN_CHARS} characters "
                         f"(it has {len(token)})")


def app_path() -> Path:
    """The Streamlit script of the web page."""
    return Path(__file__).resolve().parent.parent / "ui" / "app.py"


def streamlit_command(host: str, port: int, max_upload_mb: int) -> list[str]:
    """The ``python -m streamlit run`` command line serving the page."""
    return [sys.executable, "-m", "streamlit", "run", str(app_path()),
            "--server.address", host, "--server.port", str(port),
            "--server.headless", "true", "--server.maxUploadSize", str(max_upload_mb),
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--global.developmentMode", "false", "--client.toolbarMode", "minimal",
            "--theme.base", "light"]


def ui(
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8501,
    host: Annotated[str, typer.Option(
        help="Address to bind (default loopback only). Any other address needs --token.")]
    = "127.0.0.1",
    token: Annotated[str | None, typer.Option(
        help=f"Access token every browser must enter (or {TOKEN_ENV}); required with a "
             "non-loopback --host.", show_default=False)] = None,
    max_upload_mb: Annotated[int, typer.Option(
        help="Largest upload accepted, in MB.", min=1, max=1000)] = 20,
    workspace: workspace_option = None,
) -> None:
    """Start the lab web page over the workspace (data, rank, propose, campaigns, models)."""
    token = token or os.environ.get(TOKEN_ENV) or None
    try:
        check_host(host, token)
    except ValueError as exc:
        fail(f"refused: {exc}")
    if find_spec("streamlit") is None:
        fail(INSTALL_HINT)
    ws = _common.workspace(workspace)
    env = dict(os.environ)
    env["COATML_WORKSPACE"] = str(ws.root)
    env["COATML_UI_MAX_UPLOAD_MB"] = str(max_upload_mb)
    env["COATML_UI_WARM"] = "1"  # load the champions at the first page view
    env.pop(TOKEN_ENV, None)
    if token:
        env[TOKEN_ENV] = token
    shown = f"[{host}]" if ":" in host else host
    console.print(f"coatml web page for workspace {_common.esc(ws.root)}: "
                  f"http://{shown}:{port}  (Ctrl+C stops it)", highlight=False)
    if token:
        console.print("Access token required: the page asks for it.", highlight=False)
    command = streamlit_command(host, port, max_upload_mb)
    if os.name == "posix":
        # the server replaces this process: stopping `coatml ui` (Ctrl+C, SIGTERM) stops it
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, command, env)
    try:
        code = subprocess.call(command, env=env)
    except KeyboardInterrupt:
        code = 0
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("ui")(ui)
