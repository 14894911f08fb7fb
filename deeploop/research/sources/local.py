"""``local:DIR``: BM25 search over a folder of .md, .txt, .html and .pdf files.

The index is built on first search (or ``refresh()``), kept on disk (see
``index``) and brought up to date by every ``refresh()``: only new or
changed files are read again, and only their passages are rewritten.
``search`` never rescans the folder itself, so a long research session
calls ``refresh()`` when it wants to see edits.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from ...errors import InputError
from ...fileio import file_lock
from .cache import LOCK_FILE, Entry, default_cache_dir, fingerprint
from .chunk import DEFAULT_MAX_WORDS
from .extract import EXTRACTORS
from .index import PassageIndex
from .passage import Passage, Skipped
from .refresh import RefreshStats, diff_entries, needs_work, scan, update_entries
from .tokens import tokenize

DEFAULT_MAX_BYTES = 20_000_000
SUFFIXES = ", ".join(sorted({s for s in EXTRACTORS}))


def _writable(folder: Path) -> bool:
    """Whether ``folder`` is, or could be created, writable."""
    while not folder.exists():
        if folder.parent == folder:
            return False
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK)


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
        self._index: PassageIndex | None = None
        self._files: dict[str, Entry] | None = None  # as of this source's last refresh
        self._skipped: list[Skipped] = []

    def __repr__(self) -> str:
        return f"LocalSource({str(self.root)!r})"

    # -- indexing ---------------------------------------------------------

    def refresh(self) -> RefreshStats:
        """Bring the index up to date with the folder; return what changed.

        Raises InputError when the folder holds nothing searchable; in that
        case no index is written."""
        found, ignored = scan(self.root)
        if not found:
            raise InputError(f"no documents to search in {self.root}: it has no {SUFFIXES} "
                             f"files ({ignored} other files ignored)", path=str(self.root))
        index = self._index or self._open_index()
        cached = index.files()
        if index.stale or needs_work(cached, found, self.max_bytes):
            files, stats = self._update_index(index, found)
        else:
            files, stats = self._update(cached, found)
        index.reload()
        if self._files is not None:
            # Report against what this source held: another process may have
            # indexed the changes already, which makes them news to us anyway.
            stats.added, stats.updated, stats.removed = diff_entries(self._files, files)
        stats.ignored = ignored
        self._index, self._files, self._skipped = index, files, stats.skipped
        return stats

    def _update_index(self, index: PassageIndex, found) -> tuple[dict[str, Entry], RefreshStats]:
        """Read what changed and write it, under the writer lock. A first
        build that finds nothing searchable leaves no cache folder behind."""
        created = index.folder is not None and not index.folder.exists()
        try:
            with self._writer_lock(index):
                # Another process may have indexed these changes while we waited.
                if index.stale:
                    index.reopen()
                files, stats = self._update(index.files(), found)
                replaced = sorted(stats.added + stats.updated)
                if index.stale or replaced or stats.removed or stats.restamped:
                    index.apply(files, replaced, stats.removed, stats.restamped)
        except InputError:
            if created:
                shutil.rmtree(index.folder, ignore_errors=True)
            raise
        return files, stats

    def _update(self, cached: dict[str, Entry], found) -> tuple[dict[str, Entry], RefreshStats]:
        files, stats = update_entries(cached, found, max_bytes=self.max_bytes,
                                      max_words=self.max_words)
        self._check_not_empty(files, stats)
        return files, stats

    def _open_index(self) -> PassageIndex:
        """The index in the cache folder; in memory when the cache folder
        cannot be written (a read-only place). Nothing is created on disk
        before there is something to index."""
        folder = self.cache_dir if _writable(self.cache_dir) else None
        return PassageIndex(folder, fingerprint(self.max_words))

    def _writer_lock(self, index: PassageIndex):
        """The cross-process writer lock (none for an index in memory)."""
        if index.folder is None:
            return contextlib.nullcontext()
        index.folder.mkdir(parents=True, exist_ok=True)
        return file_lock(index.folder / LOCK_FILE, what=f"index of {self.root}")

    def _check_not_empty(self, files: dict[str, Entry], stats: RefreshStats) -> None:
        if any(not entry.skipped for entry in files.values()):
            return
        listed = "; ".join(str(s) for s in stats.skipped[:3])
        more = f" and {len(stats.skipped) - 3} more" if len(stats.skipped) > 3 else ""
        raise InputError(f"no searchable text in {self.root}: all {len(stats.skipped)} "
                         f"files were skipped ({listed}{more})", path=str(self.root))

    # -- the Source protocol ----------------------------------------------

    def search(self, query: str, k: int = 5, *, max_per_doc: int | None = None) -> list[Passage]:
        """The ``k`` passages that best match ``query``, best first.

        ``max_per_doc`` caps passages per document, so that asking for, say,
        5 passages with ``max_per_doc=1`` yields 5 different sources."""
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        if max_per_doc is not None and max_per_doc < 1:
            raise InputError(f"max_per_doc must be at least 1, got {max_per_doc}")
        if self._files is None:
            self.refresh()
        return self._index.search(tokenize(query), k, max_per_doc)

    def skipped(self) -> list[Skipped]:
        """Files left out at the last refresh: too large, unreadable, no text."""
        if self._files is None:
            self.refresh()
        return list(self._skipped)

    def documents(self) -> list[str]:
        """The indexed documents (relative paths), sorted."""
        if self._files is None:
            self.refresh()
        return sorted(doc for doc, entry in self._files.items() if not entry.skipped)

    def __len__(self) -> int:
        """Number of indexed passages."""
        return len(self._index) if self._index is not None else 0
