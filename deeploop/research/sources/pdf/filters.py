"""Stream filters: the decoders page content and object streams need.

FlateDecode carries nearly all text in real files; the ASCII filters and
RunLength are small enough to include. Image codecs (DCT, JBIG2, CCITT)
never hold text, so asking for them is an error the caller can skip.
"""
from __future__ import annotations

import base64
import re
import zlib

from .lexer import Name, PdfError


def flate(data: bytes) -> bytes:
    """Inflate, keeping what decompresses before any corruption: files with
    a damaged tail still give most of their text."""
    try:
        inflater = zlib.decompressobj()
        return inflater.decompress(data) + inflater.flush()
    except zlib.error:
        pass
    # Find the damage: whole blocks while they inflate, then byte by byte
    # inside the block that fails, keeping everything before the bad byte.
    out, inflater, block = bytearray(), zlib.decompressobj(), 4096
    for start in range(0, len(data), block):
        piece, probe = data[start:start + block], inflater.copy()
        try:
            out += probe.decompress(piece)
            inflater = probe
            continue
        except zlib.error:
            pass
        for i in range(len(piece)):
            try:
                out += inflater.decompress(piece[i:i + 1])
            except zlib.error:
                break
        break
    if not out:
        raise PdfError("corrupt FlateDecode stream")
    return bytes(out)


def ascii_hex(data: bytes) -> bytes:
    digits = re.sub(rb"[^0-9A-Fa-f]", b"", data.split(b">", 1)[0])
    return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))


def ascii85(data: bytes) -> bytes:
    body = data.strip()
    if body.startswith(b"<~"):
        body = body[2:]
    body = body.split(b"~>", 1)[0]
    try:
        return base64.a85decode(body, ignorechars=b" \t\n\r\x0c\x00")
    except ValueError as exc:
        raise PdfError(f"corrupt ASCII85 stream: {exc}") from None


def run_length(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        length = data[i]
        if length == 128:  # end of data marker
            break
        if length < 128:
            out += data[i + 1:i + 2 + length]
            i += 2 + length
        else:
            out += data[i + 1:i + 2] * (257 - length)
            i += 2
    return bytes(out)


DECODERS = {
    "FlateDecode": flate, "Fl": flate,
    "ASCIIHexDecode": ascii_hex, "AHx": ascii_hex,
    "ASCII85Decode": ascii85, "A85": ascii85,
    "RunLengthDecode": run_length, "RL": run_length,
}


def decode(data: bytes, filters) -> bytes:
    """Apply a stream's /Filter chain (a name or a list of names).

    DecodeParms predictors only appear on xref and image streams, which the
    extractor never needs, so they are not handled."""
    names = filters if isinstance(filters, list) else [filters] if filters else []
    for name in names:
        decoder = DECODERS.get(name) if isinstance(name, Name) else None
        if decoder is None:
            raise PdfError(f"unsupported stream filter {name}")
        data = decoder(data)
    return data
