"""Long work of the web page in a background thread: training (``train_target``, as
``coatml train``), one job per workspace at a time, its progress readable by every session."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import streamlit as st


@dataclass
class Job:
    """One background job: what it does, its current stage and progress, and its outcome.
    ``state``: running, finished or failed; ``results``: one line per finished step."""

    kind: str
    workspace: str
    started: float = field(default_factory=time.time)
    state: str = "running"
    stage: str = "starting"
    done: int = 0
    total: int = 0
    results: list[str] = field(default_factory=list)
    error: str = ""
    finished: float | None = None

    def progress(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total

    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


class Jobs:
    """The jobs of this server process (shared by all sessions through
    ``st.cache_resource``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_workspace: dict[str, Job] = {}

    def current(self, workspace: str) -> Job | None:
        with self.lock:
            return self.by_workspace.get(workspace)

    def start(self, job: Job, work: Any) -> Job:
        """Run ``work(job)`` in a daemon thread; ``ValueError`` while another job of the
        same workspace runs."""
        with self.lock:
            running = self.by_workspace.get(job.workspace)
            if running is not None and running.state == "running":
                raise ValueError(f"a {running.kind} job is already running in this workspace "
                                 f"(stage {running.stage}); wait for it to finish")
            self.by_workspace[job.workspace] = job

        def run() -> None:
            try:
                work(job)
                job.state = "finished"
            except Exception as exc:  # noqa: BLE001 - shown on the page
                job.error = f"{type(exc).__name__}: {exc}"
                job.state = "failed"
            finally:
                job.finished = time.time()

        threading.Thread(target=run, name=f"coatml-{job.kind}", daemon=True).start()
        return job


@st.cache_resource
def jobs() -> Jobs:
    """The process-wide job table."""
    return Jobs()


def start_training(root: str, targets: list[str], fast: bool, trials: int | None) -> Job:
    """Train ``targets`` one after the other in the background (``train_target``: grouped CV,
    MLflow, registration, promotion only if better)."""

    def work(job: Job) -> None:
        from coatml.cli._common import quiet_libraries
        from coatml.tracking.training import TrainOptions, train_target
        from coatml.workspace import Workspace

        quiet_libraries()
        ws = Workspace.load(root)
        for target in targets:
            job.progress(f"{target}: featurize", 0, 1)

            def progress(stage: str, done: int, total: int, target: str = target) -> None:
                job.progress(f"{target}: {stage}", done, total)

            outcome = train_target(ws, TrainOptions(target=target, trials=trials, fast=fast),
                                   progress=progress)
            job.results.append(f"{target}: {outcome.promotion.reason}")

    return jobs().start(Job("training", root), work)
