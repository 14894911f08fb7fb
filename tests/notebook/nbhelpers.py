"""Helpers for the notebook tests (a unique module name: other test folders
have their own conftest.py, so tests never import from conftest)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat

from tests.helpers import OWN_NODE_RUNS, REPO  # noqa: F401

DATA = Path(__file__).with_name("data")
# The project's own commit-msg runs (tests/fixtures/README.md), in start order: two
# meta-loop sessions, scores 0.25, 0.25, 0.75, 0.75 | 1.0, 1.0.
NODE_RUNS = [OWN_NODE_RUNS / f"commit-msg-20261203T{stamp}" for stamp in (
    "190508Z-6a5f00", "190508Z-ea0bd9", "190508Z-b05b64", "190508Z-623910",
    "190509Z-5a3fab", "190509Z-333ebc")]

# src=/href= pointing at the network, url(http...) in CSS, or a JS module import.
_EXTERNAL = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:\bimport\s[^;]*?from\s*["'](?:https?:)?//)""", re.IGNORECASE)


def external_links(html: str) -> list[str]:
    """Places where a page would fetch something from the network."""
    return [m.group(0) for m in _EXTERNAL.finditer(html)]


def fixture_run(name: str | None = None) -> Path:
    """One of the project's own node runs (read it; copy_run it before writing)."""
    run = OWN_NODE_RUNS / name if name else NODE_RUNS[0]
    assert run.is_dir(), f"fixture run missing: {run}"
    return run


def copy_run(src: Path, dest_root: Path) -> Path:
    """A writable copy of a fixture run (reports are written into the run folder)."""
    dest = dest_root / src.parent.name / src.name
    shutil.copytree(src, dest)
    return dest


def outputs_text(nb_path: Path) -> str:
    """Every stream and text/plain output of an executed notebook, joined."""
    nb = nbformat.read(str(nb_path), as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def make_notebook(path: Path, cells: list[str], params: str | None = None,
                  tags: dict[int, list[str]] | None = None) -> Path:
    """A small notebook: an optional parameters cell, then code cells."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                              "language": "python"}
    if params is not None:
        cell = nbformat.v4.new_code_cell(params)
        cell.metadata.tags = ["parameters"]
        nb.cells.append(cell)
    for i, source in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata.tags = (tags or {}).get(i, [])
        nb.cells.append(cell)
    nbformat.write(nb, str(path))
    return path


def printed_json(nb_path: Path) -> list[dict]:
    """The JSON objects a notebook printed, one per stdout line, in order."""
    import json
    return [json.loads(line) for line in outputs_text(nb_path).splitlines()
            if line.startswith("{")]
