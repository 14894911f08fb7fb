"""A batch's ``index.html``: one row per session, read from the session files.

Rows come from each session's ``session.json`` (files are the truth), so the
index of a re-run shows sessions done on an earlier night as well. Links are
relative, so the batch folder can be copied or served as it is.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from ..events import now_iso
from ..fileio import atomic_write_text
from .grid import Grid
from .headline import format_value
from .session import SESSION_NOTEBOOK, read_status

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
    body = "\n".join(_row_html(i, row) for i, row in enumerate(rows, start=1))
    title = html.escape(f"batch {grid.name}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{_CSS}</style></head>
<body>
<h1>{title}</h1>
<p>Notebook <code>{html.escape(grid.notebook.name)}</code> &middot; {len(rows)} sessions:
{html.escape(counts)} &middot; updated {html.escape(now_iso())}</p>
<table>
<thead><tr><th>#</th><th>session</th><th>parameters</th><th>status</th><th>headline</th>
<th>seconds</th><th>report</th></tr></thead>
<tbody>
{body}
</tbody></table>
</body></html>
"""


def _row_html(n: int, row: Row) -> str:
    params = "<br>".join(f"{html.escape(str(k))} = {html.escape(format_value(v))}"
                         for k, v in row.varying.items()) or "&ndash;"
    headline = "&ndash;"
    if row.headline:
        headline = (f"{html.escape(str(row.headline.get('label', '')))}: "
                    f"<b>{html.escape(format_value(row.headline.get('value')))}</b>")
    status = f'<span class="s-{html.escape(row.status)}">{html.escape(row.status)}</span>'
    if row.error:
        status += f'<div class="err">{html.escape(row.error)}</div>'
    link = (f'<a href="{html.escape(row.link)}">{html.escape(row.link.split("/")[-1])}</a>'
            if row.link else "&ndash;")
    seconds = f"{row.seconds:.1f}" if isinstance(row.seconds, (int, float)) else "&ndash;"
    return (f"<tr><td>{n}</td><td><code>{html.escape(row.sid)}</code></td><td>{params}</td>"
            f"<td>{status}</td><td>{headline}</td><td>{seconds}</td><td>{link}</td></tr>")


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ddd; padding: .4em .8em; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; }
.s-passed { color: #1a7f37; font-weight: bold; }
.s-failed, .s-timed_out, .s-kernel_died, .s-interrupted, .s-stale { color: #cf222e; font-weight: bold; }
.s-running, .s-pending { color: #9a6700; }
.err { color: #666; font-size: .85em; max-width: 40em; }
"""
