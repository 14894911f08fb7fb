"""A tqdm progress bar that follows the loop's events: experiments done,
best val_bpb and the time left. It only reads events; the loop never knows it."""
from __future__ import annotations

import time
from typing import Callable


def time_left(done: int, total: int, spent_s: float, hours: float | None) -> float | None:
    """Seconds left: the average experiment so far times those remaining,
    capped by the wall-clock budget. Pure."""
    estimate = None
    if done > 0 and total > done:
        estimate = spent_s / done * (total - done)
    elif total <= done:
        estimate = 0.0
    if hours is not None:
        cap = max(0.0, hours * 3600 - spent_s)
        estimate = cap if estimate is None else min(estimate, cap)
    return estimate


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ProgressBar:
    def __init__(self, total: int, done: int, best: float | None, hours: float | None,
                 disable: bool = False, clock: Callable[[], float] = time.monotonic):
        from tqdm.auto import tqdm
        self.bar = tqdm(total=total, initial=min(done, total), unit="exp", disable=disable,
                        desc="experiments", dynamic_ncols=True)
        self.done_here, self.best, self.hours = 0, best, hours
        self.clock, self.started = clock, clock()
        self._postfix()

    def _postfix(self) -> None:
        best = f"{self.best:.6f}" if self.best else "-"
        left = time_left(self.done_here, self.bar.total - self.bar.n + self.done_here,
                         self.clock() - self.started, self.hours)
        self.bar.set_postfix_str(f"best val_bpb {best} | left {_clock(left)}")

    def __call__(self, event: dict) -> None:
        if event.get("type") != "experiment_result":
            return
        if event.get("status") == "keep" and event.get("val_bpb"):
            self.best = min(self.best or event["val_bpb"], event["val_bpb"])
        if event.get("kind") != "baseline":
            self.done_here += 1
            self.bar.update(1)
        self._postfix()

    def close(self) -> None:
        self.bar.close()
