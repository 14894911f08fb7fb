"""process_log.md of a research workspace: the meta tier's memory of method.

Entries are headed ``### Cohort <N> → <N+1> Analysis (YYYY-MM-DD)`` (written
by ``meta.cohort.render_cohort_entry``) and end with a
``**Recommended questions:**`` list, which the picker reads (weighted 2x).
The research agent reads this file; only the meta tier writes to it. Pure
text functions.
"""
from __future__ import annotations

import re

PROCESS_LOG_FILE = "process_log.md"
RECOMMENDED = "**Recommended questions:**"
_COHORT = re.compile(r"^### Cohort (\d+) → (\d+) Analysis", re.MULTILINE)
_ENTRIES = "## Entries"


def process_log_text() -> str:
    return "\n".join([
        "# deeploop research process log", "",
        "> The meta tier's working memory about *how to research*, not *what*.",
        "> The research loop reads it before choosing a question; only the cohort",
        "> analysis (every 5 knowledge-index entries) writes to it.", "",
        _ENTRIES, "",
    ])


def cohorts_recorded(text: str) -> int:
    """The number of the last cohort entry (0 when none). State comes from the
    ``cohort_analysed`` events; this reads only runs recorded before them."""
    return max((int(m.group(2)) for m in _COHORT.finditer(text)), default=0)


def recommendations_in(text: str) -> list[str]:
    """Questions listed under every entry's Recommended questions, oldest first."""
    found: list[str] = []
    for block in text.split(RECOMMENDED)[1:]:
        for line in block.splitlines()[1:]:
            if line.startswith(("#", "**")):
                break
            question = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line).strip()
            if question.endswith("?"):
                found.append(question)
    return list(dict.fromkeys(found))


def recommended_block(questions: list[str]) -> str:
    lines = ["", RECOMMENDED]
    lines += [f"- {q}" for q in questions] or ["- (none: follow the gaps of the index)"]
    return "\n".join(lines) + "\n"


def append_cohort(text: str, entry: str) -> str:
    """``text`` with ``entry`` added at the end (after an Entries heading)."""
    if not text.strip():
        text = process_log_text()
    if _ENTRIES not in text:
        text = text.rstrip("\n") + f"\n\n{_ENTRIES}\n"
    return text.rstrip("\n") + "\n\n" + entry.strip("\n") + "\n"
