"""A tqdm bar that follows a node run's step records: rounds played out of
the hard cap, and the last judge score. It reads only the events
``node_steps`` yields (``run_started`` or ``run_resumed`` open it,
``judge_result`` sets the score, ``ralph_iter_end`` counts a round); the
loop never knows it is there."""
from __future__ import annotations

from ..progressbar import EventBar


class NodeProgress:
    def __init__(self, *, disable: bool = False):
        self.disable = disable
        self.bar: EventBar | None = None

    def __call__(self, step: dict) -> None:
        kind = step.get("type")
        if kind == "run_started":
            self._open(step, step.get("hard_cap"), 0)
        elif kind == "run_resumed":
            self._open(step, (step.get("budget") or {}).get("max_rounds"), step.get("round") or 0)
        elif self.bar is None:
            return
        elif kind == "judge_result":
            self.bar.show(f"score {step.get('score')}")
        elif kind == "ralph_iter_end":
            self.bar.step()

    def _open(self, step: dict, total: int | None, done: int) -> None:
        if self.bar is None:
            self.bar = EventBar(total, done, unit="round", desc=step.get("node") or "loop",
                                disable=self.disable)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
