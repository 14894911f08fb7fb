"""PDF tokens and objects: the shared syntax of files and content streams.

One regular-expression driven lexer serves both the file body (objects,
dictionaries, references) and page content streams (operands followed by an
operator keyword). PDF values map onto plain Python: numbers, ``bytes`` for
strings, ``Name`` for names, lists, dicts keyed by name, ``Ref`` for
indirect references and ``Op`` for bare keywords.
"""
from __future__ import annotations

import re
from typing import NamedTuple


class PdfError(Exception):
    """A PDF the extractor cannot read; the caller turns it into a skip."""


class Name(str):
    """A PDF name (``/Font``), kept apart from strings, which are bytes."""


class Op(str):
    """A bare keyword: an operator in a content stream, or obj/stream/R."""


class Ref(NamedTuple):
    num: int
    gen: int


WHITESPACE = b"\x00\t\n\x0c\r "
_DELIMS = rb"()<>\[\]{}/%"
_SKIP = re.compile(rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*")
_TOKEN = re.compile(
    # Written so a failed match backtracks in linear time on long digit runs.
    rb"(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?![^\x00\t\n\x0c\r " + _DELIMS + rb"])"
    rb"|(?P<name>/[^\x00\t\n\x0c\r " + _DELIMS + rb"]*)"
    rb"|(?P<dopen><<)|(?P<dclose>>>)"
    rb"|(?P<hex><[0-9A-Fa-f\x00\t\n\x0c\r ]*>)"
    rb"|(?P<lit>\()"
    rb"|(?P<punct>[\[\]{}])"
    rb"|(?P<word>[^\x00\t\n\x0c\r " + _DELIMS + rb"]+)"
)
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_LIT_SPECIAL = re.compile(rb"[()\\]")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f",
            b"(": b"(", b")": b")", b"\\": b"\\"}
_OCTAL = re.compile(rb"[0-7]{1,3}")
_CONSTANTS = {b"true": True, b"false": False, b"null": None}


def _number(raw: bytes):
    return float(raw) if b"." in raw else int(raw)


def _name(raw: bytes) -> Name:
    raw = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw[1:])
    return Name(raw.decode("latin-1"))


def _hex_string(raw: bytes) -> bytes:
    digits = re.sub(rb"[^0-9A-Fa-f]", b"", raw)
    if len(digits) % 2:  # an odd final digit is followed by an implied 0
        digits += b"0"
    return bytes.fromhex(digits.decode("ascii"))


class Lexer:
    """Reads tokens from ``data`` starting at ``pos``; ``pos`` is public so
    callers can look ahead and rewind (needed for ``1 0 R``). Content streams
    hold no references, so their lexer skips that look-ahead (``refs=False``),
    which roughly halves the work on number-heavy pages."""

    def __init__(self, data: bytes, pos: int = 0, refs: bool = True):
        self.data = data
        self.pos = pos
        self.refs = refs

    def skip_space(self) -> None:
        self.pos = _SKIP.match(self.data, self.pos).end()

    def token(self):
        """The next raw token as (kind, value), or ("eof", None)."""
        self.skip_space()
        if self.pos >= len(self.data):
            return "eof", None
        match = _TOKEN.match(self.data, self.pos)
        if match is None:  # a stray ')' or '>': step over it
            self.pos += 1
            return "junk", None
        self.pos = match.end()
        kind, raw = match.lastgroup, match.group()
        if kind == "num":
            return kind, _number(raw)
        if kind == "name":
            return kind, _name(raw)
        if kind == "hex":
            return "str", _hex_string(raw[1:-1])
        if kind == "lit":
            return "str", self._literal()
        if kind == "word" and raw in _CONSTANTS:
            return "const", _CONSTANTS[raw]
        return kind, raw if kind == "punct" else Op(raw.decode("latin-1"))

    def _literal(self) -> bytes:
        """A ``(...)`` string: balanced parentheses and backslash escapes."""
        out, depth, data = bytearray(), 1, self.data
        while True:
            match = _LIT_SPECIAL.search(data, self.pos)
            if match is None:
                out += data[self.pos:]
                self.pos = len(data)
                return bytes(out)
            out += data[self.pos:match.start()]
            char, self.pos = match.group(), match.end()
            if char == b"\\":
                self._escape(out)
            elif char == b"(":
                depth += 1
                out += char
            else:
                depth -= 1
                if depth == 0:
                    return bytes(out)
                out += char

    def _escape(self, out: bytearray) -> None:
        data, pos = self.data, self.pos
        nxt = data[pos:pos + 1]
        if nxt in _ESCAPES:
            out += _ESCAPES[nxt]
            self.pos = pos + 1
        elif nxt in (b"\r", b"\n"):  # a backslash at line end continues the line
            self.pos = pos + (2 if data[pos:pos + 2] == b"\r\n" else 1)
        elif (octal := _OCTAL.match(data, pos)) is not None:
            out.append(int(octal.group(), 8) & 0xFF)
            self.pos = octal.end()
        else:  # an unknown escape stands for the character itself
            self.pos = pos

    def value(self, kind=None, val=None):
        """Parse one complete value; numbers followed by ``G R`` become Refs."""
        if kind is None:
            kind, val = self.token()
        if kind == "num" and self.refs and isinstance(val, int) and val >= 0:
            return self._maybe_ref(val)
        if kind == "dopen":
            return self._dict()
        if kind == "punct" and val == b"[":
            return self._array()
        return val if kind != "eof" else Op("")

    def _maybe_ref(self, num: int):
        mark = self.pos
        kind, gen = self.token()
        if kind == "num" and isinstance(gen, int):
            kind, word = self.token()
            if kind == "word" and word == "R":
                return Ref(num, gen)
        self.pos = mark
        return num

    def _array(self) -> list:
        items = []
        while True:
            kind, val = self.token()
            if kind == "eof" or (kind == "punct" and val == b"]"):
                return items
            items.append(self.value(kind, val))

    def _dict(self) -> dict:
        result: dict = {}
        while True:
            kind, key = self.token()
            if kind in ("eof", "dclose"):
                return result
            if kind != "name":  # malformed entry: ignore it and read on
                continue
            kind, val = self.token()
            if kind == "dclose":
                return result
            result[key] = self.value(kind, val)
