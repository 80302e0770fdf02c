"""Start a throw-away PostgreSQL server for the store tests when none is given.

``COATML_TEST_POSTGRES_URL`` names an existing server (``.ci/run`` starts one); otherwise the
tests start their own cluster on 127.0.0.1 with the installed ``initdb``/``pg_ctl`` (Debian's
postgresql package). Without either the PostgreSQL tests fail with a message saying so.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TempPostgres:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="coatml-pg-"))
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, args: list[str]) -> None:
        if self.as_root:
            args = ["runuser", "-u", "postgres", "--", *args]
        subprocess.run(args, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        initdb, pg_ctl = _find_bin("initdb"), _find_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError(
                "PostgreSQL is not installed: `apt-get install postgresql` (Debian) or set "
                "COATML_TEST_POSTGRES_URL to a server the tests may use")
        if self.as_root:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        self._run([initdb, "-D", str(data), "-U", "coatml", "--auth=trust", "-E", "UTF8"])
        self._run([pg_ctl, "-D", str(data), "-l", str(self.dir / "log"), "-w", "-o",
                   f"-h 127.0.0.1 -p {self.port} -k {self.dir}", "start"])
        url = f"postgresql://coatml@127.0.0.1:{self.port}/postgres"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return url
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("temporary PostgreSQL did not start")

    def stop(self) -> None:
        pg_ctl = _find_bin("pg_ctl")
        if pg_ctl:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run([pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)
