"""A batch's ``index.html``: one row per session, read from the session files.

Rows come from each session's ``session.json`` (files are the truth), so the
index of a re-run shows sessions done on an earlier night as well. Links are
relative, so the batch folder can be copied or served as it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..events import now_iso
from ..fileio import atomic_write_text
from .grid import Grid
from .headline import format_value
from .session import SESSION_NOTEBOOK, read_status
from ..templating import render

INDEX_FILE = "index.html"
PENDING = "pending"
# Best first: the run's own report, else the executed session notebook.
_LINK_TARGETS = ("report.html", "session.html", SESSION_NOTEBOOK)


@dataclass
class Row:
    sid: str
    varying: dict
    status: str
    headline: dict | None
    seconds: float | None
    error: str | None
    link: str | None


def collect_rows(grid: Grid) -> list[Row]:
    rows = []
    for spec in grid.sessions:
        folder = grid.session_dir(spec)
        status = read_status(folder / SESSION_NOTEBOOK) or {}
        link = next((f"{grid.node}/{spec.sid}/{name}" for name in _LINK_TARGETS
                     if (folder / name).exists()), None)
        rows.append(Row(spec.sid, spec.varying, status.get("status", PENDING),
                        status.get("headline"), status.get("seconds"), status.get("error"), link))
    return rows


def write_index(grid: Grid, rows: list[Row] | None = None) -> Path:
    rows = collect_rows(grid) if rows is None else rows
    path = grid.out / INDEX_FILE
    atomic_write_text(path, render_index(grid, rows))
    return path


def count_states(rows: list[Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def render_index(grid: Grid, rows: list[Row]) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in sorted(count_states(rows).items()))
    return render("index.html.j2", name=grid.name, notebook=grid.notebook.name, rows=rows,
                  counts=counts, updated=now_iso(), format_value=format_value) + "\n"
