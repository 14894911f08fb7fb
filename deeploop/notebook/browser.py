"""``RunBrowser``: find runs, read a report inline, compare runs side by side.

Lists the runs under the runs root and in its batch folders as a table
(``runlist``), filtered by words, kind and status and sorted as chosen.
Picking one shows its ``report.html`` in the cell, in a sandboxed
``<iframe srcdoc>`` so the page's own styles stay inside it; a run without
a report gets one built first (in a thread, so the notebook stays
responsive), and the Rebuild button builds it again from the run's files.
Choosing two or more runs under Compare draws their progress on one axis
and lists the settings that differ. Headless use: set ``runs.value`` to a
run folder's path, ``wait()`` for a build, read ``report_view.value``;
``compare_runs.value = (path, path)`` and ``compare_button.click()``.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from ..errors import require
from ..runs import runs_root
from ..templating import fragment

TEMPLATE, PARTS = "browser.html.j2", "parts.html.j2"


def run_label(record, batch: str = "") -> str:
    score = record.final_score
    score = f"{score:g}" if isinstance(score, (int, float)) else "–" if score is None else score
    report = " · report" if (record.path / "report.html").is_file() else ""
    where = f" · batch {batch}" if batch else ""
    return (f"{record.node} / {record.run_id} · {record.status} · score {score} · "
            f"{record.started or '?'}{report}{where}")


class RunBrowser:
    """``RunBrowser()`` for the runs root, ``RunBrowser(node="deeper")`` for one node."""

    def __init__(self, root: Path | str | None = None, node: str | None = None, *,
                 height: int = 640, builder: Callable | None = None, batches: bool = True):
        self._w = require("ipywidgets", "notebook")
        self.root, self.node, self.height = Path(root) if root else runs_root(), node, height
        self.builder = builder
        self.worker: threading.Thread | None = None
        self._listing = False
        self.records: dict[str, tuple] = {}  # path -> (record, batch)
        self._build(batches)
        self.refresh()

    def _build(self, batches: bool) -> None:
        w = self._w
        from .runlist import SORTS
        self.filter_text = w.Text(placeholder="words in the run id, node or batch",
                                  description="Find", layout=w.Layout(width="40%"))
        self.kind = w.Dropdown(options=[("any kind", "")], description="Kind")
        self.state = w.Dropdown(options=[("any status", "")], description="Status")
        self.sort = w.Dropdown(options=list(SORTS), value="newest first", description="Sort")
        self.batches = w.Checkbox(value=batches, description="batch folders", indent=False)
        self.listing = w.HTML()
        self.compare_runs = w.SelectMultiple(description="Compare", rows=5,
                                             layout=w.Layout(width="95%"))
        self.compare_button = w.Button(description="Compare",
                                       tooltip="progress on one axis, settings that differ")
        self.compare_view = w.HTML()
        for control in (self.filter_text, self.kind, self.state, self.sort, self.batches):
            control.observe(lambda _: self.refresh(), names="value")
        self.compare_button.on_click(lambda _: self.compare())
        self.runs = w.Dropdown(description="Run", layout=w.Layout(width="95%"))
        self.refresh_button = w.Button(description="Refresh", tooltip="list the runs again")
        self.rebuild_button = w.Button(description="Rebuild report",
                                       tooltip="execute the report again from the run's files")
        self.message = w.HTML()
        self.report_view = w.HTML()
        self.runs.observe(self._picked, names="value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.rebuild_button.on_click(lambda _: self.show(self.runs.value, rebuild=True))
        self.box = w.VBox([
            w.HBox([self.filter_text, self.kind, self.state]), w.HBox([self.sort, self.batches]),
            self.listing, self.runs, w.HBox([self.refresh_button, self.rebuild_button]),
            self.message, self.report_view,
            w.HBox([self.compare_runs, self.compare_button]), self.compare_view])

    def refresh(self) -> None:
        """List the runs again (filtered and sorted as chosen), keeping the
        current pick if it is still there."""
        from .runlist import find_runs, html_table, row, select
        found = find_runs(self.root, self.node, batches=self.batches.value)
        self.records = {str(r.path): (r, batch) for r, batch in found}
        rows = [row(r, batch) for r, batch in found]
        self._choices(rows)
        shown = select(rows, self.filter_text.value, self.kind.value, self.state.value,
                       self.sort.value)
        self.listing.value = html_table(shown) if rows else ""
        current, chosen = self.runs.value, self.compare_runs.value
        options = [(run_label(self.records[str(r.path)][0], r.batch), str(r.path)) for r in shown]
        paths = dict(options).values()
        self._listing = True  # listing is not picking
        try:
            self.runs.options = options
            self.runs.value = current if current in paths else None
            self.compare_runs.options = options
            self.compare_runs.value = tuple(p for p in chosen if p in paths)
        finally:
            self._listing = False
        if not rows:
            self.message.value = fragment(PARTS, "aside", f"No runs under {self.root} yet.")

    def _choices(self, rows) -> None:
        """Kinds and statuses that occur, for the filters (the choice kept)."""
        self._listing = True
        try:
            for control, values, every in ((self.kind, {r.kind for r in rows}, "any kind"),
                                           (self.state, {r.status for r in rows}, "any status")):
                value = control.value
                control.options = [(every, "")] + [(v, v) for v in sorted(values)]
                control.value = value if value in values else ""
        finally:
            self._listing = False

    def compare(self) -> None:
        """Compare the runs chosen under Compare (two or more)."""
        from .runlist import compare
        chosen = [self.records[p][0] for p in self.compare_runs.value if p in self.records]
        if len(chosen) < 2:
            self.compare_view.value = fragment(PARTS, "aside",
                                               "Choose two or more runs to compare.")
            return
        try:
            self.compare_view.value = compare(chosen)._repr_html_()
        except Exception as exc:  # shown in the widget: one bad run must not break browsing
            self.compare_view.value = fragment(PARTS, "aside", f"cannot compare: {exc}")

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
            self.message.value = fragment(PARTS, "aside", "a report is being built; try "
                                          "again when it is done")
            return
        self.message.value = fragment(TEMPLATE, "building", run_dir)
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
            self.message.value = fragment(TEMPLATE, "no_report", line)
            return
        if self.runs.value == run_dir:  # still the one picked
            self._display(page)

    def _display(self, page: Path) -> None:
        self.message.value = fragment(TEMPLATE, "page_path", page)
        text = page.read_text(encoding="utf-8", errors="replace")
        self.report_view.value = fragment(TEMPLATE, "frame", self.height, text)

    def _repr_mimebundle_(self, **kwargs):
        """The widget, with the run table as its static view (exported notebooks)."""
        from .runlist import row, text_table
        bundle = self.box._repr_mimebundle_(**kwargs)
        bundle = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        rows = [row(r, b) for r, b in self.records.values()]
        bundle.update({"text/html": self.listing.value or fragment(PARTS, "aside", "No runs."),
                       "text/plain": text_table(rows) or "(no runs)"})
        return bundle
