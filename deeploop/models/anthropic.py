"""Claude through the official ``anthropic`` SDK.

The API key comes from the environment only (``ANTHROPIC_API_KEY``); it is
never written anywhere. Retries are the SDK's own (``max_retries``: 408,
409, 429, 5xx and dropped connections, honouring ``retry-after`` and
``x-should-retry``, with jitter), every request has an explicit timeout,
and a reply longer than ``STREAM_ABOVE`` tokens is streamed. Every SDK
failure becomes a one-line ``ModelError``.

Replies are read by their ``stop_reason``: ``end_turn``, ``stop_sequence``
and ``tool_use`` are complete; ``pause_turn`` (a server tool paused a long
turn) is continued by sending the assistant content back; ``max_tokens``
and ``model_context_window_exceeded`` raise a ModelError saying the reply
was cut (never acted on); ``refusal`` raises ``ModelError`` with the reason.

Prompts are laid out stable-first for the prompt cache: tools, system, then
the ``stable`` text (program.md, train.py, the lessons ...) with a cache
breakpoint, then ``history`` (append-only blocks such as results rows, one
block each, a second breakpoint on the last so the next call reads all but
the newest from the cache), then the part that changes from call to call.

Before each call the worst case is reserved against the loop's ``Purse``:
the prompt's tokens at the dearest input rate plus ``max_tokens`` of output.
The prompt is estimated (one token per 3 bytes, an over-estimate for text
and code); when that estimate would take more than half of what is left
under the cap, the prompt is counted instead by the API's free
``messages.count_tokens`` (so a call the estimate would wrongly refuse is
made, and one it would wrongly allow is not); a count that fails falls back
to the estimate. After the call, what the usage fields cost (``pricing``)
is charged.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, KeyRejected, ModelError, require
from .base import Completion
from ..usage import Usage
from .pricing import Price, cost_usd, estimate_tokens, price_for, usage_tokens, worst_case_usd
from .purse import Purse

STREAM_ABOVE = 8192       # replies that may be longer are streamed
DEFAULT_TIMEOUT = 600.0   # seconds per request attempt
COMPLETE_STOPS = ("end_turn", "stop_sequence", "tool_use")


def has_api_key() -> bool:
    return bool(os.environ.get("ANTHROPIC_API_KEY"))


def check_api_key(spec: str | None, flag: str) -> None:
    """Claude without a key, or at an unknown price, would only fail at its
    first call: refuse ``spec`` (given as ``flag``) now, before anything is
    created."""
    if not (spec or "").startswith("anthropic:"):
        return
    model = spec.partition(":")[2].strip()
    if model:
        price_for(model)  # an unknown model without a user price: one line
    if not has_api_key():
        raise InputError(f"{flag} {spec} needs ANTHROPIC_API_KEY in the environment")


def cache_control(ttl: str | None) -> dict | None:
    if ttl is None:
        return None
    return {"type": "ephemeral", "ttl": ttl}


def build_request(model: str, prompt: str, *, max_tokens: int, system: str | None = None,
                  stable: str | None = None, history: list[str] | None = None,
                  tools: list | None = None, tool_choice: dict | None = None,
                  cache_ttl: str | None = "5m", turns: list[dict] | None = None) -> dict:
    """The Messages request, stable first: tools, system, the stable text
    (where the cache breakpoint goes), then the changing prompt; ``turns``
    (later assistant and user messages, e.g. a reply and a follow-up asking
    for a tool call) come after the first user message. Pure."""
    mark = cache_control(cache_ttl)
    request: dict = {"model": model, "max_tokens": max_tokens}
    if tools:
        request["tools"] = tools
    if tool_choice:
        request["tool_choice"] = tool_choice
    if system:
        block = {"type": "text", "text": system}
        if mark and not stable:
            block["cache_control"] = mark
        request["system"] = [block]
    content = []
    if stable:
        block = {"type": "text", "text": stable}
        if mark:
            block["cache_control"] = mark
        content.append(block)
    history = [h for h in history or [] if h]
    content += [{"type": "text", "text": h} for h in history]
    if history and mark:
        content[-1]["cache_control"] = mark
    content.append({"type": "text", "text": prompt})
    request["messages"] = [{"role": "user", "content": content}, *(turns or [])]
    return request


def block_dict(block) -> dict:
    if isinstance(block, dict):
        return block
    return block.model_dump(mode="json", exclude_none=True)


def reply_text(blocks: list[dict]) -> str:
    """The text of a reply. Adjacent text blocks are one passage the API split
    at citation boundaries, so they join as they are; passages separated by
    other blocks (a search, its results) join with a newline."""
    passages, current, in_text = [], [], False
    for block in blocks:
        if block.get("type") == "text":
            current.append(block.get("text") or "")
            in_text = True
        elif in_text:
            passages.append("".join(current))
            current, in_text = [], False
    if current:
        passages.append("".join(current))
    return "\n".join(p.strip("\n") for p in passages if p.strip())


def _api_message(exc) -> str:
    """The API's own error message (``error.message`` of the body), else the
    SDK's text, on one line."""
    body = getattr(exc, "body", None)
    said = body.get("error", {}).get("message") if isinstance(body, dict) else None
    return " ".join(said.split())[:200] if isinstance(said, str) and said.strip() \
        else _one_line(exc)


def _one_line(exc: BaseException) -> str:
    return " ".join((str(exc) or type(exc).__name__).split())[:200]


@dataclass
class AnthropicModel:
    supports_tools = True  # forced tool calls with a JSON schema (structured replies)

    model: str
    client: Any = None
    max_tokens: int = 4096
    max_retries: int = 4
    timeout: float = DEFAULT_TIMEOUT
    cache_ttl: str | None = "5m"     # None: ask for no caching
    max_pauses: int = 4              # pause_turn continuations per call
    purse: Purse | None = None
    spec: str = field(init=False)
    price: Price = field(init=False)

    def __post_init__(self):
        self.spec = f"anthropic:{self.model}"
        self.price = price_for(self.model)

    def _client(self):
        if self.client is None:
            sdk = require("anthropic", "anthropic")
            if not has_api_key():
                raise ModelError(f"{self.spec}: ANTHROPIC_API_KEY is not set", spec=self.spec)
            self.client = sdk.Anthropic(max_retries=self.max_retries, timeout=self.timeout)
            self._made_client = True
        return self.client

    def __getstate__(self):
        """Pickled (a drill fanout's job process), a client this model made
        is left behind and made again there; one it was given travels."""
        state = dict(self.__dict__)
        if state.pop("_made_client", False):
            state["client"] = None
        return state

    def complete(self, prompt: str, *, system: str | None = None,
                 max_tokens: int | None = None, tools: list | None = None,
                 tool_choice: dict | None = None, stable: str | None = None,
                 history: list[str] | None = None, turns: list[dict] | None = None,
                 **context) -> Completion:
        request = build_request(self.model, prompt, max_tokens=max_tokens or self.max_tokens,
                                system=system, stable=stable, history=history, tools=tools,
                                tool_choice=tool_choice, cache_ttl=self.cache_ttl, turns=turns)
        usage, blocks, asked = Usage(), [], request["messages"]
        for _ in range(self.max_pauses + 1):
            response = self._call(request, usage)
            usage = usage + self._usage(response)
            blocks += [block_dict(b) for b in response.content]
            stop = response.stop_reason or "end_turn"
            if stop != "pause_turn":
                break
            # the server paused a long turn: send what it wrote back to resume it
            request = dict(request, messages=asked + [{"role": "assistant", "content": blocks}])
        else:
            raise ModelError(f"{self.spec}: the turn was still paused after "
                             f"{self.max_pauses} continuations", spec=self.spec, usage=usage)
        self._check_stop(stop, blocks, request["max_tokens"], usage)
        return Completion(reply_text(blocks), usage, raw=response, stop_reason=stop,
                          content=blocks)

    def _check_stop(self, stop: str, blocks: list[dict], max_tokens: int, usage: Usage) -> None:
        if stop in COMPLETE_STOPS:
            return
        if stop == "refusal":
            said = reply_text(blocks)
            raise ModelError(f"{self.spec}: the model refused"
                             + (f": {said.splitlines()[0][:160]}" if said else ""),
                             spec=self.spec, usage=usage, stop_reason=stop)
        if stop == "max_tokens":
            raise ModelError(f"{self.spec}: the reply was cut at max_tokens ({max_tokens}) "
                             "and was not used", spec=self.spec, usage=usage, stop_reason=stop)
        if stop == "model_context_window_exceeded":
            raise ModelError(f"{self.spec}: the reply was cut at the model's context window "
                             "and was not used", spec=self.spec, usage=usage, stop_reason=stop)
        raise ModelError(f"{self.spec}: unknown stop_reason {stop!r}: reply not used",
                         spec=self.spec, usage=usage, stop_reason=stop)

    def _usage(self, response) -> Usage:
        tokens = usage_tokens(response.usage)
        usage = Usage(usd=round(cost_usd(self.price, tokens), 6), calls=1, **tokens)
        if self.purse is not None:
            self.purse.charge(usage.usd, self.spec, usage)
        return usage

    def worst_case(self, request: dict, tokens: int | None = None) -> float:
        """The most ``request`` can cost, its prompt ``tokens`` counted or
        (by default) estimated."""
        if tokens is None:
            text = json.dumps({k: request.get(k) for k in ("tools", "system", "messages")})
            tokens = estimate_tokens(text)
        searches = sum(int(t.get("max_uses") or 0) for t in request.get("tools") or []
                       if str(t.get("type", "")).startswith("web_search"))
        return worst_case_usd(self.price, tokens, request["max_tokens"], searches)

    def count_tokens(self, request: dict) -> int | None:
        """The prompt's tokens as the API counts them (``messages.count_tokens``,
        free, no retries), or None when counting fails."""
        asked = {k: request[k] for k in ("model", "messages", "system", "tools", "tool_choice")
                 if k in request}
        try:
            client = self._client().with_options(max_retries=0)
            counted = client.messages.count_tokens(**asked, timeout=min(self.timeout, 30.0))
            tokens = int(counted.input_tokens)
        except Exception:  # noqa: BLE001 (any failure: the estimate stands)
            return None
        return tokens if tokens > 0 else None

    def reserve(self, request: dict) -> None:
        """Reserve the call's worst case against the purse (BudgetRefused when
        it could cross the cap): estimated, or counted when it matters."""
        purse, worst = self.purse, self.worst_case(request)
        if worst > (purse.limit_usd - purse.spent_usd) / 2:
            counted = self.count_tokens(request)
            if counted is not None:
                worst = self.worst_case(request, counted)
        purse.reserve(worst, self.spec)

    def _call(self, request: dict, usage: Usage):
        """One API call (the SDK retrying what is worth retrying); every
        failure as a one-line ModelError carrying the usage so far."""
        if self.purse is not None:
            try:
                self.reserve(request)
            except ModelError as exc:
                exc.usage = usage
                raise
        import anthropic
        client = self._client()
        try:
            if request["max_tokens"] > STREAM_ABOVE:
                with client.messages.stream(**request, timeout=self.timeout) as stream:
                    return stream.get_final_message()
            return client.messages.create(**request, timeout=self.timeout)
        except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
            raise KeyRejected(f"{self.spec}: the API rejected the key ({exc.status_code}): "
                              f"{_api_message(exc)}; check ANTHROPIC_API_KEY",
                              spec=self.spec, usage=usage) from None
        except anthropic.APIStatusError as exc:
            raise ModelError(f"{self.spec}: API error {exc.status_code}: {_one_line(exc)}",
                             spec=self.spec, usage=usage) from None
        except anthropic.APITimeoutError:
            raise ModelError(f"{self.spec}: no answer within {self.timeout:g} s "
                             "(after the SDK's retries)", spec=self.spec, usage=usage) from None
        except anthropic.APIConnectionError as exc:
            raise ModelError(f"{self.spec}: cannot reach the API: {_one_line(exc)}",
                             spec=self.spec, usage=usage) from None
        except (anthropic.AnthropicError, ValueError) as exc:
            raise ModelError(f"{self.spec}: {_one_line(exc)}", spec=self.spec,
                             usage=usage) from None
