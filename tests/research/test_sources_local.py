"""``local:DIR``: search, citations, the on-disk index and its refresh."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from deeploop.research.sources import LocalSource, Passage, get_source
from deeploop.research.sources.cache import Entry, fingerprint
from deeploop.research.sources.index import FILES_DB, PASSAGES_DIR
from deeploop.research.sources.refresh import FileStat, update_entries


ALL_DOCS = ["kernel.pdf", "sub/asyncio guide.html", "threads.txt", "trio.md"]


@pytest.fixture
def collection(tmp_path, pdf_tools):
    root = tmp_path / "papers"
    (root / "sub").mkdir(parents=True)
    (root / "trio.md").write_text("# Trio\n\n## Nurseries\n\nA nursery owns its child tasks "
                                  "and waits for all of them.\n\n## Cancel scopes\n\nCancel "
                                  "scopes stop every task inside them at once.\n")
    (root / "sub" / "asyncio guide.html").write_text(
        "<title>asyncio</title><h2>Task groups</h2><p>TaskGroup was added in Python 3.11 "
        "and cancels sibling tasks when one fails.</p>")
    (root / "threads.txt").write_text("Threads share memory; the GIL serialises bytecode.\n")
    (root / "kernel.pdf").write_bytes(pdf_tools.fpdf_pages(
        ["Kernel threads are scheduled preemptively", "Green threads yield cooperatively"]))
    (root / "image.png").write_bytes(b"\x89PNG")
    return root


def docs(passages: list[Passage]) -> list[str]:
    return [p.doc for p in passages]


def indexed_files(collection: Path) -> dict[str, str]:
    """doc -> digest, as the index's file table holds them."""
    with sqlite3.connect(collection / ".deeploop-index" / FILES_DB) as db:
        return dict(db.execute("SELECT doc, digest FROM files"))


def age(path: Path, seconds: int = 60) -> None:
    """Backdate a file so its timestamp is not 'racy' (too recent to trust)."""
    stamp = path.stat().st_mtime_ns - seconds * 10**9
    os.utime(path, ns=(stamp, stamp))


def test_search_returns_cited_passages_from_every_format(collection):
    source = get_source(f"local:{collection}")
    best = source.search("nursery child tasks", k=1)[0]
    assert (best.doc, best.section, best.anchor) == ("trio.md", "Nurseries", "nurseries")
    assert best.citation() == "([trio.md § Nurseries](trio.md#nurseries))"
    html = source.search("TaskGroup sibling", k=1)[0]
    assert html.doc == "sub/asyncio guide.html"
    assert html.target == "sub/asyncio%20guide.html#task-groups"
    pdf = source.search("green threads cooperatively", k=1)[0]
    assert (pdf.doc, pdf.section, pdf.target) == ("kernel.pdf", "page 2", "kernel.pdf#page=2")
    assert source.search("GIL bytecode", k=1)[0].citation() == "([threads.txt](threads.txt))"


def test_results_are_ranked_and_limited(collection):
    source = LocalSource(collection)
    results = source.search("threads", k=2)
    assert len(results) == 2 and results[0].score >= results[1].score
    assert set(docs(source.search("threads", k=10))) == {"kernel.pdf", "threads.txt"}
    assert source.search("zebra unicorn", k=5) == []


def test_max_per_doc_spreads_results_over_documents(collection):
    source = LocalSource(collection)
    assert docs(source.search("threads", k=3)).count("kernel.pdf") == 2
    spread = source.search("threads", k=3, max_per_doc=1)
    assert sorted(docs(spread)) == ["kernel.pdf", "threads.txt"]


def test_index_is_cached_in_the_collection_and_reused(collection):
    for path in collection.rglob("*.*"):
        age(path)
    first = LocalSource(collection)
    stats = first.refresh()
    assert sorted(stats.added) == ALL_DOCS
    assert stats.ignored == 1  # image.png
    folder = collection / ".deeploop-index"
    written = {path: path.stat().st_mtime_ns for path in folder.rglob("*") if path.is_file()}
    assert folder / FILES_DB in written and folder / PASSAGES_DIR / "meta.json" in written
    second = LocalSource(collection)
    again = second.refresh()
    assert again.added == [] and again.unchanged == 4
    assert {path: path.stat().st_mtime_ns for path in written} == written  # nothing rewritten
    assert docs(second.search("cancel scopes", k=1)) == ["trio.md"]


def test_refresh_sees_changed_added_and_deleted_files(collection):
    for path in collection.rglob("*.*"):
        age(path)
    source = LocalSource(collection)
    source.refresh()
    (collection / "threads.txt").write_text("Subinterpreters each have their own GIL.\n")
    (collection / "new.md").write_text("# Channels\n\nMemory channels pass values between tasks.\n")
    (collection / "trio.md").unlink()
    stats = source.refresh()
    assert (stats.updated, stats.added, stats.removed) == (["threads.txt"], ["new.md"], ["trio.md"])
    assert docs(source.search("subinterpreters", k=1)) == ["threads.txt"]
    assert docs(source.search("memory channels", k=1)) == ["new.md"]
    assert "trio.md" not in docs(source.search("nursery cancel scopes", k=10))
    reloaded = LocalSource(collection)
    assert reloaded.refresh().added == [] and "new.md" in reloaded.documents()


def test_a_source_sees_changes_another_process_already_indexed(collection):
    for path in collection.rglob("*.*"):
        age(path)
    mine, theirs = LocalSource(collection), LocalSource(collection)
    mine.refresh(), theirs.refresh()
    (collection / "threads.txt").write_text("Free-threaded builds drop the GIL.\n")
    assert theirs.refresh().updated == ["threads.txt"]  # writes the new index first
    assert mine.refresh().updated == ["threads.txt"]
    assert docs(mine.search("free threaded builds", k=1)) == ["threads.txt"]


def test_touched_but_identical_file_is_not_reindexed(collection):
    source = LocalSource(collection)
    source.refresh()
    (collection / "trio.md").touch()
    stats = source.refresh()
    assert not stats.changed and stats.unchanged == 4


def entry(mtime_ns: int, checked_ns: int, data: bytes = b"old text") -> Entry:
    from deeploop.research.sources.cache import digest
    return Entry(mtime_ns, len(data), digest(data), checked_ns, "t", [["", "", "old text", ""]])


def refuse_read(path):
    raise AssertionError(f"{path} should not have been read")


def test_stat_proves_unchanged_only_when_the_read_was_well_after_the_mtime():
    stat = FileStat(Path("/c/a.txt"), 10**12, 8)
    safe = {"a.txt": entry(10**12, 10**12 + 10 * 10**9)}
    entries, stats = update_entries(safe, {"a.txt": stat}, max_bytes=100, max_words=50,
                                    read=refuse_read)
    assert stats.unchanged == 1 and entries["a.txt"] is safe["a.txt"]
    racy = {"a.txt": entry(10**12, 10**12 + 10**8)}  # read 0.1 s after the write
    entries, stats = update_entries(racy, {"a.txt": stat}, max_bytes=100, max_words=50,
                                    read=lambda path: b"new text", clock=lambda: 10**13)
    assert stats.updated == ["a.txt"] and "new" in entries["a.txt"].chunks[0][2]


def test_unreadable_and_huge_files_are_skipped_and_listed(collection):
    def read(path):
        if path.name == "threads.txt":
            raise PermissionError(13, "Permission denied")
        return path.read_bytes()
    found = {"threads.txt": FileStat(collection / "threads.txt", 1, 10),
             "big.md": FileStat(collection / "big.md", 1, 30_000_000),
             "trio.md": FileStat(collection / "trio.md", 1, 10)}
    entries, stats = update_entries({}, found, max_bytes=20_000_000, max_words=50, read=read)
    assert list(entries) == ["trio.md"]
    assert [str(s) for s in stats.skipped] == [
        "big.md: too large (30.0 MB > 20 MB limit)", "threads.txt: unreadable: Permission denied"]


def test_skipped_files_are_listed_by_the_source(collection):
    (collection / "broken.pdf").write_bytes(b"%PDF-1.4 nothing else")
    (collection / "huge.txt").write_text("word " * 2000)
    source = LocalSource(collection, max_bytes=5000)
    assert {s.doc: s.reason for s in source.skipped()} == {
        "broken.pdf": "unreadable PDF: not a PDF, or damaged (Data format error)",
        "huge.txt": "too large (0.0 MB > 0.005 MB limit)"}
    assert "huge.txt" not in source.documents()


def test_damaged_or_foreign_index_is_rebuilt(collection):
    LocalSource(collection).refresh()
    folder = collection / ".deeploop-index"
    (folder / FILES_DB).write_bytes(b"not a database " * 100)
    assert len(LocalSource(collection).refresh().added) == 4
    stale = json.dumps(dict(fingerprint(150), tokenizer=-1), sort_keys=True)
    with sqlite3.connect(folder / FILES_DB) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'fingerprint'", (stale,))
    assert len(LocalSource(collection).refresh().added) == 4
    (folder / PASSAGES_DIR / "meta.json").write_text("{ not json")
    rebuilt = LocalSource(collection)
    assert len(rebuilt.refresh().added) == 4
    assert docs(rebuilt.search("nursery", k=1)) == ["trio.md"]


def test_an_edit_replaces_only_that_files_passages(collection):
    for path in collection.rglob("*.*"):
        age(path)
    source = LocalSource(collection)
    source.refresh()
    before = len(source)
    (collection / "trio.md").write_text("# Trio\n\n## Nurseries\n\nNurseries supervise tasks.\n")
    assert source.refresh().updated == ["trio.md"]
    assert len(source) == before - 1  # trio.md went from two passages to one
    assert source.search("supervise", k=1)[0].text == "Nurseries supervise tasks."
    assert docs(source.search("green threads cooperatively", k=1)) == ["kernel.pdf"]


def test_passages_written_before_a_crash_are_replaced_not_doubled(collection):
    """A crash between the passages' commit and the file rows leaves a file
    without its row: the next refresh reads it again and replaces them."""
    source = LocalSource(collection)
    source.refresh()
    passages = len(source)
    with sqlite3.connect(collection / ".deeploop-index" / FILES_DB) as db:
        db.execute("DELETE FROM files WHERE doc = 'trio.md'")
    again = LocalSource(collection)
    assert again.refresh().added == ["trio.md"]
    assert len(again) == passages and len(again.search("nursery", k=10)) == 1


def test_read_only_collection_indexes_into_the_given_cache_dir(collection, tmp_path):
    cache = tmp_path / "elsewhere"
    source = LocalSource(collection, cache_dir=cache)
    assert docs(source.search("nursery", k=1)) == ["trio.md"]
    assert (cache / FILES_DB).is_file() and not (collection / ".deeploop-index").exists()


def test_unusable_cache_place_keeps_the_index_in_memory(collection, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("a cache folder cannot be made under a file (even by root)")
    source = LocalSource(collection, cache_dir=blocker / "index")
    assert docs(source.search("nursery", k=1)) == ["trio.md"]
    (collection / "new.md").write_text("# Channels\n\nMemory channels pass values.\n")
    assert source.refresh().added == ["new.md"]
    assert docs(source.search("memory channels", k=1)) == ["new.md"]


def test_concurrent_processes_build_one_valid_index(collection):
    script = ("import sys; from deeploop.research.sources import LocalSource; "
              "print(LocalSource(sys.argv[1]).search('nursery tasks', k=1)[0].target)")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(collection)],
                              stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [proc.communicate(timeout=120)[0].strip() for proc in procs]
    assert outputs == ["trio.md#nurseries"] * 3
    assert sorted(indexed_files(collection)) == ALL_DOCS
    assert len(LocalSource(collection).search("threads", k=10)) == 3  # no passage twice


def test_an_index_built_by_another_process_meanwhile_is_used_not_rebuilt(collection,
                                                                         monkeypatch):
    for path in collection.rglob("*.*"):
        age(path)
    mine = LocalSource(collection)
    mine._index = mine._open_index()  # opened while nothing was on disk yet
    assert mine._index.stale
    LocalSource(collection).refresh()  # another process builds the index first
    from deeploop.research.sources import refresh

    def no_extraction(doc, *args, **kwargs):
        raise AssertionError(f"{doc} was extracted again")
    monkeypatch.setattr(refresh, "make_entry", no_extraction)
    stats = mine.refresh()
    assert stats.added == [] and stats.unchanged == 4
    assert docs(mine.search("nursery", k=1)) == ["trio.md"]
