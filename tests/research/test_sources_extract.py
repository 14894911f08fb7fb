"""Markdown, HTML and plain-text extraction into named sections."""
from __future__ import annotations

import pytest

from deeploop.research.sources.document import ExtractError, slugify
from deeploop.research.sources.extract import extract, supported


def sections(doc):
    return [(s.name, s.anchor, s.text) for s in doc.sections]


def test_markdown_atx_and_setext_headings_open_sections():
    text = ("Intro before any heading.\n\n"
            "# Structured concurrency\n\nNurseries own tasks.\n\n"
            "Cancel scopes\n-------------\n\nScopes cancel together.\n\n"
            "## Errors ##\nExceptionGroup collects failures.\n")
    doc = extract("notes/sc.md", text.encode())
    assert doc.title == "Structured concurrency"
    assert sections(doc) == [
        ("", "", "Intro before any heading."),
        ("Structured concurrency", "structured-concurrency", "Nurseries own tasks."),
        ("Cancel scopes", "cancel-scopes", "Scopes cancel together."),
        ("Errors", "errors", "ExceptionGroup collects failures."),
    ]


def test_markdown_fenced_code_is_text_not_headings():
    text = "# Usage\n\n```python\n# not a heading\nprint(1)\n```\n\nAfter.\n"
    doc = extract("a.md", text.encode())
    assert len(doc.sections) == 1
    assert "# not a heading" in doc.sections[0].text and "After." in doc.sections[0].text


def test_markdown_thematic_break_after_blank_line_is_not_a_heading():
    doc = extract("a.md", b"# Top\n\nPara one.\n\n---\n\nPara two.\n")
    assert [s.name for s in doc.sections] == ["Top"]


def test_markdown_front_matter_title_and_repeated_heading_anchors():
    text = "---\ntitle: \"Trio notes\"\ntags: [a]\n---\n## Setup\nOne.\n## Setup\nTwo.\n"
    doc = extract("trio.md", text.encode())
    assert doc.title == "Trio notes"
    assert [(s.name, s.anchor) for s in doc.sections] == [("Setup", "setup"), ("Setup", "setup-1")]


def test_markdown_heading_marks_removed_but_snake_case_kept():
    doc = extract("a.md", b"## The **create_task** function and `*args`\nBody.\n")
    assert doc.sections[0].name == "The create_task function and *args"


def test_slugify_matches_github_anchors():
    assert slugify("Task Groups & Cancel-Scopes (3.11)") == "task-groups--cancel-scopes-311"


def test_html_drops_scripts_and_styles_and_uses_headings():
    html = (b"<html><head><title>Async guide</title><style>h1{color:red}</style>"
            b"<script>var secret = 1;</script></head><body>"
            b"<p>Lead &amp; intro.</p><h2 id=x>Event <em>loops</em></h2>"
            b"<p>One loop per thread.</p><ul><li>first</li><li>second</li></ul>"
            b"<h3>Code</h3><pre>for x in y:\n    await x</pre></body></html>")
    doc = extract("guide.html", html)
    assert doc.title == "Async guide"
    assert sections(doc) == [
        ("", "", "Lead & intro."),
        ("Event loops", "event-loops", "One loop per thread.\n\nfirst\n\nsecond"),
        ("Code", "code", "for x in y:\n    await x"),
    ]
    assert "secret" not in doc.text and "color" not in doc.text


def test_html_without_head_close_and_with_declared_charset():
    html = ('<meta charset="iso-8859-1"><h1>Caf\xe9</h1><p>cr\xe8me</p>').encode("latin-1")
    doc = extract("page.htm", html)
    assert doc.title == "Café"
    assert sections(doc) == [("Café", "café", "crème")]


def test_plain_text_is_one_untitled_section_of_paragraphs():
    doc = extract("reading-list_2024.txt", b"First para\nline two.\n\n\n\nSecond para.\n")
    assert doc.title == "reading list 2024"
    assert sections(doc) == [("", "", "First para\nline two.\n\nSecond para.")]


def test_text_that_is_not_utf8_falls_back_to_windows_1252():
    assert extract("a.txt", "na\xefve \u2019quote\u2019".encode("cp1252")).text == "naïve ’quote’"


@pytest.mark.parametrize("name", ["data.txt", "notes.md", "page.html"])
def test_binary_content_with_a_text_suffix_is_refused(name):
    with pytest.raises(ExtractError, match="binary content"):
        extract(name, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def test_supported_suffixes_are_case_insensitive():
    assert supported("A.PDF") and supported("x.Markdown") and not supported("image.png")
    with pytest.raises(ExtractError, match="unsupported file type .docx"):
        extract("report.docx", b"PK")


def test_closing_hashes_are_dropped_but_a_hash_inside_a_word_stays():
    doc = extract("a.md", b"## Errors ##\none\n## C#\ntwo\n#hashtag\n")
    assert [s.name for s in doc.sections] == ["Errors", "C#"]
    assert doc.sections[1].text == "two\n#hashtag"


def test_pathological_lines_are_handled_in_linear_time():
    # Quadratic heading and front-matter patterns took minutes on these lines.
    blank_run = " " * 300_000
    text = f"---\ntitle: {blank_run}x\n---\n# a{blank_run}b\n\nbody\n"
    doc = extract("a.md", text.encode())
    assert doc.title == "x" and doc.sections[0].text == "body"
