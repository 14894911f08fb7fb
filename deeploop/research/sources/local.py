"""``local:DIR``: BM25 search over a folder of .md, .txt, .html and .pdf files.

The index is built on first search (or ``refresh()``), cached on disk (see
``cache``) and brought up to date by every ``refresh()``: only new or
changed files are read again. ``search`` never rescans the folder itself,
so a long research session calls ``refresh()`` when it wants to see edits.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from ...errors import InputError
from ...fileio import file_lock
from .bm25 import Bm25Index, build_index, score, top_k
from .cache import (INDEX_FILE, LOCK_FILE, Entry, default_cache_dir, fingerprint, load_entries,
                    save_entries)
from .chunk import DEFAULT_MAX_WORDS
from .extract import EXTRACTORS
from .passage import Passage, Skipped
from .refresh import RefreshStats, diff_entries, needs_work, scan, update_entries
from .tokens import tokenize

DEFAULT_MAX_BYTES = 20_000_000
SUFFIXES = ", ".join(sorted({s for s in EXTRACTORS}))


class LocalSource:
    """Search a local document collection: ``LocalSource(dir).search(q, k)``."""

    def __init__(self, root: Path | str, *, cache_dir: Path | str | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, max_words: int = DEFAULT_MAX_WORDS,
                 spec: str | None = None):
        root = Path(root).expanduser()
        if not root.exists():
            raise InputError(f"source folder not found: {root}", path=str(root))
        if not root.is_dir():
            raise InputError(f"source is a file, not a folder: {root}", path=str(root))
        if max_bytes < 1 or max_words < 1:
            raise InputError("max_bytes and max_words must be positive")
        self.root = root.resolve()
        self.spec = spec or f"local:{self.root}"
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir(self.root)
        self.max_bytes, self.max_words = max_bytes, max_words
        self._fingerprint = fingerprint(max_words)
        self._entries: dict[str, Entry] | None = None
        self._skipped: list[Skipped] = []
        self._passages: list[tuple[str, str, str, str]] = []  # doc, section, anchor, text
        self._index = Bm25Index()

    def __repr__(self) -> str:
        return f"LocalSource({str(self.root)!r})"

    # -- indexing ---------------------------------------------------------

    def refresh(self) -> RefreshStats:
        """Bring the index up to date with the folder; return what changed.

        Raises InputError when the folder holds nothing searchable; in that
        case no index file is written."""
        found, ignored = scan(self.root)
        if not found:
            raise InputError(f"no documents to search in {self.root}: it has no {SUFFIXES} "
                             f"files ({ignored} other files ignored)", path=str(self.root))
        previous = self._entries
        cached = load_entries(self._index_path, self._fingerprint) if previous is None else previous
        if needs_work(cached, found, self.max_bytes):
            with self._writer_lock() as writable:
                # Another process may have indexed these changes while we waited.
                cached = load_entries(self._index_path, self._fingerprint) or cached
                entries, stats = self._update(cached, found)
                if writable and (stats.changed or stats.restamped):
                    save_entries(self._index_path, self._fingerprint, entries)
        else:
            entries, stats = self._update(cached, found)
        if previous is not None:
            # Report against what this source held: another process may have
            # indexed the changes already, which makes them news to us anyway.
            stats.added, stats.updated, stats.removed = diff_entries(previous, entries)
        stats.ignored = ignored
        self._skipped = stats.skipped
        if previous is None or stats.changed:
            self._build(entries)
        self._entries = entries
        return stats

    def _update(self, cached: dict[str, Entry], found) -> tuple[dict[str, Entry], RefreshStats]:
        entries, stats = update_entries(cached, found, max_bytes=self.max_bytes,
                                        max_words=self.max_words)
        self._check_not_empty(entries, stats)
        return entries, stats

    @property
    def _index_path(self) -> Path:
        return self.cache_dir / INDEX_FILE

    @contextlib.contextmanager
    def _writer_lock(self):
        """Hold the cross-process writer lock; yield whether the cache can be
        written. A cache folder that cannot be created (a read-only place)
        leaves the index in memory only."""
        with contextlib.ExitStack() as stack:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                stack.enter_context(file_lock(self.cache_dir / LOCK_FILE,
                                              what=f"index of {self.root}"))
                writable = True
            except (OSError, InputError):
                writable = False
            yield writable

    def _check_not_empty(self, entries: dict[str, Entry], stats: RefreshStats) -> None:
        if any(entry.chunks for entry in entries.values()):
            return
        listed = "; ".join(str(s) for s in stats.skipped[:3])
        more = f" and {len(stats.skipped) - 3} more" if len(stats.skipped) > 3 else ""
        raise InputError(f"no searchable text in {self.root}: all {len(stats.skipped)} "
                         f"files were skipped ({listed}{more})", path=str(self.root))

    def _build(self, entries: dict[str, Entry]) -> None:
        passages, counts = [], []
        for doc, entry in sorted(entries.items()):
            for section, anchor, text, terms in entry.chunks:
                passages.append((doc, section, anchor, text))
                counts.append(terms)
        self._passages = passages
        self._index = build_index(counts)

    # -- the Source protocol ----------------------------------------------

    def search(self, query: str, k: int = 5, *, max_per_doc: int | None = None) -> list[Passage]:
        """The ``k`` passages that best match ``query``, best first.

        ``max_per_doc`` caps passages per document, so that asking for, say,
        5 passages with ``max_per_doc=1`` yields 5 different sources."""
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        if max_per_doc is not None and max_per_doc < 1:
            raise InputError(f"max_per_doc must be at least 1, got {max_per_doc}")
        if self._entries is None:
            self.refresh()
        scores = score(self._index, tokenize(query))
        ranked = top_k(scores, k if max_per_doc is None else len(scores))
        results, per_doc = [], {}
        for pid, value in ranked:
            doc, section, anchor, text = self._passages[pid]
            if max_per_doc is not None:
                if per_doc.get(doc, 0) >= max_per_doc:
                    continue
                per_doc[doc] = per_doc.get(doc, 0) + 1
            results.append(Passage(doc, section, text, round(value, 6), anchor))
            if len(results) == k:
                break
        return results

    def skipped(self) -> list[Skipped]:
        """Files left out at the last refresh: too large, unreadable, no text."""
        if self._entries is None:
            self.refresh()
        return list(self._skipped)

    def documents(self) -> list[str]:
        """The indexed documents (relative paths), sorted."""
        if self._entries is None:
            self.refresh()
        return sorted(doc for doc, entry in self._entries.items() if entry.chunks)

    def __len__(self) -> int:
        """Number of indexed passages."""
        return len(self._passages)
