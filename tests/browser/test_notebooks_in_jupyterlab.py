"""The experiment notebook in a real browser: Stop, Kernel ▸ Interrupt, the
saved end state, and the dark theme's contrast.

JupyterLab on loopback, Chromium through Playwright, one server for the
module (two cores are shared; every test opens its own copy of
notebooks/experiment_session.ipynb). Each tag is created first with the
test suite's fake train.py (no torch, a few seconds an experiment), which
the notebook then resumes: what is under test is the notebook and its
widgets, and a loaded machine can take minutes for the real model. Skipped, with the
reason, when Playwright, JupyterLab or Chromium is missing. Every wait is
bounded and the server (with its kernels) is stopped at the end.
"""
from __future__ import annotations

import json
import re
import shutil

import nbformat
import pytest

from tests.browser.test_drill_in_jupyterlab import (CHROMIUM_ARGS, REPO, TOKEN, _free_port,
                                                    _requirements, _start_lab, _stop,
                                                    _wait_until_up)

RUN_WAIT = 300_000  # ms: generous; the fake trainer takes seconds


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    chromium = _requirements()
    from playwright.sync_api import sync_playwright
    base = tmp_path_factory.mktemp("lab")
    folder, home = base / "lab", base / "home"
    folder.mkdir()
    home.mkdir()
    port = _free_port()
    server = _start_lab(folder, home, port)
    try:
        _wait_until_up(server, port, home)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                yield {"browser": browser, "folder": folder, "home": home, "port": port}
            finally:
                browser.close()
    finally:
        _stop(server)


def _notebook(lab, name: str, sleep: float = 3.0, **params) -> str:
    """A copy of the experiment notebook with these parameter values, for a tag
    made beforehand with the fake trainer (``sleep`` seconds an experiment)."""
    from deeploop.notebook.job import open_experiment
    from tests.experiment.conftest import FAKE_TRAIN, corpus_text, install_trainer
    corpus = lab["folder"] / "corpus.txt"
    corpus.write_text(corpus_text(), encoding="utf-8")
    run, _ = open_experiment(params["tag"], data=str(corpus), root=lab["home"] / "runs")
    install_trainer(run, FAKE_TRAIN.replace("SLEEP = 0.0", f"SLEEP = {sleep}"))
    nb = nbformat.read(str(REPO / "notebooks" / "experiment_session.ipynb"), as_version=4)
    cell = nb.cells[1]
    for key, value in params.items():
        cell.source = re.sub(rf"^{key}: (\w+) = .*$", f"{key}: \\1 = {value!r}", cell.source,
                             flags=re.M)
    for c in nb.cells:  # start from a clean notebook, as a new user would
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nbformat.write(nb, str(lab["folder"] / f"{name}.ipynb"))
    return name


def _open(lab, name: str):
    page = lab["browser"].new_page(viewport={"width": 1300, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"http://127.0.0.1:{lab['port']}/lab/tree/{name}.ipynb?reset&token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=90_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
    return page


def _run_all(page) -> None:
    page.get_by_role("menuitem", name="Run").click()
    page.get_by_text("Run All Cells", exact=True).click()


def _running_experiment(page) -> None:
    """Wait until the monitor shows an experiment being proposed or trained."""
    page.locator(".jupyter-widgets", has_text="Experiment 1").first.wait_for(timeout=RUN_WAIT)


def _outcome(lab, tag: str) -> dict:
    return json.loads((lab["home"] / "runs" / "experiment" / tag / "outcome.json").read_text())


def _save(page) -> None:
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1500)


@pytest.mark.parametrize("wait", [True, False])
def test_stop_ends_the_run_and_the_saved_notebook_shows_the_end(lab, wait):
    tag = f"stop-{str(wait).lower()}"
    name = _notebook(lab, tag, tag=tag, experiments=30, budget=1.0, wait=wait, report=False,
                     meta_interval=0)
    page = _open(lab, name)
    try:
        _run_all(page)
        _running_experiment(page)
        page.get_by_role("button", name="Stop", exact=True).click()
        # the run ends paused after the experiment in flight; the monitor's output
        # becomes its static snapshot (no widget), the next cell gets the outcome
        final = page.locator(".deeploop-monitor", has_text="paused: stopped by stop event")
        final.first.wait_for(timeout=RUN_WAIT)
        if wait:  # the cell awaiting the run shows its outcome
            page.get_by_text("('paused',").first.wait_for(timeout=60_000)
        assert page.get_by_role("button", name="Stop", exact=True).count() == 0
        _save(page)
    finally:
        page.close()
    outcome = _outcome(lab, tag)
    assert outcome["status"] == "paused" and outcome["rounds"] < 30

    saved = nbformat.read(str(lab["folder"] / f"{name}.ipynb"), as_version=4)
    monitor_out = [o for o in saved.cells[2].outputs if o.get("output_type") == "display_data"]
    assert monitor_out and "application/vnd.jupyter.widget-view+json" not in monitor_out[0].data
    assert "paused: stopped by stop event" in monitor_out[0].data["text/html"]
    assert "<svg" in monitor_out[0].data["text/html"]

    page = _open(lab, name)  # reopened without its kernel's widgets: the end state
    try:
        page.locator(".deeploop-monitor", has_text="paused").first.wait_for(timeout=60_000)
        assert page.get_by_text("Error displaying widget").count() == 0
    finally:
        page.close()
    if wait:
        _exported_page_fetches_nothing(lab, name)


def _exported_page_fetches_nothing(lab, name: str) -> None:
    """nbconvert's HTML of the saved notebook, opened offline in Chromium: the final
    status and the chart show, and the page asks the network for nothing."""
    from deeploop.notebook.html import export_html
    page_path = export_html(lab["folder"] / f"{name}.ipynb", lab["folder"] / f"{name}.html",
                            hide_code=False)
    page = lab["browser"].new_page(viewport={"width": 1200, "height": 900})
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    try:
        page.goto(page_path.as_uri())
        page.locator(".deeploop-monitor", has_text="paused").first.wait_for(timeout=30_000)
        assert page.locator(".deeploop-monitor svg").count() == 1  # the chart
    finally:
        page.close()
    assert [url for url in fetched if not url.startswith(("file:", "data:"))] == []


def test_kernel_interrupt_records_the_experiment_in_flight(lab):
    tag = "interrupt"
    name = _notebook(lab, tag, sleep=6.0, tag=tag, experiments=30, budget=3.0, wait=True,
                     report=False, meta_interval=0)
    page = _open(lab, name)
    try:
        _run_all(page)
        _running_experiment(page)
        page.locator(".jupyter-widgets", has_text="tests:").first.wait_for(timeout=RUN_WAIT)
        page.get_by_role("menuitem", name="Kernel").click()
        page.get_by_text("Interrupt Kernel", exact=True).click()
        line = page.get_by_text(re.compile(r"^interrupted: experiment \d+ recorded as interrupted"))
        line.first.wait_for(timeout=RUN_WAIT)
        page.locator(".deeploop-monitor", has_text="aborted").first.wait_for(timeout=60_000)
        shown = page.locator(".jp-OutputArea").all_inner_texts()
    finally:
        page.close()
    assert "Traceback" not in "\n".join(shown) and "KeyboardInterrupt" not in "\n".join(shown)
    outcome = _outcome(lab, tag)
    assert outcome["status"] == "aborted" and "interrupted" in outcome["exit_reason"]
    folder = lab["home"] / "runs" / "experiment" / tag
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    flight = [e for e in events if e["type"] == "experiment_interrupted"]
    assert len(flight) == 1  # the experiment in flight, recorded as interrupted: no result,
    rows = (folder / "results.tsv").read_text().splitlines()  # no row, trained again on resume
    assert "crash" not in [row.split("\t")[3] for row in rows[1:]]


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _rgb(css: str) -> tuple[float, float, float, float]:
    parts = [float(x) for x in re.findall(r"[\d.]+", css)]
    return (*parts[:3], parts[3] if len(parts) > 3 else 1.0)


def _contrast(fg: str, bg: str) -> float:
    f, b = _rgb(fg), _rgb(bg)
    mixed = tuple(f[i] * f[3] + b[i] * (1 - f[3]) for i in range(3))  # alpha over background
    high, low = sorted((_luminance(mixed), _luminance(b[:3])), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["JupyterLab Dark", "JupyterLab Light"])
def test_status_colours_read_on_both_themes(lab, theme):
    dark = theme.endswith("Dark")
    tag = "dark" if dark else "light"
    name = _notebook(lab, tag, sleep=0.5, tag=tag, experiments=1, budget=1.0, wait=True,
                     report=False, meta_interval=0)
    page = _open(lab, name)
    try:
        page.get_by_role("menuitem", name="Settings").click()
        page.get_by_text("Theme", exact=True).click()
        page.get_by_text(theme, exact=True).click()
        page.wait_for_function(f"document.body.dataset.jpThemeLight === '{str(not dark).lower()}'",
                               timeout=60_000)
        _run_all(page)
        page.locator(".deeploop-monitor", has_text="passed").first.wait_for(timeout=RUN_WAIT)
        colours = page.evaluate("""() => {
            const page = getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor;
            const out = [];
            for (const el of document.querySelectorAll('.deeploop-monitor, .deeploop-monitor *')) {
                if (!el.childNodes.length || ![...el.childNodes].some(
                        n => n.nodeType === 3 && n.textContent.trim())) continue;
                let bg = 'rgba(0, 0, 0, 0)', up = el;
                while (up && /rgba\\(0, 0, 0, 0\\)|transparent/.test(bg)) {
                    bg = getComputedStyle(up).backgroundColor; up = up.parentElement;
                }
                if (/rgba\\(0, 0, 0, 0\\)|transparent/.test(bg)) bg = page;
                out.push([el.textContent.trim().slice(0, 40), getComputedStyle(el).color, bg]);
            }
            return {page, out};
        }""")
    finally:
        page.close()
    assert colours["out"], "no monitor text found"
    page_rgb = _rgb(colours["page"])
    assert (_luminance(page_rgb[:3]) < 0.1) == dark, f"not the {theme} theme: {colours['page']}"
    low = [(text, fg, bg, round(_contrast(fg, bg), 2)) for text, fg, bg in colours["out"]
           if _contrast(fg, bg) < 4.5]
    assert not low, low
