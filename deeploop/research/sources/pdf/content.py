"""Text from a page content stream: the text-showing operators, in order.

PDF has no words or lines, only glyphs placed on a page. Reading order is
taken as stream order (what nearly every producer writes); a change of the
text line's y gives a line break, a horizontal move or a wide gap in a TJ
array gives a space. Exact glyph widths would need font metrics, which a
search index does not need.
"""
from __future__ import annotations

import re
from typing import Callable, Protocol

from .fonts import DEFAULT_FONT, Font
from .lexer import Lexer, Name

TJ_SPACE = -180  # TJ gaps wider than this (thousandths of an em) are spaces
MAX_FORM_DEPTH = 4
MAX_FORMS = 256  # per page: forms that draw forms must not multiply without end
_INLINE_DATA = re.compile(rb"\bID[\x00\t\n\x0c\r ]")
_INLINE_END = re.compile(rb"[\x00\t\n\x0c\r ]EI(?=[\x00\t\n\x0c\r ]|$)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HYPHENATED = re.compile(r"(\w)-\n(?=[a-z])")
_SPACES = re.compile(r"[ \t\u00a0]+")


class Resources(Protocol):
    def font(self, name: str) -> Font: ...
    def form(self, name: str) -> "tuple[bytes, Resources] | None": ...


class _Writer:
    """Collects shown text and decides where line breaks and spaces go."""

    def __init__(self):
        self.parts: list[str] = []
        self.y = 0.0
        self.shown_y: float | None = None
        self.moved = False
        self.forms = 0

    def show(self, text: str) -> None:
        if not text:
            return
        if self.shown_y is not None and abs(self.y - self.shown_y) > 0.01:
            self.parts.append("\n")
        elif self.moved:
            self.space()
        self.parts.append(text)
        self.shown_y, self.moved = self.y, False

    def space(self) -> None:
        if self.parts and not self.parts[-1][-1:].isspace():
            self.parts.append(" ")

    def move(self, dx: float, dy: float) -> None:
        self.y += dy
        self.moved = self.moved or dx != 0

    def block(self) -> None:
        """Forms and text objects start a fresh run: break the line."""
        self.parts.append("\n")
        self.shown_y = None


def _show_array(items: list, font: Font, writer: _Writer) -> None:
    for item in items:
        if isinstance(item, bytes):
            writer.show(font.decode(item))
        elif isinstance(item, (int, float)) and item < TJ_SPACE:
            writer.space()


def page_text(data: bytes, resources: Resources, depth: int = 0) -> str:
    """The text a content stream shows, with lines and paragraphs tidied."""
    writer = _Writer()
    _run(data, resources, writer, depth)
    return tidy("".join(writer.parts))


def _run(data: bytes, resources: Resources, writer: _Writer, depth: int) -> None:
    lexer, operands = Lexer(data, refs=False), []
    state = {"font": DEFAULT_FONT, "leading": 0.0}
    while True:
        kind, value = lexer.token()
        if kind == "eof":
            return
        if kind != "word":
            operands.append(lexer.value(kind, value))
            continue
        handler = _OPERATORS.get(value)
        if handler is not None:
            handler(operands, state, writer)
        elif value == "BI":
            _skip_inline_image(lexer)
        elif value == "Do" and operands and depth < MAX_FORM_DEPTH and writer.forms < MAX_FORMS:
            form = resources.form(operands[-1]) if isinstance(operands[-1], Name) else None
            if form is not None:
                writer.forms += 1
                writer.block()
                _run(form[0], form[1], writer, depth + 1)
        elif value == "Tf" and len(operands) >= 2 and isinstance(operands[-2], Name):
            state["font"] = resources.font(operands[-2])
        operands.clear()


def _skip_inline_image(lexer: Lexer) -> None:
    """Inline image data is binary: jump past it instead of lexing it."""
    start = _INLINE_DATA.search(lexer.data, lexer.pos)
    end = _INLINE_END.search(lexer.data, start.end()) if start else None
    lexer.pos = end.end() if end else len(lexer.data)


def _numbers(operands: list, count: int) -> list[float]:
    values = operands[-count:] if len(operands) >= count else []
    return [v if isinstance(v, (int, float)) else 0.0 for v in values] or [0.0] * count


def _next_line(state: dict, writer: _Writer) -> None:
    writer.move(0, -(state["leading"] or 1.0))


def _op_tj(operands, state, writer) -> None:
    if operands and isinstance(operands[-1], bytes):
        writer.show(state["font"].decode(operands[-1]))


def _op_tj_array(operands, state, writer) -> None:
    if operands and isinstance(operands[-1], list):
        _show_array(operands[-1], state["font"], writer)


def _op_quote(operands, state, writer) -> None:
    _next_line(state, writer)
    _op_tj(operands, state, writer)


def _op_td(operands, state, writer) -> None:
    dx, dy = _numbers(operands, 2)
    writer.move(dx, dy)


def _op_td_leading(operands, state, writer) -> None:
    dx, dy = _numbers(operands, 2)
    state["leading"] = -dy
    writer.move(dx, dy)


def _op_tm(operands, state, writer) -> None:
    y = _numbers(operands, 6)[5]
    writer.move(1, y - writer.y)  # a new matrix: treat as a move, so a space or a line


def _op_bt(operands, state, writer) -> None:
    writer.y, writer.moved = 0.0, True  # BT resets the text matrix


def _op_tl(operands, state, writer) -> None:
    state["leading"] = _numbers(operands, 1)[0]


_OPERATORS: dict[str, Callable] = {
    "Tj": _op_tj, "TJ": _op_tj_array, "'": _op_quote, '"': _op_quote,
    "Td": _op_td, "TD": _op_td_leading, "Tm": _op_tm, "T*": lambda o, s, w: _next_line(s, w),
    "BT": _op_bt, "TL": _op_tl,
}


def tidy(text: str) -> str:
    """Drop control codes, join hyphenated line breaks, squeeze spaces."""
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _HYPHENATED.sub(r"\1", "\n".join(line for line in lines if line))
