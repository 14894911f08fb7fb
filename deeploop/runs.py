"""Run folders: ids, creation, outcome.json, listing and lookup.

A run is a folder ``<runs root>/<node>/<run-id>/``. The runs root is
``./runs`` unless ``$DEEPLOOP_RUNS`` names another folder. Ids are never
reused and never contain path separators or ``..``.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Callable, Iterator

from .creating import building, is_build, notice
from .errors import InputError, NotFound
from .events import EVENTS_FILE, Journal, parse_lines, read_events
from .fileio import atomic_write_json, file_errors
from .liveness import RUNNING_FILE, Liveness, check as check_liveness

OUTCOME_FILE = "outcome.json"
_ID_STAMP = re.compile(r"(\d{8}T\d{6}Z)")
_BAD_ID_CHARS = re.compile(r"[\s/\\\x00-\x1f]")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# File names stop at 255 bytes; an id also goes into longer names beside it
# (".<id>.drill.lock", ".<id>.creating-<pid>-<start>-<hex>", git's "<branch>.lock").
MAX_ID_BYTES = 128


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    HARD_CAP = "hard_cap"
    ABORTED = "aborted"
    BUDGET = "budget_exhausted"
    SPINNING = "spinning"
    PAUSED = "paused"
    UNFINISHED = "unfinished"  # no outcome.json: in flight, killed, or never written
    RUNNING = "running"        # running.json: a live process is working on it now
    STALE = "stale"            # running.json left by a process that died (liveness.py)

    def __str__(self) -> str:
        return self.value


def runs_root() -> Path:
    return Path(os.environ.get("DEEPLOOP_RUNS") or "runs")


def validate_run_id(run_id: str, what: str = "run id") -> str:
    if not run_id or not run_id.strip():
        raise InputError(f"invalid {what}: it is empty")
    if ".." in run_id or _BAD_ID_CHARS.search(run_id) or run_id.startswith("."):
        raise InputError(f"invalid {what} {run_id!r}: no '/', '..', spaces or leading '.'")
    size = len(run_id.encode("utf-8"))
    if size > MAX_ID_BYTES:
        raise InputError(f"invalid {what} {run_id[:24]!r}…: it is {size} bytes long, at most "
                         f"{MAX_ID_BYTES} (it names folders, lock files and git branches)")
    return run_id


def new_run_id(node: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return f"{node}-{stamp}-{secrets.token_hex(3)}"


def run_dir_for(node: str, run_id: str | None = None, root: Path | None = None) -> Path:
    """Where a new run goes; an invalid or already-used id is refused."""
    run_id = validate_run_id(run_id) if run_id is not None else new_run_id(node)
    run_dir = (root or runs_root()) / node / run_id
    clear_half_made_run(run_dir)
    if run_dir.exists():
        raise InputError(f"run id already exists: {run_id} ({run_dir})")
    return run_dir


# What a run folder held before its first event, when runs were made in place.
_BEFORE_FIRST_EVENT = {"seed.md", "state.md", "tree.json"}


def clear_half_made_run(run_dir: Path) -> None:
    """A run folder holding nothing but what a run writes before its first
    event (or nothing at all) was cut short while being created, by a version
    that made runs in place: it holds no history, so it is cleared, with one
    line, and the id can be used."""
    try:
        names = {p.name for p in run_dir.iterdir()}
    except (FileNotFoundError, NotADirectoryError):
        return
    if not names <= _BEFORE_FIRST_EVENT:
        return
    with file_errors(run_dir, "clear"):
        for name in names:
            (run_dir / name).unlink()
        run_dir.rmdir()
    notice.warning(f"cleared a half-created run left by an interrupted command: {run_dir}")


@contextlib.contextmanager
def creating_run_dir(run_dir: Path) -> Iterator[Path]:
    """Build a new run in a hidden folder beside ``run_dir`` (yielded) and
    rename it into place when the block ends: a kill leaves no half run, and
    of two processes creating one id the second is refused (NameTaken)."""
    with building(run_dir, "run id") as build:
        yield build


@dataclass
class Outcome:
    run_id: str
    node: str
    status: str
    rounds: int
    final_score: float | None
    exit_reason: str
    violations_total: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = {"run_id": self.run_id, "node": self.node, "status": str(self.status),
                "rounds": self.rounds, "final_score": self.final_score,
                "exit_reason": self.exit_reason, "violations_total": self.violations_total}
        data.update(self.extra)
        return data

    def write(self, run_dir: Path) -> None:
        atomic_write_json(Path(run_dir) / OUTCOME_FILE, self.to_json())


def read_outcome(run_dir: Path) -> tuple[dict | None, str | None]:
    """Return (outcome, problem). A missing outcome is (None, None)."""
    path = Path(run_dir) / OUTCOME_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, f"{path}: not valid JSON ({exc})"
    except OSError as exc:
        return None, f"{path}: cannot be read ({exc.strerror or exc})"
    if not isinstance(data, dict):
        return None, f"{path}: not a JSON object"
    return data, None


@dataclass
class RunRecord:
    """Everything a listing or summary needs, derived from the run's files."""

    path: Path
    run_id: str
    node: str
    outcome: dict | None
    journal: Journal
    problems: list[str]
    liveness: Liveness | None = None  # from running.json: in flight now, or died in flight

    @property
    def status(self) -> str:
        if self.liveness is not None:  # newer than any outcome.json of an earlier invocation
            return self.liveness.state
        return str((self.outcome or {}).get("status") or Status.UNFINISHED)

    @property
    def status_reason(self) -> str:
        if self.liveness is not None:
            return self.liveness.reason
        return str((self.outcome or {}).get("exit_reason") or "")

    @property
    def rounds(self) -> int:
        if self.outcome and isinstance(self.outcome.get("rounds"), int):
            return self.outcome["rounds"]
        return max((e.get("round") or 0 for e in self.journal.events), default=0)

    @property
    def final_score(self) -> float | None:
        if self.outcome is not None:
            return self.outcome.get("final_score")
        judged = self.journal.judged()
        return judged[-1].get("score") if judged else None

    @property
    def started(self) -> str:
        """Start time recorded in the run, as written (ISO-8601 UTC)."""
        return format_ts(start_time_of(self.run_id, self.journal.events))

    def __repr__(self) -> str:  # not the whole journal
        return (f"RunRecord({self.node}/{self.run_id}: {self.status}, {self.rounds} rounds, "
                f"started {self.started or '?'})")

    def _repr_html_(self) -> str | None:
        return _tables["html"]([self]) if _tables else None


# How runs show themselves, installed by the notebook layer (``show_runs_with``,
# on importing deeploop.notebook) so the core never imports it. Until then a
# run list is one repr a line and has no HTML (a notebook shows the text).
_tables: dict[str, Callable[[list[RunRecord]], str]] = {}


def show_runs_with(html: Callable[[list[RunRecord]], str],
                   text: Callable[[list[RunRecord]], str]) -> None:
    """Install the HTML and plain-text tables a ``RunRecord``/``RunList`` shows as."""
    _tables.update(html=html, text=text)


class RunList(list):
    """Runs (a plain list) that a notebook shows as a table: status, score,
    rounds, start time, a link to each report; plain text elsewhere."""

    def _repr_html_(self) -> str | None:
        return _tables["html"](list(self)) if _tables else None

    def __repr__(self) -> str:
        if _tables:
            return _tables["text"](list(self))
        return "\n".join(repr(r) for r in self) or "(no runs)"


def parse_ts(value) -> datetime | None:
    """An event timestamp (seconds or finer, ``Z`` suffix) as an aware datetime."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_ts(moment: datetime) -> str:
    if moment == EPOCH:
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{moment.microsecond:06d}Z" if moment.microsecond else "Z")


def start_time_of(run_id: str, events: list[dict]) -> datetime:
    """When a run started: ``run_started.started`` (precise), the first event's
    ``ts``, or the stamp in its id; the epoch when nothing says."""
    for event in events:
        moment = parse_ts(event.get("started")) if event.get("type") == "run_started" else None
        moment = moment or parse_ts(event.get("ts"))
        if moment:
            return moment
    match = _ID_STAMP.search(run_id)
    if match:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    return EPOCH


def start_time(run_dir: Path) -> datetime:
    """Cheap start time of a run folder: reads only up to its first event."""
    head = []
    try:
        with open(run_dir / EVENTS_FILE, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                head = parse_lines([line]).events
                if head:
                    break
    except FileNotFoundError:
        pass
    return start_time_of(run_dir.name, head)


def load_run(run_dir: Path | str) -> RunRecord:
    run_dir = Path(run_dir)
    if not is_run_dir(run_dir):
        raise InputError(f"not a run folder (no events.jsonl, outcome.json or seed.md): {run_dir}")
    journal = read_events(run_dir / EVENTS_FILE)
    outcome, problem = read_outcome(run_dir)
    problems = list(journal.problems) + ([problem] if problem else [])
    node = (outcome or {}).get("node") or next(
        (e["node"] for e in journal.events if isinstance(e.get("node"), str)), run_dir.parent.name)
    run_id = (outcome or {}).get("run_id") or run_dir.name
    return RunRecord(run_dir, run_id, node, outcome, journal, problems,
                     check_liveness(run_dir / RUNNING_FILE))


def is_run_dir(path: Path) -> bool:
    """A run's folder; never the hidden folder a run is built in before it appears."""
    return not is_build(path) and path.is_dir() and any(
        (path / name).exists() for name in (EVENTS_FILE, OUTCOME_FILE, "seed.md"))


def run_dirs(node: str | None = None, root: Path | None = None) -> list[Path]:
    root = root or runs_root()
    node_dirs = [root / node] if node else sorted(p for p in root.glob("*") if p.is_dir())
    found = []
    for node_dir in node_dirs:
        if node_dir.is_dir():
            found.extend(p for p in sorted(node_dir.iterdir()) if is_run_dir(p))
    return found


def list_runs(node: str | None = None, root: Path | None = None) -> list[RunRecord]:
    """Runs, oldest first by the start time recorded in each run."""
    records = [load_run(p) for p in run_dirs(node, root)]
    return RunList(sorted(records, key=lambda r: (start_time_of(r.run_id, r.journal.events),
                                                  r.run_id)))


def resolve_run(ref: str, root: Path | None = None) -> Path:
    """A run folder from a path, or from a run id searched under the runs root."""
    path = Path(ref).expanduser()
    if path.is_dir():
        if not is_run_dir(path):
            raise InputError(f"not a run folder (no events.jsonl, outcome.json or seed.md): {path}")
        return path
    if "/" in ref or ref in ("", ".", ".."):
        raise NotFound(f"run folder not found: {ref}")
    root = root or runs_root()
    matches = [p for p in root.glob(f"*/{ref}") if is_run_dir(p)]
    if not matches:
        raise NotFound(f"no run {ref!r} under {root}")
    if len(matches) > 1:
        places = ", ".join(str(p) for p in matches)
        raise InputError(f"run id {ref!r} is ambiguous: {places}")
    return matches[0]
