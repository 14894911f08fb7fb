"""Unattended drills: an answerer answers every round until the drill ends.

The loop is the drill's own round, repeated: ask, get a reply, record it.
It stops when the tree closes (passed), on a STOP answer (aborted), on a
``STOP`` file in the run folder (paused, resumable), at the round cap or a
budget, when the answers run out (paused, resumable), after ``spin_limit``
circular answers in a row (spinning), after ``blocked_limit`` BLOCKED fanout
rounds in a row (failed), or when an answerer fails or returns nothing twice
in one round (failed, with the reason).

``drill_steps`` is the loop, a generator of step records that
``harness.drive`` runs; ``run_drill`` drives it with a per-round callback.
"""
from __future__ import annotations

from typing import Callable, Generator, Iterator

from ..errors import InputError
from ..harness import Listener, drain, drive, each, on, record_end
from ..models.purse import attach
from ..runs import Status
from .answers import RejectedAnswer
from .replies import Reply
from .drill import Drill, RoundResult
from .answerers import Answerer

ROUND = "drill_round"  # the step record of a recorded round (not journaled)


def run_drill(drill: Drill, answerer: Answerer,
              on_round: Callable[[RoundResult], None] | None = None) -> str:
    """Drive ``drill`` with ``answerer`` to its end; return the final status.
    ``drill_steps`` driven, each round's result handed to ``on_round``."""
    return drive(drill_steps(drill, answerer), [on_rounds(on_round)] if on_round else [])


def on_rounds(callback: Callable[[RoundResult], None]) -> Listener:
    """A listener that hands ``callback`` the result of each drill round."""
    return on(ROUND, lambda step: callback(step["result"]))


def drill_steps(drill: Drill, answerer: Answerer) -> Generator[dict, None, str]:
    """The unattended drill as a generator of step records, returning the
    final status: the drill's events as journaled (``question_emitted``,
    ``answer_emitted``, ``judge_result``, ``ralph_iter_end``, ...) and after
    each recorded round a ``drill_round`` record carrying its ``RoundResult``.

    It borrows ``drill``: closed between steps (or interrupted: Ctrl-C),
    it leaves the drill whole (no round half-recorded, the question asked
    still pending), for the caller to go on with or close (recorded
    ``paused``, resumable). An error, in the loop or thrown in by a listener,
    ends the drill ``failed`` with the error as its reason, as every loop
    records one (``harness.record_end``), and goes on up."""
    pending: list[dict] = []
    collect = pending.append
    drill.log.listeners.append(collect)
    try:
        yield from _rounds(drill, answerer, pending)
    except Exception as exc:
        record_end(exc, lambda reason, status, crashed: each([lambda: drill.end(status, reason)]))
        raise
    finally:
        drill.log.listeners.remove(collect)
    return str(drill.status)


def _rounds(drill: Drill, answerer: Answerer, pending: list[dict]) -> Iterator[dict]:
    spin_limit = int(drill.node.setting("spin_limit"))
    attach(answerer, drill.purse)  # a model answering spends from the drill's purse too
    unusable = 0
    while not drill.finished:
        question = drill.ask()
        yield from drain(pending)
        if question is None:
            break
        reply = _reply(drill, answerer, question.text)
        yield from drain(pending)
        if reply is None:
            break
        try:
            result = _record(drill, answerer, reply)
        except RejectedAnswer:  # recorded as a round with its violation; ask again
            result = drill.last_result
        except InputError as exc:  # unusable and unrecorded (e.g. "BRANCH:" with no claim)
            unusable += 1
            if unusable >= 2:
                drill.end(Status.FAILED, f"{answerer.source} gave unusable answers twice "
                                           f"in round {drill.rounds + 1}: {exc}")
            yield from drain(pending)
            continue
        unusable = 0
        yield from drain(pending)
        if result is not None:
            yield {"type": ROUND, "round": result.round, "outcome": result.outcome,
                   "status": result.status, "result": result}
        if not drill.finished and drill.circular_streak >= spin_limit:
            drill.end(Status.SPINNING, f"{drill.circular_streak} circular answers in a row")
    yield from drain(pending)


def _reply(drill: Drill, answerer: Answerer, question: str) -> Reply | None:
    """One reply, retrying a failed or empty one once; None when the drill stops here."""
    n = drill.rounds + 1
    answered, reply = drill.call_twice(
        answerer.source, lambda: answerer.answer(question, drill.tree.chain(), round=n),
        charge=True)  # a failed call costs too
    if answered and reply is None:
        drill.pause(f"answers ran out after round {drill.rounds}; resume with more answers")
    return reply


def _record(drill: Drill, answerer: Answerer, reply: Reply) -> RoundResult:
    if reply.blocked:
        return drill.record_blocked(reply)
    return drill.answer(reply.text, source=reply.source, tag=reply.tag, usage=reply.usage,
                          line=reply.line, answers_file=getattr(answerer, "path", None),
                          fanout=reply.fanout)
