"""Colours that follow JupyterLab's theme, and status pills that read on any theme.

Text, borders and links use JupyterLab's CSS variables (``--jp-*``) with a
light fallback for pages outside JupyterLab (GitHub, a mailed report), so
they follow the light and dark themes. A status is never coloured text on
the page's background (green on black fails WCAG's 4.5:1): it is a pill,
white text on a dark fill, whose contrast is the same on every theme (the
fills below are all at least 6.4:1 against white). The pill's markup is the
``pill`` macro of ``templates/html/parts.html.j2`` (``templating.pill``).
"""
from __future__ import annotations

TEXT = "var(--jp-content-font-color1, #1f2328)"
MUTED = "var(--jp-content-font-color2, #57606a)"
BORDER = "var(--jp-border-color2, #d0d7de)"
LINK = "var(--jp-content-link-color, #0b57d0)"

GREEN, GREY, RED, BLUE, AMBER = "#166534", "#4b5563", "#b91c1c", "#1d4ed8", "#92400e"

_FILLS = {
    GREEN: ("keep", "passed", "done", "finished", "confirmed", "ok", "success", "high"),
    GREY: ("discard", "paused", "stopped", "untested", "skipped", "superseded", "unfinished",
           "ready", "not"),
    RED: ("crash", "failed", "aborted", "error", "refuted", "rejected", "low"),
    BLUE: ("running", "active", "pending", "in progress", "started"),
    AMBER: ("interrupted", "stale", "stopping", "warning", "crashed", "capped", "timeout",
            "medium"),
}
FILL = {word: colour for colour, words in _FILLS.items() for word in words}

PILL_STYLE = ("display: inline-block; background-color: {fill}; color: #ffffff; "
              "border-radius: 9px; padding: 0px 7px; font-size: 11px; font-weight: bold; "
              "line-height: 17px; white-space: nowrap")


def fill(status: str) -> str:
    """The pill colour for a status word (grey for words it does not know)."""
    word = str(status or "").strip().lower()
    return FILL.get(word) or FILL.get(word.split(":")[0].split(" ")[0], GREY)
