"""The drill judge: scores from the tree, violations from the round."""
import pytest

from deeploop.drill import judge_round, load_tree, new_tree
from deeploop.drill.judge import is_circular, question_violations, tree_score
from .drill_helpers import LEGACY, pure_drill


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


def test_done_scores_one():
    assert tree_score(load_tree(LEGACY / "smoke-chain" / "tree.json")) == 1.0
    assert tree_score(new_tree("x")) == 0.0


def test_detail_matches_the_recorded_reference_events():
    # smoke-chain round 4 recorded: total 1, closed 1, max_depth 4, cursor null, done
    verdict = judge_round(load_tree(LEGACY / "smoke-chain" / "tree.json"))
    assert verdict.detail == {"total_leaves": 1, "closed_leaves": 1, "max_depth": 4,
                              "cursor": None, "done": True}
    assert verdict.violations == [] and verdict.score == 1.0


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
