"""Research cohorts: compare the last 5 knowledge-index entries with the 5 before.

Pure functions over knowledge_index.tsv rows (dicts keyed by header name):
entries, HIGH/MEDIUM/LOW share, average sources and searches, and a
breakdown by question type. ``render_cohort_entry`` writes the process-log
entry headed ``### Cohort <N> → <N+1> Analysis (YYYY-MM-DD)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .triggers import COHORT_SIZE

QUESTION_TYPES = (
    ("comparison", re.compile(r"\b(vs\.?|versus|compare|comparison|differ|difference)\b", re.I)),
    ("how", re.compile(r"^\s*how\b", re.I)),
    ("why", re.compile(r"^\s*why\b", re.I)),
    ("who", re.compile(r"^\s*(who|which (companies|projects|players|organi[sz]ations))\b", re.I)),
    ("what", re.compile(r"^\s*(what|which)\b", re.I)),
)


def question_type(question: str) -> str:
    return next((name for name, pattern in QUESTION_TYPES if pattern.search(question)), "other")


def _count_list(value: str) -> int:
    return len([part for part in (value or "").split("|") if part.strip()])


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


@dataclass
class CohortMetrics:
    entries: int
    high_pct: float
    medium_pct: float
    low_pct: float
    avg_sources: float
    avg_searches: float
    types: dict[str, dict] = field(default_factory=dict)


def cohort_metrics(rows: list[dict]) -> CohortMetrics:
    n = len(rows)

    def share(level: str) -> float:
        return 100.0 * sum(r.get("confidence", "").upper() == level for r in rows) / n if n else 0.0
    types: dict[str, dict] = {}
    for row in rows:
        kind = types.setdefault(question_type(row.get("question", "")),
                                {"entries": 0, "sources": 0, "high": 0})
        kind["entries"] += 1
        kind["sources"] += _count_list(row.get("sources", ""))
        kind["high"] += row.get("confidence", "").upper() == "HIGH"
    return CohortMetrics(
        entries=n, high_pct=share("HIGH"), medium_pct=share("MEDIUM"), low_pct=share("LOW"),
        avg_sources=sum(_count_list(r.get("sources", "")) for r in rows) / n if n else 0.0,
        avg_searches=sum(_number(r.get("search_count")) for r in rows) / n if n else 0.0,
        types=types)


def split_cohorts(rows: list[dict], size: int = COHORT_SIZE) -> tuple[list[dict], list[dict], int]:
    """(previous cohort, last cohort, number of the last cohort, 1-based)."""
    number = len(rows) // size
    last = rows[(number - 1) * size: number * size] if number else []
    previous = rows[(number - 2) * size: (number - 1) * size] if number > 1 else []
    return previous, last, number


def render_cohort_entry(previous: list[dict], last: list[dict], number: int, *, date: str,
                        version_from: int, version_to: int, worked: list[str],
                        didnt: list[str], change: list[str]) -> str:
    before, after = cohort_metrics(previous), cohort_metrics(last)
    rows = [("Entries", before.entries, after.entries, "{:d}"),
            ("HIGH confidence %", before.high_pct, after.high_pct, "{:.0f}"),
            ("MEDIUM confidence %", before.medium_pct, after.medium_pct, "{:.0f}"),
            ("LOW confidence %", before.low_pct, after.low_pct, "{:.0f}"),
            ("Avg sources per entry", before.avg_sources, after.avg_sources, "{:.1f}"),
            ("Avg searches per entry", before.avg_searches, after.avg_searches, "{:.1f}")]
    lines = [f"### Cohort {number - 1} → {number} Analysis ({date})", "",
             f"**program.md version:** v{version_from} → v{version_to}", "",
             "**Cohort metrics:**",
             f"| Metric | Cohort {number - 1} | Cohort {number} | Delta |",
             "|--------|----------|------------|-------|"]
    for name, a, b, fmt in rows:
        delta = b - a
        sign = "+" if delta >= 0 else "-"
        lines.append(f"| {name} | {fmt.format(a)} | {fmt.format(b)} | "
                     f"{sign}{fmt.format(abs(delta))} |")
    lines += ["", "**Question type breakdown:**"]
    for kind, stats in sorted(after.types.items()):
        lines.append(f"- {kind}: {stats['entries']} entries, "
                     f"{100 * stats['high'] / stats['entries']:.0f}% HIGH, "
                     f"{stats['sources'] / stats['entries']:.1f} sources")
    for title, items in (("What worked", worked), ("What didn't work", didnt),
                         ("Strategy change", change)):
        lines += ["", f"**{title}:**"] + [f"- {item}" for item in items or ["(nothing to note)"]]
    return "\n".join(lines) + "\n"
