"""Writing one drill round to the run folder, in the order that makes resume exact.

``answer_emitted`` is the commit point: it carries the action that was
applied, so replaying the journal rebuilds the tree. Everything written
after it in a round (``tree.json``, ``judge_result``, ``state.md``,
``ralph_iter_end``) is derived and can be completed on resume.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

from ..budget import Budget
from ..harness import RunFolder
from .fanout import log_improvements
from .treefile import TREE_FILE, save_tree

NODE = "deeper"


def lock_path(run_dir: Path) -> Path:
    """Beside the run folder, not in it: refusing to resume leaves the folder untouched."""
    run_dir = Path(run_dir)
    return run_dir.parent / f".{run_dir.name}.drill.lock"


@dataclasses.dataclass
class DrillRun(RunFolder):
    """A drill's run folder, held with ``harness.hold`` as every loop's is;
    its lock sits beside it (``lock_path``), not in it."""

    node: ClassVar[str] = NODE
    lock_path = property(lambda self: lock_path(self.path))  # the module's function


def make_budget(budget: Budget | None, hard_cap: int | None, node) -> Budget:
    budget = budget or Budget(max_rounds=node.hard_cap)
    return dataclasses.replace(budget, max_rounds=hard_cap) if hard_cap is not None else budget


def emit_round(drill, n: int, question, text: str, outcome: str, action, tree, verdict,
               meta: dict, *, circular: bool = False, verification=None, reason: str = "") -> None:
    log = drill.log
    if verification is not None:
        log.emit("bedrock_verified", n, **verification.to_json())
    if meta.get("fanout") is not None:
        emit_fanout(drill, n, meta["fanout"])
    fields = {"answer": text, "source": meta["source"], "outcome": outcome,
              "cursor_before": list(drill.tree.cursor),
              "cursor": None if tree.cursor is None else list(tree.cursor),
              "circular": circular, "violations": verdict.violations}
    if action is not None:
        fields["action"] = action.to_json()
    if reason:
        fields["reason"] = reason
    if meta.get("line") is not None:
        fields["line"] = meta["line"]
    if meta.get("answers_file"):
        fields["answers_file"] = meta["answers_file"]
    if meta["usage"].calls:
        fields["usage"] = meta["usage"].to_json()
    log.emit("answer_emitted", n, **fields)
    if tree is not drill.tree:
        save_tree(tree, drill.run_dir / TREE_FILE)
    log.emit("judge_result", n, score=verdict.score, violations=verdict.violations,
             detail=verdict.detail)
    append_state(drill.run_dir, n, question.text, text)


def emit_fanout(drill, n: int, report) -> None:
    """One event per investigator, and failures into both improvements files."""
    for result in report.results:
        if result.ok:
            drill.log.emit("subagent_completed", n, angle=result.name,
                             seconds=round(result.seconds, 3))
        else:
            drill.log.emit("subagent_force_killed", n, angle=result.name,
                             reason=result.status, seconds=round(result.seconds, 3),
                             snippet=result.snippet)
    paths = [drill.run_dir / "improvements.md"]
    if drill.node.improvements_path is not None:
        paths.append(drill.node.improvements_path)
    log_improvements(paths, drill.run_id, n, report.failed)


def append_state(run_dir: Path, n: int, question: str, answer: str) -> None:
    with open(Path(run_dir) / "state.md", "a", encoding="utf-8") as fh:
        fh.write(f"\n--- round {n} ---\nQ: {question}\nA: {answer.strip()}\n")


def round_message(outcome: str, action, tree, reason: str = "") -> str:
    """One line a person reads after their answer."""
    if outcome == "rejected":
        return f"rejected: {reason}"
    if outcome == "blocked":
        return "blocked: the investigators could not answer; the same claim stays open"
    if outcome == "stop":
        return "stopped; resume the run to continue"
    if "bedrock-refuted" in (action.flags if action else ()):
        return f"the skeptics refuted that bedrock; drilling into: {action.claim}"
    if tree.cursor is None:
        return "every branch reached bedrock"
    if outcome == "bedrock":
        return f"bedrock ({action.category}); next open claim: {tree.active.claim}"
    if outcome == "branch":
        return f"parallel cause added: {action.claim}"
    return f"drilling into: {action.claim}"
