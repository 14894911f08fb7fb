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
    assert browser.report_view.value.startswith('<iframe sandbox="allow-scripts" ')  # no same-origin
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


def test_lists_batch_folders_filters_sorts_and_compares(root):
    batch = root / "batch" / "overnight" / "commit-msg"
    shutil.copytree(NODE_RUNS[1], batch / "s1")
    browser = RunBrowser(root)
    labels = [label for label, _ in browser.runs.options]
    assert len(labels) == 4 and any(label.endswith("· batch overnight") for label in labels)
    assert "batch overnight" in browser.listing.value and "class=\"sortable" in browser.listing.value
    browser.batches.value = False
    assert len(browser.runs.options) == 3
    browser.batches.value = True
    browser.kind.value = "drill"
    assert [label.split(" · ")[0] for label, _ in browser.runs.options] == [f"deeper / {DRILL}"]
    browser.kind.value = ""
    browser.filter_text.value = NODE_RUNS[5].name[-6:]
    assert len(browser.runs.options) == 1
    browser.filter_text.value = ""
    browser.sort.value = "oldest first"
    assert browser.runs.options[0][0].startswith(f"deeper / {DRILL}")  # started 2026-11-30
    nodes = [path for _, path in browser.runs.options if "commit-msg" in path][:2]
    browser.compare_runs.value = tuple(nodes)
    browser.compare_button.click()
    view = browser.compare_view.value
    assert "Comparing 2 runs" in view and "<svg" in view and "Settings that differ" in view
    browser.compare_runs.value = tuple(nodes[:1])
    browser.compare_button.click()
    assert "two or more" in browser.compare_view.value


def test_runs_display_as_tables_not_journal_reprs(root):
    from deeploop.runs import list_runs
    runs = list_runs(root=root)
    text = repr(runs)
    assert text.splitlines()[0].split() == ["run", "kind", "status", "score", "rounds",
                                            "started", "report"]
    assert "Journal" not in text and "Journal" not in repr(runs[0])
    assert repr(runs[0]).startswith(f"RunRecord(deeper/{DRILL}: ")  # the oldest first
    html_table = runs._repr_html_()
    assert html_table.count("<tr>") == 4 and "deeploop-pill" in html_table
    (runs[0].path / "report.html").write_text("<html></html>")
    assert (runs[0].path / "report.html").resolve().as_uri() in runs[0]._repr_html_()
