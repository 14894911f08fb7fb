"""Signals that end a run, and trainers that end with the harness.

``interrupts()`` turns SIGINT, SIGTERM and SIGHUP into one exception,
``Interrupted`` (a ``KeyboardInterrupt``), so every way a person or a
scheduler stops ``deeploop experiment run`` unwinds the same path Ctrl-C
does: the trainer's process group is killed by ``run_training`` as the
exception passes, the experiment in flight is recorded as interrupted, and
``loop_aborted`` and outcome.json are written before the process exits.
Signals that arrive while that is being written are ignored, so a second
Ctrl-C cannot leave the record half done.

``die_with_parent()`` runs in a freshly forked trainer (or warm-start
helper) and asks Linux to SIGKILL it when its parent dies (prctl
``PR_SET_PDEATHSIG``): a harness killed with ``kill -9`` cannot leave a
trainer competing with the resumed run. Elsewhere it does nothing, and the
resumed run kills the trainer it finds recorded (``trainer.kill_orphan``).
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

STOP_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None),
                                 getattr(signal, "SIGHUP", None)) if s is not None)
PR_SET_PDEATHSIG = 1

# loaded in the parent: a forked child must not dlopen (another thread may hold its lock)
_LIBC = None
if sys.platform.startswith("linux"):
    try:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    except OSError:
        _LIBC = None


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``reason`` names it."""

    def __init__(self, signum: int):
        self.signum = signum
        self.reason = f"interrupted by {signal.Signals(signum).name}"
        super().__init__(self.reason)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextmanager
def interrupts(signals: tuple[int, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Raise ``Interrupted`` for the first of ``signals``, ignore the rest
    until the block ends; handlers are put back afterwards. Outside the main
    thread (a notebook's background loop) signals cannot be caught: a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = []

    def handler(signum, frame):
        if fired:
            return  # already unwinding: let the record be finished
        fired.append(signum)
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def die_with_parent(parent: int | None = None) -> None:
    """In a forked child: be SIGKILLed when the parent dies (Linux). If the
    parent ``parent`` is already gone, exit at once."""
    if _LIBC is None:
        return
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the parent died before the request took effect
