"""End to end in a real headless browser: `coatml ui` started as a user starts it, on a free
loopback port over a small trained workspace, driven by Playwright in Debian's Chromium
(``apt-get install chromium``; ``COATML_TEST_CHROMIUM`` names another binary). No browser is
downloaded. Without Chromium the test fails saying so (CI installs it, see .ci/run).

The page's tables are drawn on a canvas (Streamlit's data grid), so the checks read the
headings and messages around them, the downloaded CSV and the pixels of the screenshots.
``COATML_UI_SCREENSHOTS=DIR`` keeps the screenshots (the README's comes from here, with
``COATML_UI_TEST_WORKSPACE`` naming a workspace trained by `coatml quickstart`).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.ui.test_data_page import BAD_CSV, GOOD_CSV

pytestmark = pytest.mark.slow
START_TIMEOUT_S = 120
WORK_TIMEOUT_MS = 240_000  # a ranking or proposal on 2 shared cores; not a speed target


def chromium() -> str:
    path = os.environ.get("COATML_TEST_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if not path:
        pytest.fail("the browser test needs Chromium: apt-get install -y chromium (Debian), "
                    "or COATML_TEST_CHROMIUM=/path/to/chrome")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The small trained workspace, or a copy of ``COATML_UI_TEST_WORKSPACE`` (e.g. one
    trained by `coatml quickstart`, for the README's screenshot)."""
    other = os.environ.get("COATML_UI_TEST_WORKSPACE")
    if other:
        root = tmp_path / "ws"
        shutil.copytree(other, root)
        return root
    return Path(request.getfixturevalue("trained_workspace"))


@pytest.fixture
def server(workspace: Path) -> Iterator[str]:
    """`coatml ui --workspace WS --port P` in a subprocess; yields the address it prints."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "coatml.cli.main", "ui", "--workspace", str(workspace),
         "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert match and int(match.group(1)) == port, first
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"coatml ui did not start: {proc.stdout.read()}") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # stopping `coatml ui` stopped the server (no orphaned Streamlit process keeps the port)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _red_pixels(rgb: np.ndarray) -> int:
    """Pixels of matplotlib's tab:red (#d62728), the Pareto front of the ranking figure."""
    return int((np.abs(rgb - np.array([214, 39, 40])).sum(axis=2) < 60).sum())


def _keep(name: str, png: bytes, tmp_path: Path) -> None:
    (tmp_path / name).write_bytes(png)
    keep = os.environ.get("COATML_UI_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / name).write_bytes(png)


def _upload(page, name: str, content: str) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content.encode()})
    page.get_by_text(name).first.wait_for()
    page.get_by_role("button", name="Validate and add").click()


def test_upload_rank_propose_in_chromium(server: str, workspace: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from coatml.workspace import Workspace

    def count() -> int:
        with Workspace.load(workspace).store() as store:
            return store.count()

    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True, args=args)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100},
                                    accept_downloads=True)
            page.set_default_timeout(60_000)
            page.goto(server)
            records = page.get_by_role("heading", name=re.compile(r"^Records \(\d+\)"))
            records.wait_for()
            before = count()
            assert records.inner_text() == f"Records ({before})"

            # a bad file: every problem named by row and column, nothing written
            _upload(page, "week12.csv", BAD_CSV)
            problem = page.get_by_text("row 3, column coating: 'LiXx2O3' contains unknown "
                                       "element(s): Xx")
            problem.wait_for()
            expect(page.get_by_text("row 4, column temperature_c", exact=False).first
                   ).to_be_visible()
            expect(page.get_by_text("nothing was written", exact=False).first).to_be_visible()
            shot = page.screenshot(full_page=True)
            _keep("data-bad-upload.png", shot, tmp_path)
            assert count() == before

            # a good file lands
            _upload(page, "week13.csv", GOOD_CSV)
            page.get_by_text("week13.csv: added 2 records").wait_for()
            expect(page.get_by_role("heading", name=f"Records ({before + 2})")).to_be_visible()
            assert count() == before + 2

            # rank the pair (the whole space: library + enumerated candidates)
            page.locator('[data-testid="stSidebar"]').get_by_text("Rank", exact=True).click()
            page.get_by_role("heading", name="Rank coatings").wait_for()
            page.get_by_role("button", name="Rank").click()
            heading = page.get_by_role("heading", name=re.compile(r"ranked coatings \(of \d+\)"))
            heading.wait_for(timeout=WORK_TIMEOUT_MS)
            shown, total = map(int, re.findall(r"\d+", heading.inner_text()))
            assert shown == 50 and total > 1000  # rows shown (default 50) of every candidate
            caption = page.get_by_text(re.compile(r"^\d+ candidates plotted"))
            caption.wait_for()
            assert caption.inner_text().startswith(f"{shown} candidates plotted")
            # the chart is drawn as SVG: one symbol per table row, the front in red
            plot = page.get_by_test_id("stVegaLiteChart")
            symbols = plot.locator("g.mark-symbol.role-mark path")
            expect(symbols).to_have_count(shown)
            red = plot.locator("g.mark-symbol.role-mark path[fill='#d62728']")
            assert 1 <= red.count() < shown
            page.set_viewport_size({"width": 1500, "height": 2300})  # table and chart
            page.get_by_role("heading", name="Rank coatings").scroll_into_view_if_needed()
            page.get_by_role("button", name="Download the figure (PNG, as coatml rank draws it)"
                             ).wait_for()
            page.wait_for_function(  # the script run is over
                "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
            page.wait_for_timeout(500)  # the chart's layout settles after the resize
            shot = page.screenshot(full_page=True)
            _keep("rank.png", shot, tmp_path)
            chart = _pixels(plot.screenshot())
            inked = (chart < 200).any(axis=2).mean()
            assert chart.shape[1] > 400 and inked > 0.005, inked  # drawn, not a blank box
            assert _red_pixels(chart) > 50  # the Pareto front on screen
            assert _red_pixels(_pixels(shot)) > 50  # and on the screenshot
            page.set_viewport_size({"width": 1500, "height": 1100})

            # propose a same-temperature batch and download it
            page.locator('[data-testid="stSidebar"]').get_by_text("Propose", exact=True).click()
            page.get_by_role("heading", name="Propose the next batch").wait_for()
            page.get_by_label("batch size").fill("3")
            page.get_by_label("candidate coatings sampled (0: all; a sample is faster)"
                              ).fill("150")
            page.get_by_text("same deposition temperature (one reactor run)").click()
            page.get_by_role("button", name="Propose").click()
            batch = page.get_by_role("heading", name=re.compile(r"^Batch .+: \d+ recipes$"))
            batch.wait_for(timeout=WORK_TIMEOUT_MS)
            assert batch.inner_text().endswith(": 3 recipes")
            batch_id = batch.inner_text().split()[1].rstrip(":")
            with page.expect_download() as download:
                page.get_by_role("button", name="Download the batch (CSV)").click()
            csv_path = tmp_path / "batch.csv"
            download.value.save_as(csv_path)
            assert download.value.suggested_filename == f"proposal-{batch_id}.csv"
            table = pd.read_csv(csv_path)
            assert len(table) == 3
            assert table["proposal_id"].tolist() == [f"{batch_id}-0{i}" for i in (1, 2, 3)]
            assert table["temperature_c"].nunique() == 1
            assert (table["electrode"] == "LiNi0.8Mn0.1Co0.1O2").all()
            assert table["capacity_retention_pct"].isna().all()  # for the lab to fill
            _keep("propose.png", page.screenshot(full_page=True), tmp_path)
        finally:
            browser.close()
