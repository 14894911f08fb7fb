"""Charts as inline SVG that follows the page's theme.

Report and widget charts are drawn with matplotlib's object API (no pyplot
state, so a worker thread may draw while the notebook does other things)
and written as SVG: sharp at any zoom and a fraction of a PNG's size. The
background is transparent and every "ink" colour (text, axes, ticks,
legend text) is drawn as ``currentColor``, so the chart takes the text
colour of wherever it is shown: dark on JupyterLab's light theme, light on
its dark theme, and the report page's own colours. Data colours are
mid-tones that read on both.
"""
from __future__ import annotations

import io
import re
from contextlib import contextmanager

from ..templating import fragment, safe

INK = "#010203"  # a colour nothing else uses, swapped for currentColor in the SVG
_RC = {
    "svg.fonttype": "none",           # real <text>: smaller, selectable, themed
    "svg.hashsalt": "deeploop",       # stable ids: the same chart gives the same bytes
    "font.family": "sans-serif",
    "font.size": 10.0,
    "text.color": INK, "axes.labelcolor": INK, "axes.edgecolor": INK,
    "xtick.color": INK, "ytick.color": INK, "axes.titlecolor": INK,
    "legend.frameon": False, "legend.labelcolor": INK,
    "figure.facecolor": "none", "axes.facecolor": "none", "savefig.transparent": True,
    "grid.color": "#8b8b8b",
}


@contextmanager
def themed():
    """matplotlib settings for a themed chart (thread-safe enough: rc_context)."""
    import matplotlib
    with matplotlib.rc_context(_RC):
        yield


def new_figure(width: float, height: float, rows: int = 1, cols: int = 1):
    """A Figure and its axes grid (``axes[row][col]``), no pyplot involved."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    with themed():
        fig = Figure(figsize=(width, height))
        FigureCanvasSVG(fig)
        axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def to_svg(fig, title: str = "") -> str:
    """``fig`` as an inline ``<svg>`` element (no XML prolog), ink as currentColor."""
    with themed():
        ink(fig)
        fig.tight_layout()
        drop_overlapping_labels(fig)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = text.replace(INK, "currentColor")
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    width = re.search(r'\swidth="([\d.]+)pt"', text)
    px = round(float(width.group(1)) * 4 / 3) if width else 760
    text = re.sub(r'\s(width|height)="[\d.]+pt"', "", text, count=2)  # scale with the page
    text = text.replace("<svg ", f'<svg role="img" style="width: 100%; max-width: {px}px; '
                                  'height: auto; color: inherit" ', 1)
    if title:
        text = text.replace(">", ">" + fragment("parts.html.j2", "svg_title", title), 1)
    return text


def ink(fig) -> None:
    """Draw the chart's black "ink" (text, spines, ticks) in INK and its
    backgrounds transparent, whatever rcParams were in force while it was drawn
    (a view draws outside ``themed``; matplotlib reads most colours then)."""
    from matplotlib.colors import to_rgba
    from matplotlib.text import Text
    black = to_rgba("black")
    fig.patch.set_alpha(0)
    for text in fig.findobj(Text):
        if to_rgba(text.get_color()) == black:
            text.set_color(INK)
    for ax in fig.axes:
        ax.patch.set_alpha(0)
        for spine in ax.spines.values():
            spine.set_edgecolor(INK)
        ax.tick_params(colors=INK, which="both")
        legend = ax.get_legend()
        if legend is not None:
            legend.get_frame().set_facecolor("none")
            legend.get_frame().set_edgecolor("#8b8b8b")


LABEL = "deeploop-label"  # gid of a text artist that may be dropped to avoid overlap


def drop_overlapping_labels(fig) -> None:
    """Hide labels (texts with gid LABEL) that would overlap an earlier label or
    leave the figure: annotations are drawn in order of importance, so the
    later one gives way. Needs the final layout, so runs after tight_layout."""
    labels = [t for ax in fig.axes for t in ax.texts if t.get_gid() == LABEL]
    if not labels:
        return
    fig.draw_without_rendering()
    canvas = fig.bbox
    kept = []
    for text in labels:
        box = text.get_window_extent().expanded(1.05, 1.1)
        if box.x1 > canvas.x1 + 1 or any(box.overlaps(other) for other in kept):
            text.set_visible(False)
        else:
            kept.append(box)


class Chart:
    """A chart for a notebook cell: inline SVG as HTML, a line of text otherwise."""

    def __init__(self, svg: str, text: str, figure=None):
        self.svg, self.text = svg, text
        self.figure = figure  # kept for checks: what was drawn, artist by artist

    @property
    def axes(self) -> list:
        return self.figure.axes if self.figure is not None else []

    def _repr_html_(self) -> str:
        return fragment("parts.html.j2", "chart", safe(self.svg))

    def __repr__(self) -> str:
        return self.text


def chart(fig, text: str) -> Chart:
    """Finish ``fig`` as a Chart whose plain-text fallback is ``text``."""
    return Chart(to_svg(fig, text), text, fig)
