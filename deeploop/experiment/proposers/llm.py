"""A model writes the change: ``anthropic:<model>`` (or any Model adapter).

The model sees program.md, results.tsv, the git log, pending hypotheses and
train.py, and replies with a description plus a whole file or a unified
diff. A reply that cannot be used is retried once with the problem stated;
a second bad reply, or a model error, becomes a failed proposal that the
loop records. Usage (tokens, dollars) is summed over both calls.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import ModelError
from ...models.base import Model, Usage
from .base import Proposal, ProposalContext, failed
from .edits import ReplyError, parse_reply
from .prompt import SYSTEM, build_prompt, retry_prompt

_TAG = re.compile(r"\[H(\d+)\]")
MAX_TOKENS = 16000  # a whole train.py fits with room to spare


def tested_hypothesis(description: str, context: ProposalContext):
    match = _TAG.search(description)
    if not match:
        return None
    rank = int(match.group(1))
    return next((h for h in context.pending if h.rank == rank), None)


@dataclass
class LLMProposer:
    model: Model
    attempts: int = 2  # the first reply and one retry

    @property
    def spec(self) -> str:
        return self.model.spec

    def propose(self, context: ProposalContext) -> Proposal:
        prompt = build_prompt(context)
        usage, problem = Usage(), ""
        for attempt in range(1, self.attempts + 1):
            ask = prompt if attempt == 1 else retry_prompt(prompt, problem)
            try:
                completion = self.model.complete(ask, system=SYSTEM, max_tokens=MAX_TOKENS)
            except ModelError as exc:
                return failed(str(exc), usage, attempt)
            usage = usage + completion.usage
            try:
                edit = parse_reply(completion.text, context.train_py)
            except ReplyError as exc:
                problem = str(exc)
                continue
            return Proposal(edit.train_py, edit.description,
                            hypothesis=tested_hypothesis(edit.description, context),
                            usage=usage, attempts=attempt, notes={"edit": edit.kind})
        return failed(f"malformed reply twice: {problem}", usage, self.attempts)
