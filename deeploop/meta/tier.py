"""The two tiers together: triggers, one analysis, and steering.

``run_with_meta`` runs the experiment loop and, whenever a trigger fires
(every ``meta_interval`` experiments; right after a keep that beats the best
by more than ``meta_threshold``), runs one analysis while the loop is idle:
it writes next-hypotheses.md, appends to process_log.md, rewrites program.md's
strategy, commits the two tracked files as ``meta: ...`` and records a
``meta_analysis`` event. The commit goes on top of the branch: the best kept
commit stays an ancestor with the same train.py, and later discards reset
to the meta commit, never past it.

``Steering`` then decides which pending hypotheses the proposer sees: the
first experiment after an analysis gets the top one, the following six get
them two times in three (the third is the proposer's own idea).
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator

from ..errors import InputError
from ..events import read_events
from ..experiment.results import read_results
from ..experiment.rundir import ExperimentRun, Settings
from ..experiment.trainer import run_training
from ..experiment.resume import run_experiments
from ..fileio import file_lock
from ..experiment.proposers import get_proposer
from ..models.purse import Purse, attach, purse_of
from .analysts import Analysis, Analyst, get_analyst
from .inputs import PROCESS_LOG, MetaInputs, gather_run, last_analysis
from ..fileio import atomic_write_text
from ..experiment.hypotheses import HYPOTHESES_FILE
from .outputs import COMMITTED, Plan, make_plan, write_plan
from .triggers import big_win_threshold, meta_trigger

log = logging.getLogger("deeploop.meta")
WINDOW = 6        # experiments after the first one in which hypotheses are preferred
OWN_EVERY = 3     # ... and every third of them is the proposer's own idea (2 : 1)


def steer_choice(offered: list, position: int) -> list:
    """Hypotheses to offer the experiment at ``position`` after an analysis (0 is
    the first): the top one, then two in three for WINDOW experiments, then none."""
    if position == 0:
        return offered[:1]
    if position <= WINDOW:
        return [] if position % OWN_EVERY == 0 else offered
    return []


@dataclass
class Steering:
    """The loop's ``steer`` hook. ``after`` is the round of the last experiment
    before the latest analysis; with no analysis yet, hand-written hypotheses
    are all offered (the loop's default)."""
    after: int | None = None

    def __call__(self, offered: list, history: list[dict]) -> list:
        if self.after is None:
            return offered
        position = sum(1 for e in history if e.get("kind", "proposal") == "proposal"
                       and e.get("round", -1) > self.after)
        return steer_choice(offered, position)


@dataclass
class Done:
    """One analysis: what it read, what it concluded, what it (would) write."""
    inputs: MetaInputs
    analysis: Analysis
    plan: Plan
    event: dict = field(default_factory=dict)   # empty for a dry run


def _read(path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def analyse_run(run: ExperimentRun, analyst: Analyst, *, trigger: str = "requested",
                dry_run: bool = False, now: Callable[[], datetime] = datetime.now) -> Done | None:
    """One analysis of an experiment run; None when there is nothing to analyse.
    A dirty workspace is refused before anything is read or written."""
    ws = run.workspace()
    if not dry_run:  # the caller holds the run's lock: finish what a kill interrupted
        recover_meta(run, read_events(run.events_path).events)
    if ws.is_dirty():
        raise InputError(f"workspace {ws.path} has uncommitted changes "
                         f"({', '.join(ws.dirty_paths())}): commit or discard them first")
    events = read_events(run.events_path).events
    inputs = gather_run(run, events)
    if inputs.empty:
        return None
    analysis = analyst.analyse(inputs)
    if analysis.fallback:
        log.warning("meta-analysis %d: %s fell back to offline: %s", inputs.number,
                    analysis.analyst, analysis.fallback)
    plan = make_plan(inputs, analysis, when=now(), trigger=trigger,
                     program_md=_read(ws.path / "program.md"),
                     process_log=_read(ws.path / PROCESS_LOG))
    if dry_run:
        return Done(inputs, analysis, plan)
    ws.clear_temporary()  # the caller holds the run's lock: no write is in progress
    rounds = [e["round"] for e in events if e.get("type") == "experiment_result" and "round" in e]
    last_round = max(rounds, default=None)
    journal = run.event_log()
    # what resume needs to finish the record if a kill lands between the commit and
    # the event: the commit's parent and subject, the event's fields, the hypotheses
    journal.emit("meta_analysis_started", round=last_round, analysis=plan.number,
                 head=ws.head(), subject=plan.commit_message, planned=plan.event,
                 hypotheses_md=plan.hypotheses_md)
    commit = write_plan(ws, plan)
    event = journal.emit("meta_analysis", round=last_round, commit=commit, **plan.event)
    return Done(inputs, analysis, plan, event)


def _landed(ws, started: dict) -> str | None:
    """The ``meta:`` commit an interrupted analysis made, if it made it: HEAD,
    with the recorded subject, on top of the recorded head."""
    head = started.get("head")
    if not head or ws.head() == head:
        return None
    parent = ws.git("rev-parse", "--verify", "--quiet", "HEAD^", check=False).strip()
    subject = ws.git("log", "-1", "--format=%s").strip()
    return ws.head() if parent == head and subject == started.get("subject") else None


def recover_meta(run: ExperimentRun, events: list[dict]) -> dict | None:
    """Finish an analysis a kill interrupted; the ``meta_analysis`` event it
    records, or None. Killed after its ``meta:`` commit, the analysis is done:
    its event is written from what ``meta_analysis_started`` recorded (and
    next-hypotheses.md, written after the commit), never a second entry in
    process_log.md. Killed before the commit, program.md/process_log.md are
    put back and the analysis is simply redone."""
    started = [e for e in events if e.get("type") == "meta_analysis_started"]
    if not started:
        return None
    last = started[-1]
    finished = {e.get("analysis") for e in events if e.get("type") == "meta_analysis"}
    if last.get("analysis") in finished:
        return None
    ws = run.workspace()
    commit = _landed(ws, last)
    if commit is not None and isinstance(last.get("planned"), dict):
        if last.get("hypotheses_md"):
            ws.exclude(HYPOTHESES_FILE)
            atomic_write_text(ws.path / HYPOTHESES_FILE, last["hypotheses_md"])
        return run.event_log().emit("meta_analysis", round=last.get("round"), commit=commit,
                                    recovered=True, **last["planned"])
    dirty = ws.dirty_paths()
    if dirty and set(dirty) <= set(COMMITTED):
        ws.restore(dirty)
    return None


def due(event: dict, settings: Settings, experiments: int, analysed_at: int | None) -> str | None:
    """Why an analysis should follow this event, or None. Pure."""
    if (settings.meta_interval <= 0 or event.get("type") != "experiment_result"
            or event.get("kind", "proposal") != "proposal"
            or event.get("status") not in ("keep", "discard", "crash")
            or analysed_at == experiments):
        return None
    return meta_trigger(experiments, kept=event.get("status") == "keep",
                        previous_best=event.get("best_before"), value=event.get("val_bpb"),
                        interval=settings.meta_interval,
                        threshold=big_win_threshold(settings.meta_threshold, event.get("sigma"),
                                                    2 * settings.keep_sigma))


@dataclass
class MetaTier:
    """The ``between`` hook of the loop: analyse when due, steer afterwards."""
    run: ExperimentRun
    settings: Settings
    analyst: Analyst
    now: Callable[[], datetime] = datetime.now
    steering: Steering = field(default_factory=Steering)
    analysed_at: int | None = None   # experiments counted by the latest analysis

    def __post_init__(self):
        # under the run's lock, as the loop's own recovery is (it is taken again there)
        kept = getattr(self.run, "held", None) is not None  # its creation's lock, still held
        with contextlib.nullcontext() if kept else file_lock(
                self.run.lock_path, wait=False, what=f"experiment {self.run.tag!r}"):
            recover_meta(self.run, read_events(self.run.events_path).events)
        last = last_analysis(read_events(self.run.events_path).events) or {}
        self.steering.after, self.analysed_at = last.get("round"), last.get("experiments")

    def __call__(self, event: dict) -> list[dict]:
        if event.get("type") == "experiment_run_started":
            event = self._last_result()  # a trigger missed by a kill is honoured now
        if event.get("type") != "experiment_result":
            return []
        # well-formed non-baseline rows: the count an analysis records as "experiments"
        experiments = sum(1 for r in read_results(self.run.results_path).experiments() if r.ok)
        trigger = due(event, self.settings, experiments, self.analysed_at)
        if trigger is None:
            return []
        done = analyse_run(self.run, self.analyst, trigger=trigger, now=self.now)
        if done is None:
            return []
        self.steering.after = done.event.get("round")
        self.analysed_at = done.event["experiments"]
        return [done.event]

    def _last_result(self) -> dict:
        events = read_events(self.run.events_path).events
        return next((e for e in reversed(events) if e.get("type") == "experiment_result"
                     and e.get("status") != "rejected"), {})


def run_with_meta(run: ExperimentRun, settings: Settings, *, proposer=None,
                  trainer=run_training, analyst: Analyst | None = None,
                  clock: Callable[[], float] = time.monotonic,
                  now: Callable[[], datetime] = datetime.now,
                  stop: threading.Event | None = None, scorer=None) -> Iterator[dict]:
    """The experiment loop with the meta tier (off when ``meta_interval`` is 0).
    ``stop`` ends the run paused after the experiment in flight; ``scorer``
    replaces the harness's scoring (benches and tests on a surrogate)."""
    if settings.meta_interval <= 0:
        yield from run_experiments(run, settings, proposer=proposer, trainer=trainer, clock=clock,
                                   stop=stop, scorer=scorer)
        return
    tier = MetaTier(run, settings, analyst or get_analyst(settings.analyst), now)
    # the proposer and the analyst spend from one purse, kept before each call
    proposer = proposer or get_proposer(settings.proposer)
    purse = purse_of(proposer) or purse_of(tier.analyst) or Purse(settings.max_usd)
    attach(proposer, purse)
    attach(tier.analyst, purse)
    yield from run_experiments(run, settings, proposer=proposer, trainer=trainer, clock=clock,
                               stop=stop, steer=tier.steering, between=tier, scorer=scorer)
