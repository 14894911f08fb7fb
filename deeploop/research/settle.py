"""From a synthesiser's attempt to what one iteration writes: a pure decision.

The judge scores the attempt *as proposed* (its violations are recorded and
feed the node's lessons); what reaches report.md is the attempt with the
constitution enforced, so the report never holds what the rules forbid:

- a sentence without a citation, or citing something not retrieved in this
  iteration, is dropped (and listed in the judge's detail);
- confidence is checked against what is left: HIGH needs two independent
  sources (different documents, or different web hosts), else MEDIUM; no
  citation at all is LOW; a LOW answer is ``partial`` and carries the flag.

The Executive Summary gains the first cited sentence of every answer that
is not LOW, and the Sources section lists each cited target once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..judges import Verdict
from .judge import SENTENCE_END, judge_iteration
from .knowledge import Entry
from .report_doc import CITATION, LOW_FLAG, add_sources, append_to_section, replace_question
from .synthesizer import Attempt

_MARKER = re.compile(r"^(\s*(?:[-*+]|\d+\.)\s+)")


@dataclass
class Settled:
    report: str                      # report.md after the iteration
    entry: Entry                     # the knowledge-index row
    verdict: Verdict                 # the judge on the attempt as proposed
    dropped: list[str] = field(default_factory=list)


def independent(targets) -> set[str]:
    """One key per independent source: the web host, or the document path."""
    keys = set()
    for target in targets:
        parts = urlsplit(target)
        keys.add(parts.netloc.lower().removeprefix("www.") if parts.scheme and parts.netloc
                 else target.split("#")[0])
    return keys


def checked_confidence(claimed: str, cited: list[str]) -> str:
    if not cited:
        return "LOW"
    if claimed == "HIGH" and len(independent(cited)) < 2:
        return "MEDIUM"
    return claimed


def _kept(sentence: str, retrieved: set[str]) -> bool:
    targets = [t for _, t in CITATION.findall(sentence)]
    return bool(targets) and all(t in retrieved for t in targets)


def enforce(block: str, retrieved: set[str]) -> tuple[str, list[str]]:
    """``block`` without uncited or wrongly cited sentences, and those dropped."""
    lines, dropped = [], []
    for line in block.splitlines():
        text = line.strip()
        if not text or text.startswith(("#", ">")) or set(text) <= set("-*_ "):
            lines.append(line)
            continue
        marker = _MARKER.match(line)
        prefix = marker.group(1) if marker else ""
        sentences = [s for s in SENTENCE_END.split(line[len(prefix):].strip()) if s.strip()]
        kept = [s for s in sentences if _kept(s, retrieved)]
        dropped += [s for s in sentences if not _kept(s, retrieved)]
        if kept:
            lines.append(prefix + " ".join(kept))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n"), dropped


def headline(block: str) -> str | None:
    """The first cited sentence of a block, for the Executive Summary."""
    for line in block.splitlines():
        text = _MARKER.sub("", line.strip())
        if not text or text.startswith(("#", ">")):
            continue
        for sentence in SENTENCE_END.split(text):
            if CITATION.search(sentence):
                return sentence.strip()
    return None


def place(report: str, attempt: Attempt, block: str, cited: list[str], summarise: bool) -> str:
    """report.md with ``block`` in its section (in place of the question's
    earlier block, on a retry), its summary line and the sources."""
    report = replace_question(report, attempt.question, block) or \
        append_to_section(report, attempt.section, block)
    marker = f"- *{attempt.question}* "
    kept = [ln for ln in report.split("\n") if not ln.startswith(marker)]
    report = "\n".join(kept)
    line = headline(block) if summarise else None
    if line:
        report = append_to_section(report, "Executive Summary", marker + line)
    return add_sources(report, [(attempt.labels.get(t, t), t) for t in cited])


def _cited(block: str) -> list[str]:
    return list(dict.fromkeys(t for _, t in CITATION.findall(block)))


def settle(report_before: str, rows_before: list[Entry], attempt: Attempt,
           program_version: str) -> Settled:
    retrieved = set(attempt.retrieved)

    def entry(sources, confidence, status) -> Entry:
        return Entry(attempt.question, attempt.summary, sources, confidence, attempt.gaps,
                     status, program_version, attempt.search_count)

    proposed_cited = _cited(attempt.block)
    proposed = place(report_before, attempt, attempt.block, proposed_cited,
                     attempt.confidence != "LOW")
    verdict = judge_iteration(report_before, proposed, rows_before,
                              rows_before + [entry(proposed_cited, attempt.confidence,
                                                   attempt.status)], retrieved)
    block, dropped = enforce(attempt.block, retrieved)
    cited = _cited(block)
    confidence = checked_confidence(attempt.confidence, cited)
    status = "partial" if confidence == "LOW" and attempt.status == "answered" else attempt.status
    if confidence == "LOW" and LOW_FLAG not in block:
        block += f"\n\n{LOW_FLAG}"
    verdict.detail.update(dropped=dropped[:5], dropped_count=len(dropped),
                          confidence_claimed=attempt.confidence, confidence_written=confidence)
    report = place(report_before, attempt, block, cited, confidence != "LOW")
    return Settled(report, entry(cited, confidence, status), verdict, dropped)
