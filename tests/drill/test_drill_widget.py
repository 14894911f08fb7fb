"""DrillWidget, headless: the same session code as the CLI, so the same files."""
import io
import json
import subprocess
import sys

import pytest

pytest.importorskip("ipywidgets")

from deeploop.cli import main  # noqa: E402
from deeploop.notebook import DrillWidget  # noqa: E402
from deeploop.errors import InputError, MissingDependency, RunLocked  # noqa: E402
from .drill_helpers import REPO, events_of  # noqa: E402

CLAIM = "Why does our checkout funnel keep regressing?"


def _drive_widget(widget):
    widget.answer_box.value = "cause A"
    widget.answer_button.click()
    widget.answer_box.value = "cause B"
    widget.branch_button.click()
    widget.category.value = "constraint"
    widget.bedrock_button.click()
    widget.answer_box.value = "rethink"
    widget.answer_button.click()
    widget.category.value = "prior-decision"
    widget.answer_box.value = "we chose X in 2024"
    widget.bedrock_button.click()


TYPED = ["cause A", "BRANCH:cause B", "BEDROCK:constraint", "rethink",
         "BEDROCK:prior-decision — we chose X in 2024"]


def _normalised(run_dir):
    drop = {"ts", "run_id", "started"}
    events = [{k: v for k, v in e.items() if k not in drop} for e in events_of(run_dir)]
    outcome = json.loads((run_dir / "outcome.json").read_text())
    outcome.pop("run_id")
    return (events, (run_dir / "tree.json").read_text(), (run_dir / "state.md").read_text(),
            (run_dir / "seed.md").read_text(), outcome)


def test_widget_and_terminal_write_identical_runs(runs_root, monkeypatch, capsys):
    widget = DrillWidget(CLAIM)
    _drive_widget(widget)
    assert widget.drill.status == "passed"
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(TYPED) + "\n"))
    assert main(["drill", CLAIM, "--run-id", "typed", "--no-report"]) == 0
    assert "passed" in capsys.readouterr().out
    assert _normalised(widget.drill.run_dir) == _normalised(runs_root / "deeper" / "typed")


def test_widget_shows_question_round_and_tree():
    widget = DrillWidget(claim=CLAIM)
    assert widget.question_label.value == f"<b>{CLAIM}</b>"
    assert widget.round_label.value.startswith("Round 0 of 20 · in progress")
    widget.answer_box.value = "the <new> checkout"
    widget.answer_button.click()
    assert "What evidence shows that “the &lt;new&gt; checkout”?" in widget.question_label.value
    assert widget.round_label.value.startswith("Round 1 of 20")
    assert "the &lt;new&gt; checkout" in widget.tree_view.value
    assert "drilling into" in widget.message.value and widget.answer_box.value == ""
    widget.close()


def test_bad_input_is_shown_and_nothing_changes():
    widget = DrillWidget(CLAIM)
    widget.answer_box.value = "   "
    widget.answer_button.click()
    assert "empty answer" in widget.message.value and "#b91c1c" in widget.message.value
    widget.branch_button.click()
    assert "empty branch" in widget.message.value
    widget.answer_box.value = "elsewhere"
    widget.branch_button.click()  # BRANCH at the root: recorded as a rejected round
    assert "cannot BRANCH at the root" in widget.message.value
    assert widget.drill.rounds == 1 and widget.drill.tree.cursor == ()
    widget.close()


def test_stop_disables_the_buttons():
    widget = DrillWidget(CLAIM)
    widget.stop_button.click()
    assert widget.drill.status == "aborted"
    assert all(button.disabled for button in widget.buttons)
    assert "aborted" in widget.question_label.value


def test_finished_drill_says_so():
    widget = DrillWidget(CLAIM)
    widget.category.value = "stated-value"
    widget.bedrock_button.click()
    assert "Every branch reached bedrock" in widget.question_label.value
    assert widget.answer_button.disabled


def test_a_run_id_resumes_and_the_widget_holds_the_run():
    widget = DrillWidget(CLAIM)
    widget.answer_box.value = "cause A"
    widget.answer_button.click()
    run_id = widget.drill.run_id
    with pytest.raises(RunLocked):
        DrillWidget(run_id)
    widget.close()
    again = DrillWidget(run_id)
    assert again.drill.rounds == 1 and again.drill.tree.active.claim == "cause A"
    again.close()
    assert DrillWidget(run=run_id).drill.rounds == 1


def test_one_source_only():
    with pytest.raises(InputError, match="one claim or one run id"):
        DrillWidget(CLAIM, run="x")


def test_widget_displays_as_a_widget():
    widget = DrillWidget(CLAIM)
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "CURSOR" in widget._repr_html_()
    widget.close()


def test_missing_ipywidgets_is_an_actionable_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(MissingDependency, match=r"pip install 'deeploop\[notebook\]'"):
        DrillWidget(CLAIM)


def test_the_drill_core_never_imports_ipywidgets():
    code = ("import sys, deeploop.drill, deeploop.drill.drill, deeploop.drill.unattended, "
            "deeploop.cli.drill; from deeploop.drill import Drill; "
            "sys.exit('ipywidgets' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_a_finished_drill_ends_with_its_report():
    widget = DrillWidget(CLAIM, report=True)
    widget.answer_box.value = "cause A"
    widget.answer_button.click()
    assert widget.reporter is None  # still open: no report yet
    widget.category.value = "empirical"
    widget.answer_box.value = "measured twice"
    widget.bedrock_button.click()
    page = widget.wait_report(120)
    assert page == widget.drill.run_dir / "report.html"
    assert widget.message_text == f"report: {page}" and str(page) in widget.message.value
    text = page.read_text()
    assert "BEDROCK · empirical" in text and "measured twice" in text


def test_the_static_view_is_the_current_view():
    """What a saved or exported notebook shows: the widget as it is now, not round 0."""
    widget = DrillWidget(CLAIM)
    for text in ("the page loads slowly", "no performance budget"):
        widget.answer_box.value = text
        widget.answer_button.click()
    html, text = widget.snapshot()
    assert text.startswith("Round 2 of ") and "no performance budget" in text
    assert "no performance budget" in html and 'title="depth 2">d2</span>' in html
    assert repr(widget) == text and widget._repr_html_() == html
    bundle = widget._repr_mimebundle_()
    assert bundle["text/plain"] == text and "application/vnd.jupyter.widget-view+json" in bundle
    widget.stop_button.click()
    assert "The drill has ended: aborted (stopped by STOP" in widget.snapshot()[1]
