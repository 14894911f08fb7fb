"""Budgets in code, not in prompts.

Every loop checks its budget each iteration, in a fixed order (rounds, wall
clock, tokens, dollars), and records what ran out. Defaults are finite: an
unattended loop always stops (without a round cap, the wall clock stops it).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from .errors import InputError
from .usage import Usage

DEFAULT_MAX_SECONDS = 6 * 3600.0
DEFAULT_MAX_TOKENS = 5_000_000
DEFAULT_MAX_USD = 10.0


@dataclass(frozen=True)
class Budget:
    """``max_rounds`` None: no round cap (the research loop counts entries
    instead); every other limit is finite."""

    max_rounds: int | None = 12
    max_seconds: float = DEFAULT_MAX_SECONDS
    max_tokens: int = DEFAULT_MAX_TOKENS
    max_usd: float = DEFAULT_MAX_USD

    def __post_init__(self):
        for name in ("max_rounds", "max_seconds", "max_tokens", "max_usd"):
            value = getattr(self, name)
            if value is None and name == "max_rounds":
                continue
            if value is None or value <= 0:
                flag = "--" + name.replace("max_rounds", "hard_cap").replace("_", "-")
                raise InputError(f"{flag} must be a positive number, got {value!r}")


@dataclass
class Spend:
    """What a loop has used so far. ``clock`` is injected for tests."""

    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    rounds: int = 0
    usage: Usage = field(default_factory=Usage)

    def __post_init__(self):
        self.started = self.clock()

    @property
    def seconds(self) -> float:
        return self.clock() - self.started

    def add(self, usage: Usage) -> None:
        self.usage = self.usage + usage


def cap_reached(budget: Budget, spend: Spend) -> bool:
    return budget.max_rounds is not None and spend.rounds >= budget.max_rounds


def budget_exhausted(budget: Budget, spend: Spend) -> str | None:
    """The first budget (after the round cap) that has run out, as a reason."""
    if spend.seconds >= budget.max_seconds:
        return f"wall-clock budget of {budget.max_seconds:g} s exhausted"
    tokens = spend.usage.total_tokens  # cached prompt tokens count too
    if tokens >= budget.max_tokens:
        return f"token budget of {budget.max_tokens} exhausted ({tokens} used)"
    if spend.usage.usd >= budget.max_usd:
        return f"dollar budget of ${budget.max_usd:g} exhausted (${spend.usage.usd:.4f} spent)"
    return None
