"""TinyStories as a corpus: from a local copy, or from the Hugging Face hub.

The dataset ships as ``<|endoftext|>``-separated stories in two text files,
``TinyStoriesV2-GPT4-train.txt`` (~2 GB) and ``...-valid.txt`` (~22 MB). A
folder holding both uses the official split (train capped at ``max_bytes``);
a single file is split by story, every tenth story to validation. From the
hub only the small validation file is fetched, and only when the optional
``huggingface_hub`` package and the network are both there; nothing here
runs in tests or CI except on a local file.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .corpus import VAL_EVERY, Corpus, _checked, sha256

REPO_ID = "roneneldan/TinyStories"
TRAIN_FILE = "TinyStoriesV2-GPT4-train.txt"
VALID_FILE = "TinyStoriesV2-GPT4-valid.txt"
SEPARATOR = b"<|endoftext|>"
MAX_BYTES = 64 * 2 ** 20  # plenty for a budget of minutes; keeps memory bounded


def stories(text: bytes) -> list[bytes]:
    """Non-empty stories, each ending in one newline, separators dropped."""
    return [s.strip() + b"\n" for s in text.split(SEPARATOR) if s.strip()]


def _read_head(path: Path, max_bytes: int) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(max_bytes)
    cut = data.rfind(SEPARATOR)  # never keep half a story
    return data if len(data) < max_bytes or cut < 0 else data[:cut]


def from_text(text: bytes, source: str) -> Corpus:
    docs = stories(text)
    if not docs:
        raise InputError(f"TinyStories file {source} holds no stories")
    val = b"".join(d for i, d in enumerate(docs) if i % VAL_EVERY == VAL_EVERY - 1)
    train = b"".join(d for i, d in enumerate(docs) if i % VAL_EVERY != VAL_EVERY - 1)
    return _checked(Corpus("tinystories", sha256(train + val), train, val, source))


def from_folder(folder: Path, max_bytes: int = MAX_BYTES) -> Corpus:
    train = b"".join(stories(_read_head(folder / TRAIN_FILE, max_bytes)))
    val = b"".join(stories(_read_head(folder / VALID_FILE, max_bytes)))
    return _checked(Corpus("tinystories", sha256(train + val), train, val, str(folder)))


def from_hub(max_bytes: int = MAX_BYTES) -> Corpus:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise InputError("TinyStories from the hub needs huggingface_hub "
                         "(pip install huggingface_hub); or pass tinystories:PATH") from None
    try:
        path = hf_hub_download(REPO_ID, VALID_FILE, repo_type="dataset")
    except Exception as exc:  # the hub client raises many types; all mean "not reachable"
        raise InputError(f"cannot fetch {VALID_FILE} from the hub ({type(exc).__name__}); "
                         "pass tinystories:PATH to a local copy") from None
    return from_text(_read_head(Path(path), max_bytes), f"hub:{REPO_ID}/{VALID_FILE}")


def load_tinystories(path: str | None, max_bytes: int = MAX_BYTES) -> Corpus:
    """``path`` None fetches from the hub; a folder or file is read locally."""
    if path is None:
        return from_hub(max_bytes)
    local = Path(path).expanduser()
    if local.is_dir():
        if (local / TRAIN_FILE).is_file() and (local / VALID_FILE).is_file():
            return from_folder(local, max_bytes)
        raise InputError(f"TinyStories folder {local} lacks {TRAIN_FILE} and {VALID_FILE}")
    if not local.is_file():
        raise InputError(f"TinyStories path not found: {local}")
    return from_text(_read_head(local, max_bytes), str(local))
