"""Bytes of a file to a ``Document``, chosen by the file's suffix.

Extraction is a pure function of (name, bytes), so the index can cache its
result per file and tests need no files at all. A file that cannot be read
as text raises ``ExtractError`` whose message is the reason it is skipped.
"""
from __future__ import annotations

from pathlib import PurePosixPath
from typing import Callable

from .document import Document, ExtractError, Section, decode_text, join_paragraphs, title_from_name
from .htmltext import decode_html, parse_html
from .markdown import parse_markdown
from .pdf import PdfError, pdf_pages

# Bump when extraction output changes, so cached indexes are rebuilt.
EXTRACTOR_VERSION = 2


def extract_text(name: str, data: bytes) -> Document:
    text = decode_text(data)
    section = Section("", join_paragraphs(text.split("\n")), "")
    return Document(title_from_name(name), [section] if section.text else [])


def extract_markdown(name: str, data: bytes) -> Document:
    return parse_markdown(decode_text(data), title_from_name(name))


def extract_html(name: str, data: bytes) -> Document:
    if b"\x00" in data[:8192]:
        raise ExtractError("binary content in an HTML file")
    return parse_html(decode_html(data), title_from_name(name))


def extract_pdf(name: str, data: bytes) -> Document:
    try:
        pages = pdf_pages(data)
    except PdfError as exc:
        raise ExtractError(f"unreadable PDF: {exc}") from None
    sections = [Section(f"page {n}", text, f"page={n}")
                for n, text in enumerate(pages, start=1) if text.strip()]
    if not sections:
        raise ExtractError("PDF has no extractable text (scanned images?)")
    return Document(title_from_name(name), sections)


EXTRACTORS: dict[str, Callable[[str, bytes], Document]] = {
    ".md": extract_markdown, ".markdown": extract_markdown,
    ".txt": extract_text, ".text": extract_text, ".rst": extract_text,
    ".html": extract_html, ".htm": extract_html,
    ".pdf": extract_pdf,
}


def supported(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in EXTRACTORS


def extract(name: str, data: bytes) -> Document:
    """The document in ``data``; ``name`` (a file name) picks the extractor."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in EXTRACTORS:
        raise ExtractError(f"unsupported file type {suffix or '(none)'}")
    return EXTRACTORS[suffix](name, data)
