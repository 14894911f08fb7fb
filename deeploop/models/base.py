"""The model protocol: prompt in, text out, plus usage (tokens, dollars).

A ``Completion`` also says why the model stopped (``stop_reason``, as the
API names it; ``end_turn`` for models that do not say) and keeps the reply's
content blocks, so a caller can read a forced tool call (``tool_input``) or
the citations on text blocks (``citations``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..usage import Usage


@dataclass
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)
    raw: Any = None  # the adapter's own response object, for callers that need more
    stop_reason: str = "end_turn"
    content: list = field(default_factory=list)  # the reply's content blocks, as dicts

    @property
    def tool_input(self) -> dict | None:
        """The input of the reply's (last) client tool call, or None."""
        calls = [b for b in self.content if b.get("type") == "tool_use"]
        return calls[-1].get("input") if calls else None

    @property
    def citations(self) -> list[dict]:
        """Every citation on the reply's text blocks, in order."""
        return [c for b in self.content if b.get("type") == "text"
                for c in (b.get("citations") or [])]


@runtime_checkable
class Model(Protocol):
    """Anything with a spec string and ``complete``.

    ``context`` carries optional facts about the call (node, run id, round,
    file paths) that some adapters use: the command adapter exports them as
    environment variables, the way the reference harness did.
    """

    spec: str

    def complete(self, prompt: str, *, system: str | None = None,
                 max_tokens: int | None = None, **context) -> Completion: ...
