"""HTML to sections with the standard library's ``html.parser``.

Headings (h1-h6) open sections; block elements end paragraphs; script,
style and other non-content elements are dropped; ``<pre>`` keeps its line
breaks. The ``<title>`` (or the first h1) names the document. The charset is
taken from UTF-8 when the bytes are valid UTF-8, else from ``<meta charset>``.
"""
from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

from .document import Anchors, Document, Section, join_paragraphs

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
DROPPED = {"script", "style", "noscript", "template", "svg", "math", "iframe",
           "object", "canvas"}
BLOCKS = {"p", "div", "br", "li", "tr", "td", "th", "pre", "blockquote", "section",
          "article", "aside", "table", "ul", "ol", "dl", "dt", "dd", "hr", "header",
          "footer", "nav", "main", "figure", "figcaption", "caption", "form",
          "address", "details", "summary", "body"}
VOID = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed",
        "param", "source", "track", "wbr"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_SPACE = re.compile(r"[ \t\r\n\f\u00a0]+")


class _SectionParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.anchors = Anchors()
        self.name, self.anchor, self.lines = "", "", [""]
        self.skip_depth = 0     # inside script/style/...: text is not content
        self.pre_depth = 0
        self.heading: list[str] | None = None
        self.heading_level = 0
        self.title_parts: list[str] | None = None
        self.title = ""
        self.first_h1 = ""

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.title_parts = []
        elif tag in DROPPED:
            self.skip_depth += tag not in VOID
        elif tag in HEADINGS and not self.skip_depth:
            if self.heading is not None:  # an unclosed heading ends here
                self._open(_SPACE.sub(" ", "".join(self.heading)).strip())
            self.heading, self.heading_level = [], int(tag[1])
        elif tag in BLOCKS:
            self._break()
            self.pre_depth += tag == "pre"

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCKS:
            self._break()

    def handle_endtag(self, tag):
        if tag == "title" and self.title_parts is not None:
            self.title = _SPACE.sub(" ", "".join(self.title_parts)).strip()
            self.title_parts = None
        elif tag in DROPPED:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in HEADINGS and self.heading is not None:
            self._open(_SPACE.sub(" ", "".join(self.heading)).strip())
        elif tag in BLOCKS:
            self.pre_depth = max(0, self.pre_depth - (tag == "pre"))
            self._break()

    def handle_data(self, data):
        if self.title_parts is not None:
            self.title_parts.append(data)
        elif self.skip_depth:
            return
        elif self.heading is not None:
            self.heading.append(data)
        elif self.pre_depth:
            self.lines[-1] += data  # keep code layout: line breaks are content
        else:
            self.lines[-1] += _SPACE.sub(" ", data)

    def _break(self) -> None:
        # An empty line between blocks makes each block its own paragraph.
        self.lines.append("")
        self.lines.append("")

    def _open(self, name: str) -> None:
        self._close()
        if self.heading_level == 1 and not self.first_h1:
            self.first_h1 = name
        self.heading = None
        self.name, self.anchor, self.lines = name, self.anchors(name) if name else "", [""]

    def _close(self) -> None:
        text = join_paragraphs(self.lines)
        if text:
            self.sections.append(Section(self.name, text, self.anchor))


def decode_html(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    match = _META_CHARSET.search(data[:4096])
    charset = match.group(1).decode("ascii") if match else "cp1252"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "cp1252"
    return data.decode(charset, errors="replace")


def parse_html(text: str, fallback_title: str) -> Document:
    parser = _SectionParser()
    parser.feed(text)
    parser.close()
    parser._close()
    return Document(parser.title or parser.first_h1 or fallback_title, parser.sections)
