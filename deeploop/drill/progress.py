"""A tqdm progress bar that follows an unattended drill's step records:
rounds played out of the round cap, the last judge score and the depth of
the claim being drilled, and each round's line (outcome, score, violations,
what happened) above it. It only reads the steps ``drill_steps`` yields;
the drill never knows it is there."""
from __future__ import annotations

from ..progressbar import EventBar
from .unattended import ROUND


def round_line(result) -> str:
    """What a person reads after a round: ``round N: outcome · score S · violations``
    and, indented, what the answer did."""
    violations = result.verdict.violations
    return (f"round {result.round}: {result.outcome} · score {result.verdict.score}"
            + (f" · {', '.join(violations)}" if violations else "")
            + f"\n  {result.message}")


class DrillProgress(EventBar):
    """``lines`` False: the bar only (``deeploop drill --quiet`` shows neither)."""

    def __init__(self, total: int | None, done: int, *, disable: bool = False,
                 lines: bool = True):
        super().__init__(total, done, unit="round", desc="drill", disable=disable)
        self.lines = lines

    def __call__(self, step: dict) -> None:
        if step.get("type") != ROUND:
            return
        result = step["result"]
        self.step()
        depth = len(result.tree.cursor) if result.tree.cursor is not None else "-"
        self.show(f"score {result.verdict.score} | depth {depth}")
        if self.lines:
            self.say(round_line(result))
