"""One invocation of the experiment loop: lock, recover, run, end.

Resume is replay. An experiment whose ``experiment_started`` has no
``experiment_result`` was interrupted (kill -9, a signal, a full disk, a
harness error): if its row reached results.tsv the row stands and the
result is recorded from it; otherwise an interruption is not a result. No
row is written; an ``experiment_interrupted`` event says what was lost, and
the loop trains the same change again, under the same number, before it
asks for a new one (``Loop.rerun``). Either way the workspace goes back to
the best kept commit. Ctrl-C, SIGTERM and SIGHUP do the same at once
(``interrupts``). A workspace with uncommitted changes that no interrupted
experiment explains is refused untouched.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Callable, Iterator

from ..errors import InputError
from ..events import read_events
from ..harness import each, hold, in_flight, record_end
from .loop import Loop, Scorer, Trainer, usage_of
from .proposers import Proposer
from .record import check_record
from .results import RowStatus, read_results
from .rundir import ExperimentRun, Settings
from .trainer import kill_orphan, run_training, scrub_env
from .sandbox import Sandbox, Walls
from .warm import SCORE_PRELOAD, WarmStarter
from .workspace import TrainingWorkspace


CLOSED = ("experiment_result", "experiment_interrupted")


def find_in_flight(events: list[dict]) -> dict | None:
    """The last started experiment with neither a result nor an interruption
    recorded after it, if any (an interrupted number is started again)."""
    return in_flight(events, "experiment_started", CLOSED)


def check_clean(run: ExperimentRun, ws: TrainingWorkspace | None = None,
                events: list[dict] | None = None) -> None:
    """Refuse a workspace with uncommitted changes that no interrupted
    experiment explains; called before anything is written."""
    ws = ws or run.workspace()
    if events is None:
        events = read_events(run.events_path).events
    if find_in_flight(events) is None and ws.is_dirty():
        raise InputError(f"workspace {ws.path} has uncommitted changes "
                         f"({', '.join(ws.dirty_paths())}): commit or discard them first")


def _committed(events: list[dict], number: int) -> dict:
    return next((e for e in reversed(events) if e.get("type") == "experiment_committed"
                 and e.get("round") == number), {})


def recover(run: ExperimentRun, ws: TrainingWorkspace, events: list[dict],
            reason: str = "interrupted") -> list[dict]:
    """Finish the record of an interrupted experiment; [] when there is none.
    Its row, if it was written, stands (an ``experiment_result``); otherwise
    the interruption is recorded (``experiment_interrupted``), nothing is
    appended to results.tsv, and the loop trains the change again."""
    check_clean(run, ws, events)
    flight = find_in_flight(events)
    if flight is None:
        return []
    number, base = flight["round"], flight["base_commit"]
    for event in events:  # a trainer outliving a killed harness must not run on
        if event.get("type") == "training_started" and event.get("round") == number:
            kill_orphan(int(event["pid"]), ws.path)
    committed = _committed(events, number)
    baseline = flight.get("kind") == "baseline"
    commit = base if baseline else committed.get("commit")
    description = "baseline" if baseline else committed.get("description", "")
    results = read_results(run.results_path)
    before = flight.get("rows_before", len(results.rows))
    row = results.rows[before] if commit and len(results.rows) > before else None
    if row is not None and row.commit != commit[:7]:
        row = None  # not ours: leave it alone
    ws.reset_hard(commit if row is not None and row.status == RowStatus.KEEP else base)
    common = {"round": number, "kind": flight.get("kind", "proposal"), "commit": commit,
              "description": description, "hypothesis": committed.get("hypothesis"),
              **({"noise": flight["noise"]} if flight.get("noise") else {})}
    if row is None:
        return [run.event_log().emit("experiment_interrupted", reason=reason,
                                     base_commit=base, **common)]
    return [run.event_log().emit(
        "experiment_result", status=row.status, reason="recorded before an interruption",
        val_bpb=row.val_bpb, resumed=True, corpus_sha256=run.corpus().get("sha256"),
        timing={}, **common)]


def _record_end(run: ExperimentRun, ws: TrainingWorkspace, loop: Loop, reason: str, status: str,
                notify: bool = False) -> None:
    """Record how a run ended early, each step on its own: on a full disk or a
    broken file any of them may fail, and the error that ended the run is
    the one worth reporting, not a chain of them. The experiment in flight
    is recorded interrupted and the workspace put back (``recover``)."""
    steps = [lambda: recover(run, ws, read_events(run.events_path).events, reason=reason)]
    if notify:
        steps.append(lambda: [None for _ in loop.notify("crash", reason)])
    steps += [lambda: loop.log.emit("loop_aborted", reason=reason),
              lambda: loop.finish(status, reason)]
    each(steps)


def run_experiments(run: ExperimentRun, settings: Settings, *, proposer: Proposer | None = None,
                    trainer: Trainer = run_training,
                    clock: Callable[[], float] = time.monotonic,
                    stop: threading.Event | None = None,
                    steer: Callable | None = None,
                    between: Callable[[dict], list[dict]] | None = None,
                    scorer: Scorer | None = None) -> Iterator[dict]:
    """Run the loop for ``run``, yielding every event as it is recorded.

    Setting ``stop`` (or creating ``STOP`` in the run folder) ends the run
    ``paused`` after the experiment in flight; ``--resume`` continues it.
    ``steer`` picks the hypotheses offered to the proposer. ``between`` is
    called after each event, while the loop is idle, and may commit to the
    workspace (the meta tier's ``meta:`` commits); the events it returns are
    yielded too and their ``usage`` counts against the dollar budget.
    ``scorer`` replaces the harness's scoring (tests of the decisions only).
    A run created to be run (``init_run(keep_lock=True)``) is still locked
    from its creation: the loop holds that lock, and lets go of it at the end."""
    kept = run.kept_lock()
    with kept or contextlib.nullcontext(), hold(run, locked=kept is not None):
        ws = run.workspace()
        events = read_events(run.events_path).events
        check_record(run.results_path, events, run.tag)  # before anything is trained or appended
        ws.clear_temporary()  # a killed atomic write's leftovers: no writer runs now
        recovered = recover(run, ws, events)
        sandbox = Sandbox.from_mode(settings.sandbox)
        loop = Loop(run, settings, proposer, trainer, clock, stop=stop, steer=steer,
                    sandbox=sandbox, **({"scorer": scorer} if scorer is not None else {}))
        loop.load(read_events(run.events_path).events)
        if hasattr(loop.proposer, "sandbox"):  # command: agents get the same walls (+ network)
            loop.proposer.sandbox, loop.proposer.data_dir = sandbox, run.data_dir
        yield from recovered
        try:
            if settings.warm_start:
                env = {**scrub_env(dict(os.environ)), **sandbox.env()}
                loop.starter = WarmStarter(sys.executable, env, sandbox=sandbox,
                                           walls=Walls(ws.path, run.data_dir))
                if scorer is None:  # the harness's own scorer: forked warm too, read-only walls
                    loop.score_starter = WarmStarter(
                        sys.executable, env, preload=SCORE_PRELOAD, sandbox=sandbox,
                        walls=Walls(ws.path, run.data_dir, writable=False))
            for event in loop.events():
                yield event
                for extra in between(event) if between is not None else ():
                    loop.spend.add(usage_of(extra))
                    yield extra
        except BaseException as exc:
            # the trainer's process group is already killed (run_training unwinds first)
            record_end(exc, lambda reason, status, crashed:
                       _record_end(run, ws, loop, reason, status, notify=crashed))
            raise
        finally:
            for starter in (loop.starter, loop.score_starter):
                if starter is not None:
                    starter.close()
