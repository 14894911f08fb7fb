"""The on-disk index cache: one JSON file of per-file extraction results.

``<cache dir>/index.json`` maps each document (path relative to the
collection) to its size, mtime, content digest, title and passages with
their term counts, or to the reason it was skipped. Extraction and
tokenising are the expensive steps, so they are what is cached; the BM25
postings are rebuilt from the counts on load, which keeps the file format
simple and lets the scoring change without invalidating caches.

The file is replaced atomically (``fileio.atomic_write_text``), so readers
never need a lock: they see the old index or the new one. Writers serialise
on ``<cache dir>/lock`` so that concurrent processes do not index the same
changes twice. A cache written by another version of the extractor,
tokenizer or chunker, or one that does not parse, is ignored and rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ...fileio import atomic_write_text
from .extract import EXTRACTOR_VERSION
from .tokens import TOKENIZER_VERSION

CACHE_FORMAT = 1
INDEX_FILE = "index.json"
LOCK_FILE = "lock"
COLLECTION_CACHE = ".deeploop-index"
# File systems with coarse timestamps can hide a change made in the same
# tick as the last read; entries read this soon after their mtime are
# re-checked by content digest (git's "racy" rule).
RACY_NS = 2_000_000_000


def cache_home() -> Path:
    """Where deeploop keeps caches: $DEEPLOOP_CACHE, else $XDG_CACHE_HOME/deeploop,
    else ~/.cache/deeploop."""
    if os.environ.get("DEEPLOOP_CACHE"):
        return Path(os.environ["DEEPLOOP_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "deeploop"


def default_cache_dir(root: Path) -> Path:
    """``<collection>/.deeploop-index`` when the collection is writable,
    else a folder under ``cache_home()/index`` named by the collection's path."""
    if os.access(root, os.W_OK):
        return root / COLLECTION_CACHE
    key = hashlib.sha1(str(root).encode("utf-8")).hexdigest()[:16]
    return cache_home() / "index" / f"{root.name}-{key}"


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


@dataclass
class Entry:
    """One file's cached state; ``chunks`` are [section, anchor, text, counts]."""
    mtime_ns: int
    size: int
    digest: str
    checked_ns: int  # when the bytes were read
    title: str = ""
    chunks: list = field(default_factory=list)
    skipped: str = ""  # why the file gave no passages, if it did not

    def unchanged(self, mtime_ns: int, size: int) -> bool:
        """True when the stat proves the file is as cached, without reading it."""
        return (self.mtime_ns == mtime_ns and self.size == size
                and self.checked_ns - mtime_ns > RACY_NS)


def fingerprint(max_words: int) -> dict:
    return {"format": CACHE_FORMAT, "extractor": EXTRACTOR_VERSION,
            "tokenizer": TOKENIZER_VERSION, "max_words": max_words}


def load_entries(path: Path, expected: dict) -> dict[str, Entry]:
    """The cached entries, or {} when the cache is missing, stale or damaged."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("fingerprint") != expected:
        return {}
    try:
        return {doc: Entry(**fields) for doc, fields in raw["files"].items()}
    except (KeyError, TypeError, AttributeError):
        return {}


def save_entries(path: Path, expected: dict, entries: dict[str, Entry]) -> None:
    files = {doc: entry.__dict__ for doc, entry in sorted(entries.items())}
    text = json.dumps({"fingerprint": expected, "files": files},
                      ensure_ascii=False, separators=(",", ":"))
    atomic_write_text(path, text)
