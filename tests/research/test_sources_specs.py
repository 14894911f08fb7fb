"""Source specs, bad input, and the offline stdlib sample collection."""
from __future__ import annotations

import pytest

from deeploop.errors import InputError
from deeploop.research import sources
from deeploop.research.sources import LocalSource, get_source, register, sample_collection
from deeploop.research.sources.sample import STDLIB_MODULES, render_module


@pytest.mark.parametrize("spec, message", [
    ("web:anything",
     "unknown source spec 'web:anything': use one of local:<folder>, sample:stdlib"),
    ("papers", "unknown source spec 'papers'"),
    ("", "unknown source spec ''"),
    ("local:", "source spec 'local:' is incomplete: use local:<folder>"),
    ("sample:physics",
     "unknown sample collection 'sample:physics': known samples are sample:stdlib"),
])
def test_bad_specs_are_one_line_input_errors(spec, message):
    with pytest.raises(InputError) as err:
        get_source(spec)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    with pytest.raises(InputError, match=f"source folder not found: {tmp_path / 'nope'}"):
        get_source(f"local:{tmp_path / 'nope'}")
    (tmp_path / "a.md").write_text("# A\n\ntext\n")
    with pytest.raises(InputError, match="source is a file, not a folder"):
        get_source(f"local:{tmp_path / 'a.md'}")


def test_home_folder_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "a.md").write_text("# Heading\n\nExpanded home folders work.\n")
    source = get_source("local:~/papers")
    assert source.root == (tmp_path / "papers").resolve()
    assert source.search("expanded home", k=1)[0].doc == "a.md"


def test_empty_collection_is_refused_and_nothing_is_written(tmp_path):
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / ".hidden.md").write_text("# hidden files are not part of a collection\n")
    source = get_source(f"local:{tmp_path}")
    with pytest.raises(InputError) as err:
        source.search("anything")
    assert str(err.value) == (
        f"no documents to search in {tmp_path}: it has no .htm, .html, .markdown, .md, .pdf, "
        f".rst, .text, .txt files (1 other files ignored)")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden.md", "photo.jpg"]


def test_collection_where_every_file_is_skipped_says_why(tmp_path, pdf_tools):
    (tmp_path / "a.pdf").write_bytes(pdf_tools.fpdf_pages(["locked"], user_password="hunter2"))
    (tmp_path / "b.txt").write_text("")
    with pytest.raises(InputError) as err:
        LocalSource(tmp_path).refresh()
    assert str(err.value) == (
        f"no searchable text in {tmp_path}: all 2 files were skipped "
        f"(a.pdf: unreadable PDF: encrypted PDF that needs a password; b.txt: no text)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf", "b.txt"]


def test_bad_search_arguments(tmp_path):
    (tmp_path / "a.md").write_text("# A\n\ntext\n")
    source = LocalSource(tmp_path)
    with pytest.raises(InputError, match="k must be at least 1, got 0"):
        source.search("text", k=0)
    with pytest.raises(InputError, match="max_per_doc must be at least 1"):
        source.search("text", max_per_doc=0)


def test_new_schemes_register_by_name(tmp_path, monkeypatch):
    # A private copy of the registry, so other tests still see the built-in schemes only.
    monkeypatch.setattr(sources, "_SOURCES", sources._SOURCES.copy())
    (tmp_path / "a.md").write_text("# A\n\nregistered schemes build sources\n")
    register("mirror", lambda arg, **options: LocalSource(tmp_path, spec=f"mirror:{arg}"),
             "mirror:<name>")
    source = get_source("mirror:x")
    assert source.spec == "mirror:x" and source.search("registered", k=1)[0].doc == "a.md"


def test_sample_collection_renders_stdlib_modules_once(private_cache):
    folder = sample_collection()
    assert folder.parent == private_cache
    names = {p.stem for p in folder.glob("*.md")}
    assert {"argparse", "json", "urllib.parse", "bisect"} <= names <= set(STDLIB_MODULES)
    stamp = (folder / "json.md").stat().st_mtime_ns
    assert sample_collection() == folder and (folder / "json.md").stat().st_mtime_ns == stamp


def test_rendered_module_has_a_section_per_documented_member():
    import json
    text = render_module(json)
    assert text.startswith("# json — JSON (JavaScript Object Notation)")
    assert "\n## json.dumps\n\n`json.dumps(obj, *, skipkeys=False" in text
    assert "\n## class json.JSONDecoder\n" in text and "\n### json.JSONDecoder.decode\n" in text


@pytest.mark.parametrize("question, module, section", [
    ("parse command line arguments with subcommands", "argparse.md", None),
    ("serialize an object to a JSON formatted string", "json.md", "json.dumps"),
    ("index where to insert an item in a sorted list", "bisect.md", None),
    ("run a program and capture its output", "subprocess.md", "subprocess.run"),
])
def test_sample_source_answers_stdlib_questions(question, module, section):
    top = get_source("sample:stdlib").search(question, k=3)
    assert top[0].doc == module
    if section:
        assert section in [p.section for p in top]
