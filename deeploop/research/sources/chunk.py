"""Sections to passages of about ``max_words`` words, never across sections.

A passage is what search returns and a citation names, so it stays inside
one section (one heading, one PDF page). Paragraphs are kept whole when they
fit; a paragraph longer than a passage is cut at word boundaries; a short
tail is folded into the passage before it rather than left as a fragment.
"""
from __future__ import annotations

from dataclasses import dataclass

from .document import Document, paragraphs

DEFAULT_MAX_WORDS = 150


@dataclass(frozen=True)
class Chunk:
    section: str
    anchor: str
    text: str


def _pieces(text: str, max_words: int) -> list[tuple[str, int]]:
    """Paragraphs as (text, word count), long ones cut into max_words pieces."""
    pieces = []
    for para in paragraphs(text):
        words = para.split()
        if len(words) <= max_words:
            pieces.append((para, len(words)))
            continue
        for start in range(0, len(words), max_words):
            part = words[start:start + max_words]
            pieces.append((" ".join(part), len(part)))
    return pieces


def split_section(text: str, max_words: int = DEFAULT_MAX_WORDS) -> list[str]:
    """Group a section's paragraphs into passages of at most ~max_words."""
    groups: list[list[str]] = []
    counts: list[int] = []
    for piece, count in _pieces(text, max_words):
        if groups and counts[-1] + count <= max_words:
            groups[-1].append(piece)
            counts[-1] += count
        else:
            groups.append([piece])
            counts.append(count)
    if len(groups) > 1 and counts[-1] < max_words // 4:
        groups[-2].extend(groups.pop())
    return ["\n\n".join(group) for group in groups]


def chunk_document(doc: Document, max_words: int = DEFAULT_MAX_WORDS) -> list[Chunk]:
    if max_words < 1:
        raise ValueError("max_words must be at least 1")
    return [Chunk(section.name, section.anchor, passage)
            for section in doc.sections
            for passage in split_section(section.text, max_words)]
