"""Fonts turn the bytes of a shown string into text.

In order of trust: a /ToUnicode CMap (what modern producers write, and the
only way to read composite Identity-H fonts); then, for simple fonts, the
/Encoding (a standard name, or a base encoding patched by /Differences, whose
glyph names are mapped to characters). Codes nothing maps are dropped rather
than guessed, so a search index never fills with mojibake.
"""
from __future__ import annotations

import re
import unicodedata

from .cmap import parse_cmap
from .lexer import Name

# StandardEncoding differs from Latin-1 in the quotes and the upper half.
_STANDARD_HIGH = dict(zip(
    [0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD,
     0xAE, 0xAF, 0xB1, 0xB2, 0xB3, 0xB4, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xBB, 0xBC,
     0xBD, 0xBF, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xCA, 0xCB, 0xCD,
     0xCE, 0xCF, 0xD0, 0xE1, 0xE3, 0xE8, 0xE9, 0xEA, 0xEB, 0xF1, 0xF5, 0xF8, 0xF9,
     0xFA, 0xFB],
    "¡¢£⁄¥ƒ§¤'“«‹›ﬁﬂ–†‡·¶•‚„”»…‰¿`´ˆ˜¯˘˙¨˚¸˝˛ˇ—ÆªŁØŒºæıłøœß"))

GLYPH_NAMES = {
    "space": " ", "exclam": "!", "quotedbl": '"', "numbersign": "#", "dollar": "$",
    "percent": "%", "ampersand": "&", "quotesingle": "'", "quoteright": "’",
    "quoteleft": "‘", "parenleft": "(", "parenright": ")", "asterisk": "*",
    "plus": "+", "comma": ",", "hyphen": "-", "period": ".", "slash": "/",
    "colon": ":", "semicolon": ";", "less": "<", "equal": "=", "greater": ">",
    "question": "?", "at": "@", "bracketleft": "[", "backslash": "\\",
    "bracketright": "]", "asciicircum": "^", "underscore": "_", "grave": "`",
    "braceleft": "{", "bar": "|", "braceright": "}", "asciitilde": "~",
    "quotedblleft": "“", "quotedblright": "”", "quotesinglbase": "‚",
    "quotedblbase": "„", "endash": "–", "emdash": "—", "bullet": "•",
    "ellipsis": "…", "minus": "−", "multiply": "×", "divide": "÷",
    "fi": "fi", "fl": "fl", "ff": "ff", "ffi": "ffi", "ffl": "ffl",
    "dagger": "†", "daggerdbl": "‡", "section": "§", "paragraph": "¶",
    "copyright": "©", "registered": "®", "trademark": "™", "degree": "°",
    "plusminus": "±", "nbspace": " ", "sfthyphen": "", "dotlessi": "ı",
}
_DIGITS = "zero one two three four five six seven eight nine".split()
GLYPH_NAMES.update({name: str(i) for i, name in enumerate(_DIGITS)})
_ACCENTS = {"acute": "ACUTE", "grave": "GRAVE", "circumflex": "CIRCUMFLEX",
            "dieresis": "DIAERESIS", "tilde": "TILDE", "ring": "RING ABOVE",
            "cedilla": "CEDILLA", "caron": "CARON"}
_UNI_NAME = re.compile(r"^(?:uni([0-9A-Fa-f]{4})|u([0-9A-Fa-f]{4,6}))$")


def glyph_to_text(name: str) -> str:
    """The text a glyph name stands for ('' when unknown)."""
    base = name.split(".", 1)[0]  # 'a.sc' and 'one.oldstyle' are variants
    if len(base) == 1:
        return base
    if base in GLYPH_NAMES:
        return GLYPH_NAMES[base]
    if (match := _UNI_NAME.match(base)) is not None:
        return chr(int(match.group(1) or match.group(2), 16))
    return _unicode_by_name(base)


def _unicode_by_name(base: str) -> str:
    """Accented Latin letters ('eacute') and Greek letters ('alpha')."""
    letter, accent = base[:1], base[1:]
    case = "CAPITAL" if letter.isupper() else "SMALL"
    candidates = [f"GREEK {'CAPITAL' if base[:1].isupper() else 'SMALL'} LETTER {base.upper()}"]
    if accent in _ACCENTS:
        candidates.insert(0, f"LATIN {case} LETTER {letter.upper()} WITH {_ACCENTS[accent]}")
    for candidate in candidates:
        try:
            return unicodedata.lookup(candidate)
        except KeyError:
            continue
    return ""


def _codec_table(codec: str) -> list[str]:
    return [bytes([code]).decode(codec, errors="ignore") for code in range(256)]


def _standard_table() -> list[str]:
    table = [chr(code) if 32 <= code < 127 else "" for code in range(256)]
    table[0x27], table[0x60] = "’", "‘"
    for code, char in _STANDARD_HIGH.items():
        table[code] = char
    return table


BASE_ENCODINGS = {
    "WinAnsiEncoding": _codec_table("cp1252"),
    "MacRomanEncoding": _codec_table("mac_roman"),
    "StandardEncoding": _standard_table(),
    "PDFDocEncoding": _codec_table("latin-1"),
}
for _table in BASE_ENCODINGS.values():
    for _code in (9, 10, 13):  # control codes that are still whitespace
        _table[_code] = " "


class Font:
    """Decodes shown strings: ``font.decode(b"...") -> str``."""

    def __init__(self, table: list[str], cmap: dict[bytes, str] | None = None,
                 code_lengths: tuple[int, ...] = (1,)):
        self.table = table
        self.cmap = cmap or {}
        self.code_lengths = code_lengths

    def decode(self, data: bytes) -> str:
        if not self.cmap:
            table = self.table
            return "".join(table[b] for b in data)
        return self._decode_cmap(data)

    def _decode_cmap(self, data: bytes) -> str:
        out, i, cmap = [], 0, self.cmap
        while i < len(data):
            for length in self.code_lengths:
                code = data[i:i + length]
                if code in cmap:
                    out.append(cmap[code])
                    break
            else:  # unmapped: fall back to the simple table for one-byte codes
                length = self.code_lengths[0]
                if length == 1:
                    out.append(self.table[data[i]])
            i += length
        return "".join(out)


DEFAULT_FONT = Font(BASE_ENCODINGS["StandardEncoding"])


def build_font(font: dict, pdf) -> Font:
    """A Font for a /Font resource dictionary of ``pdf`` (a PdfFile)."""
    composite = pdf.get(font, "Subtype") == "Type0"
    table = [""] * 256 if composite else _simple_table(pdf.get(font, "Encoding"), pdf)
    to_unicode = font.get("ToUnicode")
    if to_unicode is None:
        return Font(table, code_lengths=(2,) if composite else (1,))
    try:
        cmap, lengths = parse_cmap(pdf.stream_bytes(to_unicode))
    except Exception:  # a broken CMap: keep what the encoding alone gives
        cmap, lengths = {}, ()
    default = (2,) if composite else (1,)
    return Font(table, cmap, lengths or default)


def _simple_table(encoding, pdf) -> list[str]:
    if isinstance(encoding, Name):
        return list(BASE_ENCODINGS.get(encoding, BASE_ENCODINGS["StandardEncoding"]))
    if not isinstance(encoding, dict):
        return list(BASE_ENCODINGS["StandardEncoding"])
    base = pdf.get(encoding, "BaseEncoding")
    table = list(BASE_ENCODINGS.get(base, BASE_ENCODINGS["StandardEncoding"]))
    code = 0
    for item in pdf.get(encoding, "Differences", []):
        if isinstance(item, int):
            code = item
        elif isinstance(item, Name):
            if 0 <= code < 256:
                table[code] = glyph_to_text(item)
            code += 1
    return table
