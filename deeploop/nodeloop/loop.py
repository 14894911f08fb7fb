"""The node loop (a ralph loop with lessons).

Every round the model gets the same prompt, the lessons, the locked seed and
the state so far, with fresh context. Its output is appended to state.md,
the judge scores it, and the loop ends when the judge is satisfied, the model
says ``BLOCKED:``, something fails, the hard cap is reached, a budget runs
out, or a ``STOP`` file in the run folder or the ``stop`` event asks it to
(``harness.before_round``, checked before each round, as every loop does).
Stopped on request a run ends ``paused``, as every loop does, and
``deeploop loop NODE --resume RUN_ID`` (``resume_steps``) continues it;
so does a run interrupted (Ctrl-C: ``aborted``, marked ``resumable``) or
killed (``nodeloop.resume`` says what is restored and how the round in
flight is replayed). ``outcome.json`` is always written, even on Ctrl-C.

Each round journals ``ralph_iter_start`` (with the size of state.md before
it) before the model is called, then appends the output to state.md, then
``agent_output``, ``judge_result`` and ``ralph_iter_end``. A process holds
the run's lock and ``running.json`` while it works (``harness.hold``).

``node_steps`` is the loop, a generator of its events (``harness.drive``
runs it); ``run_node`` drives it with a callback.
"""
from __future__ import annotations

import contextlib
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Generator, Iterator

from ..budget import Budget, Spend, budget_exhausted, cap_reached
from ..creating import notice
from ..errors import BudgetRefused, DeeploopError, InputError, JudgeError, NotFound
from ..events import EVENTS_FILE, EventLog, precise_now, read_events
from ..fileio import file_error, read_text
from ..harness import (RunFolder, before_round, drain, drive, ending, hold, lock_build,
                       stop_requested)
from ..judges import JudgeContext, Verdict, load_judge
from ..models import Model, get_model
from ..models.anthropic import check_api_key
from ..usage import Usage
from ..models.purse import Purse, attach, purse_of
from ..nodes import Node
from ..reporting import end_with_report
from ..runs import Outcome, Status, creating_run_dir, run_dir_for, runs_root, validate_run_id
from .resume import check_resumable, past_of

_BLOCKED = re.compile(r"^BLOCKED:", re.MULTILINE)


def build_prompt(prompt_md: str, bans: str, seed: str, state: str, round: int) -> str:
    """The reference harness's prompt layout, section by section."""
    lessons = bans if bans.strip() else "(none yet)"
    return "".join([
        _ends_with_newline(prompt_md), "\n",
        "## Accumulated lessons (BANS.md)\n", _ends_with_newline(lessons), "\n",
        "## Seed (locked input)\n", _ends_with_newline(seed), "\n",
        f"## State so far (round {round})\n", state,
    ])


def is_done(verdict: Verdict, threshold: float) -> bool:
    return verdict.score >= threshold and not verdict.violations


def is_blocked(output: str) -> bool:
    return bool(_BLOCKED.search(output))


@dataclass
class LoopResult:
    run_dir: Path
    outcome: Outcome
    report: Path | None = None  # report.html, when asked for and built
    stopped: str | None = None  # who stopped it on request ("STOP file"), if anyone


@dataclass
class _Progress:
    """What the loop knows so far; turned into outcome.json at the end."""

    status: Status = Status.HARD_CAP
    reason: str = ""
    final_score: float | None = None
    rounds: int = 0
    violations: Counter = field(default_factory=Counter)
    stopped: str | None = None
    resumable: bool = False  # paused, or interrupted (Ctrl-C, SIGTERM, a closed generator)

    def end(self, status: Status, reason: str, resumable: bool = False) -> None:
        self.status, self.reason, self.resumable = status, reason, resumable


def run_node(node: Node, seed: str | None, model: Model | None, *, run_id: str | None = None,
             budget: Budget | None = None, root: Path | None = None,
             on_event: Callable[[dict], None] | None = None,
             clock: Callable[[], float] | None = None, report: bool = False,
             stop: threading.Event | None = None, resume: str | None = None) -> LoopResult:
    """Run one ralph run of ``node`` on ``seed`` (or continue run ``resume``);
    return its folder and outcome.

    ``node_steps`` driven to its end, each event handed to ``on_event``."""
    steps = node_steps(node, seed, model, run_id=run_id, budget=budget, root=root,
                       clock=clock, report=report, stop=stop, resume=resume)
    return drive(steps, [on_event] if on_event else [])


def node_steps(node: Node, seed: str | None, model: Model | None, *,
               run_id: str | None = None, budget: Budget | None = None,
               root: Path | None = None, clock: Callable[[], float] | None = None,
               report: bool = False, stop: threading.Event | None = None,
               resume: str | None = None) -> Generator[dict, None, LoopResult]:
    """One ralph run of ``node`` on ``seed`` as a generator of its events, as
    journaled (``run_started``, then per round ``ralph_iter_start``,
    ``agent_output``, ``judge_result``, ``ralph_iter_end``; ``budget_exhausted``
    or ``stop_requested`` when one ends it; a resume starts with
    ``run_resumed``), returning its ``LoopResult``.

    Bad input is refused here, before anything exists; the run folder is
    created at the first step. Closed mid-run (or Ctrl-C), the run ends
    ``aborted`` (resumable); ``stop`` set (a notebook's Stop button) or a
    ``STOP`` file ends it ``paused`` after the round in flight. ``report``
    ends it with its executed report (``reporting``).

    ``resume`` names a run of ``node`` to continue instead (``resume_steps``):
    no ``seed`` then (the run keeps its own), and ``model`` None is the one it
    started with."""
    if resume is not None:
        if seed is not None or run_id is not None:
            raise InputError("a resumed run keeps its seed and id: pass neither with resume")
        return resume_steps(node, resume, model, budget=budget, root=root, clock=clock,
                            report=report, stop=stop)
    if not seed or not seed.strip():
        raise InputError("seed is empty")
    budget = budget or Budget(max_rounds=node.hard_cap)
    judge = load_judge(node.path)
    node.prompt()  # fail before creating anything if PROMPT.md or BANS.md is unreadable
    node.bans()
    run_dir = run_dir_for(node.name, run_id, root)
    return _run(node, seed, model, judge, budget, run_dir, clock, report, stop)


def _run(node, seed, model, judge, budget, run_dir, clock, report,
         stop) -> Generator[dict, None, LoopResult]:
    with contextlib.ExitStack() as held:
        with creating_run_dir(run_dir) as build:  # the run appears whole, with its first event
            # locked before it has its name and kept locked: a resume cannot take it over
            held.enter_context(lock_build(build, f"run {run_dir.name!r}"))
            (build / "seed.md").write_text(seed, encoding="utf-8")
            (build / "state.md").write_text("", encoding="utf-8")
            started = RunFolder(build, run_dir.name).event_log().emit(
                "run_started", started=precise_now(), model=model.spec,
                hard_cap=budget.max_rounds, done_threshold=node.done_threshold,
                lessons=node.lessons(), budget=budget_json(budget))
        run = RunFolder(run_dir, run_dir.name)
        return (yield from session(node, seed, model, judge, budget, run, clock, report, stop,
                                   first=[started], locked=True))


def budget_json(budget: Budget) -> dict:
    """The budgets a run starts with, recorded in ``run_started`` so a resume keeps them."""
    return {"max_rounds": budget.max_rounds, "max_seconds": budget.max_seconds,
            "max_tokens": budget.max_tokens, "max_usd": budget.max_usd}


def session(node, seed, model, judge, budget, run: RunFolder, clock, report, stop, *,
            first: list[dict] = (), check: Callable[[], None] | None = None,
            locked: bool = False,
            begin: Callable[[EventLog, Spend, "_Progress"], None] | None = None
            ) -> Generator[dict, None, LoopResult]:
    """One process's turn at a run, holding its lock (``harness.hold``): ``check``
    refuses before anything is touched, ``begin`` (a resume) restores what
    earlier turns did, then the rounds; ``outcome.json`` is written however it ends.
    ``locked``: the caller took the lock while it built the run (``lock_build``)."""
    run_dir = run.path
    pending = list(first)  # events as the log writes them, yielded in order
    log = run.event_log([pending.append])
    spend = Spend(clock) if clock else Spend()
    state = _Progress()
    try:
        with hold(run, check, locked=locked):
            try:  # Ctrl-C or a close ends it aborted, any other error failed, naming the error
                with ending(lambda reason, status, crashed: state.end(status, reason,
                                                                      not crashed)):
                    if begin is not None:
                        begin(log, spend, state)
                    yield from drain(pending)
                    yield from _rounds(node, seed, model, judge, budget, spend, log, run_dir,
                                       state, pending, stop)
                    yield from drain(pending)
            finally:
                outcome = _outcome(run_dir.name, node.name, state, spend)
                outcome.write(run_dir)
    except OSError as exc:  # a full disk or a folder made read-only mid-run: one line
        raise file_error(exc, run_dir) from None
    return LoopResult(run_dir, outcome, end_with_report(run_dir, enabled=report), state.stopped)


def resume_steps(node: Node, run_id: str, model: Model | None = None, *,
                 budget: Budget | None = None, root: Path | None = None,
                 clock: Callable[[], float] | None = None, report: bool = False,
                 stop: threading.Event | None = None) -> Generator[dict, None, LoopResult]:
    """Continue run ``run_id`` of ``node`` (see ``nodeloop.resume``), from the
    next round or the round in flight, under the budgets it started with
    (``budget`` is only for a run that recorded none, and refused otherwise);
    ``model`` None is the model it started with. Refused in one line when the
    run does not exist, ended for good, or another process holds it."""
    run_dir = (root or runs_root()) / node.name / validate_run_id(run_id)
    if not (run_dir / EVENTS_FILE).is_file():
        raise NotFound(f"no run {run_id!r} of node {node.name} under {run_dir.parent}")
    run = RunFolder(run_dir, run_id)
    started = past_of(read_events(run.events_path).events).started  # never rewritten
    recorded = started.get("budget")
    if recorded and budget is not None and budget_json(budget) != recorded:
        raise InputError(f"run {run_id} keeps the budgets it started with ({recorded}): "
                         "give none with --resume")
    if not recorded:
        budget = budget or Budget(max_rounds=node.hard_cap)
        notice.warning(f"run {run_id} recorded no budgets when it started: resuming with "
                       f"{budget_json(budget)}")
    budget = Budget(**recorded) if recorded else budget
    if model is None:  # the model it started with, refused now if it cannot be called
        spec = started.get("model") or ""
        check_api_key(spec, f"run {run_id}'s model")
        model = get_model(spec)
    judge = load_judge(node.path)
    seed = read_text(run_dir / "seed.md", "seed.md")

    def check() -> None:  # under the lock: whoever held the run has finished with it
        check_resumable(run_dir, run_id, read_events(run.events_path).events)

    def begin(log: EventLog, spend: Spend, state: _Progress) -> None:
        past = past_of(read_events(run.events_path).events)
        trimmed = _trim_state(run_dir / "state.md", past.flight)
        spend.rounds = state.rounds = past.rounds
        spend.usage, spend.started = past.usage, spend.started - past.seconds
        state.final_score, state.violations = past.final_score, past.violations
        log.emit("run_resumed", past.rounds or None, model=model.spec,
                 replayed=past.flight.get("round") if past.flight else None,
                 trimmed_bytes=trimmed, seconds=round(past.seconds, 3),
                 budget=budget_json(budget), budget_from="run_started" if recorded else "given",
                 lessons=node.lessons())

    return session(node, seed, model, judge, budget, run, clock, report, stop,
                   check=check, begin=begin)


def _trim_state(path: Path, flight: dict | None) -> int:
    """Cut state.md back to where the round in flight began; the bytes cut."""
    size = flight.get("state_bytes") if flight else None
    if not isinstance(size, int) or not path.is_file() or path.stat().st_size <= size:
        return 0
    cut = path.stat().st_size - size
    os.truncate(path, size)
    return cut


def _rounds(node, seed, model, judge, budget, spend, log, run_dir, state: _Progress,
            pending: list[dict], stop: threading.Event | None) -> Iterator[dict]:
    """The rounds; each yields its events after the model's output and after the judge."""
    purse = purse_of(model) or Purse(budget.max_usd)  # the dollar cap, kept before each call
    attach(model, purse)
    purse.spent_usd = spend.usage.usd

    def asked() -> str | None:
        state.stopped = stop_requested(run_dir, stop)
        return state.stopped

    while True:  # its events go to the log, so to ``pending``: the caller yields them
        _, end = before_round(log, _limit(budget, spend), asked, spend.rounds,
                              round=spend.rounds or None)
        if end:
            state.end(*end, resumable=end[0] == Status.PAUSED)
            return
        spend.rounds = state.rounds = spend.rounds + 1
        n = spend.rounds
        current = (run_dir / "state.md").read_text(encoding="utf-8")
        # where state.md stood: a resume cuts back to it what a kill left of this round
        log.emit("ralph_iter_start", n, state_bytes=len(current.encode("utf-8")),
                 seconds=round(spend.seconds, 3))
        yield from drain(pending)
        prompt = build_prompt(node.prompt(), node.bans(), seed, current, n)
        try:
            completion = model.complete(prompt, node=node.name, run_id=run_dir.name, round=n,
                                        bans_file=node.bans_path, seed_file=run_dir / "seed.md",
                                        run_dir=run_dir)
        except BudgetRefused:
            log.emit("budget_exhausted", n, reason=purse.refused)
            spend.rounds = state.rounds = n - 1  # the round was never played
            state.status, state.reason = Status.BUDGET, purse.refused
            return
        except DeeploopError as exc:
            spend.add(getattr(exc, "usage", None) or Usage())  # a failed call costs too
            state.status, state.reason = Status.FAILED, f"model failed: {exc}"
            return
        except Exception as exc:  # a model adapter bug or a crash in user code
            state.status, state.reason = Status.FAILED, f"model failed: {type(exc).__name__}: {exc}"
            return
        output = completion.text
        spend.add(completion.usage)
        with open(run_dir / "state.md", "a", encoding="utf-8") as fh:
            fh.write(f"\n--- round {n} ---\n{output}\n")
        extra = ({"usage": completion.usage.to_json()}
                 if completion.usage.total_tokens or completion.usage.usd else {})
        log.emit("agent_output", n, output=output, **extra)
        yield from drain(pending)
        ctx = JudgeContext(node.name, run_dir, n, seed,
                           (run_dir / "state.md").read_text(encoding="utf-8"))
        try:
            verdict = judge(output, ctx, log)
        except JudgeError as exc:
            state.status, state.reason = Status.FAILED, f"judge failed: {exc}"
            return
        state.final_score = verdict.score
        state.violations.update(verdict.violations)
        done = is_done(verdict, node.done_threshold)
        log.emit("ralph_iter_end", n, done=done, reason=f"judge_score={verdict.score}",
                 seconds=round(spend.seconds, 3))
        yield from drain(pending)
        if done:
            state.status = Status.PASSED
            state.reason = f"judge_score={verdict.score} >= {node.done_threshold}"
            return
        if is_blocked(output):
            state.status, state.reason = Status.ABORTED, "model emitted BLOCKED"
            return


def _limit(budget: Budget, spend: Spend) -> tuple[Status, str] | None:
    """(status, reason) when the run's own limits end it before the next round."""
    if cap_reached(budget, spend):
        return Status.HARD_CAP, f"reached hard cap of {budget.max_rounds} rounds"
    exhausted = budget_exhausted(budget, spend)
    return (Status.BUDGET, exhausted) if exhausted else None


def _outcome(run_id: str, node: str, state: _Progress, spend: Spend) -> Outcome:
    extra = {}
    if spend.usage.total_tokens or spend.usage.usd:
        extra["usage"] = spend.usage.to_json()
    if state.resumable:
        extra["resumable"] = True  # deeploop loop NODE --resume RUN_ID continues it
    return Outcome(run_id, node, str(state.status), state.rounds, state.final_score,
                   state.reason, dict(state.violations), extra)


def _ends_with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
