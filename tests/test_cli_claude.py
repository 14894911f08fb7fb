"""The shared Claude flags: --price, --prices and --pass-env."""
from __future__ import annotations

import json

import pytest

from deeploop import childenv
from deeploop.cli import main
from deeploop.models import pricing


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    monkeypatch.setattr(childenv, "_passed", set())
    monkeypatch.setattr(pricing, "_USER", {})  # --price must not outlive the test


def test_price_flag_prices_the_models_named_on_the_command_line(runs_root, capsys, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code = main(["experiment", "run", "--tag", "x", "--proposer", "anthropic:claude-new-9",
                 "--price", "2/8", "--pass-env", "GITHUB_TOKEN"])
    err = capsys.readouterr().err
    # priced now, so the next thing missing is the key: refused before anything is created
    assert code == 2 and "needs ANTHROPIC_API_KEY" in err
    assert pricing.price_for("claude-new-9").output == 8
    assert "GITHUB_TOKEN" in childenv.passed_names({})
    assert not (runs_root / "experiment" / "x").exists()


@pytest.mark.parametrize("argv, message", [
    (["--price", "cheap"], "--price must be IN/OUT"),
    (["--prices", "/no/such.json"], "cannot read prices file"),
])
def test_bad_price_flags_are_one_line(runs_root, capsys, argv, message):
    code = main(["experiment", "run", "--tag", "x", "--proposer", "anthropic:claude-new-9",
                 *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (runs_root / "experiment" / "x").exists()


def test_prices_file_for_research(runs_root, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    prices = tmp_path / "p.json"
    prices.write_text(json.dumps({"claude-new-9": {"input": 1, "output": 4}}))
    code = main(["research", "run", "--tag", "r", "--topic", "t", "--synthesizer",
                 "anthropic:claude-new-9", "--prices", str(prices)])
    assert code == 2 and "needs ANTHROPIC_API_KEY" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["research", "run", "--tag", "r", "--topic", "t", "--max-usd", "0"],
    ["drill", "why ship on Fridays?", "--max-usd", "-1", "--no-report"],
    ["loop", "commit-msg", "--seed", "{seed}", "--max-usd", "0"],
    ["experiment", "run", "--tag", "x", "--max-usd", "-0.5"],
])
def test_a_dollar_cap_of_zero_or_less_is_refused_in_one_line(runs_root, tmp_path, capsys, argv):
    seed = tmp_path / "seed.md"
    seed.write_text("add auth middleware\n")
    code = main([a.replace("{seed}", str(seed)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and "--max-usd must be a positive number" in err and err.count("\n") == 1
