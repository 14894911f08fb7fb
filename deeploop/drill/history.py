"""Replay: a drill's state rebuilt from its journal, so resume is replay.

``events.jsonl`` is the truth. A drill started here records the claim in
``run_started``; every round records the action it applied in
``answer_emitted``. Applying those actions in order to the starting tree
gives the tree, whatever happened to ``tree.json``. A run recorded by the
reference (only judge events, no actions) starts from its ``tree.json``;
once continued here, a ``drill_adopted`` event keeps that starting tree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..events import EVENTS_FILE, parse_lines
from ..usage import Usage
from .answers import Action
from .moves import apply_action
from .tree import Tree, new_tree
from .treefile import TREE_FILE, load_tree, tree_from_json

APPLIED = ("advanced", "bedrock", "branch")
COUNTED = APPLIED + ("stop", "rejected", "blocked")


@dataclass
class History:
    tree: Tree
    rounds: int = 0                    # rounds recorded: answered, rejected or blocked
    pending: dict | None = None        # a question_emitted not yet answered
    asked: list[tuple[tuple, str]] = field(default_factory=list)  # (cursor, question)
    circular_streak: int = 0
    blocked_streak: int = 0
    usage: Usage = field(default_factory=Usage)
    answers_used: dict[str, int] = field(default_factory=dict)  # answers file -> lines used
    legacy: bool = False
    questioner: str = "offline"



def asked_on_chain(asked: list[tuple[tuple, str]], cursor: tuple) -> list[str]:
    """Questions already asked of the claim at ``cursor`` or any of its ancestors."""
    return [q for path, q in asked if tuple(cursor[:len(path)]) == tuple(path)]


def starting_tree(events: list[dict]) -> Tree | None:
    """The tree a drill started from, as its journal records it (None: legacy)."""
    for event in events:
        if event.get("type") == "drill_adopted" and isinstance(event.get("base_tree"), dict):
            return tree_from_json(event["base_tree"], "events.jsonl drill_adopted")
    for event in events:
        if event.get("type") == "run_started" and isinstance(event.get("claim"), str):
            return new_tree(event["claim"])
    return None


def replay(base: Tree, events: list[dict], base_rounds: int = 0) -> History:
    """Pure: the state after applying every recorded round to ``base``."""
    h = History(base, rounds=base_rounds)
    for event in events:
        kind = event.get("type")
        h.usage = h.usage + _usage(event)
        if kind in ("run_started", "drill_adopted", "drill_resumed"):
            h.questioner = str(event.get("questioner") or h.questioner)
        elif kind == "question_emitted":
            h.pending = event
            h.asked.append((tuple(event.get("cursor") or ()), str(event.get("question", ""))))
        elif kind == "answer_emitted" and event.get("outcome") in COUNTED:
            _apply_round(h, event)
    return h


def _apply_round(h: History, event: dict) -> None:
    outcome = event["outcome"]
    if outcome in APPLIED:
        action = Action.from_json(event.get("action") or {})
        h.tree = apply_action(h.tree, action).tree
    h.rounds = max(h.rounds, int(event.get("round") or 0))
    h.pending = None
    h.circular_streak = h.circular_streak + 1 if event.get("circular") else 0
    h.blocked_streak = h.blocked_streak + 1 if outcome == "blocked" else 0
    if event.get("answers_file") and isinstance(event.get("line"), int):
        h.answers_used[event["answers_file"]] = event["line"]


def _usage(event: dict) -> Usage:
    usage = event.get("usage")
    if not isinstance(usage, dict):
        return Usage()
    try:
        return Usage(**{k: (float(v) if k == "usd" else int(v))
                        for k, v in Usage.from_json(usage).__dict__.items()})
    except (TypeError, ValueError):
        return Usage()


def read_journal(run_dir: Path, strict: bool) -> list[dict]:
    """The run's events. ``strict``: a malformed line refuses, except a torn last
    line (a write killed mid-line), which is the round in flight and is dropped."""
    path = Path(run_dir) / EVENTS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; the drill cannot be replayed") from None
    lines = text.splitlines()
    journal = parse_lines(lines, source=str(path))
    if strict and journal.problems:
        torn = f"{path}:{len(lines)}:"
        real = [p for p in journal.problems if not (p.startswith(torn) and not text.endswith("\n"))]
        if real:
            raise InputError(f"{real[0]}; the drill cannot be replayed (the file was left as it was)")
    return journal.events


def load_history(run_dir: Path, strict: bool = True) -> History:
    """A run folder's drill state: replayed from events, or a legacy tree.json."""
    run_dir = Path(run_dir)
    events = read_journal(run_dir, strict)
    base = starting_tree(events)
    if base is None:
        if not (run_dir / TREE_FILE).exists():
            raise InputError(f"{run_dir} has neither a drill journal nor a {TREE_FILE}")
        tree = load_tree(run_dir / TREE_FILE)
        rounds = max((e.get("round") for e in events if isinstance(e.get("round"), int)),
                     default=0)
        return History(tree, rounds=rounds, legacy=True)
    adopted = next((i for i, e in enumerate(events) if e.get("type") == "drill_adopted"), None)
    base_rounds = 0
    if adopted is not None:  # the reference's own events before it are not replayable
        base_rounds = int(events[adopted].get("base_rounds") or 0)
        events = events[adopted:]
    try:
        return replay(base, events, base_rounds)
    except InputError as exc:
        raise InputError(f"{run_dir / EVENTS_FILE}: cannot replay the drill: {exc}") from None
