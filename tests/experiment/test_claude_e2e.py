"""End to end through ``ANTHROPIC_BASE_URL``: `deeploop experiment run` with
the anthropic proposer against the stand-in API on 127.0.0.1, started and
stopped by each test. The dollar cap is kept before each call; a rejected
key ends the run failed with one line."""
from __future__ import annotations

import json

import pytest

from deeploop.cli import main
from deeploop.experiment.results import read_results
from deeploop.models.pricing import PRICES, cost_usd, usage_tokens
from deeploop.models.standin import StandIn, error

from .conftest import install_trainer

MODEL = "claude-sonnet-4-6"


def proposing(body):
    """Claude's reply: one exact replacement that always applies."""
    n = sum(1 for m in body["messages"] for _ in m["content"])
    return {"content": [{"type": "tool_use", "id": f"toolu_{n}", "name": "propose_change",
                         "input": {"description": f"note try {n}", "hypothesis": "",
                                   "edits": [{"old": 'MODE = "ok"',
                                              "new": f'MODE = "ok"  # try {n}'}]}}],
            "stop_reason": "tool_use", "output_tokens": 60}


@pytest.fixture
def claude_run(runs_root, corpus_file, monkeypatch):
    from deeploop.experiment.rundir import init_run
    run = init_run("claude", str(corpus_file))
    install_trainer(run)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    return run


def run_against(standin, capsys, monkeypatch, *extra):
    with standin.serve() as url:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
        code = main(["experiment", "run", "--tag", "claude", "--resume", "--experiments", "30",
                     "--budget", "5", "--no-progress", "--no-report", "--no-warm-start",
                     "--proposer", f"anthropic:{MODEL}", *extra])
    _, err = capsys.readouterr()
    return code, err


def test_the_dollar_cap_is_kept_before_each_call(claude_run, capsys, monkeypatch):
    standin = StandIn(proposing)
    code, err = run_against(standin, capsys, monkeypatch, "--max-usd", "0.1")
    outcome = json.loads((claude_run.path / "outcome.json").read_text())
    assert outcome["status"] == "budget_exhausted" and code == 0, err
    billed = [cost_usd(PRICES[MODEL], usage_tokens(r["usage"])) for r in standin.replies]
    assert 2 <= len(billed) < 30  # some calls made, then one refused before it was sent
    assert outcome["usd"] == pytest.approx(sum(billed), abs=1e-6) and outcome["usd"] <= 0.1
    events = [json.loads(line) for line in claude_run.events_path.read_text().splitlines()]
    last = [e for e in events if e["type"] == "experiment_result"][-1]
    assert "call not made" in last["proposal"]["error"] and last["cost"]["calls"] == 0
    exhausted = [e for e in events if e["type"] == "budget_exhausted"]
    assert "could cost up to" in exhausted[0]["reason"]
    sent = standin.requests[0]
    assert sent["tool_choice"] == {"type": "tool", "name": "propose_change"}
    assert sent["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral",
                                                                  "ttl": "1h"}


def test_a_rejected_key_ends_the_run_failed_in_one_line(claude_run, capsys, monkeypatch):
    standin = StandIn(lambda body: (401, {}, error(401, "authentication_error",
                                                   "invalid x-api-key")))
    code, err = run_against(standin, capsys, monkeypatch)
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("deeploop experiment: anthropic:claude-sonnet-4-6: the API rejected "
                          "the key (401)")
    outcome = json.loads((claude_run.path / "outcome.json").read_text())
    assert outcome["status"] == "failed" and len(standin.requests) == 1
    rows = read_results(claude_run.results_path).rows  # the baseline and its noise runs (the
    assert [r.description for r in rows] == [           # default) come before the first call;
        "baseline", *(f"baseline (noise run {i}/3)" for i in (1, 2, 3))]  # no proposal row
    assert claude_run.workspace().dirty_paths() == []  # nothing touched


def test_an_unknown_model_without_prices_is_refused_before_anything(runs_root, capsys,
                                                                     monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    code = main(["experiment", "run", "--tag", "x", "--proposer", "anthropic:claude-nonesuch"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1
    assert "unknown price for model 'claude-nonesuch'" in err and "--price IN/OUT" in err
    assert not (runs_root / "experiment" / "x").exists()


def test_a_call_a_kill_cut_short_is_still_counted(fake_run, monkeypatch):
    """The proposer's first reply does not fit; the run is killed during the
    retry. The paid call is journalled (model_usage), outcome.json counts it,
    and a resume starts from what was spent."""
    import anthropic
    import httpx2

    from deeploop.experiment.loop import Loop
    from deeploop.experiment.proposers.llm import LLMProposer
    from deeploop.experiment.rundir import Settings
    from deeploop.experiment.resume import run_experiments
    from deeploop.models.anthropic import AnthropicModel
    from deeploop.models.standin import message

    unfit = message([{"type": "tool_use", "id": "toolu_1", "name": "propose_change",
                      "input": {"description": "x", "hypothesis": "",
                                "edits": [{"old": "NOT THERE", "new": "y"}]}}],
                    stop_reason="tool_use", input_tokens=2000, output_tokens=100)
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) > 1:
            raise KeyboardInterrupt  # the harness is killed while the retry is in flight
        return httpx2.Response(200, json=unfit)

    client = anthropic.Anthropic(api_key="t", max_retries=0,
                                 http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    proposer = LLMProposer(AnthropicModel(MODEL, client=client))
    settings = Settings(budget=5, experiments=3, warm_start=False, max_usd=1.0, noise_runs=0)
    with pytest.raises(KeyboardInterrupt):
        list(run_experiments(fake_run, settings, proposer=proposer))
    paid = cost_usd(PRICES[MODEL], usage_tokens(unfit["usage"]))
    outcome = json.loads((fake_run.path / "outcome.json").read_text())
    assert outcome["status"] == "aborted" and outcome["usd"] == pytest.approx(paid)
    events = [json.loads(line) for line in fake_run.events_path.read_text().splitlines()]
    journalled = [e for e in events if e["type"] == "model_usage"]
    assert [e["round"] for e in journalled] == [1]
    loop = Loop(fake_run, settings, proposer=proposer)
    loop.load(events)
    assert loop.spend.usage.usd == pytest.approx(paid) and loop.purse.spent_usd == pytest.approx(paid)
