"""The anthropic analyst, offline: the SDK talks to an httpx2 MockTransport
replaying recorded-style replies, good and malformed. A reply missing a block
changes nothing of what the model said; the offline analyst stands in and
the event says so."""
from __future__ import annotations

import json
import logging

import anthropic
import httpx2
import pytest

from deeploop.meta.analysts import get_analyst
from deeploop.experiment.hypotheses import HYPOTHESES_FILE
from deeploop.meta.llm_analyst import LLMAnalyst, parse_reply
from deeploop.meta.offline_analyst import OfflineAnalyst
from deeploop.meta.program import strategy_section
from deeploop.meta.tier import analyse_run
from deeploop.models.anthropic import AnthropicModel
from deeploop.models.standin import message
from tests.experiment.conftest import FAKE_TRAIN

from .conftest import inputs_from, run_loop

HYPOTHESES = """1. Change: LR 0.003 -> 0.0045
   Expected: lower val_bpb by ~1 %
   Confidence: HIGH — every raise so far was kept
2. Change: DEPTH 4 -> 5
   Expected: lower val_bpb
   Confidence: MEDIUM — deeper helped once
3. Change: WIDTH 128 -> 96
   Expected: about the same val_bpb, faster steps
   Confidence: LOW — untested
4. Change: LR 0.003 -> 0.0045; DEPTH 4 -> 5
   Expected: lower val_bpb
   Confidence: LOW — combination of 1 and 2
5. Change: swap the linear warmdown for a cosine one
   Expected: lower val_bpb
   Confidence: LOW — a structural idea"""
GOOD = f"""Here is my analysis.
<hypotheses>
{HYPOTHESES}
</hypotheses>
<strategy>
Raise the learning rate until it stops paying, then go deeper.
</strategy>
<process_log>
**What worked:** higher LR.
**What didn't work:** wider models.
**Strategy change:** from broad search to LR first.
</process_log>
<commit_message>
learning rate first, then depth
</commit_message>
"""


class TextModel:
    """A text-only model (no tools: command:, scripted:) giving one reply, or
    failing like an API error when ``reply`` is an HTTP status."""

    spec = "anthropic:claude-sonnet-4-6"

    def __init__(self, reply, seen):
        self.reply, self.seen = reply, seen

    def complete(self, prompt, *, system=None, max_tokens=None, **context):
        from deeploop.errors import ModelError
        from deeploop.models.base import Completion
        from deeploop.usage import Usage
        self.seen.append(prompt)
        if isinstance(self.reply, int):
            raise ModelError(f"{self.spec}: API error {self.reply}: overloaded")
        return Completion(self.reply, Usage(3000, 700, usd=0.0195, calls=1))


def analyst_replying(reply):
    """An LLMAnalyst on the text path whose one call gets ``reply``."""
    seen = []
    return LLMAnalyst(TextModel(reply, seen)), seen


def tool_call(hypotheses=None, **fields):
    items = hypotheses if hypotheses is not None else [
        {"change": "LR 0.003 -> 0.0045", "expected": "lower val_bpb by ~1 %",
         "confidence": "HIGH", "reason": "every raise so far was kept"}] + [
        {"change": f"DEPTH 4 -> {5 + i}", "expected": "lower val_bpb", "confidence": "LOW",
         "reason": "untested"} for i in range(4)]
    data = {"hypotheses": items, "strategy": "Raise the learning rate first.",
            "what_worked": ["higher LR"], "what_did_not_work": ["wider models"],
            "strategy_change": ["LR first"], "commit_message": "learning rate first"} | fields
    return message([{"type": "tool_use", "id": "toolu_01", "name": "record_analysis",
                     "input": data}], stop_reason="tool_use", input_tokens=3000,
                   output_tokens=700)


def claude_replying(*bodies):
    seen, queue = [], list(bodies)

    def handler(request):
        seen.append(json.loads(request.content))
        return httpx2.Response(200, json=queue.pop(0))

    client = anthropic.Anthropic(api_key="test", max_retries=0, http_client=httpx2.Client(
        transport=httpx2.MockTransport(handler)))
    return LLMAnalyst(AnthropicModel("claude-sonnet-4-6", client=client)), seen


def test_claude_records_its_analysis_through_a_forced_tool_call():
    analyst, seen = claude_replying(tool_call())
    analysis = analyst.analyse(inputs_from(ROWS, number=3))
    assert analysis.fallback is None and analysis.hypotheses[0].changes == {"LR": 0.0045}
    assert [h.id for h in analysis.hypotheses] == ["M3.1", "M3.2", "M3.3", "M3.4", "M3.5"]
    assert analysis.worked == ["higher LR"] and analysis.commit_message == "meta: learning rate first"
    assert seen[0]["tool_choice"] == {"type": "tool", "name": "record_analysis"}
    assert analysis.usage.input_tokens == 3000 and analysis.usage.usd > 0


def test_an_analysis_that_does_not_fit_is_retried_once_then_falls_back():
    four = tool_call(hypotheses=tool_call()["content"][0]["input"]["hypotheses"][:4])
    vague = tool_call(hypotheses=[dict(h, confidence="SURE") for h in
                                  tool_call()["content"][0]["input"]["hypotheses"]])
    analyst, seen = claude_replying(four, vague)
    analysis = analyst.analyse(inputs_from(ROWS, number=1, train_py=FAKE_TRAIN))
    assert "exactly 5 items, got 4" in seen[1]["messages"][0]["content"][1]["text"]
    assert analysis.fallback == ("reply did not fit the record_analysis schema twice: "
                                 "hypothesis 1: confidence must be one of HIGH, MEDIUM, LOW, "
                                 "got 'SURE'")
    assert analysis.usage.calls == 2
    analyst, _ = claude_replying(four, tool_call())
    assert analyst.analyse(inputs_from(ROWS, number=1)).fallback is None


ROWS = ("a1\t2.100000\t0.5\tkeep\tbaseline\n"
        "b2\t2.050000\t0.5\tkeep\tLR 0.003 -> 0.0045\n"
        "c3\t2.060000\t0.5\tdiscard\tWIDTH 128 -> 160\n"
        "d4\t0.000000\t0.0\tcrash\tLR 0.0045 -> 0.02\n")


def test_a_good_reply_is_used_as_written():
    analyst, seen = analyst_replying(GOOD)
    analysis = analyst.analyse(inputs_from(ROWS, number=3))
    assert analysis.analyst == "anthropic:claude-sonnet-4-6" and analysis.fallback is None
    assert [h.id for h in analysis.hypotheses] == ["M3.1", "M3.2", "M3.3", "M3.4", "M3.5"]
    assert analysis.hypotheses[0].changes == {"LR": 0.0045}
    assert analysis.hypotheses[0].confidence == "HIGH"
    assert analysis.hypotheses[4].change == "swap the linear warmdown for a cosine one"
    assert analysis.strategy.startswith("Raise the learning rate")
    assert "**What worked:** higher LR." in analysis.narrative
    assert analysis.usage.input_tokens == 3000 and analysis.usage.usd > 0
    prompt = seen[0]
    for part in ("b2\t2.050000", "LR up: 1 of 2 kept, mean +2.38 %, 1 crashed",
                 "Crashed values: LR up to [0.02]",
                 "<hypotheses>", "<commit_message>"):
        assert part in prompt


@pytest.mark.parametrize("reply, why", [
    (GOOD.replace("<strategy>", "").replace("</strategy>", ""), "no <strategy> block"),
    (GOOD.split("<commit_message>")[0], "no <commit_message> block"),
    (GOOD.replace(HYPOTHESES, HYPOTHESES.rsplit("5. ", 1)[0]), "exactly 5"),
    (GOOD.replace("Confidence: MEDIUM — deeper helped once", "deeper helped once"),
     "Confidence: HIGH|MEDIUM|LOW"),
    ("I think you should raise the learning rate.", "no <hypotheses> block"),
    (529, "API error 529"),
])
def test_a_bad_reply_falls_back_to_offline(reply, why):
    analyst, _ = analyst_replying(reply)
    inputs = inputs_from(ROWS, number=1, train_py=FAKE_TRAIN)
    analysis = analyst.analyse(inputs)
    assert why in analysis.fallback and analysis.analyst == "anthropic:claude-sonnet-4-6"
    offline = OfflineAnalyst().analyse(inputs)
    assert analysis.hypotheses == offline.hypotheses and analysis.strategy == offline.strategy
    assert analysis.narrative is None


def test_parse_reply_keeps_ids_ours_and_commit_message_as_given():
    hyps, strategy, log, commit = parse_reply(GOOD.replace("1. Change", "1. [X9] Change"), 2)
    assert hyps[0].id == "M2.1" and commit == "learning rate first, then depth"


def test_fallback_is_recorded_in_the_run(meta_run, caplog):
    run_loop(meta_run, experiments=3, meta_interval=0)
    analyst, _ = analyst_replying(GOOD.replace("</process_log>", ""))
    with caplog.at_level(logging.WARNING, logger="deeploop.meta"):
        done = analyse_run(meta_run, analyst)
    assert done.event["analyst"] == "anthropic:claude-sonnet-4-6"
    assert done.event["fallback"] == "reply has no <process_log> block"
    assert "fell back to offline: reply has no <process_log> block" in caplog.text
    entry = (meta_run.workspace().path / "process_log.md").read_text()
    assert "**Analyst:** anthropic:claude-sonnet-4-6 (fell back to offline" in entry
    assert "higher LR" not in entry and "**What worked:**" in entry


def test_a_good_reply_is_written_to_the_workspace(meta_run):
    run_loop(meta_run, experiments=3, meta_interval=0)
    analyst, _ = analyst_replying(GOOD)
    done = analyse_run(meta_run, analyst)
    ws = meta_run.workspace()
    assert strategy_section(ws.read("program.md")) == (
        "Raise the learning rate until it stops paying, then go deeper.")
    assert ws.git("log", "-1", "--format=%s").strip() == "meta: learning rate first, then depth"
    assert "[M1.5] swap the linear warmdown" in (ws.path / HYPOTHESES_FILE).read_text()
    entry = ws.read("process_log.md")
    assert "**What worked:** higher LR." in entry and "| Experiments | 3 |" in entry
    assert done.event["fallback"] is None and done.event["usage"]["input_tokens"] == 3000


def test_registry():
    assert get_analyst(None).spec == "offline"
    assert get_analyst("anthropic:claude-haiku-4-5").spec == "anthropic:claude-haiku-4-5"
    from deeploop.errors import InputError
    with pytest.raises(InputError, match="unknown analyst 'magic'.*anthropic:<model>"):
        get_analyst("magic")
    with pytest.raises(InputError, match="needs a model"):
        get_analyst("anthropic:")
