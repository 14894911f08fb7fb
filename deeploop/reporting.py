"""Every run ends with a report: the one call the loops make when they finish.

``end_with_report(run_dir)`` executes the report template against the run
folder with the builder the top layer installed: importing
``deeploop.notebook`` installs ``deeploop.notebook.report.build_report``
(``use_report_builder``), and the CLI imports it before running a command,
so the core never imports the notebook package and needs no Jupyter. The
run is already recorded when this runs: a report that cannot be built (no
builder installed, no papermill, no kernel, a failing cell) is one warning
line, never an error, and never touches the run's own files. Library calls
leave it off by default (tests and benches need no kernel); the CLI and the
example notebooks turn it on.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

# run_dir -> an object whose .html is the page written; installed by use_report_builder
report_builder: Callable | None = None


def use_report_builder(build: Callable) -> None:
    """Install the default builder ``end_with_report`` calls (the notebook layer's)."""
    global report_builder
    report_builder = build


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def end_with_report(run_dir: Path | str, *, enabled: bool = True,
                    warn: Callable[[str], None] = _stderr,
                    build: Callable | None = None) -> Path | None:
    """Build ``report.ipynb`` and ``report.html`` in ``run_dir`` with ``build``
    (default: the installed builder); return the HTML's path, or None when
    disabled or when building failed (warned)."""
    if not enabled:
        return None
    try:
        build = build or report_builder
        if build is None:
            raise LookupError("no report builder installed (import deeploop.notebook)")
        return Path(build(run_dir).html)
    except Exception as exc:  # the run is safe on disk whatever went wrong here
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        warn(f"deeploop: warning: no report for {run_dir}: {message}")
        return None
