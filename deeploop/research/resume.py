"""One invocation of the research loop: lock, recover, run, end.

Resume is replay. A round whose ``research_started`` has no
``research_result`` was interrupted:

- before ``research_synthesised``: report.md and the index go back to the
  round's starting commit, and the question is picked again;
- after it: the round is finished from the recorded attempt (no second
  search, no second bill), committing it unless its commit already exists.

A ``cohort_analysed`` with no ``meta_analysis`` was cut short: its entry
and program.md are written from the event and committed (unless its
``meta:`` commit landed), then ``meta_analysis`` is recorded. Then whatever
else is uncommitted in the workspace is committed, never thrown away: a
person's edits (a new topic in program.md, a hand-edited index) an
``edit:`` commit. A hand-edited index row that is malformed is reported,
kept and not counted.

Runs recorded before ``cohort_analysed`` existed (their ``research_init``
lacks ``cohort_events``) have their last cohort read once from
process_log.md and recorded as a ``cohort_analysed`` with ``adopted: true``.
"""
from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator

from pathlib import Path

from ..errors import InputError, JudgeError
from ..events import read_events
from .. import harness
from ..fileio import read_text
from ..harness import each, ending, hold
from ..judges import Verdict
from ..runs import Status
from .knowledge import INDEX_FILE, read_index
from .loop import ResearchLoop, cohorts_analysed, settle_at
from .process_log import PROCESS_LOG_FILE, cohorts_recorded
from .program_doc import PLACEHOLDER, has_placeholder, seeds_of
from .rundir import PROGRAM_FILE, REPORT_FILE, ResearchRun, Settings
from .synthesizer import Attempt, Synthesizer

TRACKED = (PROGRAM_FILE, REPORT_FILE, INDEX_FILE, PROCESS_LOG_FILE)
CLOSED = ("research_result", "research_interrupted")


def in_flight(events: list[dict]) -> dict | None:
    """The last started round with neither a result nor an interruption recorded."""
    return harness.in_flight(events, "research_started", CLOSED)


def _of_round(events: list[dict], kind: str, number: int) -> dict | None:
    return next((e for e in reversed(events) if e.get("type") == kind
                 and e.get("round") == number), None)


def check_program(run: ResearchRun) -> None:
    """Refuse a program still on the template's placeholder, or with nothing to ask."""
    program = read_text(run.program_path, "program.md")
    if has_placeholder(program):
        raise InputError(f"program.md still says {PLACEHOLDER}: write the topic under "
                         f"'## Problem Statement' (and the seed questions) in {run.program_path}")
    if not seeds_of(program) and not read_index(run.index_path).entries:
        raise InputError(f"program.md has no seed questions: list some under "
                         f"'## Seed Questions' in {run.program_path}")


def recover(loop: ResearchLoop, events: list[dict]) -> Iterator[dict]:
    """Finish or undo an interrupted round, then commit what is left over."""
    yield from _adopt_cohorts(loop, events)
    flight = in_flight(events)
    if flight is not None:
        yield from _finish_round(loop, events, flight)
    yield from _finish_cohort(loop, read_events(loop.run.events_path).events)
    yield from _commit_leftovers(loop)


def _adopt_cohorts(loop: ResearchLoop, events: list[dict]) -> Iterator[dict]:
    """The one read of process_log.md for state, in a run from before cohort events."""
    init = next((e for e in events if e.get("type") == "research_init"), {})
    if init.get("cohort_events") or cohorts_analysed(events):
        return
    written = cohorts_recorded(loop.run.process_log_path.read_text(encoding="utf-8"))
    if written:
        loop.cohorts = written
        yield loop.log.emit("cohort_analysed", cohort=written, analyst="offline", adopted=True)


def _finish_cohort(loop: ResearchLoop, events: list[dict]) -> Iterator[dict]:
    """Record the last cohort analysed if its ``meta_analysis`` is missing."""
    number = cohorts_analysed(events)
    if not number or any(e.get("type") == "meta_analysis" and e.get("cohort") == number
                         for e in events):
        return
    analysed = next(e for e in reversed(events) if e.get("type") == "cohort_analysed")
    if loop.ws.git("log", "-1", "--format=%s").startswith(f"meta: cohort {number} analysis"):
        yield loop.meta_analysis(analysed, loop.ws.head(), recovered=True)  # committed, then killed
    elif "entry" in analysed:
        yield loop.record_cohort(analysed, recovered=True)
    else:  # adopted: the old loop wrote both files before committing them
        commit = loop.ws.commit(f"meta: cohort {number} analysis (finished after an "
                                f"interruption)", paths=(PROGRAM_FILE, PROCESS_LOG_FILE))
        yield loop.meta_analysis(analysed, commit, recovered=True)


def _finish_round(loop: ResearchLoop, events: list[dict], flight: dict) -> Iterator[dict]:
    ws, number, head = loop.ws, flight["round"], flight["head"]
    synthesised = _of_round(events, "research_synthesised", number)
    committed = _of_round(events, "research_committed", number)
    if synthesised is None:
        ws.git("checkout", "-q", head, "--", REPORT_FILE, INDEX_FILE)
        yield loop.log.emit("research_interrupted", round=number, question=flight["question"],
                            reason="interrupted before the synthesis was recorded")
        return
    attempt = Attempt.from_json(synthesised["attempt"])
    commit = committed.get("commit") if committed else _orphan_commit(ws, head, number)
    if commit is None:
        ws.git("checkout", "-q", head, "--", REPORT_FILE, INDEX_FILE)
    elif committed is None:
        yield loop.log.emit("research_committed", round=number, commit=commit, recovered=True)
    yield from loop.complete(number, attempt, head, commit=commit)


def _orphan_commit(ws, head: str, number: int) -> str | None:
    """The round's commit when it was made but its event was not written."""
    tip = ws.head()
    if tip == head:
        return None
    message = ws.git("log", "-1", "--format=%s", tip)
    parent = ws.git("rev-parse", f"{tip}^").strip()
    return tip if parent == head and message.startswith(f"research {number}:") else None


def _commit_leftovers(loop: ResearchLoop) -> Iterator[dict]:
    ws = loop.ws
    dirty = [p for p in ws.dirty_paths() if p in TRACKED]
    if dirty:
        commit = ws.commit(f"edit: hand edits to {', '.join(dirty)}", paths=tuple(dirty))
        yield loop.log.emit("hand_edits", paths=dirty, commit=commit)


def run_research(run: ResearchRun, settings: Settings, synthesizer: Synthesizer, *,
                 constitution: str = "", lessons: str = "",
                 clock: Callable[[], float] = time.monotonic) -> Iterator[dict]:
    """Run the loop for ``run``, yielding every event as it is recorded. A run
    created to be run (``init_research(keep_lock=True)``) is still locked from
    its creation: the loop holds that lock, and lets go of it at the end."""
    kept = run.kept_lock()
    with (kept or contextlib.nullcontext(),  # refused before anything is touched:
          hold(run, check=lambda: check_program(run), locked=kept is not None)):
        yield from _run_locked(run, settings, synthesizer, constitution, lessons, clock)


def _run_locked(run: ResearchRun, settings: Settings, synthesizer: Synthesizer,
                constitution: str, lessons: str, clock) -> Iterator[dict]:
    run.workspace().clear_temporary()  # a killed atomic write's leftovers
    run.save_settings(settings)
    loop = ResearchLoop(run, settings, synthesizer, constitution, lessons, clock)
    events = read_events(run.events_path).events
    loop.load(events)
    yield from recover(loop, events)
    problems = read_index(run.index_path).problems
    if problems:
        yield loop.log.emit("index_problems", problems=problems)
    with ending(lambda reason, status, crashed: _record_end(loop, reason, status, crashed)):
        yield from loop.events()


def rejudge(run_dir, number: int) -> Verdict:
    """The judge's verdict on round ``number`` of a research run, from its files."""
    run = ResearchRun(Path(run_dir), Path(run_dir).name)
    events = read_events(run.events_path).events
    started = _of_round(events, "research_started", number)
    synthesised = _of_round(events, "research_synthesised", number)
    if started is None or synthesised is None:
        raise JudgeError(f"round {number} of {run_dir} has no recorded synthesis to judge")
    attempt = Attempt.from_json(synthesised["attempt"])
    return settle_at(run.workspace(), started["head"], attempt)[0].verdict


def _record_end(loop: ResearchLoop, reason: str, status: Status, crashed: bool) -> None:
    """Record how a run ended early (see ``harness.ending``)."""
    steps = [lambda: _settle_interrupted(loop)]
    if crashed:
        steps.append(lambda: [None for _ in loop.notify(
            "crash", f"deeploop research {loop.run.tag}: stopped: {reason}")])
    each(steps + [lambda: loop.log.emit("loop_aborted", reason=reason),
                  lambda: loop.finish(status, reason)])


def _settle_interrupted(loop: ResearchLoop) -> None:
    """Finish (or undo) the round in flight now, so the files are whole."""
    try:
        for _ in recover(loop, read_events(loop.run.events_path).events):
            pass
    except Exception:
        pass  # the next run recovers; the original error is the one to report
