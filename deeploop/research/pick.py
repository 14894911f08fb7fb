"""Which research question comes next: a pure decision.

Seed questions first, in order; then follow-ups drawn from the
``gaps_identified`` of earlier rows and from the process log's recommended
questions, the latter weighted 2x; never a question already answered. A
question left ``partial`` is finished (retried once) before any other.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from .knowledge import Entry, normalise

RECOMMENDATION_WEIGHT = 2
_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SEED_LABEL = re.compile(r"^Q\d+:\s*")


@dataclass(frozen=True)
class Pick:
    question: str
    origin: str  # seed | retry | gap | recommendation


def questions_in(text: str) -> list[str]:
    """Lines that ask a question (bullets, numbers and bold stripped), in order."""
    found = []
    for line in text.splitlines():
        plain = _SEED_LABEL.sub("", _MARKER.sub("", line).replace("**", "").strip())
        if plain.endswith("?") and not plain.startswith("#"):
            found.append(plain)
    return list(dict.fromkeys(found))


def pick_question(seeds: list[str], entries: list[Entry], recommendations: list[str],
                  rng: random.Random) -> Pick | None:
    attempts: dict[str, int] = {}
    for entry in entries:
        attempts[normalise(entry.question)] = attempts.get(normalise(entry.question), 0) + 1
    done = {normalise(e.question) for e in entries if e.status != "partial"}
    done |= {q for q, n in attempts.items() if n >= 2}
    if entries and entries[-1].status == "partial" and normalise(entries[-1].question) not in done:
        return Pick(entries[-1].question, "retry")
    for seed in seeds:
        if normalise(seed) not in done and normalise(seed) not in attempts:
            return Pick(seed, "seed")
    pool: dict[str, tuple[str, str, int]] = {}
    for entry in entries:
        for gap in entry.gaps:
            pool.setdefault(normalise(gap), (gap, "gap", 1))
    for question in recommendations:
        pool[normalise(question)] = (question, "recommendation", RECOMMENDATION_WEIGHT)
    candidates = [v for k, v in pool.items() if k not in done and k not in attempts]
    if not candidates:
        return None
    chosen = rng.choices(candidates, weights=[w for _, _, w in candidates])[0]
    return Pick(chosen[0], chosen[1])
