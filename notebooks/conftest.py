"""nbval checks the example notebooks as part of ``make test``.

Each notebook runs with its own defaults in a fresh kernel whose working
folder is ``notebooks/``; here we give those kernels a private runs root
(never the repository's ``runs/``), matplotlib's Agg backend, and the
sanitizing rules for outputs that change from run to run.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
_made: list[str] = []


def pytest_configure(config) -> None:
    option = config.option
    if getattr(option, "nbval_sanitize_with", "unset") is None:
        option.nbval_sanitize_with = str(HERE / "nbval_sanitize.cfg")
    if getattr(option, "nbval_cell_timeout", None) in (None, 2000):
        option.nbval_cell_timeout = 600  # a loaded 2-core machine; still bounded
    root = tempfile.mkdtemp(prefix="deeploop-nbval-")
    _made.append(root)
    os.environ["DEEPLOOP_RUNS"] = root  # kernels inherit it when nbval starts them
    os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_unconfigure(config) -> None:
    for root in _made:
        shutil.rmtree(root, ignore_errors=True)
