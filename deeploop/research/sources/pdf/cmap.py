"""ToUnicode CMaps: the map from a font's character codes to text.

Only the parts that carry text are read: ``codespacerange`` (how many bytes
a code has), ``bfchar`` (one code to one string) and ``bfrange`` (a run of
codes to consecutive characters, or to an explicit list). Destinations are
UTF-16BE, so ligatures and characters beyond the BMP come out right.
"""
from __future__ import annotations

from .lexer import Lexer

MAX_RANGE = 65536  # a hostile range must not allocate millions of entries


def utf16(data: bytes) -> str:
    if len(data) % 2:
        data = b"\x00" + data
    return data.decode("utf-16-be", errors="ignore")


def parse_cmap(data: bytes) -> tuple[dict[bytes, str], tuple[int, ...]]:
    """Return (code bytes -> text, code lengths in bytes, shortest first)."""
    lexer, cmap, lengths = Lexer(data), {}, set()
    while True:
        kind, value = lexer.token()
        if kind == "eof":
            break
        if kind == "word" and value in _SECTIONS:
            _SECTIONS[value](lexer, cmap, lengths)
    if not lengths:
        lengths = {len(code) for code in cmap}
    return cmap, tuple(sorted(lengths))


def _entries(lexer: Lexer):
    """Values up to the section's ``end...`` keyword."""
    items = []
    while True:
        kind, value = lexer.token()
        if kind == "eof" or (kind == "word" and value.startswith("end")):
            return items
        items.append(lexer.value(kind, value))


def _codespace(lexer: Lexer, cmap: dict, lengths: set) -> None:
    items = _entries(lexer)
    for low in items[0::2]:
        if isinstance(low, bytes) and low:
            lengths.add(len(low))


def _bfchar(lexer: Lexer, cmap: dict, lengths: set) -> None:
    items = _entries(lexer)
    for src, dst in zip(items[0::2], items[1::2]):
        if isinstance(src, bytes) and isinstance(dst, bytes):
            cmap[src] = utf16(dst)


def _bfrange(lexer: Lexer, cmap: dict, lengths: set) -> None:
    items = _entries(lexer)
    for low, high, dst in zip(items[0::3], items[1::3], items[2::3]):
        if not (isinstance(low, bytes) and isinstance(high, bytes) and low):
            continue
        start, stop = int.from_bytes(low, "big"), int.from_bytes(high, "big")
        count = min(stop - start + 1, MAX_RANGE)
        codes = (code.to_bytes(len(low), "big") for code in range(start, start + count))
        if isinstance(dst, list):
            for code, text in zip(codes, dst):
                if isinstance(text, bytes):
                    cmap[code] = utf16(text)
        elif isinstance(dst, bytes) and dst:
            base = int.from_bytes(dst, "big")
            for offset, code in enumerate(codes):
                cmap[code] = utf16((base + offset).to_bytes(len(dst), "big"))


_SECTIONS = {"begincodespacerange": _codespace, "beginbfchar": _bfchar,
             "beginbfrange": _bfrange}
