"""Web page (`coatml ui`) response times, in a real headless browser and server-side.

Targets (issue 13): a page interaction on cached models answers in under 1 s; the rank page
for LiNi0.8Mn0.1Co0.1O2 | Li6PS5Cl (objective both, the whole space: library + enumerated
candidates) in under 10 s on 2 cores.

* ``--workspace DIR``: a trained workspace (e.g. the quickstart's). Without it, a small
  SYNTHETIC one is built in a temporary folder (champions trained on simulated-lab records,
  ``tests/ui/conftest.py``; run from a checkout).
* Browser (Debian's Chromium driven by Playwright; ``--chromium PATH``): `coatml ui` is started
  on a free loopback port; timed from the click to the answer on screen: switching pages
  (Data -> Rank -> Propose -> Data, after the models are cached), a records filter on the Data
  page, the first ranking (loads the champions), and ``--repeats`` rankings on cached models.
* Server side (Streamlit's AppTest, no browser): the same script runs, timed in-process.

Run:  nice python benchmarks/bench_ui.py [--workspace DIR] [--repeats 3] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "src" / "coatml" / "ui" / "app.py"


def build(tmp: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.ui.conftest import build_workspace

    return build_workspace(tmp / "ws")


def server_side(workspace: Path, repeats: int) -> dict[str, list[float]]:
    from streamlit.testing.v1 import AppTest

    os.environ["COATML_WORKSPACE"] = str(workspace)
    times: dict[str, list[float]] = {}

    def timed(name: str, fn) -> None:
        t0 = time.perf_counter()
        fn()
        times.setdefault(name, []).append(time.perf_counter() - t0)

    at = AppTest.from_file(str(APP), default_timeout=600)
    timed("first load (Data page)", at.run)
    at.sidebar.radio(key="page").set_value("Rank").run()
    timed("first rank (loads champions)", at.button[0].click().run)
    for _ in range(repeats):
        timed("rank, cached models", at.button[0].click().run)
        for page in ("Propose", "Data", "Rank"):
            timed(f"switch to {page}", at.sidebar.radio(key="page").set_value(page).run)
    assert not at.exception, [e.value for e in at.exception]
    return times


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def browser(workspace: Path, repeats: int, chromium: str) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "coatml.cli.main", "ui", "--workspace",
                             str(workspace), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times: dict[str, list[float]] = {}
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=chromium, headless=True, args=args)

            def timed(name: str, action, done) -> None:
                t0 = time.perf_counter()
                action()
                done()
                times.setdefault(name, []).append(time.perf_counter() - t0)

            def idle(page) -> None:
                # the script run is over when Streamlit's "running" indicator is gone
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")

            for i in range(repeats + 1):
                # a new browser session each round: the champions stay cached across sessions
                page = b.new_page(viewport={"width": 1500, "height": 1100})
                page.set_default_timeout(600_000)
                sidebar = page.locator('[data-testid="stSidebar"]')
                records = page.get_by_role("heading", name=re.compile(r"^Records"))
                timed("open the page (Data)", lambda page=page: page.goto(url),
                      lambda records=records, page=page: (records.wait_for(), idle(page)))

                def switch(name: str, heading: str, page=page, sidebar=sidebar) -> None:
                    t0 = time.perf_counter()
                    sidebar.get_by_text(name, exact=True).click()
                    page.get_by_role("heading", name=heading, exact=True).wait_for()
                    times.setdefault(f"switch to {name}: page shown", []).append(
                        time.perf_counter() - t0)
                    idle(page)
                    times.setdefault(f"switch to {name}: run finished", []).append(
                        time.perf_counter() - t0)

                switch("Rank", "Rank coatings")
                ranked = page.get_by_role("heading", name=re.compile(r"ranked coatings \(of"))
                timed("first rank (loads the champions)" if i == 0 else "rank, cached models",
                      lambda page=page: page.get_by_role("button", name="Rank").click(),
                      lambda ranked=ranked, page=page: (
                          ranked.wait_for(), page.get_by_test_id("stVegaLiteChart").locator(
                              "g.mark-symbol.role-mark path").first.wait_for(),
                          idle(page)))
                scored = page.get_by_text(re.compile(r"recipes scored in [\d.]+ s$"))
                seconds = float(re.findall(r"in ([\d.]+) s$", scored.inner_text())[0])
                times.setdefault("  of which rank_coatings (as the page reports)",
                                 []).append(seconds)
                switch("Propose", "Propose the next batch")
                switch("Data", "Data")
                box = page.get_by_label("search id / coating / source")
                shown = page.get_by_text(re.compile(r"^\d+ of \d+ records shown$"))
                before = shown.inner_text()
                timed("Data: filter the records",
                      lambda box=box: (box.fill("no-such-record"), box.press("Enter")),
                      lambda page=page, before=before: page.wait_for_function(
                          "(prev) => [...document.querySelectorAll('p')].some(e => "
                          "/records shown$/.test(e.innerText) && e.innerText !== prev)",
                          arg=before))
                page.close()
            # a second session while the first one ranks the whole space
            first = b.new_page(viewport={"width": 1500, "height": 1100})
            first.set_default_timeout(600_000)
            first.goto(url)
            first.get_by_role("heading", name=re.compile(r"^Records")).wait_for()
            first.locator('[data-testid="stSidebar"]').get_by_text("Rank", exact=True).click()
            first.get_by_role("heading", name="Rank coatings").wait_for()
            idle(first)
            t_rank = time.perf_counter()
            first.get_by_role("button", name="Rank").click()
            second = b.new_page(viewport={"width": 1500, "height": 1100})
            second.set_default_timeout(600_000)
            timed("second session: open the page while the first ranks",
                  lambda: second.goto(url),
                  lambda: second.get_by_role("heading", name=re.compile(r"^Records"))
                  .wait_for())
            timed("second session: switch to Propose while the first ranks",
                  lambda: second.locator('[data-testid="stSidebar"]')
                  .get_by_text("Propose", exact=True).click(),
                  lambda: second.get_by_role("heading", name="Propose the next batch")
                  .wait_for())
            answered_at = time.perf_counter() - t_rank
            first.get_by_role("heading", name=re.compile(r"ranked coatings \(of")).wait_for()
            idle(first)
            ranked_at = time.perf_counter() - t_rank
            print(f"second session answered {answered_at:.1f} s after the first session's "
                  f"rank click; that ranking finished at {ranked_at:.1f} s")
            b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return times


def report(title: str, times: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print("| step | median s | max s | n |\n|---|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} | {max(values):.2f} | "
              f"{len(values)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.workspace is None:
            t0 = time.perf_counter()
            workspace = build(Path(tmp))
            print(f"built a small synthetic trained workspace in {time.perf_counter() - t0:.0f} s")
        else:
            workspace = Path(tmp) / "ws"
            shutil.copytree(args.workspace, workspace)  # the benchmark writes nothing back
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
        if not args.no_browser:
            if not args.chromium:
                sys.exit("no Chromium: apt-get install -y chromium, or --chromium PATH")
            report("Browser (click -> answer on screen)",
                   browser(workspace, args.repeats, args.chromium))
        report("Server side (AppTest script run)", server_side(workspace, args.repeats))


if __name__ == "__main__":
    main()
