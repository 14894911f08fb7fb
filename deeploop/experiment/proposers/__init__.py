"""Proposers by spec string: ``offline`` (default), ``anthropic:<model>``,
``command:<cmd>``. A small registry: ``register(name, factory)`` where the
factory takes the text after the colon (possibly empty)."""
from __future__ import annotations

from typing import Callable

from ...errors import InputError
from ...registry import Registry, with_arg
from .base import Proposal, ProposalContext, Proposer, failed

_PROPOSERS: Registry[Callable[[str], Proposer]] = Registry(
    "proposer", lambda name: name if name == "offline" else with_arg(name))
register, known = _PROPOSERS.register, _PROPOSERS.known


def get_proposer(spec: str | None) -> Proposer:
    """The proposer a spec names; unknown names list the known ones."""
    name, _, arg = (spec or "offline").partition(":")
    return _PROPOSERS.get(name, spec)(arg.strip())


def _offline(arg: str) -> Proposer:
    from .offline import OfflineProposer
    return OfflineProposer(seed=int(arg) if arg.isdigit() else 0)


def _anthropic(arg: str) -> Proposer:
    if not arg:
        raise InputError("proposer anthropic:<model> needs a model, "
                         "e.g. anthropic:claude-sonnet-4-6")
    from .llm import LLMProposer
    from ...models.anthropic import AnthropicModel
    # an experiment step (training included) may outlast 5 minutes: cache for an hour
    return LLMProposer(AnthropicModel(arg, cache_ttl="1h"))


def _command(arg: str) -> Proposer:
    if not arg:
        raise InputError("proposer command:<cmd> needs a command, e.g. 'command:claude -p'")
    from .command import CommandProposer
    return CommandProposer(arg)


register("offline", _offline)
register("anthropic", _anthropic)
register("command", _command)

__all__ = ["Proposal", "ProposalContext", "Proposer", "failed", "get_proposer", "known",
           "register"]
