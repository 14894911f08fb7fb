"""The run journal: ``events.jsonl``, append-only, one JSON object per line.

Envelope (DESIGN.md): ``{"ts", "run_id", "node", "round", "type", ...}``.
Writers append and flush one line at a time, so a killed process loses at
most the line in flight. Readers skip a malformed line, report it as
``file:line: reason`` and go on; some recorded events carry no ``round``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from .fileio import append_text

EVENTS_FILE = "events.jsonl"


def now_iso() -> str:
    """UTC timestamp in the journal's format, e.g. ``2026-05-22T06:15:05Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def precise_now() -> str:
    """UTC timestamp with microseconds, for ordering runs started in one second."""
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"


@dataclass
class EventLog:
    """Appends events for one run. ``clock`` is injected so tests are stable."""

    path: Path
    run_id: str
    node: str
    clock: Callable[[], str] = now_iso
    listeners: list[Callable[[dict], None]] = field(default_factory=list)

    def emit(self, type: str, round: int | None = None, **fields) -> dict:
        event = {"ts": self.clock(), "run_id": self.run_id, "node": self.node}
        if round is not None:
            event["round"] = int(round)
        event["type"] = type
        event.update(fields)
        line = json.dumps(event, ensure_ascii=False, default=str)
        append_text(self.path, line + "\n")
        for listener in self.listeners:
            listener(event)
        return event


@dataclass
class Journal:
    """What a reader got from an events file: the events and the problems."""

    events: list[dict]
    problems: list[str]

    def of_type(self, *types: str) -> list[dict]:
        return [e for e in self.events if e.get("type") in types]

    def last(self, type: str) -> dict | None:
        found = self.of_type(type)
        return found[-1] if found else None

    def judged(self) -> list[dict]:
        """The ``judge_result`` events that count: see ``judge_results``."""
        return judge_results(self.events)


REPLAYS = "ralph_iter_start"  # a round starts (again): its earlier judge results no longer count


def judge_results(events: Iterable[dict]) -> list[dict]:
    """The ``judge_result`` events that count, at most one per round, in order.

    A resumed run plays its unfinished round again (a new ``ralph_iter_start``,
    or a ``run_resumed`` naming it ``replayed``), so a verdict written before
    the kill is not that round's: only the ones after the round's last start
    count, and of those the last (the verdict the loop used). Every reader of
    verdicts per round (``deeploop show``, lessons, outcome) goes through here.
    """
    kept: dict = {}      # round -> (position, event)
    loose = []           # judge results with no round: kept as they are
    for position, event in enumerate(events):
        kind, n = event.get("type"), event.get("round")
        if kind == REPLAYS or (kind == "run_resumed" and event.get("replayed") is not None):
            kept.pop(n if kind == REPLAYS else event.get("replayed"), None)
        elif kind == "judge_result":
            if isinstance(n, int):
                kept[n] = (position, event)
            else:
                loose.append((position, event))
    return [event for _, event in sorted([*kept.values(), *loose], key=lambda pe: pe[0])]


def parse_lines(lines: Iterable[str], source: str = "events.jsonl") -> Journal:
    events, problems = [], []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{source}:{lineno}: not JSON ({exc.msg})")
            continue
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            problems.append(f"{source}:{lineno}: not an event object with a type")
            continue
        events.append(event)
    return Journal(events, problems)


def read_events(path: Path | str) -> Journal:
    """Read a journal; a missing file is an empty journal, not an error."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return parse_lines(fh, source=str(path))
    except FileNotFoundError:
        return Journal([], [])
