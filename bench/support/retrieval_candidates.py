"""The retrieval indexes ``bench/research_retrieval.py`` compares, behind one
small interface, each fed the same passages:

- ``build(folder, passages)``: index ``[(doc, text), ...]`` on disk;
- ``update(folder, doc, passages)``: replace one document's passages on disk;
- ``open(folder)``: a searcher over what is on disk (the cold load);
- ``search(searcher, text, k)``: the docs of the k best passages, best first.

Candidates: ``sqlite-fts5`` (FTS5 over the package's own terms, bm25()
ranking), ``sqlite-fts5-porter`` (FTS5's porter tokenizer on the raw text
instead, to judge whether our tokenizer still earns its keep), ``bm25s``
(sparse matrices; no update, so an update is a rebuild) and ``tantivy``
(Lucene-like segments: what the package uses, see
``deeploop/research/sources/index.py``). All but the porter variant index the
package's terms (``tokens.tokenize``), so they differ only as indexes. A
candidate whose package is missing is reported as such
(``pip install -e '.[bench]'``).
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from deeploop.research.sources.tokens import STOPWORDS, tokenize


def terms(text: str) -> str:
    return " ".join(tokenize(text))


class SqliteFts5:
    name = "sqlite-fts5"
    tokenizer = "unicode61"

    def text(self, text: str) -> str:
        return terms(text)

    def query(self, text: str) -> str:
        return " OR ".join(f'"{t}"' for t in dict.fromkeys(tokenize(text)))

    def _connect(self, folder: Path) -> sqlite3.Connection:
        folder.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(folder / "index.sqlite")

    def build(self, folder: Path, passages) -> None:
        with self._connect(folder) as db:
            db.execute(f"CREATE VIRTUAL TABLE p USING fts5(doc UNINDEXED, body, "
                       f"tokenize='{self.tokenizer}')")
            db.execute("CREATE TABLE d (doc TEXT, id INTEGER)")
            self._insert(db, passages)
            db.execute("CREATE INDEX d_doc ON d (doc)")
        db.close()

    def _insert(self, db, passages) -> None:
        for doc, text in passages:
            rowid = db.execute("INSERT INTO p (doc, body) VALUES (?, ?)",
                               (doc, self.text(text))).lastrowid
            db.execute("INSERT INTO d VALUES (?, ?)", (doc, rowid))

    def update(self, folder: Path, doc: str, passages) -> None:
        with self._connect(folder) as db:
            ids = [row[0] for row in db.execute("SELECT id FROM d WHERE doc = ?", (doc,))]
            db.executemany("DELETE FROM p WHERE rowid = ?", [(i,) for i in ids])
            db.execute("DELETE FROM d WHERE doc = ?", (doc,))
            self._insert(db, passages)
        db.close()

    def open(self, folder: Path):
        return self._connect(folder)

    def search(self, db, text: str, k: int) -> list[str]:
        query = self.query(text)
        if not query:
            return []
        return [row[0] for row in db.execute(
            "SELECT doc FROM p WHERE p MATCH ? ORDER BY bm25(p), rowid LIMIT ?", (query, k))]


class SqliteFts5Porter(SqliteFts5):
    name = "sqlite-fts5-porter"
    tokenizer = "porter unicode61"

    def text(self, text: str) -> str:
        return text

    def query(self, text: str) -> str:
        words = [w for w in text.lower().split() if w.isalnum() and w not in STOPWORDS]
        return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


class Bm25s:
    name = "bm25s"

    def build(self, folder: Path, passages) -> None:
        import bm25s
        passages = list(passages)
        index = bm25s.BM25(k1=1.2, b=0.75)
        index.index([tokenize(text) or ["-"] for _, text in passages], show_progress=False)
        index.save(folder)
        (folder / "docs.json").write_text(json.dumps([doc for doc, _ in passages]))
        # bm25s has no incremental update: the texts are kept beside the
        # index so that an update can rebuild it (the honest cost).
        (folder / "texts.json").write_text(json.dumps(passages))

    def update(self, folder: Path, doc: str, passages) -> None:
        kept = [(d, t) for d, t in json.loads((folder / "texts.json").read_text()) if d != doc]
        shutil.rmtree(folder)
        self.build(folder, kept + list(passages))

    def open(self, folder: Path):
        import bm25s
        index = bm25s.BM25.load(folder, mmap=True, show_progress=False)
        return index, json.loads((folder / "docs.json").read_text())

    def search(self, opened, text: str, k: int) -> list[str]:
        index, docs = opened
        query = [t for t in tokenize(text) if t in index.vocab_dict]
        if not query:
            return []
        ids, scores = index.retrieve([query], k=min(k, len(docs)), show_progress=False)
        return [docs[i] for i, s in zip(ids[0], scores[0]) if s > 0]


class Tantivy:
    name = "tantivy"

    def _schema(self):
        import tantivy
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("doc", stored=True, tokenizer_name="raw")
        builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
        return builder.build()

    def build(self, folder: Path, passages) -> None:
        import tantivy
        folder.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(self._schema(), path=str(folder))
        self._write(index, None, passages)

    def _write(self, index, doc, passages) -> None:
        import tantivy
        writer = index.writer(heap_size=50_000_000, num_threads=1)
        if doc is not None:
            writer.delete_documents_by_term("doc", doc)
        for name, text in passages:
            writer.add_document(tantivy.Document(doc=name, body=terms(text)))
        writer.commit()
        writer.wait_merging_threads()

    def update(self, folder: Path, doc: str, passages) -> None:
        import tantivy
        self._write(tantivy.Index.open(str(folder)), doc, passages)

    def open(self, folder: Path):
        import tantivy
        index = tantivy.Index.open(str(folder))
        index.reload()
        return index

    def search(self, index, text: str, k: int) -> list[str]:
        import tantivy
        query = list(dict.fromkeys(tokenize(text)))
        if not query:
            return []
        schema = index.schema
        clauses = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t))
                   for t in query]
        searcher = index.searcher()
        hits = searcher.search(tantivy.Query.boolean_query(clauses), k).hits
        return [searcher.doc(address)["doc"][0] for _, address in hits]


CANDIDATES = [SqliteFts5(), SqliteFts5Porter(), Bm25s(), Tantivy()]


def missing(candidate) -> str:
    """'' when the candidate's package imports, else the name to install."""
    module = {"bm25s": "bm25s", "tantivy": "tantivy"}.get(candidate.name)
    if module is None:
        return ""
    try:
        __import__(module)
    except ImportError:
        return module
    return ""
