"""Ranked hypotheses: what the meta tier tells the inner tier to try next.

``next-hypotheses.md`` starts ``# Meta-Analysis — YYYY-MM-DD HH:MM:SS`` and
lists exactly five ranked hypotheses, each with an id (``M<analysis>.<rank>``),
the exact change, the expected direction and a confidence with its reason::

    ## 1. [M2.1] MATRIX_LR 0.04 -> 0.06
    - Change: `MATRIX_LR 0.04 -> 0.06`
    - Expected: lower val_bpb (about -0.4 %)
    - Confidence: HIGH — 3 of 3 raises kept

A change written ``KNOB old -> new`` (several joined by ``; ``) or
``KNOB = value`` is machine-applicable: the offline proposer applies it as
is. The parser is lenient so a person or a model may write the file too
(``1.``, ``## 1.``, ``### Hypothesis 1:``, ``1)``; fields inline or as
bullets). A hypothesis without an id is known by the file's stamp and its
rank. Experiments record the hypothesis they test in their event and as a
``[M2.1]`` tag at the end of their description.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .knobs import find_changes, parse_value

HYPOTHESES_FILE = "next-hypotheses.md"
COUNT = 5
CONFIDENCE = ("HIGH", "MEDIUM", "LOW")

_STAMP = re.compile(r"^#\s*Meta-Analysis\s*[—–-]+\s*(.+?)\s*$", re.MULTILINE)
_ITEM = re.compile(r"^\s*(?:#+\s*)?(?:\*\*)?(?:Hypothesis\s+)?(\d+)\s*[.):](?!\d)\**\s*", re.I)
_ID = re.compile(r"^\[((?:M\d+\.\d+)|[^\]\s]+)\]\s*")
_FIELD = re.compile(r"(?:^|(?<=[\s.;]))[-*]?\s*\**(Change|Expected|Confidence|Reason)\**\s*:\s*",
                    re.I)
_ASSIGN = re.compile(r"`?\b([A-Z][A-Z0-9_]*)\s*=\s*([^\s`;,)]+)`?")
_TAG = re.compile(r"\s*\[(H\d+|M\d+\.\d+)\]")


@dataclass
class Hypothesis:
    id: str                  # "M2.1"; "" for a hand-written item without one
    rank: int
    change: str              # the exact change: "KNOB old -> new" or free text
    expected: str = ""
    confidence: str = "LOW"  # HIGH | MEDIUM | LOW
    reason: str = ""
    stamp: str = field(default="", compare=False)  # the file's "Meta-Analysis — <stamp>"

    @property
    def key(self) -> str:
        """What experiments record to say they tested this hypothesis."""
        return self.id or f"{self.stamp}#{self.rank}"

    @property
    def label(self) -> str:
        """The tag written at the end of a description: the id, else H<rank>."""
        return self.id or f"H{self.rank}"

    @property
    def changes(self) -> dict:
        """Knob -> new value, read from the change text ({} for free text)."""
        found: dict = {}
        for name, _old, new in find_changes(self.change):
            found.setdefault(name, parse_value(new))
        if not found:
            for name, new in _ASSIGN.findall(self.change):
                found.setdefault(name, parse_value(new.rstrip(".")))
        return found

    def describe(self) -> str:
        """One line for prompts and terminals."""
        text = f"[{self.label}] {self.change}"
        if self.expected:
            text += f" — expected: {self.expected}"
        return text + f" — confidence {self.confidence}" + (f": {self.reason}" if self.reason
                                                              else "")

    def to_json(self) -> dict:
        data = {"id": self.key, "rank": self.rank, "change": self.change,
                "expected": self.expected, "confidence": self.confidence, "reason": self.reason}
        if not self.id and self.stamp:
            data["stamp"] = self.stamp
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Hypothesis":
        return cls(str(data.get("id", "")), int(data.get("rank", 0)), str(data.get("change", "")),
                   str(data.get("expected", "")), _level(str(data.get("confidence", "LOW"))),
                   str(data.get("reason", "")), str(data.get("stamp", "")))


def _level(text: str) -> str:
    word = text.strip().split(" ", 1)[0].strip("*:,.()").upper() if text.strip() else ""
    return word if word in CONFIDENCE else "LOW"


def render_hypotheses(hypotheses: list[Hypothesis], *, stamp: str, header: str = "") -> str:
    if len(hypotheses) != COUNT:
        raise InputError(f"a meta-analysis lists exactly {COUNT} hypotheses, got {len(hypotheses)}")
    lines = [f"# Meta-Analysis — {stamp}", ""]
    if header:
        lines += [header, ""]
    for h in hypotheses:
        lines += [f"## {h.rank}. [{h.label}] {h.change}",
                  f"- Change: `{h.change}`",
                  f"- Expected: {h.expected}",
                  f"- Confidence: {h.confidence} — {h.reason}", ""]
    return "\n".join(lines)


def _fields(body: str) -> dict[str, str]:
    """``Change: ... Expected: ... Confidence: ...`` as bullets or inline."""
    marks = list(_FIELD.finditer(body))
    found = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        value = " ".join(body[mark.end():end].split()).strip().strip("`").rstrip(".").strip()
        found.setdefault(mark.group(1).lower(), value.strip("`"))
    return found


def _knob_text(body: str) -> str:
    """The knob changes an item names, written back as one change text."""
    arrows = [f"{n} {o} -> {v}" for n, o, v in find_changes(body)]
    if arrows:
        return "; ".join(arrows)
    return "; ".join(f"{n} = {v.rstrip('.')}" for n, v in _ASSIGN.findall(body))


def _item(rank: int, lines: list[str], stamp: str) -> Hypothesis:
    head = _ITEM.sub("", lines[0], count=1).strip()
    ident = _ID.match(head)
    hyp_id = ident.group(1) if ident and re.fullmatch(r"M\d+\.\d+", ident.group(1)) else ""
    head = head[ident.end():] if ident else head
    body = "\n".join([head] + lines[1:])
    fields = _fields(body)
    title = _FIELD.split(head, maxsplit=1)[0].strip().rstrip(".")
    change = fields.get("change") or _knob_text(body) or title
    confidence = fields.get("confidence", "")
    level_reason = confidence.split(" ", 1)[1].strip(" —-–:()") if " " in confidence else ""
    reason = fields.get("reason") or level_reason
    if not fields.get("change") and not reason and title != change:
        reason = title  # a headline like "Shallower model" explains a bare knob change
    return Hypothesis(hyp_id, rank, change, fields.get("expected", ""), _level(confidence),
                      reason, stamp)


def parse_hypotheses(text: str) -> list[Hypothesis]:
    """Hypotheses in rank order (the first item of a rank wins); items that
    name no knob keep their text as the change."""
    stamp_match = _STAMP.search(text)
    stamp = stamp_match.group(1) if stamp_match else ""
    items: list[tuple[int, list[str]]] = []
    for line in text.splitlines():
        match = _ITEM.match(line)
        if match:
            items.append((int(match.group(1)), [line]))
        elif items and not line.startswith("# "):
            items[-1][1].append(line)
    found: dict[int, Hypothesis] = {}
    for rank, lines in items:
        found.setdefault(rank, _item(rank, lines, stamp))
    return [found[r] for r in sorted(found)]


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
    """Keys of the hypotheses experiment events record as tested."""
    keys = set()
    for event in events:
        hyp = event.get("hypothesis")
        if event.get("type") == "experiment_result" and isinstance(hyp, dict):
            keys.add(hyp.get("id") or f"{hyp.get('stamp', '')}#{hyp.get('rank')}")
    return keys


def tagged(description: str, hypothesis: Hypothesis | None) -> str:
    """The description ending in exactly one tag naming the hypothesis it tests."""
    text = _TAG.sub("", description).rstrip()
    return f"{text} [{hypothesis.label}]" if hypothesis is not None else text


def find_tagged(description: str, offered: list[Hypothesis]) -> Hypothesis | None:
    """The offered hypothesis a description's ``[M2.1]`` or ``[H2]`` tag names."""
    for tag in _TAG.findall(description or ""):
        for h in offered:
            if tag == h.label or (tag.startswith("H") and tag == f"H{h.rank}"):
                return h
    return None
