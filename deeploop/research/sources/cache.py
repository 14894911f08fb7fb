"""Where a collection's index lives, and what it remembers about each file.

The index itself (``index.PassageIndex``) sits in the cache folder:
``<collection>/.deeploop-index`` when the collection is writable, else a
folder under ``cache_home()``. Per file it remembers size, mtime, content
digest and when the bytes were read (an ``Entry``), so a refresh reads only
files that may have changed. ``fingerprint`` names everything that shapes
the index; an index made under another fingerprint is rebuilt.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .extract import EXTRACTOR_VERSION
from .tokens import TOKENIZER_VERSION

CACHE_FORMAT = 3
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
    """One file's state. ``chunks`` ([section, anchor, text, terms]) are
    filled when the file was just extracted, empty when read back from the
    index (which keeps the passages themselves)."""
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
