"""Fanout: several investigators answer one question in parallel, then synthesis.

Each investigator gets the question and its angle only (never the chain or
the other angles) and a deadline. A late, failed, empty or incomplete
investigator is stopped and classified (parallel.py); failures are logged to
the run's ``improvements.md`` and the node's ``IMPROVEMENTS.md``. When at
least ``fail_threshold`` investigators fail, or none survives, the round is
BLOCKED; otherwise the survivors are synthesised, with an inline note for
each failed angle. Synthesis is a model when one is given, else mechanical:
a strict majority of survivors declaring the same bedrock category makes the
answer that bedrock; otherwise the survivors' paragraphs become the claim.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..events import now_iso
from ..fileio import file_lock
from ..models import Model
from ..usage import Usage
from ..models.purse import Purse
from .answers import RejectedAnswer, parse_answer
from .parallel import JobResult, run_parallel
from .replies import Reply
from .answerers import ANSWER_SYSTEM, model_answer_text

ANGLES = {
    "evidence": "concrete facts or data that support or attack the claim behind the question",
    "counterexample": "one concrete case where the claim behind the question fails",
    "boundary": "where the claim behind the question breaks; named failure modes",
    "mechanism": "the causal chain: how and why the claim behind the question would hold",
    "precedent": "analogous cases, external sources or prior work",
}
INVESTIGATOR_TAIL = (
    "Return a single coherent paragraph (at most 200 words) summarising what you found. "
    "If you cannot find anything substantive, return the literal string "
    "`INVESTIGATION_INCOMPLETE: <reason>` and nothing else. "
    "If the claim rests on bedrock, start with BEDROCK:<category> (one of stated-value, "
    "constraint, prior-decision, external-rule, identity, empirical).")
_BEDROCK_START = re.compile(r"^bedrock\s*:", re.IGNORECASE)


@dataclass
class FanoutReport:
    results: list[JobResult]
    blocked: bool
    answer: str

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]

    @property
    def completed(self) -> list[JobResult]:
        return [r for r in self.results if r.ok]


def investigator_prompt(question: str, angle: str) -> str:
    brief = ANGLES.get(angle, angle)
    return (f"## QUESTION\n{question.strip()}\n\n## YOUR ANGLE: {angle}\n"
            f"Investigate {brief}.\n\n{INVESTIGATOR_TAIL}\n")


def failure_note(result: JobResult) -> str:
    return f"[angle: {result.name} — collection failed: {result.status}]"


def synthesize(results: list[JobResult]) -> str:
    """Pure, mechanical synthesis of the survivors, with a note per failed angle."""
    survivors = [r for r in results if r.ok]
    notes = " ".join(failure_note(r) for r in results if not r.ok)
    bedrock = _majority_bedrock(survivors)
    if bedrock:
        category, reasons = bedrock
        rationale = " ".join(reasons + ([notes] if notes else []))
        return f"BEDROCK:{category} — {rationale}".rstrip(" —")
    paragraphs = [" ".join(r.text.split()) for r in survivors]
    return "\n\n".join(paragraphs + ([notes] if notes else []))


def _majority_bedrock(survivors: list[JobResult]) -> tuple[str, list[str]] | None:
    declared = []
    for result in survivors:
        if _BEDROCK_START.match(result.text):
            try:
                action = parse_answer(result.text)
            except RejectedAnswer:
                continue
            declared.append((action.category, action.rationale))
    if not declared:
        return None
    category, votes = Counter(c for c, _ in declared).most_common(1)[0]
    if votes * 2 <= len(survivors):
        return None
    return category, [" ".join(r.split()) for c, r in declared if c == category and r]


def blocked_text(failed: list[JobResult], total: int, threshold: int) -> str:
    reasons = ", ".join(f"{r.name} ({r.status})" for r in failed)
    return (f"BLOCKED: {len(failed)} of {total} investigators failed "
            f"(threshold {threshold}): {reasons}")


@dataclass
class FanoutAnswerer:
    """``--fanout N``: N investigators (angles) per round, synthesised into one answer."""

    investigator: Model
    angles: tuple[str, ...] = tuple(ANGLES)
    deadline: float = 180.0
    fail_threshold: int = 3
    synthesizer: Model | None = None
    source: str = "fanout"
    tag: str = "from-fanout"
    purse: Purse | None = None  # the drill's (models.purse.attach sets it)

    def __post_init__(self):
        if not self.angles:
            raise InputError("--fanout needs at least one angle")
        if self.deadline <= 0:
            raise InputError(f"--deadline must be a positive number of seconds, got {self.deadline}")
        if self.fail_threshold < 1:
            raise InputError(f"--fail-threshold must be at least 1, got {self.fail_threshold}")

    def reserve(self, question: str) -> None:
        """Investigators run in forked processes, where a purse is only a
        copy: the drill's purse reserves all of their worst cases here, in
        the parent, before any starts (BudgetRefused when together they
        could cross the cap), and is charged with what they cost after."""
        model = self.investigator
        if self.purse is None or not hasattr(model, "worst_case"):
            return
        from ..models.anthropic import build_request
        worst = sum(model.worst_case(build_request(
            model.model, investigator_prompt(question, angle), max_tokens=model.max_tokens,
            cache_ttl=model.cache_ttl)) for angle in self.angles)
        self.purse.reserve(worst, f"{model.spec} x{len(self.angles)} investigators")

    def answer(self, question: str, chain: list[str], *, round: int) -> Reply:
        model = self.investigator
        self.reserve(question)
        if self.purse is not None and hasattr(self.synthesizer, "purse"):
            self.synthesizer.purse = self.purse  # it runs here: it reserves for itself
        # the context becomes NODE_NAME, ROUND and ANGLE for a command: model
        jobs = {angle: (lambda a=angle: model.complete(investigator_prompt(question, a),
                                                       node="deeper", round=round, angle=a))
                for angle in self.angles}
        results = run_parallel(jobs, self.deadline)
        usage = sum((r.usage for r in results), Usage())
        if self.purse is not None:
            self.purse.charge(usage.usd, model.spec, usage)
        failed = [r for r in results if not r.ok]
        if len(failed) >= self.fail_threshold or len(failed) == len(results):
            text = blocked_text(failed, len(results), self.fail_threshold)
            return Reply(text, self.source, self.tag, usage, blocked=True,
                         fanout=FanoutReport(results, True, text))
        text, extra = self._synthesis(question, chain, results, round)
        return Reply(text, self.source, self.tag, usage + extra,
                     fanout=FanoutReport(results, False, text))

    def _synthesis(self, question, chain, results, round) -> tuple[str, Usage]:
        if self.synthesizer is None:
            return synthesize(results), Usage()
        findings = "\n\n".join(f"### {r.name}\n{r.text}" if r.ok else failure_note(r)
                               for r in results)
        prompt = (f"## QUESTION\n{question.strip()}\n\n## ACTIVE CLAIM\n{chain[-1]}\n\n"
                  f"## INVESTIGATOR FINDINGS\n{findings}\n\nSynthesise these findings into "
                  "one answer. Keep each failed-angle note inline as it is.\n")
        completion = self.synthesizer.complete(prompt, system=ANSWER_SYSTEM, node="deeper",
                                               round=round)
        return model_answer_text(completion.text, self.synthesizer.spec), completion.usage


def improvements_entry(run_id: str, round: int, failed: list[JobResult], ts: str) -> str:
    lines = [f"\n## {run_id} · round {round} · {ts}"]
    lines += [f"- angle `{r.name}` · reason `{r.status}` · snippet: {r.snippet}" for r in failed]
    return "\n".join(lines) + "\n"


def log_improvements(paths: list[Path], run_id: str, round: int, failed: list[JobResult],
                     ts: str | None = None) -> None:
    """Append one entry per round with failures to each file, under a lock."""
    if not failed:
        return
    entry = improvements_entry(run_id, round, failed, ts or now_iso())
    for path in paths:
        header = (f"# Run-scoped improvements — {run_id}\n" if path.name == "improvements.md"
                  else "# deeper IMPROVEMENTS — aggregated across runs\n")
        with file_lock(path.parent / f".{path.name}.lock"):
            fresh = not path.exists() or path.stat().st_size == 0
            with open(path, "a", encoding="utf-8") as fh:
                fh.write((header if fresh else "") + entry)
