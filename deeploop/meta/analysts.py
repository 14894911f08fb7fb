"""Analysts by spec string: ``offline`` (default, statistics) and
``anthropic:<model>`` (Claude, falling back to offline on a bad reply).

A small registry like the proposers': ``register(name, factory)`` where the
factory takes the text after the colon. Every analyst turns ``MetaInputs``
into an ``Analysis``: five hypotheses, the new strategy section, the
process-log findings and a commit message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol, runtime_checkable

from ..errors import InputError
from ..experiment.hypotheses import Hypothesis
from ..models.anthropic import AnthropicModel
from ..registry import Registry
from ..usage import Usage
from .inputs import MetaInputs


@dataclass
class Analysis:
    hypotheses: list[Hypothesis]     # exactly five, ranked
    strategy: str                    # body of program.md's "Current Strategy"
    worked: list[str]
    didnt: list[str]
    change: list[str]                # what the strategy change is and why
    commit_message: str              # starts "meta:"
    analyst: str                     # the spec that was asked
    fallback: str | None = None      # why the offline analyst stood in, if it did
    narrative: str | None = None     # a model's own process-log text
    usage: Usage = field(default_factory=Usage)


@runtime_checkable
class Analyst(Protocol):
    spec: str

    def analyse(self, inputs: MetaInputs) -> Analysis: ...


_ANALYSTS: Registry[Callable[[str], Analyst]] = Registry(
    "analyst", lambda name: name if name == "offline" else f"{name}:<model>")
register, known = _ANALYSTS.register, _ANALYSTS.known


def get_analyst(spec: str | None) -> Analyst:
    name, _, arg = (spec or "offline").partition(":")
    return _ANALYSTS.get(name, spec)(arg.strip())


# The analysts are imported when asked for: they import Analysis from here.
def _offline(arg: str) -> Analyst:
    from .offline_analyst import OfflineAnalyst
    return OfflineAnalyst()


def _anthropic(arg: str) -> Analyst:
    if not arg:
        raise InputError("analyst anthropic:<model> needs a model, "
                         "e.g. anthropic:claude-sonnet-4-6")
    from .llm_analyst import LLMAnalyst
    return LLMAnalyst(AnthropicModel(arg))


register("offline", _offline)
register("anthropic", _anthropic)
