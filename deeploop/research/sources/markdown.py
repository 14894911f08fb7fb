"""Markdown to sections: ATX (``## Heading``) and setext (underlined)
headings open sections; fenced code is kept as text but never read as
headings; YAML front matter is dropped (its ``title:`` is used if present).
"""
from __future__ import annotations

import re

from .document import Anchors, Document, Section, join_paragraphs

# Applied to right-stripped lines; the closing '#'s are removed without a
# regex, since patterns like '(.*?)[ \t]+#+' go quadratic on long blank runs.
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_TITLE = re.compile(r"^title:(.*)$", re.MULTILINE)
# Emphasis marks at a word's edge; underscores inside words (snake_case) stay.
_EMPHASIS = re.compile(r"(?<!\w)[*_]{1,3}(?=\S)|(?<=\S)[*_]{1,3}(?!\w)")


def _front_matter(lines: list[str]) -> tuple[str, list[str]]:
    """Split off a leading ``---`` YAML block; return (its title, the rest)."""
    if not lines or lines[0].strip() != "---":
        return "", lines
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            match = _FRONT_TITLE.search("\n".join(lines[1:end]))
            title = match.group(1).strip().strip("'\"").strip() if match else ""
            return title, lines[end + 1:]
    return "", lines


def _strip_closing_hashes(text: str) -> str:
    """'Errors ##' -> 'Errors'; 'C#' keeps its hash (no space before it)."""
    bare = text.rstrip("#")
    if bare != text and (not bare or bare[-1] in " \t"):
        return bare.rstrip()
    return text


def _heading_text(raw: str) -> str:
    """Heading as a reader sees it: emphasis marks and backticks removed;
    text inside code spans is kept verbatim (``*args`` stays)."""
    parts = _strip_closing_hashes(raw.strip()).split("`")
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        parts[i] = _EMPHASIS.sub("", parts[i])
    return "".join(parts).strip()


class _Builder:
    def __init__(self):
        self.sections: list[Section] = []
        self.anchors = Anchors()
        self.name, self.anchor, self.lines = "", "", []
        self.first_h1 = ""

    def open(self, name: str, level: int) -> None:
        self.close()
        self.name, self.anchor, self.lines = name, self.anchors(name), []
        if level == 1 and not self.first_h1:
            self.first_h1 = name

    def close(self) -> None:
        text = join_paragraphs(self.lines)
        if text:
            self.sections.append(Section(self.name, text, self.anchor))


def parse_markdown(text: str, fallback_title: str) -> Document:
    front_title, lines = _front_matter(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    builder, fence = _Builder(), ""
    for line in lines:
        fence_match = _FENCE.match(line)
        if fence:
            builder.lines.append(line)
            if fence_match and _closes(fence_match.group(1), fence):
                fence = ""
            continue
        if fence_match:
            fence = fence_match.group(1)
            builder.lines.append(line)
        elif (atx := _ATX.match(line.rstrip())) is not None:
            builder.open(_heading_text(atx.group(2) or ""), len(atx.group(1)))
        elif _SETEXT.match(line) and _is_setext_title(builder.lines):
            title = builder.lines.pop()
            builder.open(_heading_text(title), 1 if line.strip()[0] == "=" else 2)
        else:
            builder.lines.append(line)
    builder.close()
    title = front_title or builder.first_h1 or fallback_title
    return Document(title, builder.sections)


def _closes(marker: str, fence: str) -> bool:
    """A fence closes with the same character, at least as many times."""
    return marker[0] == fence[0] and len(marker) >= len(fence)


def _is_setext_title(lines: list[str]) -> bool:
    """An underline makes a heading of a one-line paragraph just above it;
    after a blank line '---' is a thematic break instead."""
    if not lines or not lines[-1].strip():
        return False
    return len(lines) == 1 or not lines[-2].strip()
