"""Headless notebooks: papermill sessions, batches and executed reports.

- ``parameters``: a notebook's ``parameters`` cell, and checking given values.
- ``session``: ``run_session`` executes one notebook into a run folder
  (``kernel``: private ipc kernels; ``failures``: why a notebook stopped).
- ``grid`` / ``batch`` / ``index``: a batch file, ``run_batch`` over any
  Executor, and the batch's ``index.html``.
- ``report``: ``build_report`` executes a report template for a run or a
  results file (``views``: what the template shows; ``html``: offline export).
- ``headline``: ``record_headline``, called inside a notebook.

Importing this package stays cheap (a kernel imports it to record its
headline); papermill and friends load only when a session starts.
"""
from .headline import HEADLINE_MIME, record_headline

__all__ = ["HEADLINE_MIME", "record_headline"]
