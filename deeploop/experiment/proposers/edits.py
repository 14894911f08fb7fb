"""Reading a model's reply: a description plus a whole train.py or a diff.

The reply format the prompt asks for::

    DESCRIPTION: <one line>
    ```python
    <the complete new train.py>
    ```

or a fenced ```diff block holding a unified diff of train.py. Diffs are
applied by matching each hunk's context and removed lines (line numbers are
only a hint, since models get them wrong). Anything else is a ``ReplyError``
whose message says what was wrong, so the model can be asked once more.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import DeeploopError

_FENCE = re.compile(r"^```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_DESCRIPTION = re.compile(r"^\s*\**DESCRIPTION\**\s*:\s*(.+?)\s*$", re.M | re.I)
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_FILE_LINE = re.compile(r"^(?:---|\+\+\+) (?:[ab]/)?(\S+)")
ALLOWED = {"train.py", "/dev/null"}


class ReplyError(DeeploopError):
    """A model reply that cannot be turned into a new train.py."""


@dataclass(frozen=True)
class Edit:
    description: str
    train_py: str
    kind: str  # "file" | "diff"


def parse_reply(reply: str, current: str) -> Edit:
    match = _DESCRIPTION.search(reply or "")
    if not match:
        raise ReplyError("no 'DESCRIPTION: <one line>' line")
    description = match.group(1).strip()
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(reply)]
    diffs = [body for lang, body in blocks if lang in ("diff", "patch", "udiff")]
    files = [body for lang, body in blocks if lang in ("python", "py", "")]
    if diffs:
        return Edit(description, apply_unified_diff(current, diffs[0]), "diff")
    if files:
        return Edit(description, files[0], "file")
    raise ReplyError("no ```python block with the whole train.py and no ```diff block")


def _check_path(line: str) -> None:
    match = _FILE_LINE.match(line)
    if match and match.group(1) not in ALLOWED:
        raise ReplyError(f"the diff touches {match.group(1)}; only train.py may change")


def _hunks(diff: str) -> list[tuple[int, list[str]]]:
    hunks: list[tuple[int, list[str]]] = []
    lines = diff.rstrip("\n").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            _check_path(line)  # a file header pair, not a removed "-- " line
            _check_path(lines[i + 1])
            i += 2
            continue
        header = _HUNK.match(line)
        if header:
            hunks.append((int(header.group(1)), []))
        elif hunks and line[:1] in (" ", "-", "+"):
            hunks[-1][1].append(line)
        elif hunks and line == "":
            hunks[-1][1].append(" ")  # an editor stripped the space of an empty context line
        i += 1
    if not hunks:
        raise ReplyError("the diff has no @@ hunks")
    return hunks


def _find(lines: list[str], block: list[str], hint: int, start: int) -> int:
    """Where ``block`` occurs in ``lines`` at or after ``start``, nearest the hint;
    exact first, then ignoring trailing whitespace."""
    for norm in (lambda s: s, lambda s: s.rstrip()):
        target = [norm(b) for b in block]
        spots = [i for i in range(start, len(lines) - len(block) + 1)
                 if [norm(x) for x in lines[i:i + len(block)]] == target]
        if spots:
            return min(spots, key=lambda i: abs(i - hint))
    return -1


def apply_unified_diff(source: str, diff: str) -> str:
    lines = source.splitlines()
    out: list[str] = []
    cursor = 0
    for number, (old_start, body) in enumerate(_hunks(diff), start=1):
        old = [line[1:] for line in body if line[:1] in (" ", "-")]
        new = [line[1:] for line in body if line[:1] in (" ", "+")]
        at = _find(lines, old, old_start - 1, cursor) if old else max(old_start - 1, cursor)
        if at < 0:
            raise ReplyError(f"hunk {number} of the diff does not match train.py")
        out.extend(lines[cursor:at])
        out.extend(new)
        cursor = at + len(old)
    out.extend(lines[cursor:])
    return "\n".join(out) + ("\n" if source.endswith("\n") or not source else "")
