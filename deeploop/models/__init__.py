"""Models by spec string: ``anthropic:<model>``, ``command:<cmd>``,
``mock:<name>``, ``scripted:<file>``. One registry, one way to pick."""
from __future__ import annotations

from typing import Callable

from ..errors import InputError
from .base import Completion, Model
from ..usage import Usage

_FACTORIES: dict[str, Callable[[str], Model]] = {}


def register(scheme: str, factory: Callable[[str], Model]) -> None:
    _FACTORIES[scheme] = factory


def get_model(spec: str) -> Model:
    """Build the model a spec string names, or raise a one-line InputError."""
    scheme, sep, arg = (spec or "").partition(":")
    if not sep or scheme not in _FACTORIES or not arg.strip():
        known = ", ".join(f"{s}:<...>" for s in sorted(_FACTORIES))
        raise InputError(f"unknown model spec {spec!r}: use one of {known}", spec=spec)
    return _FACTORIES[scheme](arg.strip())


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
