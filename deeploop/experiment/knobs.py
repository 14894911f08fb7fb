"""The hyperparameter block of train.py, and descriptions machines can read.

A knob is a module-level ``UPPER_CASE = <literal>`` assignment inside the
block between ``# --- hyperparameters`` and ``# --- end hyperparameters``
(or anywhere at module level when a file has no markers). Edits replace just
the literal, so comments and layout survive and the diff is one line.

Descriptions of changes are structured: ``MATRIX_LR 0.04 -> 0.06``, several
joined by ``; ``, optionally tagged with the meta-analysis hypothesis they
test: its id (``[M2.1]``) or, in hand-written files, its rank (``[H2]``).
``parse_description`` reads them back.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ..errors import InputError

BLOCK_START = "# --- hyperparameters"
BLOCK_END = "# --- end hyperparameters"
Value = int | float | bool | str
_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
ARROW = r"(?:->|→|=>)"  # what separates an old value from the new one, wherever written
# The one reader of "NAME old -> new" (descriptions, hypotheses, people's notes):
# backticks around the name or the values are allowed, as Markdown writes them.
_CHANGE = re.compile(rf"`?\b([A-Z][A-Z0-9_]*)\b`?\s*[:=]?\s+`?([^\s`;,]+?)`?\s*{ARROW}\s*"
                     r"`?([^\s`;,)\]]+)")
_HYP_TAG = re.compile(r"\[(H\d+|M\d+\.\d+)\]")


@dataclass(frozen=True)
class Knob:
    name: str
    value: Value
    lineno: int      # 1-based line of the literal
    col: int         # 0-based columns of the literal on that line
    end_col: int


@dataclass(frozen=True)
class Change:
    knob: str
    old: Value
    new: Value

    def __str__(self) -> str:
        return f"{self.knob} {format_value(self.old)} -> {format_value(self.new)}"


@dataclass(frozen=True)
class Description:
    changes: tuple[Change, ...]
    hypothesis: str | None      # the tag without brackets: "M2.1" or "H2"
    text: str


def format_value(value: Value) -> str:
    """Short literal text: floats keep a point or exponent so they stay floats."""
    if isinstance(value, bool) or isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        text = f"{value:.6g}"
        return text if any(c in text for c in ".en") else text + ".0"
    return repr(value)


def parse_value(text: str) -> Value:
    """A Python literal as a value; anything else (``10%``, ``2x``, ``gelu``)
    stays the text as written."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text  # a bare word: keep it as written
    return value if isinstance(value, (int, float, bool, str)) else text


def _block_lines(lines: list[str]) -> tuple[int, int]:
    """1-based inclusive line range of the hyperparameter block (whole file if unmarked)."""
    start = next((i for i, s in enumerate(lines, 1) if s.strip().startswith(BLOCK_START)), None)
    end = next((i for i, s in enumerate(lines, 1) if s.strip().startswith(BLOCK_END)), None)
    if start is None or end is None or end < start:
        return 1, len(lines)
    return start, end


def _literal(node: ast.expr) -> Value | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool, str)):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))
            and not isinstance(node.operand.value, bool)):
        return -node.operand.value
    return None


def read_knobs(source: str) -> dict[str, Knob]:
    """The knobs of a train.py, in file order. Raises InputError if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise InputError(f"train.py does not parse: line {exc.lineno}: {exc.msg}") from None
    first, last = _block_lines(source.splitlines())
    knobs = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, _literal(node.value)
        v = node.value
        if (_NAME.match(name) and value is not None and first <= node.lineno <= last
                and v.lineno == v.end_lineno):
            knobs[name] = Knob(name, value, v.lineno, v.col_offset, v.end_col_offset)
    return knobs


def set_knobs(source: str, values: dict[str, Value]) -> str:
    """``source`` with the named knobs' literals replaced; unknown names are refused."""
    knobs = read_knobs(source)
    unknown = sorted(set(values) - set(knobs))
    if unknown:
        raise InputError(f"train.py has no hyperparameter {', '.join(unknown)}")
    lines = source.splitlines(keepends=True)
    for name, value in values.items():
        knob = knobs[name]
        line = lines[knob.lineno - 1]
        # ast columns count UTF-8 bytes; the block is ASCII in practice, but be exact
        raw = line.encode("utf-8")
        raw = raw[:knob.col] + format_value(value).encode("utf-8") + raw[knob.end_col:]
        lines[knob.lineno - 1] = raw.decode("utf-8")
    return "".join(lines)


def describe(changes: list[Change], hypothesis: str | None = None, note: str = "") -> str:
    """``KNOB old -> new; ...`` plus the tag of the hypothesis tested (``M2.1``)."""
    text = "; ".join(str(c) for c in changes) or "no change"
    if note:
        text += f" ({note})"
    return text + (f" [{hypothesis}]" if hypothesis else "")


def find_changes(text: str) -> list[tuple[str, str, str]]:
    """Every ``NAME old -> new`` written in ``text``, values as written (a
    sentence's final full stop dropped). Values may be anything: ``0.04``,
    ``10%``, ``2x``, ``gelu``; ``parse_value`` types them, and analyses fit
    only the numeric ones."""
    return [(name, old, new.rstrip(".") or new) for name, old, new in _CHANGE.findall(text or "")]


def parse_description(text: str) -> Description:
    """Changes and hypothesis tag read back from a description; free text
    gives no changes (for example autoresearch's ``increase matrix LR``)."""
    changes = tuple(Change(name, parse_value(old), parse_value(new))
                    for name, old, new in find_changes(text))
    tag = _HYP_TAG.search(text or "")
    return Description(changes, tag.group(1) if tag else None, text or "")


def diff_knobs(old_source: str, new_source: str) -> list[Change]:
    """Knob changes between two versions of train.py (for any proposer's edit)."""
    old, new = read_knobs(old_source), read_knobs(new_source)
    return [Change(n, old[n].value, new[n].value) for n in new
            if n in old and old[n].value != new[n].value]
