"""One invocation of the experiment loop: lock, recover, run, end.

Resume is replay. An experiment whose ``experiment_started`` has no
``experiment_result`` was interrupted: if its row reached results.tsv the
row stands, otherwise it is recorded as a crash (reason ``interrupted``);
either way the workspace goes back to the best kept commit and numbering
continues. Ctrl-C does the same at once. A workspace with uncommitted
changes that no interrupted experiment explains is refused untouched.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable, Iterator

from ..errors import DeeploopError, InputError
from ..events import read_events
from ..fileio import file_lock
from .loop import Loop, Scorer, Trainer, usage_of
from .proposers import Proposer
from .results import RowStatus, append_row, new_row, read_results
from .rundir import ExperimentRun, Settings
from .runner import kill_orphan, run_training, scrub_env
from .sandbox import Sandbox, Walls
from .warm import WarmStarter
from .workspace import Workspace


def find_in_flight(events: list[dict]) -> dict | None:
    """The last started experiment that has no result, if any."""
    finished = {e.get("round") for e in events if e.get("type") == "experiment_result"}
    started = [e for e in events if e.get("type") == "experiment_started"]
    last = started[-1] if started else None
    return last if last is not None and last.get("round") not in finished else None


def check_clean(run: ExperimentRun, ws: Workspace | None = None,
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


def recover(run: ExperimentRun, ws: Workspace, events: list[dict],
            reason: str = "interrupted") -> list[dict]:
    """Finish the record of an interrupted experiment; [] when there is none."""
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
    if row is None and commit:
        append_row(run.results_path, new_row(commit, RowStatus.CRASH, description))
    status = row.status if row is not None else RowStatus.CRASH.value
    ws.reset_hard(commit if row is not None and row.status == RowStatus.KEEP else base)
    return [run.event_log().emit(
        "experiment_result", round=number, kind=flight.get("kind", "proposal"), status=status,
        commit=commit,
        description=description, hypothesis=committed.get("hypothesis"),
        reason=reason if row is None else "recorded before an interruption",
        val_bpb=row.val_bpb if row is not None else None, resumed=True,
        corpus_sha256=run.corpus().get("sha256"), timing={})]


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
    ``scorer`` replaces the harness's scoring (tests of the decisions only)."""
    with file_lock(run.path / ".lock", wait=False, what=f"experiment {run.tag!r}"):
        ws = run.workspace()
        recovered = recover(run, ws, read_events(run.events_path).events)
        sandbox = Sandbox.from_mode(settings.sandbox)
        loop = Loop(run, settings, proposer, trainer, clock, stop=stop, steer=steer,
                    sandbox=sandbox, **({"scorer": scorer} if scorer is not None else {}))
        loop.load(read_events(run.events_path).events)
        if hasattr(loop.proposer, "sandbox"):  # command: agents get the same walls (+ network)
            loop.proposer.sandbox, loop.proposer.data_dir = sandbox, run.data_dir
        yield from recovered
        try:
            if settings.warm_start:
                loop.starter = WarmStarter(
                    sys.executable, {**scrub_env(dict(os.environ)), **sandbox.env()},
                    sandbox=sandbox, walls=Walls(ws.path, run.data_dir))
            for event in loop.events():
                yield event
                for extra in between(event) if between is not None else ():
                    loop.spend.add(usage_of(extra))
                    yield extra
        except (KeyboardInterrupt, GeneratorExit):
            try:
                recover(run, ws, read_events(run.events_path).events)
            except DeeploopError:
                pass  # nothing in flight to finish; the interruption is what matters
            loop.log.emit("loop_aborted", reason="interrupted")
            loop.finish("aborted", "interrupted")
            raise
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            try:  # put the workspace back if the failure left an experiment half done
                recover(run, ws, read_events(run.events_path).events, reason=detail)
            except Exception:
                pass  # the original error is the one worth reporting
            for _ in loop.notify("crash", detail):
                pass
            loop.log.emit("loop_aborted", reason=detail)
            loop.finish("failed", detail)
            raise
        finally:
            if loop.starter is not None:
                loop.starter.close()
