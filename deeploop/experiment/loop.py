"""The experiment loop, as a generator of events.

Experiment 0 is the unmodified baseline, measured. Then each experiment:
propose → check (only train.py, it parses, it changed) → commit → train in a
subprocess → judge → append a results.tsv row → keep the commit, or reset to
the one it started from → ``experiment_result`` event. Events are written to
``events.jsonl`` as they happen and yielded, so a progress bar or a notebook
widget can follow; the files stay the truth.

Training runs sandboxed (``sandbox.py``) and is stopped by the harness at
its deadline; the harness then scores the saved model itself (``score.py``).

With ``noise_runs`` K (default 3) the baseline is trained K more times
before the first proposal (rows ``baseline (noise run i/K)``, never kept)
and sigma is their sample standard deviation (``noise_estimated``). Unless
``min_delta`` is given, a keep must beat the best by more than
``keep_sigma`` standard errors of the difference (sigma x sqrt(1 + 1/n) for
a best that is a mean of n runs); with ``confirm`` (the default) any gain
above one standard error is trained once more, and is kept only if the
fresh run clears that margin on its own and the mean of the two the margin
of a mean of two (``decide.confirmed``). sigma is pooled from the baseline's
runs and every confirmation's pair.

Writes happen in an order resume can finish from: ``experiment_started``
(before the workspace is touched), ``experiment_committed``, the row, the git
reset, ``experiment_result``. See ``resume.py`` for resume: an interrupted
experiment is no result; the loop trains its change again, under its number,
before asking the proposer for anything new.

``experiments`` counts trained experiments (keep, discard, crash); events
carry ``experiment``, the ordinal among them (0 for the baseline and its
noise runs; a rejected proposal has the number the next trained one gets),
beside ``round``, which numbers every row and log. A rejected
proposal (the proposer failed, or its train.py did not parse or changed
nothing) trains nothing and is not counted; ``max_rejected`` rejections in a
row end the run ``failed`` with the last reason.
"""
from __future__ import annotations

import ast
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .. import harness
from ..budget import DEFAULT_MAX_SECONDS, Budget, Spend, budget_exhausted, cap_reached
from ..errors import DeeploopError
from ..usage import Usage
from ..models.purse import Purse, attach, purse_of
from ..runs import Outcome, Status
from . import decide
from .evaluate import DEFAULT_BUDGET_CPU, DEFAULT_BUDGET_GPU, gpu_present
from .hypotheses import Hypothesis, keys_tested, pending, read_hypotheses, tagged
from ..notify import Notifier, message_for, sent_kinds
from .proposers import Proposal, ProposalContext, Proposer, failed, get_proposer
from .results import RowStatus, append_row, new_row, noise_description, read_results
from .rundir import ExperimentRun, Settings
from .trainer import TrainResult, default_memory_cap, kill_timeout, run_training
from .sandbox import NONE, Sandbox
from .score import Score, score_model
from .workspace import PROGRAM_FILE

Trainer = Callable[..., TrainResult]
Scorer = Callable[..., Score]


def usage_of(event: dict) -> Usage:
    """The tokens and dollars an event records (``cost`` or ``usage``)."""
    data = event.get("cost") or event.get("usage") or {}
    return Usage.from_json(data)


TRAINED = ("keep", "discard", "crash")  # statuses of experiments that were trained


def pending_rerun(events: list[dict]) -> dict | None:
    """The interruption of a committed proposal not yet started again, if any."""
    last = next((e for e in reversed(events) if e.get("type") in
                 ("experiment_started", "experiment_result", "experiment_interrupted")), None)
    if (last is None or last.get("type") != "experiment_interrupted"
            or last.get("kind", "proposal") != "proposal" or not last.get("commit")):
        return None
    return last


def default_budget() -> float:
    return DEFAULT_BUDGET_GPU if gpu_present() else DEFAULT_BUDGET_CPU


def check_proposal(proposal: Proposal, current: str) -> str | None:
    """Why a proposal cannot be trained, or None. Pure."""
    if not proposal.ok:
        return proposal.error or "the proposer returned nothing"
    try:
        ast.parse(proposal.train_py)
    except SyntaxError as exc:
        return f"train.py does not parse: line {exc.lineno}: {exc.msg}"
    if proposal.train_py == current:
        return "the proposal does not change train.py"
    return None


@dataclass
class Loop:
    run: ExperimentRun
    settings: Settings
    proposer: Proposer | None = None
    trainer: Trainer = run_training
    clock: Callable[[], float] = time.monotonic
    history: list[dict] = field(default_factory=list)
    baseline_round: int | None = None
    starter: object = None  # warm.WarmStarter while the loop runs, if enabled
    score_starter: object = None  # the same for the scorer (workspace read-only)
    stop: threading.Event | None = None  # set by a widget: stop after the running experiment
    # Which pending hypotheses the proposer sees, given them and the history so
    # far; the default offers all of them, best rank first. The meta tier
    # replaces it to mix hypotheses with the proposer's own ideas.
    steer: Callable[[list, list[dict]], list] | None = None
    scorer: Scorer = score_model    # the harness's score of what training saved
    sandbox: Sandbox = NONE         # walls around the trainer and the scorer

    rerun: dict | None = None  # the experiment_interrupted event whose change is trained next
    run_number: int = 1        # which experiment_run_started this invocation wrote
    uncosted: dict = field(default_factory=dict)  # round -> its calls' cost no result records
    rejected_in_a_row: int = 0  # rejected proposals since the last trained one, this invocation

    def __post_init__(self):
        self.ws = self.run.workspace()
        self.log = self.run.event_log()
        self.proposer = self.proposer or get_proposer(self.settings.proposer)
        self.budget_s = self.settings.budget or default_budget()
        self.corpus_sha = self.run.corpus().get("sha256")
        self.spend = Spend(clock=self.clock)
        hours = self.settings.hours
        self.limits = Budget(max_rounds=max(self.settings.experiments, 1),
                             max_seconds=hours * 3600 if hours else DEFAULT_MAX_SECONDS,
                             max_usd=self.settings.max_usd)
        self.notifier = Notifier(self.run.notify_log, self.log, self.settings.notify_cmd)
        # one purse for every model the run pays for (the meta tier's analyst may share it)
        self.purse = purse_of(self.proposer) or Purse(self.settings.max_usd)
        attach(self.proposer, self.purse)

    # -- state read back from files -------------------------------------------------
    def load(self, events: list[dict]) -> None:
        self.uncosted = {}
        self.history = [e for e in events if e.get("type") == "experiment_result"]
        self.rerun = pending_rerun(events)
        # this invocation's number: outcome.json says which run it ended
        self.run_number = sum(1 for e in events if e.get("type") == "experiment_run_started") + 1
        self.notifier.sent = sent_kinds(events)
        costed = {e.get("round") for e in events
                  if e.get("type") == "experiment_result" and e.get("cost") is not None}
        for event in events:  # proposals and meta-analyses spend from one budget
            if event.get("type") in ("experiment_result", "meta_analysis"):
                self.spend.add(usage_of(event))
            elif event.get("type") == "model_usage" and event.get("round") not in costed:
                self.spend.add(usage_of(event))  # a call a kill left without its result
                number = event.get("round")
                self.uncosted[number] = self.uncosted.get(number, Usage()) + usage_of(event)
        self.purse.spent_usd = self.spend.usage.usd

    def next_number(self) -> int:
        return max((e.get("round", 0) for e in self.history), default=-1) + 1

    def done(self) -> int:
        """Experiments trained so far (kept, discarded or crashed), baselines not
        counted. Rejected proposals trained nothing and do not count; a proposer
        that keeps failing is stopped by ``max_rejected`` instead."""
        return sum(1 for e in self.history if e.get("kind", "proposal") != "baseline"
                   and e.get("status") in TRAINED)

    def needs_baseline(self) -> bool:
        """No baseline has been measured yet (crashed ones do not count)."""
        return not self.baseline_values()

    def baseline_values(self) -> list[float]:
        """Every scored measurement of the unmodified baseline, noise runs included."""
        results = read_results(self.run.results_path)
        return [r.val_bpb for r in results.rows
                if r.is_baseline and r.ok and r.status != RowStatus.CRASH and r.val_bpb]

    def noise_done(self) -> int:
        return sum(1 for r in read_results(self.run.results_path).rows if r.ok and r.is_noise)

    def noise_needed(self) -> bool:
        return self.noise_done() < self.settings.noise_runs

    def sigma(self) -> float | None:
        """Run-to-run noise, once the noise runs are done: the baseline's
        repeats pooled with every confirmation's pair of runs."""
        if not self.settings.noise_runs or self.noise_needed():
            return None
        return decide.noise_sigma(self.baseline_values(), self.confirmation_pairs())

    def confirmation_pairs(self) -> list[tuple[float, float]]:
        """(first, again) of each confirmed experiment: two runs of one change."""
        pairs = []
        for event in self.history:
            confirm = event.get("confirm") or {}
            if confirm.get("first") is not None and confirm.get("again") is not None:
                pairs.append((confirm["first"], confirm["again"]))
        return pairs

    def best_figure(self) -> float | None:
        """What a proposal must beat: the best kept val_bpb; while that is still
        the baseline and its noise is measured, the mean of all its runs."""
        best = read_results(self.run.results_path).best()
        if best is None:
            return None
        values = self.baseline_values()
        if best.is_baseline and self.sigma() and len(values) > 1:
            return round(sum(values) / len(values), 6)
        return best.val_bpb

    def best_runs(self) -> int:
        """How many runs the best figure is a mean of: all the baseline's
        while it is the best, two for a confirmed keep, else one."""
        best = read_results(self.run.results_path).best()
        if best is None:
            return 1
        if best.is_baseline:
            return max(1, len(self.baseline_values())) if self.sigma() else 1
        kept = next((e for e in reversed(self.history) if e.get("status") == "keep"
                     and e.get("val_bpb") == best.val_bpb), {})
        return 2 if kept.get("confirm") else 1

    def min_delta(self) -> float:
        """The keep margin: as given, else keep_sigma standard errors of one
        run against the best, else 0."""
        if self.settings.min_delta is not None:
            return self.settings.min_delta
        return decide.noise_min_delta(self.sigma(), self.settings.keep_sigma, self.best_runs())

    # -- the loop ---------------------------------------------------------------------
    def stop_reason(self) -> tuple[str, str] | None:
        """(outcome status, reason) when the loop should stop; budgets in a fixed order."""
        if self.needs_baseline() or self.noise_needed():
            return None  # measurements of the baseline come before any budget is spent
        limit = self.settings.max_rejected
        if limit and self.rejected_in_a_row >= limit:
            last = self.history[-1].get("reason") or "no reason given"
            return Status.FAILED, (f"{self.rejected_in_a_row} proposals in a row were rejected "
                              f"and nothing was trained (last: {last})")
        self.spend.rounds = self.done()
        if self.spend.rounds >= self.settings.experiments or cap_reached(self.limits, self.spend):
            return Status.PASSED, f"{self.settings.experiments} experiments done"
        # a call the purse refused (it could have crossed the cap) ends the run too
        reason = budget_exhausted(self.limits, self.spend) or self.purse.refused
        return (Status.BUDGET, reason) if reason else None

    def stop_requested(self) -> str | None:
        """Who asked the loop to stop before the next experiment: the ``stop``
        event (a notebook's Stop button) or a ``STOP`` file in the run folder
        (any shell). The file is consumed, so a resume starts afresh."""
        return harness.stop_requested(self.run, self.stop)

    def events(self) -> Iterator[dict]:
        yield self.log.emit("experiment_run_started", settings=vars(self.settings),
                            budget_s=self.budget_s, proposer=self.proposer.spec,
                            next_experiment=self.next_number(),
                            deadline_s=kill_timeout(self.budget_s),
                            sandbox=self.sandbox.describe())
        if not self.sandbox.active:  # said once, at the start; the report repeats it
            yield self.log.emit("sandbox_unavailable", reason=self.sandbox.reason)
        while True:
            events, end = harness.before_round(self.log, self.stop_reason(), self.stop_requested,
                                               self.next_number() - 1, "experiment")
            yield from events
            if end:
                status, reason = end
                break
            baseline = self.needs_baseline()
            if not baseline and self.noise_needed():
                yield from self.experiment(self.next_number(), True, noise=self.noise_done() + 1)
                continue
            yield from self.experiment(self.next_number(), baseline)
            if baseline and self.needs_baseline():
                status, reason = Status.FAILED, "the baseline crashed: see logs/ for why"
                break
        if status != Status.PAUSED:  # a stop on request is not the end: resume sends "done"
            yield from self.notify("done")
        self.finish(status, reason)

    def experiment(self, number: int, baseline: bool, noise: int = 0) -> Iterator[dict]:
        """One experiment; ``noise`` i > 0 measures the baseline again (run i of K)."""
        self.baseline_round = number if baseline else None
        started = self.clock()
        base = self.ws.head()
        rows_before = len(read_results(self.run.results_path).rows)
        yield self.log.emit("experiment_started", round=number, base_commit=base,
                            kind="baseline" if baseline else "proposal", rows_before=rows_before,
                            experiment=0 if baseline else self.done() + 1,
                            proposer=None if baseline else self.proposer.spec,
                            **({"noise": noise} if noise else {}))
        proposal, commit, diff = yield from self.apply(number, baseline, base)
        if noise:
            proposal.description = noise_description(noise, self.settings.noise_runs)
        if commit is None:
            elapsed = round(self.clock() - started, 3)
            self.rejected_in_a_row += 1
            yield self.result(number, "rejected", proposal, reason=proposal.error,
                              timing={"propose_s": elapsed, "total_s": elapsed})
            return
        yield from self.train(number, proposal, base, commit, diff, started, noise)
        self.rejected_in_a_row = 0
        if noise and not self.noise_needed():
            yield self.noise_estimate()
        yield from self.check_breakthroughs()

    def noise_estimate(self) -> dict:
        values = self.baseline_values()
        sigma = decide.noise_sigma(values)
        return self.log.emit("noise_estimated", samples=values, sigma=sigma,
                             best_runs=self.best_runs(),
                             min_delta=self.min_delta(), keep_sigma=self.settings.keep_sigma,
                             confirm=self.settings.confirm,
                             min_delta_given=self.settings.min_delta is not None)

    def train_and_score(self, number: int, suffix: str = "") -> tuple[TrainResult, Score | None,
                                                                       list[dict], list[str]]:
        """One training run of the workspace as it is, then the harness's score.
        Returns (training, score or None if training crashed, events, tracked
        files the trainer changed: put back, and the run is a crash)."""
        launched: list[dict] = []  # recorded at once (resume needs the pid), yielded after
        log_path = self.run.log_path(number)
        if suffix:
            log_path = log_path.with_name(f"{log_path.stem}{suffix}{log_path.suffix}")
        trained = self.trainer(
            self.ws.path, log_path, self.budget_s, self.run.data_dir,
            timeout=kill_timeout(self.budget_s), memory_cap=self.memory_cap(),
            starter=self.starter, sandbox=self.sandbox, extra_env=self.sandbox_env(),
            on_start=lambda pid: launched.append(
                self.log.emit("training_started", round=number, pid=pid,
                              **({"confirm": True} if suffix else {}))))
        changed = self.ws.dirty_paths()
        if changed:
            self.ws.restore(changed)
        score = None
        if decide.crash_reason(trained) is None and not changed:
            score = self.scorer(self.ws.path, self.run.data_dir, log_path=log_path,
                                sandbox=self.sandbox, env=self.scorer_env(),
                                timeout=max(120.0, 2 * self.budget_s), seed=number,
                                starter=self.score_starter)
        return trained, score, launched, changed

    def train(self, number: int, proposal: Proposal, base: str, commit: str, diff: str,
              started: float, noise: int = 0) -> Iterator[dict]:
        """Train a committed proposal, score it, record its row, keep or reset, report."""
        propose_s = self.clock() - started
        trained, score, launched, changed = self.train_and_score(number)
        yield from launched
        best_value = self.best_figure()
        margin = self.min_delta()
        verdict = decide.judge(trained, score, best_value, margin)
        if changed:
            verdict = decide.Verdict(RowStatus.CRASH, "train.py changed tracked files while "
                                     f"training ({', '.join(changed)}): put back")
        confirm = None
        sigma, best_runs = self.sigma(), self.best_runs()
        if (not noise and self.settings.confirm and self.settings.min_delta is None
                and decide.needs_confirmation(verdict, best_value, sigma, best_runs)):
            again, again_score, launched, _ = self.train_and_score(number, "-confirm")
            yield from launched
            confirm = {"first": verdict.val_bpb,
                       "again": again_score.val_bpb if again_score else None,
                       "again_reason": (again_score.reason if again_score else
                                        decide.crash_reason(again))}
            verdict = decide.confirmed(verdict, confirm["again"], best_value, sigma,
                                       self.settings.keep_sigma, best_runs)
            confirm["val_bpb"] = verdict.val_bpb
        if noise:
            verdict = decide.measured_only(verdict)
        append_row(self.run.results_path, new_row(commit, verdict.status, proposal.description,
                                                  verdict.val_bpb, verdict.memory_gb))
        if verdict.status != RowStatus.KEEP and commit != base:
            self.ws.reset_hard(base)
        total = self.clock() - started
        training = trained.summary.get("training_seconds")
        scoring = score.seconds if score else 0.0
        extra = {"noise": noise} if noise else {}
        if confirm:
            extra["confirm"] = confirm
        if verdict.score_mismatch is not None:
            extra["score_mismatch"] = {"printed": trained.summary.get("val_bpb"),
                                       "harness": verdict.val_bpb, "gap": verdict.score_mismatch}
        if sigma:
            extra["sigma"] = sigma
            if best_value is not None and verdict.val_bpb is not None:
                extra["margin_sigma"] = round((best_value - verdict.val_bpb) / sigma, 3)
        if verdict.status != RowStatus.CRASH:
            warnings = decide.training_warnings(trained.summary, self.budget_s)
            if warnings:
                extra["warnings"] = warnings
        yield self.result(
            number, verdict.status.value, proposal, commit=commit, diff=diff,
            reason=verdict.reason, val_bpb=verdict.val_bpb, memory_gb=verdict.memory_gb,
            metrics=trained.summary, trainer=trained.to_json(),
            score=score.to_json() if score else None, tampered=changed or None,
            best_before=best_value, min_delta=margin,
            log=str(self.run.log_path(number).relative_to(self.run.path)),
            log_tail=trained.log_tail if verdict.status == RowStatus.CRASH else None,
            **extra,
            timing={"propose_s": round(propose_s, 3),
                    "train_wall_s": round(trained.wall_seconds, 3),
                    "training_seconds": training, "score_s": round(scoring, 3),
                    "total_s": round(total, 3),
                    "overhead_s": round(total - training, 3) if training else None})

    def sandbox_env(self) -> dict[str, str]:
        return self.sandbox.env() if self.sandbox.active else {}

    def scorer_env(self) -> dict[str, str]:
        from .trainer import trainer_env
        return trainer_env(self.budget_s, self.run.data_dir, self.sandbox_env())

    def apply(self, number: int, baseline: bool, base: str):
        """Get a proposal and commit it: (proposal, commit or None, diff)."""
        current = self.ws.read()
        if baseline:
            return Proposal(current, "baseline"), base, ""
        if self.rerun is not None:  # an interrupted change: trained again, not re-proposed
            proposal, self.rerun = self.interrupted_proposal(self.rerun), None
        else:
            # every call is journalled as it is paid for (model_usage), for resume
            self.purse.on_charge = lambda spec, usage: self.log.emit(
                "model_usage", round=number, spec=spec, usage=usage.to_json())
            try:
                proposal = self.proposer.propose(self.context(number, current))
            finally:
                self.purse.on_charge = None
            self.spend.add(proposal.usage)
        problem = check_proposal(proposal, current)
        self.ws.restore(self.ws.dirty_paths())  # a proposer never leaves edits behind
        if problem:
            proposal.error = problem
            return proposal, None, ""
        # the row says which hypothesis it tests, whatever tag the proposer wrote
        proposal.description = tagged(proposal.description, proposal.hypothesis)
        self.ws.write(proposal.train_py)
        commit = self.ws.commit(f"exp {number}: {proposal.description}")
        diff = self.ws.diff(base, commit)
        hypothesis = proposal.hypothesis.to_json() if proposal.hypothesis else None
        yield self.log.emit("experiment_committed", round=number, commit=commit,
                            experiment=self.done() + 1,
                            description=proposal.description, hypothesis=hypothesis, diff=diff)
        return proposal, commit, diff

    def interrupted_proposal(self, event: dict) -> Proposal:
        """The change an interrupted experiment was training, to train again."""
        try:
            train_py = self.ws.show(event["commit"])
        except DeeploopError as exc:  # the commit is gone (a person pruned it)
            return failed(f"the interrupted change cannot be re-run: {exc}")
        hypothesis = event.get("hypothesis")
        # what proposing it cost (already spent): the re-run's result records it
        return Proposal(train_py, event.get("description") or "re-run",
                        usage=self.uncosted.get(event.get("round"), Usage()),
                        hypothesis=Hypothesis.from_json(hypothesis)
                        if isinstance(hypothesis, dict) else None,
                        notes={"rerun_of": event.get("commit")})

    def context(self, number: int, current: str) -> ProposalContext:
        program = self.ws.path / PROGRAM_FILE
        offered = pending(read_hypotheses(self.ws.path), keys_tested(self.history))
        if self.steer is not None:
            offered = self.steer(offered, list(self.history))
        return ProposalContext(
            workspace=self.ws.path, train_py=current,
            program_md=program.read_text(encoding="utf-8") if program.is_file() else "",
            results=read_results(self.run.results_path), git_log=self.ws.log_oneline(20),
            experiment=number, pending=offered,
            history=list(self.history), seed=self.settings.seed)

    def result(self, number: int, status: str, proposal: Proposal, **fields) -> dict:
        hypothesis = proposal.hypothesis.to_json() if proposal.hypothesis else None
        kind = "baseline" if number == self.baseline_round else "proposal"
        # which experiment of --experiments N this is (round counts the baseline's runs too)
        ordinal = 0 if kind == "baseline" else self.done() + 1  # a rejected one: the next's
        event = self.log.emit("experiment_result", round=number, kind=kind, status=status,
                              experiment=ordinal,
                              description=proposal.description, hypothesis=hypothesis,
                              proposal=proposal.to_json(), cost=proposal.usage.to_json(),
                              corpus_sha256=self.corpus_sha, **fields)
        self.history.append(event)
        return event

    def memory_cap(self) -> int | None:
        gb = self.settings.max_memory_gb
        return int(gb * 2 ** 30) if gb else default_memory_cap()

    # -- notifications and the end ----------------------------------------------------
    def check_breakthroughs(self) -> Iterator[dict]:
        results = read_results(self.run.results_path)
        best, baseline = results.best(), results.baseline()
        thresholds = {"breakthrough": self.settings.breakthrough,
                      "major_breakthrough": self.settings.major_breakthrough}
        for kind in decide.breakthroughs(baseline and baseline.val_bpb, best and best.val_bpb,
                                         thresholds):
            yield from self.notify(kind)

    def notify(self, kind: str, detail: str = "") -> Iterator[dict]:
        results = read_results(self.run.results_path)
        best, baseline = results.best(), results.baseline()
        message = message_for(kind, self.run.tag, best and best.val_bpb,
                              baseline and baseline.val_bpb, len(results.experiments()), detail)
        event = self.notifier.send(kind, message)
        if event:
            yield event

    def finish(self, status: str, reason: str) -> None:
        results = read_results(self.run.results_path)
        best, baseline = results.best(), results.baseline()
        Outcome(self.run.tag, "experiment", status, len(results.experiments()), None, reason,
                extra={"best_val_bpb": best.val_bpb if best else None,
                       "best_commit": best.commit if best else None,
                       "baseline_val_bpb": baseline.val_bpb if baseline else None,
                       "kept": results.count("keep"), "discarded": results.count("discard"),
                       "crashed": results.count("crash"), "run_number": self.run_number,
                       # the purse also knows calls whose proposal a kill cut short
                       "usd": round(max(self.spend.usage.usd, self.purse.spent_usd), 6)}
                ).write(self.run.path)
