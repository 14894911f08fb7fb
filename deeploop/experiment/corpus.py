"""Corpora for the experiment loop: bytes in, a fixed train/validation split out.

Three sources, one shape (``Corpus``):

- the embedded default: a fixed selection of CPython 3.11 standard-library
  source (PSF license, see ``data/NOTICE.txt``), stored xz-compressed in the
  package and checked against its SHA-256;
- ``--data PATH``: a person's own text files (a file or a folder of them);
- TinyStories: a local copy, or the Hugging Face hub when there is network
  (only the small validation file is fetched, and only when the optional
  ``huggingface_hub`` package is installed; tests and CI use local files).

Tokens are bytes (vocabulary 256). A corpus is a list of documents; every
``VAL_EVERY``-th document is validation, so the split is fixed by the
content alone. This module is read-only to the agent and never imports torch.
"""
from __future__ import annotations

import hashlib
import lzma
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_CORPUS_FILE = DATA_DIR / "stdlib-corpus.txt.xz"
DEFAULT_SHA256 = "8d27184180c1adee9740598572fca0834f02eafa55a0a0b4bceb893cd23ea479"
DOC_HEADER = b"# ==> %s <==\n"
_HEADER_RE = re.compile(rb"^# ==> (.+?) <==\n", re.MULTILINE)
VAL_EVERY = 10           # every 10th document is validation
EVAL_BYTES = 2 ** 16     # bytes scored by evaluate_bpb (fewer only for small user data)
EVAL_CHUNK = 4096        # scored in chunks spread evenly over the validation split
MIN_VAL_BYTES = 4096
MAX_FILE_BYTES = 60_000  # the default corpus skips larger (mostly generated) modules


@dataclass(frozen=True)
class Corpus:
    """A named byte corpus, already split. ``sha256`` identifies the whole text."""

    name: str
    sha256: str
    train: bytes
    val: bytes
    source: str

    @property
    def eval_bytes(self) -> int:
        return min(EVAL_BYTES, len(self.val) - 1)

    def describe(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "source": self.source,
                "train_bytes": len(self.train), "val_bytes": len(self.val),
                "eval_bytes": self.eval_bytes}


def eval_spans(val_len: int, eval_bytes: int) -> list[tuple[int, int]]:
    """(start, length) of the scored chunks: chunk ``i`` scores validation bytes
    ``start+1 .. start+length`` given the bytes before them in the chunk.
    Spread evenly so one long file cannot dominate; contiguous when the
    split is too small to spread."""
    count = -(-eval_bytes // EVAL_CHUNK)
    stride = (val_len - 1) // count
    if stride < EVAL_CHUNK:
        return [(0, eval_bytes)]
    return [(i * stride, min(EVAL_CHUNK, eval_bytes - i * EVAL_CHUNK)) for i in range(count)]


def eval_windows(val_len: int, eval_bytes: int, seq_len: int) -> list[tuple[int, int, int]]:
    """(begin, end, scored): a model reads ``val[begin:end]`` and is scored on
    its last ``scored`` predictions. Windows slide by half a context, so after
    the first window of a chunk every scored byte has at least half a context
    before it, and every target byte of every chunk is scored exactly once."""
    stride = max(1, seq_len // 2)
    windows = []
    for start, length in eval_spans(val_len, eval_bytes):
        done, end = start, start + min(seq_len, length)
        while True:
            windows.append((max(start, end - seq_len), end, end - done))
            if end >= start + length:
                break
            done, end = end, min(end + stride, start + length)
    return windows


def eval_targets(val: bytes, eval_bytes: int) -> bytes:
    """The exact bytes evaluate_bpb scores, for comparing with compressors."""
    return b"".join(val[s + 1:s + 1 + n] for s, n in eval_spans(len(val), eval_bytes))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def join_documents(named: list[tuple[str, bytes]]) -> bytes:
    """One text from (name, content) pairs, each behind a grep-able header line."""
    parts = []
    for name, content in named:
        parts.append(DOC_HEADER % name.encode("utf-8"))
        parts.append(content if content.endswith(b"\n") else content + b"\n")
    return b"".join(parts)


def split_documents(text: bytes) -> list[bytes]:
    """The documents of a joined text, each with its header; text before the
    first header (if any) is a document of its own."""
    starts = [m.start() for m in _HEADER_RE.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    ends = starts[1:] + [len(text)]
    return [text[s:e] for s, e in zip(starts, ends) if e > s]


def split_train_val(text: bytes) -> tuple[bytes, bytes]:
    """Fixed split: every VAL_EVERY-th document goes to validation; a text of
    fewer documents gives its last tenth (cut at a line end) instead."""
    docs = split_documents(text)
    if len(docs) >= VAL_EVERY:
        val = [d for i, d in enumerate(docs) if i % VAL_EVERY == VAL_EVERY - 1]
        train = [d for i, d in enumerate(docs) if i % VAL_EVERY != VAL_EVERY - 1]
        return b"".join(train), b"".join(val)
    cut = len(text) - len(text) // VAL_EVERY
    newline = text.rfind(b"\n", 0, cut)
    cut = newline + 1 if newline > len(text) // 2 else cut
    return text[:cut], text[cut:]


def make_corpus(name: str, text: bytes, source: str) -> Corpus:
    train, val = split_train_val(text)
    return _checked(Corpus(name, sha256(text), train, val, source))


def _checked(corpus: Corpus) -> Corpus:
    if len(corpus.val) < MIN_VAL_BYTES or len(corpus.train) < MIN_VAL_BYTES:
        raise InputError(
            f"corpus {corpus.source} is too small: {len(corpus.train)} train and "
            f"{len(corpus.val)} validation bytes (need at least {MIN_VAL_BYTES} each)")
    return corpus


def build_stdlib_corpus(stdlib_dir: Path | str, max_file_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The default corpus text: top-level ``*.py`` modules of a CPython stdlib
    folder, sorted by name, skipping files larger than ``max_file_bytes``.
    Used once to make ``data/stdlib-corpus.txt.xz``; kept so it can be rebuilt."""
    stdlib_dir = Path(stdlib_dir)
    files = sorted(p for p in stdlib_dir.glob("*.py") if p.is_file())
    chosen = [(p.name, p.read_bytes()) for p in files if p.stat().st_size <= max_file_bytes]
    if not chosen:
        raise InputError(f"no Python modules of at most {max_file_bytes} bytes in {stdlib_dir}")
    return join_documents(chosen)


def load_default() -> Corpus:
    """The embedded corpus; a damaged copy is refused rather than trained on."""
    try:
        text = lzma.decompress(DEFAULT_CORPUS_FILE.read_bytes())
    except (OSError, lzma.LZMAError) as exc:
        raise InputError(f"embedded corpus is unreadable: {DEFAULT_CORPUS_FILE} ({exc})") from None
    digest = sha256(text)
    if digest != DEFAULT_SHA256:
        raise InputError(f"embedded corpus {DEFAULT_CORPUS_FILE} has SHA-256 {digest[:12]}…, "
                         f"expected {DEFAULT_SHA256[:12]}…")
    return make_corpus("cpython-stdlib-3.11", text, "embedded")


def _text_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def load_paths(path: Path | str) -> Corpus:
    """A person's own text: one file, or every non-hidden text file under a folder.
    Binary files (a NUL byte in the first 8 KiB) are skipped."""
    root = Path(path).expanduser()
    if not root.exists():
        raise InputError(f"--data path not found: {root}")
    named = []
    for file in _text_files(root):
        content = file.read_bytes()
        if b"\x00" not in content[:8192] and content.strip():
            named.append((str(file.relative_to(root)) if root.is_dir() else file.name, content))
    if not named:
        raise InputError(f"--data {root} holds no non-empty text files")
    text = join_documents(named) if len(named) > 1 else named[0][1]
    return make_corpus(f"data:{root.name}", text, str(root))


def load_corpus(spec: str | None) -> Corpus:
    """The corpus a ``--data`` value names: nothing or ``default`` for the
    embedded one, ``tinystories`` or ``tinystories:PATH``, else a path."""
    if spec is None or spec in ("", "default"):
        return load_default()
    if spec == "tinystories" or spec.startswith("tinystories:"):
        return load_tinystories(spec.partition(":")[2] or None)
    return load_paths(spec)



# TinyStories ships as <|endoftext|>-separated stories in two text files,
# TinyStoriesV2-GPT4-train.txt (~2 GB) and ...-valid.txt (~22 MB). A folder
# holding both uses the official split (train capped at max_bytes); a single
# file is split by story, every tenth story to validation.
TINYSTORIES_REPO = "roneneldan/TinyStories"
TINYSTORIES_TRAIN = "TinyStoriesV2-GPT4-train.txt"
TINYSTORIES_VALID = "TinyStoriesV2-GPT4-valid.txt"
TINYSTORIES_SEPARATOR = b"<|endoftext|>"
TINYSTORIES_MAX_BYTES = 64 * 2 ** 20  # plenty for a budget of minutes; keeps memory bounded


def _stories(text: bytes) -> list[bytes]:
    """Non-empty stories, each ending in one newline, separators dropped."""
    return [s.strip() + b"\n" for s in text.split(TINYSTORIES_SEPARATOR) if s.strip()]


def _read_head(path: Path, max_bytes: int) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(max_bytes)
    cut = data.rfind(TINYSTORIES_SEPARATOR)  # never keep half a story
    return data if len(data) < max_bytes or cut < 0 else data[:cut]


def tinystories_from_text(text: bytes, source: str) -> Corpus:
    docs = _stories(text)
    if not docs:
        raise InputError(f"TinyStories file {source} holds no stories")
    val = b"".join(d for i, d in enumerate(docs) if i % VAL_EVERY == VAL_EVERY - 1)
    train = b"".join(d for i, d in enumerate(docs) if i % VAL_EVERY != VAL_EVERY - 1)
    return _checked(Corpus("tinystories", sha256(train + val), train, val, source))


def tinystories_from_folder(folder: Path, max_bytes: int = TINYSTORIES_MAX_BYTES) -> Corpus:
    train = b"".join(_stories(_read_head(folder / TINYSTORIES_TRAIN, max_bytes)))
    val = b"".join(_stories(_read_head(folder / TINYSTORIES_VALID, max_bytes)))
    return _checked(Corpus("tinystories", sha256(train + val), train, val, str(folder)))


def tinystories_from_hub(max_bytes: int = TINYSTORIES_MAX_BYTES) -> Corpus:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise InputError("TinyStories from the hub needs huggingface_hub "
                         "(pip install huggingface_hub); or pass tinystories:PATH") from None
    try:
        path = hf_hub_download(TINYSTORIES_REPO, TINYSTORIES_VALID, repo_type="dataset")
    except Exception as exc:  # the hub client raises many types; all mean "not reachable"
        raise InputError(f"cannot fetch {TINYSTORIES_VALID} from the hub "
                         f"({type(exc).__name__}); "
                         "pass tinystories:PATH to a local copy") from None
    source = f"hub:{TINYSTORIES_REPO}/{TINYSTORIES_VALID}"
    return tinystories_from_text(_read_head(Path(path), max_bytes), source)


def load_tinystories(path: str | None, max_bytes: int = TINYSTORIES_MAX_BYTES) -> Corpus:
    """``path`` None fetches from the hub; a folder or file is read locally."""
    if path is None:
        return tinystories_from_hub(max_bytes)
    local = Path(path).expanduser()
    if local.is_dir():
        if (local / TINYSTORIES_TRAIN).is_file() and (local / TINYSTORIES_VALID).is_file():
            return tinystories_from_folder(local, max_bytes)
        raise InputError(f"TinyStories folder {local} lacks {TINYSTORIES_TRAIN} "
                         f"and {TINYSTORIES_VALID}")
    if not local.is_file():
        raise InputError(f"TinyStories path not found: {local}")
    return tinystories_from_text(_read_head(local, max_bytes), str(local))




def prepare(corpus: Corpus, out_dir: Path | str) -> dict:
    from ..fileio import atomic_write_json
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "train.bin").write_bytes(corpus.train)
    (out_dir / "val.bin").write_bytes(corpus.val)
    meta = corpus.describe()
    atomic_write_json(out_dir / "corpus.json", meta)  # written last: marks the folder complete
    return meta


def read_prepared_meta(data_dir: Path | str) -> dict:
    import json
    path = Path(data_dir) / "corpus.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no prepared corpus in {data_dir} (corpus.json missing)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc})") from None
    for split in ("train", "val"):
        size = (Path(data_dir) / f"{split}.bin").stat().st_size
        if size != meta.get(f"{split}_bytes"):
            raise InputError(f"prepared corpus in {data_dir} is damaged: {split}.bin has "
                             f"{size} bytes, corpus.json says {meta.get(f'{split}_bytes')}")
    return meta
