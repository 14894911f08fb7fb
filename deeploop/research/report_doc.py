"""report.md: the growing, cited research report.

Fixed sections (DESIGN.md, from deep-loop); findings are appended to the
section that fits the question; every statement carries a citation
``([Source](target))``; LOW confidence is flagged with a fixed callout.
Pure text functions.
"""
from __future__ import annotations

import re

SECTIONS = ["Executive Summary", "The Problem Space", "Current Approaches & Patterns",
            "Key Players & Projects", "Standards & Protocols",
            "Security Models & Attack Surfaces", "Open Problems & Gaps",
            "Implications & Recommendations", "Sources"]
LOW_FLAG = "> ⚠️ Low confidence — single source, needs verification."
CITATION = re.compile(r"\(\[([^\]]+)\]\(([^)\s]+)\)\)")
_SECTION_HINTS = [
    ("Security Models & Attack Surfaces",
     r"secur|attack|threat|vulnerab|exploit|unsafe|safety|permission|auth"),
    ("Standards & Protocols", r"standard|protocol|spec|rfc|pep\b|format|interface|api\b"),
    ("Key Players & Projects", r"^\s*who\b|project|librar|framework|vendor|compan|tool"),
    ("Open Problems & Gaps", r"problem|gap|limitation|unsolved|open question|fail|pitfall"),
    ("Implications & Recommendations", r"should|recommend|best practice|when to use|choose"),
    ("Current Approaches & Patterns", r"^\s*how\b|pattern|approach|technique|implement|use"),
]


def new_report(topic: str) -> str:
    lines = [f"# {topic} — Research Report", ""]
    for section in SECTIONS:
        lines += [f"## {section}", ""]
    return "\n".join(lines)


def section_for(question: str) -> str:
    """The report section a question's findings belong in."""
    for section, pattern in _SECTION_HINTS:
        if re.search(pattern, question, re.I):
            return section
    return "The Problem Space"


def append_to_section(report: str, section: str, block: str) -> str:
    """Append ``block`` at the end of ``section`` (added at the end if missing)."""
    heading = f"## {section}"
    start = report.find(heading + "\n")
    if start < 0:
        report = report.rstrip("\n") + f"\n\n{heading}\n\n"
        start = report.find(heading + "\n")
    body_start = start + len(heading) + 1
    nxt = report.find("\n## ", body_start)
    end = len(report) if nxt < 0 else nxt + 1
    body = report[body_start:end].rstrip("\n")
    new_body = (body + "\n\n" if body.strip() else "\n") + block.strip("\n") + "\n\n"
    return report[:body_start] + new_body + report[end:]


_BLOCK_END = re.compile(r"^#{2,3} ", re.MULTILINE)


def question_block(report: str, question: str) -> tuple[int, int] | None:
    """(start, end) of the ``### question`` block in ``report``, or None."""
    heading = f"### {question}\n"
    start = report.find(heading)
    while start > 0 and report[start - 1] != "\n":
        start = report.find(heading, start + 1)
    if start < 0:
        return None
    nxt = _BLOCK_END.search(report, start + len(heading))
    return start, nxt.start() if nxt else len(report)


def replace_question(report: str, question: str, block: str) -> str | None:
    """``report`` with the question's block replaced by ``block`` (a retry
    refines its answer in place), or None when the question has no block."""
    span = question_block(report, question)
    if span is None:
        return None
    return report[:span[0]] + block.strip("\n") + "\n\n" + report[span[1]:]


def add_sources(report: str, sources: list[tuple[str, str]]) -> str:
    """List each (name, target) once in the Sources section."""
    present = _listed_sources(report)
    new = [f"- [{name}]({target})" for name, target in sources if target not in present]
    return append_to_section(report, "Sources", "\n".join(new)) if new else report


def _listed_sources(report: str) -> set[str]:
    start = report.find("## Sources\n")
    if start < 0:
        return set()
    return set(re.findall(r"^- \[[^\]]*\]\(([^)\s]+)\)", report[start:], re.M))
