"""Answers into actions: the one place that reads what a person or model typed.

Surrounding whitespace is stripped, then:

- ``STOP`` ends the drill;
- ``BEDROCK:<category>`` (keyword in any case), optionally followed by a
  rationale after a separator on the same line or on later lines, closes the
  active claim. The reference rejected ``BEDROCK:empirical — because …`` and
  let drills run for 50 rounds without closing; here it is accepted;
- ``BRANCH:<claim>`` adds a parallel cause next to the active claim;
- anything else is a deeper claim. A ``BEDROCK`` mentioned mid-sentence stays
  a claim and is flagged ``bedrock-in-prose``.

An empty answer, an empty branch and an unknown category are refused with an
InputError; the unknown category is a ``RejectedAnswer`` because it is worth
recording as a violation (``invalid-bedrock-category``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InputError
from ..strenum import StrEnum
from .tree import BEDROCK_CATEGORIES, DEFAULT_TAG

_BEDROCK = re.compile(r"^bedrock\s*:\s*", re.IGNORECASE)
_BRANCH = re.compile(r"^branch\s*:\s*", re.IGNORECASE)
_CATEGORY = re.compile(r"[A-Za-z][A-Za-z-]*")
_SEPARATORS = " \t\r\n—–-:;,|."
_SHOUTED_BEDROCK = re.compile(r"\bBEDROCK\b")
_KEYWORD_BEDROCK = re.compile(r"\bbedrock\s*:", re.IGNORECASE)
CATEGORIES_TEXT = ", ".join(BEDROCK_CATEGORIES)


class Kind(StrEnum):
    DESCEND = "descend"
    BEDROCK = "bedrock"
    BRANCH = "branch"
    STOP = "stop"


class RejectedAnswer(InputError):
    """An answer refused with a violation worth recording (``.violation``)."""

    def __init__(self, message: str, violation: str):
        super().__init__(message, violation=violation)


@dataclass(frozen=True)
class Action:
    """What an answer does to the tree. JSON in and out, so replay is exact."""

    kind: Kind
    claim: str = ""
    category: str = ""
    rationale: str = ""
    tag: str = DEFAULT_TAG
    flags: tuple[str, ...] = field(default=())

    def to_json(self) -> dict:
        data = {"kind": str(self.kind), "tag": self.tag}
        for key in ("claim", "category", "rationale"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.flags:
            data["flags"] = list(self.flags)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Action":
        try:
            return cls(Kind(data["kind"]), str(data.get("claim") or ""),
                       str(data.get("category") or ""), str(data.get("rationale") or ""),
                       str(data.get("tag") or DEFAULT_TAG), tuple(data.get("flags") or ()))
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"not a recorded drill action: {data!r} ({exc})") from None


def parse_answer(text: str, tag: str = DEFAULT_TAG) -> Action:
    """Turn one answer into an Action, or raise InputError/RejectedAnswer."""
    answer = (text or "").strip()
    if not answer:
        raise InputError("empty answer: give a deeper reason, BEDROCK:<category>, "
                         "BRANCH:<claim> or STOP")
    if answer.upper() == "STOP":
        return Action(Kind.STOP, tag=tag)
    bedrock = _BEDROCK.match(answer)
    if bedrock:
        return _bedrock(answer[bedrock.end():], tag)
    branch = _BRANCH.match(answer)
    if branch:
        claim = answer[branch.end():].strip()
        if not claim:
            raise InputError("empty branch: write the parallel cause after BRANCH:")
        return Action(Kind.BRANCH, claim=claim, tag=tag, flags=_prose_flags(claim))
    return Action(Kind.DESCEND, claim=answer, tag=tag, flags=_prose_flags(answer))


def _bedrock(rest: str, tag: str) -> Action:
    match = _CATEGORY.match(rest)
    category = match.group().lower() if match else ""
    if category not in BEDROCK_CATEGORIES:
        # "stated-value." or "empirical-" lose their trailing separator first
        category = category.rstrip("-")
    if category not in BEDROCK_CATEGORIES:
        shown = rest.split()[0] if rest.split() else ""
        raise RejectedAnswer(f"unknown bedrock category {shown!r}: use one of {CATEGORIES_TEXT}",
                             violation="invalid-bedrock-category")
    rationale = rest[match.start() + len(category):].lstrip(_SEPARATORS).strip()
    return Action(Kind.BEDROCK, category=category, rationale=rationale, tag=tag)


def _prose_flags(claim: str) -> tuple[str, ...]:
    """``bedrock-in-prose`` for a claim that says BEDROCK instead of declaring it."""
    if _SHOUTED_BEDROCK.search(claim) or _KEYWORD_BEDROCK.search(claim):
        return ("bedrock-in-prose",)
    return ()
