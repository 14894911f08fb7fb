"""Knob moves read from free-text descriptions (other people's results.tsv).

Structured descriptions (``MATRIX_LR 0.04 -> 0.06``) say exactly what
changed. Runs of the reference system describe experiments in prose
instead: "increase matrix LR to 0.04", "reduce depth from 8 to 4", "halve
total batch size to 2^16". This module finds knob names in such text (from
the knobs a train.py has, plus the template's catalogue), the direction
(from the values, else from the verb) and the values when they are written.
Anything it cannot read is left alone: no guess is better than a wrong one.
"""
from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

from ..experiment.knobs import ARROW, Value
from ..experiment.proposers.space import CATALOGUE

UP = {"increase", "increased", "raise", "raised", "higher", "bigger", "larger", "more",
      "double", "doubled", "grow", "widen", "deepen", "longer", "up", "add", "enable"}
DOWN = {"decrease", "decreased", "reduce", "reduced", "lower", "lowered", "smaller", "less",
        "halve", "halved", "shrink", "cut", "drop", "down", "fewer", "shorter", "remove",
        "disable"}
# words a knob name may be written as in prose
SYNONYMS = {"lr": ("lr", "learning rate"), "embed": ("embed", "embedding"),
            "seq": ("seq", "sequence", "context"), "len": ("len", "length"),
            "frac": ("frac", "ratio", ""), "ratio": ("ratio", "frac", "")}
_NUMBER = r"(\d+(?:\.\d+)?(?:e-?\d+)?(?:\^\d+)?|\.\d+)"
_FROM_TO = re.compile(rf"from\s+{_NUMBER}\s+to\s+{_NUMBER}")
_ARROW = re.compile(rf"{_NUMBER}\s*{ARROW}\s*{_NUMBER}")
_TO = re.compile(rf"\b(?:to|=|at)\s+{_NUMBER}")
_CLAUSE_END = re.compile(r"[;,(]|\band\b|\bwith\b|\bplus\b")


@dataclass(frozen=True)
class FreeMove:
    knob: str
    direction: int            # +1 up, -1 down, 0 unknown
    old: Value | None = None
    new: Value | None = None


def number(text: str) -> Value:
    """``2^16`` is 65536; integers stay integers; a number too large for a
    float (``10^999``) stays the text as written."""
    try:
        if "^" in text:
            base, power = text.split("^")
            return int(float(base) ** int(power))
        value = float(text)
    except (OverflowError, ValueError):
        return text
    if not math.isfinite(value):
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def aliases(name: str) -> list[str]:
    """Ways prose writes a knob: MATRIX_LR -> 'matrix lr', 'matrix learning rate'."""
    words = [SYNONYMS.get(w, (w,)) for w in name.lower().split("_")]
    found = {" ".join(w for w in combo if w) for combo in itertools.product(*words)}
    return sorted((a for a in found if a), key=len, reverse=True)


def _known(names) -> list[tuple[str, str]]:
    pairs = {(alias, name) for name in set(names) | set(CATALOGUE) for alias in aliases(name)}
    return sorted(pairs, key=lambda p: (-len(p[0]), p[1]))


def read_moves(description: str, names=()) -> list[FreeMove]:
    """The knob moves a prose description names, in order of appearance."""
    text = " ".join(description.lower().replace("_", " ").split())
    taken: list[tuple[int, int]] = []
    found = []
    for alias, name in _known(names):
        for match in re.finditer(rf"(?<![\w.]){re.escape(alias)}(?![\w])", text):
            span = match.span()
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue  # inside a longer name already matched ("matrix lr" before "lr")
            taken.append(span)
            found.append((span[0], _move(name, text, span)))
    return [move for _, move in sorted(found, key=lambda f: f[0]) if move is not None]


def _move(name: str, text: str, span: tuple[int, int]) -> FreeMove | None:
    before = text[:span[0]].split()[-3:]
    rest = text[span[1]:]
    end = _CLAUSE_END.search(rest)
    clause = rest[:end.start()] if end else rest
    old = new = None
    pair = _FROM_TO.search(clause) or _ARROW.search(clause)
    if pair:
        old, new = number(pair.group(1)), number(pair.group(2))
    elif (single := _TO.search(clause)) is not None:
        new = number(single.group(1))
    words = set(before) | set(clause.split()[:2])
    direction = 1 if words & UP else -1 if words & DOWN else 0
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and old != new:
        direction = 1 if new > old else -1
    if direction == 0 and new is None:
        return None  # a knob merely mentioned
    return FreeMove(name, direction, old, new)
