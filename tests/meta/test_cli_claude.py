"""``deeploop meta`` with an anthropic: analyst, end to end through
``ANTHROPIC_BASE_URL`` to the stand-in API on 127.0.0.1 (started and stopped
by each test): ``--max-usd`` kept before the call, a bad cap refused in one
line, a rejected key ending the command in one line with nothing written."""
from __future__ import annotations

import pytest

from deeploop.cli import main
from deeploop.experiment.hypotheses import HYPOTHESES_FILE
from deeploop.models.pricing import PRICES, cost_usd, usage_tokens
from deeploop.models.standin import StandIn, error

from .conftest import HEAD

MODEL = "claude-sonnet-4-6"
ANALYSIS = {"hypotheses": [{"change": f"DEPTH 4 -> {5 + i}", "expected": "lower val_bpb",
                            "confidence": "LOW", "reason": "untested"} for i in range(5)],
            "strategy": "Go deeper.", "what_worked": ["higher LR"],
            "what_did_not_work": ["wider models"], "strategy_change": ["depth first"],
            "commit_message": "depth first"}


def analysing(body):
    return {"content": [{"type": "tool_use", "id": "toolu_01", "name": "record_analysis",
                         "input": ANALYSIS}], "stop_reason": "tool_use", "output_tokens": 400}


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    path = tmp_path / "results.tsv"
    path.write_text(HEAD + "a1\t2.0\t1.0\tkeep\tbaseline\n"
                    "b2\t1.9\t1.0\tkeep\tLR 0.003 -> 0.0045\n")
    return path


def meta(standin, results, monkeypatch, capsys, *extra):
    with standin.serve() as url:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
        code = main(["meta", "--results", str(results), "--analyst", f"anthropic:{MODEL}",
                     *extra])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("cap", ["0", "-1", "nan"])
def test_a_cap_of_zero_or_less_is_refused_in_one_line(results, capsys, monkeypatch, cap):
    standin = StandIn(analysing)
    code, out, err = meta(standin, results, monkeypatch, capsys, "--max-usd", cap)
    assert code == 2 and err.count("\n") == 1 and out == ""
    assert err.startswith("deeploop meta: --max-usd must be a positive number of dollars")
    assert standin.requests == [] and not (results.parent / HYPOTHESES_FILE).exists()


def test_the_cap_is_kept_before_the_call(results, capsys, monkeypatch):
    standin = StandIn(analysing)
    code, out, err = meta(standin, results, monkeypatch, capsys, "--max-usd", "0.01")
    assert code == 0 and standin.requests == []  # it could cost more: not sent
    assert "fell back to offline" in out and "call not made" in out
    assert "could cost up to" in out and "cost: $" not in out


def test_a_call_within_the_cap_is_made_and_its_cost_printed(results, capsys, monkeypatch):
    standin = StandIn(analysing)
    code, out, err = meta(standin, results, monkeypatch, capsys, "--max-usd", "1")
    assert code == 0 and len(standin.requests) == 1, err
    assert "1. [M1.1] DEPTH 4 -> 5" in out
    usd = cost_usd(PRICES[MODEL], usage_tokens(standin.replies[0]["usage"]))
    assert f"cost: ${usd:.4f} (1 call," in out


def test_a_rejected_key_ends_meta_in_one_line_with_nothing_written(results, capsys,
                                                                   monkeypatch):
    standin = StandIn(lambda body: (401, {}, error(401, "authentication_error",
                                                   "invalid x-api-key")))
    code, out, err = meta(standin, results, monkeypatch, capsys)
    assert code == 1 and err.count("\n") == 1 and len(standin.requests) == 1
    assert err.startswith(f"deeploop meta: anthropic:{MODEL}: the API rejected the key (401)")
    assert not (results.parent / HYPOTHESES_FILE).exists()


def test_an_unknown_model_is_refused_before_any_call(results, capsys, monkeypatch):
    from deeploop.models import pricing
    monkeypatch.setattr(pricing, "_USER", {})  # --price below must not outlive the test
    standin = StandIn(analysing)
    with standin.serve() as url:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
        code = main(["meta", "--results", str(results), "--analyst",
                     "anthropic:claude-nonesuch", "--max-usd", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and standin.requests == []
    assert "unknown price for model 'claude-nonesuch'" in err
    with standin.serve() as url:  # priced by the user, it runs under the cap
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
        code = main(["meta", "--results", str(results), "--analyst",
                     "anthropic:claude-nonesuch", "--price", "3/15", "--max-usd", "1"])
    assert code == 0 and len(standin.requests) == 1


def test_a_cut_analysis_is_never_used_and_its_cost_is_kept(results, capsys, monkeypatch):
    standin = StandIn(lambda body: {"content": [{"type": "text", "text": "1. Change: DEP"}],
                                    "stop_reason": "max_tokens", "output_tokens": 8192})
    code, out, err = meta(standin, results, monkeypatch, capsys, "--max-usd", "1")
    assert code == 0 and len(standin.requests) == 1
    assert "fell back to offline" in out and "cut at max_tokens" in out
    usd = cost_usd(PRICES[MODEL], usage_tokens(standin.replies[0]["usage"]))
    assert f"cost: ${usd:.4f} (1 call," in out and "DEP\n" not in out


def test_a_paused_analysis_is_continued(results, capsys, monkeypatch):
    replies = [{"content": [{"type": "text", "text": "Reading the history."}],
                "stop_reason": "pause_turn"}]
    standin = StandIn(lambda body: replies.pop(0) if replies else analysing(body))
    code, out, err = meta(standin, results, monkeypatch, capsys)
    assert code == 0 and len(standin.requests) == 2 and "fell back" not in out
    assert standin.requests[1]["messages"][-1]["role"] == "assistant"
    assert "1. [M1.1] DEPTH 4 -> 5" in out and "(2 calls," in out
