"""What every extractor produces: a titled document made of named sections.

A section is the unit a citation points at: a heading's text (Markdown,
HTML), ``page N`` (PDF) or ``""`` (text before any heading, plain text). Its
``anchor`` is the fragment a citation appends to the file path: the
GitHub-style slug of the heading, or ``page=N`` (which PDF viewers honour).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePosixPath


class ExtractError(Exception):
    """A file that cannot be turned into text; the message is the skip reason."""


@dataclass(frozen=True)
class Section:
    name: str
    text: str  # paragraphs separated by blank lines
    anchor: str = ""


@dataclass(frozen=True)
class Document:
    title: str
    sections: list[Section] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections if s.text)


_SLUG_DROP = re.compile(r"[^\w\- ]")
_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")


def slugify(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to '-'."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    return _SLUG_DROP.sub("", text).replace(" ", "-")


class Anchors:
    """Unique anchors within one document: repeats get -1, -2 as on GitHub."""

    def __init__(self):
        self.seen: dict[str, int] = {}

    def __call__(self, heading: str) -> str:
        slug = slugify(heading)
        count = self.seen.get(slug, 0)
        self.seen[slug] = count + 1
        return slug if count == 0 else f"{slug}-{count}"


def title_from_name(name: str) -> str:
    """A readable title from a file name: 'event-loop_notes.md' -> 'event loop notes'."""
    return re.sub(r"[-_]+", " ", PurePosixPath(name).stem).strip()


def decode_text(data: bytes) -> str:
    """Text from bytes: UTF-8 (with or without BOM), else Windows-1252.

    NUL bytes mean a binary file with a text suffix; indexing it would only
    add noise, so it is refused."""
    if b"\x00" in data[:8192]:
        raise ExtractError("binary content in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def paragraphs(text: str) -> list[str]:
    """Split on blank lines, dropping empty paragraphs."""
    parts = _BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n"))
    return [p.strip() for p in parts if p.strip()]


def join_paragraphs(lines: list[str]) -> str:
    """Lines (blank lines separating paragraphs) to tidy section text."""
    return "\n\n".join(paragraphs("\n".join(lines)))
