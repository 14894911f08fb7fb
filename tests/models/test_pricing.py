"""Prices by exact model id, every kind of token, the worst case, user prices."""
from __future__ import annotations

import json

import pytest

from deeploop.errors import InputError
from deeploop.models.pricing import (PRICES, Price, cost_usd, load_prices_file,
                                     parse_price_flag, price_for, usage_tokens, worst_case_usd)


def test_cache_and_search_rates_follow_the_published_multiples():
    sonnet = PRICES["claude-sonnet-4-6"]
    assert (sonnet.cache_write_5m, sonnet.cache_write_1h, sonnet.cache_read) == (3.75, 6.0, 0.3)
    assert PRICES["claude-opus-4-1"] == Price(15, 75, 18.75, 30, 1.5)
    assert PRICES["claude-sonnet-5-5"].cache_read == 0.10  # cut below 0.1x on its page
    tokens = {"input_tokens": 0, "output_tokens": 0, "web_searches": 3}
    assert cost_usd(sonnet, tokens) == pytest.approx(0.03)


def test_no_prefix_matching():
    with pytest.raises(InputError, match="unknown price"):
        price_for("claude-sonnet-4-6-experimental")
    with pytest.raises(InputError, match="no published price"):
        price_for("claude-mythos-preview")


def test_usage_without_a_ttl_breakdown_is_billed_at_the_default_5_minutes():
    tokens = usage_tokens({"input_tokens": 10, "output_tokens": 1,
                           "cache_creation_input_tokens": 100, "cache_read_input_tokens": 50})
    assert (tokens["cache_write_5m_tokens"], tokens["cache_write_1h_tokens"],
            tokens["cache_read_tokens"], tokens["web_searches"]) == (100, 0, 50, 0)


def test_haiku_5_5_long_prompts_are_billed_at_the_long_rates():
    haiku = PRICES["claude-haiku-5-5"]
    short = cost_usd(haiku, {"input_tokens": 100_000, "output_tokens": 1000})
    long = cost_usd(haiku, {"input_tokens": 100_001, "output_tokens": 1000})
    assert short == pytest.approx((100_000 * 0.1 + 1000 * 0.5) / 1e6)
    assert long == pytest.approx((100_001 * 0.5 + 1000 * 2.5) / 1e6)


def test_the_worst_case_prices_every_prompt_token_as_a_1h_write():
    sonnet = PRICES["claude-sonnet-4-6"]
    assert worst_case_usd(sonnet, 1000, 100, searches=2) == pytest.approx(
        (1000 * 6 + 100 * 15) / 1e6 + 0.02)


@pytest.mark.parametrize("text", ["3", "3/", "a/b", "-1/2", "1/2/3", "nan/1"])
def test_bad_price_flags_are_one_line(text):
    with pytest.raises(InputError, match="--price must be IN/OUT"):
        parse_price_flag(text)


def test_a_prices_file(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"my-model": {"input": 2, "output": 8, "cache_read": 0.1}}))
    price = load_prices_file(path)["my-model"]
    assert (price.input, price.output, price.cache_write_1h, price.cache_read) == (2, 8, 4, 0.1)
    path.write_text(json.dumps({"my-model": {"input": "cheap"}}))
    with pytest.raises(InputError, match="needs numeric input and output"):
        load_prices_file(path)
    with pytest.raises(InputError, match="cannot read prices file"):
        load_prices_file(tmp_path / "none.json")
