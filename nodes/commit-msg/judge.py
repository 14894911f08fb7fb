"""Judge for the commit-msg node: four rules, one point each.

Judges the last non-empty line of the round's output:
1. ``no-conv-format``: no Conventional Commits prefix;
2. ``length``: longer than 70 characters;
3. ``verb-tense``: after a prefix, the first word is capitalised or a past or
   third-person form (added/adds/adding/fixed/fixes/refactored);
4. ``trailing-period``.
Score = (4 - violations) / 4.
"""
import re

PREFIX = re.compile(r"^(feat|fix|refactor|docs|test|chore|perf)(\([a-z0-9._-]+\))?: ")
FIRST_WORD = re.compile(r"[A-Za-z]+")
BAD_VERBS = {"added", "adds", "adding", "fixed", "fixes", "refactored"}
MAX_LENGTH = 70


def violations(message: str) -> list[str]:
    found = []
    prefix = PREFIX.match(message)
    if not prefix:
        found.append("no-conv-format")
    if len(message) > MAX_LENGTH:
        found.append("length")
    word = FIRST_WORD.match(message[prefix.end():].lstrip()) if prefix else None
    if word and (word.group()[0].isupper() or word.group().lower() in BAD_VERBS):
        found.append("verb-tense")
    if message.endswith("."):
        found.append("trailing-period")
    return found


def judge(output, context):
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    latest = lines[-1] if lines else ""
    found = violations(latest)
    return {"score": round((4 - len(found)) / 4, 3), "violations": found,
            "detail": {"latest": latest, "length": len(latest)}}
