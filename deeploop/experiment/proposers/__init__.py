"""Proposers by spec string: ``offline`` (default), ``anthropic:<model>``,
``command:<cmd>``. A small registry: ``register(name, factory)`` where the
factory takes the text after the colon (possibly empty)."""
from __future__ import annotations

from typing import Callable

from ...errors import InputError
from .base import Proposal, ProposalContext, Proposer, failed

_FACTORIES: dict[str, Callable[[str], Proposer]] = {}


def register(name: str, factory: Callable[[str], Proposer]) -> None:
    _FACTORIES[name] = factory


def known() -> list[str]:
    return sorted(_FACTORIES)


def get_proposer(spec: str | None) -> Proposer:
    """The proposer a spec names; unknown names list the known ones."""
    name, _, arg = (spec or "offline").partition(":")
    if name not in _FACTORIES:
        raise InputError(f"unknown proposer {spec!r}: use one of "
                         + ", ".join(f"{n}:<...>" if n != "offline" else n for n in known()))
    return _FACTORIES[name](arg.strip())


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
