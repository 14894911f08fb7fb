"""Pending hypotheses from the meta-analysis tier's ``next-hypotheses.md``.

The file starts ``# Meta-Analysis — YYYY-MM-DD HH:MM:SS`` and lists ranked
hypotheses. Each starts on a line like ``1. ...``, ``## 1. ...`` or
``### Hypothesis 1: ...``; the knob changes it proposes are read from its
text as ``NAME old -> new`` or ``NAME = value`` (backquotes allowed). A
hypothesis is identified by the file's stamp and its rank, so the loop can
tell which ones an experiment already tested (events record ``hypothesis``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .knobs import Value, parse_value

HYPOTHESES_FILE = "next-hypotheses.md"
_STAMP = re.compile(r"^#\s*Meta-Analysis\s*[—–-]+\s*(.+?)\s*$", re.MULTILINE)
_ITEM = re.compile(r"^\s*(?:#+\s*)?(?:\*\*)?(?:Hypothesis\s+)?(\d+)\s*[.):](?!\d)", re.I)
_ARROW = re.compile(r"`?\b([A-Z][A-Z0-9_]*)\b`?\s*[:=]?\s+`?([^\s`;,]+?)`?\s*"
                    r"(?:->|→)\s*`?([^\s`;,)]+)")
_ASSIGN = re.compile(r"`?\b([A-Z][A-Z0-9_]*)\s*=\s*([^\s`;,)]+)`?")


@dataclass(frozen=True)
class Hypothesis:
    rank: int
    text: str
    changes: dict[str, Value] = field(default_factory=dict)
    stamp: str = ""

    @property
    def key(self) -> str:
        return f"{self.stamp}#{self.rank}"

    def to_json(self) -> dict:
        return {"rank": self.rank, "stamp": self.stamp, "text": self.text,
                "changes": dict(self.changes)}


def _changes(text: str) -> dict[str, Value]:
    found: dict[str, Value] = {}
    for name, _old, new in _ARROW.findall(text):
        found.setdefault(name, parse_value(new.rstrip(".")))
    if not found:
        for name, new in _ASSIGN.findall(text):
            found.setdefault(name, parse_value(new.rstrip(".")))
    return found


def parse_hypotheses(text: str) -> list[Hypothesis]:
    """Hypotheses in rank order; items naming no knob change are kept with
    empty ``changes`` (an LLM proposer can still act on their text)."""
    stamp_match = _STAMP.search(text)
    stamp = stamp_match.group(1) if stamp_match else ""
    items: list[tuple[int, list[str]]] = []
    for line in text.splitlines():
        match = _ITEM.match(line)
        if match:
            items.append((int(match.group(1)), [line]))
        elif items and not line.startswith("# "):
            items[-1][1].append(line)
    hypotheses = {}
    for rank, lines in items:
        body = "\n".join(lines).strip()
        hypotheses.setdefault(rank, Hypothesis(rank, body, _changes(body), stamp))
    return [hypotheses[r] for r in sorted(hypotheses)]


def read_hypotheses(workspace: Path | str) -> list[Hypothesis]:
    path = Path(workspace) / HYPOTHESES_FILE
    try:
        return parse_hypotheses(path.read_text(encoding="utf-8", errors="replace"))
    except FileNotFoundError:
        return []


def pending(hypotheses: list[Hypothesis], tested: set[str]) -> list[Hypothesis]:
    """The hypotheses not yet tested, best rank first."""
    return [h for h in hypotheses if h.key not in tested]


def keys_tested(events: list[dict]) -> set[str]:
    """Keys of hypotheses recorded as tested by experiment events."""
    keys = set()
    for event in events:
        hyp = event.get("hypothesis")
        if event.get("type") == "experiment_result" and isinstance(hyp, dict):
            keys.add(f"{hyp.get('stamp', '')}#{hyp.get('rank')}")
    return keys
