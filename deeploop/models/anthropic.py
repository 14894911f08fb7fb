"""Claude through the official ``anthropic`` SDK.

The API key comes from the environment only (``ANTHROPIC_API_KEY``); it is
never written anywhere. Rate limits (429), overload (529) and server errors
(5xx) are retried with exponential backoff; usage and dollar cost are
recorded per call.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import InputError, ModelError, require
from .base import Completion, Usage

# US dollars per million tokens (input, output), matched by model-name prefix.
PRICES = {
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4-0": (15.0, 75.0),
    "claude-opus-4": (5.0, 25.0),
    "claude-sonnet": (3.0, 15.0),
    "claude-haiku-4": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "claude-3-haiku": (0.25, 1.25),
}
DEFAULT_PRICE = (3.0, 15.0)
RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504, 529}


def price_usd(model: str, input_tokens: int, output_tokens: int) -> float:
    per_in, per_out = next((p for prefix, p in PRICES.items() if model.startswith(prefix)),
                           DEFAULT_PRICE)
    return round((input_tokens * per_in + output_tokens * per_out) / 1e6, 6)


def has_api_key() -> bool:
    return bool(os.environ.get("ANTHROPIC_API_KEY"))


def check_api_key(spec: str | None, flag: str) -> None:
    """Claude without a key would only fail at its first call: refuse ``spec``
    (given as ``flag``) now, before anything is created."""
    if (spec or "").startswith("anthropic:") and not has_api_key():
        raise InputError(f"{flag} {spec} needs ANTHROPIC_API_KEY in the environment")


@dataclass
class AnthropicModel:
    model: str
    client: Any = None
    max_tokens: int = 4096
    retries: int = 4
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    spec: str = field(init=False)

    def __post_init__(self):
        self.spec = f"anthropic:{self.model}"

    def _client(self):
        if self.client is None:
            sdk = require("anthropic", "anthropic")
            if not has_api_key():
                raise ModelError(f"{self.spec}: ANTHROPIC_API_KEY is not set", spec=self.spec)
            self.client = sdk.Anthropic(max_retries=0)
        return self.client

    def complete(self, prompt: str, *, system: str | None = None,
                 max_tokens: int | None = None, tools: list | None = None,
                 **context) -> Completion:
        request = {"model": self.model, "max_tokens": max_tokens or self.max_tokens,
                   "messages": [{"role": "user", "content": prompt}]}
        if system:
            request["system"] = system
        if tools:
            request["tools"] = tools
        response = self._call_with_retries(request)
        text = "".join(getattr(b, "text", "") or "" for b in response.content
                       if getattr(b, "type", "") == "text")
        usage = Usage(response.usage.input_tokens, response.usage.output_tokens,
                      price_usd(self.model, response.usage.input_tokens,
                                response.usage.output_tokens), calls=1)
        return Completion(text, usage, raw=response)

    def _call_with_retries(self, request: dict):
        import anthropic
        client = self._client()
        for attempt in range(self.retries + 1):
            try:
                return client.messages.create(**request)
            except anthropic.APIStatusError as exc:
                if exc.status_code not in RETRY_STATUSES or attempt == self.retries:
                    raise ModelError(f"{self.spec}: API error {exc.status_code}: "
                                     f"{_first_line(exc)}", spec=self.spec) from exc
            except anthropic.APIConnectionError as exc:
                if attempt == self.retries:
                    raise ModelError(f"{self.spec}: cannot reach the API: {_first_line(exc)}",
                                     spec=self.spec) from exc
            self.sleep(self.backoff * (2 ** attempt))
        raise AssertionError("unreachable")


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
