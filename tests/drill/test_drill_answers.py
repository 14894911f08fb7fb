"""Parsing answers: what a person or model may type, and what is refused."""
import pytest

from deeploop.drill import Action, Kind, RejectedAnswer, parse_answer
from deeploop.errors import InputError


@pytest.mark.parametrize("text, category, rationale", [
    ("BEDROCK:stated-value", "stated-value", ""),
    ("  bedrock:Empirical  ", "empirical", ""),
    ("BEDROCK: constraint", "constraint", ""),
    ("BEDROCK:empirical — because we measured it in May", "empirical",
     "because we measured it in May"),
    ("BEDROCK:prior-decision: we chose Postgres in 2021", "prior-decision",
     "we chose Postgres in 2021"),
    ("BEDROCK:external-rule, PCI DSS 4.0", "external-rule", "PCI DSS 4.0"),
    ("BEDROCK:identity - pigeonhole", "identity", "pigeonhole"),
    ("BEDROCK:identity\npigeonhole principle\nno way around it", "identity",
     "pigeonhole principle\nno way around it"),
    ("BEDROCK:empirical-", "empirical", ""),
])
def test_bedrock_with_optional_rationale(text, category, rationale):
    action = parse_answer(text)
    assert (action.kind, action.category, action.rationale) == (Kind.BEDROCK, category, rationale)


@pytest.mark.parametrize("text", ["BEDROCK:nonsense", "BEDROCK:", "BEDROCK:stated value",
                                  "BEDROCK:empirical-because"])
def test_unknown_category_lists_the_six(text):
    with pytest.raises(RejectedAnswer) as err:
        parse_answer(text)
    assert err.value.violation == "invalid-bedrock-category"
    message = str(err.value)
    assert "\n" not in message
    for category in ("stated-value", "constraint", "prior-decision", "external-rule",
                     "identity", "empirical"):
        assert category in message


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_answer_is_refused(text):
    with pytest.raises(InputError, match="empty answer") as err:
        parse_answer(text)
    assert not isinstance(err.value, RejectedAnswer)  # nothing to record


def test_branch_needs_a_claim():
    assert parse_answer("BRANCH: cause B ") == Action(Kind.BRANCH, claim="cause B")
    with pytest.raises(InputError, match="empty branch"):
        parse_answer("BRANCH:   ")


@pytest.mark.parametrize("text", ["STOP", " stop ", "Stop"])
def test_stop(text):
    assert parse_answer(text).kind is Kind.STOP


def test_stop_inside_a_sentence_is_a_claim():
    assert parse_answer("we cannot stop the deploys").kind is Kind.DESCEND


@pytest.mark.parametrize("text", [
    "I think this is BEDROCK:constraint really",
    "that is BEDROCK for us",
    "so, bedrock: the law says so",
])
def test_bedrock_in_prose_is_a_flagged_claim(text):
    action = parse_answer(text)
    assert action.kind is Kind.DESCEND and action.claim == text.strip()
    assert action.flags == ("bedrock-in-prose",)


def test_plain_bedrock_word_is_not_flagged():
    assert parse_answer("we have not hit bedrock yet").flags == ()


def test_free_text_keeps_its_lines():
    assert parse_answer("  first line\nsecond line ").claim == "first line\nsecond line"


def test_tag_is_carried():
    assert parse_answer("x", tag="from-model").tag == "from-model"


@pytest.mark.parametrize("text", ["a claim", "BEDROCK:empirical — measured", "BRANCH:b", "STOP"])
def test_actions_round_trip_through_json(text):
    action = parse_answer(text)
    assert Action.from_json(action.to_json()) == action


def test_bad_recorded_action_is_an_input_error():
    with pytest.raises(InputError, match="not a recorded drill action"):
        Action.from_json({"kind": "jump"})
