import json
import sys

import anthropic
import httpx2
import pytest

from deeploop.errors import InputError, ModelError
from deeploop.models import get_model
from deeploop.models.anthropic import AnthropicModel, price_usd
from deeploop.models.mock import commit_message, lessons_in_prompt
from deeploop.models.scripted import ScriptedModel


@pytest.mark.parametrize("spec", ["", "gpt4", "openai:gpt-4", "mock:", "mock:nope", "anthropic:"])
def test_unknown_specs_are_refused_in_one_line(spec):
    with pytest.raises(InputError) as err:
        get_model(spec)
    assert "\n" not in str(err.value)


def test_command_model_pipes_prompt_and_exports_context(tmp_path):
    script = tmp_path / "model.sh"
    script.write_text('#!/bin/sh\nread line\necho "$line|$ROUND|$NODE_NAME"\n')
    script.chmod(0o755)
    model = get_model(f"command:{script}")
    assert model.complete("hello\n", round=3, node="n").text == "hello|3|n"


def test_command_model_failures(tmp_path):
    with pytest.raises(InputError, match="not found"):
        get_model("command:no-such-program-xyz")
    failing = get_model(f"command:{sys.executable} -c 'import sys; sys.exit(4)'")
    with pytest.raises(ModelError, match="exited 4"):
        failing.complete("x")
    slow = get_model(f"command:{sys.executable} -c 'import time; time.sleep(5)'")
    slow.timeout = 0.2
    with pytest.raises(ModelError, match="no answer within"):
        slow.complete("x")


def test_scripted_model_replays_then_repeats_the_last(tmp_path):
    path = tmp_path / "script.txt"
    path.write_text("one\n---\ntwo\nlines\n")
    model = get_model(f"scripted:{path}")
    assert [model.complete("p").text for _ in range(3)] == ["one", "two\nlines", "two\nlines"]
    path.write_text("a\nb\n")
    assert ScriptedModel.from_file(str(path)).outputs == ["a", "b"]
    path.write_text("\n")
    with pytest.raises(InputError, match="no outputs"):
        get_model(f"scripted:{path}")


def test_mock_commit_msg_obeys_exactly_the_lessons_in_its_prompt():
    prompt = ("rules\n\n## Accumulated lessons (BANS.md)\n- `length` — promoted\n"
              "- `no-conv-format` — promoted\n\n## Seed (locked input)\n- `verb-tense` in seed\n")
    assert lessons_in_prompt(prompt) == {"length", "no-conv-format"}
    assert get_model("mock:commit-msg").complete(prompt).text == \
        "feat(api): Added auth middleware to /api/* routes."
    assert commit_message(set()).startswith("This commit adds")


def _reply(text="feat: add x", inp=120, out=8):
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": inp, "output_tokens": out}}


def _client(handler):
    return anthropic.Anthropic(api_key="test", max_retries=0,
                               http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))


def test_anthropic_adapter_sends_the_prompt_retries_429_and_records_usage():
    requests = []

    def handler(request):
        requests.append(json.loads(request.content))
        if len(requests) == 1:
            return httpx2.Response(429, json={"type": "error", "error": {
                "type": "rate_limit_error", "message": "slow down"}})
        return httpx2.Response(200, json=_reply())

    sleeps = []
    model = AnthropicModel("claude-sonnet-4-6", client=_client(handler), sleep=sleeps.append)
    completion = model.complete("the prompt", max_tokens=300)
    assert completion.text == "feat: add x"
    assert len(requests) == 2 and sleeps == [1.0]
    assert requests[-1]["model"] == "claude-sonnet-4-6" and requests[-1]["max_tokens"] == 300
    assert requests[-1]["messages"] == [{"role": "user", "content": "the prompt"}]
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (120, 8)
    assert completion.usage.usd == price_usd("claude-sonnet-4-6", 120, 8) == 0.00048


def test_anthropic_adapter_gives_up_with_a_model_error():
    def handler(request):
        return httpx2.Response(500, json={"type": "error", "error": {
            "type": "api_error", "message": "down"}})

    model = AnthropicModel("claude-sonnet-4-6", client=_client(handler), retries=2,
                           sleep=lambda s: None)
    with pytest.raises(ModelError, match="API error 500"):
        model.complete("x")

    def bad_request(request):
        return httpx2.Response(400, json={"type": "error", "error": {
            "type": "invalid_request_error", "message": "bad"}})

    calls = []
    model = AnthropicModel("m", client=_client(lambda r: calls.append(r) or bad_request(r)),
                           sleep=lambda s: None)
    with pytest.raises(ModelError, match="400"):
        model.complete("x")
    assert len(calls) == 1  # 400 is not retried


def test_anthropic_without_a_key_says_so():
    with pytest.raises(ModelError, match="ANTHROPIC_API_KEY"):
        AnthropicModel("claude-sonnet-4-6").complete("x")
