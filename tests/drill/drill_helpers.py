"""Helpers shared by the drill tests (a module, so test files can import it)."""
from __future__ import annotations

from pathlib import Path

from deeploop.events import read_events

REPO = Path(__file__).resolve().parents[2]
# recorded by the reference; read in place, never copied into the repo
LEGACY = REPO.parent / "shared" / "fixtures" / "deeper-legacy" / "deeper"
LEGACY_RUNS = ("harness-smoke", "smoke-branch", "smoke-chain")


def events_of(run_dir: Path, *types: str) -> list[dict]:
    journal = read_events(Path(run_dir) / "events.jsonl")
    return journal.of_type(*types) if types else journal.events


def answer_all(session, answers: list[str]) -> list:
    """Answer each in turn; returns the RoundResults."""
    return [session.answer(a) for a in answers]


def read_tree_json(run_dir: Path) -> dict:
    import json
    return json.loads((Path(run_dir) / "tree.json").read_text(encoding="utf-8"))


def pure_drill(answers: list[str], claim: str = "root claim"):
    """Apply answers with the pure functions only: (cursors, scores, violations, tree)."""
    from deeploop.drill import apply_action, judge_round, new_tree, parse_answer
    tree = new_tree(claim)
    cursors, scores, violations = [], [], []
    for text in answers:
        applied = apply_action(tree, parse_answer(text))
        tree = applied.tree
        verdict = judge_round(tree, move_violations=applied.violations)
        cursors.append(None if tree.cursor is None else list(tree.cursor))
        scores.append(verdict.score)
        violations.append(verdict.violations)
    return cursors, scores, violations, tree


# what the reference's render.sh prints for the recorded smoke-branch run
SMOKE_BRANCH = """\
# Depth tree

## Bedrock

- [prior-decision] (depth 3) (bedrock declared at: rethink — A traces back to choice X)
- [constraint] (depth 2) (bedrock declared at: cause B also pushes us this way)

## Tree

- [from-user] Why does the `deeper` project exist instead of using one of the existing \
interview skills?
  - [from-user] cause A pushes us this way
    - [from-user] rethink — A traces back to choice X
      - [from-user]  [BEDROCK:prior-decision] (bedrock declared at: rethink — A traces back \
to choice X)
  - [from-user] cause B also pushes us this way
    - [from-user]  [BEDROCK:constraint] (bedrock declared at: cause B also pushes us this way)
"""
