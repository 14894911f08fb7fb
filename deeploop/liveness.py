"""Who is running a run, and whether they still are: ``running.json``.

A process working on a run (a node loop, a drill, an experiment or research
invocation, a batch's notebook session) records its pid, host and process
start time in a small JSON file and rewrites the file's ``beat`` every
``interval`` seconds from a daemon thread; it removes the file when it ends
cleanly. A file left behind therefore means the run is in flight or its
process died (SIGKILL, power loss). Which of the two is decided on the
recording host by whether the pid is still that process (same start time,
so a recycled pid does not count); elsewhere (a Dask worker on another
machine) the way Optuna fails stale trials: by a heartbeat older than a
grace period (3 intervals by default).

``judge`` is the pure decision; ``Heartbeat`` and ``check`` do the I/O.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .fileio import atomic_write_json

RUNNING_FILE = "running.json"
INTERVAL = 30.0          # seconds between beats
GRACE_INTERVALS = 3      # beats missed before a run on another host is stale


@dataclass(frozen=True)
class Liveness:
    state: str            # "running" or "stale"
    reason: str           # for a stale run: why, in words
    record: dict

    @property
    def stale(self) -> bool:
        return self.state == "stale"


def process_start(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, from /proc), or None where
    /proc is missing; a recycled pid has another start time."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def pid_alive(pid: int, start: str | None = None) -> bool:
    """Whether process ``pid`` exists and (when ``start`` is known) is the same process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except (OSError, OverflowError, ValueError):
        return False
    return start is None or process_start(pid) in (None, start)


def judge(record: dict, *, host: str, now: float,
          alive: Callable[[int, str | None], bool] = pid_alive) -> Liveness:
    """Running or stale, from a ``running.json`` record (pure: host, clock and
    process table are given)."""
    pid, beat = record.get("pid"), record.get("beat")
    interval = record.get("interval") or INTERVAL
    if record.get("host") == host and isinstance(pid, int):
        if alive(pid, record.get("start")):
            return Liveness("running", "", record)
        return Liveness("stale", f"process {pid} on {host} is gone", record)
    if not isinstance(beat, (int, float)):
        return Liveness("stale", "the running record has no heartbeat", record)
    silent = now - beat
    if silent > GRACE_INTERVALS * interval:
        return Liveness("stale", f"no heartbeat from process {pid} on {record.get('host')} "
                                 f"for {silent:.0f} s", record)
    return Liveness("running", "", record)


def read_record(path: Path) -> dict | None:
    """The record in ``path``; None when there is none. A torn or foreign file
    is a record without a pid or heartbeat (judged stale)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check(path: Path | str, now: float | None = None) -> Liveness | None:
    """Who holds the run whose record is ``path``; None when no one left a record."""
    record = read_record(Path(path))
    if record is None:
        return None
    return judge(record, host=socket.gethostname(), now=time.time() if now is None else now)


def describe(live: Liveness) -> str:
    """One line for a person: who was running it and why it counts as stopped."""
    started = live.record.get("started", "")
    return live.reason + (f", started {started}" if started else "")


class Heartbeat:
    """Hold ``running.json`` (or another name) for a block: written on entry,
    its beat refreshed every ``interval`` seconds, removed on exit.

    A beat that cannot be written (a full disk) is skipped: the run's own
    writes will report the disk; the heartbeat never stops a run."""

    def __init__(self, path: Path | str, *, interval: float = INTERVAL, **fields):
        self.path, self.interval = Path(path), interval
        self.record = {"pid": os.getpid(), "host": socket.gethostname(),
                       "start": process_start(os.getpid()), "interval": interval,
                       "started": _iso(time.time()), **fields}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Heartbeat":
        self._write()  # a failure here is the caller's: nothing has started yet
        self._thread = threading.Thread(target=self._beat, name="deeploop-heartbeat",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only folder now: the record is judged stale later

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._write()
            except OSError:
                pass

    def _write(self) -> None:
        atomic_write_json(self.path, {**self.record, "beat": time.time()})


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def take_over(run_dir: Path | str, what: str, name: str = RUNNING_FILE) -> Liveness | None:
    """Called holding the run's lock, before it starts again: the record a
    process that died mid-run left (it is stale: the lock says no one else
    holds the run), reported with one line; None when the last run ended cleanly."""
    from .creating import notice
    record = read_record(Path(run_dir) / name)
    if record is None:
        return None
    live = judge(record, host=socket.gethostname(), now=time.time())
    if not live.stale:  # the lock is ours, so its holder is gone whatever the clock says
        live = Liveness("stale", f"process {record.get('pid')} on {record.get('host')} "
                                 "released the run without finishing", record)
    notice.warning(f"{what}: its last run stopped without finishing ({describe(live)}): "
                   "continuing it")
    return live


def stale_fields(live: Liveness) -> dict:
    """The ``run_stale`` event's fields: who left the run, and why it is stale."""
    record = live.record
    return {"pid": record.get("pid"), "host": record.get("host"),
            "started": record.get("started"), "reason": live.reason}


@contextlib.contextmanager
def claim(run_dir: Path | str, what: str, *, log=None, workspace=None
          ) -> Iterator[Liveness | None]:
    """Inside the run's lock: take over what a dead process left, and hold
    ``running.json`` for the block. A stale run is reported with one line,
    recorded as a ``run_stale`` event in ``log`` (an EventLog), and the git
    ``index.lock`` a commit killed with it left in ``workspace`` is removed."""
    stale = take_over(run_dir, what)
    if stale is not None:
        if workspace is not None:
            workspace.clear_left_lock()
        if log is not None:
            log.emit("run_stale", **stale_fields(stale))
    with Heartbeat(Path(run_dir) / RUNNING_FILE):
        yield stale
