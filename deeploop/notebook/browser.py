"""``RunBrowser``: pick a run, read its report inline.

Lists the runs under the runs root (every node, newest first). Picking one
shows its ``report.html`` in the cell, in a sandboxed ``<iframe srcdoc>``
so the page's own styles stay inside it; a run without a report gets one
built first (in a thread, so the notebook stays responsive), and the
Rebuild button builds it again from the run's files. Headless use: set
``runs.value`` to a run folder's path, ``wait()`` for a build, read
``report_view.value``.
"""
from __future__ import annotations

import threading
from html import escape
from pathlib import Path
from typing import Callable

from ..errors import require
from ..runs import list_runs, runs_root

FRAME = ('<iframe sandbox="" style="width: 100%; height: {height}px; border: 1px solid '
         '#d1d5db" srcdoc="{page}"></iframe>')


def run_label(record) -> str:
    score = record.final_score
    score = f"{score:g}" if isinstance(score, (int, float)) else "–" if score is None else score
    report = " · report" if (record.path / "report.html").is_file() else ""
    return (f"{record.node} / {record.run_id} · {record.status} · score {score} · "
            f"{record.started or '?'}{report}")


class RunBrowser:
    """``RunBrowser()`` for the runs root, ``RunBrowser(node="deeper")`` for one node."""

    def __init__(self, root: Path | str | None = None, node: str | None = None, *,
                 height: int = 640, builder: Callable | None = None):
        self._w = require("ipywidgets", "notebook")
        self.root, self.node, self.height = Path(root) if root else runs_root(), node, height
        self.builder = builder
        self.worker: threading.Thread | None = None
        self._listing = False
        self._build()
        self.refresh()

    def _build(self) -> None:
        w = self._w
        self.runs = w.Dropdown(description="Run", layout=w.Layout(width="95%"))
        self.refresh_button = w.Button(description="Refresh", tooltip="list the runs again")
        self.rebuild_button = w.Button(description="Rebuild report",
                                       tooltip="execute the report again from the run's files")
        self.message = w.HTML()
        self.report_view = w.HTML()
        self.runs.observe(self._picked, names="value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.rebuild_button.on_click(lambda _: self.show(self.runs.value, rebuild=True))
        self.box = w.VBox([self.runs, w.HBox([self.refresh_button, self.rebuild_button]),
                           self.message, self.report_view])

    def refresh(self) -> None:
        """List the runs again (newest first), keeping the current pick if it is still there."""
        records = list(reversed(list_runs(self.node, self.root)))
        current = self.runs.value
        options = [(run_label(r), str(r.path)) for r in records]
        self._listing = True  # listing is not picking
        try:
            self.runs.options = options
            self.runs.value = current if current in dict(options).values() else None
        finally:
            self._listing = False
        if not options:
            self.message.value = f"<i>No runs under {escape(str(self.root))} yet.</i>"

    def _picked(self, change) -> None:
        if not self._listing:
            self.show(change["new"])

    def show(self, run_dir: str | None, rebuild: bool = False) -> None:
        """Show the run's report, building it first if it has none (or ``rebuild``)."""
        if not run_dir:
            self.report_view.value = ""
            return
        page = Path(run_dir) / "report.html"
        if page.is_file() and not rebuild:
            self._display(page)
            return
        if self.worker is not None and self.worker.is_alive():
            self.message.value = "<i>a report is being built; try again when it is done</i>"
            return
        self.message.value = f"building the report of <code>{escape(run_dir)}</code>…"
        self.report_view.value = ""
        self.worker = threading.Thread(target=self._build_report, args=(run_dir,), daemon=True)
        self.worker.start()

    def wait(self, timeout: float | None = None) -> None:
        """Block until a report being built is done (headless use)."""
        if self.worker is not None:
            self.worker.join(timeout)

    def _build_report(self, run_dir: str) -> None:
        try:
            builder = self.builder
            if builder is None:
                from .report import build_report as builder
            page = Path(builder(run_dir).html)
        except Exception as exc:  # shown in the widget: one bad run must not break browsing
            line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.message.value = f'<span style="color: #b91c1c">no report: {escape(line)}</span>'
            return
        if self.runs.value == run_dir:  # still the one picked
            self._display(page)

    def _display(self, page: Path) -> None:
        self.message.value = f"<code>{escape(str(page))}</code>"
        text = page.read_text(encoding="utf-8", errors="replace")
        self.report_view.value = FRAME.format(height=self.height, page=escape(text, quote=True))

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)
