"""Configuration and connection problems: one line naming the URL (password masked), exit 2,
within seconds, and `init` leaves nothing half-made. Servers are simulated on loopback: a
socket that accepts connections and never answers, and a port nothing listens on."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coatml.cli.main import app
from coatml.data.store import RecordStore
from coatml.exceptions import ConnectionFailure

runner = CliRunner()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that completes TCP handshakes (kernel backlog) but never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield int(server.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_silent_postgres_host_times_out_within_10_s(silent_port: int) -> None:
    start = time.monotonic()
    with pytest.raises(ConnectionFailure) as info:
        RecordStore(f"postgresql://coatml:s3cret@127.0.0.1:{silent_port}/coatml")
    assert time.monotonic() - start < 10.0
    message = str(info.value)
    assert message.startswith(f"cannot open the record store at postgresql://coatml:***@"
                              f"127.0.0.1:{silent_port}/coatml")
    assert "s3cret" not in message and "no answer within 6 s" in message


def test_closed_postgres_port_is_named(closed_port: int) -> None:
    with pytest.raises(ConnectionFailure, match="nothing listens there") as info:
        RecordStore(f"postgresql://coatml:s3cret@127.0.0.1:{closed_port}/coatml")
    assert "s3cret" not in str(info.value)


def test_unwritable_sqlite_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConnectionFailure, match="the folder does not exist or is not writable"):
        RecordStore(f"sqlite:///{blocker}/coatml.db")


@pytest.mark.parametrize(("line", "expected"), [
    ("url = 5", "[database] url must be a non-empty string in quotes, not 5"),
    ('url = "coatml.db"', "[database] url 'coatml.db' is not a SQLite or PostgreSQL URL"),
    ('url = "mysql://u:pw@h/db"', "[database] url 'mysql://u:***@h/db' is not a SQLite"),
])
def test_bad_database_url_in_config(tmp_path: Path, line: str, expected: str) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws), "--no-literature"]).exit_code == 0
    config = ws / "coatml.toml"
    config.write_text(config.read_text().replace('url = "sqlite:///coatml.db"', line))
    result = runner.invoke(app, ["-w", str(ws), "data", "list"])
    assert result.exit_code == 2
    assert expected in result.stderr and "Traceback" not in result.output


def test_init_with_an_unreachable_database_leaves_no_workspace(tmp_path: Path,
                                                               closed_port: int) -> None:
    target = tmp_path / "new" / "ws"
    result = runner.invoke(app, ["init", str(target), "--database-url",
                                 f"postgresql://coatml:s3cret@127.0.0.1:{closed_port}/coatml"])
    assert result.exit_code == 2
    assert "cannot open the record store at postgresql://coatml:***@" in result.stderr
    assert "s3cret" not in result.output
    assert not (tmp_path / "new").exists()


def test_unreachable_tracking_server_is_one_line(tmp_path: Path, silent_port: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws), "--no-literature"]).exit_code == 0
    monkeypatch.setenv("COATML_TRACKING_URI", f"http://user:s3cret@127.0.0.1:{silent_port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    start = time.monotonic()
    result = runner.invoke(app, ["-w", str(ws), "models", "list"])
    assert time.monotonic() - start < 10.0
    assert result.exit_code == 2, result.output
    assert (f"cannot reach the MLflow tracking server at http://user:***@127.0.0.1:"
            f"{silent_port}: no answer (timed out)") in result.stderr
    assert "s3cret" not in result.output


@pytest.fixture(scope="module")
def password_postgres() -> Iterator[str]:
    """A throw-away PostgreSQL cluster that checks passwords (scram-sha-256); user coatml,
    password 'right-pw'."""
    import contextlib
    import shutil
    import subprocess

    from tests._postgres import TempPostgres, _find_bin

    server = TempPostgres()
    initdb, pg_ctl = _find_bin("initdb"), _find_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.fail("PostgreSQL is not installed (initdb/pg_ctl not found)")
    if server.as_root:
        shutil.chown(server.dir, "postgres")
    pwfile = server.dir / "pw"
    pwfile.write_text("right-pw\n")
    if server.as_root:
        shutil.chown(pwfile, "postgres")
    data = server.dir / "data"
    server._run([initdb, "-D", str(data), "-U", "coatml", "--auth=scram-sha-256",
                 f"--pwfile={pwfile}", "-E", "UTF8"])
    server._run([pg_ctl, "-D", str(data), "-l", str(server.dir / "log"), "-w", "-o",
                 f"-h 127.0.0.1 -p {server.port} -k {server.dir}", "start"])
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server._run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(server.dir, ignore_errors=True)


@pytest.mark.postgres
def test_wrong_postgres_password_is_named_without_the_password(password_postgres: str,
                                                               tmp_path: Path) -> None:
    with RecordStore(f"postgresql://coatml:right-pw@{password_postgres}/postgres") as store:
        assert store.count() == 0
    url = f"postgresql://coatml:wrong-pw@{password_postgres}/postgres"
    with pytest.raises(ConnectionFailure, match="check the user name and password") as info:
        RecordStore(url)
    assert "wrong-pw" not in str(info.value)
    assert f"postgresql://coatml:***@{password_postgres}/postgres" in str(info.value)
    result = runner.invoke(app, ["init", str(tmp_path / "ws"), "--database-url", url])
    assert result.exit_code == 2 and "wrong-pw" not in result.output
    assert not (tmp_path / "ws").exists()
