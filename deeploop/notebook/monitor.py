"""``ExperimentMonitor``: watch an experiment loop live in a notebook cell.

A view over an ``ExperimentJob`` (the loop in a background thread): a
progress bar, the val_bpb chart redrawn as each row arrives (the report's
own chart, as themed SVG), the experiment and hypothesis being tested, the
last result, and a Stop button that lets the running experiment finish and
then ends the run paused (resume it later). It only reads the loop's events
and files.

The cell never blocks widget events: ``start()`` returns at once, and
``await monitor`` waits without holding the kernel (ipykernel 7 dispatches
widget messages while an async cell awaits; on ipykernel 6 the wait
processes them itself with ``jupyter-ui-poll``), so Stop works while a cell
waits for the end. ``wait()`` is the synchronous form, for scripts and
papermill (on ipykernel 6 it handles clicks too; on 7 a synchronous cell
holds the kernel, so notebooks use ``await``). A KeyboardInterrupt (Kernel ▸
Interrupt) while waiting stops the loop, records the experiment in flight
as interrupted, and prints how to resume. The
final status is set once; a click queued behind it cannot change it. When
the run ends the output is replaced by a static snapshot of the end state
(``live.LiveDisplay``), which is what papermill, nbconvert and GitHub show.

Headless use (tests, scripts): ``start()``, ``wait()``, ``stop_button.click()``.
"""
from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Callable

from ..errors import require
from .job import ExperimentJob, open_experiment
from .live import LiveDisplay, SnapshotReprs, _kernel
from ..templating import fragment, safe

TEMPLATE = "monitor.html.j2"  # the widget's lines are its macros; its static view, the page


class ExperimentMonitor(SnapshotReprs):
    """``ExperimentMonitor("nov21", experiments=8, budget=30).start()``.

    Keyword arguments are the experiment's settings (experiments, budget,
    proposer, hours, min_delta, seed, ...); an existing tag is resumed.
    ``run_dir`` (``<root>/experiment/<tag>``) names the tag and root at once.
    ``report`` builds report.html when the loop ends. ``propose_with`` (a
    Proposer) and ``trainer`` replace the real ones, for tests.
    """

    def __init__(self, tag: str = "", *, root: Path | str | None = None,
                 run_dir: Path | str | None = None, data: str | None = None,
                 report: bool = True, propose_with=None, trainer=None, **settings):
        self._w = require("ipywidgets", "notebook")
        self.run, self.settings = open_experiment(tag, data=data or None, root=root,  # runs it
                                                  run_dir=run_dir, keep_lock=True, **settings)
        self.job = ExperimentJob(self.run, self.settings, proposer=propose_with, trainer=trainer,
                                 report=report, listeners=[self.update], warn=self._warn)
        self.best: float | None = None
        self.done = 0
        self.results_seen = 0
        self.clock = time.monotonic()
        self.state = "ready"       # ready -> running -> (stopping) -> ended, never back
        self.status_line = "not started"
        self.testing_line = ""
        self.last_result: dict | None = None
        self.chart_svg = ""
        self.interrupted = False
        self._lock = threading.RLock()
        self._callbacks: list[Callable] = []
        self._displays: list[LiveDisplay] = []
        self._build()
        self._load()

    @property
    def ended(self) -> bool:
        return self.state == "ended"

    # ----- layout ---------------------------------------------------------

    def _build(self) -> None:
        w, s = self._w, self.settings
        self.header = w.HTML(self._header())
        self.bar = w.IntProgress(min=0, max=max(s.experiments, 1), description="experiments",
                                 style={"description_width": "initial"})
        self.bar_label = w.Label()
        self.testing = w.HTML(fragment("parts.html.j2", "aside", "not started"))
        self.last = w.HTML()
        self.chart = w.HTML(self._no_chart(), layout=w.Layout(max_width="820px"))
        self.stop_button = w.Button(description="Stop", button_style="danger",
                                    tooltip="stop after the running experiment")
        self.stop_button.on_click(lambda _: self.stop())
        self.status = w.HTML()
        self.box = w.VBox([self.header, w.HBox([self.bar, self.bar_label]), self.testing,
                           self.chart, self.last, w.HBox([self.stop_button, self.status])])

    def _header(self) -> str:
        return fragment(TEMPLATE, "header", self.run.tag, self.settings.proposer, self._budget(),
                        self.run.path)

    def _budget(self) -> str:
        return f"{self.settings.budget:g} s" if self.settings.budget else "default"

    def _no_chart(self) -> str:
        return fragment(TEMPLATE, "no_chart")

    def _load(self) -> None:
        """Progress so far, from the files: a resumed tag starts where it was."""
        from ..events import read_events
        for event in read_events(self.run.events_path).events:
            if event.get("type") == "experiment_result":
                self._count(event)
        self._redraw()
        self._label()

    # ----- control ---------------------------------------------------------

    def start(self, wait: bool = False, timeout: float | None = None) -> "ExperimentMonitor":
        """Start the loop in its thread and show the monitor (in a notebook).

        ``wait=True`` then waits here, widgets still live (see ``wait``)."""
        with self._lock:
            self.clock = time.monotonic()
            self.results_seen = 0  # the time left is estimated from this invocation's pace
            self.state = "running"
            self._set_status("running")
            self.job.start()
        if _kernel() is not None and not self._displays:
            self._show(self.ended)
        if wait:
            self.wait(timeout)
        return self

    def stop(self) -> None:
        """Stop after the running experiment (the Stop button). Does nothing once ended."""
        with self._lock:
            if self.state != "running":
                return
            self.state = "stopping"
            self.job.stop()
            self.stop_button.disabled = True
            self._set_status("stopping after the running experiment…")

    def wait(self, timeout: float | None = None) -> dict | None:
        """The run's outcome once the loop and its report are done (None on timeout).

        Button clicks are handled while waiting. Kernel ▸ Interrupt stops the
        loop: the experiment in flight is recorded as interrupted, one line
        says how to resume, and the outcome (aborted) is returned."""
        try:
            finished = self._wait_for_job(timeout)
        except KeyboardInterrupt:
            return self._interrupt()
        if not finished:
            return None
        self._echo()
        if self.job.error is not None and not self.interrupted:
            raise self.job.error
        return self.job.outcome()

    def __await__(self):
        return self._wait_async().__await__()

    async def _wait_async(self) -> dict | None:
        ui = _ui_poll()
        try:
            if ui is None:
                while not self.job.finished.is_set():
                    await asyncio.sleep(0.2)
            else:
                async with ui() as poll:  # clicks are handled while this cell awaits
                    while not self.job.finished.is_set():
                        await poll(20)
                        await asyncio.sleep(0.1)
        except (KeyboardInterrupt, asyncio.CancelledError):
            return self._interrupt()
        return self.wait(0)

    def on_done(self, callback: Callable[[dict | None], None]) -> None:
        """Call ``callback(outcome)`` when the run ends (at once if it has)."""
        with self._lock:
            if not self.ended:
                self._callbacks.append(callback)
                return
        callback(self.job.outcome())

    @property
    def outcome(self) -> dict | None:
        """outcome.json once the run has ended, else None."""
        return self.job.outcome() if self.ended else None

    @property
    def report_path(self) -> Path | None:
        return self.job.report_path

    def _wait_for_job(self, timeout: float | None) -> bool:
        if self.job.thread is None:
            from ..errors import InputError
            raise InputError("the experiment was never started: call start() first")
        deadline = None if timeout is None else time.monotonic() + timeout
        ui = _ui_poll()
        if ui is None:
            while not self.job.finished.wait(0.2):
                if deadline is not None and time.monotonic() > deadline:
                    return False
            return True
        with ui() as poll:  # handle widget messages (Stop) while this cell waits
            while not self.job.finished.wait(0.1):
                poll(20)
                if deadline is not None and time.monotonic() > deadline:
                    return False
        return True

    def _echo(self) -> None:
        """The end state, sent again as the waiting cell (see LiveDisplay.echo)."""
        with self._lock:
            ended = self.ended
        if ended:
            for display in self._displays:
                display.echo()

    def _interrupt(self) -> dict | None:
        """Kernel ▸ Interrupt: abort the loop, wait for it to record, say how to resume."""
        self.interrupted = True
        self.job.interrupt()
        self._echo()
        tag = self.run.tag
        outcome = self.job.outcome() or {}
        in_flight = self._in_flight()
        what = f"experiment {in_flight} recorded as interrupted" if in_flight else \
            "no experiment was in flight"
        print(f"interrupted: {what}; the run is {outcome.get('status', 'aborted')}. Resume with "
              f"ExperimentMonitor({tag!r}, ...).start() or `deeploop experiment run {tag} "
              f"--resume`.")
        return outcome or None

    def _in_flight(self) -> int | None:
        from ..events import read_events
        for event in reversed(read_events(self.run.events_path).events):
            if event.get("type") == "experiment_interrupted":
                return event.get("round")
            if event.get("type") == "experiment_result":
                return None
        return None

    # ----- events ----------------------------------------------------------

    def update(self, event: dict) -> None:
        kind, n = event.get("type"), event.get("experiment", event.get("round"))
        with self._lock:
            if self.ended:
                return  # the final view is set once
            if kind == "experiment_started":
                what = "measuring the baseline" if event.get("kind") == "baseline" else "proposing…"
                self._set_testing(f"Experiment {n}: {what}")
            elif kind == "experiment_committed":
                self._set_testing(f"Experiment {n} tests: {self._hypothesis(event)}")
            elif kind == "experiment_result":
                self._count(event)
                self._set_last(event)
                self._redraw()
            elif kind == "meta_analysis":
                self._set_testing(f"Meta-analysis M{event.get('analysis', '?')}: "
                                  f"{len(event.get('hypotheses') or [])} new hypotheses")
                self._redraw()
            elif kind == "stop_requested":
                self._set_status(f"stopping after experiment {event.get('after_experiment')}")
            elif kind == "job_finished":
                self._finished(event)
                return
            self._label()
        if kind in ("experiment_result", "meta_analysis"):
            self._refresh_displays()

    def _count(self, event: dict) -> None:
        self.results_seen += 1
        trained = event.get("status") in ("keep", "discard", "crash")  # --experiments counts these
        if trained and event.get("kind") != "baseline":
            self.done += 1
        val = event.get("val_bpb")
        if event.get("status") == "keep" and isinstance(val, (int, float)) and val > 0:
            self.best = val if self.best is None else min(self.best, val)
        self.bar.value = min(self.done, self.bar.max)

    def _label(self) -> None:
        from ..experiment.status import time_left
        from .viewkit import clock
        left = time_left(self.results_seen, self.settings.experiments - self.done,
                         time.monotonic() - self.clock, self.settings.hours)
        best = f"{self.best:.6f}" if self.best else "–"
        running = self.job.running and not self.ended
        self.bar_label.value = (f"{self.done} / {self.settings.experiments} · best val_bpb "
                                f"{best} · left {clock(left) if running else '–'}")

    def _hypothesis(self, event: dict) -> str:
        description = str(event.get("description") or "")
        hyp = event.get("hypothesis")
        if not isinstance(hyp, dict):
            return f"{description} (the proposer's own idea)"
        name = hyp.get("id") or f"hypothesis {hyp.get('rank', '?')}"
        text = hyp.get("change") or hyp.get("text") or ""
        return f"{description} · {name}: {str(text)[:160]}"

    def _set_testing(self, text: str) -> None:
        self.testing_line = text
        self.testing.value = fragment(TEMPLATE, "line", text)

    def _set_last(self, event: dict) -> None:
        val = event.get("val_bpb")
        self.last_result = {
            "round": event.get("experiment", event.get("round")), "status": str(event.get("status")),
            "score": f"{val:.6f}" if isinstance(val, (int, float)) and val else "–",
            "description": str(event.get("description") or "")}
        self.last.value = fragment(TEMPLATE, "last_result", self.last_result)

    def _set_status(self, text: str, report: str = "") -> None:
        self.status_line = text
        word = {"running": "running", "stopping": "stopping"}.get(self.state, "")
        word = word or (text.split(":")[0] if self.ended else self.state)
        self.status.value = fragment(TEMPLATE, "status", word, text, report,
                                     _file_url(report) if report else "", True)

    def _finished(self, event: dict) -> None:
        self.state = "ended"
        self.stop_button.disabled = True
        self.testing_line = ""
        self.testing.value = ""
        outcome = self.job.outcome() or {}
        line = f"{outcome.get('status', 'ended')}: {outcome.get('exit_reason', '')}"
        if self.job.error is not None and not isinstance(self.job.error, KeyboardInterrupt):
            line = f"failed: {type(self.job.error).__name__}: {self.job.error}"
        self.report_shown = event.get("report") or ""
        self._set_status(line, self.report_shown)
        self._label()
        self._freeze()
        for callback in self._callbacks:
            try:
                callback(outcome or None)
            except Exception as exc:  # a user's callback must not hide the end state
                self._warn(f"deeploop: warning: an on_done callback failed: {exc}")

    def _redraw(self) -> None:
        from ..events import read_events
        from ..experiment.results import read_results
        from .progress import meta_timeline
        results = read_results(self.run.results_path)
        if results.rows:
            analyses = meta_timeline(read_events(self.run.events_path).events)
            self.chart_svg = chart_svg(results, analyses)
            self.chart.value = self.chart_svg

    def _warn(self, line: str) -> None:
        if not self.ended:
            self.status_line = line
            self.status.value = fragment(TEMPLATE, "line", line)

    # ----- display ---------------------------------------------------------

    def snapshot(self) -> tuple[str, str]:
        """(HTML, plain text) of what the monitor shows now."""
        report = getattr(self, "report_shown", "")
        word = self.state if not self.ended else self.status_line.split(":")[0]
        percent = round(100 * min(self.done, self.bar.max) / max(self.bar.max, 1))
        html = fragment(TEMPLATE, "snapshot", tag=self.run.tag, proposer=self.settings.proposer,
                      budget=self._budget(), path=str(self.run.path), state=word,
                      status_line=self.status_line, report=report,
                      report_href=_file_url(report) if report else "", percent=percent,
                      label=self.bar_label.value, testing=self.testing_line,
                      chart=safe(self.chart_svg) if self.chart_svg else "",
                      last=self.last_result)
        lines = [f"Experiment {self.run.tag} ({self.run.path})", f"status: {self.status_line}",
                 self.bar_label.value]
        if self.last_result:
            last = self.last_result
            lines.append(f"last: experiment {last['round']} {last['status']} val_bpb "
                         f"{last['score']} {last['description']}")
        if report:
            lines.append(f"report: {report}")
        return html, "\n".join(lines)

    def _ipython_display_(self) -> None:
        kernel = _kernel()
        current = kernel.get_parent() if kernel is not None else None
        if any(d.parent is not None and d.parent == current for d in self._displays):
            return  # start() already showed it in this cell
        self._show(self.ended)


def _ui_poll():
    """jupyter-ui-poll's ``ui_events`` in a kernel it can drive, else None.

    It pumps the kernel with ``do_one_iteration``, which ipykernel 7 no longer
    has (there it would poll nothing); ipykernel 7 instead dispatches widget
    messages while an async cell awaits, which ``await monitor`` relies on."""
    kernel = _kernel()
    if kernel is None or not hasattr(kernel, "do_one_iteration"):
        return None
    try:
        from jupyter_ui_poll import ui_events
    except ImportError:
        return None
    return ui_events


def _file_url(path: str) -> str:
    from pathlib import Path as P
    try:
        return P(path).resolve().as_uri()
    except ValueError:
        return path


def chart_svg(results, analyses=()) -> str:
    """The report's progress chart as themed inline SVG (no pyplot state, so the
    loop's thread can draw while the notebook does other things)."""
    from .charts import new_figure, to_svg
    from .views_experiment import draw_progress
    fig, axes = new_figure(8.5, 3.6)
    draw_progress(axes[0][0], results, analyses)
    return to_svg(fig, "val_bpb per experiment")
