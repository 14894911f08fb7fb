"""The one tqdm bar the loops show while they run, fed by their events.

A loop's bar (experiment/status.py ``ProgressBar``, research/progress.py
``ResearchProgress``, drill/progress.py ``DrillProgress``) is this class
with ``__call__`` saying what an event means: ``step`` when a unit of work
is done, ``show`` for the text after the bar, ``note`` for a line above it
(``say`` for one printed even when no bar is shown). It only reads events; a loop never
knows it is there. ``done`` is counted here because a disabled tqdm bar
stops counting.
"""
from __future__ import annotations


class EventBar:
    def __init__(self, total: int | None, done: int, *, unit: str, desc: str,
                 disable: bool = False):
        """``total`` None: no end known (a count without a bar's length)."""
        from tqdm.auto import tqdm  # ~80 ms of imports that `deeploop --help` need not pay
        self.total, self.done = total, done if total is None else min(done, total)
        self.bar = tqdm(total=total, initial=self.done, unit=unit, disable=disable, desc=desc,
                        dynamic_ncols=True)
        self.postfix = ""

    def step(self) -> None:
        """One more unit done (never past the total)."""
        if self.total is None or self.done < self.total:
            self.done += 1
            self.bar.update(1)

    def show(self, postfix: str) -> None:
        self.postfix = postfix
        self.bar.set_postfix_str(postfix)

    def note(self, line: str) -> None:
        """A line above the bar, when the bar is shown."""
        if not self.bar.disable:
            self.bar.write(line)

    def say(self, line: str) -> None:
        """A line for the reader on stdout: above the bar when it is shown, plain when not."""
        if self.bar.disable:
            print(line)
        else:
            self.bar.write(line)

    def __call__(self, event: dict) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.bar.close()
