"""PDF text through PDFium, on files written by real PDF writers: Chromium's
print-to-PDF, matplotlib (kerned TJ arrays) and fpdf2 (encryption)."""
from __future__ import annotations

import re
import zlib

import pytest

from deeploop.research.sources import LocalSource
from deeploop.research.sources.document import ExtractError
from deeploop.research.sources.extract import extract
from deeploop.research.sources.pdf import PdfError, pdf_pages

from .conftest import chromium_print, fpdf_pages

CANCELLATION = ("Task cancellation in asyncio raises CancelledError inside the coroutine at "
                "its next await.")
TYPOGRAPHY = "Typography: AVAWAY WAVE Tokyo Type, dated 12/3/26."


@pytest.fixture(scope="module")
def chromium_pdf(tmp_path_factory) -> bytes:
    """The issue's page, printed by headless Chromium in a serif font (which
    it writes glyph by glyph, each placed by its width)."""
    folder = tmp_path_factory.mktemp("chromium-print")
    html = folder / "page.html"
    html.write_text("<!doctype html><meta charset='utf-8'><title>Cancellation</title>"
                    "<body style='font-family: serif; font-size: 14pt'>"
                    f"<h1>Task cancellation</h1><p>{CANCELLATION}</p>"
                    f"<h2>Typography</h2><p>{TYPOGRAPHY}</p>"
                    "<p style='page-break-before: always'>A second page about TaskGroup.</p>")
    chromium_print(html, folder / "page.pdf")
    return (folder / "page.pdf").read_bytes()


def content_streams(pdf: bytes) -> list[bytes]:
    """The decompressed streams of an unencrypted PDF (to inspect operators)."""
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(raw))
        except zlib.error:
            out.append(raw)
    return out


def matplotlib_pdf(lines: list[str]) -> bytes:
    import io

    from matplotlib.figure import Figure
    figure = Figure(figsize=(8.5, 11))
    for row, line in enumerate(lines):
        figure.text(0.05, 0.9 - 0.05 * row, line, fontsize=14)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="pdf")
    return buffer.getvalue()


def words(text: str) -> str:
    return " ".join(text.split())


def test_chromium_printed_page_reads_as_written(chromium_pdf):
    first, second = pdf_pages(chromium_pdf)
    assert words(first) == words(f"Task cancellation {CANCELLATION} Typography {TYPOGRAPHY}")
    assert words(second) == "A second page about TaskGroup."


def test_search_finds_a_word_in_a_chromium_printed_pdf(chromium_pdf, tmp_path):
    (tmp_path / "asyncio.pdf").write_bytes(chromium_pdf)
    (tmp_path / "other.md").write_text("# Errors\n\nA ValueError names a bad value.\n")
    [best] = LocalSource(tmp_path).search("CancelledError", k=1)
    assert (best.doc, best.section, best.target) == ("asyncio.pdf", "page 1", "asyncio.pdf#page=1")
    assert "raises CancelledError inside" in best.text


def test_kerned_tj_arrays_keep_words_whole():
    pdf = matplotlib_pdf(["Task cancellation raises CancelledError inside the coroutine.",
                          "AVAWAY WAVE Tokyo Type"])
    kerned = [m for s in content_streams(pdf) for m in re.findall(rb"\[([^\]]*)\]\s*TJ", s)]
    offsets = [float(n) for m in kerned for n in re.findall(rb"\)\s*(-?[\d.]+)", m)]
    assert any(abs(n) > 10 for n in offsets)  # the writer really kerned: TJ offsets
    [page] = pdf_pages(pdf)
    assert page.split("\n") == ["Task cancellation raises CancelledError inside the coroutine.",
                                "AVAWAY WAVE Tokyo Type"]


@pytest.mark.parametrize("method", ["RC4", "AES_128", "AES_256"])
def test_encrypted_pdf_with_an_empty_user_password_is_read(method):
    pdf = fpdf_pages(["Encrypted notes mention CancelledError."], user_password="",
                     encryption=method)
    assert b"/Encrypt" in pdf and b"CancelledError" not in pdf
    assert pdf_pages(pdf) == ["Encrypted notes mention CancelledError."]


def test_pdf_that_needs_a_password_is_skipped_with_the_reason():
    pdf = fpdf_pages(["Secret"], user_password="hunter2")
    with pytest.raises(ExtractError, match="^unreadable PDF: encrypted PDF that needs a password$"):
        extract("locked.pdf", pdf)


def test_pages_become_page_sections_and_textless_pages_are_left_out():
    pdf = fpdf_pages(["Alpha page.", "", "Gamma page."])
    doc = extract("papers/trio notes.pdf", pdf)
    assert doc.title == "trio notes"
    assert [(s.name, s.anchor, s.text) for s in doc.sections] == [
        ("page 1", "page=1", "Alpha page."), ("page 3", "page=3", "Gamma page.")]


def test_words_hyphenated_at_a_line_end_are_joined():
    [page] = pdf_pages(fpdf_pages(["An exam-\nple sentence."]))
    assert page == "An example sentence."


def test_pdf_without_text_is_skipped_as_scanned():
    with pytest.raises(ExtractError, match="no extractable text"):
        extract("scan.pdf", fpdf_pages(["", ""]))


def test_non_pdf_and_truncated_files_raise_one_line_reasons():
    with pytest.raises(PdfError, match=r"^not a PDF, or damaged \(Data format error\)$"):
        pdf_pages(b"<html>not a pdf</html>")
    with pytest.raises(ExtractError, match="^unreadable PDF: not a PDF"):
        extract("fake.pdf", b"%PDF-1.4 nothing else")


def test_truncated_files_never_raise_anything_but_extract_error():
    pdf = fpdf_pages(["One", "Two"])
    outcomes = set()
    for cut in range(0, len(pdf), max(1, len(pdf) // 60)):
        try:
            outcomes.add(tuple(s.text for s in extract("cut.pdf", pdf[:cut]).sections))
        except ExtractError:
            outcomes.add("skipped")
    assert "skipped" in outcomes and ("One", "Two") in outcomes

