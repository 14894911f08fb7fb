"""The model protocol: prompt in, text out, plus usage (tokens, dollars).

A ``Completion`` also says why the model stopped (``stop_reason``, as the
API names it; ``end_turn`` for models that do not say) and keeps the reply's
content blocks, so a caller can read a forced tool call (``tool_input``) or
the citations on text blocks (``citations``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Protocol, runtime_checkable

_EXTRA = ("cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens", "web_searches")


@dataclass
class Usage:
    input_tokens: int = 0           # uncached prompt tokens (the API's input_tokens)
    output_tokens: int = 0
    usd: float = 0.0
    calls: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    web_searches: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        summed = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        summed["usd"] = round(summed["usd"], 6)
        return Usage(**summed)

    @property
    def prompt_tokens(self) -> int:
        """Every prompt token, cached or not."""
        return (self.input_tokens + self.cache_write_5m_tokens + self.cache_write_1h_tokens
                + self.cache_read_tokens)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    def to_json(self) -> dict:
        data = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "usd": round(self.usd, 6), "calls": self.calls}
        data.update({k: getattr(self, k) for k in _EXTRA if getattr(self, k)})
        return data

    @classmethod
    def from_json(cls, data: dict | None) -> "Usage":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


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
