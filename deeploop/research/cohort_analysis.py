"""The offline cohort analyst: what the last 5 entries say about method.

Every cohort of ``COHORT_SIZE`` knowledge-index entries it compares the last
cohort with the one before (``meta.cohort``), says what worked and what did
not, and decides the next strategy:

- searches per question go up by one (at most ``MAX_SEARCHES``) when the
  cohort was thin: LOW at least 40% of the time, or under 2 sources an entry;
- the recommended questions are the gaps the cohort raised, those raised by
  several entries and by well-sourced entries first, never one already asked.

Pure: rows and program text in, an Analysis out.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..meta.cohort import CohortMetrics, cohort_metrics, split_cohorts
from ..meta.triggers import COHORT_SIZE
from .knowledge import normalise, split_list
from .program_doc import MAX_SEARCHES, searches_of

THIN_LOW_PCT = 40.0
THIN_SOURCES = 2.0
RECOMMENDATIONS = 3
_RANK = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}


@dataclass
class Analysis:
    number: int                 # the cohort analysed, 1-based
    previous: list[dict]
    last: list[dict]
    searches_from: int
    searches_to: int
    worked: list[str] = field(default_factory=list)
    didnt: list[str] = field(default_factory=list)
    change: list[str] = field(default_factory=list)
    recommendations: list[str] = field(default_factory=list)
    strategy: str = ""


def _short(question: str, limit: int = 70) -> str:
    return question if len(question) <= limit else question[:limit - 1] + "…"


def worked(last: CohortMetrics, before: CohortMetrics | None, number: int) -> list[str]:
    notes = []
    if last.high_pct >= 40:
        notes.append(f"{last.high_pct:.0f}% of cohort {number} reached HIGH confidence "
                     "(two or more sources agreeing)")
    if before and before.entries and last.high_pct > before.high_pct:
        notes.append(f"HIGH share rose from {before.high_pct:.0f}% to {last.high_pct:.0f}%")
    for kind, stats in sorted(last.types.items()):
        if stats["high"] and stats["high"] * 2 >= stats["entries"]:
            notes.append(f"'{kind}' questions: {stats['high']} of {stats['entries']} HIGH")
    if last.avg_sources >= THIN_SOURCES:
        notes.append(f"{last.avg_sources:.1f} sources per entry on average")
    return notes


def didnt(rows: list[dict], last: CohortMetrics) -> list[str]:
    notes = []
    low = [r["question"] for r in rows if (r.get("confidence") or "").upper() == "LOW"]
    if low:
        notes.append(f"{len(low)} entr{'y' if len(low) == 1 else 'ies'} stayed LOW: "
                     + "; ".join(_short(q) for q in low[:3]))
    partial = sum((r.get("status") or "") == "partial" for r in rows)
    if partial:
        notes.append(f"{partial} question{'s' if partial != 1 else ''} left partial")
    conflicting = sum((r.get("status") or "") == "conflicting" for r in rows)
    if conflicting:
        notes.append(f"{conflicting} question{'s' if conflicting != 1 else ''} with "
                     "conflicting sources")
    for kind, stats in sorted(last.types.items()):
        if not stats["high"] and stats["entries"] >= 2:
            notes.append(f"'{kind}' questions: none of {stats['entries']} reached HIGH")
    if last.avg_sources < THIN_SOURCES:
        notes.append(f"only {last.avg_sources:.1f} sources per entry on average")
    return notes


def next_searches(current: int, last: CohortMetrics) -> tuple[int, str]:
    """(searches per question for the next cohort, why)."""
    thin = last.low_pct >= THIN_LOW_PCT or last.avg_sources < THIN_SOURCES
    if thin and current < MAX_SEARCHES:
        return current + 1, (f"searches per question {current} → {current + 1}: "
                             f"{last.low_pct:.0f}% LOW, {last.avg_sources:.1f} sources per entry")
    if thin:
        return current, f"searches per question stay at the maximum ({current}) though thin"
    return current, (f"searches per question stay at {current}: {last.high_pct:.0f}% HIGH, "
                     f"{last.avg_sources:.1f} sources per entry")


def recommend(all_rows: list[dict], cohort: list[dict], limit: int = RECOMMENDATIONS) -> list[str]:
    """Gaps the cohort raised and nobody asked yet: most raised, best sourced first."""
    asked = {normalise(r.get("question", "")) for r in all_rows}
    counts, best, first, text = Counter(), {}, {}, {}
    for order, row in enumerate(cohort):
        rank = _RANK.get((row.get("confidence") or "").upper(), 3)
        for gap in split_list(row.get("gaps_identified", "")):
            key = normalise(gap)
            if key in asked or not gap.endswith("?"):
                continue
            counts[key] += 1
            best[key] = min(best.get(key, 9), rank)
            first.setdefault(key, order)
            text.setdefault(key, gap)
    ranked = sorted(counts, key=lambda k: (-counts[k], best[k], first[k]))
    return [text[k] for k in ranked[:limit]]


def strategy_text(searches: int, last: CohortMetrics, number: int) -> str:
    lines = ["- Take the recommended questions of the process log first (weighted 2x), "
             "then the gaps of earlier entries.",
             f"- Searches per question: {searches}"]
    good = [k for k, s in sorted(last.types.items()) if s["high"] * 2 >= s["entries"] > 0]
    weak = [k for k, s in sorted(last.types.items()) if not s["high"] and s["entries"] > 0]
    if good:
        lines.append(f"- Questions that worked in cohort {number}: {', '.join(good)}; "
                     "ask more like them.")
    if weak:
        lines.append(f"- Questions that stayed below HIGH in cohort {number}: "
                     f"{', '.join(weak)}; narrow them to one named thing.")
    lines.append("- Finish a partial question (one retry) before the next.")
    return "\n".join(lines)


def analyse_cohort(rows: list[dict], strategy: str | None) -> Analysis:
    """The analysis of the last full cohort of ``rows`` (good index rows, in
    order), given the Current Strategy section in force."""
    previous, last, number = split_cohorts(rows, COHORT_SIZE)
    now, before = cohort_metrics(last), cohort_metrics(previous) if previous else None
    current = searches_of(strategy)
    searches, why = next_searches(current, now)
    recommendations = recommend(rows, last)
    change = [why]
    if recommendations:
        change.append(f"{len(recommendations)} recommended question"
                      f"{'s' if len(recommendations) != 1 else ''} for the next cohort")
    return Analysis(number, previous, last, current, searches, worked(now, before, number),
                    didnt(last, now), change, recommendations,
                    strategy_text(searches, now, number))

