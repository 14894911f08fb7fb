"""Small building blocks the report views share: HTML tables, notes, figures.

Everything a view returns is displayable in a notebook and survives
nbconvert's HTML export as it is: HTML with inline styles only (no scripts;
classes only where the report's own stylesheet adds to what inline styles
already show) and charts as themed inline SVG with a line of text as their
plain-text fallback (``charts``).
"""
from __future__ import annotations

import html
import re
from typing import Iterable

GREY = "#888888"
GREEN = "#2ca02c"
RED = "#d62728"
BLUE = "#1f77b4"


class Note:
    """One short line shown where a section does not apply or has no data."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return (f'<p style="color: var(--jp-content-font-color2, #57606a)"><em>'
                f"{esc(self.text)}</em></p>")

    def __repr__(self) -> str:
        return self.text


class Html:
    """An HTML fragment with a plain-text fallback (for terminals and nbval)."""

    def __init__(self, markup: str, text: str = ""):
        self.markup, self.text = markup, text

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return self.text or "(HTML)"


def esc(value) -> str:
    return html.escape(str(value))


def num(value, digits: int = 6) -> str:
    """A number as a person reads it: floats to ``digits`` significant figures."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def fixed(value, places: int = 6) -> str:
    """val_bpb as results.tsv writes it (fixed decimals)."""
    return "–" if value is None else f"{value:.{places}f}"


def signed(value, places: int = 6) -> str:
    return "–" if value is None else f"{value:+.{places}f}"


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def table(header: Iterable, rows: Iterable[Iterable]) -> str:
    """An HTML table; cells are escaped. An empty header row is left out."""
    header = list(header)
    head = "".join(f"<th>{esc(h)}</th>" for h in header) if any(header) else ""
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table>{'<tr>' + head + '</tr>' if head else ''}{body}</table>"


def _cell(value) -> str:
    """Numbers keep the notebook's right alignment; words read better left-aligned."""
    text = str(value)
    if _NUMBER.match(text):
        return f"<td>{esc(text)}</td>"
    return f'<td style="text-align: left">{esc(text)}</td>'


_NUMBER = re.compile(r"^[-+–]?[\d.,:%]*\d[\d.,:%]*$|^–$")


def text_table(header: Iterable, rows: Iterable[Iterable]) -> str:
    """The same table as aligned plain text (the fallback of an Html)."""
    rows = [[str(c) for c in row] for row in [list(header), *rows]]
    if not rows[0]:
        rows = rows[1:]
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def section(title: str, header: Iterable, rows: list, before: str = "", after: str = "") -> Html:
    """A heading and a table, as HTML with a text fallback."""
    header = list(header)
    markup = f"<h2>{esc(title)}</h2>{before}{table(header, rows)}{after}"
    return Html(markup, f"{title}\n{text_table(header, rows)}")


def figure(width: float = 8.0, height: float = 3.6, rows: int = 1, cols: int = 1):
    """A themed figure for a report cell: (figure, axes grid). No pyplot state."""
    from .charts import new_figure
    return new_figure(width, height, rows, cols)


def finish(fig, text: str = ""):
    """The figure as the cell's value: inline SVG, ``text`` (else the axes'
    titles) as its plain-text fallback."""
    from .charts import chart
    if not text:
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        text = "Chart: " + "; ".join(titles) if titles else "Chart"
    return chart(fig, text)


def short(text: str, limit: int = 48) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
