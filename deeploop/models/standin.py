"""A local stand-in for the Messages API, for tests and ``bench/claude_cost.py``.

It speaks the wire format of ``POST /v1/messages`` (replies written field for
field from the API reference: ``id``, ``type``, ``role``, ``model``,
``content``, ``stop_reason``, ``stop_sequence``, ``usage``) and applies the
prompt cache's prefix rules, so the usage it reports is what the API would
bill:

- the prefix is tools, then system, then messages, block by block; a block
  with ``cache_control`` is a breakpoint (at most 4);
- at each breakpoint the cache is looked up for the prefix ending there and
  at up to 20 block boundaries before it; the longest entry still alive is
  read (``cache_read_input_tokens``); the rest of the prefix up to the last
  breakpoint is written (``cache_creation_input_tokens``, split by TTL);
  tokens after the last breakpoint are ``input_tokens``;
- a prefix shorter than ``min_cacheable`` tokens is never cached; an entry
  lives ``ttl`` seconds (5 min by default, 1 h with ``"ttl": "1h"``) from its
  last use, on an injected clock.

Tokens are counted as one per four UTF-8 bytes. ``POST
/v1/messages/count_tokens`` answers ``{"input_tokens": N}`` for the same
count (free: no usage, no cache change). Served over HTTP on 127.0.0.1
(``serve``).
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

LOOKBACK = 20
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def count_tokens(value) -> int:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return max(1, len(text.encode("utf-8")) // 4)


def message(content: list[dict], *, stop_reason: str = "end_turn", model: str = "claude-sonnet-4-6",
            input_tokens: int = 0, output_tokens: int = 0, cache_write_5m: int = 0,
            cache_write_1h: int = 0, cache_read: int = 0, web_searches: int | None = None,
            msg_id: str = "msg_01XFDUDYJgAACzvnptvVoYEL") -> dict:
    """A Messages API reply, field for field."""
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens,
             "cache_creation_input_tokens": cache_write_5m + cache_write_1h,
             "cache_read_input_tokens": cache_read,
             "cache_creation": {"ephemeral_5m_input_tokens": cache_write_5m,
                                "ephemeral_1h_input_tokens": cache_write_1h},
             "service_tier": "standard"}
    if web_searches is not None:
        usage["server_tool_use"] = {"web_search_requests": web_searches,
                                    "web_fetch_requests": 0}
    return {"id": msg_id, "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop_reason, "stop_sequence": None,
            "usage": usage}


def error(status: int, kind: str, text: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": text},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}


def prefix_blocks(body: dict) -> list[tuple[object, dict | None]]:
    """(block, its cache_control) in cache order: tools, system, messages."""
    blocks = [(tool, tool.get("cache_control")) for tool in body.get("tools") or []]
    system = body.get("system")
    if isinstance(system, str):
        blocks.append((system, None))
    elif system:
        blocks += [(block, block.get("cache_control")) for block in system]
    for msg in body.get("messages") or []:
        content = msg.get("content")
        if isinstance(content, str):
            blocks.append(({"role": msg["role"], "text": content}, None))
            continue
        for block in content or []:
            blocks.append(({"role": msg["role"], **block}, block.get("cache_control")))
    return blocks


@dataclass
class PromptCache:
    """The prefix cache: hashes of prefixes ending at a block, with expiry."""
    clock: Callable[[], float] = time.monotonic
    min_cacheable: int = 1024
    entries: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (expiry, ttl)

    def usage(self, body: dict) -> dict:
        """The usage fields for a request, updating the cache as the API would."""
        blocks = prefix_blocks(body)
        keys, sizes, digest, total = [], [], hashlib.sha256(), 0
        for block, _ in blocks:
            clean = {k: v for k, v in block.items() if k != "cache_control"} \
                if isinstance(block, dict) else block
            digest.update(json.dumps(clean, sort_keys=True).encode())
            keys.append(digest.hexdigest())
            total += count_tokens(clean)
            sizes.append(total)
        marks = [i for i, (_, cc) in enumerate(blocks) if cc][:4]
        now, hit = self.clock(), -1
        for mark in marks:
            for i in range(mark, max(mark - LOOKBACK, -1), -1):
                entry = self.entries.get(keys[i])
                if entry and entry[0] > now and i > hit:
                    hit = i
                    break
        if hit >= 0:  # a read refreshes the entry
            expiry, ttl = self.entries[keys[hit]]
            self.entries[keys[hit]] = (now + ttl, ttl)
        read = sizes[hit] if hit >= 0 else 0
        written = {"5m": 0, "1h": 0}
        done = read
        for mark in marks:
            if mark <= hit or sizes[mark] < self.min_cacheable:
                continue
            ttl = blocks[mark][1].get("ttl", "5m")
            written[ttl] += sizes[mark] - done
            done = sizes[mark]
            self.entries[keys[mark]] = (now + TTL_SECONDS[ttl], TTL_SECONDS[ttl])
        return {"input_tokens": sizes[-1] - done if sizes else 0, "cache_read": read,
                "cache_write_5m": written["5m"], "cache_write_1h": written["1h"]}


Replier = Callable[[dict], "dict | tuple[int, dict, dict]"]


@dataclass
class StandIn:
    """The stand-in API. ``replier(body)`` returns the reply's ``content`` and
    ``stop_reason`` (a dict with those keys and optionally ``output_tokens``
    and ``web_searches``), or ``(status, headers, json)`` for an error."""
    replier: Replier
    cache: PromptCache = field(default_factory=PromptCache)
    requests: list[dict] = field(default_factory=list)
    replies: list[dict] = field(default_factory=list)
    counted: list[dict] = field(default_factory=list)  # count_tokens requests

    def route(self, path: str, body: dict) -> tuple[int, dict, dict]:
        """An HTTP request by its path: count_tokens, or a message."""
        if path.rstrip("/").endswith("/count_tokens"):
            return self.count(body)
        return self.handle(body)

    def count(self, body: dict) -> tuple[int, dict, dict]:
        self.counted.append(body)
        tokens = sum(count_tokens({k: v for k, v in block.items() if k != "cache_control"}
                                  if isinstance(block, dict) else block)
                     for block, _ in prefix_blocks(body))
        return 200, {}, {"input_tokens": tokens}

    def handle(self, body: dict) -> tuple[int, dict, dict]:
        self.requests.append(body)
        answer = self.replier(body)
        if isinstance(answer, tuple):
            return answer
        usage = self.cache.usage(body)
        content = answer["content"]
        out = answer.get("output_tokens") or count_tokens(content)
        reply = message(content, stop_reason=answer.get("stop_reason", "end_turn"),
                        model=body.get("model", ""), output_tokens=out,
                        web_searches=answer.get("web_searches"), **usage)
        self.replies.append(reply)
        return 200, {}, reply

    def serve(self) -> "Server":
        return Server(self)


class Server:
    """``with StandIn(...).serve() as url:`` a ThreadingHTTPServer on
    127.0.0.1 (a free port), stopped on exit."""

    def __init__(self, standin: StandIn):
        self.standin = standin
        self.httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> str:
        standin = self.standin

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status, headers, payload = standin.route(self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
