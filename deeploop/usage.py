"""Usage: what model calls cost (tokens by kind, web searches, dollars, calls).

A plain record the budget, the loops and the model adapters all add up; it
lives outside ``models`` so core modules (``budget``) can count spend without
importing the model package.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

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
