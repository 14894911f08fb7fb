"""``--verify N``: skeptics check each bedrock before it closes a branch.

Each skeptic sees the chain, the claim and the declared category, and
answers ``UPHELD`` or ``REFUTED: <the deeper claim underneath>``. Skeptics
run in parallel with a deadline; one that fails does not vote (fail open:
an unavailable skeptic never blocks a drill). When a strict majority of the
votes refute, the bedrock becomes a descent into the first refuter's deeper
claim, recorded with the violation ``bedrock-refuted``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InputError
from ..models import Model
from ..usage import Usage
from .answers import Action, Kind
from .parallel import JobResult, run_parallel
from .replies import numbered_chain

SKEPTIC_SYSTEM = """You are a skeptic in a depth-first "why" interview. Someone declared
that the active claim is bedrock: nothing deeper explains it. Check that.
Reply with exactly one line:
- UPHELD, if a further "why" would only get "because we chose to / physics / the
  law / the math / the measurement";
- REFUTED: <the deeper, contestable claim the active claim actually rests on>."""
_REFUTED = re.compile(r"^\W*refuted\s*[:\-—]\s*(.+)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class SkepticVote:
    refuted: bool
    deeper_claim: str = ""


def parse_vote(text: str) -> SkepticVote:
    """Pure: a refutation must name the deeper claim, else it upholds."""
    for line in (text or "").splitlines():
        match = _REFUTED.match(line.strip())
        if match and match.group(1).strip():
            return SkepticVote(True, " ".join(match.group(1).split()))
    return SkepticVote(False)


def bedrock_survives(votes: list[SkepticVote]) -> bool:
    """A strict majority of refutations kills the bedrock; no votes keeps it."""
    refutes = sum(1 for v in votes if v.refuted)
    return refutes * 2 <= len(votes)


@dataclass
class Verification:
    votes: list[SkepticVote]
    failed: list[JobResult]
    action: Action               # the action to apply: the bedrock, or the descent
    refuted: bool
    usage: Usage = field(default_factory=Usage)

    def to_json(self) -> dict:
        return {"votes": [{"refuted": v.refuted, "deeper_claim": v.deeper_claim}
                          for v in self.votes],
                "failed": [{"skeptic": r.name, "reason": r.status} for r in self.failed],
                "refuted": self.refuted}


@dataclass
class Verifier:
    skeptic: Model
    n: int = 3
    deadline: float = 180.0

    def __post_init__(self):
        if self.n < 1:
            raise InputError(f"--verify must be at least 1, got {self.n}")

    def prompt(self, action: Action, chain: list[str]) -> str:
        rationale = f"\nRationale given: {action.rationale}" if action.rationale else ""
        return (f"## ANCESTOR CHAIN (root → active claim)\n{numbered_chain(chain)}\n\n"
                f"## DECLARED BEDROCK\nCategory: {action.category}{rationale}\n")

    def check(self, action: Action, chain: list[str]) -> Verification:
        prompt = self.prompt(action, chain)
        model = self.skeptic
        jobs = {f"skeptic-{i}": (lambda: model.complete(prompt, system=SKEPTIC_SYSTEM))
                for i in range(1, self.n + 1)}
        results = run_parallel(jobs, self.deadline)
        votes = [parse_vote(r.text) for r in results if r.ok]
        usage = sum((r.usage for r in results), Usage())
        failed = [r for r in results if not r.ok]
        if bedrock_survives(votes):
            return Verification(votes, failed, action, False, usage)
        deeper = next(v.deeper_claim for v in votes if v.refuted)
        descent = Action(Kind.DESCEND, claim=deeper, tag="from-skeptic",
                         flags=("bedrock-refuted",))
        return Verification(votes, failed, descent, True, usage)
