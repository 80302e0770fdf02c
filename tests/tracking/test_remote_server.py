"""A real ``mlflow server`` on localhost: log, register and load the champion over HTTP.

The server runs with one worker and job execution off
(``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``; mlflow/environment_variables.py, read by
``mlflow.server._run_server``), which skips the huey job-runner processes MLflow 3 otherwise
starts next to the web server. It is stopped by killing its process group in the fixture's
``finally``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from coatml.tracking import Tracker, load_champion, log_training, register_and_maybe_promote

STARTUP_TIMEOUT_S = 90.0


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    startup_s: float
    log_path: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def group_rss_mb(pgid: int) -> float:
    """Resident memory (MB) of every process in the group, from /proc (Linux)."""
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # fields after "(comm)": state, ppid, pgrp, ...
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total_kb / 1024.0


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    mlflow_exe = Path(sys.executable).with_name("mlflow")
    cmd = [str(mlflow_exe), "server",
           "--backend-store-uri", f"sqlite:///{(tmp_path / 'server.db').as_posix()}",
           "--artifacts-destination", (tmp_path / "server-artifacts").as_uri(),
           "--serve-artifacts", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    log_path = tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                cwd=tmp_path, start_new_session=True)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {proc.returncode}:\n"
                                   + log_path.read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - t0 > STARTUP_TIMEOUT_S:
                raise RuntimeError(f"mlflow server not healthy after {STARTUP_TIMEOUT_S} s:\n"
                                   + log_path.read_text()[-3000:])
            time.sleep(0.25)
        yield Server(url, proc, time.perf_counter() - t0, log_path)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.slow  # server start-up alone took ~19 s on a shared 2-core machine
def test_remote_server_log_register_load(mlflow_server: Server, trained_retention,
                                         tmp_path: Path, capsys) -> None:
    t = trained_retention
    tracker = Tracker.remote(mlflow_server.url)
    run = log_training(tracker, target=t.target, model=t.model, featurizer=t.featurizer,
                       report=t.report, dataset_hash=t.dataset_hash, n_rows=len(t.records),
                       input_example=t.records.head(3), random_seed=0)
    result = register_and_maybe_promote(tracker, run)
    assert result.promoted and result.version == "1"

    loaded = load_champion(tracker, t.target)
    assert loaded.version == "1"
    query = t.records.head(8)
    got = loaded.predict_dist(query)
    from coatml.models.targets import get_target

    want = get_target(t.target).inverse_dist(
        t.model.predict_dist(t.featurizer.transform(query)))
    np.testing.assert_array_equal(got["mean"].to_numpy(), want["mean"].to_numpy())
    np.testing.assert_array_equal(got["hi95"].to_numpy(), want["hi95"].to_numpy())

    # Artifacts went through the server into its artifact destination, not the client's cwd.
    served = tmp_path / "server-artifacts"
    assert {p.name for p in served.rglob("*.png")} == {
        "parity.png", "feature_importance.png", "calibration.png"}
    assert any(served.rglob("coatml_model.json"))

    rss = group_rss_mb(mlflow_server.proc.pid)
    with capsys.disabled():
        print(f"\n[mlflow server] startup to /health: {mlflow_server.startup_s:.1f} s; "
              f"process-group RSS after log+register+load: {rss:.0f} MB")
    assert rss > 0
