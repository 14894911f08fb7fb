"""What every loop shares about running in a run folder.

- ``drive``: the one entry point. Every loop (node loop, meta-loop, drill,
  experiment, research) is a generator of step records (dicts with a
  ``type``, mostly the events it journals, as journaled) that returns its
  final record; ``drive`` iterates it, hands each step to listeners (a
  progress display, a printer; ``on`` keys one by step type) and returns
  that final record. An error in a listener, Ctrl-C included, is thrown
  into the loop at the step it was handed, so the loop records how it
  ended just as if the error had happened inside it.
- ``RunFolder``: a run's folder ``<runs root>/<node>/<tag or run id>/`` and
  the files every kind keeps there (events.jsonl, the settings record,
  notify.log, STOP, the lock). The experiment and research runs derive from
  it; the node loop names its id'd folders with it (the kind is then the
  folder's parent, ``<runs root>/<node>/<run id>``).
- ``hold``: one process at a time (the folder's ``.lock``, never waited for)
  and ``running.json`` while it works (``liveness.claim``); a new run
  takes that lock while still hidden (``lock_build``) and keeps it.
- ``in_flight``: the round a kill left started and not closed, replayed on
  resume.
- ``ending``: how a loop that stops on an exception records it: aborted on
  Ctrl-C/SIGTERM/a closed generator, failed on anything else, each step of
  the record on its own (on a full disk any of them may fail, and the error
  that ended the run is the one worth reporting).
- ``stop_requested``: a ``STOP`` file in the run folder (any shell) or a
  ``threading.Event`` (a notebook's Stop button) ends the loop after the
  round in flight. The file is consumed, so a resume starts afresh.
- ``before_round``: the check every loop makes before each round, its own
  limits first, then ``stop_requested``: the loop ends ``paused`` with a
  ``stop_requested`` event (every loop can be resumed).

outcome.json is written by ``runs.Outcome.write`` and read by
``runs.read_outcome``; statuses are ``runs.Status``.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar, Generator, Iterable, Iterator, TypeVar

from .errors import DeeploopError, NotFound
from .events import EVENTS_FILE, EventLog
from .fileio import file_lock
from .liveness import claim
from .runs import Status, runs_root, validate_run_id
from .settings import SettingsRecord

STOP_FILE = "STOP"
LOCK_FILE = ".lock"

Listener = Callable[[dict], None]
Final = TypeVar("Final")


def drive(steps: Generator[dict, None, Final] | Iterable[dict],
          listeners: Iterable[Listener] = ()) -> Final | None:
    """Run a loop to its end: every step record to every listener, in order;
    the loop's final record (its generator's return value) back."""
    listeners, steps = list(listeners), iter(steps)
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            return done.value
        try:
            for listener in listeners:
                listener(step)
        except BaseException as exc:
            _throw(steps, exc)
            raise


def _throw(steps: Iterator[dict], exc: BaseException) -> None:
    """End ``steps`` with ``exc`` raised where it stands (it records its end
    and lets the error through); one that goes on regardless is closed."""
    throw = getattr(steps, "throw", None)
    if throw is None:
        return
    try:
        throw(exc)
    except BaseException as raised:
        if raised is not exc and not isinstance(raised, StopIteration):
            raise
        return
    steps.close()


def drain(pending: list[dict]) -> Iterator[dict]:
    """The step records collected so far (a log listener appends them), each once:
    how a loop yields the events its log wrote inside calls it made."""
    while pending:
        yield pending.pop(0)


def on(kind: str, callback: Callable[[dict], None]) -> Listener:
    """A listener that hands ``callback`` only the steps of type ``kind``."""
    def listener(step: dict) -> None:
        if step.get("type") == kind:
            callback(step)
    return listener


@dataclass
class RunFolder(SettingsRecord):
    """A run folder: ``tag`` is the tag of a tagged run or the id of an id'd one."""

    path: Path
    tag: str
    # the lock its creation took while the folder was built (lock_build), kept for the
    # loop its creator runs next (init_run, init_research: keep_lock)
    held: contextlib.ExitStack | None = field(default=None, repr=False, compare=False)

    node: ClassVar[str] = ""           # the kind; "" for an id'd run: its parent folder's name
    settings_file: ClassVar[str] = ""  # the JSON record a tagged run keeps its settings in

    events_path = property(lambda self: self.path / EVENTS_FILE)
    settings_path = property(lambda self: self.path / self.settings_file)
    notify_log = property(lambda self: self.path / "notify.log")
    workspace_dir = property(lambda self: self.path / "workspace")
    stop_path = property(lambda self: self.path / STOP_FILE)  # touch it to stop between rounds
    lock_path = property(lambda self: self.path / LOCK_FILE)

    @property
    def kind(self) -> str:
        return self.node or self.path.parent.name

    def kept_lock(self) -> contextlib.ExitStack | None:
        """The lock this run's creation kept, handed over once (to its loop's hold)."""
        held, self.held = self.held, None
        return held

    def release(self) -> None:
        """Let go of the lock its creation kept (a creator that will not run it)."""
        (self.kept_lock() or contextlib.ExitStack()).close()

    def event_log(self, listeners: Iterable[Callable[[dict], None]] = ()) -> EventLog:
        return EventLog(self.events_path, run_id=self.tag, node=self.kind,
                        listeners=list(listeners))

    @classmethod
    def path_for(cls, tag: str, root: Path | None = None) -> Path:
        return (root or runs_root()) / cls.node / validate_run_id(tag, "tag")

    @classmethod
    def exists(cls, tag: str, root: Path | None = None) -> bool:
        return (cls.path_for(tag, root) / cls.settings_file).is_file()

    @classmethod
    def open(cls, tag: str, root: Path | None = None, hint: str = ""):
        """The tagged run, or NotFound (``hint`` says how to create one)."""
        path = cls.path_for(tag, root)
        if not (path / cls.settings_file).is_file():
            raise NotFound(f"no {cls.node} tagged {tag!r} under {path.parent}{hint}")
        return cls(path, tag)


@contextlib.contextmanager
def hold(run: RunFolder, check: Callable[[], None] | None = None, *,
         locked: bool = False) -> Iterator[None]:
    """Lock ``run`` (a second process is refused at once), run ``check``
    (refusals that must come before anything is touched), then mark it
    running (``running.json``) until the block ends; a run whose process
    died is taken over (``liveness.claim``), with its workspace's git lock.

    ``locked``: the caller already holds the run's ``.lock`` (``lock_build``:
    a new run locked while it was built, so no resume can take it over
    between its rename into place and this)."""
    what = f"{run.kind} {run.tag!r}"
    with contextlib.nullcontext() if locked else file_lock(run.lock_path, wait=False, what=what):
        if check is not None:
            check()
        workspace = run.workspace() if hasattr(run, "workspace") else None
        with claim(run.path, what, log=run.event_log(), workspace=workspace):
            yield


def lock_build(build: Path, what: str) -> contextlib.AbstractContextManager:
    """Lock a run folder still being built (``creating.building``), to be held
    across its rename into place and then by ``hold(..., locked=True)``: the
    lock is flock's (through ``fileio.file_lock``), on the ``.lock`` file's
    inode, not its name, so it stays taken once the folder has its final name
    (``tests/test_creation.py`` checks that)."""
    return file_lock(Path(build) / LOCK_FILE, wait=False, what=what)


def in_flight(events: list[dict], started: str, closed: tuple[str, ...]) -> dict | None:
    """The last ``started`` event with no ``closed`` event of its round after it."""
    flight = None
    for event in events:
        if event.get("type") == started:
            flight = event
        elif (event.get("type") in closed and flight is not None
              and event.get("round") == flight.get("round")):
            flight = None
    return flight


def stop_requested(run: RunFolder | Path, event: threading.Event | None = None) -> str | None:
    """Who asked the loop to stop before its next round: ``"stop event"``,
    ``"STOP file"`` (consumed), or None."""
    if event is not None and event.is_set():
        return "stop event"
    path = run.stop_path if isinstance(run, RunFolder) else Path(run) / STOP_FILE
    if path.exists():
        path.unlink(missing_ok=True)
        return "STOP file"
    return None


def before_round(log: EventLog, limit: tuple[str, str] | None, asked: Callable[[], str | None],
                 done: int, unit: str = "round",
                 round: int | None = None) -> tuple[list[dict], tuple[str, str] | None]:
    """Whether a loop ends before its next round: (events to yield, (status,
    reason)), or ([], None) to go on. ``limit`` is the loop's own stop reason
    (budgets, targets; a ``budget_exhausted`` event says which ran out);
    otherwise ``asked()`` (``stop_requested``, asked only then, since it
    consumes the STOP file) ends it ``paused`` (resumable) after ``unit``
    ``done``. ``round``, if given, is journaled with the event."""
    if limit:
        status, reason = limit
        return ([log.emit("budget_exhausted", round, reason=reason)] if status == Status.BUDGET
                else []), limit
    source = asked()
    if source:
        event = log.emit("stop_requested", round, source=source, **{f"after_{unit}": done})
        return [event], (Status.PAUSED, f"stopped by {source} after {unit} {done}")
    return [], None


def each(steps: Iterable[Callable[[], object]]) -> None:
    """Run every step, each on its own: one that fails on a full disk or a
    broken file does not keep the next from trying."""
    for step in steps:
        try:
            step()
        except (DeeploopError, OSError):
            pass


def record_end(exc: BaseException, record: Callable[[str, str, bool], None]) -> None:
    """Record how a loop ended on ``exc`` (the caller re-raises it):
    ``record(reason, status, crashed)`` is called with ``Status.ABORTED`` on
    Ctrl-C, SIGTERM (an exception with a ``reason``) or a closed generator,
    and with ``Status.FAILED`` and ``crashed`` true on any other exception."""
    if isinstance(exc, (KeyboardInterrupt, GeneratorExit)):
        record(getattr(exc, "reason", "interrupted"), Status.ABORTED, False)
    elif isinstance(exc, Exception):
        record(f"{type(exc).__name__}: {exc}", Status.FAILED, True)


class ending:
    """``record_end`` as a ``with`` block around the loop."""

    def __init__(self, record: Callable[[str, str, bool], None]):
        self.record = record

    def __enter__(self) -> "ending":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is not None:
            record_end(exc, self.record)
        return False
