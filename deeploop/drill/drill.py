"""A drill in progress: one run of the ``deeper`` node, answered one round at a time.

Every way of answering (notebook widget, terminal, answers file, model,
fanout) goes through ``Drill.answer``, so the files on disk are the
same whoever answers. A round is written in a fixed order: ``answer_emitted``
(the commit point: it carries the applied action), ``tree.json`` (atomic),
``judge_result``, ``state.md``, ``ralph_iter_end``. A process killed at any
point loses at most the round in flight; ``resume`` replays the journal and
completes a half-written round. One process at a time: the run is held
(``harness.hold``: its lock, beside the folder, and ``running.json``) for the
drill's life.
"""
from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections import Counter
from html import escape
from pathlib import Path
from typing import Callable

from ..budget import Budget, Spend, budget_exhausted, cap_reached
from ..errors import BudgetRefused, InputError, KeyRejected, ModelError
from ..models.purse import Purse, attach, purse_of
from ..events import EVENTS_FILE, EventLog, now_iso, precise_now
from ..fileio import file_errors
from ..harness import before_round, hold, stop_requested
from ..usage import Usage
from ..runs import Outcome, Status, creating_run_dir, run_dir_for
from .answers import Action, Kind, RejectedAnswer, parse_answer
from .history import History, asked_on_chain, read_journal
from .journal import NODE, DrillRun, emit_round, make_budget, round_message
from .judge import Verdict, is_circular, judge_round, tree_score
from .moves import apply_action
from .node import DeeperNode, load_deeper
from .questioner import Questioner, get_questioner
from .render import render_html, render_text
from .replies import Question, Reply
from .resume import resume_drill
from .tree import DEFAULT_TAG, Tree, new_tree, root_claim
from .treefile import TREE_FILE, save_tree


@dataclasses.dataclass
class RoundResult:
    round: int
    outcome: str                # advanced | bedrock | branch | stop | rejected | blocked
    verdict: Verdict
    tree: Tree
    message: str
    status: str | None = None   # set when this round ended the drill


class Drill:
    """Use ``Drill.start(claim)`` or ``Drill.resume(run)``."""

    def __init__(self, run_dir: Path, history: History, *, node: DeeperNode,
                 questioner: Questioner, verifier=None, budget: Budget,
                 clock: Callable[[], float] | None = None,
                 ts_clock: Callable[[], str] | None = None, listeners=(),
                 lock: contextlib.ExitStack, stop: threading.Event | None = None):
        self.run_dir, self.node, self.questioner = Path(run_dir), node, questioner
        self.verifier, self.budget, self._lock = verifier, budget, lock
        self.stop = stop  # set it (a notebook's Stop button) to pause before the next round
        self.log = EventLog(self.run_dir / EVENTS_FILE, self.run_dir.name, NODE,
                            clock=ts_clock or now_iso, listeners=list(listeners))
        self.spend = Spend(clock) if clock else Spend()
        self.spend.rounds, self.spend.usage = history.rounds, history.usage
        # the dollar cap, kept before each call the questioner's model makes
        self.purse = purse_of(questioner) or Purse(budget.max_usd)
        attach(questioner, self.purse)
        self.purse.spent_usd = self.spend.usage.usd
        self.tree, self.rounds = history.tree, history.rounds
        self.pending = _question(history.pending) if history.pending else None
        self.asked = list(history.asked)
        self.circular_streak, self.blocked_streak = history.circular_streak, history.blocked_streak
        self.answers_used = dict(history.answers_used)
        self.status: str | None = None
        self.exit_reason = ""
        self.last_verdict: Verdict | None = None
        self.last_result: RoundResult | None = None

    # ----- opening -------------------------------------------------------

    @classmethod
    def start(cls, claim: str | None = None, *, seed: str | None = None,
              run_id: str | None = None, root: Path | None = None,
              node: DeeperNode | Path | str | None = None,
              questioner: str | Questioner | None = None, verifier=None,
              budget: Budget | None = None, hard_cap: int | None = None,
              clock=None, ts_clock=None, listeners=(),
              stop: threading.Event | None = None) -> "Drill":
        """Create ``runs/deeper/<run-id>/`` for a new drill of ``claim`` (or a seed text)."""
        if (claim is None) == (seed is None):
            raise InputError("give the claim to drill or a seed, not both and not neither")
        seed_text = seed if seed is not None else f"# Starting claim\n\n{claim.strip()}\n"
        tree = new_tree(root_claim(seed_text))
        node = node if isinstance(node, DeeperNode) else load_deeper(node)
        asker = get_questioner(questioner, node)
        budget = make_budget(budget, hard_cap, node)
        lessons = node.lessons()  # an unreadable BANS.md is refused before anything exists
        run_dir = run_dir_for(NODE, run_id, root)
        with file_errors(run_dir.parent, "create"):
            run_dir.parent.mkdir(parents=True, exist_ok=True)
        made: list[dict] = []

        def create() -> None:  # the folder appears whole, with run_started
            with creating_run_dir(run_dir) as build:
                (build / "seed.md").write_text(seed_text, encoding="utf-8")
                (build / "state.md").write_text("", encoding="utf-8")
                save_tree(tree, build / TREE_FILE)
                made.append(EventLog(build / EVENTS_FILE, run_dir.name, NODE,
                                     clock=ts_clock or now_iso).emit(
                    "run_started", started=precise_now(), claim=tree.root.claim,
                    questioner=asker.spec, hard_cap=budget.max_rounds,
                    lessons=lessons, drill=True))

        lock = contextlib.ExitStack()
        try:  # the lock is beside the folder: the id is ours before the folder exists
            lock.enter_context(hold(DrillRun(run_dir, run_dir.name), check=create))
            drill = cls(run_dir, History(tree), node=node, questioner=asker,
                          verifier=verifier, budget=budget, clock=clock, ts_clock=ts_clock,
                          listeners=listeners, lock=lock, stop=stop)
            for listener in drill.log.listeners:
                listener(made[0])
        except BaseException:
            lock.close()
            raise
        return drill

    @classmethod
    def resume(cls, run: str | Path, *, root: Path | None = None, **options) -> "Drill":
        """Continue a drill (ours or one recorded by the reference) where it stopped."""
        return resume_drill(cls, run, root=root, **options)

    # ----- state ---------------------------------------------------------

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @property
    def finished(self) -> bool:
        return self.status is not None

    @property
    def question(self) -> str | None:
        return self.pending.text if self.pending else None

    def ask(self) -> Question | None:
        """The question for the next round: the pending one, or a new one.

        Checks the round cap, budgets, then a ``STOP`` file in the run folder
        or the ``stop`` event (the drill pauses, resumable) first, as every
        loop does (``harness.before_round``); ``None`` when the drill has ended.
        """
        if self.finished:
            return None
        if self.pending is not None:
            return self.pending
        _, end = before_round(self.log, self._limit(),
                              lambda: stop_requested(self.run_dir, self.stop),
                              self.rounds, round=self.rounds or None)
        if end:  # a stop asked for pauses (resumable), unlike the STOP answer (aborted)
            self.end(*end)
            return None
        question = self._generate()
        if question is None:
            return None
        self.spend.add(question.usage)
        cursor = list(self.tree.cursor)
        extra = {"usage": question.usage.to_json()} if question.usage.calls else {}
        self.log.emit("question_emitted", self.rounds + 1, question=question.text,
                      raw_chars=question.raw_chars, raw_lines=question.raw_lines,
                      questioner=question.questioner, cursor=cursor, depth=len(cursor), **extra)
        self.pending = question
        self.asked.append((tuple(cursor), question.text))
        return question

    def _generate(self) -> Question | None:
        """Ask the questioner; a model that fails is retried once, then the run ends."""
        asked = asked_on_chain(self.asked, self.tree.cursor)
        return self.call_twice("questioner", lambda: self.questioner.ask(self.tree.chain(), asked),
                               charge=True)[1]

    def call_twice(self, who: str, call: Callable, charge: bool = False) -> tuple[bool, object]:
        """``(True, call())``, retried once when the model fails; ``(False, None)``
        when the drill ended here: the purse refused the call (budget), the key
        was rejected, or it failed twice (failed). With ``charge`` a failed
        call's usage is spent too."""
        n = self.rounds + 1
        failure = None
        for _ in range(2):
            try:
                return True, call()
            except BudgetRefused:
                reason = self.purse.refused or "dollar budget exhausted"
                self.log.emit("budget_exhausted", self.rounds or None, reason=reason)
                self.end(Status.BUDGET, reason)
                return False, None
            except KeyRejected as exc:
                self.end(Status.FAILED, f"{who} failed in round {n}: {exc}")
                return False, None
            except ModelError as exc:
                failure = exc
                if charge:  # a failed call costs too
                    self.spend.add(getattr(exc, "usage", None) or Usage())
        self.end(Status.FAILED, f"{who} failed twice in round {n}: {failure}")
        return False, None

    def _limit(self) -> tuple[str, str] | None:
        if cap_reached(self.budget, self.spend):
            return Status.HARD_CAP, f"reached hard cap of {self.budget.max_rounds} rounds"
        reason = budget_exhausted(self.budget, self.spend)
        return (Status.BUDGET, reason) if reason else None

    # ----- answering -----------------------------------------------------

    def answer(self, text: str, *, source: str = "person", tag: str | None = None,
               usage: Usage | None = None, line: int | None = None,
               answers_file: str | None = None, fanout=None) -> RoundResult:
        """Apply one answer. Bad input raises InputError; a rejected answer
        (unknown category, BRANCH at the root) is recorded as a round first."""
        question = self._current_question()
        meta = {"source": source, "usage": usage or Usage(), "line": line,
                "answers_file": answers_file, "fanout": fanout}
        try:
            action = parse_answer(text, tag or DEFAULT_TAG)
            verification = self._verify(action)
            if verification is not None:
                action = verification.action
                meta["usage"] = meta["usage"] + verification.usage
            applied = apply_action(self.tree, action)
        except RejectedAnswer as exc:
            self._record_rejected(question, text, exc, meta)
            raise
        chain = self.tree.chain()
        circular = action.kind in (Kind.DESCEND, Kind.BRANCH) and is_circular(action.claim, chain)
        moves = applied.violations + (("circular-answer",) if circular else ())
        verdict = self._judge(applied.tree, question, moves)
        return self._record(question, text, applied.outcome, action, applied.tree, verdict,
                            meta, circular=circular, verification=verification)

    def record_blocked(self, reply: Reply) -> RoundResult:
        """A fanout round that produced no answer: the tree stays as it was."""
        question = self._current_question()
        meta = {"source": reply.source, "usage": reply.usage, "line": None,
                "answers_file": None, "fanout": reply.fanout}
        verdict = self._judge(self.tree, question, ("fanout-blocked",))
        result = self._record(question, reply.text, "blocked", None, self.tree, verdict, meta)
        limit = int(self.node.setting("blocked_limit"))
        if not self.finished and self.blocked_streak >= limit:
            self.end(Status.FAILED, f"{limit} BLOCKED rounds in a row")
            result.status = self.status
        return result

    def _current_question(self) -> Question:
        question = self.ask()
        if question is None:
            if self.tree.finished:
                raise InputError(f"drill {self.run_id} is finished: no open leaves")
            raise InputError(f"drill {self.run_id} has ended ({self.status}: {self.exit_reason})")
        return question

    def _verify(self, action: Action):
        if self.verifier is None or action.kind is not Kind.BEDROCK:
            return None
        return self.verifier.check(action, self.tree.chain())

    def _judge(self, tree: Tree, question: Question, moves) -> Verdict:
        return judge_round(tree, question=question.text, raw_chars=question.raw_chars,
                           raw_lines=question.raw_lines, move_violations=tuple(moves))

    def _record_rejected(self, question: Question, text: str, exc: RejectedAnswer, meta) -> None:
        verdict = self._judge(self.tree, question, (exc.violation,))
        self._record(question, text, "rejected", None, self.tree, verdict, meta, reason=str(exc))

    def _record(self, question, text, outcome, action, tree, verdict, meta, *,
                circular=False, verification=None, reason="") -> RoundResult:
        n = self.rounds + 1
        emit_round(self, n, question, text, outcome, action, tree, verdict, meta,
                   circular=circular, verification=verification, reason=reason)
        self.rounds = self.spend.rounds = n
        self.spend.add(meta["usage"])
        self.tree, self.pending, self.last_verdict = tree, None, verdict
        self.circular_streak = self.circular_streak + 1 if circular else 0
        self.blocked_streak = self.blocked_streak + 1 if outcome == "blocked" else 0
        if meta.get("answers_file") and meta.get("line") is not None:
            self.answers_used[meta["answers_file"]] = meta["line"]
        ending = self._ending(outcome, n)
        self.log.emit("ralph_iter_end", n, done=tree.done,
                      reason=f"{outcome}; judge_score={verdict.score}")
        if ending:
            self.end(*ending)
        self.last_result = RoundResult(n, outcome, verdict, tree,
                                       round_message(outcome, action, tree, reason), self.status)
        return self.last_result

    def _ending(self, outcome: str, n: int) -> tuple[str, str] | None:
        if outcome == "stop":
            return Status.ABORTED, f"stopped by STOP in round {n}"
        if self.tree.done:
            return Status.PASSED, "every branch reached bedrock"
        return None

    # ----- ending --------------------------------------------------------

    def end(self, status: str, reason: str) -> None:
        """End the run with ``status``: journal it, write outcome.json, release the lock.
        (A budget that ran out is journaled where it is found: ``budget_exhausted``.)"""
        if self.finished:
            return
        self.status, self.exit_reason = Status(status), reason
        if self.status is Status.PASSED:
            self.log.emit("loop_done", self.rounds or None, reason=reason)
        elif self.status in (Status.ABORTED, Status.FAILED, Status.SPINNING):
            self.log.emit("loop_aborted", self.rounds or None, status=str(self.status),
                          reason=reason)
        self.write_outcome()
        self.close()

    def pause(self, reason: str) -> None:
        """Stop for now, resumable: outcome ``paused``."""
        self.end(Status.PAUSED, reason)

    def write_outcome(self) -> Outcome:
        events = read_journal(self.run_dir, strict=False)
        totals = Counter(v for e in events if e.get("type") == "judge_result"
                         for v in (e.get("violations") or []) if isinstance(v, str))
        score = self.last_verdict.score if self.last_verdict else tree_score(self.tree)
        outcome = Outcome(self.run_id, NODE, str(self.status or Status.PAUSED), self.rounds,
                          score, self.exit_reason, dict(sorted(totals.items())),
                          extra={"usage": self.spend.usage.to_json()})
        outcome.write(self.run_dir)
        return outcome

    def close(self) -> None:
        """Release the run; an unfinished drill is recorded as paused."""
        if self.status is None:
            self.end(Status.PAUSED, "closed before the drill finished; resume to continue")
            return
        self._lock.close()

    def __enter__(self) -> "Drill":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----- display -------------------------------------------------------

    def summary(self) -> str:
        state = f"{self.status} ({self.exit_reason})" if self.finished else "in progress"
        return f"drill {self.run_id}: round {self.rounds}, {state}"

    def _repr_html_(self) -> str:
        return f"<div><code>{escape(self.summary())}</code></div>" + render_html(self.tree)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.summary() + "\n\n" + render_text(self.tree))


def _question(event: dict) -> Question:
    return Question(str(event.get("question", "")), int(event.get("raw_chars") or 0),
                    int(event.get("raw_lines") or 1), questioner=str(event.get("questioner", "")))

