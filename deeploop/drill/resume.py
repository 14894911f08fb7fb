"""Resuming a drill: refuse what cannot be continued, repair what a kill left.

Order matters: take the run's lock first (a second process is refused before
it reads anything), replay the journal, check ``tree.json`` is readable
(a corrupt file is named and left as it was), then complete a round whose
answer was recorded but whose judge or end marker was lost, and bring
``tree.json`` back in line with the journal.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..events import EVENTS_FILE, read_events
from ..liveness import RUNNING_FILE, Heartbeat, take_over
from ..runs import OUTCOME_FILE, Status, resolve_run
from .history import History, load_history
from .journal import append_state, lock_run, make_budget, precise_now
from .judge import judge_round
from .node import DeeperNode, load_deeper
from .questioner import get_questioner
from .treefile import TREE_FILE, load_tree, save_tree, tree_to_json


def resume_session(cls, run, *, root: Path | None = None, node=None, questioner=None,
                   verifier=None, budget=None, hard_cap=None, clock=None, ts_clock=None,
                   listeners=(), stop=None):
    run_dir = resolve_run(str(run), root)
    _check_is_drill(run_dir)
    lock = lock_run(run_dir)
    try:
        previous = take_over(run_dir, f"drill {run_dir.name}")
        history = load_history(run_dir, strict=True)
        tree_file = run_dir / TREE_FILE
        if tree_file.exists():
            load_tree(tree_file)  # a corrupt tree.json is refused, not overwritten
        node = node if isinstance(node, DeeperNode) else load_deeper(node)
        asker = get_questioner(questioner or history.questioner, node)
        session = cls(run_dir, history, node=node, questioner=asker, verifier=verifier,
                      budget=make_budget(budget, hard_cap, node), clock=clock, ts_clock=ts_clock,
                      listeners=listeners, lock=lock, stop=stop)
        if history.legacy and history.tree.finished:  # refuse before writing anything
            raise InputError(f"drill {session.run_id} is finished: no open leaves")
        _terminate_torn_line(run_dir / EVENTS_FILE)
        if history.legacy:
            session.log.emit("drill_adopted", started=precise_now(), base_rounds=history.rounds,
                             base_tree=tree_to_json(history.tree), questioner=asker.spec)
        _complete_open_round(session, history)
        _sync_tree_file(session)
        if session.tree.finished:
            _refuse_finished(session, history)
        lock.enter_context(Heartbeat(run_dir / RUNNING_FILE))
        stale = {"stale": previous.reason} if previous is not None else {}
        session.log.emit("drill_resumed", started=precise_now(), questioner=asker.spec,
                         hard_cap=session.budget.max_rounds, rounds=session.rounds, **stale)
    except BaseException:
        lock.close()
        raise
    return session


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


def _complete_open_round(session, history: History) -> None:
    """The answer is recorded (the commit point); write what followed it."""
    event = history.open_round
    if event is None:
        return
    n = int(event.get("round") or session.rounds)
    question = history.open_question or {}
    text = str(question.get("question", ""))
    if not history.open_judged:
        verdict = judge_round(session.tree, question=text,
                              raw_chars=int(question.get("raw_chars") or 0),
                              raw_lines=int(question.get("raw_lines") or 1),
                              move_violations=tuple(event.get("violations") or ()))
        session.log.emit("judge_result", n, score=verdict.score, violations=verdict.violations,
                         detail=verdict.detail)
        session.last_verdict = verdict
    state = session.run_dir / "state.md"
    if not state.exists() or f"--- round {n} ---" not in state.read_text(encoding="utf-8"):
        append_state(session.run_dir, n, text, str(event.get("answer", "")))
    session.log.emit("ralph_iter_end", n, done=session.tree.done,
                     reason=f"{event.get('outcome')}; completed on resume")


def _sync_tree_file(session) -> None:
    path = session.run_dir / TREE_FILE
    if path.exists() and tree_to_json(load_tree(path)) == tree_to_json(session.tree):
        return
    save_tree(session.tree, path)
    session.log.emit("tree_repaired", session.rounds or None,
                     reason=f"{TREE_FILE} did not match the journal; rewritten from events")


def _refuse_finished(session, history: History) -> None:
    if not history.legacy and not (session.run_dir / OUTCOME_FILE).exists():
        session.end(Status.PASSED, "every branch reached bedrock")  # killed before saying so
    raise InputError(f"drill {session.run_id} is finished: no open leaves")
