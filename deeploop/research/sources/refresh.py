"""Bringing cached entries up to date with the files of a collection.

``scan`` lists the candidate files with their stat; ``needs_work`` says,
from stats alone, whether anything may have changed; ``update_entries``
reads only the files whose stat (or racy timestamp) calls for it, keeps an
entry whose bytes turn out identical, and re-extracts the rest. Reading
bytes is injected, so the update logic is testable without a disk.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from .cache import COLLECTION_CACHE, Entry, digest
from .chunk import chunk_document
from .document import ExtractError
from .extract import extract, supported
from .passage import Skipped
from .tokens import tokenize


@dataclass(frozen=True)
class FileStat:
    path: Path
    mtime_ns: int
    size: int


@dataclass
class RefreshStats:
    """What a refresh did, by document path."""
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    ignored: int = 0          # files of unsupported types
    restamped: list[str] = field(default_factory=list)  # touched, same bytes

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def scan(root: Path) -> tuple[dict[str, FileStat], int]:
    """Supported files under ``root`` by '/'-separated relative path, and the
    number of other files. Hidden files and folders (``.git``, the index
    cache) are not part of a collection."""
    found: dict[str, FileStat] = {}
    ignored = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != COLLECTION_CACHE)
        for name in files:
            if name.startswith("."):
                continue
            if not supported(name):
                ignored += 1
                continue
            path = Path(folder, name)
            try:
                stat = path.stat()
            except OSError:  # vanished or a dangling link since the listing
                continue
            rel = path.relative_to(root).as_posix()
            found[rel] = FileStat(path, stat.st_mtime_ns, stat.st_size)
    return found, ignored


def too_large(stat: FileStat, max_bytes: int) -> str:
    if stat.size <= max_bytes:
        return ""
    return f"too large ({stat.size / 1e6:.1f} MB > {max_bytes / 1e6:g} MB limit)"


def needs_work(cached: dict[str, Entry], found: dict[str, FileStat], max_bytes: int) -> bool:
    """Whether a refresh must read anything or drop anything (stats only)."""
    if any(doc not in found for doc in cached):
        return True
    return any(not too_large(stat, max_bytes) and
               (doc not in cached or not cached[doc].unchanged(stat.mtime_ns, stat.size))
               for doc, stat in found.items())


def make_entry(doc: str, data: bytes, stat: FileStat, checked_ns: int, max_words: int) -> Entry:
    """Extract, chunk and tokenize one file's bytes into an entry."""
    entry = Entry(stat.mtime_ns, stat.size, digest(data), checked_ns)
    try:
        document = extract(doc, data)
    except ExtractError as exc:
        entry.skipped = str(exc)
        return entry
    entry.title = document.title
    for chunk in chunk_document(document, max_words):
        terms = " ".join(tokenize(f"{document.title}\n{chunk.section}\n{chunk.text}"))
        entry.chunks.append([chunk.section, chunk.anchor, chunk.text, terms])
    if not entry.chunks:
        entry.skipped = "no text"
    return entry


def diff_entries(old: dict[str, Entry], new: dict[str, Entry]) -> tuple[list, list, list]:
    """(added, updated, removed) documents between two sets of entries."""
    added = sorted(doc for doc in new if doc not in old)
    removed = sorted(doc for doc in old if doc not in new)
    updated = sorted(doc for doc, entry in new.items()
                     if doc in old and old[doc].digest != entry.digest)
    return added, updated, removed


def update_entries(cached: dict[str, Entry], found: dict[str, FileStat], *, max_bytes: int,
                   max_words: int, read: Callable[[Path], bytes] = Path.read_bytes,
                   clock: Callable[[], int] = time.time_ns,
                   ) -> tuple[dict[str, Entry], RefreshStats]:
    """New entries for ``found`` and what changed relative to ``cached``."""
    entries: dict[str, Entry] = {}
    stats = RefreshStats()
    for doc, stat in sorted(found.items()):
        old = cached.get(doc)
        if reason := too_large(stat, max_bytes):
            stats.skipped.append(Skipped(doc, reason))
            continue
        if old is not None and old.unchanged(stat.mtime_ns, stat.size):
            entries[doc] = old
            stats.unchanged += 1
            continue
        checked = clock()
        try:
            data = read(stat.path)
        except OSError as exc:
            stats.skipped.append(Skipped(doc, f"unreadable: {exc.strerror or exc}"))
            continue
        if old is not None and old.digest == digest(data):
            entries[doc] = replace(old, mtime_ns=stat.mtime_ns, size=stat.size, checked_ns=checked)
            stats.unchanged += 1
            stats.restamped.append(doc)
            continue
        entries[doc] = make_entry(doc, data, stat, checked, max_words)
        (stats.added if old is None else stats.updated).append(doc)
    stats.removed = sorted(doc for doc in cached if doc not in entries)
    stats.skipped.extend(Skipped(doc, e.skipped) for doc, e in entries.items() if e.skipped)
    stats.skipped.sort(key=lambda s: s.doc)
    return entries, stats
