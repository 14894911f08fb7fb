"""Jinja2 templates (autoescaped) for every HTML page and fragment deeploop shows.

One environment; the templates live in ``templates/html/`` (package data).
Every value is escaped unless it is marked safe, so a description, a claim
or a run name with ``<`` in it is shown, never interpreted:

- ``render(name, **context)``: a whole template (a page, a report cell);
- ``fragment(name, macro, ...)``: one macro of a template (a status line,
  a pill), for the small pieces widgets set one at a time;
- ``safe(markup)``: HTML made by another template (or by matplotlib) to
  insert as it is. Both calls return plain ``str``; anything passed back
  into a template as HTML goes through ``safe``.

Macros every template may import live in ``parts.html.j2`` (``pill``,
``table``, ``note``); ``theme`` (colours) is a global.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import theme

HERE = Path(__file__).with_name("templates") / "html"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.globals.update(theme=theme)
    return env


def render(name: str, /, **context) -> str:
    """Render ``templates/html/<name>`` with ``context``."""
    return environment().get_template(name).render(**context).strip()


def fragment(name: str, macro: str, /, *args, **kwargs) -> str:
    """Call the macro ``macro`` of ``templates/html/<name>``."""
    return str(getattr(environment().get_template(name).module, macro)(*args, **kwargs))


def safe(markup: str) -> Markup:
    """Mark HTML built elsewhere (already escaped) as safe to insert."""
    return Markup(markup)


def pill(status: str, label: str | None = None) -> str:
    """A status as a small coloured pill (white on a dark fill, any theme)."""
    return fragment("parts.html.j2", "pill", status, label)
