"""Headless notebooks: papermill sessions, batches and executed reports.

- ``parameters``: a notebook's ``parameters`` cell, and checking given values.
- ``session``: ``run_session`` executes one notebook into a run folder.
- ``batch``: ``run_batch`` runs a grid of sessions on any Executor.
- ``report``: ``build_report`` executes the report template for a run.
- ``headline``: ``record_headline``, called inside a notebook.

Importing this package stays cheap (a kernel imports it to record its
headline); papermill and friends load only when a session starts.
"""
from .headline import HEADLINE_MIME, record_headline

__all__ = ["HEADLINE_MIME", "record_headline"]
