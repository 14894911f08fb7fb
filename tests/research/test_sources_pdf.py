"""The pure-Python PDF extractor, on small PDFs written byte by byte."""
from __future__ import annotations

import hashlib
import zlib

import pytest

from deeploop.research.sources.document import ExtractError
from deeploop.research.sources.extract import extract
from deeploop.research.sources.pdf import PdfError, pdf_pages
from deeploop.research.sources.pdf.cmap import parse_cmap
from deeploop.research.sources.pdf.lexer import Lexer, Name, Ref


def test_lexer_reads_the_pdf_value_types():
    lexer = Lexer(b"<< /Type /Page /Kids [3 0 R 4 0 R] /N -1.5 /S (a\\(b\\)\\101\\\nc) "
                  b"/H <48 65 6C6C 6F> /Esc /A#20B /T true /Z null >>")
    value = lexer.value()
    assert value["Type"] == "Page" and isinstance(value["Type"], Name)
    assert value["Kids"] == [Ref(3, 0), Ref(4, 0)]
    assert value["N"] == -1.5
    assert value["S"] == b"a(b)Ac"           # escaped parens, octal, line continuation
    assert value["H"] == b"Hello"            # hex string with spaces
    assert value["Esc"] == "A B"             # #xx escape in a name
    assert value["T"] is True and value["Z"] is None


def test_literal_strings_keep_balanced_parentheses():
    assert Lexer(b"(f(x) = (y))").value() == b"f(x) = (y)"


def test_text_operators_tj_tj_array_quote_and_doublequote(pdf_tools):
    content = (b"BT /F1 12 Tf 72 700 Td (Hello) Tj [-300 (wor) 20 (ld) -400 (again)] TJ "
               b"(Next line) ' 1 2 (Third line) \" 0 -14 Td <4865782074657874> Tj ET")
    [page] = pdf_pages(pdf_tools.simple_pdf([content]))
    assert page.split("\n") == ["Hello world again", "Next line", "Third line", "Hex text"]


def test_flate_compressed_pages_in_order(pdf_tools):
    pages = [b"BT /F1 12 Tf (First page body) Tj ET", b"BT /F1 12 Tf (Second page body) Tj ET"]
    assert pdf_pages(pdf_tools.simple_pdf(pages, compress=True)) == ["First page body",
                                                                      "Second page body"]


def test_winansi_and_differences_encodings(pdf_tools):
    font = (b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding "
            b"<< /Type /Encoding /BaseEncoding /WinAnsiEncoding "
            b"/Differences [1 /f_i /fi /eacute 200 /uni2014] >> >>")
    content = b"BT /F1 12 Tf (It\\222s a \\002le caf\\003 \\310 done) Tj ET"
    [page] = pdf_pages(pdf_tools.simple_pdf([content], font=font))
    assert page == "It’s a file café — done"


def test_type0_font_with_tounicode_cmap(pdf_tools):
    cmap = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
            b"2 beginbfchar <0001> <0048> <0002> <00660069> endbfchar\n"
            b"1 beginbfrange <0010> <0012> <0061> endbfrange\n"
            b"1 beginbfrange <0020> <0021> [<0078> <00E9>] endbfrange\n"
            b"endcmap CMapName currentdict /CMap defineresource pop end end")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /C0 5 0 R >> >> /Contents 4 0 R >>",
        pdf_tools.stream(b"BT /C0 10 Tf <0001001000110012> Tj [-500 <0002> -500 <00200021>] TJ ET",
                         compress=True),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /ABC+Font /Encoding /Identity-H "
        b"/ToUnicode 6 0 R >>",
        pdf_tools.stream(cmap, compress=True),
    ]
    assert pdf_pages(pdf_tools.build_pdf(objects)) == ["Habc fi xé"]


def test_parse_cmap_code_lengths_from_codespace():
    cmap, lengths = parse_cmap(b"1 begincodespacerange <00> <FF> endcodespacerange "
                               b"1 beginbfchar <41> <005A> endbfchar")
    assert cmap == {b"A": "Z"} and lengths == (1,)


def test_pages_packed_in_an_object_stream(pdf_tools):
    """PDF 1.5 files keep page dictionaries inside compressed object streams."""
    packed = [b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
              b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R "
              b"/Resources << /Font << /F1 6 0 R >> >> >>"]
    header, body = b"", b""
    for num, obj in zip((2, 3), packed):
        header += f"{num} {len(body)} ".encode()
        body += obj + b"\n"
    data = header + body
    objstm = pdf_tools.stream(data, compress=True,
                              extra=f" /Type /ObjStm /N 2 /First {len(header)}".encode())
    # Objects 2 and 3 live only inside the object stream (object 5).
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", None, None,
               pdf_tools.stream(b"BT /F1 9 Tf (Packed page text) Tj ET"), objstm,
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    assert pdf_pages(pdf_tools.build_pdf(objects)) == ["Packed page text"]


def test_wrong_length_is_recovered_from_endstream(pdf_tools):
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
               pdf_tools.stream(b"BT (Length was a lie) Tj ET", length=5)]
    assert pdf_pages(pdf_tools.build_pdf(objects)) == ["Length was a lie"]


def test_form_xobject_text_and_inline_image_are_handled(pdf_tools):
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R "
               b"/Resources << /XObject << /Fm1 5 0 R >> >> >>",
               pdf_tools.stream(b"BI /W 2 /H 1 /BPC 8 /CS /G ID \x00)(\xff EI\n"
                                b"BT (Before form) Tj ET /Fm1 Do"),
               pdf_tools.stream(b"BT (Inside the form) Tj ET",
                                extra=b" /Type /XObject /Subtype /Form /BBox [0 0 10 10]")]
    assert pdf_pages(pdf_tools.build_pdf(objects)) == ["Before form\nInside the form"]


def test_hyphenated_line_breaks_are_joined(pdf_tools):
    content = b"BT 0 0 Td (An exam-) Tj 0 -12 Td (ple sentence) Tj ET"
    assert pdf_pages(pdf_tools.simple_pdf([content])) == ["An example sentence"]


def test_encrypted_and_non_pdf_files_are_refused(pdf_tools):
    encrypted = pdf_tools.build_pdf([b"<< /Type /Catalog >>"], trailer_extra=b" /Encrypt 9 0 R")
    with pytest.raises(PdfError, match="encrypted"):
        pdf_pages(encrypted)
    with pytest.raises(PdfError, match="not a PDF"):
        pdf_pages(b"just some text")


def test_extract_turns_pages_into_page_sections(pdf_tools):
    pdf = pdf_tools.simple_pdf([b"BT (Alpha) Tj ET", b"", b"BT (Gamma) Tj ET"], compress=True)
    doc = extract("papers/trio notes.pdf", pdf)
    assert doc.title == "trio notes"
    assert [(s.name, s.anchor, s.text) for s in doc.sections] == [
        ("page 1", "page=1", "Alpha"), ("page 3", "page=3", "Gamma")]


def test_extract_reports_pdf_problems_as_skip_reasons(pdf_tools):
    with pytest.raises(ExtractError, match="no extractable text"):
        extract("scan.pdf", pdf_tools.simple_pdf([b"q 10 0 0 10 0 0 cm Q"]))
    with pytest.raises(ExtractError, match="unreadable PDF: not a PDF"):
        extract("fake.pdf", b"<html>not a pdf</html>")
    truncated = pdf_tools.simple_pdf([b"BT (x) Tj ET"], compress=True)[:40]
    with pytest.raises(ExtractError):
        extract("cut.pdf", truncated)


def test_corrupt_flate_tail_keeps_the_readable_start(pdf_tools):
    padding = b"".join(hashlib.sha256(str(i).encode()).hexdigest().encode() for i in range(200))
    good = zlib.compress(b"BT (Survives the damage) Tj ET\n%" + padding + b"\n")
    damaged = good[:len(good) // 2] + bytes(range(256))
    with pytest.raises(zlib.error):  # the damage is real: plain zlib gives up
        zlib.decompressobj().decompress(damaged)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
               b"<< /Length " + str(len(damaged)).encode() + b" /Filter /FlateDecode >>\nstream\n"
               + damaged + b"\nendstream"]
    assert pdf_pages(pdf_tools.build_pdf(objects)) == ["Survives the damage"]


def test_truncated_files_never_raise_anything_but_extract_error(pdf_tools):
    pdf = pdf_tools.simple_pdf([b"BT /F1 12 Tf (One) Tj ET", b"BT (Two) Tj ET"], compress=True)
    outcomes = set()
    for cut in range(0, len(pdf), 7):
        try:
            outcomes.add(tuple(s.text for s in extract("cut.pdf", pdf[:cut]).sections))
        except ExtractError:
            outcomes.add("skipped")
    assert "skipped" in outcomes and ("One", "Two") in outcomes


def test_lying_object_stream_header_and_length_are_tolerated(pdf_tools):
    objstm = pdf_tools.stream(b"2 0 3 99999999999",
                              extra=b" /Type /ObjStm /N 1000000000000 /First 17")
    page = pdf_tools.stream(b"BT (Still read) Tj ET", length=10**15)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>", page, objstm]
    assert pdf_pages(pdf_tools.build_pdf(objects)) == ["Still read"]


def test_long_digit_runs_are_lexed_in_linear_time(pdf_tools):
    # Backtracking number and object-header patterns were quadratic on these.
    digits = b"7" * 300_000
    content = b"BT (Digits follow) Tj ET " + digits + b"x"
    pdf = pdf_tools.simple_pdf([content]) + digits + b"x\n"
    assert pdf_pages(pdf) == ["Digits follow"]


def test_forms_drawing_themselves_do_not_multiply_without_end(pdf_tools):
    # Each run of the form draws it 50 times: unbounded, that is 50**4 runs.
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R "
               b"/Resources << /XObject << /Fm1 5 0 R >> >> >>",
               pdf_tools.stream(b"/Fm1 Do"),
               pdf_tools.stream(b"BT (x) Tj ET " + b"/Fm1 Do " * 50,
                                extra=b" /Subtype /Form /Resources 6 0 R"),
               b"<< /XObject << /Fm1 5 0 R >> >>"]
    [page] = pdf_pages(pdf_tools.build_pdf(objects))
    assert page.split() == ["x"] * 256
