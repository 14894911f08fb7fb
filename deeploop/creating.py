"""Creating a run folder (a tag, a drill, a node run) all at once.

A new folder is built beside its final place, in
``.<name>.creating-<pid>-<process start>-<hex>``, and renamed into place when it is complete: a reader (or a later command)
sees either no run or a whole one, never half a tag. Two processes creating
the same name both build; the first rename wins and the other gets one line
saying the name was just taken (a rename onto a folder that is not empty
fails). A build cut short by a kill leaves only its hidden folder; the next
creation of that name clears the ones whose process is gone and says so.

Folders made before creation was atomic, or by hand, can sit at the final
place half made; ``clear_half_made`` recognises a tag folder without its
settings file and clears it with one line (or refuses one with a history).
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Iterator

from .errors import InputError
from .fileio import file_errors
from .liveness import pid_alive, process_start

notice = logging.getLogger("deeploop.notice")  # the CLI prints these as one line each

_BUILD = re.compile(r"^\.(?P<name>.+)\.creating-(?P<pid>\d+)-(?P<start>\w+)-[0-9a-f]{6}$")


class NameTaken(InputError):
    """Another process created the same run at the same moment."""


def build_name(name: str) -> str:
    start = process_start(os.getpid()) or "x"
    return f".{name}.creating-{os.getpid()}-{start}-{secrets.token_hex(3)}"


def leftovers(final: Path) -> list[Path]:
    """Hidden build folders for ``final`` whose creating process is gone."""
    found = []
    try:
        entries = list(final.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        match = _BUILD.match(entry.name)
        if match is None or match["name"] != final.name:
            continue
        start = None if match["start"] == "x" else match["start"]
        if not pid_alive(int(match["pid"]), start):
            found.append(entry)
    return found


def clear_leftovers(final: Path, what: str) -> list[Path]:
    """Remove the builds of ``final`` that a killed process left; one notice each."""
    cleared = leftovers(final)
    for path in cleared:
        shutil.rmtree(path, ignore_errors=True)
        notice.warning(f"cleared a half-created {what} left by an interrupted command: {path}")
    return cleared


@contextlib.contextmanager
def building(final: Path, what: str, *, into: str | None = None) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``final``; when the block ends
    without error, rename it to ``final``. On error (or when another process
    got there first: NameTaken) the build is removed and ``final`` untouched.

    With ``into`` (the name of the file that says the run exists), a
    ``final`` folder that already exists (a notebook session's) receives the
    build's entries instead, ``into`` last."""
    final = Path(final)
    with file_errors(final.parent, "create a folder in"):
        final.parent.mkdir(parents=True, exist_ok=True)
    clear_leftovers(final, what)
    build = final.parent / build_name(final.name)
    with file_errors(final.parent, "create a folder in"):
        build.mkdir()
    try:
        yield build
        if into is not None and final.is_dir():
            move_into(build, final, what, into)
            return
        try:
            os.rename(build, final)  # atomic; refused when final is a folder with files
        except OSError:
            if final.exists():
                raise NameTaken(f"{what} {final.name!r} was created by another process at the "
                                f"same moment ({final}): nothing was changed") from None
            with file_errors(final):
                raise
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise


def is_build(path: Path) -> bool:
    """A hidden build folder, never a run (listings skip it)."""
    return bool(_BUILD.match(Path(path).name))


def move_into(build: Path, final: Path, what: str, last: str) -> None:
    """Finish a build into an existing folder (one holding only a notebook
    session's files): every entry of ``build`` is renamed into ``final``,
    the folder first (a second creator fails there) and ``last`` (the file
    that says the run exists) at the end."""
    entries = sorted(build.iterdir(), key=lambda p: (p.name == last, not p.is_dir(), p.name))
    for entry in entries:
        target = final / entry.name
        if target.exists():
            raise NameTaken(f"{what} {final.name!r} was created by another process at the "
                            f"same moment ({final}): nothing was changed")
        with file_errors(target):
            os.rename(entry, target)
    build.rmdir()


def session_only(path: Path) -> set[str] | None:
    """The names in ``path`` if it is a folder holding only a notebook
    session's files (``deeploop session`` makes the run folder before the
    notebook starts the run), else None."""
    if not path.is_dir():
        return None
    names = {p.name for p in path.iterdir()}
    return names if all(n.startswith("session.") for n in names) else None


def clear_half_made(path: Path, *, marker: str, init_event: str, what: str) -> None:
    """A tag folder without its ``marker`` file (experiment.json, research.json)
    whose journal records nothing past ``init_event`` was cut short while being
    built in place (by a version before atomic creation, or by hand): clear
    it, keeping a notebook session's files, with one line. One that records
    more is refused: it holds work a person would miss."""
    if not path.is_dir() or (path / marker).exists() or session_only(path) is not None:
        return
    from .events import EVENTS_FILE, read_events
    kinds = {e.get("type") for e in read_events(path / EVENTS_FILE).events}
    if kinds - {init_event}:
        raise InputError(f"{what} folder {path} has a recorded history but no {marker}: "
                         f"restore that file, or move the folder away")
    with file_errors(path, "clear"):
        for entry in path.iterdir():
            if not entry.name.startswith("session."):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    notice.warning(f"cleared a half-created {what} left by an interrupted command: {path}")
