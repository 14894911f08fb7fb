"""The stand-in API's prompt cache follows the prefix rules the bench relies on."""
from __future__ import annotations

from deeploop.models.anthropic import build_request
from deeploop.models.standin import PromptCache

BIG = "x" * 8000  # 2,000 stand-in tokens: above the 1,024 minimum


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def request(history, ttl="5m", stable=BIG, prompt="task"):
    return build_request("m", prompt, max_tokens=10, system="sys", stable=stable,
                         history=history, cache_ttl=ttl)


def test_write_then_read_then_expire():
    clock = Clock()
    cache = PromptCache(clock=clock)
    first = cache.usage(request(["row 1"]))
    assert first["cache_read"] == 0 and first["cache_write_5m"] > 2000
    second = cache.usage(request(["row 1", "row 2"]))
    assert second["cache_read"] == first["cache_write_5m"]  # all but the new row, via lookback
    assert 0 < second["cache_write_5m"] < 20  # the new row only
    clock.now += 301
    assert cache.usage(request(["row 1", "row 2", "row 3"]))["cache_read"] == 0


def test_one_hour_ttl_and_the_minimum():
    clock = Clock()
    cache = PromptCache(clock=clock)
    assert cache.usage(request([], ttl="1h"))["cache_write_1h"] > 2000
    clock.now += 3000
    assert cache.usage(request([], ttl="1h"))["cache_read"] > 2000
    small = cache.usage(request([], stable="short"))
    assert small["cache_write_5m"] == small["cache_read"] == 0 and small["input_tokens"] > 0


def test_a_changed_prefix_misses():
    cache = PromptCache(clock=Clock())
    cache.usage(request(["row 1"]))
    assert cache.usage(request(["row 1"], stable=BIG + "!"))["cache_read"] == 0


def test_count_tokens_counts_what_the_cache_bills():
    from deeploop.models.standin import StandIn
    standin = StandIn(lambda body: {"content": [{"type": "text", "text": "ok"}]})
    body = request(["row 1"])
    status, _, counted = standin.route("/v1/messages/count_tokens", body)
    assert status == 200 and standin.requests == [] and standin.counted == [body]
    usage = standin.cache.usage(body)
    assert counted == {"input_tokens": usage["input_tokens"] + usage["cache_write_5m"]
                       + usage["cache_write_1h"] + usage["cache_read"]}
