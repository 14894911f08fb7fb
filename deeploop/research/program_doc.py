"""program.md of a research workspace: topic, strategy, seed questions.

A person owns the Problem Statement and the Seed Questions; the meta tier
owns the Current Strategy section (rewritten with ``meta.program``). The loop
reads the topic, the seeds and the knob the strategy sets:
``- Searches per question: N`` (1..4), how many queries retrieval runs.

All functions are pure text transforms.
"""
from __future__ import annotations

import re

from .pick import questions_in

PLACEHOLDER = "YOUR_TOPIC_HERE"
DEFAULT_SEARCHES = 2
MAX_SEARCHES = 4
_SECTION = re.compile(r"^##[ \t]+(.+?)[ \t]*$", re.MULTILINE)
_SEARCHES = re.compile(r"^[-*]\s*Searches per question:\s*(\d+)\s*$", re.MULTILINE | re.I)


def default_seeds(topic: str) -> list[str]:
    """Questions that open any topic, one per report section family."""
    return [f"What is {topic}?",
            f"How does {topic} work?",
            f"Which libraries and projects provide {topic}?",
            f"What errors, limitations and pitfalls come with {topic}?"]


def initial_strategy() -> str:
    return "\n".join([
        "- Answer the seed questions first, in order; then follow the gaps the answers raise.",
        f"- Searches per question: {DEFAULT_SEARCHES}",
    ])


def program_text(topic: str, seeds: list[str], *, created: str) -> str:
    seed_lines = [f"**Q{i}: {q}**" for i, q in enumerate(seeds, start=1)]
    return "\n".join([
        "# deeploop research program", "",
        "**Version:** v1",
        f"**Last rewritten by:** deeploop research init ({created})", "",
        "You are an autonomous domain research agent. Follow the research constitution "
        "(nodes/research/PROMPT.md) and its lessons (BANS.md).", "",
        "## Problem Statement", "",
        topic, "",
        "## Current Strategy", "",
        initial_strategy(), "",
        "## Seed Questions", "",
        *[line + "\n" for line in seed_lines],
    ]).rstrip("\n") + "\n"


def section_body(text: str, title: str) -> str | None:
    """The body of the ``## title`` section (up to the next ``## ``), or None."""
    headings = list(_SECTION.finditer(text))
    for i, match in enumerate(headings):
        if match.group(1).strip().lower() == title.lower():
            end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
            return text[match.end():end].strip("\n")
    return None


def topic_of(text: str) -> str:
    """The first paragraph of the Problem Statement, on one line ('' if none)."""
    body = section_body(text, "Problem Statement") or ""
    paragraph = body.strip().split("\n\n")[0] if body.strip() else ""
    return " ".join(paragraph.split())


def has_placeholder(text: str) -> bool:
    """Whether the topic or a seed question still says YOUR_TOPIC_HERE."""
    return PLACEHOLDER in topic_of(text) or any(PLACEHOLDER in q for q in seeds_of(text))


def seeds_of(text: str) -> list[str]:
    return questions_in(section_body(text, "Seed Questions") or "")


def searches_of(strategy: str | None) -> int:
    """Queries per question the strategy asks for, clamped to 1..MAX_SEARCHES."""
    match = _SEARCHES.search(strategy or "")
    return DEFAULT_SEARCHES if not match else max(1, min(MAX_SEARCHES, int(match.group(1))))

