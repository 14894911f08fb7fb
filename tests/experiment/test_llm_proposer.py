"""The anthropic proposer, offline: the SDK talks to an httpx2 MockTransport
that replays recorded-style replies (whole file, diff, malformed)."""
from __future__ import annotations

import json

import anthropic
import httpx2
import pytest

from deeploop.meta.hypotheses import parse_hypotheses
from deeploop.experiment.knobs import read_knobs
from deeploop.experiment.proposers import ProposalContext
from deeploop.experiment.proposers.edits import ReplyError, apply_unified_diff
from deeploop.experiment.proposers.llm import LLMProposer
from deeploop.experiment.results import parse_results
from deeploop.models.anthropic import AnthropicModel

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


def message(text, input_tokens=1200, output_tokens=300):
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}


def proposer_replying(*replies):
    """An LLMProposer whose API calls get ``replies`` in order (a str is a
    message text, an int an HTTP error status). The requests are kept."""
    seen, queue = [], list(replies)

    def handler(request):
        seen.append(json.loads(request.content))
        reply = queue.pop(0)
        if isinstance(reply, int):
            return httpx2.Response(reply, json={"type": "error", "error": {
                "type": "api_error", "message": "boom"}})
        return httpx2.Response(200, json=message(reply))

    client = anthropic.Anthropic(api_key="test", max_retries=0, http_client=httpx2.Client(
        transport=httpx2.MockTransport(handler)))
    model = AnthropicModel("claude-sonnet-4-6", client=client, retries=1, sleep=lambda s: None)
    return LLMProposer(model), seen


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
    prompt = seen[0]["messages"][0]["content"]
    for part in ("# program", "abc1234\t2.100000", "abc1234 baseline", "[H1] LR 0.003 -> 0.0045",
                 "DEPTH = 4", "DESCRIPTION:", "End the description with the tag of"):
        assert part in prompt
    assert seen[0]["model"] == "claude-sonnet-4-6" and "system" in seen[0]


def test_whole_file_reply():
    proposer, _ = proposer_replying(FILE_REPLY)
    result = proposer.propose(context())
    assert result.ok and read_knobs(result.train_py)["DEPTH"].value == 6
    assert result.hypothesis is None


def test_malformed_reply_is_retried_once_with_the_problem():
    proposer, seen = proposer_replying("Sure! I would raise the LR.", FILE_REPLY)
    proposal = proposer.propose(context())
    assert proposal.ok and proposal.attempts == 2
    assert "could not be used: no 'DESCRIPTION" in seen[1]["messages"][0]["content"]
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
    proposer, seen = proposer_replying(500, 500)
    proposal = proposer.propose(context())
    assert not proposal.ok and "API error 500" in proposal.error and len(seen) == 2


def test_diff_application_tolerates_wrong_line_numbers_and_rejects_mismatch():
    source = "a\nb\nc\nd\ne\n"
    diff = "@@ -40,3 +40,3 @@\n c\n-d\n+D\n e\n"
    assert apply_unified_diff(source, diff) == "a\nb\nc\nD\ne\n"
    with pytest.raises(ReplyError, match="hunk 1 of the diff does not match"):
        apply_unified_diff(source, "@@ -1,2 +1,2 @@\n x\n-y\n+z\n")
    with pytest.raises(ReplyError, match="no @@ hunks"):
        apply_unified_diff(source, "--- a/train.py\n+++ b/train.py\n")
