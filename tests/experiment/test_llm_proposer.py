"""The anthropic proposer, offline: the SDK talks to an httpx2 MockTransport
that replays recorded-style replies (whole file, diff, malformed)."""
from __future__ import annotations

import json

import anthropic
import httpx2
import pytest

from deeploop.experiment.hypotheses import parse_hypotheses
from deeploop.experiment.knobs import read_knobs
from deeploop.experiment.proposers import ProposalContext
from deeploop.experiment.proposers.edits import ReplyError, apply_unified_diff
from deeploop.experiment.proposers.llm import LLMProposer
from deeploop.experiment.results import parse_results
from deeploop.errors import KeyRejected
from deeploop.models.anthropic import AnthropicModel
from deeploop.models.standin import error, message

from .conftest import FAKE_TRAIN

DIFF_REPLY = """I will raise the learning rate.
DESCRIPTION: LR 0.003 -> 0.0045 [H1]
```diff
--- a/train.py
+++ b/train.py
@@ -9,3 +9,3 @@
 # --- hyperparameters --------------------------------------------------
-LR = 0.003
+LR = 0.0045
 DEPTH = 4
```
"""
FILE_REPLY = "DESCRIPTION: deeper model\n```python\n" + FAKE_TRAIN.replace(
    "DEPTH = 4", "DEPTH = 6") + "```\n"


class Recording:
    """A text-only model (no tools, like command: or scripted:) replaying
    ``replies`` and keeping its prompts."""

    spec = "recording:test"

    def __init__(self, *replies):
        self.replies, self.prompts = list(replies), []

    def complete(self, prompt, *, system=None, max_tokens=None, **context):
        from deeploop.models.base import Completion
        from deeploop.usage import Usage
        self.prompts.append(prompt)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return Completion(reply, Usage(1200, 300, usd=0.0081, calls=1))


def proposer_replying(*replies):
    model = Recording(*replies)
    return LLMProposer(model), model.prompts


def tool_reply(description="LR 0.003 -> 0.0045", hypothesis="H1", edits=None,
               stop="tool_use", **usage):
    edits = [{"old": "LR = 0.003\n", "new": "LR = 0.0045\n"}] if edits is None else edits
    return message([{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9",
                     "name": "propose_change",
                     "input": {"description": description, "hypothesis": hypothesis,
                               "edits": edits}}],
                   stop_reason=stop, **({"input_tokens": 1200, "output_tokens": 90} | usage))


def claude_replying(*answers):
    """The anthropic proposer over the real SDK; ``answers`` are reply bodies
    or httpx2.Responses, in order. The request bodies are kept."""
    seen, queue = [], list(answers)

    def handler(request):
        seen.append(json.loads(request.content))
        answer = queue.pop(0)
        return answer if isinstance(answer, httpx2.Response) else httpx2.Response(200, json=answer)

    client = anthropic.Anthropic(api_key="test", max_retries=0, http_client=httpx2.Client(
        transport=httpx2.MockTransport(handler)))
    return LLMProposer(AnthropicModel("claude-sonnet-4-6", client=client)), seen


def context():
    hyps = parse_hypotheses("# Meta-Analysis — 2026-01-01 00:00:00\n1. LR 0.003 -> 0.0045\n")
    results = parse_results("commit\tval_bpb\tmemory_gb\tstatus\tdescription\n"
                            "abc1234\t2.100000\t0.5\tkeep\tbaseline\n")
    return ProposalContext(workspace=None, train_py=FAKE_TRAIN, program_md="# program\nrules",
                           results=results, git_log="abc1234 baseline", experiment=1,
                           pending=hyps)


def test_diff_reply_is_applied_and_tagged_with_its_hypothesis():
    proposer, seen = proposer_replying(DIFF_REPLY)
    proposal = proposer.propose(context())
    assert proposal.ok and proposal.description == "LR 0.003 -> 0.0045 [H1]"
    assert read_knobs(proposal.train_py)["LR"].value == 0.0045
    assert proposal.hypothesis.rank == 1 and proposal.notes == {"edit": "diff"}
    assert proposal.usage.input_tokens == 1200 and proposal.usage.usd > 0
    prompt = seen[0]
    for part in ("# program", "abc1234\t2.100000", "abc1234 baseline", "[H1] LR 0.003 -> 0.0045",
                 "DEPTH = 4", "DESCRIPTION:", "End the description with the tag of"):
        assert part in prompt


def test_whole_file_reply():
    proposer, _ = proposer_replying(FILE_REPLY)
    result = proposer.propose(context())
    assert result.ok and read_knobs(result.train_py)["DEPTH"].value == 6
    assert result.hypothesis is None


def test_malformed_reply_is_retried_once_with_the_problem():
    proposer, seen = proposer_replying("Sure! I would raise the LR.", FILE_REPLY)
    proposal = proposer.propose(context())
    assert proposal.ok and proposal.attempts == 2
    assert "could not be used: no 'DESCRIPTION" in seen[1]
    assert proposal.usage.calls == 2 and proposal.usage.input_tokens == 2400


def test_two_malformed_replies_make_a_failed_proposal():
    touches_other = DIFF_REPLY.replace("a/train.py", "a/prepare.py").replace(
        "b/train.py", "b/prepare.py")
    proposer, seen = proposer_replying("DESCRIPTION: x\nno code", touches_other)
    proposal = proposer.propose(context())
    assert not proposal.ok and len(seen) == 2
    assert proposal.error == ("malformed reply twice: the diff touches prepare.py; "
                              "only train.py may change")
    assert proposal.usage.calls == 2


def test_api_errors_become_a_failed_proposal():
    failing = httpx2.Response(500, headers={"x-should-retry": "false"},
                              json=error(500, "api_error", "boom"))
    proposer, seen = claude_replying(failing)
    proposal = proposer.propose(context())
    assert not proposal.ok and "API error 500" in proposal.error and len(seen) == 1


def test_claude_proposes_exact_replacements_through_a_forced_tool_call():
    proposer, seen = claude_replying(tool_reply())
    proposal = proposer.propose(context())
    assert proposal.ok and read_knobs(proposal.train_py)["LR"].value == 0.0045
    assert proposal.description == "LR 0.003 -> 0.0045" and proposal.hypothesis.rank == 1
    assert proposal.notes == {"edit": "replace", "edits": 1}
    body = seen[0]
    assert body["tool_choice"] == {"type": "tool", "name": "propose_change"}
    assert body["tools"][0]["input_schema"]["required"] == ["description", "hypothesis", "edits"]
    stable, header, row, changing = body["messages"][0]["content"]
    assert stable["cache_control"]["type"] == "ephemeral"
    assert "# program" in stable["text"] and "DEPTH = 4" in stable["text"]
    assert header["text"].endswith("commit\tval_bpb\tmemory_gb\tstatus\tdescription")
    assert row == {"type": "text", "text": "abc1234\t2.100000\t0.5\tkeep\tbaseline",
                   "cache_control": stable["cache_control"]}  # the second breakpoint
    assert "experiment 1" in changing["text"] and "cache_control" not in changing
    assert "(none: train.py is as shown above)" in changing["text"]


def test_kept_changes_after_the_cached_base_come_as_a_diff():
    proposer, seen = claude_replying(tool_reply(), tool_reply(
        edits=[{"old": "DEPTH = 4\n", "new": "DEPTH = 5\n"}]))
    first = proposer.propose(context())
    later = context()
    later.train_py = first.train_py  # the LR change was kept
    second = proposer.propose(later)
    assert second.ok and read_knobs(second.train_py)["LR"].value == 0.0045
    assert seen[0]["messages"][0]["content"][0] == seen[1]["messages"][0]["content"][0]
    changing = seen[1]["messages"][0]["content"][-1]["text"]
    assert "-LR = 0.003\n+LR = 0.0045" in changing


def test_a_reply_that_does_not_fit_the_schema_is_retried_once_then_failed():
    missing = tool_reply(edits=[{"old": "LR = 0.009\n", "new": "LR = 1\n"}])
    ambiguous = tool_reply(edits=[{"old": "import", "new": "import"}])
    proposer, seen = claude_replying(missing, ambiguous)
    proposal = proposer.propose(context())
    assert not proposal.ok and len(seen) == 2 and proposal.attempts == 2
    assert "its 'old' text is not in train.py" in seen[1]["messages"][0]["content"][-1]["text"]
    assert proposal.error.startswith("reply did not fit the propose_change schema twice: "
                                     "edit 1: its 'old' text occurs")
    assert proposal.usage.calls == 2 and proposal.usage.input_tokens == 2400
    proposer, _ = claude_replying(missing, tool_reply())
    assert proposer.propose(context()).ok


def test_a_refusal_is_a_failed_proposal_that_keeps_its_cost():
    proposer, seen = claude_replying(tool_reply(stop="refusal", output_tokens=40))
    proposal = proposer.propose(context())
    assert not proposal.ok and "the model refused" in proposal.error and len(seen) == 1
    assert proposal.usage.output_tokens == 40 and proposal.usage.usd > 0


def test_a_cut_reply_is_never_used_asked_for_once_more_and_paid_for():
    cut = tool_reply(stop="max_tokens", output_tokens=4000)
    proposer, seen = claude_replying(cut, tool_reply())
    proposal = proposer.propose(context())
    assert proposal.ok and proposal.attempts == 2 and proposal.usage.output_tokens == 4090
    assert "cut at max_tokens" in seen[1]["messages"][0]["content"][-1]["text"]
    proposer, seen = claude_replying(cut, cut)
    proposal = proposer.propose(context())
    assert not proposal.ok and "cut at max_tokens (4000)" in proposal.error
    assert proposal.usage.output_tokens == 8000 and proposal.usage.usd > 0.12


def test_a_rejected_key_is_not_a_failed_proposal():
    proposer, _ = claude_replying(httpx2.Response(401, json=error(
        401, "authentication_error", "invalid x-api-key")))
    with pytest.raises(KeyRejected):
        proposer.propose(context())


def test_diff_application_tolerates_wrong_line_numbers_and_rejects_mismatch():
    source = "a\nb\nc\nd\ne\n"
    diff = "@@ -40,3 +40,3 @@\n c\n-d\n+D\n e\n"
    assert apply_unified_diff(source, diff) == "a\nb\nc\nD\ne\n"
    with pytest.raises(ReplyError, match="hunk 1 of the diff does not match"):
        apply_unified_diff(source, "@@ -1,2 +1,2 @@\n x\n-y\n+z\n")
    with pytest.raises(ReplyError, match="no @@ hunks"):
        apply_unified_diff(source, "--- a/train.py\n+++ b/train.py\n")
