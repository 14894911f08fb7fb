"""The drill judge: scores from the tree, violations from the round."""
import json

import pytest

from deeploop.drill import judge_round, load_tree, new_tree
from deeploop.drill.judge import is_circular, question_violations, tree_score
from deeploop.drill.treefile import tree_to_json
from .drill_helpers import LEGACY, OWN_DRILLS, legacy_drills, pure_drill, recordings


@pytest.mark.parametrize("question, raw_chars, raw_lines, expected", [
    ("Why does it hold?", 17, 1, []),
    ("Why does it hold", 16, 1, ["missing-question-mark"]),
    ("Why does it hold? What evidence shows it?", 41, 1, ["compound-question"]),
    ("Why does it hold and what would make it false?", 46, 1, ["compound-question"]),
    ("Why does it hold; what made it so?", 34, 1, ["compound-question"]),
    ("Why does it hold — who chose it?", 32, 1, ["compound-question"]),
    ("Why does it hold?", 300, 3, ["preamble-leak"]),
    ("Why " + "x" * 250 + "?", 256, 1, ["preamble-leak"]),
    ("Which rule — law or contract — applies?", 40, 1, ["compound-question"]),
])
def test_question_shape(question, raw_chars, raw_lines, expected):
    assert question_violations(question, raw_chars, raw_lines) == expected


def test_quoted_claim_does_not_make_a_question_compound():
    question = "What would make “rethink — A traces back to choice X; why? and how?” false?"
    assert question_violations(question, len(question), 1) == []


def test_score_is_closed_over_leaves_to_three_decimals():
    _, _, _, tree = pure_drill(["a", "BRANCH:b", "BRANCH:c", "BEDROCK:identity"])
    assert tree_score(tree) == round(1 / 3, 3) == 0.333


@pytest.mark.parametrize("run", legacy_drills(own=["legacy-chain", "legacy-branch"],
                                             recorded=["smoke-chain"]))
def test_done_scores_one(run):
    assert tree_score(load_tree(run / "tree.json")) == 1.0
    assert tree_score(new_tree("x")) == 0.0


def judge_events(run) -> list[dict]:
    lines = (run / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["type"] == "judge_result"]


@pytest.mark.parametrize("run", legacy_drills())
def test_detail_matches_the_last_recorded_judge_event(run):
    # the legacy journals record the judge's verdict on the tree after each round
    last = judge_events(run)[-1]
    verdict = judge_round(load_tree(run / "tree.json"))
    assert verdict.detail == last["detail"] and verdict.score == last["score"]


@pytest.mark.parametrize("run", [OWN_DRILLS / "legacy-chain",
                                 pytest.param(LEGACY / "smoke-chain", marks=recordings)])
def test_detail_of_a_finished_chain(run):
    verdict = judge_round(load_tree(run / "tree.json"))
    depth = len(judge_events(run))  # a chain grows one level per round, the marker last
    assert verdict.detail == {"total_leaves": 1, "closed_leaves": 1, "max_depth": depth,
                              "cursor": None, "done": True}
    assert verdict.violations == [] and verdict.score == 1.0


@pytest.mark.parametrize("answers, run", [
    (["the integration tests run one after another",
      "BRANCH:every job rebuilds the Docker images from scratch", "BEDROCK:constraint",
      "the test database is shared, so tests cannot run in parallel",
      "we chose one shared database to save money in 2019", "BEDROCK:prior-decision"],
     "legacy-branch"),
    (["the release notes are written by hand", "BRANCH:the rota changes every week",
      "the rota tool has no calendar export"], "legacy-open")])
def test_the_hand_written_legacy_drills_are_what_the_answers_make(answers, run):
    """tests/fixtures/README.md: each round's judge event and the final tree follow
    from the answers by deeploop's own pure functions."""
    tree_json = json.loads((OWN_DRILLS / run / "tree.json").read_text(encoding="utf-8"))
    claim = tree_json["root"]["claim"]
    cursors, scores, violations, tree = pure_drill(answers, claim=claim)
    recorded = judge_events(OWN_DRILLS / run)
    assert [e["detail"]["cursor"] for e in recorded] == cursors
    assert [e["score"] for e in recorded] == scores
    assert [e["violations"] for e in recorded] == violations
    assert tree_to_json(tree) == tree_json


def test_violations_are_deduplicated_and_question_detail_recorded():
    verdict = judge_round(new_tree("x"), question="Why", raw_chars=3, raw_lines=1,
                          move_violations=("shallow-bedrock", "shallow-bedrock"))
    assert verdict.violations == ["shallow-bedrock", "missing-question-mark"]
    assert verdict.detail["question"] == "Why" and verdict.detail["raw_lines"] == 1


@pytest.mark.parametrize("claim, circular", [
    ("Checkout is slow.", True),
    ("  checkout   IS slow ", True),
    ("checkout is slow because of the CDN", False),
    ("", False),
])
def test_circular_answer_restates_an_ancestor(claim, circular):
    assert is_circular(claim, ["Why is checkout slow?", "checkout is slow"]) is circular
