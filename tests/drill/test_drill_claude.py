"""The drill with Claude, end to end through ``ANTHROPIC_BASE_URL`` to the
stand-in API on 127.0.0.1 (started and stopped by each test): a rejected key
ends the drill ``failed`` in one line, a reply cut at ``max_tokens`` is
never asked as a question (retried once, both calls paid), a paused turn is
continued."""
from __future__ import annotations

import json

import pytest

from deeploop.cli import main
from deeploop.models.pricing import PRICES, cost_usd, usage_tokens
from deeploop.models.standin import StandIn, error

MODEL = "claude-haiku-4-5"
ASKED = {"type": "tool_use", "id": "toolu_01", "name": "ask_question",
         "input": {"question": "What would make that false?"}}


def drill(standin, monkeypatch, capsys, *extra):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    with standin.serve() as url:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
        code = main(["drill", "We should ship on Fridays.", "--questioner",
                     f"anthropic:{MODEL}", "--no-report", "--quiet", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def outcome(runs_root) -> dict:
    [path] = (runs_root / "deeper").glob("*/outcome.json")
    return json.loads(path.read_text())


def billed(standin) -> float:
    return sum(cost_usd(PRICES[MODEL], usage_tokens(r["usage"])) for r in standin.replies)


def test_a_rejected_key_ends_the_drill_failed_in_one_line(runs_root, monkeypatch, capsys):
    standin = StandIn(lambda body: (401, {}, error(401, "authentication_error",
                                                   "invalid x-api-key")))
    code, out, err = drill(standin, monkeypatch, capsys)
    assert code == 1 and out.count("\n") == 1 and len(standin.requests) == 1  # no retry
    assert "the API rejected the key (401): invalid x-api-key; check ANTHROPIC_API_KEY" in out
    done = outcome(runs_root)
    assert done["status"] == "failed" and done["rounds"] == 0


def test_a_cut_question_is_never_asked_and_both_calls_are_paid(runs_root, monkeypatch,
                                                               capsys):
    standin = StandIn(lambda body: {"content": [{"type": "text", "text": "What woul"}],
                                    "stop_reason": "max_tokens", "output_tokens": 1024})
    code, out, err = drill(standin, monkeypatch, capsys)
    assert code == 1 and len(standin.requests) == 2  # retried once, then the drill ends
    assert "questioner failed twice in round 1" in out and "cut at max_tokens" in out
    done = outcome(runs_root)
    assert done["status"] == "failed" and done["rounds"] == 0
    assert done["usage"]["usd"] == pytest.approx(billed(standin))
    assert done["usage"]["calls"] == 2


def test_a_paused_turn_is_continued(runs_root, monkeypatch, capsys):
    replies = [{"content": [{"type": "text", "text": "Thinking about the claim."}],
                "stop_reason": "pause_turn"}, {"content": [ASKED], "stop_reason": "tool_use"}]
    standin = StandIn(lambda body: replies.pop(0) if replies else (500, {}, error(
        500, "api_error", "no more replies")))
    code, out, err = drill(standin, monkeypatch, capsys, "--hard-cap", "1")
    assert standin.requests[1]["messages"][-1] == {
        "role": "assistant", "content": [{"type": "text", "text": "Thinking about the claim."}]}
    [events] = (runs_root / "deeper").glob("*/events.jsonl")
    assert "What would make that false?" in events.read_text()  # asked, awaiting an answer
    assert len(standin.requests) == 2


def fanout(standin, monkeypatch, capsys, *extra):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    with standin.serve() as url:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
        code = main(["drill", "We should ship on Fridays.", "--fanout", "3", "--investigator",
                     f"anthropic:{MODEL}", "--hard-cap", "1", "--no-report", "--quiet",
                     *extra])
    out, err = capsys.readouterr()
    return code, out, err


def investigating(body):
    return {"content": [{"type": "text", "text": "Friday deploys failed twice in 2024 "
                                                 "because nobody was on call."}],
            "stop_reason": "end_turn", "output_tokens": 40}


def test_fanout_investigators_are_reserved_together_before_any_starts(runs_root, monkeypatch,
                                                                      capsys):
    # each investigator could cost ~$0.021 (4,096 output tokens at $5/M): one fits
    # under $0.05, three together do not, so none is started
    standin = StandIn(investigating)
    code, out, err = fanout(standin, monkeypatch, capsys, "--max-usd", "0.05")
    assert standin.requests == [] and "budget_exhausted" in out, out + err
    assert "x3 investigators" in outcome(runs_root)["exit_reason"]


def test_fanout_investigator_calls_are_charged_to_the_drill(runs_root, monkeypatch, capsys):
    standin = StandIn(investigating)
    code, out, err = fanout(standin, monkeypatch, capsys, "--max-usd", "1")
    assert len(standin.requests) == 3, out + err
    done = outcome(runs_root)
    assert done["usage"]["usd"] == pytest.approx(billed(standin))
    assert done["usage"]["calls"] == 3


def test_failed_investigator_calls_still_count(runs_root, monkeypatch, capsys):
    standin = StandIn(lambda body: {"content": [{"type": "text", "text": "Friday dep"}],
                                    "stop_reason": "max_tokens", "output_tokens": 4096})
    code, out, err = fanout(standin, monkeypatch, capsys, "--max-usd", "1")
    assert len(standin.requests) == 3, out + err  # all three failed: a blocked round
    done = outcome(runs_root)
    assert done["usage"]["usd"] == pytest.approx(billed(standin)) and billed(standin) > 0.06


def test_a_model_answerer_cut_twice_ends_failed_with_both_calls_paid(runs_root, monkeypatch,
                                                                      capsys):
    standin = StandIn(lambda body: {"content": [{"type": "text", "text": "Because"}],
                                    "stop_reason": "max_tokens", "output_tokens": 4096})
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    with standin.serve() as url:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
        code = main(["drill", "We should ship on Fridays.", "--answerer", f"anthropic:{MODEL}",
                     "--no-report", "--quiet"])
    out = capsys.readouterr().out
    assert code == 1 and len(standin.requests) == 2 and "failed twice in round 1" in out
    done = outcome(runs_root)
    assert done["usage"]["usd"] == pytest.approx(billed(standin)) and done["usage"]["calls"] == 2
