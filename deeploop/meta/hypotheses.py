"""Ranked hypotheses: what the meta tier tells the inner tier to try next.

``next-hypotheses.md`` starts ``# Meta-Analysis — YYYY-MM-DD HH:MM:SS`` and
lists exactly five ranked hypotheses, each with an id (``M<analysis>.<rank>``),
the exact change, the expected direction and a confidence with its reason.
A change written as ``KNOB old -> new`` is machine-applicable: the offline
proposer applies it as is. The file is parsed back so any proposer (or a
person) can read what is pending.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ..errors import InputError

HYPOTHESES_FILE = "next-hypotheses.md"
COUNT = 5
CONFIDENCE = ("HIGH", "MEDIUM", "LOW")
_ITEM = re.compile(r"^## (\d+)\. \[([^\]]+)\] (.+)$", re.MULTILINE)
_FIELD = re.compile(r"^- (Change|Expected|Confidence): (.*)$", re.MULTILINE)
_KNOB_CHANGE = re.compile(r"^([A-Z][A-Z0-9_]*) (\S+) -> (\S+)$")


@dataclass
class Hypothesis:
    id: str
    rank: int
    change: str
    expected: str
    confidence: str
    reason: str

    def knob_change(self) -> tuple[str, str, str] | None:
        """(KNOB, old, new) when the change is a single hyperparameter edit."""
        match = _KNOB_CHANGE.match(self.change.strip().strip("`"))
        return match.groups() if match else None

    def to_json(self) -> dict:
        return asdict(self)


def render_hypotheses(hypotheses: list[Hypothesis], *, stamp: str, header: str = "") -> str:
    if len(hypotheses) != COUNT:
        raise InputError(f"a meta-analysis lists exactly {COUNT} hypotheses, got {len(hypotheses)}")
    lines = [f"# Meta-Analysis — {stamp}", ""]
    if header:
        lines += [header, ""]
    for h in hypotheses:
        lines += [f"## {h.rank}. [{h.id}] {h.change}",
                  f"- Change: `{h.change}`",
                  f"- Expected: {h.expected}",
                  f"- Confidence: {h.confidence} — {h.reason}", ""]
    return "\n".join(lines)


def parse_hypotheses(text: str) -> list[Hypothesis]:
    """Hypotheses from a next-hypotheses.md text, in rank order."""
    items = list(_ITEM.finditer(text))
    found = []
    for i, item in enumerate(items):
        block = text[item.end(): items[i + 1].start() if i + 1 < len(items) else len(text)]
        fields = {k: v.strip() for k, v in _FIELD.findall(block)}
        level, _, reason = fields.get("Confidence", "LOW").partition(" — ")
        found.append(Hypothesis(
            id=item.group(2), rank=int(item.group(1)),
            change=fields.get("Change", item.group(3)).strip("`"),
            expected=fields.get("Expected", ""),
            confidence=level.strip().upper() if level.strip().upper() in CONFIDENCE else "LOW",
            reason=reason.strip()))
    return sorted(found, key=lambda h: h.rank)
