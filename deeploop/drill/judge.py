"""The drill judge: tree shape and question shape, as pure functions.

score = 1.0 when the drill is done, else closed leaves / leaves (3 decimals).
Violations (each round lists the ones that round caused):

- ``shallow-bedrock``: a bedrock marker at depth < 2 (the move reports it);
- ``preamble-leak``: the questioner's raw output ran over one line or 250
  characters;
- ``compound-question``: more than one question in one;
- ``missing-question-mark``;
- ``circular-answer``: the answer restates a claim already on the chain;
- plus whatever the round's move or source flagged (``bedrock-in-prose``,
  ``invalid-bedrock-category``, ``branch-at-root``, ``bedrock-refuted``,
  ``fanout-blocked``).
"""
from __future__ import annotations

import re

from ..judges import Verdict
from .tree import Tree

MAX_QUESTION_CHARS = 250
# Quoted spans are the claim being drilled, not the question's own structure:
# a claim may itself contain "?", ";" or " — ".
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
_JOINED = [
    re.compile(r"\b(and|or)\s+(what|why|how|who|where|when|which)\b", re.IGNORECASE),
    re.compile(r";\s+\S+.*\?"),                                 # "Why X; what Y?"
    re.compile(r"\s—\s+\S+.*\?"),                               # "Why X — what Y?"
    re.compile(r"\?\s*그리고\s+"),
]
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def tree_score(tree: Tree) -> float:
    root = tree.root
    if tree.done:
        return 1.0
    return round(root.closed / root.leaves, 3) if root.leaves else 0.0


def tree_detail(tree: Tree) -> dict:
    """The reference judge's detail block, from the tree's cached counts."""
    return {"total_leaves": tree.root.leaves, "closed_leaves": tree.root.closed,
            "max_depth": tree.root.height,
            "cursor": None if tree.cursor is None else list(tree.cursor), "done": tree.done}


def question_violations(question: str, raw_chars: int = 0, raw_lines: int = 1) -> list[str]:
    found = []
    q = (question or "").strip()
    if raw_lines > 1 or raw_chars > MAX_QUESTION_CHARS or len(q) > MAX_QUESTION_CHARS \
            or "\n" in q:
        found.append("preamble-leak")
    bare = _QUOTED.sub("“…”", q)
    if bare.count("?") + bare.count("？") > 1 or any(p.search(bare) for p in _JOINED):
        found.append("compound-question")
    if q and not re.search(r"[?？]\s*$", q):
        found.append("missing-question-mark")
    return found


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed: for restatement checks."""
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text.lower())).strip()


def is_circular(claim: str, chain: list[str]) -> bool:
    """Does ``claim`` restate a claim already on the ancestor chain?"""
    said = normalise(claim)
    return bool(said) and any(said == normalise(ancestor) for ancestor in chain)


def judge_round(tree: Tree, *, question: str | None = None, raw_chars: int = 0,
                raw_lines: int = 1, move_violations: tuple[str, ...] | list[str] = ()) -> Verdict:
    """Score the tree after a round and list the round's violations, deduplicated."""
    violations = list(move_violations)
    detail = tree_detail(tree)
    if question is not None:
        violations += question_violations(question, raw_chars, raw_lines)
        detail.update(question=question.strip(), question_chars=len(question.strip()),
                      raw_chars=raw_chars, raw_lines=raw_lines)
    return Verdict(tree_score(tree), list(dict.fromkeys(violations)), detail)
