"""The objects of a PDF file, found by scanning rather than by the xref.

Hand-made, truncated and incrementally updated files often carry a wrong or
missing cross-reference table, so the reader scans the body for ``N G obj``
headers in order, jumping over stream data, and lets a later definition of
an object number replace an earlier one (as an incremental update does).
Objects packed into object streams (PDF 1.5+) are unpacked afterwards; a
definition found directly in the file body wins over a packed one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .filters import decode
from .lexer import Lexer, PdfError, Ref

# The look-behind keeps the scan linear: a search never restarts inside a digit run.
_OBJ_HEADER = re.compile(rb"(?<!\d)(\d+)[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+obj\b")
_TRAILER = re.compile(rb"\btrailer\b")
_ENDSTREAM = b"endstream"
MAX_REF_DEPTH = 32


@dataclass
class Stream:
    """A stream object: its dictionary and its still-encoded bytes."""
    attrs: dict
    raw: bytes


class PdfFile:
    """All objects of one PDF, keyed by object number."""

    def __init__(self, data: bytes):
        if b"%PDF-" not in data[:1024]:
            raise PdfError("not a PDF file (no %PDF- header)")
        self.data = data
        self.objects: dict[int, object] = {}
        self._scan_body()
        if self._encrypted():
            raise PdfError("encrypted PDF")
        self._unpack_object_streams()

    def resolve(self, value):
        """Follow indirect references to the value they name (None if absent)."""
        for _ in range(MAX_REF_DEPTH):
            if not isinstance(value, Ref):
                return value
            value = self.objects.get(value.num)
        return None

    def get(self, container: dict, key: str, default=None):
        value = self.resolve(container.get(key, default)) if isinstance(container, dict) else None
        return default if value is None else value

    def stream_bytes(self, stream) -> bytes:
        """The decoded bytes of a stream (or of a reference to one)."""
        stream = self.resolve(stream)
        if not isinstance(stream, Stream):
            return b""
        return decode(stream.raw, self.resolve(stream.attrs.get("Filter")))

    def _scan_body(self) -> None:
        pos, data = 0, self.data
        while (match := _OBJ_HEADER.search(data, pos)) is not None:
            lexer = Lexer(data, match.end())
            try:
                value = lexer.value()
            except RecursionError:  # absurdly nested arrays: not an object we need
                pos = match.end()
                continue
            if isinstance(value, dict):
                value = self._maybe_stream(lexer, value)
            self.objects[int(match.group(1))] = value
            pos = max(lexer.pos, match.end())

    def _maybe_stream(self, lexer: Lexer, attrs: dict):
        mark = lexer.pos
        kind, word = lexer.token()
        if kind != "word" or word != "stream":
            lexer.pos = mark
            return attrs
        data, start = self.data, lexer.pos
        if data[start:start + 2] == b"\r\n":
            start += 2
        elif data[start:start + 1] in (b"\n", b"\r"):
            start += 1
        end, keyword = self._stream_end(start, attrs.get("Length"))
        lexer.pos = keyword + len(_ENDSTREAM)
        return Stream(attrs, data[start:end])

    def _stream_end(self, start: int, length) -> tuple[int, int]:
        """Where the data ends and where ``endstream`` starts. /Length is
        trusted only when ``endstream`` really follows it, since hand-written
        files often get it wrong; otherwise the data runs to the keyword,
        less the end-of-line that precedes it."""
        data = self.data
        if isinstance(length, int) and 0 <= length <= len(data) - start:
            after = Lexer(data, start + length)
            after.skip_space()
            if data.startswith(_ENDSTREAM, after.pos):
                return start + length, after.pos
        found = data.find(_ENDSTREAM, start)
        if found < 0:
            return len(data), len(data)
        end = found
        if data[end - 2:end] == b"\r\n":
            end -= 2
        elif data[end - 1:end] in (b"\n", b"\r"):
            end -= 1
        return max(start, end), found

    def _encrypted(self) -> bool:
        for match in _TRAILER.finditer(self.data):
            trailer = Lexer(self.data, match.end()).value()
            if isinstance(trailer, dict) and "Encrypt" in trailer:
                return True
        return any(isinstance(obj, Stream) and obj.attrs.get("Type") == "XRef"
                   and "Encrypt" in obj.attrs for obj in self.objects.values())

    def _unpack_object_streams(self) -> None:
        packed = [obj for obj in list(self.objects.values())
                  if isinstance(obj, Stream) and obj.attrs.get("Type") == "ObjStm"]
        for stream in packed:
            try:
                body = self.stream_bytes(stream)
            except PdfError:
                continue  # one damaged object stream should not lose the others
            for num, value in _objects_in(body, stream.attrs):
                self.objects.setdefault(num, value)


def _objects_in(body: bytes, attrs: dict):
    """Yield (number, value) for the objects packed in an object stream."""
    count, first = attrs.get("N"), attrs.get("First")
    if not isinstance(count, int) or not isinstance(first, int):
        return
    header, pairs = Lexer(body[:first]), []
    while len(pairs) < 2 * count:  # N may be a lie: stop at the header's end
        kind, value = header.token()
        if kind == "eof":
            break
        pairs.append(value)
    for num, offset in zip(pairs[0::2], pairs[1::2]):
        if isinstance(num, int) and isinstance(offset, int) and 0 <= first + offset < len(body):
            yield num, Lexer(body, first + offset).value()

