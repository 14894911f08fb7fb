import json
import sys

import anthropic
import httpx2
import pytest

from deeploop.errors import InputError, ModelError
from deeploop.models import get_model
from deeploop.models.anthropic import AnthropicModel
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


def test_anthropic_without_a_key_says_so():
    with pytest.raises(ModelError, match="ANTHROPIC_API_KEY"):
        AnthropicModel("claude-sonnet-4-6").complete("x")
