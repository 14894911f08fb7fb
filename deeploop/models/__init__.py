"""Models by spec string: ``anthropic:<model>``, ``command:<cmd>``,
``mock:<name>``, ``scripted:<file>``. One registry, one way to pick."""
from __future__ import annotations

from typing import Callable

from ..registry import Registry
from ..usage import Usage
from .base import Completion, Model

_MODELS: Registry[Callable[[str], Model]] = Registry("model spec")
register = _MODELS.register


def get_model(spec: str) -> Model:
    """Build the model a spec string names, or raise a one-line InputError."""
    scheme, sep, arg = (spec or "").partition(":")
    if not sep or not arg.strip():
        raise _MODELS.unknown(spec)
    return _MODELS.get(scheme, spec)(arg.strip())


def _anthropic(arg: str) -> Model:
    from .anthropic import AnthropicModel
    return AnthropicModel(arg)


def _command(arg: str) -> Model:
    from .command import CommandModel
    return CommandModel(arg)


def _mock(arg: str) -> Model:
    from .mock import get_mock
    return get_mock(arg)


def _scripted(arg: str) -> Model:
    from .scripted import ScriptedModel
    return ScriptedModel.from_file(arg)


register("anthropic", _anthropic)
register("command", _command)
register("mock", _mock)
register("scripted", _scripted)

__all__ = ["Completion", "Model", "Usage", "get_model", "register"]
