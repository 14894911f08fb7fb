"""Small file primitives the journal relies on: atomic writes and locks.

Whole files (outcome.json, BANS.md, tree.json) are replaced atomically: write
a temp file in the same folder, fsync, rename. A reader never sees half a file
and a crash leaves either the old or the new version.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path

import filelock

from .errors import FileError, InputError, RunLocked

# A word more for the errors a file system gives most often.
_HINTS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
          errno.ENAMETOOLONG: "use a shorter name"}


def file_error(exc: OSError | UnicodeDecodeError, path: Path | str | None = None,
               action: str = "write") -> FileError:
    """One line naming the file and the problem, for an OSError (or bytes
    that are not UTF-8) met while doing ``action`` ("read", "write", ...)."""
    if isinstance(exc, FileError):
        return exc
    if isinstance(exc, UnicodeDecodeError):
        where = f" {path}" if path else ""
        return FileError(f"cannot {action}{where}: it is not UTF-8 text (byte "
                         f"{exc.object[exc.start:exc.start + 1]!r} at offset {exc.start})",
                         path=str(path or ""))
    name = path if path is not None else exc.filename  # not a temp file's name
    problem = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in _HINTS:
        problem += f" ({_HINTS[exc.errno]})"
    where = f" {name}" if name is not None else ""
    return FileError(f"cannot {action}{where}: {problem}", path=str(name or ""),
                     errno=exc.errno)


@contextlib.contextmanager
def file_errors(path: Path | str | None = None, action: str = "write"):
    """Turn an OSError (or a UnicodeDecodeError) inside the block into a
    FileError naming ``path`` (the file the caller works on, rather than a
    temporary file's name); with no ``path``, the file the error names."""
    try:
        yield
    except (OSError, UnicodeDecodeError) as exc:
        raise file_error(exc, path, action) from None


def atomic_write_text(path: Path | str, text: str) -> None:
    path = Path(path)
    with file_errors(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def append_text(path: Path | str, text: str) -> None:
    """Append ``text`` and flush it; a file error names the file."""
    with file_errors(path), open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()


def atomic_write_json(path: Path | str, obj, indent: int = 2) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def file_lock(path: Path | str, *, wait: bool = True, what: str = ""):
    """Hold an exclusive advisory lock on ``path`` (created if missing).

    With ``wait=False`` a lock held by another process (or by another
    ``file_lock`` in this one) raises RunLocked naming ``what`` instead of
    blocking. The lock is ``filelock``'s (flock on POSIX, msvcrt on Windows),
    so the package imports on Windows too.
    """
    path = Path(path)
    try:  # a folder that is missing or not writable is a FileError, not a hang
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as exc:
        raise file_error(exc, path, "lock") from None
    lock = filelock.FileLock(path, mode=0o644, thread_local=False, blocking=wait,
                             fallback_to_soft=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise RunLocked(f"{what or path} is in use by another process",
                        path=str(path)) from None
    try:
        yield
    finally:
        lock.release()


def read_text(path: Path | str, what: str = "file") -> str:
    """Read a text file, or raise an InputError that names it."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} not found: {path}", path=str(path)) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a folder, not a file: {path}", path=str(path)) from None
    except UnicodeDecodeError:
        raise InputError(f"{what} is not UTF-8 text: {path}", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}", path=str(path)) from None
