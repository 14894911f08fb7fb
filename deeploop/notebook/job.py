"""An experiment loop run from a notebook: opened by tag, run in a background thread.

A notebook cell that ran the loop itself would block the kernel, and a
blocked kernel handles no button clicks: the Stop button could never be
pressed. So ``ExperimentJob.start`` runs the loop in a thread and returns;
``wait`` blocks (a papermill session waits there), ``stop`` asks the loop to
finish the running experiment and end (``paused``, resumable). Listeners
see every event the loop records; the files stay the truth. When the loop
ends the job builds the run's report (``report=True``), never failing the
run if that goes wrong.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Callable

from ..errors import InputError
from ..reporting import end_with_report


def experiment_place(tag: str, run_dir: Path | str | None,
                     root: Path | str | None) -> tuple[str, Path | None]:
    """(tag, runs root) of an experiment. A ``run_dir`` (what ``deeploop
    session`` passes a notebook) names both: ``<root>/experiment/<tag>``."""
    if not run_dir:
        return tag, Path(root) if root else None
    folder = Path(run_dir).resolve()
    if folder.parent.name != "experiment":
        raise InputError(f"an experiment's run folder must be <runs root>/experiment/<tag>, "
                         f"not {folder}")
    return folder.name, folder.parent.parent


def open_experiment(tag: str, *, data: str | None = None, root: Path | str | None = None,
                    run_dir: Path | str | None = None, **overrides):
    """(run, settings) for ``tag``: created when new, resumed when it exists.

    ``overrides`` are Settings fields (experiments, budget, proposer, ...);
    everything is checked before a folder is created. A folder holding only
    a papermill session's files (``deeploop session`` made it) is used as is.
    """
    from ..experiment.proposers import get_proposer
    from ..experiment.rundir import (SETTINGS_FILE, Settings, check_data, init_run, open_run,
                                     run_path)
    tag, root = experiment_place(tag, run_dir, root)
    Settings().merged(overrides)  # bad numbers fail before anything is created
    exists = (run_path(tag, root) / SETTINGS_FILE).is_file()
    run = open_run(tag, root) if exists else None
    settings = (run.settings() if run else Settings()).merged(overrides)
    get_proposer(settings.proposer)  # an unknown proposer fails here too
    if run is None:
        run = init_run(tag, data, root)
    else:
        check_data(run, data)
    run.save_settings(settings)
    return run, settings


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
        try:
            return json.loads((self.run.path / "outcome.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _work(self) -> None:
        from ..experiment.session import run_experiments
        kwargs = {"trainer": self.trainer} if self.trainer else {}
        try:
            for event in run_experiments(self.run, self.settings, proposer=self.proposer,
                                         stop=self.stop_event, **kwargs):
                self.recorded += 1
                self._tell(event)
        except BaseException as exc:  # recorded by the loop; kept for wait() to raise
            self.error = exc
        finally:
            extra = {"warn": self.warn} if self.warn else {}
            # a loop refused at the door (another process holds the run) reports nothing
            self.report_path = end_with_report(self.run.path, enabled=self.report and
                                               self.recorded > 0, **extra)
            self._tell({"type": "job_finished", "report": str(self.report_path or "")})
            self.finished.set()

    def _tell(self, event: dict) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as exc:  # a broken view must not stop the experiments
                if self.warn:
                    self.warn(f"deeploop: warning: a listener failed: {exc}")
