"""The anthropic proposer continues a paused turn (``pause_turn``) by sending
the assistant content back, and pays for both calls. (The other stop reasons
of the proposer are in tests/experiment/test_llm_proposer.py; of the research,
drill and meta loops in their own Claude tests.)"""
from __future__ import annotations

from deeploop.experiment.knobs import read_knobs
from deeploop.models.standin import message
from tests.experiment.test_llm_proposer import claude_replying, context, tool_reply


def test_a_paused_proposal_is_continued_and_both_calls_are_paid():
    paused = message([{"type": "text", "text": "Looking at the results first."}],
                     stop_reason="pause_turn", input_tokens=1200, output_tokens=30)
    proposer, seen = claude_replying(paused, tool_reply())
    proposal = proposer.propose(context())
    assert proposal.ok and read_knobs(proposal.train_py)["LR"].value == 0.0045
    assert len(seen) == 2 and seen[1]["messages"][0] == seen[0]["messages"][0]
    assert seen[1]["messages"][-1] == {"role": "assistant", "content": [
        {"type": "text", "text": "Looking at the results first."}]}
    assert proposal.usage.calls == 2 and proposal.usage.output_tokens == 120
