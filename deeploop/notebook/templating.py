"""Jinja2 templates (autoescaped) for the HTML that widgets and reports show.

Templates live in ``templates/html/``; every value is escaped unless a
caller marks it safe (``markupsafe.Markup``), so a description or a claim
with ``<`` in it is shown, never interpreted. Jinja2 comes with nbconvert.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..errors import require
from . import theme

HERE = Path(__file__).with_name("templates") / "html"


@lru_cache(maxsize=1)
def environment():
    jinja2 = require("jinja2", "notebook")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.globals.update(theme=theme, pill=lambda *a: safe(theme.pill(*a)))
    return env


def render(name: str, **context) -> str:
    """Render ``templates/html/<name>`` with ``context``."""
    return environment().get_template(name).render(**context).strip()


def safe(markup: str):
    """Mark HTML built elsewhere (already escaped) as safe to insert."""
    from markupsafe import Markup
    return Markup(markup)
