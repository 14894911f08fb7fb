"""RunBrowser, headless: pick a run by its folder, its report shows inline,
built first when it has none."""
from __future__ import annotations

import html
import shutil

import pytest

pytest.importorskip("ipywidgets")

from tests.helpers import OWN_DRILLS  # noqa: E402
from tests.notebook.nbhelpers import NODE_RUNS  # noqa: E402

from deeploop.notebook.browser import RunBrowser  # noqa: E402

DRILL = "legacy-branch"


@pytest.fixture
def root(tmp_path):
    """Two of the project's node runs and a legacy drill, copied into a runs root."""
    root = tmp_path / "runs"
    for src in (NODE_RUNS[0], NODE_RUNS[5], OWN_DRILLS / DRILL):
        shutil.copytree(src, root / src.parent.name / src.name)
    return root


class FakeBuilder:
    def __init__(self, fail: str | None = None):
        self.calls, self.fail = [], fail

    def __call__(self, run_dir):
        self.calls.append(run_dir)
        if self.fail:
            raise RuntimeError(self.fail)
        page = f"{run_dir}/report.html"
        with open(page, "w") as fh:
            fh.write(f"<html><body><h1>built for {run_dir}</h1></body></html>")

        class Built:
            html = page
        return Built()


def test_lists_runs_newest_first_with_status_and_score(root):
    browser = RunBrowser(root)
    labels = [label for label, _ in browser.runs.options]
    assert labels[0].startswith(f"commit-msg / {NODE_RUNS[5].name} · passed · score 1 · "
                                "2026-12-03T19")
    assert labels[1].startswith(f"commit-msg / {NODE_RUNS[0].name} · hard_cap · score 0.25")
    assert labels[2].startswith("deeper / legacy-branch · unfinished · score 1 · 2026-11-30T09")
    assert browser.runs.value is None and browser.report_view.value == ""
    assert RunBrowser(root, node="deeper").runs.options[0][1] == str(root / "deeper" / DRILL)


def test_picking_a_run_without_a_report_builds_it_then_shows_it(root):
    builder = FakeBuilder()
    browser = RunBrowser(root, builder=builder)
    run = str(root / "deeper" / DRILL)
    browser.runs.value = run
    browser.wait(30)
    assert builder.calls == [run]
    assert browser.report_view.value.startswith('<iframe sandbox="" ')
    assert html.escape(f"<h1>built for {run}</h1>", quote=True) in browser.report_view.value
    browser.refresh()  # the label now says the run has a report; the pick is kept
    assert browser.runs.value == run and browser.runs.label.endswith(" · report")

    browser.runs.value = None
    browser.runs.value = run  # a report on disk is shown as it is, not rebuilt
    assert builder.calls == [run]
    browser.rebuild_button.click()
    browser.wait(30)
    assert builder.calls == [run, run]


def test_a_failing_build_says_why(root):
    browser = RunBrowser(root, builder=FakeBuilder(fail="kernel died\nmore"))
    browser.runs.value = str(root / "deeper" / DRILL)
    browser.wait(30)
    assert "no report: kernel died" in browser.message.value and "more" not in browser.message.value
    assert browser.report_view.value == ""


def test_real_report_of_a_recorded_drill(root):
    browser = RunBrowser(root)
    browser.runs.value = str(root / "deeper" / DRILL)
    browser.wait(120)
    page = html.unescape(browser.report_view.value)
    assert "Bedrock (2)" in page and "BEDROCK · prior-decision" in page
    assert (root / "deeper" / DRILL / "report.html").is_file()


def test_an_empty_root_says_so(tmp_path):
    browser = RunBrowser(tmp_path / "none")
    assert browser.runs.options == () and "No runs under" in browser.message.value
