"""Notebooks: headless sessions, batches and executed reports; the widgets.

- ``parameters``: a notebook's ``parameters`` cell, and checking given values.
- ``session``: ``run_session`` executes one notebook into a run folder
  (``kernel``: private ipc kernels; ``failures``: why a notebook stopped).
- ``grid`` / ``batch`` / ``index``: a batch file, ``run_batch`` over any
  Executor, and the batch's ``index.html``.
- ``report``: ``build_report`` executes a report template for a run or a
  results file (``html``: offline export). What the template shows:
  ``views`` (one call per cell, by run kind) over ``views_experiment``
  (with the pure ``progress``), ``views_node`` and ``views_drill``.
- ``headline``: ``record_headline``, called inside a notebook.
- Widgets, imported on first use: ``ExperimentMonitor`` (``monitor``, over
  ``job.ExperimentJob``, the experiment loop in a thread) and ``RunBrowser``
  (``browser``), and ``DrillWidget`` (``drill_widget``: a drill one question
  at a time).

Importing this package stays cheap (a kernel imports it to record its
headline); papermill, ipywidgets and friends load only when used. It installs
what the core shows and ends runs with, as the core never imports this
package: the run-list tables (``runlist``) and the report builder
(``report.build_report``, which ``deeploop.reporting.end_with_report`` calls).
"""
from importlib import import_module

from ..reporting import use_report_builder
from ..runs import show_runs_with
from . import runlist
from .headline import HEADLINE_MIME, record_headline


def _build_report(run_dir):
    """``report.build_report(run_dir)``, imported when a run ends: importing it
    here would cost every kernel that records a headline about 35-50 ms
    (asyncio, filelock: 101 -> 137 ms for this package, best of 15, load 2.8,
    December 2026)."""
    from .report import build_report as build
    return build(run_dir)


show_runs_with(runlist.runs_html, runlist.runs_text)
use_report_builder(_build_report)

__all__ = ["DrillWidget", "ExperimentMonitor", "HEADLINE_MIME", "RunBrowser", "record_headline"]

_WIDGETS = {"ExperimentMonitor": "monitor", "DrillWidget": "drill_widget", "RunBrowser": "browser"}


def __getattr__(name):
    if name in _WIDGETS:  # lazy: only a notebook needs ipywidgets
        return getattr(import_module(f"{__name__}.{_WIDGETS[name]}"), name)
    raise AttributeError(f"module 'deeploop.notebook' has no attribute {name!r}")
