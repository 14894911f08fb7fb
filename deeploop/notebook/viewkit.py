"""Small building blocks the report views share: HTML tables, notes, figures.

Everything a view returns is displayable in a notebook and survives
nbconvert's HTML export as it is: HTML with inline styles only (no scripts;
classes only where the report's own stylesheet adds to what inline styles
already show) and charts as themed inline SVG with a line of text as their
plain-text fallback (``charts``).
"""
from __future__ import annotations

import re
from typing import Iterable

from markupsafe import Markup

from ..templating import fragment, safe

GREY = "#888888"
GREEN = "#2ca02c"
RED = "#d62728"
BLUE = "#1f77b4"


class Note:
    """One short line shown where a section does not apply or has no data."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return fragment("parts.html.j2", "note", self.text)

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
    return fragment("parts.html.j2", "table", list(header), cells(rows))


def cells(rows: Iterable[Iterable]) -> list[list[tuple[str, bool]]]:
    """Each cell as (text, is a number): numbers keep the notebook's right
    alignment; words read better left-aligned. A cell marked ``safe`` (a
    pill) is inserted as HTML."""
    return [[(c if isinstance(c, Markup) else str(c), bool(_NUMBER.match(str(c)))) for c in row]
            for row in rows]


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
    """A heading and a table, as HTML with a text fallback; ``before`` and
    ``after`` are HTML (from a template) shown above and below the table."""
    header = list(header)
    markup = fragment("parts.html.j2", "section", title, header, cells(rows),
                      safe(before), safe(after))
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
