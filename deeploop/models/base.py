"""The model protocol: prompt in, text out, plus usage (tokens, dollars)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0
    calls: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(self.input_tokens + other.input_tokens,
                     self.output_tokens + other.output_tokens,
                     round(self.usd + other.usd, 6), self.calls + other.calls)

    def to_json(self) -> dict:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "usd": round(self.usd, 6), "calls": self.calls}


@dataclass
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)
    raw: Any = None  # the adapter's own response object, for callers that need more


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
