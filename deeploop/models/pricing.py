"""What a Claude call costs, in US dollars, from the usage the API reports.

Prices are keyed by exact model id (no prefix matching: a dated id and its
alias are listed side by side) and cover every id the installed ``anthropic``
SDK lists in its ``ModelParam`` type, plus the older ids still served.
Checked against platform.claude.com's pricing page and the model pages on
2026-12-03. A model not in the table is refused with one line unless the
user prices it (``--price IN/OUT`` or a prices file, ``DEEPLOOP_PRICES``).

Rates are per million tokens. Cache writes cost 1.25× the input rate for
the 5-minute TTL and 2× for the 1-hour TTL; cache reads 0.1× unless the
model's page says otherwise (several 5.x models read cheaper). Web searches
cost $10 per 1,000 (``usage.server_tool_use.web_search_requests``).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

SEARCH_USD = 10.0 / 1000  # one web search request
PRICES_ENV = "DEEPLOOP_PRICES"


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens, by kind of token."""
    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float
    long_above: int | None = None          # prompts above this many tokens ...
    long: "Price | None" = None            # ... are billed at these rates

    @classmethod
    def standard(cls, input: float, output: float, read: float | None = None,
                 **extra) -> "Price":
        return cls(input, output, round(input * 1.25, 6), round(input * 2, 6),
                   round(input * 0.1, 6) if read is None else read, **extra)

    def for_prompt(self, prompt_tokens: int) -> "Price":
        if self.long is not None and self.long_above is not None \
                and prompt_tokens > self.long_above:
            return self.long
        return self

    def to_json(self) -> dict:
        return {"input": self.input, "output": self.output,
                "cache_write_5m": self.cache_write_5m, "cache_write_1h": self.cache_write_1h,
                "cache_read": self.cache_read}


_OPUS_4_5 = Price.standard(5.0, 25.0)
_OPUS_4_0 = Price.standard(15.0, 75.0)
_SONNET_4 = Price.standard(3.0, 15.0)
_HAIKU_4_5 = Price.standard(1.0, 5.0)

PRICES: dict[str, Price] = {
    "claude-fable-5-2": Price.standard(8.0, 40.0, read=0.20),
    "claude-mythos-5-2": Price.standard(8.0, 40.0, read=0.20),
    "claude-fable-5-1": Price.standard(10.0, 50.0, read=0.25),
    "claude-mythos-5-1": Price.standard(10.0, 50.0, read=0.25),
    "claude-fable-5": Price.standard(10.0, 50.0),
    "claude-mythos-5": Price.standard(10.0, 50.0),
    "claude-opus-5-5": Price.standard(4.0, 20.0, read=0.20),
    "claude-opus-5": _OPUS_4_5,
    "claude-opus-4-8": _OPUS_4_5,
    "claude-opus-4-7": _OPUS_4_5,
    "claude-opus-4-6": _OPUS_4_5,
    "claude-opus-4-5": _OPUS_4_5,
    "claude-opus-4-5-20251101": _OPUS_4_5,
    "claude-opus-4-1": _OPUS_4_0,
    "claude-opus-4-1-20250805": _OPUS_4_0,
    "claude-opus-4-0": _OPUS_4_0,
    "claude-opus-4-20250514": _OPUS_4_0,
    "claude-sonnet-5-5": Price.standard(2.0, 10.0, read=0.10),
    "claude-sonnet-5": Price.standard(2.0, 10.0),
    "claude-sonnet-4-6": _SONNET_4,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4-5-20250929": _SONNET_4,
    "claude-sonnet-4-0": _SONNET_4,
    "claude-sonnet-4-20250514": _SONNET_4,
    # Haiku 5.5 bills a prompt over 100k tokens (cache reads and writes
    # included) at five times the rates, output too.
    "claude-haiku-5-5": Price.standard(0.10, 0.50, long_above=100_000,
                                       long=Price.standard(0.50, 2.50)),
    "claude-haiku-4-5": _HAIKU_4_5,
    "claude-haiku-4-5-20251001": _HAIKU_4_5,
    "claude-3-5-haiku-20241022": Price.standard(0.80, 4.0),
    "claude-3-5-haiku-latest": Price.standard(0.80, 4.0),
    "claude-3-haiku-20240307": Price(0.25, 1.25, 0.30, 0.50, 0.03),
}
# Listed by the SDK without a published price: the user must give one.
UNPRICED = {"claude-mythos-preview": "a research preview with no published price"}

_USER: dict[str, Price] = {}


def set_price(model: str, price: Price) -> None:
    """The user's price for ``model`` (from ``--price`` or a prices file)."""
    _USER[model] = price


def parse_price_flag(text: str) -> Price:
    """``IN/OUT`` dollars per million tokens, e.g. ``3/15``."""
    parts = (text or "").split("/")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2 or not all(math.isfinite(v) and v >= 0 for v in values):
        raise InputError(f"--price must be IN/OUT dollars per million tokens (e.g. 3/15), "
                         f"got {text!r}")
    return Price.standard(*values)


def load_prices_file(path: str | Path) -> dict[str, Price]:
    """A JSON file ``{"<model id>": {"input": 3, "output": 15, ...}}``; the
    cache rates default to the standard multiples of the input rate."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read prices file {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"prices file {path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"prices file {path} must map model ids to prices")
    prices = {}
    for model, entry in data.items():
        try:
            base = Price.standard(float(entry["input"]), float(entry["output"]),
                                  read=entry.get("cache_read"))
            prices[model] = Price(base.input, base.output,
                                  float(entry.get("cache_write_5m", base.cache_write_5m)),
                                  float(entry.get("cache_write_1h", base.cache_write_1h)),
                                  float(base.cache_read))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(f"prices file {path}: {model!r} needs numeric input and output "
                             "prices per million tokens") from None
    return prices


def _env_prices() -> dict[str, Price]:
    path = os.environ.get(PRICES_ENV)
    return load_prices_file(path) if path else {}


def price_for(model: str) -> Price:
    """The price of ``model``, or a one-line InputError naming the way out."""
    found = _USER.get(model) or _env_prices().get(model) or PRICES.get(model)
    if found is not None:
        return found
    why = UNPRICED.get(model, "not in deeploop's price table")
    raise InputError(f"unknown price for model {model!r} ({why}): give it with "
                     "--price IN/OUT (dollars per million tokens) or a prices file",
                     model=model)


def _field(obj, name, default=0):
    value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return default if value is None else value


def usage_tokens(usage) -> dict[str, int]:
    """The billable counts in an API ``usage`` object (or its JSON)."""
    written = int(_field(usage, "cache_creation_input_tokens"))
    split = _field(usage, "cache_creation", None)
    if split is not None:
        w1h = int(_field(split, "ephemeral_1h_input_tokens"))
        w5m = int(_field(split, "ephemeral_5m_input_tokens"))
        w5m += max(written - w1h - w5m, 0)
    else:  # no breakdown: the API's default TTL is 5 minutes
        w1h, w5m = 0, written
    server = _field(usage, "server_tool_use", None)
    return {"input_tokens": int(_field(usage, "input_tokens")),
            "output_tokens": int(_field(usage, "output_tokens")),
            "cache_write_5m_tokens": w5m, "cache_write_1h_tokens": w1h,
            "cache_read_tokens": int(_field(usage, "cache_read_input_tokens")),
            "web_searches": int(_field(server, "web_search_requests")) if server else 0}


def cost_usd(price: Price, tokens: dict[str, int]) -> float:
    """Dollars for the counts ``usage_tokens`` returns. Pure."""
    prompt = (tokens.get("input_tokens", 0) + tokens.get("cache_write_5m_tokens", 0)
              + tokens.get("cache_write_1h_tokens", 0) + tokens.get("cache_read_tokens", 0))
    p = price.for_prompt(prompt)
    per_million = (tokens.get("input_tokens", 0) * p.input
                   + tokens.get("output_tokens", 0) * p.output
                   + tokens.get("cache_write_5m_tokens", 0) * p.cache_write_5m
                   + tokens.get("cache_write_1h_tokens", 0) * p.cache_write_1h
                   + tokens.get("cache_read_tokens", 0) * p.cache_read)
    return per_million / 1e6 + tokens.get("web_searches", 0) * SEARCH_USD


def worst_case_usd(price: Price, prompt_tokens: int, max_tokens: int,
                   searches: int = 0) -> float:
    """The most a call can cost: every prompt token at the dearest input rate
    (a 1-hour cache write), ``max_tokens`` of output and every search allowed."""
    p = price.for_prompt(prompt_tokens)
    if price.long is not None:  # output may push the prompt of a continuation over
        p = price.long if prompt_tokens + max_tokens > (price.long_above or 0) else p
    dearest_in = max(p.input, p.cache_write_5m, p.cache_write_1h, p.cache_read)
    return (prompt_tokens * dearest_in + max_tokens * p.output) / 1e6 + searches * SEARCH_USD


def estimate_tokens(text: str) -> int:
    """An upper estimate of the tokens in ``text``: one per 3 UTF-8 bytes
    (Claude's tokenizers average nearer 4 for English and code)."""
    return len(text.encode("utf-8")) // 3 + 1
