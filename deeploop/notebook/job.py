"""An experiment loop run from a notebook: opened by tag, run in a background thread.

A notebook cell that ran the loop itself would block the kernel, and a
blocked kernel handles no button clicks: the Stop button could never be
pressed. So ``ExperimentJob.start`` runs the loop in a thread and returns;
``wait`` blocks (a papermill session waits there), ``stop`` asks the loop to
finish the running experiment and end (``paused``, resumable), ``interrupt``
raises KeyboardInterrupt inside the loop's thread, as Ctrl-C does in the
CLI: the trainer is killed, the experiment in flight is recorded as
interrupted and the run ends ``aborted`` (resumable). Listeners
see every event the loop records; the files stay the truth. When the loop
ends the job builds the run's report (``report=True``), never failing the
run if that goes wrong.
"""
from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Callable

from ..errors import InputError
from ..harness import drive
from ..meta.opening import open_experiment  # noqa: F401  (job.open_experiment, docs/notebooks.md)
from ..reporting import end_with_report
from ..runs import read_outcome


class ExperimentJob:
    """One invocation of the experiment loop, in a thread."""

    def __init__(self, run, settings, *, proposer=None, trainer=None, report: bool = True,
                 listeners: list[Callable[[dict], None]] | None = None,
                 warn: Callable[[str], None] | None = None):
        self.run, self.settings = run, settings
        self.proposer, self.trainer, self.report = proposer, trainer, report
        self.listeners = list(listeners or [])
        self.warn = warn
        self.stop_event = threading.Event()
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self.report_path: Path | None = None
        self.thread: threading.Thread | None = None
        self.recorded = 0  # events the loop recorded in this job
        self._looping = threading.Lock()  # held while the loop (not the report) runs
        self._in_loop = False

    @property
    def running(self) -> bool:
        return self.thread is not None and not self.finished.is_set()

    def start(self) -> "ExperimentJob":
        if self.thread is not None:
            raise InputError(f"experiment {self.run.tag!r} was already started by this job")
        self.thread = threading.Thread(target=self._work, name=f"experiment-{self.run.tag}",
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Finish the experiment in flight, then end the run (paused, resumable)."""
        self.stop_event.set()

    def interrupt(self, timeout: float = 300) -> bool:
        """Stop the loop now, as Ctrl-C would; True once the job has finished.

        The stop event is set too, so a loop between experiments ends at
        once. Waits (bounded) for the loop to record the interruption."""
        self.stop_event.set()
        for _ in range(3):  # an exception raised in a finally block may be swallowed once
            with self._looping:
                if self._in_loop and self.thread is not None and self.thread.ident:
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(self.thread.ident), ctypes.py_object(KeyboardInterrupt))
            if self.finished.wait(timeout / 3):
                return True
        return self.finished.is_set()

    def wait(self, timeout: float | None = None) -> dict | None:
        """Block until the loop (and its report) is done; the run's outcome.json.

        Raises what the loop raised, if it failed."""
        if self.thread is None:
            raise InputError("the experiment job was never started: call start() first")
        if not self.finished.wait(timeout):
            return None
        if self.error is not None:
            raise self.error
        return self.outcome()

    def outcome(self) -> dict | None:
        return read_outcome(self.run.path)[0]

    def _work(self) -> None:
        from ..meta.tier import run_with_meta
        kwargs = {"trainer": self.trainer} if self.trainer else {}
        try:
            with self._looping:
                self._in_loop = True
            try:
                drive(run_with_meta(self.run, self.settings, proposer=self.proposer,
                                    stop=self.stop_event, **kwargs), [self._count, self._tell])
            finally:
                with self._looping:
                    self._in_loop = False
        except BaseException as exc:  # recorded by the loop; kept for wait() to raise
            self.error = exc
        finally:
            self.run.release()  # a new tag's creation lock, if the loop failed before its hold
            extra = {"warn": self.warn} if self.warn else {}
            # a loop refused at the door (another process holds the run) reports nothing
            self.report_path = end_with_report(self.run.path, enabled=self.report and
                                               self.recorded > 0, **extra)
            self._tell({"type": "job_finished", "report": str(self.report_path or "")})
            self.finished.set()

    def _count(self, event: dict) -> None:
        self.recorded += 1

    def _tell(self, event: dict) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as exc:  # a broken view must not stop the experiments
                if self.warn:
                    self.warn(f"deeploop: warning: a listener failed: {exc}")
