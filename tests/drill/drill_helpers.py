"""Helpers shared by the drill tests (a module, so test files can import it)."""
from __future__ import annotations

from pathlib import Path

import pytest

from deeploop.events import read_events
from tests.helpers import OWN_DRILLS, RECORDED_DRILLS, REPO, recordings  # noqa: F401

# recorded by the reference; read in place, never copied into the repo
LEGACY = RECORDED_DRILLS
LEGACY_RUNS = ("harness-smoke", "smoke-branch", "smoke-chain")
# the project's own drills in the same legacy format (tests/fixtures/README.md)
OWN_FINISHED = ("legacy-branch", "legacy-chain", "legacy-capped")
OWN_LEGACY_RUNS = OWN_FINISHED + ("legacy-open",)


def legacy_drills(own=OWN_LEGACY_RUNS, recorded=LEGACY_RUNS) -> list:
    """Run folders in the legacy drill format: the project's own, then the
    reference's recordings (marked: they run only when present)."""
    return ([pytest.param(OWN_DRILLS / name, id=name) for name in own]
            + [pytest.param(LEGACY / name, id=name, marks=recordings) for name in recorded])


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


# the reference's render.sh format (pinned by SMOKE_BRANCH below) for the project's own
# legacy-branch drill
LEGACY_BRANCH = """\
# Depth tree

## Bedrock

- [prior-decision] (depth 4) (bedrock declared at: we chose one shared database to save money \
in 2019)
- [constraint] (depth 2) (bedrock declared at: every job rebuilds the Docker images from scratch)

## Tree

- [from-user] Why do our nightly builds take two hours?
  - [from-user] the integration tests run one after another
    - [from-user] the test database is shared, so tests cannot run in parallel
      - [from-user] we chose one shared database to save money in 2019
        - [from-user]  [BEDROCK:prior-decision] (bedrock declared at: we chose one shared \
database to save money in 2019)
  - [from-user] every job rebuilds the Docker images from scratch
    - [from-user]  [BEDROCK:constraint] (bedrock declared at: every job rebuilds the Docker \
images from scratch)
"""

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
