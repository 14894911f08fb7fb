"""program.md: the strategy document the meta tier rewrites.

Only the "Current Strategy" section is replaced; ``**Version:** vN`` becomes
vN+1 and ``**Last rewritten by:**`` names the meta-agent and the time. A
program.md without a strategy section gets one appended; everything else is
left byte for byte as it was. All functions are pure text transforms.
"""
from __future__ import annotations

import re

_VERSION = re.compile(r"^\*\*Version:\*\*[ \t]*v(\d+)[ \t]*$", re.MULTILINE)
_REWRITTEN = re.compile(r"^\*\*Last rewritten by:\*\*.*$", re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$", re.MULTILINE)
STRATEGY_TITLE = "Current Strategy"


def program_version(text: str) -> int:
    match = _VERSION.search(text)
    return int(match.group(1)) if match else 0


def strategy_section(text: str) -> str | None:
    """The body of the Current Strategy section, or None when there is none."""
    span = _strategy_span(text)
    return None if span is None else text[span[0]:span[1]].strip("\n")


def rewrite_strategy(text: str, strategy: str, *, stamp: str, by: str = "meta-agent") -> str:
    """Replace the strategy, bump the version, record who rewrote it and when."""
    body = strategy.strip("\n") + "\n"
    span = _strategy_span(text)
    if span is None:
        sep = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        text = f"{text}{sep}## {STRATEGY_TITLE}\n\n{body}"
    else:
        heading_end, end = span
        tail = text[end:]
        text = text[:heading_end] + "\n\n" + body + ("\n" if tail else "") + tail
    return _set_metadata(text, program_version(text) + 1, f"{by} ({stamp})")


def _strategy_span(text: str) -> tuple[int, int] | None:
    """(end of the heading line, end of the section) of the strategy section."""
    headings = list(_HEADING.finditer(text))
    for i, match in enumerate(headings):
        if match.group(2).strip().lower().rstrip(":") == STRATEGY_TITLE.lower():
            level = len(match.group(1))
            end = next((h.start() for h in headings[i + 1:] if len(h.group(1)) <= level),
                       len(text))
            return match.end(), end
    return None


def _set_metadata(text: str, version: int, rewritten_by: str) -> str:
    version_line = f"**Version:** v{version}"
    rewritten_line = f"**Last rewritten by:** {rewritten_by}"
    if _VERSION.search(text):
        text = _VERSION.sub(version_line, text, count=1)
    else:
        text = _insert_after_title(text, version_line)
    if _REWRITTEN.search(text):
        return _REWRITTEN.sub(lambda m: rewritten_line, text, count=1)
    insert_at = _VERSION.search(text).end()
    return text[:insert_at] + "\n" + rewritten_line + text[insert_at:]


def _insert_after_title(text: str, line: str) -> str:
    first = _HEADING.search(text)
    if first and first.start() == 0 and len(first.group(1)) == 1:
        cut = first.end()
        return text[:cut] + "\n\n" + line + text[cut:]
    return line + "\n\n" + text
