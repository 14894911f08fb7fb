"""Shared fixtures for research sources: a private cache home and a builder
of small, valid PDF files written byte by byte (with a correct xref)."""
from __future__ import annotations

import zlib

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test gets caches under a temporary folder, never ~/.cache.
    One folder per session, so the stdlib sample is rendered once."""
    home = tmp_path_factory.getbasetemp() / "deeploop-cache"
    monkeypatch.setenv("DEEPLOOP_CACHE", str(home))
    return home


def stream(content: bytes, *, compress: bool = False, extra: bytes = b"",
           length: int | None = None) -> bytes:
    """A stream object body; ``length`` overrides /Length (to test bad ones)."""
    data = zlib.compress(content) if compress else content
    filters = b" /Filter /FlateDecode" if compress else b""
    size = len(data) if length is None else length
    return (b"<< /Length " + str(size).encode() + filters + extra + b" >>\nstream\n"
            + data + b"\nendstream")


def build_pdf(objects: list[bytes | None], trailer_extra: bytes = b"") -> bytes:
    """A PDF whose object N+1 has body ``objects[N]``; object 1 is the catalog.
    A None body leaves that number out of the file body (free in the xref)."""
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    rows = []
    for num, body in enumerate(objects, start=1):
        if body is None:
            rows.append("0000000000 00000 f \n")
            continue
        rows.append(f"{len(out):010d} 00000 n \n")
        out += f"{num} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(rows).encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R".encode() + trailer_extra
            + f" >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return bytes(out)


def simple_pdf(page_contents: list[bytes], *, compress: bool = False,
               font: bytes = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                             b"/Encoding /WinAnsiEncoding >>") -> bytes:
    """Pages showing the given content streams with one font /F1, whose
    resources are inherited from the page tree root."""
    count = len(page_contents)
    first_page = 4
    kids = b" ".join(f"{first_page + 2 * i} 0 R".encode() for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count " + str(count).encode()
        + b" /Resources << /Font << /F1 3 0 R >> >> >>",
        font,
    ]
    for i, content in enumerate(page_contents):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents "
                       + f"{first_page + 2 * i + 1} 0 R".encode() + b" >>")
        objects.append(stream(content, compress=compress))
    return build_pdf(objects)


@pytest.fixture
def pdf_tools():
    """The PDF builders, as a namespace for tests."""
    class Tools:
        pass
    tools = Tools()
    tools.stream, tools.build_pdf, tools.simple_pdf = stream, build_pdf, simple_pdf
    return tools
