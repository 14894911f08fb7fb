"""A collection's index on disk: passages in tantivy, one row per file in SQLite.

``bench/research_retrieval.py`` chose tantivy among SQLite FTS5, bm25s and
tantivy (figures in docs/research-sources.md): with the same terms and the
same recall and MRR, it answers a query in 12 ms at 100,000 documents where
FTS5's bm25() takes 870 ms, it replaces one document in a fraction of a
second where bm25s rebuilds everything, and it opens from disk in
milliseconds without rebuilding anything.

In the cache folder:

- ``passages/``: a tantivy index, one tantivy document per passage: ``doc``
  (the file, kept whole so a file's passages can be replaced), ``section``,
  ``anchor`` and ``text`` (stored, not indexed) and ``terms`` (the package's own terms,
  ``tokens.tokenize`` of title, section and text, ranked by tantivy's BM25:
  k1 1.2, b 0.75, Lucene's idf).
- ``files.sqlite``: what the refresh needs to know about each file
  (``cache.Entry`` without its passages) and the index's fingerprint.

A change writes the passages first and the file rows second: a crash in
between leaves a file whose row is older than its passages, so the next
refresh reads it again and replaces its passages, which is idempotent.
Readers need no lock (tantivy publishes a commit atomically, SQLite has its
own); writers hold the source's writer lock. An index that does not open,
or was made under another fingerprint, reports ``stale`` and is wiped by the
next ``apply``. ``PassageIndex(None, ...)`` keeps everything in memory.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import tantivy

from .cache import Entry
from .passage import Passage

PASSAGES_DIR = "passages"
FILES_DB = "files.sqlite"
WRITER_HEAP = 50_000_000
_STORED = ("section", "anchor", "text")
_FIELDS = ("mtime_ns", "size", "digest", "checked_ns", "title", "skipped")
_SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS files (doc TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, "
    "digest TEXT, checked_ns INTEGER, title TEXT, skipped TEXT)",
)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("doc", stored=True, tokenizer_name="raw")
    # Kept, never searched: tantivy indexes every text field, bytes it can just store.
    for name in _STORED:
        builder.add_bytes_field(name, stored=True, indexed=False)
    builder.add_text_field("terms", tokenizer_name="whitespace", index_option="freq")
    return builder.build()


class PassageIndex:
    """The index of one collection, in ``folder`` (or in memory for None)."""

    def __init__(self, folder: Path | None, fingerprint: dict):
        self.folder = folder
        self.fingerprint = json.dumps(fingerprint, sort_keys=True)
        self.schema = _schema()
        self.stale = False
        self.db = self._open_db()
        self.index = self._open_passages()

    # -- opening ------------------------------------------------------------

    def _open_db(self) -> sqlite3.Connection | None:
        """The file table; None (stale) while there is none on disk, so that
        opening an index creates nothing."""
        if self.folder is not None and not (self.folder / FILES_DB).is_file():
            self.stale = True
            return None
        db = sqlite3.connect(self.folder / FILES_DB if self.folder else ":memory:",
                             timeout=60, isolation_level=None)
        try:
            for statement in _SCHEMA_SQL:
                db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        except sqlite3.DatabaseError:  # not a database, or damaged
            self.stale = True
            return db
        self.stale = self.stale or row is None or row[0] != self.fingerprint
        return db

    def _open_passages(self) -> tantivy.Index | None:
        if self.folder is None:
            return tantivy.Index(self.schema)
        path = self.folder / PASSAGES_DIR
        try:
            if tantivy.Index.exists(str(path)):
                return tantivy.Index.open(str(path))
        except ValueError:  # damaged index files
            pass
        self.stale = True
        return None

    def reopen(self) -> None:
        """Open again what is on disk now: another process may have built
        the index since this one found it missing or stale."""
        if self.folder is None:
            return
        self.close()
        self.stale = False
        self.db = self._open_db()
        self.index = self._open_passages()

    def _reset(self) -> None:
        """Start again from nothing (under the writer lock)."""
        if self.folder is not None:
            if self.db is not None:
                self.db.close()
            for suffix in ("", "-journal", "-wal", "-shm"):
                (self.folder / (FILES_DB + suffix)).unlink(missing_ok=True)
            shutil.rmtree(self.folder / PASSAGES_DIR, ignore_errors=True)
            (self.folder / PASSAGES_DIR).mkdir(parents=True)
            (self.folder / FILES_DB).touch()
            self.db = self._open_db()
            self.index = tantivy.Index(self.schema, path=str(self.folder / PASSAGES_DIR))
        else:
            self.db.execute("DELETE FROM files")
            self.index = tantivy.Index(self.schema)
        self.stale = False

    # -- reading ------------------------------------------------------------

    def files(self) -> dict[str, Entry]:
        """Every indexed file's state (no passages); {} when stale."""
        if self.stale:
            return {}
        rows = self.db.execute(f"SELECT doc, {', '.join(_FIELDS)} FROM files")
        return {doc: Entry(mtime, size, digest, checked, title, [], skipped)
                for doc, mtime, size, digest, checked, title, skipped in rows}

    def reload(self) -> None:
        """See what was committed since, by this process or another."""
        if self.index is not None:
            self.index.reload()

    def __len__(self) -> int:
        return 0 if self.index is None else self.index.searcher().num_docs

    def search(self, terms: list[str], k: int, max_per_doc: int | None = None) -> list[Passage]:
        """The k best passages for ``terms`` (a term repeated counts more),
        best first, with at most ``max_per_doc`` from any one file."""
        if self.index is None or not terms:
            return []
        clauses = []
        for term, repeat in Counter(terms).items():
            query = tantivy.Query.term_query(self.schema, "terms", term)
            if repeat > 1:
                query = tantivy.Query.boost_query(query, float(repeat))
            clauses.append((tantivy.Occur.Should, query))
        query = tantivy.Query.boolean_query(clauses)
        searcher = self.index.searcher()
        limit = k if max_per_doc is None else 4 * k
        while True:
            hits = searcher.search(query, limit).hits
            results = self._passages(searcher, hits, k, max_per_doc)
            if len(results) == k or len(hits) < limit:
                return results
            limit *= 4

    @staticmethod
    def _passages(searcher, hits, k: int, max_per_doc: int | None) -> list[Passage]:
        results, per_doc = [], Counter()
        for score, address in hits:
            fields = searcher.doc(address)
            doc = fields["doc"][0]
            if max_per_doc is not None and per_doc[doc] >= max_per_doc:
                continue
            per_doc[doc] += 1
            section, anchor, text = (fields[name][0].decode("utf-8") for name in _STORED)
            results.append(Passage(doc, section, text, round(score, 6), anchor))
            if len(results) == k:
                break
        return results

    # -- writing (under the writer lock) -------------------------------------

    def apply(self, entries: dict[str, Entry], replaced: list[str], removed: list[str],
              restamped: list[str]) -> None:
        """Write ``replaced`` files' passages (from ``entries``), drop
        ``removed`` files, and record new stats for ``restamped`` ones."""
        if self.stale:
            self._reset()
        if replaced or removed:
            writer = self.index.writer(heap_size=WRITER_HEAP, num_threads=1)
            for doc in [*replaced, *removed]:
                writer.delete_documents_by_term("doc", doc)
            for doc in replaced:
                for section, anchor, text, terms in entries[doc].chunks:
                    writer.add_document(tantivy.Document(
                        doc=doc, section=section.encode("utf-8"), anchor=anchor.encode("utf-8"),
                        text=text.encode("utf-8"), terms=terms))
            writer.commit()
            writer.wait_merging_threads()
        rows = [(doc, *(getattr(entries[doc], name) for name in _FIELDS))
                for doc in [*replaced, *restamped]]
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("DELETE FROM files WHERE doc = ?", [(doc,) for doc in removed])
            self.db.executemany(f"INSERT OR REPLACE INTO files VALUES ({', '.join('?' * 7)})",
                                rows)
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)",
                            (self.fingerprint,))
        self.index.reload()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
