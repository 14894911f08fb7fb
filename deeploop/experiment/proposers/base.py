"""What every proposer gets and gives.

A proposer reads a ``ProposalContext`` (train.py, program.md, the results so
far, the git log, pending meta-analysis hypotheses, the loop's history) and
returns a ``Proposal``: the whole new train.py and a one-line description,
or an ``error`` when it could not come up with one. It never writes to the
workspace itself except the ``command:`` proposer, whose external agent
works there and is cleaned up after.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from ...usage import Usage
from ..hypotheses import Hypothesis
from ..results import Results


@dataclass
class ProposalContext:
    workspace: Path
    train_py: str
    program_md: str
    results: Results
    git_log: str
    experiment: int                       # the number this proposal will get
    pending: list[Hypothesis] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)  # experiment_result events so far
    seed: int = 0


@dataclass
class Proposal:
    train_py: str | None
    description: str
    hypothesis: Hypothesis | None = None
    usage: Usage = field(default_factory=Usage)
    error: str | None = None              # set: a failed proposal, nothing to train
    attempts: int = 1
    notes: dict = field(default_factory=dict)  # proposer-specific facts for the event

    @property
    def ok(self) -> bool:
        return self.error is None and self.train_py is not None

    def to_json(self) -> dict:
        data = {"description": self.description, "attempts": self.attempts,
                "usage": self.usage.to_json()}
        if self.hypothesis is not None:
            data["hypothesis"] = self.hypothesis.to_json()
        if self.error:
            data["error"] = self.error
        data.update(self.notes)
        return data


def failed(error: str, usage: Usage | None = None, attempts: int = 1, **notes) -> Proposal:
    return Proposal(None, f"failed proposal: {error}", usage=usage or Usage(), error=error,
                    attempts=attempts, notes=notes)


@runtime_checkable
class Proposer(Protocol):
    spec: str

    def propose(self, context: ProposalContext) -> Proposal: ...
