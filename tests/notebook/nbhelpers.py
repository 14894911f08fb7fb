"""Helpers for the notebook tests (a unique module name: other test folders
have their own conftest.py, so tests never import from conftest)."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

DATA = Path(__file__).with_name("data")
REPO = Path(__file__).resolve().parents[2]
# Recorded runs of the reference systems live beside the checkout, never in it.
FIXTURES = REPO.parent / "shared" / "fixtures"
COMMIT_MSG = FIXTURES / "deeper-legacy" / "commit-msg"


def fixture_run(name: str | None = None) -> Path:
    runs = sorted(p for p in COMMIT_MSG.iterdir() if p.is_dir()) if COMMIT_MSG.is_dir() else []
    assert runs, f"recorded runs missing: {COMMIT_MSG} (they live beside the checkout)"
    return COMMIT_MSG / name if name else runs[0]


def copy_run(src: Path, dest_root: Path) -> Path:
    """A writable copy of a recorded run (reports are written into the run folder)."""
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
