"""A small pure-Python PDF text extractor: ``pdf_pages(data) -> [page text]``.

It reads what a search index needs, the text of each page in order, from
files written by ordinary producers (TeX, office suites, browsers, report
generators): objects found by scanning (``objects``), Flate and ASCII
filters (``filters``), object streams, the page tree with inherited
resources, text operators (``content``) and font encodings and ToUnicode
maps (``fonts``, ``cmap``). Encrypted files and files with no readable
page raise ``PdfError``; the caller lists them as skipped.
"""
from __future__ import annotations

from .content import page_text
from .fonts import DEFAULT_FONT, Font, build_font
from .lexer import PdfError
from .objects import PdfFile, Stream

__all__ = ["PdfError", "pdf_pages"]

MAX_PAGES = 5000


class PageResources:
    """Fonts and form XObjects of one /Resources dictionary, built lazily."""

    def __init__(self, pdf: PdfFile, resources, fonts_cache: dict):
        self.pdf = pdf
        self.resources = pdf.resolve(resources) if resources is not None else {}
        self.fonts_cache = fonts_cache  # shared per file: fonts are reused across pages

    def _entry(self, category: str, name: str):
        table = self.pdf.get(self.resources, category, {})
        return table.get(name) if isinstance(table, dict) else None

    def font(self, name: str) -> Font:
        ref = self._entry("Font", name)
        key = ref if ref is not None and not isinstance(ref, dict) else id(ref)
        if key not in self.fonts_cache:
            font = self.pdf.resolve(ref)
            built = build_font(font, self.pdf) if isinstance(font, dict) else DEFAULT_FONT
            self.fonts_cache[key] = built
        return self.fonts_cache[key]

    def form(self, name: str):
        xobject = self.pdf.resolve(self._entry("XObject", name))
        if not isinstance(xobject, Stream) or xobject.attrs.get("Subtype") != "Form":
            return None
        inner = xobject.attrs.get("Resources", self.resources)
        try:
            data = self.pdf.stream_bytes(xobject)
        except PdfError:
            return None
        return data, PageResources(self.pdf, inner, self.fonts_cache)


def _page_tree(pdf: PdfFile) -> list[tuple[dict, object]]:
    """(page, inherited resources) in reading order, via the catalog; files
    whose catalog is lost fall back to every /Page object in number order."""
    catalogs = [obj for obj in pdf.objects.values()
                if isinstance(obj, dict) and obj.get("Type") == "Catalog"]
    pages: list[tuple[dict, object]] = []
    if catalogs:
        _walk(pdf, pdf.get(catalogs[-1], "Pages"), None, pages, set())
    if not pages:
        pages = [(obj, None) for _, obj in sorted(pdf.objects.items())
                 if isinstance(obj, dict) and obj.get("Type") == "Page"]
    return pages[:MAX_PAGES]


def _walk(pdf: PdfFile, node, resources, pages: list, seen: set) -> None:
    if not isinstance(node, dict) or id(node) in seen:
        return  # a cycle in a damaged page tree
    seen.add(id(node))
    resources = node.get("Resources", resources)
    kids = pdf.get(node, "Kids")
    if isinstance(kids, list):
        for kid in kids:
            _walk(pdf, pdf.resolve(kid), resources, pages, seen)
    elif node.get("Type") != "Pages":
        pages.append((node, resources))


def _contents(pdf: PdfFile, page: dict) -> bytes:
    contents = pdf.get(page, "Contents")
    parts = contents if isinstance(contents, list) else [contents]
    chunks = []
    for part in parts:
        try:
            chunks.append(pdf.stream_bytes(part))
        except PdfError:
            continue  # one unreadable stream should not lose the page
    return b"\n".join(chunks)


def pdf_pages(data: bytes) -> list[str]:
    """The text of every page, in order ('' for a page with no text)."""
    pdf = PdfFile(data)
    pages = _page_tree(pdf)
    if not pages:
        raise PdfError("no pages found")
    fonts: dict = {}
    texts = []
    for page, inherited in pages:
        resources = PageResources(pdf, page.get("Resources", inherited), fonts)
        texts.append(page_text(_contents(pdf, page), resources))
    return texts

