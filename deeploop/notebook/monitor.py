"""``ExperimentMonitor``: watch an experiment loop live in a notebook cell.

A view over an ``ExperimentJob`` (the loop in a background thread): a
progress bar, the val_bpb chart redrawn as each row arrives (the report's
own chart), the experiment and hypothesis being tested, the last result,
and a Stop button that lets the running experiment finish and then ends the
run paused (resume it later). It only reads the loop's events and files.
Headless use (tests, scripts): ``start()``, ``wait()``, ``stop_button.click()``.
"""
from __future__ import annotations

import io
import time
from html import escape
from pathlib import Path

from ..errors import require
from .job import ExperimentJob, open_experiment


class ExperimentMonitor:
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
        self.run, self.settings = open_experiment(tag, data=data or None, root=root,
                                                  run_dir=run_dir, **settings)
        self.job = ExperimentJob(self.run, self.settings, proposer=propose_with, trainer=trainer,
                                 report=report, listeners=[self.update], warn=self._warn)
        self.best: float | None = None
        self.done = 0
        self.results_seen = 0
        self.clock = time.monotonic()
        self.ended = False
        self._build()
        self._load()

    # ----- layout ---------------------------------------------------------

    def _build(self) -> None:
        w, s = self._w, self.settings
        budget = f"{s.budget:g} s" if s.budget else "default"
        self.header = w.HTML(f"<b>Experiment {escape(self.run.tag)}</b> · proposer "
                             f"<code>{escape(s.proposer)}</code> · training budget {budget} · "
                             f"<code>{escape(str(self.run.path))}</code>")
        self.bar = w.IntProgress(min=0, max=max(s.experiments, 1), description="experiments",
                                 style={"description_width": "initial"})
        self.bar_label = w.Label()
        self.testing = w.HTML("<i>not started</i>")
        self.last = w.HTML()
        self.chart = w.Image(format="png", layout=w.Layout(max_width="760px"))
        self.stop_button = w.Button(description="Stop", button_style="danger",
                                    tooltip="stop after the running experiment")
        self.stop_button.on_click(lambda _: self.stop())
        self.status = w.HTML()
        self.box = w.VBox([self.header, w.HBox([self.bar, self.bar_label]), self.testing,
                           self.chart, self.last, w.HBox([self.stop_button, self.status])])

    def _load(self) -> None:
        """Progress so far, from the files: a resumed tag starts where it was."""
        from ..events import read_events
        for event in read_events(self.run.events_path).events:
            if event.get("type") == "experiment_result":
                self._count(event)
        self._redraw()
        self._label()

    # ----- control ---------------------------------------------------------

    def start(self) -> "ExperimentMonitor":
        self.clock = time.monotonic()
        self.results_seen = 0  # the time left is estimated from this invocation's pace
        self.status.value = "running"
        self.job.start()
        return self

    def wait(self, timeout: float | None = None) -> dict | None:
        """Block until the loop and its report are done; the run's outcome."""
        return self.job.wait(timeout)

    def stop(self) -> None:
        self.job.stop()
        self.stop_button.disabled = True
        self.status.value = "<i>stopping after the running experiment…</i>"

    @property
    def report_path(self) -> Path | None:
        return self.job.report_path

    # ----- events ----------------------------------------------------------

    def update(self, event: dict) -> None:
        kind, n = event.get("type"), event.get("round")
        if kind == "experiment_started":
            what = "measuring the baseline" if event.get("kind") == "baseline" else "proposing…"
            self.testing.value = f"Experiment {n}: {what}"
        elif kind == "experiment_committed":
            self.testing.value = f"Experiment {n} tests: {self._hypothesis(event)}"
        elif kind == "experiment_result":
            self._count(event)
            self.last.value = _result_line(event)
            self._redraw()
        elif kind == "meta_analysis":
            self.testing.value = (f"Meta-analysis M{event.get('analysis', '?')}: "
                                  f"{len(event.get('hypotheses') or [])} new hypotheses")
            self._redraw()
        elif kind == "stop_requested":
            self.status.value = f"stopped after experiment {event.get('after_experiment')}"
        elif kind == "job_finished":
            self._finished(event)
        self._label()

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
        description = escape(str(event.get("description") or ""))
        hyp = event.get("hypothesis")
        if not isinstance(hyp, dict):
            return f"<b>{description}</b> (the proposer's own idea)"
        name = hyp.get("id") or f"hypothesis {hyp.get('rank', '?')}"
        text = hyp.get("change") or hyp.get("text") or ""
        return f"<b>{description}</b> · {escape(str(name))}: {escape(str(text)[:160])}"

    def _finished(self, event: dict) -> None:
        self.ended = True
        self.stop_button.disabled = True
        self.testing.value = ""
        outcome = self.job.outcome() or {}
        line = f"{outcome.get('status', 'ended')}: {outcome.get('exit_reason', '')}"
        if self.job.error is not None:
            line = f"failed: {type(self.job.error).__name__}: {self.job.error}"
        report = f" · report <code>{escape(event['report'])}</code>" if event.get("report") else ""
        self.status.value = escape(line) + report

    def _redraw(self) -> None:
        from ..events import read_events
        from ..experiment.results import read_results
        from .progress import meta_timeline
        results = read_results(self.run.results_path)
        if results.rows:
            analyses = meta_timeline(read_events(self.run.events_path).events)
            self.chart.value = chart_png(results, analyses)

    def _warn(self, line: str) -> None:
        self.status.value = escape(line)

    # ----- display ---------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)


def chart_png(results, analyses=(), dpi: int = 80) -> bytes:
    """The report's progress chart as PNG bytes. Uses no pyplot state, so the
    loop's thread can draw while the notebook does other things."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from .views_experiment import draw_progress
    fig = Figure(figsize=(8.5, 3.6))
    FigureCanvasAgg(fig)
    draw_progress(fig.subplots(), results, analyses)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _result_line(event: dict) -> str:
    val = event.get("val_bpb")
    score = f"{val:.6f}" if isinstance(val, (int, float)) and val else "–"
    status = str(event.get("status"))
    colour = {"keep": "#166534", "discard": "#6b7280", "crash": "#b91c1c"}.get(status, "#92400e")
    return (f'Experiment {event.get("round")}: <b style="color: {colour}">{escape(status)}</b> '
            f"val_bpb {score} · {escape(str(event.get('description') or ''))}")
