"""What a resumed node run restores, from its events alone.

A node run can be resumed (``deeploop loop NODE --resume RUN_ID``) when it
ended ``paused`` (a STOP file or the stop event) or interrupted (Ctrl-C,
SIGTERM, a closed generator: ``aborted`` with ``resumable`` in
outcome.json), or when its process died (no outcome.json; ``harness.hold``
takes over the ``running.json`` it left). Any other ending is final.

The round in flight (a ``ralph_iter_start`` with no ``ralph_iter_end``) is
played again: state.md is cut back to the size that event recorded, which
drops what the killed round appended, and the judge result it may have
written no longer counts (``events.judge_results``, which every reader of
verdicts uses). Rounds, score and violations come from the closed
rounds' events; spend from every model call recorded (a replayed round was
paid for twice) and the seconds the earlier turns recorded.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..events import judge_results
from ..harness import in_flight
from ..runs import read_outcome
from ..usage import Usage

STARTED = "ralph_iter_start"
CLOSED = ("ralph_iter_end", "budget_exhausted")
_TIMED = ("ralph_iter_start", "ralph_iter_end")


@dataclass
class Past:
    """What earlier turns at a run did, as its events say."""

    rounds: int = 0                      # rounds closed
    final_score: float | None = None     # the last closed round's judge score
    violations: Counter = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    flight: dict | None = None           # the ``ralph_iter_start`` of the round to replay
    started: dict = field(default_factory=dict)  # ``run_started``

    @property
    def budget(self) -> dict | None:
        """The budgets the run started with; None for a run from before they were recorded."""
        return self.started.get("budget")


def past_of(events: list[dict]) -> Past:
    """Rebuild a run's progress from its events (pure)."""
    past = Past(started=next((e for e in events if e.get("type") == "run_started"), {}))
    closed = {e.get("round") for e in events if e.get("type") == "ralph_iter_end"}
    verdicts = {e["round"]: e for e in judge_results(events) if e.get("round") in closed}
    for event in events:
        kind = event.get("type")
        if kind == "agent_output":
            past.usage = past.usage + Usage.from_json(event.get("usage"))
        if kind in _TIMED and isinstance(event.get("seconds"), (int, float)):
            past.seconds = max(past.seconds, float(event["seconds"]))
    past.rounds = max((r for r in closed if isinstance(r, int)), default=0)
    if past.rounds in verdicts:
        past.final_score = verdicts[past.rounds].get("score")
    for verdict in verdicts.values():
        past.violations.update(verdict.get("violations") or [])
    past.flight = in_flight(events, STARTED, CLOSED)
    return past


def check_resumable(run_dir: Path, run_id: str, events: list[dict]) -> None:
    """Refuse, in one line, a run that ended for good or cannot be replayed."""
    outcome, problem = read_outcome(run_dir)
    if problem:
        raise InputError(f"cannot resume run {run_id}: {problem}")
    if outcome is not None and not outcome.get("resumable"):
        raise InputError(f"run {run_id} already ended {outcome.get('status')} "
                         f"({outcome.get('exit_reason')}): only a paused or interrupted run "
                         "can be resumed")
    past = past_of(events)
    if not past.started:
        raise InputError(f"cannot resume run {run_id}: its events.jsonl has no run_started")
    played = [e.get("round") for e in events if e.get("type") == "agent_output"]
    if past.flight is None and any(isinstance(r, int) and r > past.rounds for r in played):
        raise InputError(f"cannot resume run {run_id}: it was interrupted mid-round by a "
                         "version that did not record where its round began in state.md")
