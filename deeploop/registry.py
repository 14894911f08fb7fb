"""One registry for everything picked by a spec string ``<name>:<arg>``.

Models, mock models, proposers, analysts, questioners, synthesisers and
document sources each keep a ``Registry``: ``register(name, factory)`` adds
a kind, ``get(name, spec)`` returns its factory, and an unknown name is a
one-line InputError listing the known ones, each as it is written.
"""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

from .errors import InputError

F = TypeVar("F", bound=Callable)


def with_arg(name: str) -> str:
    return f"{name}:<...>"


class Registry(Generic[F]):
    """``what`` names the kind in messages ("proposer", "model spec");
    ``form(name)`` says how a spec of that name is written."""

    def __init__(self, what: str, form: Callable[[str], str] = with_arg):
        self.what, self.form = what, form
        self._factories: dict[str, F] = {}
        self._usage: dict[str, str] = {}

    def register(self, name: str, factory: F, usage: str = "") -> None:
        self._factories[name] = factory
        self._usage[name] = usage or self.form(name)

    def copy(self) -> "Registry[F]":
        """A private copy (a test registers a kind without others seeing it)."""
        twin = Registry(self.what, self.form)
        twin._factories, twin._usage = dict(self._factories), dict(self._usage)
        return twin

    def known(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: str) -> bool:
        return name in self._factories

    def usage(self, name: str) -> str:
        return self._usage[name]

    def listing(self) -> str:
        return ", ".join(self._usage[name] for name in self.known())

    def unknown(self, spec, listing: str | None = None) -> InputError:
        return InputError(f"unknown {self.what} {spec!r}: use one of "
                          f"{listing or self.listing()}", spec=spec)

    def get(self, name: str, spec) -> F:
        """The factory registered as ``name``; ``spec`` (as given) names it in the error."""
        if name not in self._factories:
            raise self.unknown(spec)
        return self._factories[name]
