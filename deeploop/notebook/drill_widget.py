"""``DrillWidget``: drill a claim in a notebook cell, one question at a time.

The widget is a view over a Drill: every button builds the same
answer text a person would type in the terminal (``BEDROCK:<category> —
rationale``, ``BRANCH:<claim>``, ``STOP``) and passes it to
``drill.answer``, so the run folder is identical whichever way the drill
was answered. Headless use (tests, scripts): set ``answer_box.value`` and
call ``answer_button.click()``.

With ``report=True`` a drill that ends (done, stopped, capped) gets its
executed report, built in a thread so the widget stays live; the message
line then names report.html (``wait_report()`` blocks until it is there).

In a notebook the widget is shown with a static HTML/text snapshot of its
current view beside it (``notebook.live.LiveDisplay``), refreshed after
each answer; when the drill ends the output becomes the snapshot alone, so
a saved or exported notebook shows the finished tree, not "round 0".
"""
from __future__ import annotations

import threading
from pathlib import Path

from ..errors import DeeploopError, InputError, require
from ..drill.render import TEMPLATE, render_html, render_text
from ..drill.drill import Drill
from ..drill.tree import BEDROCK_CATEGORIES
from ..runs import resolve_run
from ..templating import fragment, safe
from .live import SnapshotReprs


class DrillWidget(SnapshotReprs):
    """``DrillWidget("a claim")`` starts a drill; ``DrillWidget("<run id>")`` resumes one."""

    def __init__(self, claim_or_run: str | None = None, *, claim: str | None = None,
                 run: str | Path | None = None, root: Path | str | None = None,
                 report: bool = False, **options):
        self._w = require("ipywidgets", "notebook")
        root = Path(root) if root else None  # a notebook parameter arrives as a string
        self.drill = _open(claim_or_run, claim, run, root, options)
        self.report = report
        self.report_path: Path | None = None
        self.reporter: threading.Thread | None = None
        self._displays: list = []
        self._build()
        self.refresh()

    # ----- layout ---------------------------------------------------------

    def _build(self) -> None:
        w = self._w
        self.question_label = w.HTML()
        self.answer_box = w.Textarea(placeholder="a deeper reason (or the rationale / the "
                                     "parallel cause for the buttons below)",
                                     layout=w.Layout(width="100%"))
        self.answer_button = w.Button(description="Answer", button_style="primary")
        self.category = w.Dropdown(options=list(BEDROCK_CATEGORIES), description="Category")
        self.bedrock_button = w.Button(description="Bedrock", button_style="success")
        self.branch_button = w.Button(description="Branch")
        self.stop_button = w.Button(description="Stop", button_style="danger")
        self.round_label = w.Label()
        self.message = w.HTML()
        self.tree_view = w.HTML()
        self.answer_button.on_click(lambda _: self.submit(self.answer_box.value))
        self.bedrock_button.on_click(lambda _: self.submit(self._bedrock_text()))
        self.branch_button.on_click(lambda _: self.submit(f"BRANCH:{self.answer_box.value}"))
        self.stop_button.on_click(lambda _: self.submit("STOP"))
        self.buttons = [self.answer_button, self.bedrock_button, self.branch_button,
                        self.stop_button]
        self.box = w.VBox([
            self.round_label, self.question_label, self.answer_box,
            w.HBox([self.answer_button, self.category, self.bedrock_button,
                    self.branch_button, self.stop_button]),
            self.message, self.tree_view])

    def _bedrock_text(self) -> str:
        rationale = self.answer_box.value.strip()
        return f"BEDROCK:{self.category.value}" + (f" — {rationale}" if rationale else "")

    # ----- actions --------------------------------------------------------

    def submit(self, text: str) -> None:
        """Answer the current question with ``text``; errors show in the widget."""
        try:
            result = self.drill.answer(text)
        except InputError as exc:
            self._say(str(exc), error=True)
            self.refresh(keep_message=True)
            return
        except DeeploopError as exc:  # a model or I/O failure: show it, keep the widget
            self._say(f"{type(exc).__name__}: {exc}", error=True)
            self.refresh(keep_message=True)
            return
        self.answer_box.value = ""
        self._say(result.message)
        self.refresh(keep_message=True)
        if self.drill.finished:
            self._end_with_report()
        self._refresh_displays()

    def refresh(self, keep_message: bool = False) -> None:
        drill = self.drill
        question = drill.ask()
        cap = drill.budget.max_rounds
        if question is not None:
            self.question_label.value = fragment(TEMPLATE, "question", question.text)
            state = "in progress"
        else:
            self.question_label.value = fragment(TEMPLATE, "ended", _ended(drill))
            state = str(drill.status)
        self.round_label.value = f"Round {drill.rounds} of {cap} · {state} · {drill.run_id}"
        self.tree_view.value = render_html(drill.tree)
        for button in self.buttons:
            button.disabled = drill.finished
        if not keep_message:
            self.message.value = ""

    def _end_with_report(self) -> None:
        if not self.report:
            self._freeze()
            return
        if self.reporter is not None:
            return
        self.drill.close()  # release the run before a report reads it
        self.reporter = threading.Thread(target=self._build_report, daemon=True)
        self.reporter.start()

    def _build_report(self) -> None:
        from ..reporting import end_with_report
        lines = []
        self.report_path = end_with_report(self.drill.run_dir, warn=lines.append)
        if self.report_path:
            self._say(f"report: {self.report_path}")
        else:
            self._say(lines[0] if lines else "no report", error=True)
        self._freeze()

    def wait_report(self, timeout: float | None = None) -> Path | None:
        """Block until the report of a finished drill is built (headless use)."""
        if self.reporter is not None:
            self.reporter.join(timeout)
        return self.report_path

    def close(self) -> None:
        """Release the run (an unfinished drill is recorded as paused) and the widgets."""
        self.drill.close()
        self.box.close()

    def _say(self, text: str, error: bool = False) -> None:
        self.message.value = fragment(TEMPLATE, "message", text, error)
        self.message_text = text

    # ----- display --------------------------------------------------------

    def snapshot(self) -> tuple[str, str]:
        """(HTML, plain text) of what the widget shows now."""
        drill = self.drill
        message = getattr(self, "message_text", "") if self.message.value else ""
        question = drill.ask()
        asked = question.text if question is not None else _ended(drill)
        html = fragment(TEMPLATE, "snapshot", self.round_label.value, asked, question is not None,
                        safe(self.message.value) if message else "",
                        safe(render_html(drill.tree)))
        text = "\n".join([self.round_label.value, asked] + ([message] if message else []) +
                         ["", render_text(drill.tree)])
        return html, text

    def _ipython_display_(self) -> None:
        # shown after the end (and after its report): the snapshot alone
        self._show(self.drill.finished and (
            not self.report or (self.reporter is not None and not self.reporter.is_alive())))


def _ended(drill: Drill) -> str:
    if drill.tree.finished:
        return "Every branch reached bedrock. The drill is done."
    return f"The drill has ended: {drill.status} ({drill.exit_reason})."


def _open(claim_or_run, claim, run, root, options) -> Drill:
    if sum(x is not None for x in (claim_or_run, claim, run)) != 1:
        raise InputError("give DrillWidget one claim or one run id")
    if run is not None:
        return Drill.resume(run, root=root, **options)
    if claim is not None:
        return Drill.start(claim, root=root, **options)
    if _is_run(claim_or_run, root):
        return Drill.resume(claim_or_run, root=root, **options)
    return Drill.start(claim_or_run, root=root, **options)


def _is_run(text: str, root: Path | None) -> bool:
    """A string that names an existing run is a resume; anything else is a claim."""
    if "\n" in text or len(text) > 200:
        return False
    try:
        resolve_run(text, root)
    except DeeploopError:
        return False
    return True
