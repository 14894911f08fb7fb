"""Resuming a drill: refuse what cannot be continued, repair what a kill left.

Order matters: hold the run (``harness.hold``: its lock first, so a second
process is refused before it reads anything), and inside it, before anything
is written, replay the journal and check ``tree.json`` is readable (a corrupt
file is named and left as it was); then take over what a dead process left
(a ``run_stale`` event, ``running.json``), complete the round in flight whose
answer was recorded but whose judge or end marker was lost
(``harness.in_flight``), and bring ``tree.json`` back in line with the journal.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from ..errors import InputError
from ..events import EVENTS_FILE, precise_now, read_events
from ..harness import hold, in_flight
from ..runs import OUTCOME_FILE, Status, resolve_run
from .history import History, load_history, read_journal
from .journal import DrillRun, append_state, make_budget
from .judge import judge_round
from .node import DeeperNode, load_deeper
from .questioner import get_questioner
from .treefile import TREE_FILE, load_tree, save_tree, tree_to_json


def resume_drill(cls, run, *, root: Path | None = None, node=None, questioner=None,
                   verifier=None, budget=None, hard_cap=None, clock=None, ts_clock=None,
                   listeners=(), stop=None):
    run_dir = resolve_run(str(run), root)
    _check_is_drill(run_dir)
    loaded: dict = {}

    def check() -> None:  # inside the lock, before running.json or any event is written
        history = load_history(run_dir, strict=True)
        tree_file = run_dir / TREE_FILE
        if tree_file.exists():
            load_tree(tree_file)  # a corrupt tree.json is refused, not overwritten
        deeper = node if isinstance(node, DeeperNode) else load_deeper(node)
        asker = get_questioner(questioner or history.questioner, deeper)
        if history.legacy and history.tree.finished:
            raise InputError(f"drill {run_dir.name} is finished: no open leaves")
        _terminate_torn_line(run_dir / EVENTS_FILE)  # so the events that follow stay whole
        loaded.update(history=history, node=deeper, asker=asker)

    lock = contextlib.ExitStack()
    try:  # a dead process's run is taken over with a run_stale event
        lock.enter_context(hold(DrillRun(run_dir, run_dir.name), check=check))
        history, asker = loaded["history"], loaded["asker"]
        drill = cls(run_dir, history, node=loaded["node"], questioner=asker,
                      verifier=verifier, budget=make_budget(budget, hard_cap, loaded["node"]),
                      clock=clock, ts_clock=ts_clock, listeners=listeners, lock=lock, stop=stop)
        if history.legacy:
            drill.log.emit("drill_adopted", started=precise_now(), base_rounds=history.rounds,
                             base_tree=tree_to_json(history.tree), questioner=asker.spec)
        _complete_open_round(drill)
        _sync_tree_file(drill)
        if drill.tree.finished:
            _refuse_finished(drill, history)
        drill.log.emit("drill_resumed", started=precise_now(), questioner=asker.spec,
                         hard_cap=drill.budget.max_rounds, rounds=drill.rounds)
    except BaseException:
        lock.close()
        raise
    return drill


def _check_is_drill(run_dir: Path) -> None:
    if run_dir.parent.name == "deeper" or (run_dir / TREE_FILE).exists():
        return
    node = next((e.get("node") for e in read_events(run_dir / EVENTS_FILE).events
                 if e.get("node")), run_dir.parent.name)
    raise InputError(f"{run_dir} is not a drill: it is a run of node {node} with no {TREE_FILE}")


def _terminate_torn_line(path: Path) -> None:
    """A write killed mid-line left no newline; end that line so new events stay whole."""
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as fh:
            fh.seek(-1, 2)
            torn = fh.read(1) != b"\n"
        if torn:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("\n")


def open_round(events: list[dict]) -> tuple[dict, dict, bool] | None:
    """The round in flight a kill left (``harness.in_flight``): its answer
    recorded (``answer_emitted``, the commit point), its ``ralph_iter_end``
    not; with the question it answered and whether it was judged."""
    flight = in_flight(events, "answer_emitted", ("ralph_iter_end",))
    if flight is None:
        return None
    at = next(i for i, event in enumerate(events) if event is flight)
    question: dict = {}
    for event in events[:at]:  # the question pending when it was answered
        if event.get("type") == "question_emitted":
            question = event
        elif event.get("type") == "answer_emitted":
            question = {}
    judged = any(event.get("type") == "judge_result" and event.get("round") == flight.get("round")
                 for event in events[at + 1:])
    return flight, question, judged


def _complete_open_round(drill) -> None:
    """The answer is recorded (the commit point); write what followed it."""
    found = open_round(read_journal(drill.run_dir, strict=False))
    if found is None:
        return
    event, question, judged = found
    n = int(event.get("round") or drill.rounds)
    text = str(question.get("question", ""))
    if not judged:
        verdict = judge_round(drill.tree, question=text,
                              raw_chars=int(question.get("raw_chars") or 0),
                              raw_lines=int(question.get("raw_lines") or 1),
                              move_violations=tuple(event.get("violations") or ()))
        drill.log.emit("judge_result", n, score=verdict.score, violations=verdict.violations,
                         detail=verdict.detail)
        drill.last_verdict = verdict
    state = drill.run_dir / "state.md"
    if not state.exists() or f"--- round {n} ---" not in state.read_text(encoding="utf-8"):
        append_state(drill.run_dir, n, text, str(event.get("answer", "")))
    drill.log.emit("ralph_iter_end", n, done=drill.tree.done,
                     reason=f"{event.get('outcome')}; completed on resume")


def _sync_tree_file(drill) -> None:
    path = drill.run_dir / TREE_FILE
    if path.exists() and tree_to_json(load_tree(path)) == tree_to_json(drill.tree):
        return
    save_tree(drill.tree, path)
    drill.log.emit("tree_repaired", drill.rounds or None,
                     reason=f"{TREE_FILE} did not match the journal; rewritten from events")


def _refuse_finished(drill, history: History) -> None:
    if not history.legacy and not (drill.run_dir / OUTCOME_FILE).exists():
        drill.end(Status.PASSED, "every branch reached bedrock")  # killed before saying so
    raise InputError(f"drill {drill.run_id} is finished: no open leaves")
