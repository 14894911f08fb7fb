"""Questioners: the offline ladder, model questioners, and the registry."""
import json

import pytest

from deeploop.drill import OfflineQuestioner, get_questioner
from deeploop.drill.judge import question_violations
from deeploop.drill.node import load_deeper
from deeploop.drill.questioner import LADDER, ModelQuestioner, ladder_question
from deeploop.drill.replies import EmptyReply
from deeploop.errors import InputError
from deeploop.models.base import Completion
from deeploop.usage import Usage


@pytest.mark.parametrize("depth, start", [(0, "Why does"), (1, "What evidence"),
                                          (2, "What would make"), (3, "What decision, rule"),
                                          (4, "Is “"), (9, "Is “")])
def test_ladder_rung_follows_depth(depth, start):
    chain = [f"claim {i}" for i in range(depth + 1)]
    question = ladder_question(chain, [])
    assert question.startswith(start) and question.endswith("?")
    assert f"claim {depth}" in question


def test_every_ladder_question_passes_the_judge():
    long_claim = "because " + "the cache; warms — slowly and " * 20
    for depth in range(6):
        chain = ["root"] * depth + [long_claim]
        question = ladder_question(chain, [])
        assert "\n" not in question and len(question) <= 250
        assert question_violations(question, len(question), 1) == []


def test_never_repeats_a_question_on_the_chain():
    chain = ["root", "a"]
    asked = []
    for _ in range(12):
        question = ladder_question(chain, asked)
        assert question not in asked and question.endswith("?")
        asked.append(question)
    assert {q.split("“")[0] for q in asked[:5]} == {t.split("“")[0] for t in LADDER}


def test_a_question_claim_is_asked_as_it_is():
    assert ladder_question(["Why does our checkout funnel keep regressing?"], []) == \
        "Why does our checkout funnel keep regressing?"


def test_offline_questioner_reports_its_shape():
    question = OfflineQuestioner().ask(["root"], [])
    assert (question.raw_lines, question.raw_chars) == (1, len(question.text))


class Recorder:
    """A model that records its prompts and replies with a fixed text."""

    def __init__(self, reply):
        self.spec, self.reply, self.calls = "mock:recorder", reply, []

    def complete(self, prompt, *, system=None, **context):
        self.calls.append((prompt, system))
        return Completion(self.reply, Usage(100, 20, 0.001, 1))


def test_model_questioner_sees_prompt_lessons_and_chain_only(node_dir):
    (node_dir / "BANS.md").write_text("- `compound-question` — promoted from 2 of last 5 runs\n")
    model = Recorder("Sure, here is my question:\nWhat evidence shows it?\nThanks!")
    question = ModelQuestioner(model, load_deeper()).ask(["root claim", "cause A"], [])
    prompt, system = model.calls[0]
    assert question.text == "What evidence shows it?"
    assert question.raw_lines == 3 and question.raw_chars > 40  # the judge sees the leak
    assert question_violations(question.text, question.raw_chars, question.raw_lines) == \
        ["preamble-leak"]
    assert "# deeper — the questioner" in system and "`compound-question`" in system
    assert "1. root claim\n2. cause A" in prompt
    assert question.usage.usd == 0.001


def test_model_questioner_never_sees_siblings(node_dir):
    from deeploop.drill import Drill
    model = Recorder("Why?")
    session = Drill.start("root claim", questioner=ModelQuestioner(model, load_deeper()))
    for answer in ["sibling one", "BRANCH:sibling two", "deeper under two"]:
        session.answer(answer)
    session.ask()
    last_prompt = model.calls[-1][0]
    assert "sibling two" in last_prompt and "deeper under two" in last_prompt
    assert "sibling one" not in last_prompt
    session.close()


def test_empty_model_output_raises_empty_reply():
    with pytest.raises(EmptyReply, match="returned nothing"):
        ModelQuestioner(Recorder("  \n "), load_deeper()).ask(["root"], [])


def test_registry_by_spec(tmp_path):
    node = load_deeper()
    assert get_questioner(None, node).spec == "offline"
    assert get_questioner("offline", node).spec == "offline"
    script = tmp_path / "q.txt"
    script.write_text("What evidence shows it?\n")
    assert get_questioner(f"scripted:{script}", node).spec == f"scripted:{script}"
    with pytest.raises(InputError, match="unknown questioner 'oracle'.*offline"):
        get_questioner("oracle", node)


def test_anthropic_questioner_through_the_real_client(node_dir):
    anthropic = pytest.importorskip("anthropic")
    httpx2 = pytest.importorskip("httpx2")
    from deeploop.models.anthropic import AnthropicModel
    seen = []

    def handler(request):
        body = json.loads(request.content)
        seen.append(body)
        return httpx2.Response(200, json={
            "id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
            "content": [{"type": "tool_use", "id": "toolu_01", "name": "ask_question",
                         "input": {"question": "What would make “cause A” false?"}}],
            "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": 1200, "output_tokens": 12}})

    client = anthropic.Anthropic(api_key="test",
                                 http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    model = AnthropicModel("claude-haiku-4-5", client=client)
    question = ModelQuestioner(model, load_deeper()).ask(["root", "cause A"], [])
    assert question.text == "What would make “cause A” false?"
    assert question.usage.input_tokens == 1200 and question.usage.usd > 0
    system = seen[0]["system"][0]
    assert "deeper — the questioner" in system["text"] and system["cache_control"]
    assert "2. cause A" in seen[0]["messages"][0]["content"][0]["text"]
    assert seen[0]["tool_choice"] == {"type": "tool", "name": "ask_question"}
    assert question.raw_lines == 1


def test_the_drill_ends_budget_exhausted_before_a_call_could_cross_the_cap(tmp_path, node_dir):
    anthropic = pytest.importorskip("anthropic")
    httpx2 = pytest.importorskip("httpx2")
    from deeploop.budget import Budget
    from deeploop.drill.drill import Drill
    from deeploop.models.anthropic import AnthropicModel
    seen = []

    def handler(request):
        if request.url.path.endswith("/count_tokens"):  # near the cap the prompt is counted
            return httpx2.Response(200, json={"input_tokens": 900})
        seen.append(request)
        return httpx2.Response(200, json={
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": [{"type": "tool_use", "id": "toolu_01", "name": "ask_question",
                         "input": {"question": "Why?"}}],
            "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": 900, "output_tokens": 10}})

    client = anthropic.Anthropic(api_key="t", max_retries=0,
                                 http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    questioner = ModelQuestioner(AnthropicModel("claude-haiku-4-5", client=client), load_deeper())
    session = Drill.start("We should ship on Fridays.", questioner=questioner,
                                 root=tmp_path, budget=Budget(max_rounds=5, max_usd=0.002))
    assert session.ask() is None and seen == []  # one call could cost $0.0057
    assert str(session.status) == "budget_exhausted"
    assert "could cost up to" in session.exit_reason
