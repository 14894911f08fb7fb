"""One real-browser test: JupyterLab on loopback, Chromium through Playwright.

Open notebooks/drill.ipynb (a copy), run all its cells, answer twice, choose a bedrock
category, and check that the widget's tree shows it and that tree.json on
disk says the same. Skipped, with the reason, when Playwright, JupyterLab or
Chromium is missing; CI installs them (Makefile: Debian's chromium when
root; the dev extra: playwright and jupyterlab). Every server and browser
started here is stopped in a finally block, and every wait is bounded.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "deeploop-browser-test"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _requirements() -> str:
    """The executable to drive, or skip naming what is missing."""
    for module, extra in (("playwright.sync_api", "playwright"), ("jupyterlab", "jupyterlab")):
        try:
            __import__(module)
        except ImportError:
            pytest.skip(f"{extra} is not installed (pip install -e '.[dev]')")
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium; make test does it "
                    "when run as root)")
    return chromium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_lab(root: Path, home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "DEEPLOOP_RUNS": str(home / "runs"), "MPLBACKEND": "Agg"}
    log = open(home / "lab.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--allow-root", "--no-browser",
         "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={TOKEN}",
         "--LabApp.news_url=None", "--ServerApp.port_retries=0",
         f"--ServerApp.root_dir={root}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_until_up(server: subprocess.Popen, port: int, home: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited: {(home / 'lab.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={TOKEN}",
                                        timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer within {seconds} s")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


def _drill(page) -> None:
    """Run the notebook's cells, answer twice, then close the branch at bedrock."""
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    # cells sent before the kernel is connected are dropped: wait for it to be idle
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
    page.get_by_role("menuitem", name="Run").click()
    page.get_by_text("Run All Cells", exact=True).click()
    answer = page.locator(".widget-textarea textarea")
    answer.wait_for(timeout=90_000)
    for n, text in enumerate(["the new checkout page loads slowly",
                              "we ship the page without a performance budget"], start=1):
        answer.fill(text)
        page.get_by_role("button", name="Answer", exact=True).click()
        page.get_by_text(f"Round {n} of 20").wait_for(timeout=30_000)
    page.locator(".widget-dropdown select").select_option("constraint")
    answer.fill("the release train leaves every Tuesday")
    page.get_by_role("button", name="Bedrock", exact=True).click()
    page.get_by_text("BEDROCK · constraint").first.wait_for(timeout=30_000)
    # the finished drill builds its report in the kernel; then the widget's output
    # becomes its static snapshot (what a saved notebook shows): wait for that
    ended = page.locator(".jp-RenderedHTMLCommon", has_text="report: ").filter(
        has_text="/report.html")
    ended.or_(page.get_by_text("no report for")).first.wait_for(timeout=180_000)


def test_drill_notebook_in_jupyterlab(tmp_path):
    chromium = _requirements()
    from playwright.sync_api import sync_playwright
    lab, home = tmp_path / "lab", tmp_path / "home"
    lab.mkdir()
    home.mkdir()
    shutil.copy(REPO / "notebooks" / "drill.ipynb", lab / "drill.ipynb")
    port = _free_port()
    server = _start_lab(lab, home, port)
    try:
        _wait_until_up(server, port, home)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_default_timeout(60_000)
                page.goto(f"http://127.0.0.1:{port}/lab/tree/drill.ipynb?reset&token={TOKEN}")
                _drill(page)
                shown = page.locator(".jp-OutputArea-output").all_inner_texts()
                assert page.locator(".jp-OutputArea-output .jupyter-widgets").count() == 0
            finally:
                browser.close()
    finally:
        _stop(server)

    trees = list((home / "runs" / "deeper").glob("*/tree.json"))
    assert len(trees) == 1
    tree = json.loads(trees[0].read_text())
    first = tree["root"]["children"][0]
    second = first["children"][0]
    marker = second["children"][0]
    assert first["claim"] == "the new checkout page loads slowly"
    assert second["claim"] == "we ship the page without a performance budget"
    assert marker["bedrock"] == "constraint" and tree["cursor"] is None
    view = "\n".join(shown)
    assert "BEDROCK · constraint" in view and second["claim"] in view
    assert "the release train leaves every Tuesday" in view  # the rationale, as recorded
    assert (trees[0].parent / "report.html").is_file()
