"""The research loop, as a generator of events.

Per question: pick → retrieve and synthesise (``research_synthesised``, the
whole attempt) → settle (judge the attempt; write report.md with the rules
enforced; append the index row) → commit report.md and knowledge_index.tsv
(``research_committed``) → ``judge_result`` → ``research_result`` → notify a
breakthrough → every ``COHORT_SIZE`` entries the cohort analysis
(``cohort_analysed``: the process-log entry and the rewritten program.md)
rewrites the strategy (``meta:`` commit, ``meta_analysis``). A ``STOP`` file
in the run folder ends the run ``paused`` after the round in flight
(``harness``).

Everything after ``research_synthesised`` is a pure function of that event
and the workspace at the round's starting commit, and everything after
``cohort_analysed`` a pure function of that event, so resume (``resume``)
can finish an interrupted round or cohort without asking again. The events
are the state: the cohorts analysed are counted from ``cohort_analysed``
events; process_log.md is written for people and the picker, never read
back to count.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator

from ..errors import BudgetRefused
from ..models.purse import Purse, attach, purse_of
from ..budget import Budget, Spend, budget_exhausted
from ..events import read_events
from ..notify import Notifier, sent_kinds
from ..fileio import atomic_write_text
from ..harness import before_round, stop_requested
from ..meta.cohort import render_cohort_entry
from ..meta.program import program_version, rewrite_strategy, strategy_section
from ..meta.triggers import COHORT_SIZE
from ..usage import Usage
from ..runs import Outcome, Status
from .cohort_analysis import analyse_cohort
from .knowledge import INDEX_FILE, append_entry, parse_index, read_index
from .pick import Pick, pick_question
from .process_log import (PROCESS_LOG_FILE, append_cohort, recommendations_in,
                          recommended_block)
from .program_doc import MAX_SEARCHES, searches_of, seeds_of, topic_of
from .rundir import PROGRAM_FILE, REPORT_FILE, ResearchRun, Settings
from .settle import settle
from .synthesizer import Attempt, Context, Synthesizer


@dataclass
class ResearchLoop:
    run: ResearchRun
    settings: Settings
    synthesizer: Synthesizer
    constitution: str = ""
    lessons: str = ""
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = datetime.now

    def __post_init__(self):
        self.ws = self.run.workspace()
        self.log = self.run.event_log()
        self.spend = Spend(clock=self.clock)
        self.limits = Budget(max_rounds=None, max_seconds=(self.settings.hours or 6.0) * 3600,
                             max_tokens=self.settings.max_tokens, max_usd=self.settings.max_usd)
        self.notifier = Notifier(self.run.notify_log, self.log, self.settings.notify_cmd)
        self.rounds: list[int] = []
        self.cohorts = 0  # the last cohort analysed (its cohort_analysed event)
        # the dollar cap, kept before each call the synthesiser's model makes
        self.purse = purse_of(self.synthesizer) or Purse(self.settings.max_usd)
        attach(self.synthesizer, self.purse)

    # -- state read back from files ------------------------------------------------
    def load(self, events: list[dict]) -> None:
        self.notifier.sent = sent_kinds(events)
        for event in events:
            if event.get("type") == "research_synthesised":
                usage = (event.get("attempt") or {}).get("usage") or {}
                self.spend.add(Usage.from_json(usage))
        self.purse.spent_usd = self.spend.usage.usd
        self.rounds = [e.get("round", 0) for e in events if e.get("type") == "research_started"]
        self.cohorts = cohorts_analysed(events)

    def next_round(self) -> int:
        return max(self.rounds, default=0) + 1

    def entries(self) -> list:
        return read_index(self.run.index_path).entries

    # -- the loop ------------------------------------------------------------------
    def stop_reason(self) -> tuple[Status, str] | None:
        count = len(self.entries())
        if count >= self.settings.entries:
            return Status.PASSED, f"{count} entries recorded (target {self.settings.entries})"
        reason = budget_exhausted(self.limits, self.spend) or self.purse.refused
        return (Status.BUDGET, reason) if reason else None

    def events(self) -> Iterator[dict]:
        yield self.log.emit("research_run_started", settings=vars(self.settings),
                            synthesizer=self.synthesizer.spec, next_round=self.next_round())
        yield from self.catch_up_cohorts()
        while True:
            events, end = before_round(self.log, self.stop_reason(),
                                       lambda: stop_requested(self.run), self.next_round() - 1)
            yield from events
            if end:
                status, reason = end
                break
            pick = self.pick()
            if pick is None:
                status = Status.PASSED
                reason = "no open question left: every seed and gap is answered"
                break
            yield from self.iteration(self.next_round(), pick)
            yield from self.catch_up_cohorts()
        if status != Status.PAUSED:  # a stop on request is not the end: resume sends "done"
            yield from self.notify("done", self.done_message())
        self.finish(status, reason)

    def pick(self) -> Pick | None:
        program = self.run.program_path.read_text(encoding="utf-8")
        log = self.run.process_log_path.read_text(encoding="utf-8")
        rng = random.Random(self.settings.seed * 100_003 + self.next_round())
        return pick_question(seeds_of(program), self.entries(), recommendations_in(log), rng)

    def context(self, round: int, pick: Pick) -> Context:
        """The topic and the strategy's searches per question; a retry of a
        partial question searches once more (it needs what was not found)."""
        program = self.run.program_path.read_text(encoding="utf-8")
        searches = searches_of(strategy_section(program)) + (pick.origin == "retry")
        return Context(topic_of(program), min(searches, MAX_SEARCHES), self.constitution,
                       self.lessons, round)

    def iteration(self, round: int, pick: Pick) -> Iterator[dict]:
        head = self.ws.head()
        self.rounds.append(round)
        yield self.log.emit("research_started", round=round, question=pick.question,
                            origin=pick.origin, head=head)
        try:
            attempt = self.synthesizer.research(pick.question, self.context(round, pick))
        except BudgetRefused:
            return  # not sent, nothing spent: the loop ends budget_exhausted (a resume redoes it)
        self.spend.add(attempt.usage)
        yield self.log.emit("research_synthesised", round=round, attempt=attempt.to_json())
        yield from self.complete(round, attempt, head)

    def complete(self, round: int, attempt: Attempt, head: str,
                 commit: str | None = None) -> Iterator[dict]:
        """Settle, write and commit the round (unless ``commit`` is given: it
        was committed before an interruption), then judge and record it."""
        settled, rows_before, version = settle_at(self.ws, head, attempt)
        if commit is None:
            atomic_write_text(self.run.report_path, settled.report)
            append_entry(self.run.index_path, settled.entry)
            commit = self.ws.commit(commit_message(round, attempt.question),
                                    paths=(REPORT_FILE, INDEX_FILE))
            yield self.log.emit("research_committed", round=round, commit=commit)
        verdict = settled.verdict
        yield self.log.emit("judge_result", round=round, score=verdict.score,
                            violations=verdict.violations, detail=verdict.detail)
        entry = settled.entry
        event = self.log.emit(
            "research_result", round=round, question=entry.question, section=attempt.section,
            confidence=entry.confidence, status=entry.status, sources=entry.sources,
            search_count=entry.search_count, program_version=version, commit=commit,
            summary=entry.answer_summary, gaps=entry.gaps, score=verdict.score,
            entries=len(rows_before) + 1, cost=attempt.usage.to_json())
        yield event
        yield from self.check_breakthrough(event)

    # -- the meta tier ------------------------------------------------------------
    def catch_up_cohorts(self) -> Iterator[dict]:
        """Analyse the last full cohort if no ``cohort_analysed`` event has yet."""
        rows = read_index(self.run.index_path).rows
        full = len(rows) // COHORT_SIZE
        if full and full > self.cohorts:
            yield from self.cohort(rows[:full * COHORT_SIZE])

    def cohort(self, rows: list[dict]) -> Iterator[dict]:
        program = self.run.program_path.read_text(encoding="utf-8")
        analysis = analyse_cohort(rows, strategy_section(program))
        stamp = self.now().strftime("%Y-%m-%d %H:%M")
        rewritten = rewrite_strategy(program, analysis.strategy, stamp=stamp)
        before, after = program_version(program), program_version(rewritten)
        entry = render_cohort_entry(
            analysis.previous, analysis.last, analysis.number, date=stamp[:10],
            version_from=before, version_to=after, worked=analysis.worked,
            didnt=analysis.didnt, change=analysis.change)
        entry += recommended_block(analysis.recommendations)
        analysed = self.log.emit(
            "cohort_analysed", cohort=analysis.number, analyst="offline", version_from=before,
            version_to=after, searches_from=analysis.searches_from,
            searches_to=analysis.searches_to, recommendations=analysis.recommendations,
            worked=analysis.worked, didnt=analysis.didnt, change=analysis.change,
            entry=entry, program=rewritten)
        self.cohorts = analysis.number
        yield analysed
        yield self.record_cohort(analysed)

    def record_cohort(self, analysed: dict, recovered: bool = False) -> dict:
        """Write and commit what ``cohort_analysed`` says (again after a kill:
        an entry already in process_log.md is not added twice), then ``meta_analysis``."""
        log = self.run.process_log_path.read_text(encoding="utf-8")
        if analysed["entry"].strip() not in log:
            atomic_write_text(self.run.process_log_path, append_cohort(log, analysed["entry"]))
        atomic_write_text(self.run.program_path, analysed["program"])
        number, after = analysed["cohort"], analysed["version_to"]
        commit = self.ws.commit(cohort_message(number, after, analysed["change"][0], recovered),
                                paths=(PROGRAM_FILE, PROCESS_LOG_FILE))
        return self.meta_analysis(analysed, commit, recovered)

    def meta_analysis(self, analysed: dict, commit: str, recovered: bool = False) -> dict:
        fields = {k: v for k, v in analysed.items()
                  if k not in ENVELOPE + ("entry", "program", "adopted")}
        return self.log.emit("meta_analysis", **fields, commit=commit,
                             **({"recovered": True} if recovered else {}))

    # -- notifications and the end -----------------------------------------------
    def check_breakthrough(self, result: dict) -> Iterator[dict]:
        """The first corroborated (HIGH, answered) finding in each report section."""
        if result["confidence"] != "HIGH" or result["status"] != "answered":
            return
        message = (f"deeploop research {self.run.tag}: breakthrough in {result['section']}: "
                   f"{result['question']} {result['summary']}")
        yield from self.notify("breakthrough", message, key=f"breakthrough:{result['section']}")

    def notify(self, kind: str, message: str, key: str | None = None) -> Iterator[dict]:
        event = self.notifier.send(kind, message, key=key)
        if event:
            yield event

    def done_message(self) -> str:
        entries = self.entries()
        high = sum(e.confidence == "HIGH" for e in entries)
        return (f"deeploop research {self.run.tag}: {len(entries)} entries, {high} HIGH; "
                f"report in {self.run.report_path}")

    def finish(self, status: Status, reason: str) -> None:
        write_outcome(self.run, status, reason, self.spend.usage.usd)


def settle_at(ws, head: str, attempt: Attempt):
    """(Settled, index entries before, program version) of a round that
    started at commit ``head``: the same answer however often it is asked."""
    rows_before = parse_index(ws.show(head, INDEX_FILE), INDEX_FILE).entries
    version = f"v{program_version(ws.show(head, PROGRAM_FILE))}"
    return settle(ws.show(head, REPORT_FILE), rows_before, attempt, version), rows_before, version


ENVELOPE = ("ts", "run_id", "node", "round", "type")


def cohorts_analysed(events: list[dict]) -> int:
    """The last cohort a ``cohort_analysed`` event records (0 when none)."""
    return max((e.get("cohort") or 0 for e in events if e.get("type") == "cohort_analysed"),
               default=0)


def cohort_message(number: int, version: int, change: str, recovered: bool = False) -> str:
    message = f"meta: cohort {number} analysis, program v{version} ({change})"
    return message + (" (finished after an interruption)" if recovered else "")


def commit_message(round: int, question: str) -> str:
    short = question if len(question) <= 60 else question[:59] + "…"
    return f"research {round}: {short}"


def write_outcome(run: ResearchRun, status: Status, reason: str, usd: float) -> None:
    """outcome.json from the files: entries, confidence counts, judge scores."""
    journal = read_events(run.events_path)
    judged = journal.of_type("judge_result")
    violations: dict[str, int] = {}
    for event in judged:
        for key in event.get("violations") or []:
            violations[key] = violations.get(key, 0) + 1
    scores = [e["score"] for e in judged if isinstance(e.get("score"), (int, float))]
    entries = read_index(run.index_path).entries
    counts = {c: sum(e.confidence == c for e in entries) for c in ("HIGH", "MEDIUM", "LOW")}
    program = run.program_path.read_text(encoding="utf-8")
    Outcome(run.tag, "research", status, len(entries),
            round(sum(scores) / len(scores), 3) if scores else None, reason, violations,
            extra={"entries": len(entries), "confidence": counts,
                   "cohorts": cohorts_analysed(journal.events),
                   "program_version": program_version(program), "usd": round(usd, 6)}
            ).write(run.path)
