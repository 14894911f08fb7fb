"""The Claude adapter against the real ``anthropic`` SDK over an
``httpx2.MockTransport``: every stop reason, replies split around server
tools with citations, the SDK's retries (429 with retry-after, 529, 500, a
dropped connection, a timeout), usage with cache and web-search fields, the
dollar cap and unknown models. Replies are written from the API reference."""
from __future__ import annotations

import json

import anthropic
import httpx2
import pytest

from deeploop.errors import BudgetRefused, InputError, KeyRejected, ModelError
from deeploop.models.anthropic import AnthropicModel, build_request, reply_text
from deeploop.models import pricing
from deeploop.models.pricing import PRICES
from deeploop.models.purse import Purse
from deeploop.models.standin import error, message

MODEL = "claude-sonnet-4-6"
FAST = {"retry-after-ms": "5"}  # keep the SDK's waits short


def client_for(handler, retries=2, timeout=5.0):
    return anthropic.Anthropic(api_key="test", max_retries=retries, timeout=timeout,
                               http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))


def replying(*answers, retries=2, **options):
    """A model whose calls get ``answers`` in order: a dict is a reply body,
    an httpx2.Response is sent as it is, an exception is raised. The request
    bodies are kept."""
    seen, queue = [], list(answers)

    def handler(request):
        seen.append(json.loads(request.content))
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx2.Response):
            return answer
        return httpx2.Response(200, json=answer)

    model = AnthropicModel(MODEL, client=client_for(handler, retries), **options)
    return model, seen


def text_reply(text, stop="end_turn", **usage):
    return message([{"type": "text", "text": text}], stop_reason=stop,
                   **({"input_tokens": 100, "output_tokens": 20} | usage))


def test_end_turn_reply_with_usage_and_a_stable_first_request():
    model, seen = replying(text_reply("fine"))
    done = model.complete("changing part", system="sys", stable="stable part", max_tokens=300)
    assert (done.text, done.stop_reason) == ("fine", "end_turn")
    body = seen[0]
    assert body["system"] == [{"type": "text", "text": "sys"}]
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "stable part", "cache_control": {"type": "ephemeral", "ttl": "5m"}},
        {"type": "text", "text": "changing part"}]}]
    assert done.usage.input_tokens == 100 and done.usage.usd == pytest.approx(
        (100 * 3 + 20 * 15) / 1e6)


def test_stop_sequence_and_tool_use_are_complete_replies():
    model, _ = replying(text_reply("a", stop="stop_sequence"))
    assert model.complete("x").stop_reason == "stop_sequence"
    tool = message([{"type": "text", "text": "Calling the tool."},
                    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9",
                     "name": "propose_change", "input": {"description": "d", "edits": []}}],
                   stop_reason="tool_use", input_tokens=10, output_tokens=5)
    model, seen = replying(tool)
    done = model.complete("x", tools=[{"name": "propose_change", "input_schema": {
        "type": "object"}}], tool_choice={"type": "tool", "name": "propose_change"})
    assert done.tool_input == {"description": "d", "edits": []}
    assert seen[0]["tool_choice"] == {"type": "tool", "name": "propose_change"}


def test_max_tokens_is_never_acted_on_and_its_cost_is_kept():
    model, _ = replying(text_reply("half a repl", stop="max_tokens", output_tokens=300))
    with pytest.raises(ModelError, match=r"cut at max_tokens \(300\)") as caught:
        model.complete("x", max_tokens=300)
    assert caught.value.usage.output_tokens == 300 and caught.value.usage.usd > 0


def test_a_reply_cut_by_the_context_window_is_not_used():
    model, _ = replying(text_reply("partial", stop="model_context_window_exceeded"))
    with pytest.raises(ModelError, match="cut at the model's context window"):
        model.complete("x")


def test_refusal_is_a_failure_with_the_reason():
    model, _ = replying(text_reply("I can't help with that request.", stop="refusal"))
    with pytest.raises(ModelError, match="refused: I can't help with that request."):
        model.complete("x")


def test_pause_turn_is_continued_by_sending_the_assistant_content_back():
    search = {"type": "server_tool_use", "id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE",
              "name": "web_search", "input": {"query": "bpb"}}
    paused = message([search], stop_reason="pause_turn", input_tokens=50, output_tokens=10,
                     web_searches=1)
    model, seen = replying(paused, text_reply("done", input_tokens=70, output_tokens=8))
    done = model.complete("x")
    assert done.text == "done" and done.usage.calls == 2 and done.usage.web_searches == 1
    assert seen[1]["messages"][-1] == {"role": "assistant", "content": [search]}
    assert seen[1]["messages"][0] == seen[0]["messages"][0]


def test_text_is_split_around_server_tools_and_citations_are_kept():
    cite = {"type": "web_search_result_location", "url": "https://example.org/bpb",
            "title": "Bits per byte", "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm",
            "cited_text": "bits per byte is the loss in base 2 per byte"}
    content = [
        {"type": "text", "text": "I will search."},
        {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search",
         "input": {"query": "bits per byte"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": [
            {"type": "web_search_result", "url": "https://example.org/bpb",
             "title": "Bits per byte", "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1m",
             "page_age": "April 30, 2025"}]},
        {"type": "text", "text": "Bits per byte "},
        {"type": "text", "text": "is a base-2 loss per byte", "citations": [cite]},
        {"type": "text", "text": "."},
    ]
    model, _ = replying(message(content, input_tokens=10, output_tokens=10, web_searches=1))
    done = model.complete("x")
    assert done.text == "I will search.\nBits per byte is a base-2 loss per byte."
    assert [c["url"] for c in done.citations] == ["https://example.org/bpb"]
    assert done.usage.web_searches == 1
    assert done.usage.usd == pytest.approx((10 * 3 + 10 * 15) / 1e6 + 0.01)


def test_usage_with_cache_fields_is_priced_per_kind():
    reply = text_reply("ok", input_tokens=1000, output_tokens=100, cache_write_5m=3000,
                       cache_write_1h=1000, cache_read=9000)
    model, _ = replying(reply)
    usage = model.complete("x").usage
    assert (usage.cache_write_5m_tokens, usage.cache_write_1h_tokens,
            usage.cache_read_tokens) == (3000, 1000, 9000)
    expected = (1000 * 3 + 100 * 15 + 3000 * 3.75 + 1000 * 6 + 9000 * 0.30) / 1e6
    assert usage.usd == pytest.approx(expected)  # $0.0246, not the old $0.0045


def test_429_with_retry_after_is_retried_by_the_sdk():
    limited = httpx2.Response(429, headers={"retry-after": "0.01", **FAST},
                              json=error(429, "rate_limit_error", "slow down"))
    model, seen = replying(limited, text_reply("ok"))
    assert model.complete("x").text == "ok" and len(seen) == 2


@pytest.mark.parametrize("status,kind", [(529, "overloaded_error"), (500, "api_error")])
def test_overload_and_server_errors_are_retried_then_reported_in_one_line(status, kind):
    failing = httpx2.Response(status, headers=FAST, json=error(status, kind, "Overloaded"))
    model, seen = replying(failing, failing, failing, retries=2)
    with pytest.raises(ModelError) as caught:
        model.complete("x")
    assert len(seen) == 3 and f"API error {status}" in str(caught.value)
    assert "\n" not in str(caught.value)
    model, seen = replying(failing, text_reply("ok"), retries=2)
    assert model.complete("x").text == "ok"


def test_x_should_retry_false_is_obeyed():
    failing = httpx2.Response(500, headers={"x-should-retry": "false", **FAST},
                              json=error(500, "api_error", "no"))
    model, seen = replying(failing, retries=3)
    with pytest.raises(ModelError):
        model.complete("x")
    assert len(seen) == 1


def test_connection_drop_and_timeout():
    drop = httpx2.ConnectError("connection reset by peer")
    model, seen = replying(drop, text_reply("ok"), retries=1)
    assert model.complete("x").text == "ok" and len(seen) == 2
    model, seen = replying(drop, drop, retries=1)
    with pytest.raises(ModelError, match="cannot reach the API"):
        model.complete("x")
    slow = httpx2.ReadTimeout("timed out")
    model, seen = replying(slow, slow, retries=1, timeout=0.5)
    with pytest.raises(ModelError, match=r"no answer within 0.5 s"):
        model.complete("x")


def test_a_rejected_key_is_its_own_error():
    model, _ = replying(httpx2.Response(401, json=error(401, "authentication_error",
                                                        "invalid x-api-key")))
    with pytest.raises(KeyRejected, match="rejected the key \\(401\\)"):
        model.complete("x")


def test_long_outputs_stream_and_the_streaming_value_error_is_wrapped():
    class Refusing:
        class messages:  # noqa: N801 (mimics the SDK's attribute)
            @staticmethod
            def stream(**request):
                raise ValueError("Streaming is required for operations that may take longer "
                                 "than 10 minutes.\nSee the docs")
    model = AnthropicModel(MODEL, client=Refusing())
    with pytest.raises(ModelError, match="Streaming is required") as caught:
        model.complete("x", max_tokens=64000)
    assert "\n" not in str(caught.value)


def test_the_purse_refuses_a_call_that_could_cross_the_cap():
    purse = Purse(limit_usd=0.01)
    model, seen = replying(text_reply("ok"), {"input_tokens": 8}, purse=purse)
    model.complete("x", max_tokens=100)  # worst case ~$0.0015: estimated, not counted
    assert purse.spent_usd == pytest.approx((100 * 3 + 20 * 15) / 1e6)
    with pytest.raises(BudgetRefused, match="call not made"):
        model.complete("x", max_tokens=2000)  # could cost $0.03: counted, still too much
    assert len(seen) == 2 and "max_tokens" not in seen[1] and purse.refused


def counting(count, answer):
    """A model whose count_tokens requests get ``count`` (an int, or an HTTP
    status as a Response) and whose message requests get ``answer``."""
    counts, messages = [], []

    def handler(request):
        body = json.loads(request.content)
        if request.url.path == "/v1/messages/count_tokens":
            counts.append(body)
            if isinstance(count, httpx2.Response):
                return count
            return httpx2.Response(200, json={"input_tokens": count})
        messages.append(body)
        return httpx2.Response(200, json=answer)

    return handler, counts, messages


def test_near_the_cap_the_prompt_is_counted_not_estimated():
    prompt = "x" * 30_000  # estimated 10,001 tokens: $0.06 at the 1 h write rate, too much
    handler, counts, messages = counting(2_000, text_reply("ok"))
    purse = Purse(limit_usd=0.03)
    model = AnthropicModel(MODEL, client=client_for(handler), purse=purse)
    assert model.complete(prompt, system="sys", max_tokens=100).text == "ok"
    assert len(counts) == 1 and len(messages) == 1  # counted 2,000: $0.0135 fits
    assert counts[0]["model"] == MODEL and counts[0]["system"] == messages[0]["system"]
    assert counts[0]["messages"] == messages[0]["messages"] and "max_tokens" not in counts[0]


def test_a_count_above_the_estimate_refuses_the_call():
    handler, counts, messages = counting(5_000, text_reply("ok"))
    purse = Purse(limit_usd=0.01)
    model = AnthropicModel(MODEL, client=client_for(handler), purse=purse)
    with pytest.raises(BudgetRefused, match="could cost up to \\$0.0315"):
        model.complete("x" * 3_000, max_tokens=100)  # estimated $0.0075 would fit
    assert len(counts) == 1 and messages == []


def test_a_failed_count_falls_back_to_the_estimate():
    failed = httpx2.Response(500, json=error(500, "api_error", "Internal server error"))
    handler, counts, messages = counting(failed, text_reply("ok"))
    model = AnthropicModel(MODEL, client=client_for(handler, retries=2),
                           purse=Purse(limit_usd=0.01))
    assert model.complete("x" * 3_000, max_tokens=100).text == "ok"  # estimated $0.0075
    assert len(counts) == 1 and len(messages) == 1  # the count is not retried


def test_far_from_the_cap_nothing_is_counted():
    handler, counts, messages = counting(10, text_reply("ok"))
    model = AnthropicModel(MODEL, client=client_for(handler), purse=Purse(limit_usd=10))
    model.complete("x" * 3_000, max_tokens=100)
    assert counts == [] and len(messages) == 1


def test_unknown_model_is_refused_in_one_line_unless_priced(monkeypatch):
    monkeypatch.setattr(pricing, "_USER", {})  # the price set below must not outlive the test
    with pytest.raises(InputError, match="unknown price for model 'claude-nonesuch'.*--price"):
        AnthropicModel("claude-nonesuch")
    from deeploop.models.pricing import parse_price_flag, set_price
    set_price("claude-nonesuch", parse_price_flag("2/8"))
    assert AnthropicModel("claude-nonesuch").price.output == 8


def test_every_model_the_sdk_lists_is_priced_or_named_unpriced():
    import typing
    from anthropic.types.model_param import ModelParam
    from deeploop.models.pricing import UNPRICED
    literal = next(a for a in typing.get_args(ModelParam) if typing.get_origin(a) is
                   typing.Literal)
    missing = [m for m in typing.get_args(literal) if m not in PRICES and m not in UNPRICED]
    assert missing == []
    assert PRICES["claude-opus-4-20250514"].input == 15.0  # not Opus 4.5's $5


def test_reply_text_and_request_layout_are_pure():
    assert reply_text([{"type": "text", "text": "a"}, {"type": "tool_use"},
                       {"type": "text", "text": "b"}]) == "a\nb"
    request = build_request("m", "p", max_tokens=5, system="s", cache_ttl="1h")
    assert request["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert build_request("m", "p", max_tokens=5, cache_ttl=None)["messages"][0]["content"] == [
        {"type": "text", "text": "p"}]
